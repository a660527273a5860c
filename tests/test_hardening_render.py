"""Model and article text cannot forge Markdown structure, raw HTML or links, nor send control codes to a terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES, ROOT, run

from summarize.cli.main import cli
from summarize.models.briefing import Briefing
from summarize.models.report import ExtractionOutput
from summarize.render.briefing_md import briefing_markdown
from summarize.render.escape import md_block, md_cell, printable
from summarize.render.reports import extraction_markdown

FORGED = "x\n## ✓ All figures independently confirmed"
SCRIPT = "<script>alert(1)</script>"
LINK = "[click](javascript:alert(1))"
IMG = '<img src=x onerror="alert(1)">'
PIPE = "a | b"
HOSTILE = " ".join([FORGED, SCRIPT, LINK, IMG, PIPE, "\r\n# also\u2028> quoted\u2029- listed\x85=== under"])


@pytest.fixture(scope="module")
def briefing(tmp_path_factory: pytest.TempPathFactory) -> Briefing:
    out = tmp_path_factory.mktemp("brief") / "aleppo.json"
    args = ["brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml"), "--format", "json", "-q", "-o", str(out)]
    assert cli(args) == 0
    return Briefing.model_validate_json(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def extraction(tmp_path_factory: pytest.TempPathFactory) -> ExtractionOutput:
    out = tmp_path_factory.mktemp("extract") / "reports.json"
    args = ["extract", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-extract.yaml"), "--format", "json", "-q", "-o", str(out)]
    assert cli(args) == 0
    return ExtractionOutput.model_validate_json(out.read_text(encoding="utf-8"))


def _assert_safe(md: str) -> None:
    lines = md.split("\n")
    assert not [line for line in lines if line.startswith("## ✓")], "a forged heading"
    assert not [line for line in lines if re.match(r"\s*(# also|> quoted|- listed|=== under)", line)], "a forged block"
    assert "<script" not in md.lower() and "<img" not in md.lower()
    assert "](javascript:" not in md
    assert "\r" not in md and "\u2028" not in md and "\u2029" not in md and "\x85" not in md
    # every row of every table has as many cells as its header
    table: list[int] = []
    for line in [*lines, ""]:
        if line.startswith("|"):
            table.append(len(re.findall(r"(?<!\\)\|", line)))
        elif table:
            assert len(set(table)) == 1, f"table rows with different column counts: {table}"
            table = []


def test_hostile_briefing_text_stays_inside_its_field(briefing: Briefing) -> None:
    rec = briefing.reconciled
    comparison = rec.comparisons[0]
    entry = comparison.entries[0].model_copy(update={"claimant": HOSTILE, "time_window": HOSTILE})
    disagreement = rec.disagreements[0]
    positions = [p.model_copy(update={"claimant": HOSTILE, "statement": HOSTILE}) for p in disagreement.positions]
    hostile = briefing.model_copy(
        update={
            "headline": briefing.headline.model_copy(update={"text": HOSTILE}) if briefing.headline else None,
            "lead": [s.model_copy(update={"text": HOSTILE}) for s in briefing.lead],
            "key_points": [s.model_copy(update={"text": HOSTILE}) for s in briefing.key_points],
            "sources": [s.model_copy(update={"title": HOSTILE, "outlet": HOSTILE}) for s in briefing.sources],
            "reconciled": rec.model_copy(
                update={
                    "comparisons": [comparison.model_copy(update={"label": HOSTILE, "notes": [HOSTILE], "entries": [entry, *comparison.entries[1:]]})],
                    "disagreements": [disagreement.model_copy(update={"topic": HOSTILE, "positions": positions})],
                }
            ),
        }
    )
    md = briefing_markdown(hostile)
    _assert_safe(md)
    assert "&lt;script>alert(1)&lt;/script>" in md and "\\[click\\]\\(javascript:alert(1))" in md and "a \\| b" in md
    # our own structure still renders
    assert md.startswith("# ") and "## Figures by scope" in md and re.search(r"\[S1: [^\]]+\]", md)


def test_hostile_report_text_stays_inside_its_field(extraction: ExtractionOutput) -> None:
    report = extraction.reports[0]
    event = report.events[0].model_copy(update={"summary": HOSTILE, "date_as_written": HOSTILE, "date_start": None})
    figure = report.figures[0]
    figure = figure.model_copy(update={"attributed_to": HOSTILE, "evidence": figure.evidence.model_copy(update={"quote": HOSTILE})})
    claim = report.claims[0]
    claim = claim.model_copy(update={"text": HOSTILE, "evidence": claim.evidence.model_copy(update={"quote": HOSTILE})})
    hostile = report.model_copy(
        update={
            "source": report.source.model_copy(update={"title": HOSTILE, "outlet": HOSTILE}),
            "events": [event, *report.events[1:]],
            "figures": [figure, *report.figures[1:]],
            "claims": [claim, *report.claims[1:]],
        }
    )
    md = extraction_markdown(extraction.model_copy(update={"reports": [hostile, *extraction.reports[1:]]}))
    _assert_safe(md)
    assert "### Events" in md and "| id | value | scope |" in md


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# heading", "\\# heading"),
        ("> quote", "&gt; quote"),
        ("- item", "\\- item"),
        ("1. first", "1\\. first"),
        ("=== ", "\\==="),
        ("```fence", "\\```fence"),
        ("plain 1. text - here", "plain 1. text - here"),
    ],
)
def test_line_start_markers_are_escaped(text: str, expected: str) -> None:
    assert md_block(text) == expected


def test_cells_escape_pipes_and_line_breaks() -> None:
    assert md_cell("a | b\nc") == "a \\| b c"


def test_printable_shows_control_codes() -> None:
    assert printable("evil\x1b[31m.txt") == "evil\\x1b[31m.txt"
    assert printable("a\tb\nc\x07\x9b\u202ed\u2066") == "a\tb\\x0ac\\x07\\x9b\\u202ed\\u2066"
    assert printable("Ḥalab حلب") == "Ḥalab حلب"


def test_file_names_with_escape_sequences_reach_stderr_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    path = tmp_path / "evil\x1b[31m\x1b[2J\u202e.txt"
    path.write_bytes(b"")
    code, _, err = run(["extract", str(path), "--replay", "cassettes/aleppo-extract.yaml"], capsys)
    assert code != 0
    assert "\x1b" not in err and "\u202e" not in err
    assert "evil\\x1b[31m\\x1b[2J\\u202e.txt" in err
