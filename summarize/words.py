"""Counts in words people read: '1 figure', '2 figures', never '2 figure(s)'."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """'1 figure', '2 figures': a count with its noun in the number it takes."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
