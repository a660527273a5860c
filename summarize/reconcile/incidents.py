"""Incidents: which events of different sources are the same one, so figures are compared only within one.

Each source's extraction lists its events and ties figures to them (``EventRecord.figure_ids``).
Across sources, code matches events into incidents: two events can be one incident only when no
hard fact separates them (different countries, resolved dates days apart) and they are similar
enough in what, where and how (summary wording, places, event type, granularity). Matching is
greedy, best pair first, and an incident holds at most one event per source: an article that
reports two events (a hospital blast and, in passing, an earlier school strike) has told us they
are different, so no third article can merge them.

The main incident is the one most sources report. A figure no event lists falls back to the main
incident when its source reports that incident, with a note; otherwise it stands alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from summarize.aliases import norm_name
from summarize.models.report import EventRecord, SourceReport

# Words that say where within a place, not which place.
_NOISE_WORDS = (
    "city town village countryside province district region area areas outskirts rural governorate state county the of in near "
    "west western east eastern north northern south southern central northwest northeast southwest southeast downtown suburbs"
)
_PLACE_NOISE = frozenset(_NOISE_WORDS.split())
MATCH_THRESHOLD = 0.6
_DATE_SLACK = dt.timedelta(days=1)


@dataclass
class Incident:
    id: str
    label: str
    main: bool
    event_ids: list[str] = field(default_factory=list)
    source_ids: list[str] = field(default_factory=list)


@dataclass
class Incidents:
    """The story's incidents, and which incident each figure counts."""

    by_id: dict[str, Incident]
    of_event: dict[str, str]
    of_figure: dict[str, str]
    unlinked: set[str]  # figures no event lists, placed in the main incident by fallback

    @property
    def main(self) -> Incident | None:
        return next((i for i in self.by_id.values() if i.main), None)

    def label(self, incident_id: str) -> str | None:
        """None for the main incident, whose figures need no label."""
        incident = self.by_id.get(incident_id)
        return None if incident is None or incident.main else incident.label


def _places(e: EventRecord) -> set[str]:
    words = {w for loc in e.locations for name in (loc.name, loc.admin1 or "") for w in norm_name(name).split()}
    return words - _PLACE_NOISE


def _countries(e: EventRecord) -> set[str]:
    return {norm_name(loc.country) for loc in e.locations if loc.country}


def _apart(a: EventRecord, b: EventRecord) -> bool:
    """A fact that makes two events different incidents, however similar their wording."""
    ca, cb = _countries(a), _countries(b)
    if ca and cb and not ca & cb:
        return True
    if a.date_start and a.date_end and b.date_start and b.date_end:
        return a.date_end + _DATE_SLACK < b.date_start or b.date_end + _DATE_SLACK < a.date_start
    return False


def similarity(a: EventRecord, b: EventRecord) -> float:
    """0-1: how alike two events of different sources are; 0 when a hard fact separates them."""
    if _apart(a, b):
        return 0.0
    pa, pb = _places(a), _places(b)
    place = 0.5 if not pa or not pb else 1.0 if pa & pb else 0.1
    words = fuzz.token_set_ratio(a.summary.casefold(), b.summary.casefold()) / 100
    same_type = 1.0 if a.event_type == b.event_type else 0.3
    same_grain = 1.0 if a.granularity == b.granularity else 0.3
    return 0.45 * words + 0.25 * place + 0.15 * same_type + 0.15 * same_grain


def _label(e: EventRecord) -> str:
    text = " ".join(e.summary.split())
    return text if len(text) <= 70 else text[:69].rstrip() + "…"


def find_incidents(reports: Sequence[SourceReport]) -> Incidents:
    events = [e for r in reports for e in r.events]
    source_of = {e.id: r.source.id for r in reports for e in r.events}
    sim = {(a.id, b.id): similarity(a, b) for a in events for b in events if source_of[a.id] != source_of[b.id]}
    clusters: list[list[EventRecord]] = [[e] for e in events]
    # average linkage: merge the two most alike clusters (mean over their events' pairs) until none is alike enough
    while True:
        best: tuple[float, int, int] | None = None
        for i, a in enumerate(clusters):
            sources_a = {source_of[e.id] for e in a}
            for j in range(i + 1, len(clusters)):
                b = clusters[j]
                if sources_a & {source_of[e.id] for e in b}:
                    continue
                score = sum(sim[(x.id, y.id)] for x in a for y in b) / (len(a) * len(b))
                if score >= MATCH_THRESHOLD and (best is None or score > best[0]):
                    best = (score, i, j)
        if best is None:
            break
        _, i, j = best
        clusters[i] = clusters[i] + clusters.pop(j)
    members = dict(enumerate(clusters))

    def weight(es: list[EventRecord]) -> tuple[int, int, str]:
        return -len({source_of[e.id] for e in es}), -len({f for e in es for f in e.figure_ids}), min(e.id for e in es)

    ordered = sorted(members.values(), key=weight)
    by_id: dict[str, Incident] = {}
    incident_of_event: dict[str, str] = {}
    for n, es in enumerate(ordered, 1):
        first = min(es, key=lambda e: (source_of[e.id], e.id))
        incident = Incident(
            id=f"i{n}",
            label=_label(first),
            main=n == 1 and bool(es),
            event_ids=sorted(e.id for e in es),
            source_ids=sorted({source_of[e.id] for e in es}),
        )
        by_id[incident.id] = incident
        incident_of_event.update({e.id: incident.id for e in es})
    main = next((i for i in by_id.values() if i.main), None)
    if main is None:  # no source lists an event: every figure is taken to count the one story
        main = by_id["i1"] = Incident(id="i1", label="the story", main=True, source_ids=sorted(r.source.id for r in reports))
    of_figure: dict[str, str] = {}
    unlinked: set[str] = set()
    for r in reports:
        for f in r.figures:
            linked = [incident_of_event[e.id] for e in r.events if f.id in e.figure_ids]
            if linked:
                of_figure[f.id] = main.id if main.id in linked else linked[0]
                continue
            unlinked.add(f.id)
            if r.source.id in main.source_ids:
                of_figure[f.id] = main.id
                continue
            alone = next((i.id for i in by_id.values() if i.label == _unlinked_label(r.source.id)), f"i{len(by_id) + 1}")
            by_id.setdefault(alone, Incident(id=alone, label=_unlinked_label(r.source.id), main=False, source_ids=[r.source.id]))
            of_figure[f.id] = alone
    return Incidents(by_id=by_id, of_event=incident_of_event, of_figure=of_figure, unlinked=unlinked)


def _unlinked_label(source_id: str) -> str:
    return f"figures {source_id} ties to no event"
