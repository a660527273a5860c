"""Stage 4, reconcile: figures by scope, disagreements, terminology, consensus and gaps, in code."""
