"""Issue 16 point 12: `eval --help` examples run as written; uncovered stories and unequal story sets are named."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.cli.evaluate import EPILOG
from summarize.evaluate.gold import EvalRun, compare_markdown

GOLD = EXAMPLES / "gold"


def _example_commands() -> list[str]:
    """The command lines of the help text's examples, comments cut, in the order shown."""
    return [re.sub(r"\s+#.*$", "", line).strip() for line in EPILOG.splitlines() if line.startswith("  summarize ")]


def _run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # a shell, as a user would type it: globs expand, `summarize` is this interpreter's package
    script = f'summarize() {{ "{sys.executable}" -m summarize "$@"; }}\n{command}'
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


def test_every_eval_help_example_runs_as_written_in_order(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "cassettes").symlink_to(CASSETTES)
    commands = _example_commands()
    assert len(commands) >= 5 and any("--reports reports.json" in c for c in commands) and any(c.startswith("summarize eval --compare") for c in commands)
    results = {}
    for command in commands:
        done = _run(command, tmp_path)
        assert done.returncode == 0, f"{command!r} failed ({done.returncode}): {done.stderr[-800:]}"
        results[command] = done

    reports_run = next(r for c, r in results.items() if "--reports reports.json" in c)
    assert "| metric | floods | overall |" in reports_run.stdout, "the story reports.json covers is scored"
    warning = next(line for line in reports_run.stderr.splitlines() if "warning: not scored" in line)
    for story in ("aleppo", "clinic-blast", "quake-flood", "ridge-offensive"):
        assert story in warning
    assert "Not scored (no saved run holds their sources): aleppo, clinic-blast" in reports_run.stdout

    compare_run = next(r for c, r in results.items() if c.startswith("summarize eval --compare"))
    assert "warning: the runs cover different stories (only in A (a/eval.json): clinic-blast, floods, quake-flood, ridge-offensive)" in compare_run.stderr
    assert "## overall, over the 1 story in both (aleppo)" in compare_run.stdout
    assert (tmp_path / "b" / "eval.json").is_file() and (tmp_path / "a" / "eval.md").is_file()


def test_saved_reports_that_cover_no_story_are_still_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "cassettes").symlink_to(CASSETTES)
    assert _run("summarize extract examples/floods --replay cassettes/floods-extract.yaml -o floods.json -q", tmp_path).returncode == 0
    done = _run("summarize eval examples/gold/aleppo.json --reports floods.json", tmp_path)
    assert done.returncode == 2
    assert "nothing here covers story 'aleppo'" in done.stderr and "it holds sources national-wire-day2" in done.stderr


def test_eval_json_names_the_stories_it_did_not_score(tmp_path: Path) -> None:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    (tmp_path / "cassettes").symlink_to(CASSETTES)
    _run("summarize extract examples/floods --replay cassettes/floods-extract.yaml -o r.jsonl -q", tmp_path)
    done = _run(f"summarize eval {GOLD}/floods.json {GOLD}/aleppo.json --reports r.jsonl --out out -q", tmp_path)
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "out" / "eval.json").read_text(encoding="utf-8"))
    assert [s["story"] for s in saved["stories"]] == ["floods"] and saved["not_covered"] == ["aleppo"]


def _story(name: str, f1: float) -> dict[str, Any]:
    return {"story": name, "mode": "briefing", "model": "m", "prompts": [], "metrics": {"figure_f1": f1}, "coverage": {}, "details": {}}


def test_compare_of_unequal_story_sets_compares_overall_over_the_shared_stories_only() -> None:
    # A scored an easy extra story; its saved overall (0.75) would flatter A against B's one story
    a = EvalRun.model_validate({"stories": [_story("aleppo", 0.5), _story("floods", 1.0)], "overall": {"figure_f1": 0.75}})
    b = EvalRun.model_validate({"stories": [_story("aleppo", 0.6), _story("quake-flood", 0.2)], "overall": {"figure_f1": 0.4}})
    out = compare_markdown(a, b, "a.json", "b.json")
    section = out.split("## overall, over the 1 story in both (aleppo)\n", 1)[1].split("\n## ", 1)[0]
    assert "| figure_f1 | 0.50 | 0.60 | +0.10 | better |" in section
    assert "- floods: only in A" in out and "- quake-flood: only in B" in out


def test_compare_of_equal_story_sets_keeps_the_saved_overall() -> None:
    a = EvalRun.model_validate({"stories": [_story("aleppo", 0.5)], "overall": {"figure_f1": 0.5}})
    b = EvalRun.model_validate({"stories": [_story("aleppo", 0.7)], "overall": {"figure_f1": 0.7}})
    out = compare_markdown(a, b, "a.json", "b.json")
    assert "## overall\n" in out and "Not like for like" not in out


@pytest.mark.parametrize("old", [{"stories": [], "overall": {}}])
def test_an_eval_json_from_before_not_covered_still_loads(old: dict[str, Any]) -> None:
    assert EvalRun.model_validate(old).not_covered == []
