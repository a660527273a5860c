"""Behaviour of summarize.export: ACLED-layout CSV of event records and JSONL of figure claims."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from summarize.aliases import load_aliases
from summarize.api import load_reports
from summarize.cli import export as export_cli
from summarize.cli.main import cli
from summarize.errors import InputError
from summarize.models.report import Actor, EventRecord, Evidence, FigureClaim, Location, Provenance, Source, SourceReport, Usage
from summarize.render import export
from summarize.render.export import ACLED_COLUMNS, CSV_COLUMNS, FATALITY_RULE, UCDP_COLUMNS, VAGUE_RULE, acled_rows, figure_claims_jsonl, write_csv

ROOT = Path(__file__).resolve().parent.parent

# domain.md 3.1: the current ACLED export, in order
ACLED_DOCUMENTED = [
    *["event_id_cnty", "event_date", "year", "time_precision", "disorder_type", "event_type", "sub_event_type", "actor1", "assoc_actor_1", "inter1"],
    *["actor2", "assoc_actor_2", "inter2", "interaction", "civilian_targeting", "iso", "region", "country", "admin1", "admin2", "admin3", "location"],
    *["latitude", "longitude", "geo_precision", "source", "source_scale", "notes", "fatalities", "tags", "timestamp"],
]


@pytest.fixture
def extracted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Path:
    """The example story's extraction, replayed from its bundled cassette."""
    monkeypatch.chdir(ROOT)
    out = tmp_path / "r.json"
    assert cli(["extract", "examples/aleppo", "--replay", "cassettes/aleppo-extract.yaml", "--format", "json", "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    return out


def run_export(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="summarize")
    sub = parser.add_subparsers(dest="command", required=True)
    export_cli.add_parser(sub, argparse.ArgumentParser(add_help=False))
    code = export_cli.run(parser.parse_args(["export", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def by_id(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["event_id_cnty"]: row for row in rows}


# --- the example story -----------------------------------------------------------------------


def test_acled_csv_loads_into_the_documented_columns_one_row_per_event(extracted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out" / "events.csv"
    code, out, _ = run_export([str(extracted), "-o", str(target)], capsys)
    assert (code, out) == (0, "")
    fieldnames, rows = read_csv(target)
    assert list(ACLED_COLUMNS) == ACLED_DOCUMENTED
    assert fieldnames == [*ACLED_DOCUMENTED, *UCDP_COLUMNS] == list(CSV_COLUMNS)
    reports = load_reports(extracted)
    events = [e.id for r in reports for e in r.events]
    assert len(rows) == len(events) == 11
    assert sorted(row["event_id_cnty"] for row in rows) == sorted(events)
    assert all(set(row) == set(CSV_COLUMNS) and None not in row.values() for row in rows)
    assert [p.name for p in target.parent.iterdir()] == ["events.csv"]  # no temporary file left behind


def test_monitor_digest_event_gets_sohr_153_by_the_lowest_reported_rule(extracted: Path) -> None:
    row = by_id(acled_rows(load_reports(extracted)))["monitor-digest:e1"]
    assert row["fatalities"] == "153"
    assert f"Fatalities: {FATALITY_RULE} = 153, from SOHR (at least 153)." in row["notes"]
    # SOHR's per-party figures are shown, not added on top of its total
    assert "Not added to the total (one side or civilians only): SOHR: sum of 80 (HTS) + 54 (Syrian army) + 19 (SNA)." in row["notes"]
    assert "UCDP best left empty: choosing it needs a judgement of source reliability." in row["notes"]
    assert (row["deaths_low"], row["deaths_high"], row["deaths_best"]) == ("153", "153", "")
    assert (row["event_date"], row["year"], row["time_precision"], row["date_precision_ucdp"]) == ("2024-11-27", "2024", "1", "1")
    assert (row["actor1"], row["assoc_actor_1"], row["actor2"]) == ("HTS", "SNA", "Syrian army")
    assert (row["inter1"], row["inter2"], row["interaction"]) == ("Rebel group", "State forces", "State forces-Rebel group")
    place = ("760", "Middle East", "Syria", "Aleppo", "Aleppo", "3")
    assert (row["iso"], row["region"], row["country"], row["admin1"], row["location"], row["geo_precision"]) == place
    assert (row["latitude"], row["longitude"], row["admin2"], row["source_scale"]) == ("", "", "", "")
    assert row["source"] == "Orontes Conflict Digest"
    assert row["sources_original"] == "SOHR"
    assert row["figure_ids"] == "monitor-digest:f1; monitor-digest:f2; monitor-digest:f3; monitor-digest:f4"
    assert row["tags"] == "aggregate-report"
    created = next(r for r in load_reports(extracted) if r.source.id == "monitor-digest").provenance.created_at
    assert row["timestamp"] == str(int(dt.datetime.fromisoformat(created).timestamp()))


def test_unresolved_date_leaves_event_date_empty_and_is_tagged(extracted: Path) -> None:
    row = by_id(acled_rows(load_reports(extracted)))["kurdish-desk:e1"]  # "on Wednesday" in an undated article
    assert (row["event_date"], row["year"], row["time_precision"], row["date_start"], row["date_precision_ucdp"]) == ("", "", "", "", "")
    assert row["tags"].split("; ") == ["date-unresolved", "aggregate-report"]
    assert row["fatalities"] == "153"


def test_other_rows_of_the_example_story(extracted: Path) -> None:
    rows = by_id(acled_rows(load_reports(extracted)))
    wire = rows["regional-wire:e1"]
    assert wire["fatalities"] == "238"
    assert "Not added to the total (one side or civilians only): Russian reports: about 400 (opposition fighters)." in wire["notes"]
    assert wire["sources_original"] == "local sources; Russian reports"
    attack = rows["state-herald:e3"]  # SANA's four civilians, carried by state media
    assert (attack["fatalities"], attack["civilian_targeting"], attack["actor1"], attack["actor2"]) == ("4", "Civilian targeting", "", "Civilians (Syria)")
    assert attack["tags"].split("; ") == ["date-unresolved", "party-source-only", "claimed"]
    quiet = rows["kurdish-desk:e2"]
    assert quiet["fatalities"] == "0" and "no count of people killed is cited" in quiet["notes"]
    assert (quiet["actor1"], quiet["actor2"], quiet["interaction"]) == ("Russian forces", "HTS", "Rebel group-External/Other forces")
    assert rows["state-herald:e2"]["interaction"] == "External/Other forces only"


def test_figures_jsonl_has_one_line_per_figure_with_its_claimant(extracted: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_export([str(extracted), "--to", "figures"], capsys)
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    reports = load_reports(extracted)
    figures = {f.id: f for r in reports for f in r.figures}
    assert len(records) == len(figures) == 9
    assert list(records[0]) == [
        *["id", "metric", "population", "party", "value", "low", "high", "qualifier", "vague_word"],
        *["basis", "status", "status_by", "as_of", "cited_via", "time_window", "place", "attributed_to"],
        *["reported_by", "source_id", "party_canonical", "claimant_canonical", "published", "quote", "start", "end", "gloss", "event_ids"],
    ]
    sohr = [r for r in records if r["value"] == 153]
    assert [r["claimant_canonical"] for r in sohr] == ["SOHR", "SOHR"]
    assert {r["reported_by"] for r in sohr} == {"Tigris Kurdish News Desk", "Orontes Conflict Digest"}
    texts = {r.source.id: r.source.text for r in reports}
    for record in records:
        assert texts[record["source_id"]][record["start"] : record["end"]] == record["quote"]
    russian = next(r for r in records if r["value"] == 400)
    assert (russian["party"], russian["party_canonical"], russian["event_ids"]) == ("opposition fighters", "opposition fighters", ["regional-wire:e1"])
    digest = next(r for r in records if r["id"] == "monitor-digest:f2")
    assert (digest["party_canonical"], digest["published"]) == ("HTS", "2024-11-28")


def test_briefing_json_is_accepted_as_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(ROOT)
    briefing = tmp_path / "b.json"
    assert cli(["brief", "examples/aleppo", "--replay", "cassettes/aleppo-brief.yaml", "--format", "json", "-o", str(briefing), "-q"]) == 0
    capsys.readouterr()
    code, out, _ = run_export([str(briefing)], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 11
    assert by_id(rows)["monitor-digest:e1"]["fatalities"] == "153"


def test_unreadable_and_foreign_inputs_are_input_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError, match="cannot read"):
        run_export([str(tmp_path / "missing.json")], capsys)
    other = tmp_path / "other.json"
    other.write_text('{"hello": "world"}', encoding="utf-8")
    with pytest.raises(InputError):
        run_export([str(other)], capsys)


def test_empty_extraction_writes_the_header_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"schema_version": "1.0", "reports": [], "failed": []}', encoding="utf-8")
    code, out, err = run_export([str(empty)], capsys)
    assert code == 0
    assert out == ",".join(CSV_COLUMNS) + "\n"
    assert "holds no source reports" in err


def test_mapping_is_documented_for_every_column() -> None:
    assert list(export.COLUMN_MAPPING) == list(CSV_COLUMNS)
    assert len(ACLED_COLUMNS) == 31
    doc = export.__doc__ or ""
    for column in CSV_COLUMNS:
        assert f"    {column} " in doc, column


# --- constructed records ---------------------------------------------------------------------


def evidence(sid: str, quote: str = "q") -> Evidence:
    return Evidence(source_id=sid, quote=quote, start=0, end=len(quote), alignment="exact", score=100.0)


def figure(fid: str, value: int | None, *, by: str = "local officials", population: str = "all", party: str | None = None, **fields: Any) -> FigureClaim:
    base: dict[str, Any] = {"low": None, "high": None, "qualifier": "exact", "vague_word": None, "time_window": None, "place": None, "metric": "killed"}
    base.update(fields)
    base.update(population=population, party=party, value=value, attributed_to=by, reported_by="Example Wire", source_id="s", evidence=evidence("s"))
    return FigureClaim(id=f"s:{fid}", **base)


def event(eid: str, figure_ids: list[str], **fields: Any) -> EventRecord:
    base: dict[str, Any] = {
        "event_type": "Battles", "sub_event_type": "Armed clash", "date_as_written": "on Monday", "date_start": dt.date(2024, 3, 4),
        "date_end": dt.date(2024, 3, 4), "date_precision": "day", "granularity": "atomic", "status": "occurred", "actors": [],
        "locations": [Location(name="Idlib", admin1="Idlib", country="Syria", precision=1)], "summary": "Fighting was reported.",
    }  # fmt: skip
    base.update(fields)
    base.update(source_ids=["s"], disorder_type="Political violence", figure_ids=[f"s:{f}" for f in figure_ids], evidence=[evidence("s")])
    return EventRecord(id=f"s:{eid}", **base)


def report(events: list[EventRecord], figures: list[FigureClaim], actors: list[Actor] | None = None) -> SourceReport:
    provenance = Provenance(tool_version="0", model="m", endpoint="e", mode="tools", prompts=[], usage=Usage(), created_at="2024-03-05T10:00:00+00:00")
    source = Source(id="s", outlet="Example Wire", outlet_type="wire", text="q", sha256="0" * 64)
    return SourceReport(source=source, events=events, figures=figures, claims=[], actors=actors or [], checks=[], dropped=[], provenance=provenance)


SYRIA = load_aliases("syria")  # these constructed rows are Syrian: they opt into the Syrian alias pack


def one_row(events: list[EventRecord], figures: list[FigureClaim], actors: list[Actor] | None = None) -> dict[str, str]:
    return acled_rows([report(events, figures, actors)], SYRIA)[0]


def test_vague_word_only_counts_by_acleds_convention() -> None:
    row = one_row([event("e1", ["f1"])], [figure("f1", None, qualifier="vague_word", vague_word="dozens")])
    assert row["fatalities"] == "12"
    assert f'Fatalities: {FATALITY_RULE} = 12, from local officials ("dozens" = 12 by {VAGUE_RULE}).' in row["notes"]
    assert row["timestamp"] == str(int(dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC).timestamp()))


@pytest.mark.parametrize(("word", "count"), [("several", 3), ("a few", 3), ("Many", 10), ("dozens of", 12), ("hundreds", 100)])
def test_vague_words(word: str, count: int) -> None:
    assert one_row([event("e1", ["f1"])], [figure("f1", None, qualifier="vague_word", vague_word=word)])["fatalities"] == str(count)


def test_unknown_vague_word_and_bounds_are_not_counted() -> None:
    figures = [
        figure("f1", None, qualifier="vague_word", vague_word="a handful"),
        figure("f2", 30, qualifier="up_to"),
        figure("f3", 9, metric="casualties_unspecified"),
    ]
    row = one_row([event("e1", ["f1", "f2", "f3"])], figures)
    assert row["fatalities"] == "0" and row["deaths_low"] == ""
    assert "\"a handful\" (local officials): vague word 'a handful' has no ACLED convention" in row["notes"]
    assert "up to 30 (local officials): an upper bound only" in row["notes"]
    assert "'casualties' not said to be deaths count 0 (ACLED rule)" in row["notes"]


def test_lowest_of_disagreeing_reports_is_taken_and_tagged_contested() -> None:
    figures = [
        figure("f1", 40, by="Ministry of Health"),
        figure("f2", 25, by="SOHR", qualifier="at_least"),
        figure("f3", None, by="medics", low=30, high=50, qualifier="range"),
    ]
    row = one_row([event("e1", ["f1", "f2", "f3"])], figures)
    assert (row["fatalities"], row["deaths_low"], row["deaths_high"], row["deaths_best"]) == ("25", "25", "50", "")
    assert f"Fatalities: {FATALITY_RULE} = 25, from SOHR (at least 25). Other reports: 30 from medics (30 to 50); 40 from Ministry of Health." in row["notes"]
    assert row["tags"] == "contested-toll"
    assert row["sources_original"] == "Ministry of Health; SOHR; medics"


def test_without_a_total_each_claimants_parts_are_added_and_groups_not_double_counted() -> None:
    figures = [
        figure("f1", 99, by="SOHR", population="combatants", party="opposition fighters"),
        figure("f2", 80, by="SOHR", population="combatants", party="HTS"),  # inside the group above
        figure("f3", 54, by="SOHR", population="combatants", party="Syrian Arab Army"),
        figure("f4", 4, by="Syrian Arab News Agency", population="civilians"),
    ]
    row = one_row([event("e1", ["f1", "f2", "f3", "f4"])], figures)
    assert row["fatalities"] == "4"  # lowest claimant: SANA's 4 civilians; SOHR's parts add to 99 + 54
    assert "Other reports: 153 from SOHR (sum of 99 (opposition fighters) + 54 (Syrian Arab Army))" in row["notes"]
    assert "No total is reported" in row["notes"]


def test_a_figure_cited_by_two_events_counts_once() -> None:
    row1, row2 = acled_rows([report([event("e1", ["f1"]), event("e2", ["f1"])], [figure("f1", 7)])])
    assert (row1["fatalities"], row2["fatalities"]) == ("7", "0")
    assert "Not counted again: s:f1 is counted under s:e1." in row2["notes"]
    assert row2["figure_ids"] == "s:f1"


def test_date_ranges_use_the_midpoint_and_vague_dates_stay_empty() -> None:
    week = event("e1", [], date_start=dt.date(2024, 3, 4), date_end=dt.date(2024, 3, 10), date_precision="week", granularity="aggregate")
    year = event("e2", [], date_start=dt.date(2024, 1, 1), date_end=dt.date(2024, 12, 31), date_precision="year")
    rows = by_id(acled_rows([report([week, year], [])]))
    expected = ["2024-03-07", "2", "3", "2024-03-04", "2024-03-10"]
    assert [rows["s:e1"][k] for k in ("event_date", "time_precision", "date_precision_ucdp", "date_start", "date_end")] == expected
    assert rows["s:e1"]["tags"] == "aggregate-report"
    assert [rows["s:e2"][k] for k in ("event_date", "year", "time_precision", "date_precision_ucdp", "tags")] == ["", "2024", "", "5", "date-vaguer-than-month"]


def test_actor_columns_do_not_depend_on_the_order_actors_are_listed() -> None:
    actors = [
        Actor(name=name, canonical_name=canonical, aliases=aliases, actor_type=kind, source_id="s", evidence=evidence("s"))
        for name, canonical, aliases, kind in [
            ("HTS", "Hay'at Tahrir al-Sham", ["Hay’at Tahrir al-Sham"], "Rebel group"),
            ("regime forces", "Military Forces of Syria (2000-2024)", [], "State forces"),
            ("Russian jets", "Military Forces of Russia", [], "External/Other forces"),
        ]
    ]
    forward = one_row([event("e1", [], actors=["HTS", "regime forces"])], [], actors)
    backward = one_row([event("e1", [], actors=["Regime Forces", "Hay’at Tahrir al-Sham"])], [], actors)
    assert forward["interaction"] == backward["interaction"] == "State forces-Rebel group"
    assert {forward["actor1"], forward["actor2"]} == {backward["actor1"], backward["actor2"]} == {"HTS", "Syrian army"}
    three = one_row([event("e1", [], actors=["regime forces", "Russian jets", "HTS"])], [], actors)
    # which side outside forces back is not in the record: named in notes, not guessed into a column
    assert (three["actor1"], three["actor2"], three["assoc_actor_1"], three["assoc_actor_2"]) == ("Syrian army", "HTS", "", "")
    assert "Also involved, side not stated: Russian forces (External/Other forces)." in three["notes"]
    unknown = one_row([event("e1", [], actors=["unidentified gunmen"])], [], actors)
    assert (unknown["actor1"], unknown["inter1"], unknown["interaction"]) == ("unidentified gunmen", "", "")


def test_write_csv_to_a_stream_and_a_path(tmp_path: Path) -> None:
    rows = acled_rows([report([event("e1", ["f1"], summary='Line one,\nline two "quoted".')], [figure("f1", 3)])])
    stream = io.StringIO()
    write_csv(rows, stream)
    write_csv(rows, tmp_path / "x.csv")
    assert (tmp_path / "x.csv").read_text(encoding="utf-8") == stream.getvalue()
    assert "\r\n" not in stream.getvalue()
    assert list(csv.DictReader(io.StringIO(stream.getvalue()))) == rows


def test_figure_claims_jsonl_of_constructed_report() -> None:
    lines = figure_claims_jsonl([report([event("e1", ["f1"])], [figure("f1", 5, by="the outlet")])]).splitlines()
    record = json.loads(lines[0])
    assert (record["claimant_canonical"], record["event_ids"], record["published"]) == ("Example Wire (own reporting)", ["s:e1"], None)
