"""Stage 2, extract: one model call per source (chunked when long) into a grounded SourceReport."""
