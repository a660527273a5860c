"""Batch extraction in worker processes (``--workers``): the same results, one store, shared limits, failures by item."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from helpers import copying
from scripted_server import Reply, ScriptedServer, fenced_sources
from test_batch import jsonl, write_articles

from summarize.batch.runner import BatchOptions, run_batch
from summarize.batch.stop import Stop
from summarize.batch.workers import AUTO_MIN_ITEMS, default_workers, shares, switch_interval
from summarize.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def settings(url: str | None) -> Any:
    return load_settings({"base_url": url, "mode": "tools"}, env={})


def facts(out: Path) -> dict[str, Any]:
    """What a reader of reports.jsonl sees, minus the run's own timing."""
    rows = {}
    for r in jsonl(out / "reports.jsonl"):
        rows[r["source"]["id"]] = (r["story"], [c["passed"] for c in r["checks"]], [f["value"] for f in r["figures"]], [c["text"] for c in r["claims"]])
    return rows


def test_two_worker_processes_store_what_one_process_does(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 40, stories=3)
    with ScriptedServer(copying) as server:
        one = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "one", concurrency=4, brief=False, workers=1))
        two = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "two", concurrency=4, brief=False, workers=2))
        assert len(server.requests) == 80
    assert (one.worker_processes, two.worker_processes) == (1, 2)
    assert (two.extracted, two.failed, two.partial, two.calls) == (40, 0, 0, 40), "every call is in the run log, from both children"
    assert facts(tmp_path / "two") == facts(tmp_path / "one") and len(facts(tmp_path / "one")) == 40
    assert json.loads((tmp_path / "two" / "summary.json").read_text())["worker_processes"] == 2


def test_a_rerun_of_stored_work_starts_no_worker_and_needs_no_endpoint(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 12)
    with ScriptedServer(copying) as server:  # an OpenAI run, with its key...
        keyed = load_settings({"base_url": server.url, "profile": "openai", "mode": "tools"}, env={"OPENAI_API_KEY": "sk-test-not-a-real-key"})
        run_batch([str(tmp_path / "in")], keyed, BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    keyless = load_settings({"profile": "openai", "mode": "tools"}, env={})  # ...then the same command in a shell with no key
    again = run_batch([str(tmp_path / "in")], keyless, BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    assert (again.cached, again.extracted, again.calls, again.worker_processes, again.exit_code) == (12, 0, 0, 1, 0)


def test_the_worker_processes_start_before_the_inputs_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """They warm up (imports, the CA bundle, the tool schema) on the other cores while this process reads the articles."""
    import multiprocessing

    import summarize.batch.runner as runner

    seen: list[int] = []

    def collecting(*args: Any, **kwargs: Any) -> Any:
        seen.append(len(multiprocessing.active_children()))
        return real(*args, **kwargs)

    real = runner.collect
    monkeypatch.setattr(runner, "collect", collecting)
    write_articles(tmp_path / "in", 12)
    with ScriptedServer(copying) as server:
        result = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    assert seen == [2], "both children were running while the inputs were read"
    assert (result.extracted, result.failed, result.worker_processes) == (12, 0, 2)
    assert multiprocessing.active_children() == []


def test_the_outputs_are_written_while_the_children_exit_and_they_are_joined_after(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once every answer is in, the children are told there is no more work and exit on their own (each joins its
    threads and closes its clients) while this process writes the outputs; run_batch joins them before it returns."""
    import multiprocessing

    import summarize.batch.runner as runner

    seen: list[bool] = []
    real = runner.finish

    def finishing(out: Path, store: Any, run: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(run.workers is not None and run.workers.released and not run.workers._closing)
        real(out, store, run, *args, **kwargs)

    monkeypatch.setattr(runner, "finish", finishing)
    write_articles(tmp_path / "in", 12)
    with ScriptedServer(copying) as server:
        result = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    assert seen == [True], "released, not yet joined, while the outputs were written"
    assert (result.extracted, result.worker_processes) == (12, 2) and len(jsonl(tmp_path / "out" / "reports.jsonl")) == 12
    assert multiprocessing.active_children() == [], "joined before run_batch returned"


def test_the_cli_starts_its_worker_processes_before_it_reads_the_inputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import multiprocessing

    from test_batch import batch

    import summarize.batch.inputs as inputs

    seen: list[int] = []
    real = inputs.collect

    def collecting(*args: Any, **kwargs: Any) -> Any:
        seen.append(len(multiprocessing.active_children()))
        return real(*args, **kwargs)

    monkeypatch.setattr(inputs, "collect", collecting)
    write_articles(tmp_path / "in", 8)
    with ScriptedServer(copying) as server:
        code, err = batch([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--concurrency", "4", "--workers", "2", "--no-brief"], server, capsys)
    assert code == 0, err
    assert seen == [2], "the CLI reads its inputs itself (for the progress total): the children warm up meanwhile"
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["worker_processes"] == 2
    assert multiprocessing.active_children() == []


def test_a_childs_warm_up_sends_nothing() -> None:
    from summarize.llm.client import prewarm
    from summarize.models.draft import ExtractionDraft

    with ScriptedServer(copying) as server:
        prewarm(settings(server.url), ExtractionDraft)
        assert server.requests == [], "warming up builds a request and sends none"


def test_early_workers_a_run_does_not_need_are_killed_unused(tmp_path: Path) -> None:
    """A re-run that finds everything stored, and a small run left to the default, extract in this process: the
    children started before the inputs were read get no work, are killed at once, and do not count as used."""
    import multiprocessing

    write_articles(tmp_path / "in", 6)
    with ScriptedServer(copying) as server:
        first = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=4, brief=False))
        assert multiprocessing.active_children() == []
        started = time.perf_counter()
        again = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
        took = time.perf_counter() - started
        assert len(server.requests) == 6
    assert (first.extracted, first.worker_processes) == (6, 1), "fewer items than AUTO_MIN_ITEMS: one process by default"
    assert (again.cached, again.calls, again.worker_processes) == (6, 0, 1)
    assert multiprocessing.active_children() == []
    assert took < 5, f"the re-run waited {took:.1f}s for children it did not use"


def test_a_new_item_with_no_endpoint_is_one_clear_error(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 3)
    from summarize.errors import ConfigError

    with pytest.raises(ConfigError, match="no model endpoint configured"):
        run_batch([str(tmp_path / "in")], settings(None), BatchOptions(out=tmp_path / "out", concurrency=2, brief=False, workers=2))


def test_errors_in_children_keep_their_kind_message_and_item(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 20)

    def respond(body: dict[str, Any]) -> Reply:
        (source_id, _), *_ = fenced_sources(body)
        if source_id in ("item-0003", "item-0011"):
            return Reply.refusal("I can't help with that.")
        return copying(body)

    with ScriptedServer(respond) as server:
        result = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    errors = {Path(e["item"]).stem: e for e in jsonl(tmp_path / "out" / "errors.jsonl")}
    assert set(errors) == {"item-0003", "item-0011"}
    assert {e["error"] for e in errors.values()} == {"refusal"} and all("can't help" in e["message"] for e in errors.values())
    assert (result.extracted, result.failed, result.exit_code) == (18, 2, 3)


def test_a_killed_worker_fails_only_the_items_it_held_and_a_rerun_finishes_them(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 30)
    killed: list[int] = []

    def respond(body: dict[str, Any]) -> Reply:
        (source_id, _), *_ = fenced_sources(body)
        if source_id == "item-0005" and not killed:
            import multiprocessing

            victim = next(p for p in multiprocessing.active_children() if p.name.startswith("summarize-worker"))
            killed.append(victim.pid or 0)
            os.kill(victim.pid or 0, signal.SIGKILL)
            time.sleep(0.3)  # its connection dies with it; the answer never arrives
        return copying(body)

    out = tmp_path / "out"
    with ScriptedServer(respond) as server:
        first = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=out, concurrency=4, brief=False, workers=2))
        assert killed and first.failed >= 1 and first.extracted + first.failed == 30
        errors = jsonl(out / "errors.jsonl")
        assert all(e["error"] == "internal" and f"pid {killed[0]}" in e["message"] and "SIGKILL" in e["message"] for e in errors)
        again = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=out, concurrency=4, brief=False, workers=2))
    assert (again.cached, again.extracted, again.failed) == (first.extracted, first.failed, 0)
    assert len(jsonl(out / "reports.jsonl")) == 30 and jsonl(out / "errors.jsonl") == []


def test_a_stop_lets_children_finish_what_is_out_and_leaves_the_rest_for_the_next_run(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 40)
    stop = Stop()
    done: list[str] = []

    def on_event(kind: str, item: str, details: dict[str, Any]) -> None:
        if kind == "done":
            done.append(item)
            if len(done) == 6:
                threading.Thread(target=stop.request, args=(signal.SIGTERM,)).start()

    def slow(body: dict[str, Any]) -> Reply:
        time.sleep(0.05)
        return copying(body)

    out = tmp_path / "out"
    with ScriptedServer(slow) as server:
        first = run_batch(
            [str(tmp_path / "in")], settings(server.url), BatchOptions(out=out, concurrency=4, brief=False, workers=2), on_event=on_event, stop=stop
        )
        sent = len(server.requests)
        assert first.stopped_by == "SIGTERM" and first.exit_code == 143
        assert first.extracted == sent, "every request that went out was stored"
        assert first.extracted + first.not_started == 40 and first.not_started > 0 and first.failed == 0
        again = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=out, concurrency=4, brief=False, workers=2))
    assert (again.cached, again.extracted) == (first.extracted, 40 - first.extracted)


def test_given_rpm_is_split_between_children_so_the_total_stays_under_it(tmp_path: Path) -> None:
    write_articles(tmp_path / "in", 60)
    stamps: list[float] = []

    def timed(body: dict[str, Any]) -> Reply:
        stamps.append(time.perf_counter())
        return copying(body)

    with ScriptedServer(timed) as server:
        started = time.perf_counter()
        result = run_batch([str(tmp_path / "in")], settings(server.url), BatchOptions(out=tmp_path / "out", concurrency=8, brief=False, workers=2, rpm=1200))
        wall = time.perf_counter() - started
    stamps.sort()
    assert result.extracted == 60 and result.worker_processes == 2
    # 1,200 a minute is 20 a second, with a one-second burst: 60 requests take at least ~2 s, not the 0.2 s 8 in flight could do
    assert wall >= 1.8, f"60 requests in {wall:.2f}s: the children did not share the limit"
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert busiest <= 2 * 20 + 2, f"{busiest} requests in one second against 20/s plus a one-second burst"


def test_default_workers_follow_the_cpus_for_big_runs_only() -> None:
    assert default_workers(AUTO_MIN_ITEMS - 1, 16) == 1
    assert 1 <= default_workers(AUTO_MIN_ITEMS, 16) <= (os.cpu_count() or 1)
    assert default_workers(10_000, 1) == 1, "never more processes than requests in flight"
    assert shares(64, 3) == [22, 21, 21] and sum(shares(7, 2)) == 7


def test_worker_processes_hand_the_gil_over_sooner_than_python_does() -> None:
    """A thread with an answer in, or a free slot, waits for the GIL behind the one grounding: at most 1 ms, not 5."""
    assert sys.getswitchinterval() == 0.005
    assert switch_interval(8) == 0.0005 and switch_interval(16) == 0.0005
    assert switch_interval(17) == switch_interval(128) == 0.001


def test_a_cassette_replay_stays_in_one_process(tmp_path: Path) -> None:
    from helpers import CASSETTES, EXAMPLES

    replay = load_settings({"replay": CASSETTES / "aleppo-extract.yaml"}, env={})
    result = run_batch([str(EXAMPLES / "aleppo")], replay, BatchOptions(out=tmp_path / "out", concurrency=4, brief=False, workers=2))
    assert (result.extracted, result.failed, result.worker_processes) == (4, 0, 1)


def test_forked_workers_from_a_single_threaded_cli_process(tmp_path: Path) -> None:
    """The CLI's case: no other thread, so children are forked; the same results as in-process."""
    write_articles(tmp_path / "in", 70)
    with ScriptedServer(copying) as server:
        code = (
            "import sys, threading; from summarize.batch.runner import BatchOptions, run_batch; from summarize.config import load_settings;"
            "from pathlib import Path; assert threading.active_count() == 1;"
            f"r = run_batch([{str(tmp_path / 'in')!r}], load_settings({{'base_url': {server.url!r}, 'mode': 'tools'}}, env={{}}),"
            f" BatchOptions(out=Path({str(tmp_path / 'out')!r}), concurrency=6, brief=False));"
            "print(r.worker_processes, r.extracted, r.failed)"
        )
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    processes, extracted, failed = map(int, proc.stdout.split())
    assert (extracted, failed) == (70, 0) and processes == min(os.cpu_count() or 1, 6)
