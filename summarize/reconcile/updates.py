"""When a figure was the latest, and what replaced it: as-of times, statuses, a claimant's own updates, own-voice repeats.

A monitor that gives 14 "by 9 a.m.", 22 "by noon" and 31 "by the evening" has updated its toll
three times; it does not disagree with itself. A figure's moment is its as-of text resolved
against its source's publication date (a day), plus a time of day when the text gives one.
A claimant's figures are put in order only when every one has a known moment and no two share
one; otherwise the order stays unknown and is said to be.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable

from summarize.aliases import is_own_voice
from summarize.ground.dates import resolve_date
from summarize.models.briefing import FigureEntry
from summarize.models.report import FigureClaim
from summarize.reconcile.common import Scope, Story, amount

_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(a\.?\s?m\b\.?|p\.?\s?m\b\.?|h\b|gmt\b|utc\b)?", re.IGNORECASE)
_PARTS_OF_DAY = (
    ("midnight", 0),
    ("dawn", 6 * 60),
    ("morning", 9 * 60),
    ("midday", 12 * 60),
    ("noon", 12 * 60),
    ("afternoon", 15 * 60),
    ("evening", 19 * 60),
    ("tonight", 21 * 60),
    ("night", 22 * 60),
)
# Words in a claim that state a revision, withdrawal or denial.
_STATUS_WORDS = re.compile(r"\b(den(y|ied|ies|ial)|withdr[ae]w\w*|retract\w*|revis\w*|correct\w*|lower\w*|raised|updat\w*|disown\w*|rejects?)\b", re.I)


def time_of_day(text: str | None) -> int | None:
    """Minutes after midnight stated in an as-of text ('by 9 a.m.' 540, 'at 14:30' 870, 'by the evening' 1140); None if none."""
    if not text:
        return None
    folded = text.casefold()
    for match in _CLOCK.finditer(folded):
        hour, minute, suffix = int(match[1]), int(match[2] or 0), (match[3] or "").replace(".", "").replace(" ", "")
        if not (suffix or match[2]) or hour > 24 or minute > 59:
            continue  # a bare number is a day of the month or a count, not a time
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        return hour * 60 + minute
    return next((minutes for word, minutes in _PARTS_OF_DAY if re.search(rf"\b{word}\b", folded)), None)


def moment(story: Story, f: FigureClaim) -> dt.date | None:
    """The day a figure was the latest: its as-of text when that resolves to one day, else its source's publication date."""
    published = story.sources[f.source_id].published
    if f.as_of:
        resolved = resolve_date(f.as_of, published)
        if resolved.precision == "day" and resolved.start is not None:
            return resolved.start
    return published


def own_voice_repeats(story: Story, by_scope: dict[Scope, list[FigureClaim]]) -> dict[str, str]:
    """Own-voice figures that repeat exactly one named claimant's figure of the same scope: figure id -> that claimant."""
    found = {}
    for figures in by_scope.values():
        named: dict[tuple[int | None, int | None, int | None], set[str]] = defaultdict(set)
        for f in figures:
            if not is_own_voice(f.attributed_to) and f.status == "current":
                named[(f.value, f.low, f.high)].add(story.claimant(f.attributed_to, f.reported_by))
        for f in figures:
            claimants = named.get((f.value, f.low, f.high), set())
            if is_own_voice(f.attributed_to) and (f.value, f.low, f.high) != (None, None, None) and len(claimants) == 1:
                found[f.id] = next(iter(claimants))
    return found


def status_of(story: Story, figures: list[FigureClaim]) -> tuple[FigureClaim | None, list[str]]:
    """The carrier that says the figure is no longer current (the latest such source), and the claims that say so."""
    flagged = sorted((f for f in figures if f.status != "current"), key=lambda f: story.when(f.source_id))
    if not flagged:
        return None, []
    latest = flagged[-1]
    by = story.aliases.canonical(latest.status_by) if latest.status_by else None
    sources = {f.source_id for f in figures}
    claims = [
        c.id
        for r in story.reports
        if r.source.id in sources
        for c in r.claims
        if _STATUS_WORDS.search(f"{c.text} {c.evidence.quote}") and (by is None or story.claimant(c.attributed_to, c.reported_by) == by)
    ]
    return latest, claims


def order_own(entries: list[FigureEntry]) -> tuple[list[FigureEntry], list[str], set[str]]:
    """Mark each claimant's earlier figures superseded when their order is known.

    Returns the entries, notes, and the claimants whose several current figures have no known order."""
    by_claimant: dict[str, list[FigureEntry]] = defaultdict(list)
    for e in entries:
        if e.current and not e.derived and e.bounds():
            by_claimant[e.claimant].append(e)
    notes, unordered, superseded = [], set(), set()
    for claimant, es in sorted(by_claimant.items()):
        if len(es) < 2:
            continue
        keys = [_key(e) for e in es]
        if None in keys or len(set(keys)) < len(keys):
            unordered.add(claimant)
            notes.append(f"{claimant} gives {len(es)} figures ({', '.join(amount(e) for e in es)}) and their order is not known")
            continue
        chain = [e for _, e in sorted(zip(keys, es, strict=True), key=lambda ke: ke[0] or (dt.date.min, -1))]
        superseded |= {id(e) for e in chain[:-1]}
        steps = " to ".join(f"{amount(e)} ({_when(e)})" for e in chain)
        notes.append(f"{claimant} updated its figure from {steps}: the latest is used")
    out = [e.model_copy(update={"superseded": True}) if id(e) in superseded else e for e in entries]
    return out, notes, unordered


def _key(e: FigureEntry) -> tuple[dt.date, int] | None:
    if e.as_of is None:
        return None
    return e.as_of, -1 if e.time_of_day is None else e.time_of_day


def _when(e: FigureEntry) -> str:
    return e.as_of_text or str(e.as_of)


def status_notes(entries: Iterable[FigureEntry]) -> list[str]:
    notes = []
    for e in entries:
        if e.status in ("withdrawn", "denied"):
            by = f" by {e.status_by}" if e.status_by else ""
            notes.append(f"{e.claimant}'s {amount(e)} was {e.status}{by}: not set against current figures and not used for totals")
        elif e.status == "revised":
            notes.append(f"{e.claimant}'s {amount(e)} was later revised" + (f" by {e.status_by}" if e.status_by else "") + ": not a current figure")
        if e.cited_via:
            notes.append(f"{e.claimant}'s {amount(e)} was relayed by {', '.join(e.cited_via)}: counted once, as {e.claimant}'s")
        if e.repeated_by:
            notes.append(f"{', '.join(e.repeated_by)} repeat {e.claimant}'s {amount(e)} in their own voice: counted as {e.claimant}'s")
    return notes
