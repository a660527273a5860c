"""Ground the model's quotes in the source text, and read the numbers a passage states.

The model is asked to copy quotes character for character, but it routinely straightens
curly quotes, swaps dashes, re-flows whitespace or fixes a typo. ``align`` therefore tries
three stages (exact, normalised, fuzzy) and always reports the span *of the source*, so
``source.text[start:end] == evidence.quote`` holds whatever the model wrote.
"""

from __future__ import annotations

from rapidfuzz import fuzz

from summarize.ground.normalise import normalise_source_cached, normalise_text
from summarize.ground.numbers import numbers_in
from summarize.models.report import Evidence
from summarize.models.vocab import Alignment

FUZZY_THRESHOLD = 90.0
FUZZY_MIN_CHARS = 24
FUZZY_MAX_LEN_RATIO = 0.15
# partial_ratio_alignment is O(len(quote) * len(text)); beyond this we would rather drop
# a quote than stall a batch on one huge document.
FUZZY_MAX_TEXT_CHARS = 200_000

# --- alignment ----------------------------------------------------------------------------


def _on_boundaries(starts: list[int], ns: int, ne: int) -> bool:
    """True when [ns, ne) does not split the output of one input unit (e.g. 'ﬁ' -> 'fi')."""
    left = ns == 0 or starts[ns] != starts[ns - 1]
    right = ne == len(starts) or starts[ne] != starts[ne - 1]
    return left and right


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _word_spans(norm: str, ds: int, de: int) -> list[tuple[int, int]]:
    """Candidate spans around [ds, de) that neither start nor end inside a word."""
    n = len(norm)
    lefts = {ds}
    if 0 < ds < n and _is_word(norm[ds - 1]) and _is_word(norm[ds]):
        out, into = ds, ds
        while out > 0 and _is_word(norm[out - 1]):
            out -= 1
        while into < n and _is_word(norm[into]):
            into += 1
        lefts = {out, into}
    rights = {de}
    if 0 < de < n and _is_word(norm[de - 1]) and _is_word(norm[de]):
        out, into = de, de
        while out < n and _is_word(norm[out]):
            out += 1
        while into > 0 and _is_word(norm[into - 1]):
            into -= 1
        rights = {out, into}
    spans = []
    for left in lefts:
        for right in rights:
            s, e = left, right
            while s < e and norm[s] == " ":
                s += 1
            while e > s and norm[e - 1] == " ":
                e -= 1
            if s < e:
                spans.append((s, e))
    return spans


def _fuzzy(nq: str, norm: str, starts: list[int]) -> tuple[int, int, float] | None:
    """Best fuzzy span of ``norm`` for ``nq`` as (norm start, norm end, score), or None."""
    hit = fuzz.partial_ratio_alignment(nq, norm)
    if hit is None or hit.score < FUZZY_THRESHOLD:
        return None
    best: tuple[int, int, float] | None = None
    for s0, e0 in _word_spans(norm, hit.dest_start, hit.dest_end):
        s, e = s0, e0
        # Snap outwards to whole input units too, so a span never splits 'ß' -> 'ss'.
        while s > 0 and starts[s - 1] == starts[s]:
            s -= 1
        while e < len(starts) and starts[e] == starts[e - 1]:
            e += 1
        if abs((e - s) - len(nq)) > FUZZY_MAX_LEN_RATIO * len(nq):
            continue
        # Score the span we will actually report, not partial_ratio's raw window.
        score = fuzz.ratio(nq, norm[s:e])
        if score < FUZZY_THRESHOLD:
            continue
        # A typo is tolerable; a different figure is a different claim ("150" vs "160").
        if numbers_in(nq) != numbers_in(norm[s:e]):
            continue
        if best is None or score > best[2] or (score == best[2] and s < best[0]):
            best = (s, e, score)
    return best


def align(quote: str, text: str, *, source_id: str) -> Evidence | None:
    """Locate ``quote`` in ``text``: exact, then normalised, then fuzzy; None if not found.

    The first occurrence wins, so the same inputs always give the same offsets.
    """
    stripped = quote.strip()
    if not stripped:
        return None
    start = text.find(stripped)
    if start >= 0:
        end = start + len(stripped)
        return Evidence(source_id=source_id, quote=text[start:end], start=start, end=end, alignment="exact", score=100.0)
    nq = normalise_text(stripped)
    if not nq:
        return None
    norm, starts, ends = normalise_source_cached(text)
    ns = norm.find(nq)
    while ns >= 0 and not _on_boundaries(starts, ns, ns + len(nq)):
        ns = norm.find(nq, ns + 1)
    alignment: Alignment
    if ns >= 0:
        alignment, ne, score = "normalised", ns + len(nq), 100.0
    else:
        if len(nq) < FUZZY_MIN_CHARS or len(text) > FUZZY_MAX_TEXT_CHARS or not norm:
            return None
        if (found := _fuzzy(nq, norm, starts)) is None:
            return None
        alignment, (ns, ne, score) = "fuzzy", found
    start, end = starts[ns], ends[ne - 1]
    return Evidence(
        source_id=source_id,
        quote=text[start:end],
        start=start,
        end=end,
        alignment=alignment,
        score=round(score, 2),
        quoted_as=quote,
    )
