"""What every reconciliation rule shares: the vocabulary of scopes and amounts, small helpers, and ``Story``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import Any

from summarize.aliases import Aliases
from summarize.claimants import claimant_name, speaks_for_party
from summarize.models.briefing import FigureEntry, Position
from summarize.models.report import FigureClaim, Source, SourceReport
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
        self.aliases = aliases
        self.reports = sorted(reports, key=lambda r: r.source.id)
        self.sources: dict[str, Source] = {r.source.id: r.source for r in self.reports}
        self.figures: dict[str, FigureClaim] = {f.id: f for r in self.reports for f in r.figures}

    def claimant(self, name: str, outlet: str) -> str:
        return claimant_name(name, outlet, self.aliases)

    def scope(self, f: FigureClaim) -> Scope:
        return f.metric, f.population, self.aliases.canonical(f.party) if f.party else ""

    def when(self, source_id: str) -> tuple[dt.date, str]:
        return self.sources[source_id].published or dt.date.max, source_id

    def is_party(self, claimant: str, source_ids: Iterable[str]) -> bool:
        return speaks_for_party(claimant, (self.sources[s].outlet_type for s in source_ids), self.aliases)
