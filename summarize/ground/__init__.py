"""Stage 3, ground: align quotes to source text, read numbers and dates, check attributions, spot injected instructions."""
