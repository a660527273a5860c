"""Bundled cassettes: free of credentials, reproducible from the authored answers, fully used."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from helpers import CASSETTES, EXAMPLES, ROOT
from record_cassettes import CASSETTES as RECIPES
from record_cassettes import record

from summarize.api import extract_files
from summarize.config import load_settings

CREDENTIALS = re.compile(
    r"sk-[A-Za-z0-9_-]{16,}|Bearer\s+\S{8,}|api[-_]key\s*:|authorization\s*:|set-cookie\s*:|cookie\s*:|openai-organization|openai-project|x-api-key",
    re.IGNORECASE,
)

ALL = sorted(CASSETTES.glob("*.yaml"))


def test_cassettes_exist() -> None:
    assert {p.name for p in ALL} >= set(RECIPES)


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_cassette_holds_no_credentials_or_account_headers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert CREDENTIALS.findall(text) == []
    for interaction in yaml.safe_load(text)["interactions"]:
        assert set(interaction["request"]["headers"]) <= {"content-type", "accept"}
        assert set(interaction["response"]["headers"]) <= {"content-type", "retry-after", "retry-after-ms"} | {
            h for h in interaction["response"]["headers"] if h.startswith("x-ratelimit-")
        }


def test_credential_scan_would_catch_a_leak(tmp_path: Path) -> None:
    leaked = (
        (CASSETTES / "floods-extract.yaml")
        .read_text(encoding="utf-8")
        .replace("content-type:", "authorization:\n      - Bearer sk-live-abcdefghijklmnop1234\n      content-type:", 1)
    )
    assert CREDENTIALS.findall(leaked)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_cassette_is_reproducible_from_the_authored_answers(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    fresh = tmp_path / name
    assert record(name, fresh) == 0
    assert fresh.read_text(encoding="utf-8") == (CASSETTES / name).read_text(encoding="utf-8"), "run python tests/record_cassettes.py"


@pytest.mark.parametrize(("story", "name"), [(s, f"{s}-extract.yaml") for s in ("aleppo", "floods", "multilingual", "web")])
def test_full_replay_uses_every_recorded_interaction(story: str, name: str, caplog: pytest.LogCaptureFixture) -> None:
    out = extract_files([str(EXAMPLES / story)], load_settings({"replay": str(CASSETTES / name)}))
    assert not out.failed and len(out.reports) == len([p for p in (EXAMPLES / story).iterdir() if p.suffix in (".txt", ".html")])
    assert "were not used" not in caplog.text


def test_partial_replay_reports_unused_interactions(caplog: pytest.LogCaptureFixture) -> None:
    out = extract_files([str(EXAMPLES / "aleppo" / "state-herald.txt")], load_settings({"replay": str(CASSETTES / "aleppo-extract.yaml")}))
    assert len(out.reports) == 1
    assert "3 recorded interaction(s)" in caplog.text and "were not used" in caplog.text
