"""Batch runs: inputs, story grouping, concurrent extraction, the SQLite store, the Batch API."""
