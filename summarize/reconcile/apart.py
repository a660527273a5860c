"""Figures a reader might set against each other but that count different things: listed apart, each with its reason.

A subset (one side's fighters, civilians) against a total of all; an earlier count of a rising toll;
a figure of another event (an earlier disaster, a war's cumulative toll); an estimate or projection
against counts; a figure its claimant replaced, withdrew or that someone denies.
"""

from __future__ import annotations

from collections.abc import Iterable

from summarize.models.briefing import FigureComparison, FigureEntry, NotComparable
from summarize.reconcile.common import TOTAL_NOUN, amount, ids_of, sorted_ids

_BASIS_WORD = {"estimate": "an estimate", "projection": "a projection"}


def _pair(e: FigureEntry, others: Iterable[FigureEntry], reason: str) -> NotComparable:
    others = list(others)
    ids = ids_of(e) + sorted_ids(i for t in others for i in ids_of(t))
    return NotComparable(figure_ids=ids, claimants=[e.claimant, *sorted({t.claimant for t in others} - {e.claimant})], reason=reason)


def _stated(c: FigureComparison) -> list[FigureEntry]:
    return [t for t in c.entries if t.current and not t.derived and t.bounds() is not None]


def not_comparable(comparisons: list[FigureComparison]) -> list[NotComparable]:
    found = _subsets(comparisons)
    for c in comparisons:
        latest = _stated(c)
        as_of = max((t.as_of for t in latest if t.as_of), default=None)
        for e in (e for e in c.entries if e.earlier):
            reason = f"different dates: {e.claimant}'s count of {e.as_of} is lower than every figure of {as_of}, an earlier count of a rising toll"
            found.append(_pair(e, [t for t in latest if t.as_of == as_of], reason))
        for e in (e for e in c.entries if e.superseded and e.bounds() is not None):
            later = [t for t in latest if t.claimant == e.claimant]
            found.append(_pair(e, later, f"updated: {e.claimant}'s {amount(e)} ({e.as_of_text or e.as_of}) was replaced by its own later figure"))
        for e in (e for e in c.entries if e.status != "current"):
            by = f" by {e.status_by}" if e.status_by else ""
            others = [t for t in latest if t is not e]
            if others:
                found.append(_pair(e, others, f"{e.status}{by}: {e.claimant}'s {amount(e)} is not a current figure"))
    return found + _other_events(comparisons) + _other_bases(comparisons)


def _subsets(comparisons: list[FigureComparison]) -> list[NotComparable]:
    """Counts of a subset (one side's fighters, civilians) set beside a total of all, within one incident and basis."""
    totals = {(c.incident, c.basis, c.metric): c for c in comparisons if c.population == "all" and not c.party}
    found = []
    for c in comparisons:
        total = totals.get((c.incident, c.basis, c.metric))
        if total is None or c.population not in ("combatants", "civilians"):
            continue
        for e in c.entries:
            # a claimant's own parts stand beside its own total; the sum check covers them
            if e.bounds() is None or not e.current or any(t.claimant == e.claimant for t in total.entries):
                continue
            others = [t for t in total.entries if t.current and t.bounds() not in (None, e.bounds())]
            if others:
                subset = f"{c.party or c.population} only vs all {TOTAL_NOUN.get(c.metric, c.metric)}"
                found.append(_pair(e, others, f"different scope: {subset}"))
    return found


def _other_events(comparisons: list[FigureComparison]) -> list[NotComparable]:
    """Figures of another incident beside the main incident's figures of the same metric."""
    main = {c.metric: c for c in comparisons if c.incident_label is None and c.basis == "count" and c.population == "all" and not c.party}
    found = []
    for c in (c for c in comparisons if c.incident_label is not None and c.metric in main):
        for e in (e for e in c.entries if e.bounds() is not None):
            others = _stated(main[c.metric])
            if others:
                found.append(_pair(e, others, f"different event: {e.claimant}'s {amount(e)} counts '{c.incident_label}', not the main event"))
    return found


def _other_bases(comparisons: list[FigureComparison]) -> list[NotComparable]:
    """Estimates and projections beside the counts of the same incident and scope."""
    counts = {(c.incident, c.metric, c.population, c.party): c for c in comparisons if c.basis == "count"}
    found = []
    for c in (c for c in comparisons if c.basis != "count"):
        count = counts.get((c.incident, c.metric, c.population, c.party))
        if count is None:
            continue
        for e in (e for e in c.entries if e.bounds() is not None):
            others = _stated(count)
            if others:
                found.append(_pair(e, others, f"different basis: {e.claimant}'s {amount(e)} is {_BASIS_WORD[c.basis]}, not a count"))
    return found
