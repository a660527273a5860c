"""Every bundled example story goes through extract and brief offline from its cassette."""

from __future__ import annotations

import json

import pytest
from helpers import CASSETTES, EXAMPLES, run

STORIES = ["aleppo", "floods", "multilingual", "web"]


@pytest.mark.parametrize("story", STORIES)
def test_extract_replays_with_every_check_passing(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["extract", str(EXAMPLES / story), "--replay", str(CASSETTES / f"{story}-extract.yaml"), "--format", "json"], capsys)
    assert code == 0, err
    reports = json.loads(out)["reports"]
    assert reports and all(c["passed"] for r in reports for c in r["checks"])
    for r in reports:
        text = r["source"]["text"]
        for f in r["figures"]:
            assert text[f["evidence"]["start"] : f["evidence"]["end"]] == f["evidence"]["quote"]


@pytest.mark.parametrize("story", STORIES)
def test_brief_replays_with_every_gate_passing(story: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["brief", str(EXAMPLES / story), "--replay", str(CASSETTES / f"{story}-brief.yaml"), "--format", "json"], capsys)
    assert code == 0, err
    briefing = json.loads(out)
    assert briefing["headline"] and all(c["passed"] for c in briefing["checks"]) and not briefing["removed"]


def test_arabic_quotes_stay_verbatim_with_an_english_gloss(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(
        ["extract", str(EXAMPLES / "multilingual" / "ar-aleppo-wire.txt"), "--replay", str(CASSETTES / "multilingual-extract.yaml"), "--format", "json"], capsys
    )
    report = json.loads(out)["reports"][0]
    claims = report["claims"]
    assert claims and all(any("\u0600" <= ch <= "\u06ff" for ch in c["evidence"]["quote"]) for c in claims)
    assert all(c["gloss"] and c["gloss"].isascii() for c in claims)
    assert any(f["value"] == 153 and f["attributed_to"] == "SOHR" for f in report["figures"])


def test_saved_web_page_is_read_without_boilerplate(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(["extract", str(EXAMPLES / "web"), "--replay", str(CASSETTES / "web-extract.yaml"), "--format", "json"], capsys)
    source = json.loads(out)["reports"][0]["source"]
    assert (source["outlet"], source["published"]) == ("Eastern Mediterranean Wire", "2024-11-29")
    assert "cookie" not in source["text"].lower() and "238 people dead" in source["text"]


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_the_flood_briefing_marks_the_day_one_toll_as_an_earlier_count(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["brief", str(EXAMPLES / "floods"), "--replay", str(CASSETTES / "floods-brief.yaml"), "--format", fmt], capsys)
    assert code == 0, err
    assert "(earlier count, 2025-04-09)" in out
    assert "ACLED-style conservative 31; UCDP-style low 31, high 40" in out, "the day-one 12 is not the floor of the derived totals"
    assert "an earlier count of a rising toll" in out
