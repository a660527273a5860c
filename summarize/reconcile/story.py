"""Reconcile source reports in code: figures by scope, sum checks, disagreements, consensus, terminology, gaps.

No model is involved. Figures are compared only within one scope (metric, population, party), so a
count of one side's fighters is never set against a total of all deaths. Corroboration is counted by
original claimant, not by outlet. Every list is sorted on its content, so the result does not depend
on the order the reports arrive in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from rapidfuzz import fuzz

from summarize.aliases import OWN_VOICE, Aliases, load_aliases
from summarize.aliases import norm_name as _norm
from summarize.models.briefing import (
    ConsensusPoint,
    DerivedTotals,
    Disagreement,
    FigureComparison,
    FigureEntry,
    Gap,
    NotComparable,
    Position,
    Reconciled,
    SumCheck,
    TerminologyNote,
)
from summarize.models.report import Claim, FigureClaim, Source, SourceReport
from summarize.models.vocab import Metric, Population

METRICS = ("killed", "injured", "missing", "captured", "displaced", "casualties_unspecified", "other")
POPULATIONS = ("all", "combatants", "civilians", "unknown")
POPULATION_LABEL = {"all": "all", "combatants": "combatants", "civilians": "civilians", "unknown": "population not stated"}
# Tolls that only grow as an event goes on; an earlier, lower count of one is superseded, not contradicted.
RISING_METRICS = frozenset({"killed", "injured", "casualties_unspecified"})
METRIC_WORD = {"casualties_unspecified": "casualties", "other": "counted"}
TOTAL_NOUN = {"killed": "deaths", "injured": "injuries", "missing": "missing people", "captured": "captives", "displaced": "displaced people"}
SYMBOL = {"at_least": "≥", "about": "~", "more_than": ">", "less_than": "<", "up_to": "≤"}
WORDS = {"at_least": "at least ", "about": "about ", "more_than": "more than ", "less_than": "fewer than ", "up_to": "up to "}
PARTY_OUTLETS = frozenset({"state_media", "party_media"})
CONSENSUS_MIN_SCORE = 75
# First match wins, so "terrorist attack" (an act) is caught before the general "terror" (a label).
NEUTRAL_RENDERING = (
    (("terror", "attack"), "say what happened: attack, shelling, bombing"),
    (("terror", "assault"), "say what happened: attack, shelling, bombing"),
    (("terror",), "name the group, e.g. 'HTS fighters'"),
    (("regime",), "Syrian government"),
    (("liberat",), "captured / took control of"),
    (("massacre",), "describe: X killed in Y, according to Z"),
    (("martyr",), "killed"),
    (("execut",), "killed"),
    (("repel",), "pushed back, attributed to the party"),
)
DESIGNATION_RENDERING = "report it as a designation by the designating body, with its date"
DEFAULT_RENDERING = "attribute the term to its speaker"
# Terms that label a party rather than an act: a claimant using one sets its framing against those who do not.
LABEL_FRAGMENTS = ("terror", "regime", "martyr", "jihad", "mujahid", "extremist")
TOTALS_RULE = (
    "ACLED-style conservative total and UCDP-style low: the lowest lower bound among the reported figures; "
    "UCDP-style high: the highest upper bound. Derived sums, figures without a number and earlier counts of a rising toll are left out. "
    "No single best estimate is chosen; UCDP best is left empty: choosing it needs a judgement of source reliability."
)

Scope = tuple[Metric, Population, str]  # the party is canonical, "" when none


# --- small helpers --------------------------------------------------------------------------


def _natural(ident: str) -> list[Any]:
    # "x:f2" before "x:f10"; re.split puts text at even and digits at odd positions, so items always compare
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", ident)]


def _ids(ids: Iterable[str]) -> list[str]:
    return sorted(set(ids), key=_natural)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _entry_order(e: FigureEntry) -> tuple[Any, ...]:
    return e.published or dt.date.max, e.claimant, e.bounds() or (-1, -1), e.figure_ids, e.derived_from


def _amount(e: FigureEntry, words: bool = False) -> str:
    bounds = e.bounds()
    if bounds is None:
        return e.vague_word or "an unstated number"
    number = str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}–{bounds[1]}"
    return (WORDS if words else SYMBOL).get(e.qualifier, "") + number


def _scope_text(aliases: Aliases, population: str, party: str) -> str:
    members = aliases.group_members(party) if party else None
    if members:
        return f"{party} ({' + '.join(members)})"
    return f"{POPULATION_LABEL[population]}: {party}" if party else POPULATION_LABEL[population]


def _position(claimant: str, statement: str, claim_ids: Iterable[str], source_ids: Iterable[str]) -> Position:
    return Position(claimant=claimant, statement=statement, claim_ids=_ids(claim_ids), source_ids=sorted(set(source_ids)))


def _ids_of(e: FigureEntry) -> list[str]:
    return e.figure_ids or e.derived_from


class _Story:
    """The reports, with the lookups every rule needs."""

    def __init__(self, reports: Sequence[SourceReport], aliases: Aliases) -> None:
        self.aliases = aliases
        self.reports = sorted(reports, key=lambda r: r.source.id)
        self.sources: dict[str, Source] = {r.source.id: r.source for r in self.reports}
        self.figures: dict[str, FigureClaim] = {f.id: f for r in self.reports for f in r.figures}

    def claimant(self, name: str, outlet: str) -> str:
        # "the outlet" is a different speaker in every article, so it is named after its outlet
        return f"{outlet} (own reporting)" if _norm(name) == OWN_VOICE else self.aliases.canonical(name)

    def scope(self, f: FigureClaim) -> Scope:
        return f.metric, f.population, self.aliases.canonical(f.party) if f.party else ""

    def when(self, source_id: str) -> tuple[dt.date, str]:
        return self.sources[source_id].published or dt.date.max, source_id

    def is_party(self, claimant: str, source_ids: Iterable[str]) -> bool:
        outlets = {self.sources[s].outlet_type for s in source_ids}
        return claimant in self.aliases.party_sources or (bool(outlets) and outlets <= PARTY_OUTLETS)


# --- figures ----------------------------------------------------------------------------------


def _entries(story: _Story, figures: list[FigureClaim]) -> list[FigureEntry]:
    grouped: dict[tuple[Any, ...], list[FigureClaim]] = defaultdict(list)
    for f in figures:
        vague = None if (f.value, f.low, f.high) != (None, None, None) else (f.vague_word or "").casefold()
        grouped[(story.claimant(f.attributed_to, f.reported_by), f.value, f.low, f.high, vague)].append(f)
    entries = []
    for (claimant, *_), figs in grouped.items():
        # outlets may hedge one claimant's number differently; the earliest outlet's wording is kept
        first = min(figs, key=lambda f: (story.when(f.source_id), _natural(f.id)))
        entries.append(
            FigureEntry(
                claimant=claimant,
                **first.model_dump(include={"value", "low", "high", "qualifier", "vague_word"}),
                time_window=next((f.time_window for f in sorted(figs, key=lambda f: story.when(f.source_id)) if f.time_window), None),
                figure_ids=_ids(f.id for f in figs),
                reported_by=sorted({f.reported_by for f in figs}),
                source_ids=sorted({f.source_id for f in figs}),
                published=min((d for f in figs if (d := story.sources[f.source_id].published)), default=None),
                as_of=_as_of(story, figs),
            )
        )
    return entries


def _as_of(story: _Story, figures: list[FigureClaim]) -> dt.date | None:
    """The latest date a claimant's figure was current: its newest carrier's publication date, unknown if any is undated."""
    dates = [story.sources[f.source_id].published for f in figures]
    return None if None in dates else max(d for d in dates if d is not None)


def _mark_earlier(story: _Story, metric: str, entries: list[FigureEntry]) -> list[FigureEntry]:
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


def _derive_groups(story: _Story, scopes: dict[Scope, list[FigureEntry]]) -> None:
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
            listed = _and([f"{m} ({p.value})" for m, p in zip(members, chosen, strict=True)])
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
                    derived_from=_ids(i for p in chosen for i in p.figure_ids),
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
            notes.append(f"{claimant} revised its figure from {' to '.join(_amount(e) for e in es)}")
        elif len(es) > 1:
            ordered = False
            notes.append(f"{claimant} gives {len(es)} figures ({', '.join(_amount(e) for e in es)}) and their order is not known")
        latest.add(es[-1].bounds())
    return notes, bool(notes) and ordered and len(latest) == 1


def _notes(story: _Story, entries: list[FigureEntry]) -> list[str]:
    notes = []
    windows: dict[str | None, set[str]] = defaultdict(set)
    places: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        windows[e.time_window].add(e.claimant)
        for place in {p.strip() for i in e.figure_ids if (p := story.figures[i].place)}:
            places[place].add(e.claimant)
    if len(windows) > 1:
        stated = [f"'{w}' ({_and(sorted(windows[w]))})" for w in sorted(w for w in windows if w)]
        unstated = [f"not stated ({_and(sorted(windows[None]))})"] if None in windows else []
        notes.append("time windows differ: " + " vs ".join(stated + unstated))
    if len(places) > 1:
        notes.append("places differ: " + " vs ".join(f"'{p}' ({_and(sorted(cs))})" for p, cs in sorted(places.items())))
    notes += [f"{e.claimant}'s {e.value} is derived: {e.rule}" for e in entries if e.derived]
    latest = max((e.as_of for e in entries if e.as_of and not e.earlier and not e.derived and e.bounds()), default=None)
    for e in entries:
        if e.earlier:
            notes.append(
                f"{e.claimant}'s {_amount(e)} was reported on {e.as_of}, before the {latest} figures, and is lower than all of them: "
                "an earlier count of a rising toll, not set against them"
            )
    dates = sorted({e.published for e in entries if e.published and not e.earlier})
    if len(dates) > 1:
        notes.append(f"figures were published on different dates ({', '.join(map(str, dates))}): later ones may be revisions")
    notes += _revisions(entries)[0]
    return notes + [f"{e.claimant}'s '{_amount(e)}' has no number and is not used for min/max" for e in entries if e.bounds() is None]


def _comparison(story: _Story, scope: Scope, entries: list[FigureEntry]) -> FigureComparison:
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
        label=f"{metric} — {_scope_text(story.aliases, population, party)}",
        entries=entries,
        claimants=claimants,
        comparable=claimants >= 2,
        disagreement=len({e.claimant for e in current}) >= 2 and len(set(bounds)) > 1,
        min=min((b[0] for b in bounds), default=None),
        max=max((b[1] for b in bounds), default=None),
        notes=_notes(story, entries),
        derived=totals,
    )


def _not_comparable(comparisons: list[FigureComparison]) -> list[NotComparable]:
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
                ids = _ids_of(e) + _ids(i for t in others for i in _ids_of(t))
                found.append(NotComparable(figure_ids=ids, claimants=[e.claimant, *sorted({t.claimant for t in others})], reason=f"different scope: {subset}"))
    for c in comparisons:
        latest = [t for t in c.entries if not t.earlier and not t.derived and t.bounds() is not None and t.claimant]
        as_of = max((t.as_of for t in latest if t.as_of), default=None)
        for e in (e for e in c.entries if e.earlier):
            later = [t for t in latest if t.as_of == as_of]
            ids = _ids_of(e) + _ids(i for t in later for i in _ids_of(t))
            reason = f"different dates: {e.claimant}'s count of {e.as_of} is lower than every figure of {as_of}, an earlier count of a rising toll"
            found.append(NotComparable(figure_ids=ids, claimants=[e.claimant, *sorted({t.claimant for t in later} - {e.claimant})], reason=reason))
    return found


def _sum_checks(story: _Story) -> list[SumCheck]:
    checks: dict[tuple[Any, ...], SumCheck] = {}
    for report in story.reports:
        by_claimant: dict[tuple[str, Metric], list[FigureClaim]] = defaultdict(list)
        for f in sorted(report.figures, key=lambda f: _natural(f.id)):
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
            chosen = sorted(parts.values(), key=lambda f: _natural(f.id))
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
    return sorted(checks.values(), key=lambda s: (s.claimant, METRICS.index(s.metric), _natural(s.total_figure_id)))


# --- disagreements, consensus, terminology, gaps ------------------------------------------------


def _statement(story: _Story, e: FigureEntry, word: str) -> str:
    details = [e.time_window] if e.time_window else []
    if e.derived:
        details.append("derived: " + " + ".join(f"{story.figures[i].value} {story.scope(story.figures[i])[2]}" for i in e.derived_from))
    return f"{_amount(e)} {word}" + (f" ({'; '.join(details)})" if details else "")


def _numeric_disagreements(story: _Story, comparisons: list[FigureComparison]) -> list[Disagreement]:
    found = []
    for c in comparisons:
        revisions, explained = _revisions(c.entries)
        if not (c.disagreement or revisions):
            continue
        word = METRIC_WORD.get(c.metric, c.metric)
        current = [e for e in c.entries if not e.earlier]  # earlier counts are explained in the notes, not set against
        positions = [_position(e.claimant, _statement(story, e, word), _ids_of(e), e.source_ids) for e in current]
        party = sorted({e.claimant for e in current if story.is_party(e.claimant, e.source_ids)})
        independent = sorted({e.claimant for e in current} - set(party))
        explanations = c.notes + ([f"party source vs independent: {_and(party)} (party) vs {_and(independent)} (independent)"] if party and independent else [])
        status: Literal["explained", "unresolved"] = "explained" if explained else "unresolved"
        found.append(Disagreement(id="", topic=c.label, kind="numeric", positions=positions, possible_explanations=explanations, status=status))
    return found


Uses = dict[tuple[str, str], list[tuple[Claim, str]]]  # (term casefolded, claimant) -> claims using it, earliest first


def _term_uses(story: _Story) -> Uses:
    uses: Uses = defaultdict(list)
    for report in story.reports:
        for claim in report.claims:
            for term in filter(None, (t.strip() for t in claim.loaded_terms)):
                uses[(term.casefold(), story.claimant(claim.attributed_to, claim.reported_by))].append((claim, term))
    for items in uses.values():
        items.sort(key=lambda ct: (story.when(ct[0].source_id), _natural(ct[0].id)))
    return uses


def _terminology(uses: Uses) -> list[TerminologyNote]:
    notes = []
    for (folded, claimant), items in sorted(uses.items()):
        claims = [c for c, _ in items]
        rendering = next((text for frags, text in NEUTRAL_RENDERING if all(f in folded for f in frags)), DEFAULT_RENDERING)
        # a designation is a fact about the designating body, not the speaker's own label
        rendering = DESIGNATION_RENDERING if all(c.claim_type == "designation" for c in claims) else rendering
        source_ids = sorted({c.source_id for c in claims})
        notes.append(
            TerminologyNote(term=items[0][1], used_by=claimant, source_ids=source_ids, claim_ids=_ids(c.id for c in claims), neutral_rendering=rendering)
        )
    return notes


def _label_disagreements(story: _Story, uses: Uses, comparisons: list[FigureComparison]) -> list[Disagreement]:
    """Per label family: claimants who apply the label against claimants who count the same events without it."""
    counters: dict[str, list[FigureEntry]] = defaultdict(list)
    for e in (e for c in comparisons for e in c.entries if not e.derived and e.bounds()):
        counters[e.claimant].append(e)
    found = []
    for fragment in LABEL_FRAGMENTS:
        users: dict[str, list[tuple[Claim, str]]] = defaultdict(list)
        for (term, claimant), items in sorted(uses.items()):
            users[claimant] += [(c, t) for c, t in items if fragment in term and c.claim_type != "designation"]
        users = {u: items for u, items in users.items() if items}
        others = sorted(set(counters) - set(users))
        if not users or not others:
            continue
        positions = [
            _position(u, "uses " + ", ".join(f'"{t}"' for t in sorted({t for _, t in items})), [c.id for c, _ in items], [c.source_id for c, _ in items])
            for u, items in sorted(users.items())
        ]
        for other in others:
            figure_ids, sources = [i for e in counters[other] for i in e.figure_ids], [s for e in counters[other] for s in e.source_ids]
            positions.append(_position(other, "does not use the term", figure_ids, sources))
        party = [u for u, items in sorted(users.items()) if story.is_party(u, (c.source_id for c, _ in items))]
        why = [f"used by party sources ({_and(party)}), which label their opponents"] if party else []
        topic = "terminology: " + ", ".join(f'"{t}"' for t in sorted({t.casefold() for items in users.values() for _, t in items}))
        found.append(Disagreement(id="", topic=topic, kind="terminology", positions=positions, possible_explanations=why, status="unresolved"))
    return found


def _same_claim(a: Claim, b: Claim) -> bool:
    return a.source_id != b.source_id and fuzz.token_set_ratio(a.text.casefold(), b.text.casefold()) >= CONSENSUS_MIN_SCORE


def _consensus(story: _Story, comparisons: list[FigureComparison]) -> list[ConsensusPoint]:
    points = []
    for c in comparisons:
        scope = "" if c.population == "all" and not c.party else f" ({_scope_text(story.aliases, c.population, c.party or '')})"
        for e in (e for e in c.entries if not e.derived and len(e.reported_by) >= 2):
            text = f"{e.claimant}: {_amount(e, words=True)} {METRIC_WORD.get(c.metric, c.metric)}{scope}"
            points.append(ConsensusPoint(text=text, claim_ids=e.figure_ids, claimants=[e.claimant], n_independent_claimants=1, source_ids=e.source_ids))
    by_claimant: dict[str, list[Claim]] = defaultdict(list)
    for claim in (c for r in story.reports for c in r.claims if c.claim_type != "figure"):
        by_claimant[story.claimant(claim.attributed_to, claim.reported_by)].append(claim)
    matched = []
    for claimant, claims in sorted(by_claimant.items()):
        clusters: list[list[Claim]] = []
        for claim in sorted(claims, key=lambda c: (story.when(c.source_id), _natural(c.id))):
            hit = {k for k, cluster in enumerate(clusters) if any(_same_claim(claim, other) for other in cluster)}
            clusters = [c for k, c in enumerate(clusters) if k not in hit] + [[c for k in sorted(hit) for c in clusters[k]] + [claim]]
        for cluster in (c for c in clusters if len({claim.source_id for claim in c}) >= 2):
            first = min(cluster, key=lambda c: (story.when(c.source_id), _natural(c.id)))
            sources = sorted({c.source_id for c in cluster})
            matched.append(
                ConsensusPoint(text=first.text, claim_ids=_ids(c.id for c in cluster), claimants=[claimant], n_independent_claimants=1, source_ids=sources)
            )
    return points + sorted(matched, key=lambda p: [_natural(i) for i in p.claim_ids])


def _gaps(story: _Story, comparisons: list[FigureComparison]) -> list[Gap]:
    gaps: dict[str, str] = {}
    for c in comparisons:
        claimant = c.entries[0].claimant
        if c.claimants == 1 and story.is_party(claimant, (s for e in c.entries for s in e.source_ids)):
            why = f"{claimant} speaks for a party to the conflict, and no other claimant gives a figure for this scope."
            gaps[f"Only {claimant} gives a figure for {c.label}; no independent source confirms it."] = why
    figures = list(story.figures.values())
    if not any(f.metric == "injured" for f in figures):
        gaps["No source gives a number of injured."] = f"None of the {len(story.reports)} sources reports a count of injured people."
    # only a story that splits its dead by side or by civilians makes a missing civilian count meaningful
    if any(f.population in ("combatants", "civilians") for f in figures):
        civilian = [e for c in comparisons if c.metric == "killed" and c.population == "civilians" for e in c.entries]
        if all(story.is_party(e.claimant, e.source_ids) for e in civilian):
            named = _and(sorted({e.claimant for e in civilian})) if civilian else ""
            why = f"Civilian deaths are counted only by {named}, speaking for a party to the conflict." if civilian else "No source separates civilian deaths."
            gaps["No independent source gives a civilian death toll."] = why
    for report in story.reports:
        for event in (e for e in report.events if e.date_precision == "unknown" and e.date_as_written):
            summary = event.summary if len(event.summary) <= 60 else event.summary[:60] + "…"
            reason = "cannot be resolved without a publication date" if report.source.published is None else "cannot be resolved to a calendar date"
            gaps.setdefault(f"The date of '{summary}' is not established: '{event.date_as_written}' {reason}.", event.date_note or "No calendar date is given.")
    return [Gap(question=q, why_unknown=gaps[q]) for q in sorted(gaps)]


def _alias_map(story: _Story) -> dict[str, str]:
    aliases = story.aliases
    seen: dict[str, set[str]] = defaultdict(set)
    for report in story.reports:
        named = [f.attributed_to for f in report.figures] + [c.attributed_to for c in report.claims] + [f.party for f in report.figures if f.party]
        for name in (n for n in named if _norm(n) != OWN_VOICE):
            seen[name.strip()].add(aliases.canonical(name))
        for actor in report.actors:
            # an actor unknown by its written name may be known by its canonical name or an alias
            resolved = next((k for n in (actor.name, actor.canonical_name, *actor.aliases) if (k := aliases.lookup(n))), actor.canonical_name)
            for name in (actor.name, *actor.aliases):
                seen[name.strip()].add(aliases.lookup(name) or resolved)
    # every other name the table knows for a claimant or party seen here, so a sentence may use any of them
    used = {c for canonicals in seen.values() for c in canonicals}
    for alias, canonical in aliases.names.items():
        if canonical in used and not any(_norm(name) == alias for name in seen):
            seen[alias].add(canonical)
    return {name: min(canonicals) for name, canonicals in sorted(seen.items())}


def reconcile(reports: Sequence[SourceReport], aliases: Aliases | None = None) -> Reconciled:
    """Compare the reports' figures by scope and collect what agrees, what conflicts and what nobody establishes."""
    story = _Story(reports, aliases or load_aliases())
    by_scope: dict[Scope, list[FigureClaim]] = defaultdict(list)
    for f in story.figures.values():
        by_scope[story.scope(f)].append(f)
    scopes = {scope: _entries(story, figures) for scope, figures in by_scope.items()}
    _derive_groups(story, scopes)
    order = sorted(scopes, key=lambda s: (METRICS.index(s[0]), POPULATIONS.index(s[1]), s[2]))
    comparisons = [_comparison(story, scope, scopes[scope]) for scope in order]
    uses = _term_uses(story)
    disagreements = _numeric_disagreements(story, comparisons) + _label_disagreements(story, uses, comparisons)
    return Reconciled(
        comparisons=comparisons,
        not_comparable=_not_comparable(comparisons),
        sum_checks=_sum_checks(story),
        disagreements=[d.model_copy(update={"id": f"d{n}"}) for n, d in enumerate(disagreements, 1)],
        consensus=_consensus(story, comparisons),
        terminology=_terminology(uses),
        gaps=_gaps(story, comparisons),
        aliases=_alias_map(story),
    )
