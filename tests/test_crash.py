"""Crash safety: kill -9 a running batch at random points, re-run, and lose or duplicate nothing."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ROOT, copying
from scripted_server import ScriptedServer
from test_batch import write_articles

from summarize.cli.main import cli

N_ITEMS = 60


def _done(store: Path) -> int:
    if not store.exists():
        return 0
    try:
        with sqlite3.connect(store, timeout=1) as db:
            return int(db.execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _start(inputs: Path, out: Path, url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZE_"))}
    env["PYTHONPATH"] = str(ROOT)
    cmd = [
        sys.executable,
        "-m",
        "summarize",
        "batch",
        str(inputs),
        "--out",
        str(out),
        "--base-url",
        url,
        "--mode",
        "tools",
        "--concurrency",
        "6",
        "--no-brief",
        "-q",
    ]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _lines(path: Path) -> list[dict]:
    text = path.read_text(encoding="utf-8")
    assert text == "" or text.endswith("\n"), "no partial line at the end"
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(10))
def test_kill_at_a_random_point_then_resume(trial: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = random.Random(1000 + trial)
    inputs = tmp_path / "in"
    write_articles(inputs, N_ITEMS)
    out = tmp_path / "run"

    def slow(body: dict) -> object:
        return copying(body).after(0.03)

    with ScriptedServer(slow) as server:
        proc = _start(inputs, out, server.url)
        target = rng.randint(0, N_ITEMS - 5)
        deadline = time.monotonic() + 60
        while _done(out / "store.sqlite") < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.random() * 0.05)  # land somewhere inside a request or a commit, not only between items
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed_at = _done(out / "store.sqlite")

        with sqlite3.connect(out / "store.sqlite") as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

        code = cli(["batch", str(inputs), "--out", str(out), "--base-url", server.url, "--mode", "tools", "--concurrency", "6", "--no-brief", "-q"])
        capsys.readouterr()
        assert code == 0
        reports = _lines(out / "reports.jsonl")
        ids = [r["source"]["id"] for r in reports]
        assert len(ids) == N_ITEMS and len(set(ids)) == N_ITEMS, f"killed after {killed_at} items: lost or duplicated work"
        assert _lines(out / "errors.jsonl") == []
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["cached"] >= killed_at and summary["extracted"] + summary["cached"] == N_ITEMS

        before = len(server.requests)
        assert cli(["batch", str(inputs), "--out", str(out), "--base-url", server.url, "--mode", "tools", "--no-brief", "-q"]) == 0
        capsys.readouterr()
        assert len(server.requests) == before, "a third run makes no model call"
        assert not list(out.glob(".*.tmp")), "no temporary files left behind"
