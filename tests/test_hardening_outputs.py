"""Hardening of outputs and inputs: CSV formula injection in the export, YAML aliases in cassettes."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import time
from pathlib import Path

import pytest
import yaml

from summarize.cli.main import cli
from summarize.errors import CassetteError
from summarize.llm.cassette import AliasRefused, load_yaml, recorded_call_settings
from summarize.models.report import Actor, EventRecord, Evidence, Location, Provenance, Source, SourceReport, Usage
from summarize.render.export import acled_rows, csv_text, neutralise, write_csv

ROOT = Path(__file__).resolve().parent.parent

# --- CSV formula injection (OWASP) ------------------------------------------------------------

HYPERLINK = '=HYPERLINK("http://x")'
DDE = "+1+cmd|' /C calc'!A0"


def _evidence() -> Evidence:
    return Evidence(source_id="s", quote="q", start=0, end=1, alignment="exact", score=100.0)


def _event(eid: str, summary: str, actors: list[str], place: str = "Idlib") -> EventRecord:
    return EventRecord(
        id=f"s:{eid}", event_type="Battles", sub_event_type="Armed clash", date_as_written="on Monday", date_start=dt.date(2024, 3, 4),
        date_end=dt.date(2024, 3, 4), date_precision="day", granularity="atomic", status="occurred", actors=actors, summary=summary,
        locations=[Location(name=place, admin1="Idlib", country="Syria", precision=1)], source_ids=["s"], disorder_type="Political violence",
        figure_ids=[], evidence=[_evidence()],
    )  # fmt: skip


def _hostile_report() -> SourceReport:
    actors = [Actor(name=DDE, canonical_name=DDE, aliases=[], actor_type="Rebel group", source_id="s", evidence=_evidence())]
    events = [_event("e1", HYPERLINK, [DDE]), _event("e2", "@SUM(A1)", [], place="-2+3"), _event("e3", "Shelling.", [], place="\t=1+1")]
    provenance = Provenance(tool_version="0", model="m", endpoint="e", mode="tools", prompts=[], usage=Usage(), created_at="2024-03-05T10:00:00+00:00")
    source = Source(id="s", outlet="@SUM(A1)", outlet_type="wire", text="q", sha256="0" * 64)
    return SourceReport(source=source, events=events, figures=[], claims=[], actors=actors, checks=[], dropped=[], provenance=provenance)


def _csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["event_id_cnty"]: row for row in csv.DictReader(io.StringIO(text))}


def test_csv_cells_that_a_spreadsheet_would_run_are_prefixed_with_a_quote() -> None:
    rows = acled_rows([_hostile_report()])
    assert rows[0]["notes"].startswith(HYPERLINK)  # the data is kept as extracted; only the CSV is neutralised
    written = _csv_rows(csv_text(rows))
    e1, e2, e3 = written["s:e1"], written["s:e2"], written["s:e3"]
    assert e1["notes"].startswith("'" + HYPERLINK)
    assert e1["actor1"] == "'" + DDE
    assert e2["notes"].startswith("'@SUM(A1)") and e2["source"] == "'@SUM(A1)"
    assert e2["location"] == "'-2+3"
    assert e3["location"] == "'\t=1+1"
    for row in written.values():  # ordinary columns are unchanged
        assert (row["fatalities"], row["event_date"], row["year"], row["date_start"]) == ("0", "2024-03-04", "2024", "2024-03-04")
        assert row["timestamp"] == str(int(dt.datetime(2024, 3, 5, 10, tzinfo=dt.UTC).timestamp()))
        assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in row.values())


@pytest.mark.parametrize("number", ["-1.5", "-3", "+1", "0", "12", "-0.25e3", ".5"])
def test_plain_numbers_stay_numeric(number: str) -> None:
    assert neutralise(number) == number
    row = {**acled_rows([_hostile_report()])[0], "deaths_low": number}
    assert _csv_rows(csv_text([row]))["s:e1"]["deaths_low"] == number


@pytest.mark.parametrize("cell", ["=1+1", "-2+3", "+1+1", "@SUM(A1)", "\t=1", "\r=1", "-", "--1", "-1.5x", "- 1"])
def test_formula_like_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


def test_written_csv_file_is_neutralised_and_gets_the_same_mode_as_other_outputs(tmp_path: Path) -> None:
    target = tmp_path / "events.csv"
    write_csv(acled_rows([_hostile_report()]), target)
    assert _csv_rows(target.read_text(encoding="utf-8"))["s:e1"]["actor1"] == "'" + DDE
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # as summarize.fileio.atomic_write; mkstemp alone gives 0600


# --- YAML aliases in cassettes ("billion laughs") ----------------------------------------------

LOL = "a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]\n"
LAUGHS = LOL + "".join(f"{c}: &{c} [{','.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True))  # 9**9 lols


def _laughs(tmp_path: Path) -> Path:
    path = tmp_path / "laughs.yaml"
    path.write_text(f"version: 1\n{LAUGHS}interactions: []\n", encoding="utf-8")
    return path


def test_billion_laughs_cassette_is_a_few_hundred_bytes() -> None:
    assert 250 < len(LAUGHS) < 400 and LAUGHS.count("*") == 8 * 9


def test_loader_refuses_aliases_and_anchors_before_expanding() -> None:
    with pytest.raises(AliasRefused, match="aliases"):
        load_yaml(LAUGHS)
    with pytest.raises(AliasRefused, match="line 2"):
        load_yaml("version: 1\ninteractions: &x []\n")  # an anchor alone is refused too
    assert load_yaml('version: 1\ninteractions: ["*a", "&b", "a * b & c"]\n') == {"version": 1, "interactions": ["*a", "&b", "a * b & c"]}


@pytest.mark.parametrize("path", sorted((ROOT / "cassettes").glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_cassettes_have_no_aliases_and_load_as_before(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_recorded_call_settings_refuses_an_aliased_cassette(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="aliases are not allowed") as caught:
        recorded_call_settings(_laughs(tmp_path))
    assert caught.value.exit_code == 3 and "\n" not in str(caught.value)


def test_cli_refuses_a_billion_laughs_cassette_quickly_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    path = _laughs(tmp_path)
    started = time.monotonic()
    code = cli(["brief", "examples/aleppo", "--replay", str(path)])
    elapsed = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 3  # a bad cassette: CassetteError, as documented in summarize/errors.py
    assert out == "" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("summarize: ") and "aliases are not allowed in a cassette" in err and str(path) in err
    assert elapsed < 10
