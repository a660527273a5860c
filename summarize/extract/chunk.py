"""Split long articles into overlapping chunks, and merge what the chunks give back.

A chunk carries its offset in the full text, so quotes found in it ground against the whole
source. Chunks overlap so that a sentence cut at one edge is whole in the neighbour; the price
is that an item near an edge is extracted twice, which the ``dedupe_*`` functions undo. They
work within one source: records from different sources are never merged here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from summarize.models.report import Actor, Claim, EventRecord, Evidence, FigureClaim

__all__ = [
    "DEFAULT_MAX_CHARS",
    "DEFAULT_OVERLAP",
    "Chunk",
    "dedupe_actors",
    "dedupe_claims",
    "dedupe_events",
    "dedupe_figures",
    "split_text",
]

DEFAULT_MAX_CHARS = 12_000
DEFAULT_OVERLAP = 1_000
MIN_MAX_CHARS = 200

# Where a chunk may end: after a paragraph break, after a sentence end or a newline, after a space.
_PARAGRAPH_END = re.compile(r"\n[ \t]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?][\"'\u201d\u2019)\]]*\s+|\n\s*")
_SPACE = re.compile(r"\s+")
# Where a chunk may begin: the first character of a paragraph or sentence, else of a word.
_SENTENCE_START = re.compile(r"(?:(?<=\n)|(?<=[.!?]\s)|(?<=[.!?][\"'\u201d\u2019)\]]\s))(?=\S)")
_WORD_START = re.compile(r"(?<=\s)(?=\S)")


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # offset of the chunk's text in the full text
    end: int
    text: str  # == full_text[start:end]


def _cut(text: str, start: int, floor: int, limit: int) -> int:
    """Best end for a chunk starting at ``start``: the last boundary in (floor, limit], else ``limit``."""
    for pattern in (_PARAGRAPH_END, _SENTENCE_END, _SPACE):
        ends = [m.end() for m in pattern.finditer(text, start, limit) if m.end() > floor]
        if ends:
            return ends[-1]
    return limit


def _next_start(text: str, target: int, stop: int) -> int:
    """First sentence start, else word start, in [target, stop); ``target`` itself if neither."""
    for pattern in (_SENTENCE_START, _WORD_START):
        if m := pattern.search(text, target, stop):
            return m.start()
    return target


def split_text(text: str, *, max_chars: int = DEFAULT_MAX_CHARS, overlap: int = DEFAULT_OVERLAP) -> list[Chunk]:
    """Split ``text`` into chunks of at most ``max_chars`` that together cover every character.

    Consecutive chunks share at least half of ``min(overlap, len(previous chunk) - 1)`` characters,
    rounded up, and start on a sentence or word boundary when one is near.
    """
    if max_chars < MIN_MAX_CHARS:
        raise ValueError(f"max_chars must be at least {MIN_MAX_CHARS}, got {max_chars}")
    if not 0 <= overlap < max_chars:
        raise ValueError(f"overlap must be in [0, max_chars), got {overlap} with max_chars={max_chars}")
    if len(text) <= max_chars:
        return [Chunk(0, 0, len(text), text)]
    chunks: list[Chunk] = []
    start, prev_end = 0, 0
    while True:
        limit = start + max_chars
        # Cutting in the first half of the window would make many small chunks (and LLM calls);
        # each chunk must also reach past the previous one, or the loop would make no progress.
        floor = max(start + max_chars // 2, prev_end)
        end = len(text) if limit >= len(text) else _cut(text, start, floor, limit)
        chunks.append(Chunk(len(chunks), start, end, text[start:end]))
        if end >= len(text):
            return chunks
        target = max(end - overlap, start + 1)  # always advance, even when overlap >= chunk length
        # Snap forward to a sentence start, but only across half the overlap, so the overlap stays useful.
        start = _next_start(text, target, target + (end - target) // 2 + 1) if overlap else end
        prev_end = end


def _norm(value: str | None) -> str | None:
    return None if value is None else " ".join(value.split()).casefold()


def _overlaps(a: Evidence, b: Evidence) -> bool:
    return a.source_id == b.source_id and a.start < b.end and b.start < a.end


def _same_span(a: Evidence, b: Evidence) -> bool:
    return a.source_id == b.source_id and (a.start, a.end) == (b.start, b.end)


T = TypeVar("T")


def _dedupe(
    items: Iterable[T],
    evidence: Callable[[T], Evidence | None],
    key: Callable[[T], Hashable],
    same: Callable[[T, T], bool],
    merge: Callable[[T, T], T] = lambda kept, _dup: kept,
) -> list[T]:
    """Keep the earliest of each group of duplicates, merging later ones into it, in text order.

    Items without evidence sort last. ``same`` only runs on items with equal ``key``.
    """

    def order(item: T) -> tuple[bool, int]:
        ev = evidence(item)
        return (ev is None, ev.start if ev else 0)

    kept: list[T] = []
    groups: dict[Hashable, list[int]] = {}
    for item in sorted(items, key=order):  # sorted() is stable: equal starts keep input order
        candidates = groups.setdefault(key(item), [])
        match = next((i for i in candidates if same(kept[i], item)), None)
        if match is None:
            candidates.append(len(kept))
            kept.append(item)
        else:
            kept[match] = merge(kept[match], item)
    return kept


def _union(first: Iterable[T], second: Iterable[T], key: Callable[[T], Hashable] = lambda x: x) -> list[T]:
    """Items of both in order of first appearance, once per ``key``."""
    seen: set[Hashable] = set()
    out: list[T] = []
    for item in (*first, *second):
        if (k := key(item)) not in seen:
            seen.add(k)
            out.append(item)
    return out


def dedupe_figures(figures: list[FigureClaim]) -> list[FigureClaim]:
    """Collapse figures repeated by overlapping chunks: same number, scope and claimant, same passage.

    The passage test keeps apart two sentences that happen to repeat one number for one claimant.
    """
    return _dedupe(
        figures,
        lambda f: f.evidence,
        lambda f: (
            f.source_id,
            f.metric,
            f.population,
            _norm(f.party),
            f.value,
            f.low,
            f.high,
            f.qualifier,
            _norm(f.attributed_to),
        ),
        lambda a, b: _overlaps(a.evidence, b.evidence) or a.evidence.quote == b.evidence.quote,
    )


def dedupe_claims(claims: list[Claim]) -> list[Claim]:
    """Collapse claims on overlapping passages with the same wording, or on the very same passage."""
    return _dedupe(
        claims,
        lambda c: c.evidence,
        lambda c: c.source_id,
        lambda a, b: _same_span(a.evidence, b.evidence) or (_overlaps(a.evidence, b.evidence) and _norm(a.text) == _norm(b.text)),
    )


def _merge_actors(kept: Actor, dup: Actor) -> Actor:
    # The other chunk may have named the actor differently ("HTS" vs its full name): keep that as an alias.
    names = _union(kept.aliases, [*dup.aliases, dup.name], key=_norm)
    aliases = sorted((a for a in names if _norm(a) != _norm(kept.name)), key=lambda a: (_norm(a) or "", a))
    return kept.model_copy(update={"aliases": aliases})


def dedupe_actors(actors: list[Actor]) -> list[Actor]:
    """One actor per canonical name (case-insensitive), with the aliases of all its mentions."""
    return _dedupe(
        actors,
        lambda a: a.evidence,
        lambda a: (a.source_id, _norm(a.canonical_name)),
        lambda _a, _b: True,
        _merge_actors,
    )


def _first_evidence(event: EventRecord) -> Evidence | None:
    return event.evidence[0] if event.evidence else None


def _same_event(a: EventRecord, b: EventRecord) -> bool:
    if _norm(a.summary) == _norm(b.summary):
        return True
    ea, eb = _first_evidence(a), _first_evidence(b)
    same_type = (a.event_type, a.sub_event_type) == (b.event_type, b.sub_event_type)
    return same_type and ea is not None and eb is not None and _overlaps(ea, eb)


def _merge_events(kept: EventRecord, dup: EventRecord) -> EventRecord:
    return kept.model_copy(
        update={
            "source_ids": _union(kept.source_ids, dup.source_ids),
            "figure_ids": _union(kept.figure_ids, dup.figure_ids),
            "actors": _union(kept.actors, dup.actors, key=_norm),
            "locations": _union(kept.locations, dup.locations, key=lambda loc: _norm(loc.name)),
            "evidence": _union(kept.evidence, dup.evidence, key=lambda e: (e.source_id, e.start, e.end)),
        }
    )


def dedupe_events(events: list[EventRecord]) -> list[EventRecord]:
    """Merge events told twice: same type over an overlapping first passage, or the same summary."""
    return _dedupe(events, _first_evidence, lambda _e: None, _same_event, _merge_events)
