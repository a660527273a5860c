"""Hardening of runs: signals, one run per output directory, budgets, storage failures, hostile names and paths, internal errors.

Signals and the directory lock are tested on a real process (``python -m summarize``) against a
slow local server; everything else in process. Storage faults are real where the kernel or SQLite
can make them without privileges (SQLite's page limit gives SQLITE_FULL, a FIFO stands for a
device), and simulated at the system call otherwise (ENOSPC at fsync; EACCES when the tests run
as root, whom permission bits do not stop).
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, ROOT, copying, run
from record_cassettes import authored_responder
from scripted_server import Reply, ScriptedServer
from test_batch import jsonl, write_articles

from summarize.batch import store as store_module
from summarize.batch.lock import LOCK_FILE
from summarize.batch.store import Store
from summarize.errors import OutputError
from summarize.fileio import atomic_write

# --- helpers -------------------------------------------------------------------------------


class Slow:
    """Answers the first request at once and every later one after ``delay`` seconds (0 to answer all at once)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.seen = 0
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.seen += 1
            first = self.seen == 1
        reply = copying(body)
        return reply if first or not self.delay else reply.after(self.delay)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZE_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _done(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _argv(inputs: Path, out: Path, url: str, *extra: str) -> list[str]:
    return ["batch", str(inputs), "--out", str(out), "--base-url", url, "--mode", "tools", "--no-brief", "-q", *extra]


def _start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "summarize", *argv], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(condition: Any, proc: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition(), f"the run ended or stalled first (exit {proc.poll()})"


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- 9: SIGINT and SIGTERM ----------------------------------------------------------------------


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_keeps_the_calls_in_flight_writes_the_outputs_and_says_how_to_resume(
    sig: signal.Signals, code: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_articles(tmp_path / "in", 8)
    out = tmp_path / "run"
    slow = Slow(0.8)
    with ScriptedServer(slow) as server:
        argv = _argv(tmp_path / "in", out, server.url, "--concurrency", "2")
        proc = _start(argv)
        _wait_for(lambda: _done(out / "store.sqlite") >= 1, proc)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
        sent = len(server.requests)
        assert proc.returncode == code, err
        assert sent <= 3, "no request goes out after the signal (two were in flight, at most one more had its slot)"
        kept = _done(out / "store.sqlite")
        assert kept == sent >= 2, "every call in flight finished and was kept"
        assert len(jsonl(out / "reports.jsonl")) == kept, "the outputs were written for what finished"
        assert jsonl(out / "errors.jsonl") == [], "work not started is not an error"
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert (summary["stopped_by"], summary["not_started"], summary["exit_code"]) == (sig.name, 8 - kept, code)
        resume = [line for line in err.splitlines() if "resume with:" in line]
        assert len(resume) == 1 and resume[0].endswith("resume with: " + shlex.join(["summarize", *argv])), err

        slow.delay = 0.0
        assert run(argv, capsys)[0] == 0
        assert len(server.requests) == 8, "the resumed run asks only for what was not kept"
        assert len(jsonl(out / "reports.jsonl")) == 8


# --- 10: one run per output directory -------------------------------------------------------------


def test_a_second_run_on_the_same_directory_is_refused_and_a_killed_holder_leaves_no_stale_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_articles(tmp_path / "in", 4)
    out = tmp_path / "run"
    slow = Slow(1.0)
    with ScriptedServer(slow) as server:
        argv = _argv(tmp_path / "in", out, server.url, "--concurrency", "1")
        proc = _start(argv)
        _wait_for(lambda: _done(out / "store.sqlite") >= 1, proc)
        before = len(server.requests)
        code, _, err = run(argv, capsys)
        assert code == 5
        line = _one_line(err)
        assert str(out) in line and f"pid {proc.pid}" in line and "in use by another summarize run" in line
        assert len(server.requests) == before, "the refused run asked the model nothing"
        proc.send_signal(signal.SIGKILL)  # the lock dies with its process: nothing stale is left to clear
        proc.communicate(timeout=10)
        assert (out / LOCK_FILE).exists()
        slow.delay = 0.0
        code, _, err = run(argv, capsys)
        assert code == 0, err
    with sqlite3.connect(out / "store.sqlite") as db:
        assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 2, "the refused run left no trace in the store"
    assert (out / LOCK_FILE).read_text() == "", "a finished run no longer names itself as the holder"


# --- 11: --max-cost -------------------------------------------------------------------------------


def _cost_per_item(tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str) -> float:
    code, _, err = run(_argv(tmp_path / "in", tmp_path / "measure", url), capsys)
    assert code == 0, err
    summary = json.loads((tmp_path / "measure" / "summary.json").read_text(encoding="utf-8"))
    return float(summary["usage"]["cost_usd"]) / summary["extracted"]


def test_max_cost_does_every_item_it_can_afford(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 30)
    monkeypatch.setenv("SUMMARIZE_PRICE_INPUT", "1.0")
    monkeypatch.setenv("SUMMARIZE_PRICE_OUTPUT", "1.0")
    with ScriptedServer(copying) as server:
        each = _cost_per_item(tmp_path, capsys, server.url)
        limit = 40 * each  # room for all 30, with a third to spare
        code, _, err = run(_argv(tmp_path / "in", tmp_path / "run", server.url, "--max-cost", f"{limit:.6f}"), capsys)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert (code, summary["extracted"], summary["skipped_budget"]) == (0, 30, 0), err
    assert summary["usage"]["cost_usd"] <= limit


def test_max_cost_skips_only_what_it_cannot_afford_says_why_and_the_next_run_does_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    write_articles(tmp_path / "in", 30)
    monkeypatch.setenv("SUMMARIZE_PRICE_INPUT", "1.0")
    monkeypatch.setenv("SUMMARIZE_PRICE_OUTPUT", "1.0")
    out = tmp_path / "run"
    with ScriptedServer(copying) as server:
        each = _cost_per_item(tmp_path, capsys, server.url)
        measured = len(server.requests)
        limit = 10.5 * each
        code, _, err = run(_argv(tmp_path / "in", out, server.url, "--max-cost", f"{limit:.6f}"), capsys)
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert code == 1
        assert 9 <= summary["extracted"] <= 10 and summary["skipped_budget"] == 30 - summary["extracted"]
        assert summary["usage"]["cost_usd"] <= limit
        assert "--max-cost" in summary["skipped_reason"] and "run the same command again" in summary["skipped_reason"]
        assert f"{summary['skipped_budget']} not started: --max-cost" in err
        skipped = [e for e in jsonl(out / "errors.jsonl") if e["error"] == "budget"]
        assert len(skipped) == summary["skipped_budget"] and all("kept for the next run" in e["message"] for e in skipped)
        with sqlite3.connect(out / "store.sqlite") as db:
            assert db.execute("SELECT count(*) FROM items WHERE status = 'failed'").fetchone()[0] == 0, "nothing is marked failed"

        code, _, err = run(_argv(tmp_path / "in", out, server.url, "--max-cost", f"{100 * each:.6f}"), capsys)
        assert code == 0, err
        assert len(server.requests) - measured == 30, "each item asked for once over the two runs"
    assert len(jsonl(out / "reports.jsonl")) == 30 and jsonl(out / "errors.jsonl") == []


# --- 12: disk full, read-only, damaged store, malformed cassette --------------------------------------


def _first_run(tmp_path: Path, capsys: pytest.CaptureFixture[str], server: ScriptedServer, n: int = 3) -> tuple[Path, list[str]]:
    write_articles(tmp_path / "in", n)
    out = tmp_path / "run"
    argv = _argv(tmp_path / "in", out, server.url)
    assert run(argv, capsys)[0] == 0
    return out, argv


def test_disk_full_while_writing_the_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 3)
    out = tmp_path / "run"
    real_fsync = os.fsync

    def full(fd: int) -> None:
        if os.readlink(f"/proc/self/fd/{fd}").startswith(str(out)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    with ScriptedServer(copying) as server:
        argv = _argv(tmp_path / "in", out, server.url)
        monkeypatch.setattr(os, "fsync", full)
        code, _, err = run(argv, capsys)
        assert code == 4
        line = _one_line(err)
        assert line.startswith("summarize: disk full: cannot write ") and "free some space" in line and "kept in" in line
        assert _done(out / "store.sqlite") == 3, "the work is kept in the store"
        assert not list(out.glob(".*.tmp")), "no temporary file left behind"
        monkeypatch.setattr(os, "fsync", real_fsync)
        assert run(argv, capsys)[0] == 0
        assert len(server.requests) == 3, "the outputs come back from the store, with no model call"


def test_disk_full_in_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real_connect = sqlite3.connect

    def no_room(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        db = real_connect(*args, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {max(pages, 1)}")  # SQLite's own SQLITE_FULL, as on a full disk
        return db

    with ScriptedServer(copying) as server:
        _, argv = _first_run(tmp_path, capsys, server)
        write_articles(tmp_path / "in" / "more", 6)
        monkeypatch.setattr(store_module.sqlite3, "connect", no_room)
        code, _, err = run(argv, capsys)
    assert code == 4
    # more/ repeats the first run's three articles: one of each pair is refused as a duplicate (exit 2 alone), a failure, so said under -q too
    *duplicates, line = [line for line in err.splitlines() if line.strip()]
    first, more = tmp_path / "in" / "story-0", tmp_path / "in" / "more" / "story-0"
    assert duplicates == [f"✗ {first / f'item-000{i}.txt'}: has the same text as {more / f'item-000{i}.txt'}; skipped" for i in range(3)], err
    assert "Traceback" not in err
    assert line.startswith("summarize: disk full: cannot write") and "store.sqlite" in line and "is kept" in line


def _make_read_only(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        for path in [out, *out.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
        return
    # root writes through permission bits: answer as the kernel answers everyone else
    real_open = os.open
    writing = os.O_WRONLY | os.O_RDWR | os.O_CREAT

    def guarded(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writing and os.path.abspath(path).startswith(str(out)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded)


def test_a_read_only_output_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(copying) as server:
        out, argv = _first_run(tmp_path, capsys, server)
        before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
        _make_read_only(out, monkeypatch)
        try:
            code, _, err = run(argv, capsys)
        finally:
            monkeypatch.undo()
            for path in [out, *out.rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        assert code == 4
        line = _one_line(err)
        assert "read-only" in line and "writable" in line and "another --out" in line
        assert "usable" not in line and "move it away" not in line, "good work must not be called unusable"
        assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before, "nothing was changed"
        assert len(server.requests) == 3


def test_a_read_only_store_is_called_read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    real_connect = sqlite3.connect
    monkeypatch.setattr(store_module.sqlite3, "connect", lambda p, **kw: real_connect(f"file:{p}?mode=ro", uri=True, **kw))
    store = Store(path)
    try:
        with pytest.raises(OutputError) as caught:
            store.set_state("x", "1")
    finally:
        store.close()
    assert "is read-only" in caught.value.message and "intact" in caught.value.message
    assert "usable" not in caught.value.message and "move it away" not in caught.value.message


def test_a_damaged_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(copying) as server:
        out, argv = _first_run(tmp_path, capsys, server, n=6)
        db = out / "store.sqlite"
        data = bytearray(db.read_bytes())
        page = 4096
        for start in range(page, len(data), page):  # every page but the schema's
            data[start : start + page] = b"\xde\xad\xbe\xef" * (page // 4)
        db.write_bytes(bytes(data))
        code, _, err = run(argv, capsys)
        assert code == 4
        line = _one_line(err)
        assert "is damaged (database disk image is malformed)" in line and ".recover" in line and "another --out" in line
        assert db.read_bytes() == bytes(data), "the damaged store is left as it was"
        assert len(server.requests) == 6


def test_a_malformed_cassette_is_one_line_and_exit_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "version: 1\ninteractions:\n- request: {method: POST, uri: 5, headers: {}, body: null}\n"
        "  response: {status: {code: 200, message: OK}, headers: {}, body: 'x'}\n",
        encoding="utf-8",
    )
    code, _, err = run(["extract", str(EXAMPLES / "floods" / "river-times-day2.txt"), "--replay", str(bad)], capsys)
    assert code == 3
    assert "not a readable cassette (interaction 1: the request needs a method and a uri" in _one_line(err)


def test_outputs_to_a_device_or_pipe_are_written_in_place(tmp_path: Path) -> None:
    """A FIFO stands for /dev/stdout or /dev/full (whose ENOSPC then reaches the user): never replaced by a regular file."""
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    atomic_write(fifo, "one line\n")
    reader.join(timeout=5)
    assert fifo.is_fifo() and got == [b"one line\n"]


# --- 14: long story names, scratch files, --out inside an input, -o onto an input ---------------------


def test_long_story_names_get_short_distinct_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stories = {"aleppo": "a" * 299 + "1", "floods": "a" * 299 + "2"}
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(
        "".join(json.dumps({"path": str(p), "story": stories[d]}) + "\n" for d in stories for p in sorted((EXAMPLES / d).glob("*.txt"))), encoding="utf-8"
    )
    out = tmp_path / "run"
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["batch", str(manifest), "--out", str(out), "--base-url", server.url, "--mode", "tools", "-q"], capsys)
    assert code in (0, 1), err  # 1 if a check is partial: the names are what is tested
    names = sorted(p.name for p in (out / "briefings").iterdir())
    assert len(names) == 4 and len({n.rsplit(".", 1)[0] for n in names}) == 2, names
    assert all(len(n.encode()) <= 130 and n.startswith("a" * 100) for n in names)
    assert {r["story"] for r in jsonl(out / "reports.jsonl")} == set(stories.values()), "reports keep the full story name"


def test_inline_manifest_records_leave_files_beside_the_manifest_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text(json.dumps({"text": "Officials said 3 people were hurt when a bridge in the town collapsed on Monday.", "story": "b"}) + "\n")
    mine = tmp_path / ".manifest-1.jsonl"  # the name the scratch file used to take
    mine.write_text("the user's own file\n", encoding="utf-8")
    with ScriptedServer(copying) as server:
        code, _, err = run(["batch", str(manifest), "--out", str(tmp_path / "run"), "--base-url", server.url, "--mode", "tools", "--no-brief", "-q"], capsys)
    assert code == 0, err
    assert mine.read_text(encoding="utf-8") == "the user's own file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".manifest-1.jsonl", "manifest.jsonl", "run"]
    (report,) = jsonl(tmp_path / "run" / "reports.jsonl")
    assert report["source"]["path"] == f"{manifest}:1"


def test_an_output_directory_inside_an_input_directory_is_not_read_back(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 3)
    with ScriptedServer(copying) as server:
        argv = _argv(tmp_path / "in", tmp_path / "in" / "run", server.url)
        assert run(argv, capsys)[0] == 0
        code, _, err = run(argv, capsys)
        assert code == 0, err
        assert len(server.requests) == 3
    summary = json.loads((tmp_path / "in" / "run" / "summary.json").read_text(encoding="utf-8"))
    assert (summary["items"], summary["cached"]) == (3, 3)
    assert jsonl(tmp_path / "in" / "run" / "errors.jsonl") == []


def test_output_onto_an_input_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    article = tmp_path / "a.txt"
    original = (EXAMPLES / "floods" / "river-times-day2.txt").read_text(encoding="utf-8")
    article.write_text(original, encoding="utf-8")
    reports = tmp_path / "reports.json"
    reports.write_text("{}", encoding="utf-8")
    with ScriptedServer(copying) as server:
        endpoint = ["--base-url", server.url, "--mode", "tools"]
        for argv in (
            ["extract", str(article), "-o", str(article)],
            ["extract", str(tmp_path), "-o", str(article)],
            ["brief", "--reports", str(reports), "-o", str(reports)],
            ["export", str(reports), "-o", str(reports)],  # .json is no format export writes: the overwrite is still what is said
            ["render", str(reports), "-o", str(reports)],
        ):
            code, _, err = run([*argv, *(endpoint if argv[0] not in ("export", "render") else [])], capsys)
            assert code == 2 and "would overwrite an input" in _one_line(err), argv
        assert not server.requests
    assert article.read_text(encoding="utf-8") == original and reports.read_text(encoding="utf-8") == "{}"


# --- 15: files that are not UTF-8; internal errors ---------------------------------------------------


def test_saved_output_that_is_not_utf8_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "latin1.json"
    bad.write_bytes('{"headline": "Caf\xe9"}'.encode("latin-1"))
    for argv in (["check", str(bad)], ["export", str(bad)], ["brief", "--reports", str(bad), "--base-url", "http://127.0.0.1:9/v1", "--mode", "tools"]):
        code, _, err = run(argv, capsys)
        assert code == 2, argv
        line = _one_line(err)
        assert str(bad) in line and "not UTF-8" in line, argv


def test_an_internal_error_in_a_batch_item_is_its_own_kind_with_the_traceback_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from summarize.batch import runner

    write_articles(tmp_path / "in", 3)
    real = runner.extract_source

    def buggy(source: Any, *args: Any, **kwargs: Any) -> Any:
        if source.id == "item-0001":
            raise KeyError("a bug")
        return real(source, *args, **kwargs)

    monkeypatch.setattr(runner, "extract_source", buggy)
    out = tmp_path / "run"
    with ScriptedServer(copying) as server:
        code, _, err = run(_argv(tmp_path / "in", out, server.url), capsys)
    assert code == 6
    (error,) = jsonl(out / "errors.jsonl")
    assert error["error"] == "internal" and "KeyError" in error["message"] and "please report" in error["message"]
    assert str(out / "run.log") in error["message"] and str(out / "run.log") in err
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in log and "KeyError: 'a bug'" in log and "extract " in log
    assert len(jsonl(out / "reports.jsonl")) == 2, "the other items are unaffected"


def test_an_internal_error_in_a_command_exits_6_and_asks_for_a_report(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from summarize import api

    def buggy(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(api, "load_briefing", buggy)
    code, _, err = run(["check", "briefing.json"], capsys)
    assert code == 6
    assert "Traceback" in err and err.strip().splitlines()[-1].startswith("summarize: internal error (a bug): ZeroDivisionError: a bug; please report it")
