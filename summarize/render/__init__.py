"""Stage 7, render: Markdown, JSON, HTML and the field's CSV/JSONL exports."""
