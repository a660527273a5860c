"""Issue 16 point 6: a replay warns about unused recorded calls only when the run really differs, and says what."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.api import brief_files, extract_files
from summarize.config import load_settings


def _warned(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)


@pytest.mark.parametrize("story", ["aleppo", "floods"])
def test_identical_inputs_do_not_warn_even_with_a_cassette_of_more_stages(story: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the brief cassette holds the extraction calls and the briefing call: `extract` uses only the first
    out = extract_files([str(EXAMPLES / story)], load_settings({"replay": str(CASSETTES / f"{story}-brief.yaml")}))
    assert not out.failed and "were not used" not in _warned(caplog)
    saved = tmp_path / "reports.json"
    from summarize.render.reports import extraction_json

    saved.write_text(extraction_json(out), encoding="utf-8")
    caplog.clear()
    # `brief --reports` sends only the briefing call
    briefing, _ = brief_files([], load_settings({"replay": str(CASSETTES / f"{story}-brief.yaml")}), reports_file=saved)
    assert briefing is not None and "were not used" not in _warned(caplog)


def test_a_missing_input_is_named(caplog: pytest.LogCaptureFixture) -> None:
    extract_files([str(EXAMPLES / "aleppo" / "state-herald.txt")], load_settings({"replay": str(CASSETTES / "aleppo-extract.yaml")}))
    said = _warned(caplog)
    assert "were not used" in said and "not asked for in this run: kurdish-desk, monitor-digest, regional-wire" in said


def test_a_changed_input_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for f in (EXAMPLES / "aleppo").glob("*.txt"):
        shutil.copy(f, tmp_path / f.name)
    changed = tmp_path / "kurdish-desk.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("153", "154"), encoding="utf-8")
    out = extract_files([str(tmp_path)], load_settings({"replay": str(CASSETTES / "aleppo-extract.yaml")}))
    assert [f.item for f in out.failed] == [str(changed)]
    said = _warned(caplog)
    assert "1 recorded interaction(s)" in said and "asked for differently than recorded: kurdish-desk" in said
