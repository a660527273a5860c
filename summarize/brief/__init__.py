"""Stage 5, brief: the model writes a narrative from numbered, reconciled claims."""
