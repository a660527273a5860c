"""Figures, reconciled: entries per claimant and scope, updates and statuses, group sums, comparisons, sum checks, numeric disagreements."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any, Literal

from summarize.models.briefing import DerivedTotals, Disagreement, FigureComparison, FigureEntry, SumCheck
from summarize.models.report import FigureClaim
from summarize.models.vocab import Metric
from summarize.reconcile.common import (
    METRIC_WORD,
    METRICS,
    RISING_METRICS,
    TOTALS_RULE,
    WORDS,
    Scope,
    Story,
    amount,
    and_list,
    ids_of,
    natural,
    position,
    scope_key,
    scope_label,
    sorted_ids,
)
from summarize.reconcile.updates import moment, order_own, status_notes, status_of, time_of_day


def _entry_order(e: FigureEntry) -> tuple[Any, ...]:
    return e.published or dt.date.max, e.claimant, e.bounds() or (-1, -1), e.figure_ids, e.derived_from


def figure_entries(story: Story, figures: list[FigureClaim], repeats: dict[str, str] | None = None) -> list[FigureEntry]:
    """One entry per claimant and amount; ``repeats`` gives own-voice figures the claimant they repeat."""
    repeats = repeats or {}
    grouped: dict[tuple[Any, ...], list[FigureClaim]] = defaultdict(list)
    for f in figures:
        vague = None if (f.value, f.low, f.high) != (None, None, None) else (f.vague_word or "").casefold()
        claimant = repeats.get(f.id) or story.claimant(f.attributed_to, f.reported_by)
        grouped[(claimant, f.value, f.low, f.high, vague)].append(f)
    entries = []
    for (claimant, *_), figs in grouped.items():
        # outlets may hedge one claimant's number differently; the earliest outlet's wording is kept
        ordered = sorted(figs, key=lambda f: (story.when(f.source_id), natural(f.id)))
        first, latest = ordered[0], ordered[-1]
        flagged, status_claims = status_of(story, figs)
        entries.append(
            FigureEntry(
                claimant=claimant,
                **first.model_dump(include={"value", "low", "high", "qualifier", "vague_word", "basis"}),
                time_window=next((f.time_window for f in ordered if f.time_window), None),
                figure_ids=sorted_ids(f.id for f in figs),
                reported_by=sorted({f.reported_by for f in figs}),
                source_ids=sorted({f.source_id for f in figs}),
                published=min((d for f in figs if (d := story.sources[f.source_id].published)), default=None),
                as_of=_as_of(story, figs),
                as_of_text=next((f.as_of for f in reversed(ordered) if f.as_of), None),
                time_of_day=time_of_day(latest.as_of),
                status=flagged.status if flagged else "current",
                status_by=story.aliases.canonical(flagged.status_by) if flagged and flagged.status_by else None,
                status_claim_ids=sorted_ids(status_claims),
                cited_via=sorted({story.aliases.canonical(f.cited_via) for f in figs if f.cited_via}),
                repeated_by=sorted({f.reported_by for f in figs if f.id in repeats}),
            )
        )
    return entries


def _as_of(story: Story, figures: list[FigureClaim]) -> dt.date | None:
    """The latest day a claimant's figure was current (its as-of text, else its carrier's date); unknown if any carrier is undated."""
    dates = [moment(story, f) for f in figures]
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
    dated = [(e, b) for e in entries if e.current and e.as_of is not None and (b := e.bounds()) is not None]
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
    for (incident, basis, metric, population, party), entries in scopes.items():
        members = story.aliases.group_members(party) if population == "combatants" and party else None
        if not members:
            continue
        per_member = [[e for e in scopes.get((incident, basis, metric, population, m), []) if e.value is not None and e.current] for m in members]
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
                    basis=chosen[0].basis,
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


def _notes(story: Story, scope: Scope, entries: list[FigureEntry], own: list[str]) -> list[str]:
    notes = []
    if scope[1] != "count":
        notes.append(f"these figures are {scope[1]}s, not counts: never set against counted figures and not used for totals")
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
    latest = max((e.as_of for e in entries if e.as_of and e.current and not e.derived and e.bounds()), default=None)
    for e in entries:
        if e.earlier:
            notes.append(
                f"{e.claimant}'s {amount(e)} was reported on {e.as_of}, before the {latest} figures, and is lower than all of them: "
                "an earlier count of a rising toll, not set against them"
            )
    dates = sorted({e.published for e in entries if e.published and e.current})
    if len(dates) > 1:
        notes.append(f"figures were published on different dates ({', '.join(map(str, dates))}): later ones may be revisions")
    notes += own + status_notes(entries)
    unlinked = sorted_ids(i for e in entries for i in e.figure_ids if i in story.incidents.unlinked)
    if unlinked:
        notes.append(f"{', '.join(unlinked)}: tied to no event by the extraction, counted with the main event")
    return notes + [f"{e.claimant}'s '{amount(e)}' has no number and is not used for min/max" for e in entries if e.bounds() is None]


def comparison(story: Story, scope: Scope, entries: list[FigureEntry]) -> FigureComparison:
    incident, basis, metric, population, party = scope
    entries, own, unordered = order_own(entries)
    entries = sorted(_mark_earlier(story, metric, entries), key=_entry_order)
    current = [e for e in entries if e.current]
    bounds = [b for e in current if (b := e.bounds())]
    reported = [b for e in current if not e.derived and (b := e.bounds())]
    claimants = len({e.claimant for e in entries})
    low = min((b[0] for b in reported), default=None)
    counts = basis == "count"
    totals = DerivedTotals(acled_conservative=low, ucdp_low=low, ucdp_high=max(b[1] for b in reported), rule_text=TOTALS_RULE) if reported and counts else None
    return FigureComparison(
        scope_key=scope_key(story, scope),
        incident=incident,
        incident_label=story.incidents.label(incident),
        basis=basis,  # type: ignore[arg-type]
        metric=metric,
        population=population,
        party=party or None,
        label=scope_label(story, scope),
        entries=entries,
        claimants=claimants,
        comparable=claimants >= 2,
        disagreement=(len({e.claimant for e in current}) >= 2 and len(set(bounds)) > 1) or bool(unordered),
        min=min((b[0] for b in bounds), default=None),
        max=max((b[1] for b in bounds), default=None),
        notes=_notes(story, scope, entries, own),
        derived=totals,
    )


def sum_checks(story: Story) -> list[SumCheck]:
    checks: dict[tuple[Any, ...], SumCheck] = {}
    for report in story.reports:
        by_claimant: dict[tuple[str, str, str, Metric], list[FigureClaim]] = defaultdict(list)
        for f in sorted(report.figures, key=lambda f: natural(f.id)):
            if f.status == "current":
                incident, basis, *_ = story.scope(f)
                by_claimant[(story.claimant(f.attributed_to, f.reported_by), incident, basis, f.metric)].append(f)
        for (claimant, _incident, _basis, metric), figs in sorted(by_claimant.items()):
            parts: dict[str, FigureClaim] = {}
            for f in figs:
                if f.population == "civilians" or (f.population == "combatants" and f.party):
                    parts.setdefault(story.scope(f)[4] or "civilians", f)
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
        details.append("derived: " + " + ".join(f"{story.figures[i].value} {story.scope(story.figures[i])[4]}" for i in e.derived_from))
    return f"{amount(e)} {word}" + (f" ({'; '.join(details)})" if details else "")


def numeric_disagreements(story: Story, comparisons: list[FigureComparison]) -> list[Disagreement]:
    found = []
    for c in comparisons:
        if not c.disagreement:
            continue
        word = METRIC_WORD.get(c.metric, c.metric)
        current = [e for e in c.entries if e.current]  # earlier, replaced and withdrawn figures are explained in the notes
        positions = [position(e.claimant, _statement(story, e, word), ids_of(e), e.source_ids) for e in current]
        party = sorted({e.claimant for e in current if story.is_party(e.claimant, e.source_ids)})
        independent = sorted({e.claimant for e in current} - set(party))
        explanations = list(c.notes)
        if party and independent:
            explanations.append(f"party source vs independent: {and_list(party)} (party) vs {and_list(independent)} (independent)")
        status: Literal["explained", "unresolved"] = "unresolved"
        found.append(Disagreement(id="", topic=c.label, kind="numeric", positions=positions, possible_explanations=explanations, status=status))
    return found
