"""Source text with its cited passages marked: crossing spans cut into pieces that nest, one <mark> per piece."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from html import escape


def _esc(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def _nest(spans: Sequence[tuple[int, int, str]]) -> list[tuple[int, int, str, bool]]:
    """Cut crossing spans into nesting pieces, one element each: (start, end, html id, first piece?) in document order."""
    heap = [(s, -e, i, hid, True) for i, (s, e, hid) in enumerate(spans)]
    heapq.heapify(heap)
    seq = len(heap)
    open_ends: list[int] = []
    pieces: list[tuple[int, int, str, bool]] = []
    while heap:
        start, neg_end, _, hid, first = heapq.heappop(heap)
        end = -neg_end
        while open_ends and open_ends[-1] <= start:
            open_ends.pop()
        if open_ends and end > open_ends[-1]:
            # the rest of this span starts where the enclosing piece ends and is placed again from there
            heapq.heappush(heap, (open_ends[-1], -end, seq, hid, False))
            seq += 1
            end = open_ends[-1]
        pieces.append((start, end, hid, first))
        open_ends.append(end)
    return pieces


def marked_text(text: str, spans: Sequence[tuple[int, int, str]], titles: dict[str, str]) -> str:
    out: list[str] = []
    pos = 0
    stack: list[int] = []

    def close_to(limit: int) -> None:
        nonlocal pos
        while stack and stack[-1] <= limit:
            end = stack.pop()
            out.append(_esc(text[pos:end]) + "</mark>")
            pos = end

    for start, end, hid, first in _nest(spans):
        close_to(start)
        out.append(_esc(text[pos:start]))
        pos = start
        anchor = f' id="{hid}" tabindex="-1"' if first else ""
        out.append(f'<mark class="ev"{anchor} data-ev="{hid}" title="{_esc(titles.get(hid, ""))}">')
        stack.append(end)
    close_to(len(text))
    return "".join(out) + _esc(text[pos:])
