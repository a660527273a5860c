"""Figures, reconciled: entries per claimant and scope, earlier counts, group sums, comparisons, sum checks, numeric disagreements."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Literal

from summarize.models.briefing import DerivedTotals, Disagreement, FigureComparison, FigureEntry, NotComparable, SumCheck
from summarize.models.report import FigureClaim
from summarize.models.vocab import Metric
from summarize.reconcile.common import (
    METRIC_WORD,
    METRICS,
    RISING_METRICS,
    TOTAL_NOUN,
    TOTALS_RULE,
    WORDS,
    Scope,
    Story,
    amount,
    and_list,
    ids_of,
    natural,
    position,
    scope_text,
    sorted_ids,
)


def _entry_order(e: FigureEntry) -> tuple[Any, ...]:
    return e.published or dt.date.max, e.claimant, e.bounds() or (-1, -1), e.figure_ids, e.derived_from


def figure_entries(story: Story, figures: list[FigureClaim]) -> list[FigureEntry]:
    grouped: dict[tuple[Any, ...], list[FigureClaim]] = defaultdict(list)
    for f in figures:
        vague = None if (f.value, f.low, f.high) != (None, None, None) else (f.vague_word or "").casefold()
        grouped[(story.claimant(f.attributed_to, f.reported_by), f.value, f.low, f.high, vague)].append(f)
    entries = []
    for (claimant, *_), figs in grouped.items():
        # outlets may hedge one claimant's number differently; the earliest outlet's wording is kept
        first = min(figs, key=lambda f: (story.when(f.source_id), natural(f.id)))
        entries.append(
            FigureEntry(
                claimant=claimant,
                **first.model_dump(include={"value", "low", "high", "qualifier", "vague_word"}),
                time_window=next((f.time_window for f in sorted(figs, key=lambda f: story.when(f.source_id)) if f.time_window), None),
                figure_ids=sorted_ids(f.id for f in figs),
                reported_by=sorted({f.reported_by for f in figs}),
                source_ids=sorted({f.source_id for f in figs}),
                published=min((d for f in figs if (d := story.sources[f.source_id].published)), default=None),
                as_of=_as_of(story, figs),
            )
        )
    return entries


def _as_of(story: Story, figures: list[FigureClaim]) -> dt.date | None:
    """The latest date a claimant's figure was current: its newest carrier's publication date, unknown if any is undated."""
    dates = [story.sources[f.source_id].published for f in figures]
    return None if None in dates else max(d for d in dates if d is not None)


def _mark_earlier(story: Story, metric: str, entries: list[FigureEntry]) -> list[FigureEntry]:
    """Flag the earlier counts of a rising toll: published only before the scope's latest figures and below all of them.

    "At least 12 dead" on day one, then "31" and "more than 40" from two others on day two, is a toll
    that rose, not a disagreement with day one. The rule is conservative, since hiding a real
    disagreement is worse than showing a stale one: a figure is only called earlier when every
    source carrying it is dated before the latest ones (an undated carrier may be current), it is
    lower than every latest figure (bounds from "up to"/"fewer than" are not floors), and either its
    own claimant gives a later figure (a revision) or at least two *other* independent claimants
    (not parties to the conflict) give the latest ones. One later, higher figure from someone else
    (153 on the 28th, 238 "over three days" on the 29th) may be a different count as well as a newer
    one, so it stays a disagreement; so does a later *lower* figure. Sums of parts count as their
    claimant's figure, dated by their newest part.
    """
    if metric not in RISING_METRICS:
        return entries
    dated = [(e, b) for e in entries if e.as_of is not None and (b := e.bounds()) is not None]
    stated = [(e, b) for e, b in dated if not e.derived]
    if not stated:
        return entries
    latest = max(e.as_of for e, _ in stated if e.as_of is not None)
    floors = [b[0] for e, b in stated if e.as_of == latest and e.qualifier not in ("up_to", "less_than")]
    if not floors:
        return entries
    floor = min(floors)
    newest = {e.claimant for e, _ in stated if e.as_of == latest}
    independent = {c for c in newest if not story.is_party(c, [s for e, _ in stated if e.claimant == c for s in e.source_ids])}

    def superseded(e: FigureEntry, b: tuple[int, int]) -> bool:
        assert e.as_of is not None
        return e.as_of < latest and b[1] < floor and (e.claimant in newest or len(independent - {e.claimant}) >= 2)

    earlier = {id(e) for e, b in dated if superseded(e, b)}
    return [e.model_copy(update={"earlier": True}) if id(e) in earlier else e for e in entries]


def derive_groups(story: Story, scopes: dict[Scope, list[FigureEntry]]) -> None:
    """In a group scope someone reports, add each other claimant's sum over the group's members."""
    for (metric, population, party), entries in scopes.items():
        members = story.aliases.group_members(party) if population == "combatants" and party else None
        if not members:
            continue
        per_member = [[e for e in scopes.get((metric, population, m), []) if e.value is not None] for m in members]
        claimants = set.intersection(*({e.claimant for e in es} for es in per_member)) - {e.claimant for e in entries}
        for claimant in sorted(claimants):
            parts = [[e for e in es if e.claimant == claimant] for es in per_member]
            if any(len(p) != 1 for p in parts):
                continue  # a claimant that revised a part has no single sum
            chosen = [p[0] for p in parts]
            windows = {p.time_window for p in chosen}
            listed = and_list([f"{m} ({p.value})" for m, p in zip(members, chosen, strict=True)])
            entries.append(
                FigureEntry(
                    claimant=claimant,
                    value=sum(p.value or 0 for p in chosen),
                    low=None,
                    high=None,
                    qualifier="exact" if all(p.qualifier == "exact" for p in chosen) else "at_least",
                    vague_word=None,
                    time_window=windows.pop() if len(windows) == 1 else None,
                    figure_ids=[],  # no source states the sum; derived_from points at the figures that do state its parts
                    reported_by=sorted({o for p in chosen for o in p.reported_by}),
                    source_ids=sorted({s for p in chosen for s in p.source_ids}),
                    published=min((p.published for p in chosen if p.published), default=None),
                    as_of=None if any(p.as_of is None for p in chosen) else max(p.as_of for p in chosen if p.as_of),
                    derived_from=sorted_ids(i for p in chosen for i in p.figure_ids),
                    rule=f"sum of {claimant}'s figures for {listed}",
                )
            )


def _revisions(entries: list[FigureEntry]) -> tuple[list[str], bool]:
    """Notes on claimants giving several numbers in one scope, and whether revisions explain every difference."""
    by_claimant: dict[str, list[FigureEntry]] = defaultdict(list)
    for e in entries:
        if not e.derived and e.bounds():
            by_claimant[e.claimant].append(e)
    notes, latest, ordered = [], set(), True
    for claimant, es in sorted(by_claimant.items()):
        dates = [e.published for e in es]
        if len(es) > 1 and None not in dates and len(set(dates)) == len(es):
            notes.append(f"{claimant} revised its figure from {' to '.join(amount(e) for e in es)}")
        elif len(es) > 1:
            ordered = False
            notes.append(f"{claimant} gives {len(es)} figures ({', '.join(amount(e) for e in es)}) and their order is not known")
        latest.add(es[-1].bounds())
    return notes, bool(notes) and ordered and len(latest) == 1


def _notes(story: Story, entries: list[FigureEntry]) -> list[str]:
    notes = []
    windows: dict[str | None, set[str]] = defaultdict(set)
    places: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        windows[e.time_window].add(e.claimant)
        for place in {p.strip() for i in e.figure_ids if (p := story.figures[i].place)}:
            places[place].add(e.claimant)
    if len(windows) > 1:
        stated = [f"'{w}' ({and_list(sorted(windows[w]))})" for w in sorted(w for w in windows if w)]
        unstated = [f"not stated ({and_list(sorted(windows[None]))})"] if None in windows else []
        notes.append("time windows differ: " + " vs ".join(stated + unstated))
    if len(places) > 1:
        notes.append("places differ: " + " vs ".join(f"'{p}' ({and_list(sorted(cs))})" for p, cs in sorted(places.items())))
    notes += [f"{e.claimant}'s {e.value} is derived: {e.rule}" for e in entries if e.derived]
    latest = max((e.as_of for e in entries if e.as_of and not e.earlier and not e.derived and e.bounds()), default=None)
    for e in entries:
        if e.earlier:
            notes.append(
                f"{e.claimant}'s {amount(e)} was reported on {e.as_of}, before the {latest} figures, and is lower than all of them: "
                "an earlier count of a rising toll, not set against them"
            )
    dates = sorted({e.published for e in entries if e.published and not e.earlier})
    if len(dates) > 1:
        notes.append(f"figures were published on different dates ({', '.join(map(str, dates))}): later ones may be revisions")
    notes += _revisions(entries)[0]
    return notes + [f"{e.claimant}'s '{amount(e)}' has no number and is not used for min/max" for e in entries if e.bounds() is None]


def comparison(story: Story, scope: Scope, entries: list[FigureEntry]) -> FigureComparison:
    metric, population, party = scope
    entries = sorted(_mark_earlier(story, metric, entries), key=_entry_order)
    current = [e for e in entries if not e.earlier]
    bounds = [b for e in current if (b := e.bounds())]
    reported = [b for e in current if not e.derived and (b := e.bounds())]
    claimants = len({e.claimant for e in entries})
    low = min((b[0] for b in reported), default=None)
    totals = DerivedTotals(acled_conservative=low, ucdp_low=low, ucdp_high=max(b[1] for b in reported), rule_text=TOTALS_RULE) if reported else None
    return FigureComparison(
        scope_key="|".join(scope),
        metric=metric,
        population=population,
        party=party or None,
        label=f"{metric} — {scope_text(story.aliases, population, party)}",
        entries=entries,
        claimants=claimants,
        comparable=claimants >= 2,
        disagreement=len({e.claimant for e in current}) >= 2 and len(set(bounds)) > 1,
        min=min((b[0] for b in bounds), default=None),
        max=max((b[1] for b in bounds), default=None),
        notes=_notes(story, entries),
        derived=totals,
    )


def not_comparable(comparisons: list[FigureComparison]) -> list[NotComparable]:
    """Counts of a subset (one side's fighters, civilians) that a reader might set against a total of all."""
    totals = {c.metric: c for c in comparisons if c.population == "all" and not c.party}
    found = []
    for c in (c for c in comparisons if c.metric in totals and c.population in ("combatants", "civilians")):
        total = totals[c.metric]
        for e in c.entries:
            # a claimant's own parts stand beside its own total; the sum check covers them
            if e.bounds() is None or any(t.claimant == e.claimant for t in total.entries):
                continue
            others = [t for t in total.entries if t.bounds() not in (None, e.bounds())]
            if others:
                subset = f"{c.party or c.population} only vs all {TOTAL_NOUN.get(c.metric, c.metric)}"
                ids = ids_of(e) + sorted_ids(i for t in others for i in ids_of(t))
                found.append(NotComparable(figure_ids=ids, claimants=[e.claimant, *sorted({t.claimant for t in others})], reason=f"different scope: {subset}"))
    for c in comparisons:
        latest = [t for t in c.entries if not t.earlier and not t.derived and t.bounds() is not None and t.claimant]
        as_of = max((t.as_of for t in latest if t.as_of), default=None)
        for e in (e for e in c.entries if e.earlier):
            later = [t for t in latest if t.as_of == as_of]
            ids = ids_of(e) + sorted_ids(i for t in later for i in ids_of(t))
            reason = f"different dates: {e.claimant}'s count of {e.as_of} is lower than every figure of {as_of}, an earlier count of a rising toll"
            found.append(NotComparable(figure_ids=ids, claimants=[e.claimant, *sorted({t.claimant for t in later} - {e.claimant})], reason=reason))
    return found


def sum_checks(story: Story) -> list[SumCheck]:
    checks: dict[tuple[Any, ...], SumCheck] = {}
    for report in story.reports:
        by_claimant: dict[tuple[str, Metric], list[FigureClaim]] = defaultdict(list)
        for f in sorted(report.figures, key=lambda f: natural(f.id)):
            by_claimant[(story.claimant(f.attributed_to, f.reported_by), f.metric)].append(f)
        for (claimant, metric), figs in sorted(by_claimant.items()):
            parts: dict[str, FigureClaim] = {}
            for f in figs:
                if f.population == "civilians" or (f.population == "combatants" and f.party):
                    parts.setdefault(story.scope(f)[2] or "civilians", f)
            for party in list(parts):
                members = story.aliases.group_members(party)
                if members and all(m in parts for m in members):
                    del parts[party]  # a group beside all its members would count them twice
            chosen = sorted(parts.values(), key=lambda f: natural(f.id))
            values = [p.value for p in chosen if p.value is not None]
            if len(chosen) < 2 or len(values) < len(chosen):
                continue
            for total, value in ((f, f.value) for f in figs if f.population == "all" and f.value is not None):
                note = f"{' + '.join(map(str, values))} = {sum(values)}"
                if sum(values) != value:
                    note += f": parts add up to {sum(values)}, not {value}"
                if total.qualifier != "exact":
                    note += f" (the total is given as '{WORDS.get(total.qualifier, '')}{value}')"
                check = SumCheck(
                    claimant=claimant,
                    metric=metric,
                    total_figure_id=total.id,
                    total=value,
                    part_figure_ids=[p.id for p in chosen],
                    parts_sum=sum(values),
                    consistent=sum(values) == value,
                    note=note,
                )
                checks.setdefault((claimant, metric, value, tuple(sorted(values))), check)
    return sorted(checks.values(), key=lambda s: (s.claimant, METRICS.index(s.metric), natural(s.total_figure_id)))


def _statement(story: Story, e: FigureEntry, word: str) -> str:
    details = [e.time_window] if e.time_window else []
    if e.derived:
        details.append("derived: " + " + ".join(f"{story.figures[i].value} {story.scope(story.figures[i])[2]}" for i in e.derived_from))
    return f"{amount(e)} {word}" + (f" ({'; '.join(details)})" if details else "")


def numeric_disagreements(story: Story, comparisons: list[FigureComparison]) -> list[Disagreement]:
    found = []
    for c in comparisons:
        revisions, explained = _revisions(c.entries)
        if not (c.disagreement or revisions):
            continue
        word = METRIC_WORD.get(c.metric, c.metric)
        current = [e for e in c.entries if not e.earlier]  # earlier counts are explained in the notes, not set against
        positions = [position(e.claimant, _statement(story, e, word), ids_of(e), e.source_ids) for e in current]
        party = sorted({e.claimant for e in current if story.is_party(e.claimant, e.source_ids)})
        independent = sorted({e.claimant for e in current} - set(party))
        explanations = list(c.notes)
        if party and independent:
            explanations.append(f"party source vs independent: {and_list(party)} (party) vs {and_list(independent)} (independent)")
        status: Literal["explained", "unresolved"] = "explained" if explained else "unresolved"
        found.append(Disagreement(id="", topic=c.label, kind="numeric", positions=positions, possible_explanations=explanations, status=status))
    return found
