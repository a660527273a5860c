"""The data model: sources, evidence, figures, claims, events, reports, briefings; JSON Schemas generated from them."""
