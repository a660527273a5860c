"""Exports: event records as CSV in ACLED's column layout, and every figure claim as JSONL.

One CSV row per event record, never merged: deciding that records from two outlets describe one
event is a judgement this tool does not make silently (``summarize brief`` compares them). The 31
ACLED columns come first, in ACLED's order, then UCDP-style ones; ``COLUMN_MAPPING`` (listed at the
end of this docstring) says how each is filled. Fatalities follow ACLED's rule, the lowest reported
figure, and ``notes`` names the rule, the figure chosen and the other reports:

* candidates are the "killed" figures the event cites that count everyone (population "all"); if
  none, per claimant the sum of its figures for parties and civilians (a group figure such as
  "opposition fighters" stands in for its members'); if none, those of unknown population;
* "at least", "about" and "more than" N count as N, a range as its low end; "up to" and "fewer
  than" N are bounds and not counted; vague words use ``VAGUE_COUNTS``; "casualties" that are not
  said to be deaths count 0, as in ACLED; no candidate at all gives 0 (ACLED records reported deaths);
* each figure counts once, in the first row citing it (rows ordered by source id, then event);
* multi-day totals are not split over days as ACLED does: the row keeps the report's total and is
  tagged ``aggregate-report``;
* ``deaths_low``/``deaths_high`` are the lowest and highest candidates; ``deaths_best`` stays empty,
  since choosing a best estimate needs a judgement of source reliability.

Column mapping:

"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from summarize.aliases import Aliases, load_aliases, names_in, norm_name, spellings, story_aliases
from summarize.claimants import claimant_name, party_sources_only
from summarize.fileio import atomic_write
from summarize.models.report import Actor, EventRecord, FigureClaim, Source, SourceReport
from summarize.reconcile.common import WORDS

ACLED_COLUMNS = (
    "event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type",
    "actor1", "assoc_actor_1", "inter1", "actor2", "assoc_actor_2", "inter2", "interaction", "civilian_targeting",
    "iso", "region", "country", "admin1", "admin2", "admin3", "location", "latitude", "longitude", "geo_precision",
    "source", "source_scale", "notes", "fatalities", "tags", "timestamp",
)  # fmt: skip
UCDP_COLUMNS = ("deaths_low", "deaths_high", "deaths_best", "date_start", "date_end", "date_precision_ucdp", "sources_original", "figure_ids")
CSV_COLUMNS = ACLED_COLUMNS + UCDP_COLUMNS

COLUMN_MAPPING: dict[str, str] = {
    "event_id_cnty": "the event record's id (source id:event number), stable for one extraction",
    "event_date": "date_start for one day; the midpoint of date_start..date_end for a range (ACLED's rule); empty if unresolved or vaguer than a month",
    "year": "year of event_date (of date_start for a year-precision date); empty if unresolved",
    "time_precision": "day 1; 2-6_days and week 2; month 3; empty for year and unknown (ACLED records nothing vaguer than a month)",
    "disorder_type": "the record's disorder_type",
    "event_type": "the record's event_type",
    "sub_event_type": "the record's sub_event_type",
    "actor1": "the first actor that is not civilians, matched by name or alias to its source's actors and named by the alias table, else by its canonical name",
    "assoc_actor_1": "the other actors of actor1's type, '; '-joined",
    "inter1": "actor1's ACLED actor type as text (empty for Unknown)",
    "actor2": "the first actor of another type, outside forces last (civilians included); the second actor if all share one type",
    "assoc_actor_2": "the other actors of actor2's type, '; '-joined; actors of a third type are named in notes, side not stated",
    "inter2": "actor2's ACLED actor type as text",
    "interaction": "'inter1-inter2' in ACLED's inter-code order, so independent of which side is actor1; '<type> only' for a sole actor",
    "civilian_targeting": "'Civilian targeting' for Violence against civilians whose victims are civilians (a Civilians actor or a civilian figure)",
    "iso": "ISO 3166 numeric code of the first location's country, from the small table COUNTRIES; else empty",
    "region": "ACLED region of that country from COUNTRIES (Syria: Middle East); else empty",
    "country": "the first location's country",
    "admin1": "the first location's admin1",
    "admin2": "empty: extraction records no second-level unit",
    "admin3": "empty: extraction records no third-level unit",
    "location": "the first location's name as written (notes list the others)",
    "latitude": "empty: no geocoder is used, so no coordinates are made up",
    "longitude": "empty: no geocoder is used",
    "geo_precision": "the first location's precision (ACLED's 1-3)",
    "source": "the outlets of the record's sources, '; '-joined",
    "source_scale": "empty: an outlet's reach is not recorded",
    "notes": "the record's summary; the fatality rule, the figure it chose and the other reports; other locations; actors without a side",
    "fatalities": "the lowest reported figure (ACLED rule), as described above",
    "tags": "'; '-joined: aggregate-report, date-unresolved, date-vaguer-than-month, contested-toll, party-source-only, and the status if not 'occurred'",
    "timestamp": "the report's provenance created_at as unix seconds",
    "deaths_low": "UCDP-style low: the lowest fatality candidate",
    "deaths_high": "UCDP-style high: the highest fatality candidate (a range's upper end)",
    "deaths_best": "always empty: UCDP's best needs a judgement of source reliability",
    "date_start": "the record's date_start (ISO)",
    "date_end": "the record's date_end (ISO)",
    "date_precision_ucdp": "UCDP date_prec: day 1, 2-6_days 2, week 3, month 4, year 5; empty if unknown",
    "sources_original": "who gave the record's figures (UCDP source_original): canonical claimants, '; '-joined",
    "figure_ids": "ids of the figures the record cites, '; '-joined: the keys of the figures JSONL",
}
__doc__ = (__doc__ or "") + "\n".join(f"    {column:20} {rule}" for column, rule in COLUMN_MAPPING.items()) + "\n"

FATALITY_RULE = "lowest reported figure (ACLED rule)"
VAGUE_RULE = "ACLED's rule for vague numbers"
UCDP_BEST_NOTE = "UCDP best left empty: choosing it needs a judgement of source reliability."
# ACLED codes tens 10, dozens 12, hundreds 100 "and so on", and "several" or "many" 3 or 10: the small
# words take 3, the large 10. Scores and thousands follow the same one-unit logic.
VAGUE_COUNTS = {
    "a few": 3, "few": 3, "several": 3, "some": 3, "many": 10, "numerous": 10, "tens": 10, "dozens": 12, "scores": 20, "hundreds": 100, "thousands": 1000,
}  # fmt: skip
# No gazetteer is bundled: a small table for the region of the bundled stories, empty cells elsewhere.
COUNTRIES = {
    "syria": ("760", "Middle East"), "iraq": ("368", "Middle East"), "lebanon": ("422", "Middle East"), "jordan": ("400", "Middle East"),
    "turkey": ("792", "Middle East"), "türkiye": ("792", "Middle East"), "israel": ("376", "Middle East"), "palestine": ("275", "Middle East"),
    "iran": ("364", "Middle East"), "yemen": ("887", "Middle East"),
}  # fmt: skip
INTER_ORDER = ("State forces", "Rebel group", "Political militia", "Identity militia", "Rioters", "Protesters", "Civilians", "External/Other forces")
TIME_PRECISION = {"day": "1", "2-6_days": "2", "week": "2", "month": "3"}
UCDP_DATE_PRECISION = {"day": "1", "2-6_days": "2", "week": "3", "month": "4", "year": "5"}


@dataclass(frozen=True)
class _Candidate:
    low: int
    high: int
    claimant: str
    shown: str  # the figure as reported, for notes


@dataclass(frozen=True)
class _Named:
    name: str
    actor_type: str  # "" when unknown


class _Story:
    """Lookups across the reports: figures and sources by id, actors of each source by name."""

    def __init__(self, reports: Sequence[SourceReport], aliases: Aliases) -> None:
        self.aliases = aliases.with_spellings(spellings(names_in(reports)))  # al-Ghaithi and Al Ghaithi are one claimant
        self.reports = sorted(reports, key=lambda r: r.source.id)
        self.sources: dict[str, Source] = {r.source.id: r.source for r in self.reports}
        self.figures: dict[str, FigureClaim] = {f.id: f for r in self.reports for f in r.figures}
        self.actors: dict[tuple[str, str], Actor] = {}
        for r in self.reports:
            for a in r.actors:
                for name in (a.name, *a.aliases):
                    self.actors.setdefault((a.source_id, norm_name(name)), a)

    def claimant(self, f: FigureClaim) -> str:
        return claimant_name(f.attributed_to, f.reported_by, self.aliases)

    def actor(self, source_ids: Iterable[str], written: str) -> _Named:
        found = next((a for sid in source_ids if (a := self.actors.get((sid, norm_name(written)))) is not None), None)
        names = [found.canonical_name, found.name, *found.aliases] if found else [written]
        canonical = next((c for n in names if (c := self.aliases.lookup(n))), None)
        kind = found.actor_type if found and found.actor_type != "Unknown" else ""
        return _Named(canonical or (found.canonical_name if found else written.strip()), kind)


def _natural(ident: str) -> list[int | str]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", ident)]


# --- ACLED rows -------------------------------------------------------------------------


def acled_rows(reports: Sequence[SourceReport], aliases: Aliases | None = None) -> list[dict[str, str]]:
    """One row per event record, keyed by ``CSV_COLUMNS`` in order; every value a string."""
    story = _Story(reports, aliases or load_aliases(story_aliases(r.source.path for r in reports)))
    counted: dict[str, str] = {}  # figure id -> the event whose row counts it
    rows = []
    for report in story.reports:
        for event in sorted(report.events, key=lambda e: _natural(e.id)):
            own = [fid for fid in event.figure_ids if fid in story.figures and counted.setdefault(fid, event.id) == event.id]
            rows.append(_row(story, report, event, own, counted))
    return rows


def _row(story: _Story, report: SourceReport, event: EventRecord, own: list[str], counted: dict[str, str]) -> dict[str, str]:
    row = dict.fromkeys(CSV_COLUMNS, "")  # admin2, admin3, latitude, longitude, source_scale, deaths_best stay empty
    row["event_date"], row["year"], row["time_precision"], tags = _dates(event)
    row.update(event_id_cnty=event.id, disorder_type=event.disorder_type, event_type=event.event_type, sub_event_type=event.sub_event_type)
    cited = [story.figures[fid] for fid in event.figure_ids if fid in story.figures]
    actor_columns, unplaced = _actor_columns(story, event, cited)
    row.update(actor_columns)
    if event.locations:
        first = event.locations[0]
        row["iso"], row["region"] = COUNTRIES.get((first.country or "").strip().casefold(), ("", ""))
        row.update(country=first.country or "", admin1=first.admin1 or "", location=first.name, geo_precision=str(first.precision))
    candidates, fatality_note = _fatalities(story, [story.figures[fid] for fid in own])
    elsewhere = [f"{fid} is counted under {counted[fid]}" for fid in event.figure_ids if counted.get(fid, event.id) != event.id]
    if elsewhere:
        fatality_note += " Not counted again: " + "; ".join(elsewhere) + "."
    if candidates:
        low, high = min(c.low for c in candidates), max(c.high for c in candidates)
        row.update(fatalities=str(low), deaths_low=str(low), deaths_high=str(high))
    else:
        row["fatalities"] = "0"
    sources = [story.sources[s] for s in event.source_ids if s in story.sources]
    party_only = party_sources_only((c.claimant for c in candidates), (s.outlet_type for s in sources), story.aliases)
    flags = {"aggregate-report": event.granularity == "aggregate", "contested-toll": len({c.low for c in candidates}) > 1}
    flags |= {"party-source-only": bool(candidates) and party_only, event.status: event.status != "occurred"}
    tags += [tag for tag, applies in flags.items() if applies]
    others = [f"{loc.name} ({loc.admin1})" if loc.admin1 and loc.admin1 != loc.name else loc.name for loc in event.locations[1:]]
    involved = [f"{a.name} ({a.actor_type})" if a.actor_type else a.name for a in unplaced]
    sides = f"Also involved, side not stated: {', '.join(involved)}." if involved else ""
    notes = [event.summary.strip(), fatality_note, UCDP_BEST_NOTE, f"Also named: {', '.join(others)}." if others else "", sides]
    row.update(
        source="; ".join(dict.fromkeys(s.outlet or s.id for s in sources)),
        notes=" ".join(filter(None, notes)),
        tags="; ".join(tags),
        timestamp=_unix(report.provenance.created_at),
        date_start=event.date_start.isoformat() if event.date_start else "",
        date_end=event.date_end.isoformat() if event.date_end else "",
        date_precision_ucdp=UCDP_DATE_PRECISION.get(event.date_precision, ""),
        sources_original="; ".join(dict.fromkeys(story.claimant(f) for f in cited)),
        figure_ids="; ".join(event.figure_ids),
    )
    return row


def _actor_columns(story: _Story, event: EventRecord, cited: list[FigureClaim]) -> tuple[dict[str, str], list[_Named]]:
    """The actor columns, and the actors whose side the record does not give (for notes).

    Records list actors without sides, so sides are read from types: actor1 is the first actor that
    is not civilians; actor2 the first of another type, outside forces last because they usually back
    one of the sides; each assoc_actor shares its actor's type.
    """
    named = list(dict.fromkeys(story.actor(event.source_ids, written) for written in event.actors))
    ordered = sorted(named, key=lambda a: a.actor_type == "Civilians")  # stable: listed order otherwise
    actor1 = next((a for a in ordered if a.actor_type != "Civilians"), None)
    rest = sorted((a for a in ordered if a is not actor1), key=lambda a: a.actor_type == "External/Other forces")
    actor2 = next((a for a in rest if actor1 is None or a.actor_type != actor1.actor_type), rest[0] if rest else None)
    assoc1 = [a for a in rest if a is not actor2 and actor1 is not None and a.actor_type == actor1.actor_type]
    assoc2 = [a for a in rest if a is not actor2 and actor2 is not None and a.actor_type == actor2.actor_type and a not in assoc1]
    unplaced = [a for a in rest if a is not actor2 and a not in assoc1 and a not in assoc2]
    inter1, inter2 = (actor1.actor_type if actor1 else ""), (actor2.actor_type if actor2 else "")
    if inter1 and inter2:
        interaction = "-".join(sorted((inter1, inter2), key=lambda t: INTER_ORDER.index(t) if t in INTER_ORDER else len(INTER_ORDER)))
    else:
        interaction = f"{inter1} only" if inter1 and actor2 is None else ""
    civilians = any(a.actor_type == "Civilians" for a in named) or any(f.population == "civilians" for f in cited)
    columns = {
        "actor1": actor1.name if actor1 else "",
        "assoc_actor_1": "; ".join(a.name for a in assoc1),
        "inter1": inter1,
        "actor2": actor2.name if actor2 else "",
        "assoc_actor_2": "; ".join(a.name for a in assoc2),
        "inter2": inter2,
        "interaction": interaction,
        "civilian_targeting": "Civilian targeting" if event.event_type == "Violence against civilians" and civilians else "",
    }
    return columns, unplaced


def _dates(event: EventRecord) -> tuple[str, str, str, list[str]]:
    """(event_date, year, time_precision, tags)."""
    start, end = event.date_start, event.date_end or event.date_start
    if start is None or end is None or event.date_precision == "unknown":
        return "", "", "", ["date-unresolved"]
    if event.date_precision not in TIME_PRECISION:
        return "", str(start.year), "", ["date-vaguer-than-month"]
    precision = TIME_PRECISION[event.date_precision]
    if precision == "1" and start != end:
        precision = "2"  # a "day" record spanning days is a range
    midpoint = start + (end - start) // 2
    return midpoint.isoformat(), str(midpoint.year), precision, []


def _unix(created_at: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(created_at)
    except ValueError:
        return ""
    return str(int((moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).timestamp()))


# --- fatalities -------------------------------------------------------------------------


def _count(f: FigureClaim) -> tuple[int, int] | str:
    """(count, upper end) of a figure, or why it gives no count."""
    if f.qualifier == "vague_word" or (f.value is None and f.low is None and f.high is None):
        word = " ".join((f.vague_word or "").casefold().removesuffix(" of").split())
        n = VAGUE_COUNTS.get(word)
        return (n, n) if n is not None else (f"vague word {f.vague_word!r} has no ACLED convention" if f.vague_word else "no number")
    if f.qualifier in ("up_to", "less_than"):
        return "an upper bound only"
    if f.value is not None:
        return f.value, f.value
    if f.low is None:
        return "an upper bound only"
    return f.low, f.high if f.high is not None else f.low


def _shown(f: FigureClaim) -> str:
    if f.value is None and f.low is None and f.high is None:
        count = _count(f)
        return f'"{f.vague_word}" = {count[0]} by {VAGUE_RULE}' if isinstance(count, tuple) else f'"{f.vague_word or "?"}"'
    number = WORDS.get(f.qualifier, "") + (str(f.value) if f.value is not None else f"{f.low} to {f.high}")
    return f"{number} ({f.party})" if f.population == "combatants" and f.party else f"{number} civilians" if f.population == "civilians" else number


def _fatalities(story: _Story, figures: list[FigureClaim]) -> tuple[list[_Candidate], str]:
    counts = [(f, _count(f)) for f in figures if f.metric == "killed"]
    skipped = [f"{_shown(f)} ({story.claimant(f)}): {why}" for f, why in counts if isinstance(why, str)]
    skipped += ["'casualties' not said to be deaths count 0 (ACLED rule)"] if any(f.metric == "casualties_unspecified" for f in figures) else []
    singles = [(f, _Candidate(c[0], c[1], story.claimant(f), _shown(f))) for f, c in counts if not isinstance(c, str)]
    totals = [c for f, c in singles if f.population == "all"]
    parts = _part_sums(story, [(f, c) for f, c in singles if f.population in ("combatants", "civilians")])
    candidates = totals or parts or [c for f, c in singles if f.population == "unknown"]
    note = "Fatalities: 0: no count of people killed is cited for this event (ACLED records only reported fatalities)."
    if candidates:
        first, *others = sorted(candidates, key=lambda c: (c.low, c.claimant))
        note = f"Fatalities: {FATALITY_RULE} = {first.low}, from {_by(first)}."
        note += f" Other reports: {'; '.join(f'{c.low} from {_by(c)}' for c in others)}." if others else ""
        note += " No total is reported, so each claimant's figures for parties and civilians are added up." if not totals and parts else ""
    if totals and parts:
        note += f" Not added to the total (one side or civilians only): {'; '.join(f'{c.claimant}: {c.shown}' for c in parts)}."
    return candidates, note + (f" Not counted: {'; '.join(skipped)}." if skipped else "")


def _by(c: _Candidate) -> str:
    return c.claimant if c.shown == str(c.low) else f"{c.claimant} ({c.shown})"


def _part_sums(story: _Story, figures: list[tuple[FigureClaim, _Candidate]]) -> list[_Candidate]:
    by_claimant: dict[str, dict[str, _Candidate]] = defaultdict(dict)
    for f, candidate in figures:
        scope = story.aliases.canonical(f.party) if f.population == "combatants" and f.party else f.population
        kept = by_claimant[candidate.claimant].get(scope)
        # one claimant giving two figures for one scope: the lower one, as the ACLED rule would
        if kept is None or candidate.low < kept.low:
            by_claimant[candidate.claimant][scope] = candidate
    sums = []
    for claimant, scopes in sorted(by_claimant.items()):
        for scope in list(scopes):
            for member in story.aliases.group_members(scope) or ():
                scopes.pop(member, None)  # the group's figure already counts its members
        parts = list(scopes.values())
        shown = " + ".join(p.shown for p in parts)
        sums.append(_Candidate(sum(p.low for p in parts), sum(p.high for p in parts), claimant, shown if len(parts) == 1 else f"sum of {shown}"))
    return sums


# --- figure claims ----------------------------------------------------------------------


def figure_claims_jsonl(reports: Sequence[SourceReport], aliases: Aliases | None = None) -> str:
    """One JSON object per figure claim, with who said it (claimant) and who carried it (outlet)."""
    story = _Story(reports, aliases or load_aliases(story_aliases(r.source.path for r in reports)))
    cited: dict[str, list[str]] = defaultdict(list)
    for report in story.reports:
        for event in report.events:
            for fid in event.figure_ids:
                cited[fid].append(event.id)
    lines = []
    for report in story.reports:
        published = report.source.published.isoformat() if report.source.published else None
        for f in sorted(report.figures, key=lambda f: _natural(f.id)):
            record = {
                **f.model_dump(mode="json", exclude={"evidence", "gloss"}),
                "party_canonical": story.aliases.canonical(f.party) if f.party else None,
                "claimant_canonical": story.claimant(f),
                "published": published,
                **f.evidence.model_dump(include={"quote", "start", "end"}),
                "gloss": f.gloss,
                "event_ids": sorted(cited.get(f.id, []), key=_natural),
            }
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)


# --- writing and the command ------------------------------------------------------------


# OWASP CSV injection: a spreadsheet runs a cell starting with one of these as a formula
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def neutralise(cell: str) -> str:
    """Prefix ``'`` to a cell a spreadsheet would read as a formula (OWASP); numbers such as "-1.5" stay numeric."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(cell) else cell


def write_csv(rows: Sequence[Mapping[str, str]], target: str | os.PathLike[str] | TextIO) -> None:
    """Write rows under ``CSV_COLUMNS`` (UTF-8, minimal quoting, "\\n" line ends); a path is written atomically.

    Every cell is neutralised against formula injection here, once, so no column is missed."""
    if isinstance(target, str | os.PathLike):
        write_atomic(Path(target), csv_text(rows))
        return
    writer = csv.DictWriter(target, fieldnames=CSV_COLUMNS, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: neutralise(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows)


def csv_text(rows: Sequence[Mapping[str, str]]) -> str:
    buffer = io.StringIO()
    write_csv(rows, buffer)
    return buffer.getvalue()


def write_atomic(path: Path, text: str) -> None:
    """Write beside the target, then rename (``fileio.atomic_write``: same permissions as every other output)."""
    atomic_write(path, text)
