"""Stage 1, sources: read files, directories, stdin, JSONL records, HTML pages and URLs into Source objects."""
