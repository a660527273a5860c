"""What every reconciliation rule shares: the vocabulary of scopes and amounts, small helpers, and ``Story``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from summarize.aliases import Aliases, is_own_voice, names_in, spellings
from summarize.claimants import claimant_name, is_unattributed, speaks_for_party
from summarize.models.briefing import FigureEntry, Position
from summarize.models.report import FigureClaim, Source, SourceReport
from summarize.models.vocab import Metric, Population
from summarize.reconcile.incidents import Incidents, find_incidents

METRICS = ("killed", "injured", "missing", "captured", "displaced", "casualties_unspecified", "other")
POPULATIONS = ("all", "combatants", "civilians", "unknown")
POPULATION_LABEL = {"all": "all", "combatants": "combatants", "civilians": "civilians", "unknown": "population not stated"}
# Tolls that only grow as an event goes on; an earlier, lower count of one is superseded, not contradicted.
RISING_METRICS = frozenset({"killed", "injured", "casualties_unspecified"})
METRIC_WORD = {"casualties_unspecified": "casualties", "other": "counted"}
TOTAL_NOUN = {"killed": "deaths", "injured": "injuries", "missing": "missing people", "captured": "captives", "displaced": "displaced people"}
SYMBOL = {"at_least": "≥", "about": "~", "more_than": ">", "less_than": "<", "up_to": "≤"}
WORDS = {"at_least": "at least ", "about": "about ", "more_than": "more than ", "less_than": "fewer than ", "up_to": "up to "}
CONSENSUS_MIN_SCORE = 75
# First match wins, so "terrorist attack" (an act) is caught before the general "terror" (a label).
NEUTRAL_RENDERING = (
    (("terror", "attack"), "say what happened: attack, shelling, bombing"),
    (("terror", "assault"), "say what happened: attack, shelling, bombing"),
    (("terror",), "name the group, e.g. 'HTS fighters'"),
    (("regime",), "name the government, e.g. 'the government of <country>'"),
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
    "ACLED-style conservative total and UCDP-style low: the lowest lower bound among the reported counts; "
    "UCDP-style high: the highest upper bound. Derived sums, figures without a number, earlier counts of a rising toll, "
    "revised, withdrawn and denied figures, estimates and projections are left out. "
    "No single best estimate is chosen; UCDP best is left empty: choosing it needs a judgement of source reliability."
)

# What a figure is a count of: incident, basis class, metric, population, party (canonical, "" when none).
# Figures are compared only within one scope: never across events, or a projection against a count.
Scope = tuple[str, str, Metric, Population, str]
BASIS_CLASS = {"counted": "count", "confirmed": "count", "bodies_recovered": "count", "unclear": "count", "estimated": "estimate", "projected": "projection"}
BASIS_CLASSES = ("count", "estimate", "projection")


# --- small helpers --------------------------------------------------------------------------


def natural(ident: str) -> list[Any]:
    # "x:f2" before "x:f10"; re.split puts text at even and digits at odd positions, so items always compare
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", ident)]


def sorted_ids(ids: Iterable[str]) -> list[str]:
    return sorted(set(ids), key=natural)


def and_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def amount(e: FigureEntry, words: bool = False) -> str:
    bounds = e.bounds()
    if bounds is None:
        return e.vague_word or "an unstated number"
    number = str(bounds[0]) if bounds[0] == bounds[1] else f"{bounds[0]}–{bounds[1]}"
    return (WORDS if words else SYMBOL).get(e.qualifier, "") + number


def scope_key(story: Story, scope: Scope) -> str:
    """'killed|all|' for counts of the main incident (the form briefings have always used); other scopes lead with incident and basis."""
    incident, basis, *rest = scope
    head = [] if story.is_main(scope) and basis == "count" else [incident, basis]
    return "|".join([*head, *rest])


def scope_label(story: Story, scope: Scope) -> str:
    incident, basis, metric, population, party = scope
    label = f"{metric} — {scope_text(story.aliases, population, party)}"
    if basis != "count":
        label += f" · {basis}"
    other = story.incidents.label(incident)
    return label + (f" · other event: {other}" if other else "")


def scope_text(aliases: Aliases, population: str, party: str) -> str:
    members = aliases.group_members(party) if party else None
    if members:
        return f"{party} ({' + '.join(members)})"
    return f"{POPULATION_LABEL[population]}: {party}" if party else POPULATION_LABEL[population]


def position(claimant: str, statement: str, claim_ids: Iterable[str], source_ids: Iterable[str]) -> Position:
    return Position(claimant=claimant, statement=statement, claim_ids=sorted_ids(claim_ids), source_ids=sorted(set(source_ids)))


def ids_of(e: FigureEntry) -> list[str]:
    return e.figure_ids or e.derived_from


class Story:
    """The reports, with the lookups every rule needs."""

    def __init__(self, reports: Sequence[SourceReport], aliases: Aliases) -> None:
        self.reports = sorted(reports, key=lambda r: r.source.id)
        self.aliases = aliases.with_spellings(spellings(n for n in names_in(self.reports) if not is_own_voice(n) and not is_unattributed(n)))
        self.sources: dict[str, Source] = {r.source.id: r.source for r in self.reports}
        self.figures: dict[str, FigureClaim] = {f.id: f for r in self.reports for f in r.figures}
        self.incidents: Incidents = find_incidents(self.reports)

    def claimant(self, name: str, outlet: str) -> str:
        return claimant_name(name, outlet, self.aliases)

    def scope(self, f: FigureClaim) -> Scope:
        incident = self.incidents.of_figure.get(f.id, "")
        return incident, BASIS_CLASS[f.basis], f.metric, f.population, self.aliases.canonical(f.party) if f.party else ""

    def is_main(self, scope: Scope) -> bool:
        main = self.incidents.main
        return main is not None and scope[0] == main.id

    def when(self, source_id: str) -> tuple[dt.date, str]:
        return self.sources[source_id].published or dt.date.max, source_id

    def is_party(self, claimant: str, source_ids: Iterable[str]) -> bool:
        return speaks_for_party(claimant, (self.sources[s].outlet_type for s in source_ids), self.aliases)
