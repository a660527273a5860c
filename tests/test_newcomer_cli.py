"""Issue 16, a newcomer's first hour: outputs that chain into every reader, -o names that say the format, -q that
keeps errors, inputs read before a key is asked for, `render`, `demo`, a fast `--help`, and a `logs` table that aligns."""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from helpers import CASSETTES, EXAMPLES, ROOT, copying, run
from record_cassettes import authored_responder
from scripted_server import Reply, ScriptedServer, fenced_sources

from summarize.cli import main as cli_main
from summarize.render.reports import calls_text

ALEPPO, FLOODS = str(EXAMPLES / "aleppo"), str(EXAMPLES / "floods")
REPLAY_BRIEF = ["--replay", str(CASSETTES / "aleppo-brief.yaml")]
REPLAY_EXTRACT = ["--replay", str(CASSETTES / "aleppo-extract.yaml")]
JARGON = ("Extra inputs are not permitted", "validation error", "Input should be", "Field required", "pydantic")


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def authored(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``argv`` against a scripted server giving the authored answers (the cassettes' answers, whatever the prompt's wording)."""
    with ScriptedServer(authored_responder()) as server:
        return run([*argv, "--base-url", server.url, "--mode", "tools"], capsys)


def two_story_batch(out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> ScriptedServer:
    """A finished batch of the aleppo and floods stories in ``out``; returns the (stopped) server that answered it."""
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["batch", ALEPPO, FLOODS, "--out", str(out), "--base-url", server.url, "--mode", "tools", "-q", *extra], capsys)
    assert code == 0, err
    return server


# --- 1: every output the tool writes is accepted by every command that reads reports or briefings -------------------


def test_a_batch_directory_chains_into_export_brief_check_render_and_eval(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "runs" / "a"
    two_story_batch(out, capsys)
    reports = str(out / "reports.jsonl")

    code, csv_out, err = run(["export", reports], capsys)
    assert code == 0, err
    stories = {row["event_id_cnty"].split(":")[0] for row in csv.DictReader(io.StringIO(csv_out))}
    assert {"monitor-digest", "valley-courier-day1"} <= stories, "both stories' events are exported"

    code, _, err = run(["export", reports, "-o", str(tmp_path / "figures.jsonl")], capsys)
    assert code == 0 and all(line["claimant_canonical"] for line in jsonl(tmp_path / "figures.jsonl"))

    code, _, err = run(["brief", "--reports", reports, *REPLAY_BRIEF], capsys)
    assert code == 2, "a reports.jsonl of two stories is not briefed as one"
    assert "2 stories (aleppo, floods)" in err and "--story NAME" in err and not any(j in err for j in JARGON)

    with ScriptedServer(authored_responder()) as server:
        endpoint = ["--base-url", server.url, "--mode", "tools"]
        code, md, err = run(["brief", "--reports", reports, "--story", "aleppo", *endpoint], capsys)
        assert code == 0, err
        assert "SOHR" in md and "Brask" not in md, "only the aleppo story's reports are briefed"
        code, _, err = run(["brief", "--reports", reports, "--story", "atlantis", *endpoint], capsys)
        assert code == 2 and "no story 'atlantis'" in err and "aleppo, floods" in err
        assert len(server.requests) == 1, "one briefing call, for the story picked"

    code, checked, err = run(["check", str(out / "briefings" / "aleppo.json")], capsys)
    assert code == 0 and "✗" not in checked, err

    code, _, err = run(["eval", str(EXAMPLES / "gold" / "floods.json"), "--reports", reports], capsys)
    assert code == 0, err


def test_every_saved_json_output_is_read_by_brief_export_and_render(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    extracted_json, extracted_jsonl, briefing = tmp_path / "r.json", tmp_path / "r.jsonl", tmp_path / "b.json"
    assert run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "-o", str(extracted_json)], capsys)[0] == 0
    assert run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "-o", str(extracted_jsonl)], capsys)[0] == 0
    assert authored(["brief", ALEPPO, "-q", "-o", str(briefing)], capsys)[0] == 0
    for saved in (extracted_json, extracted_jsonl, briefing):
        code, _, err = run(["export", str(saved)], capsys)
        assert code == 0, (saved.name, err)
        code, md, err = run(["render", str(saved), "--format", "md"], capsys)
        assert code == 0 and "SOHR" in md, (saved.name, err)
        code, md, err = authored(["brief", "--reports", str(saved), "-q"], capsys)
        assert code == 0 and "## Checks" in md, (saved.name, err)


def test_a_wrong_file_is_explained_in_words_with_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "r.jsonl"
    assert run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "-o", str(good)], capsys)[0] == 0
    lines = good.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["figures"][0]["value"] = "many"
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], json.dumps(record), *lines[2:]]) + "\n", encoding="utf-8")
    notes = tmp_path / "notes.md"
    notes.write_text("# My notes\n\nNot a report.\n", encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text('{\n  "reports": [\n    {"source": \n', encoding="utf-8")

    expected = {
        broken: ("line 2: figures[0].value is 'many'; expected a whole number",),
        notes: ("looks like Markdown", "reads back only the JSON it writes"),
        cut: ("not valid JSON", "line 4"),
    }
    for path, words in expected.items():
        for argv in (["export", str(path)], ["render", str(path)], ["brief", "--reports", str(path)]):
            code, _, err = run(argv, capsys)
            assert code == 2, argv
            assert str(path) in err and all(w in err for w in words), (argv, err)
            assert "it is not a briefing" in err and "or source reports" in err and not any(j in err for j in JARGON), err

    code, _, err = run(["check", str(good)], capsys)
    assert code == 2 and "not a briefing: it holds source reports" in err and "summarize render" in err


# --- 2: the -o extension sets the format; a disagreeing --format is a usage error; "wrote FILE" -----------------------


def test_the_output_name_sets_the_format_and_says_where_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = tmp_path / "x.jsonl"
    code, _, err = run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "-o", str(lines)], capsys)
    assert code == 0 and f"wrote {lines}" in err
    assert [r["source"]["id"] for r in jsonl(lines)] == ["kurdish-desk", "monitor-digest", "regional-wire", "state-herald"]

    page, doc = tmp_path / "b.html", tmp_path / "b.json"
    for target in (page, doc):
        code, stdout, err = authored(["brief", ALEPPO, "-q", "-o", str(target)], capsys)
        assert code == 0 and stdout == "" and f"wrote {target}" in err
    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert json.loads(doc.read_text(encoding="utf-8"))["headline"]["text"]

    figures = tmp_path / "figures.jsonl"
    assert run(["export", str(doc), "-o", str(figures)], capsys)[0] == 0
    assert jsonl(figures) and all("claimant_canonical" in f for f in jsonl(figures)), "export -o FILE.jsonl writes figure claims"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["extract", ALEPPO, *REPLAY_EXTRACT, "--format", "md", "-o", "{tmp}/x.json"], "--format md was given"),
        (["brief", ALEPPO, *REPLAY_BRIEF, "-o", "{tmp}/b.jsonl"], "does not write .jsonl files; it writes .json, .md or .html"),
        (["brief", ALEPPO, *REPLAY_BRIEF, "--format", "json", "-o", "{tmp}/b.html"], "--format json was given"),
        (["export", str(EXAMPLES / "aleppo"), "--to", "acled", "-o", "{tmp}/f.jsonl"], "--to acled was given"),
        (["export", "reports.json", "-o", "{tmp}/events.json"], "it writes .jsonl (--to figures) or .csv (--to acled)"),
        (["logs", "runs/a", "-o", "{tmp}/calls.md"], "it writes .jsonl or .csv"),
        (["render", "b.json", "-o", "{tmp}/b.csv"], "does not write .csv files; it writes .json, .jsonl, .md or .html"),
    ],
)
def test_a_format_that_disagrees_with_the_output_name_is_a_usage_error(
    argv: list[str], words: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2 and words in err
    assert list(tmp_path.iterdir()) == [], "nothing is written, and no model is called, before the flags are right"


# --- 3: -q silences progress, never errors ---------------------------------------------------------------------------


def test_quiet_still_says_why_a_file_was_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.txt"
    code, _, err = run(["extract", str(missing), *REPLAY_EXTRACT, "-q"], capsys)
    assert code == 2 and f"✗ {missing}" in err and "read failed" in err

    code, _, err = authored(["brief", ALEPPO, str(missing), "-q"], capsys)
    assert code == 2 and f"✗ {missing}" in err and "kurdish-desk" not in err, "the failure is shown, the progress is not"


def test_quiet_batch_still_lists_failed_items(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    floods = EXAMPLES / "floods"
    records = [{"path": str(floods / "river-times-day2.txt")}, {"path": str(floods / "valley-courier-day1.txt")}, {"path": "gone/away.txt"}]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")

    def respond(body: dict[str, Any]) -> Reply:
        return Reply.refusal("no") if fenced_sources(body)[0][0] == "valley-courier-day1" else copying(body)

    with ScriptedServer(respond) as server:
        argv = ["batch", str(manifest), "--out", str(tmp_path / "run"), "--base-url", server.url, "--mode", "tools", "--no-brief", "--max-reasks", "0", "-q"]
        code, _, err = run(argv, capsys)
    assert code == 3
    progress = err.split("batch:")[0]
    assert "✗" in progress and "gone/away.txt" in progress, "an unreadable input is named"
    assert "✗ valley-courier-day1" in progress, "an item the model failed is named"
    assert "river-times-day2" not in progress, "the items that went well are not: that is progress"


# --- 4: inputs are read and checked before an endpoint is asked for ---------------------------------------------------


def test_inputs_are_checked_before_a_key_is_asked_for(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.txt"
    code, _, err = run(["extract", str(missing)], capsys)
    assert code == 2 and str(missing) in err and "no model endpoint" not in err

    notes = tmp_path / "notes.md"
    notes.write_text("# notes\n", encoding="utf-8")
    code, _, err = run(["brief", "--reports", str(notes)], capsys)
    assert code == 2 and "looks like Markdown" in err and "no model endpoint" not in err

    code, _, err = run(["batch", ALEPPO, "--out", str(tmp_path / "r"), "--workers", "0"], capsys)
    assert code == 2 and "--workers must be at least 1" in err

    # a readable article does need the model: then, and only then, the endpoint is asked for
    code, _, err = run(["extract", str(missing), str(EXAMPLES / "floods" / "river-times-day2.txt")], capsys)
    assert code == 2 and f"✗ {missing}" in err and "no model endpoint configured" in err


def test_a_fully_cached_batch_rerun_needs_no_key_and_no_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    server = two_story_batch(out, capsys, "--profile", "generic")  # the same work keys (model, mode, strict) with and without the URL
    calls = len(server.requests)
    code, _, err = run(["batch", ALEPPO, FLOODS, "--out", str(out), "--mode", "tools", "--profile", "generic"], capsys)
    assert code == 0, err
    assert len(server.requests) == calls and "7 cached" in err and "0 model calls" in err


def test_workers_reach_the_batch_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from summarize.batch import runner

    seen: list[int | None] = []
    real = runner.run_batch

    def spy(inputs: Any, settings: Any, options: runner.BatchOptions, **kwargs: Any) -> Any:
        seen.append(options.workers)
        return real(inputs, settings, options, **kwargs)

    monkeypatch.setattr(runner, "run_batch", spy)
    with ScriptedServer(copying) as server:
        endpoint = ["--base-url", server.url, "--mode", "tools", "--no-brief", "-q"]
        assert run(["batch", FLOODS, "--out", str(tmp_path / "a"), "--workers", "1", *endpoint], capsys)[0] == 0
        assert run(["batch", FLOODS, "--out", str(tmp_path / "b"), *endpoint], capsys)[0] == 0
    assert seen == [1, None]


# --- 7: render, and batch --html --------------------------------------------------------------------------------------


def test_render_gives_what_the_writing_command_gave(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved, reports = tmp_path / "b.json", tmp_path / "r.json"
    with ScriptedServer(authored_responder()) as server:  # one server: its address is in the provenance
        endpoint = ["--base-url", server.url, "--mode", "tools", "-q"]
        assert run(["brief", ALEPPO, *endpoint, "-o", str(saved)], capsys)[0] == 0
        _, briefed_md, _ = run(["brief", ALEPPO, *endpoint], capsys)
    code, rendered_md, err = run(["render", str(saved)], capsys)
    assert code == 0 and rendered_md == briefed_md, err

    page = tmp_path / "b.html"
    code, _, err = run(["render", str(saved), "-o", str(page)], capsys)
    html = page.read_text(encoding="utf-8")
    assert code == 0 and f"wrote {page}" in err and html.lstrip().lower().startswith("<!doctype html") and "SOHR" in html
    code, again, _ = run(["render", str(saved), "--format", "json"], capsys)
    assert code == 0 and json.loads(again) == json.loads(saved.read_text(encoding="utf-8"))

    assert run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "-o", str(reports)], capsys)[0] == 0
    _, extracted_md, _ = run(["extract", ALEPPO, *REPLAY_EXTRACT, "-q", "--format", "md"], capsys)
    assert run(["render", str(reports), "--format", "md"], capsys)[1] == extracted_md


def test_render_picks_a_story_of_a_batch_and_keeps_stories_in_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    two_story_batch(out, capsys)
    code, html, err = run(["render", str(out / "reports.jsonl"), "--story", "floods", "--format", "html"], capsys)
    assert code == 0 and "valley-courier-day1" in html and "monitor-digest" not in html, err
    code, lines, _ = run(["render", str(out / "reports.jsonl"), "--format", "jsonl"], capsys)
    assert code == 0 and [json.loads(line) for line in lines.splitlines()] == jsonl(out / "reports.jsonl")


def test_batch_html_writes_a_page_beside_each_briefing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["batch", ALEPPO, FLOODS, "--out", str(out), "--base-url", server.url, "--mode", "tools", "-q", "--html"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (out / "briefings").glob("*.html")) == ["aleppo.html", "floods.html"]
    for story in ("aleppo", "floods"):
        briefing = json.loads((out / "briefings" / f"{story}.json").read_text(encoding="utf-8"))
        page = (out / "briefings" / f"{story}.html").read_text(encoding="utf-8")
        assert page.lstrip().lower().startswith("<!doctype html") and briefing["sources"][0]["outlet"] in page
    assert f"wrote 2 HTML briefings in {out / 'briefings'}" in err


# --- 10: `--help` loads no SDK ----------------------------------------------------------------------------------------

HEAVY = ("openai", "instructor", "httpx", "trafilatura", "vcr", "rich", "pydantic")
PROBE = """
import contextlib, io, sys
from summarize.cli.main import cli
for argv in {argvs!r}:
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli(argv) == 0, argv
print(",".join(m for m in {heavy!r} if m in sys.modules))
"""


def test_help_pages_import_no_sdk() -> None:
    argvs = [["--help"], *([c, "--help"] for c in ("extract", "brief", "check", "logs", "export", "render", "demo", "schema"))]
    done = subprocess.run([sys.executable, "-c", PROBE.format(argvs=argvs, heavy=HEAVY)], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"`summarize --help` loaded {done.stdout.strip()}"


def test_commands_built_later_are_listed_with_their_own_help() -> None:
    """eval and doctor are registered by their modules, which load the SDKs: the top-level list must say what they say."""
    parser = cli_main.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    listed = {c.dest: c.help for c in sub._choices_actions}
    for name in ("eval", "doctor"):
        scratch = argparse.ArgumentParser().add_subparsers()
        cli_main._module("evaluate" if name == "eval" else name).add_parser(scratch, cli_main._common())
        assert listed[name] == scratch._choices_actions[0].help
    assert cli_main.cli(["eval", "--compare", "missing-a.json", "missing-b.json"]) == 2, "a deferred command still parses and runs"


# --- 11: the demo ships in the package --------------------------------------------------------------------------------


def test_demo_prints_what_the_readme_command_prints(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(ROOT)
    readme_code, readme, _ = run(["brief", "examples/aleppo", "--replay", "cassettes/aleppo-brief.yaml"], capsys)
    monkeypatch.chdir(tmp_path)  # anywhere: the demo finds its own files
    code, shown, err = run(["demo"], capsys)
    assert (code, shown) == (readme_code, readme) and "no key" in err
    assert code == 0, "the README's main command (and so the demo) replays its cassette"
    code, _, _ = run(["demo", "-q", "-o", str(tmp_path / "b.json")], capsys)
    assert code == 0 and run(["check", str(tmp_path / "b.json")], capsys)[0] == 0


# --- 12: the logs table aligns ----------------------------------------------------------------------------------------


def cells(text: str) -> int:
    """Terminal columns: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_the_logs_table_aligns_whatever_the_widths() -> None:
    def call(item: str, stage: str, prompt: str, latency: float | None, tokens: tuple[int, int]) -> dict[str, Any]:
        return {"run_id": "r1", "time": "2024-11-28T10:00:00+00:00", "stage": stage, "item": item, "prompt": prompt, "prompt_sha": "abcdef123456",
                "model": "m", "prompt_tokens": tokens[0], "completion_tokens": tokens[1], "latency_ms": latency, "outcome": "ok"}  # fmt: skip

    calls = [
        call("a.txt", "extract", "extract", 812.4, (1200, 300)),
        call("北京特派员报道第三天.txt", "brief", "brief", 12034.0, (98765, 4321)),
        call("collected/" + "x" * 80 + ".txt", "extract-chunk", "a-very-long-prompt-name", None, (5, 0)),
    ]
    lines = calls_text(calls, "table").splitlines()
    header, rows = lines[0], lines[1:4]

    def starts(line: str, words: list[str]) -> list[int]:
        found, at = [], 0
        for w in words:
            at = line.index(w, at)
            found.append(cells(line[:at]))
            at += len(w)
        return found

    def ends(line: str, word: str) -> int:
        return cells(line[: line.index(word) + len(word)])

    cols = [starts(header, ["stage", "item", "prompt"])] + [
        starts(r, [c["stage"], c["item"][:10], c["prompt"]]) for r, c in zip(rows, calls, strict=True)
    ]
    assert len(set(map(tuple, cols))) == 1, "\n".join(lines)
    assert len({ends(header, "tokens"), ends(rows[0], "1200+300"), ends(rows[1], "98765+4321"), ends(rows[2], "5+0")}) == 1, "\n".join(lines)
    assert len({ends(header, "ms"), ends(rows[0], "812"), ends(rows[1], "12034")}) == 1, "\n".join(lines)
    assert cells(rows[2]) <= cells(rows[1]) + 40 and "…" in rows[2], "a long item is cut, not allowed to push every column out"
    assert lines[-1] == "3 calls, 3 ok, 0 failed, 104,591 tokens"


def test_progress_lines_count_in_words_that_agree(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["brief", ALEPPO, "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
    assert code == 0, err
    assert "✓ state-herald: 3 events, 1 figure, 8 claims (" in err, "one figure is '1 figure', not '1 figures'"
    assert "✓ regional-wire: 3 events, 3 figures, 7 claims (" in err
