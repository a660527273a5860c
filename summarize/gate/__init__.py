"""Stage 6, gate: citation, number, quotation, loaded-language and coverage checks on a draft or saved briefing."""
