"""Cassettes recorded from a real model (cassettes/real/), replayed: what Qwen2.5-Coder-0.5B did, and what the tool did with it.

Recorded on 2026-12-06 against llama-cpp-python 0.3.36's server on 2 cores (context 16,384,
temperature 0, 3,000 answer tokens, no re-asks). Of the three floods articles, two answers ran past
the answer budget, repeating figure ids until they were cut off mid-string, and one came back as
empty lists. The tool reports the two as `truncated` with the item named and keeps the third,
which has nothing in it, as verified-empty. Nothing unverified reaches the output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES, run

REAL = CASSETTES / "real"
MODEL = "qwen2.5-coder-0.5b-instruct-q4_k_m"


def test_the_recorded_extraction_replays_with_the_models_own_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports.json"
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--replay", str(REAL / "floods-extract.yaml"), "--max-reasks", "0", "-o", str(out)], capsys)
    assert code == 3, err
    data = json.loads(out.read_text(encoding="utf-8"))
    failed = {f["item"].rsplit("/", 1)[-1]: f for f in data["failed"]}
    assert set(failed) == {"national-wire-day2.txt", "valley-courier-day1.txt"}
    # llama-cpp-python says finish_reason=tool_calls even for a cut-off answer; the tool knows it used all 3,000 tokens
    assert all(f["error"] == "truncated" and "cut off at the token limit after 3000 tokens" in f["message"] for f in failed.values())
    (report,) = data["reports"]
    assert report["source"]["id"] == "river-times-day2" and not (report["events"] or report["figures"] or report["claims"])
    assert report["provenance"]["model"] == MODEL and report["provenance"]["mode"] == "tools"
    assert "truncated" in err and "national-wire-day2.txt" in err


def test_the_recorded_briefing_replays_gated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports.json"
    run(["extract", str(EXAMPLES / "floods"), "--replay", str(REAL / "floods-extract.yaml"), "--max-reasks", "0", "-o", str(reports)], capsys)
    out = tmp_path / "briefing.json"
    code, _, err = run(
        ["brief", "--reports", str(reports), "--replay", str(REAL / "floods-brief.yaml"), "--max-reasks", "0", "--format", "json", "-o", str(out)], capsys
    )
    assert code == 1, err  # partial: the briefing's checks failed, and it says so
    b = json.loads(out.read_text(encoding="utf-8"))
    assert b["provenance"]["model"] == MODEL
    # nothing was extracted, so the model could cite nothing real: all 5 sentences it wrote were removed, none shown
    assert b["headline"] is None and not any(b[section] for section in ("lead", "key_points", "timeline", "context"))
    assert len(b["removed"]) == 5 and all(any("unknown claim ids" in p for p in r["problems"]) for r in b["removed"])
    failed = {c["name"] for c in b["checks"] if not c["passed"]}
    assert {"citations_exist", "sentences_removed"} <= failed
