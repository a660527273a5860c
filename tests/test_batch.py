"""Batch runs: stories, outputs, cache and resume, faults, budget, run log, rate limits."""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, copying, run
from record_cassettes import authored_responder
from scripted_server import Reply, ScriptedServer

from summarize.llm.ratelimit import Limiter, parse_duration


def write_articles(root: Path, n: int, *, stories: int = 1) -> list[Path]:
    paths = []
    for i in range(n):
        story = root / f"story-{i % stories}"
        story.mkdir(parents=True, exist_ok=True)
        path = story / f"item-{i:04d}.txt"
        path.write_text(
            f"title: Clashes in district {i}\noutlet: Test Wire\npublished: 2024-11-28\n\n"
            f"Officials in the town of Kerem-{i} said {i + 3} people were killed in clashes on Tuesday. "
            f"Rescue teams were still searching collapsed buildings in district {i} on Wednesday, a local council member said.\n",
            encoding="utf-8",
        )
        paths.append(path)
    return paths


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def batch(args: list[str], server: ScriptedServer, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code, _, err = run(["batch", *args, "--base-url", server.url, "--mode", "tools", "-q"], capsys)
    return code, err


def test_batch_of_two_stories_writes_every_output_and_reruns_with_zero_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    with ScriptedServer(authored_responder()) as server:
        code, err = batch([str(EXAMPLES / "aleppo"), str(EXAMPLES / "floods"), "--out", str(out), "--concurrency", "4"], server, capsys)
        assert code == 0, err
        first_calls = len(server.requests)
        assert first_calls == 9, "seven extractions and two briefings"
        reports = jsonl(out / "reports.jsonl")
        assert sorted((r["story"], r["source"]["id"]) for r in reports) == sorted(
            [("aleppo", s) for s in ("kurdish-desk", "monitor-digest", "regional-wire", "state-herald")]
            + [("floods", s) for s in ("national-wire-day2", "river-times-day2", "valley-courier-day1")]
        )
        assert (out / "errors.jsonl").read_text() == ""
        for story in ("aleppo", "floods"):
            assert "## Figures by scope" in (out / "briefings" / f"{story}.md").read_text(encoding="utf-8")
            assert json.loads((out / "briefings" / f"{story}.json").read_text(encoding="utf-8"))["headline"]
        summary = json.loads((out / "summary.json").read_text())
        assert (summary["items"], summary["extracted"], summary["briefings"], summary["model_calls"]) == (7, 7, 2, 9)
        assert summary["usage"]["total_tokens"] > 0 and summary["wall_seconds"] > 0

        code, err = batch([str(EXAMPLES / "aleppo"), str(EXAMPLES / "floods"), "--out", str(out)], server, capsys)
        assert code == 0
        assert len(server.requests) == first_calls, "a re-run of finished work makes no model call"
        again = json.loads((out / "summary.json").read_text())
        assert (again["cached"], again["briefings_cached"], again["model_calls"]) == (7, 2, 0)
        assert jsonl(out / "reports.jsonl") == reports


def test_manifest_stories_and_missing_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "manifest.jsonl"
    lines = [
        {"path": str(EXAMPLES / "floods" / "valley-courier-day1.txt"), "story": "Brask flood"},
        {"path": str(EXAMPLES / "floods" / "river-times-day2.txt"), "story": "Brask flood"},
        {"path": "missing/article.txt", "story": "Brask flood"},
        {"text": "Officials said 3 people were hurt when a bridge in the town collapsed on Monday evening.", "id": "bridge", "story": "bridge"},
    ]
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n{broken\n", encoding="utf-8")
    out = tmp_path / "run"

    def respond(body: dict[str, Any]) -> Reply:
        from record_cassettes import requested_schema

        return copying(body) if requested_schema(body) != "BriefDraft" else Reply.refusal("no")

    with ScriptedServer(respond) as server:
        code, _err = batch([str(manifest), "--out", str(out), "--no-brief"], server, capsys)
    assert code == 2, "input errors are reported in the exit code"
    stories = {r["source"]["id"]: r["story"] for r in jsonl(out / "reports.jsonl")}
    assert stories == {"valley-courier-day1": "brask-flood", "river-times-day2": "brask-flood", "bridge": "bridge"}
    errors = {e["item"].rsplit("/", 1)[-1]: e for e in jsonl(out / "errors.jsonl")}
    assert errors["manifest.jsonl:3"]["error"] == "not_found" and "missing/article.txt" in errors["manifest.jsonl:3"]["message"]
    assert errors["manifest.jsonl:5"]["error"] == "malformed_json"


def test_auto_grouping_finds_the_two_example_stories(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for p in [*(EXAMPLES / "aleppo").glob("*.txt"), *(EXAMPLES / "floods").glob("*.txt")]:
        (flat / p.name).write_bytes(p.read_bytes())
    # the Aleppo articles need the Syrian alias pack (SOHR's 80 HTS + 19 SNA are 99 opposition fighters); it travels with them
    (flat / "aliases.toml").write_bytes((EXAMPLES / "aleppo" / "aliases.toml").read_bytes())
    with ScriptedServer(authored_responder()) as server:
        code, err = batch([str(flat), "--out", str(tmp_path / "run"), "--group", "auto"], server, capsys)
    assert code == 0, err
    by_story: dict[str, set[str]] = {}
    for r in jsonl(tmp_path / "run" / "reports.jsonl"):
        by_story.setdefault(r["story"], set()).add(r["source"]["id"])
    assert sorted(map(sorted, by_story.values())) == [
        ["kurdish-desk", "monitor-digest", "regional-wire", "state-herald"],
        ["national-wire-day2", "river-times-day2", "valley-courier-day1"],
    ]


FAULTS = [
    Reply.rate_limited(0.01),
    Reply.rate_limited(None),
    Reply.status(500),
    Reply.status(503, "overloaded"),
    Reply.reset(),
    Reply.invalid_json(),
    Reply.truncated('{"events": [{"summ'),
    Reply.refusal(),
]


def faulty(share: float, seed: int = 7) -> Any:
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(body: dict[str, Any]) -> Reply:
        with lock:
            roll, pick = rng.random(), rng.choice(FAULTS)
        return pick if roll < share else copying(body)

    return respond


def test_two_hundred_items_with_thirty_percent_faults_account_for_every_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 200)
    out = tmp_path / "run"
    with ScriptedServer(faulty(0.3)) as server:
        code, _err = batch([str(tmp_path / "in"), "--out", str(out), "--concurrency", "16", "--no-brief"], server, capsys)
    reports = {r["source"]["id"] for r in jsonl(out / "reports.jsonl")}
    errors = jsonl(out / "errors.jsonl")
    failed = {Path(e["item"]).stem for e in errors}
    assert len(reports) + len(failed) == 200 and not reports & failed
    assert {e["error"] for e in errors} <= {"truncated", "refusal", "transport"}
    assert all(e["message"] and e["stage"] == "extract" for e in errors)
    assert code == (3 if errors else 0)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["extracted"] + summary["failed"] == 200 and summary["rate_limited"] > 0


def test_max_cost_stops_before_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 30)
    monkeypatch.setenv("SUMMARIZE_PRICE_INPUT", "1000")
    monkeypatch.setenv("SUMMARIZE_PRICE_OUTPUT", "1000")
    out = tmp_path / "run"
    with ScriptedServer(copying) as server:
        code, _ = batch([str(tmp_path / "in"), "--out", str(out), "--no-brief", "--max-cost", "10", "--concurrency", "2"], server, capsys)
    summary = json.loads((out / "summary.json").read_text())
    assert code == 1 and 0 < summary["extracted"] < 30
    assert summary["usage"]["cost_usd"] <= 10
    skipped = [e for e in jsonl(out / "errors.jsonl") if e["error"] == "budget"]
    assert len(skipped) == 30 - summary["extracted"] and "--max-cost" in skipped[0]["message"]
    assert len(server.requests) == summary["extracted"]


def test_max_cost_without_prices_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 2)
    with ScriptedServer(copying) as server:
        code, err = batch([str(tmp_path / "in"), "--out", str(tmp_path / "run"), "--max-cost", "1"], server, capsys)
    assert code == 2 and "SUMMARIZE_PRICE_INPUT" in err and not server.requests


def test_run_log_lists_every_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_articles(tmp_path / "in", 3)
    out = tmp_path / "run"
    with ScriptedServer(copying) as server:
        batch([str(tmp_path / "in"), "--out", str(out), "--no-brief"], server, capsys)
    code, text, _ = run(["logs", str(out), "--format", "jsonl"], capsys)
    calls = [json.loads(line) for line in text.splitlines()]
    assert code == 0 and len(calls) == 3
    assert {c["stage"] for c in calls} == {"extract"} and all(c["outcome"] == "ok" and c["prompt"] == "extract" for c in calls)
    assert all(len(c["prompt_sha"]) == 64 and c["prompt_tokens"] > 0 and c["latency_ms"] >= 0 for c in calls)
    code, table, _ = run(["logs", str(out)], capsys)
    assert "3 calls, 3 ok, 0 failed" in table
    code, csv_text, _ = run(["logs", str(out), "--format", "csv"], capsys)
    assert csv_text.splitlines()[0].startswith("run_id,time,stage,item")


def test_logs_of_a_directory_without_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["logs", str(tmp_path)], capsys)
    assert code == 2 and "no batch store" in err


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_limiter_paces_requests_per_minute() -> None:
    clock = FakeClock()
    limiter = Limiter(rpm=600, clock=clock, sleep=clock.sleep)
    for _ in range(110):
        limiter.acquire(10)
    # 600 rpm = 10/s, with one second of burst: 110 requests need about 10 seconds
    assert 9.5 <= clock.now - 100 <= 10.5


def test_limiter_paces_tokens_per_minute() -> None:
    clock = FakeClock()
    limiter = Limiter(tpm=60_000, clock=clock, sleep=clock.sleep)
    for _ in range(21):
        limiter.acquire(1000)
    assert 19 <= clock.now - 100 <= 21


def test_limiter_learns_limits_and_pauses_everyone_on_429() -> None:
    clock = FakeClock()
    limiter = Limiter(clock=clock, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-limit-requests": "1200", "x-ratelimit-remaining-requests": "1000", "x-ratelimit-reset-requests": "50ms"})
    assert limiter.rpm == pytest.approx(1200 * 0.95)
    assert limiter.rate_limited(2.0) == 2.0
    limiter.acquire(1)
    assert clock.now >= 102.0, "every worker waits out the Retry-After"
    limiter.observe({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"})
    before = clock.now
    limiter.acquire(1)
    assert clock.now - before >= 1.5


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1.0), ("20ms", 0.02), ("6m0s", 360.0), ("1h2m3.5s", 3723.5), ("2.5", 2.5), ("soon", None)])
def test_reset_header_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_a_newly_learned_limit_grants_no_burst() -> None:
    # the requests sent before the first headers arrived already spent the server's burst
    clock = FakeClock()
    limiter = Limiter(clock=clock, sleep=clock.sleep)
    limiter.observe({"x-ratelimit-limit-requests": "600"})
    start = clock.now
    for _ in range(10):
        limiter.acquire(1)
    assert clock.now - start >= 0.9 * 10 / (600 * 0.95 / 60) - 1 / (600 * 0.95 / 60)


def test_a_run_freezes_the_collector_and_switches_the_gil_sooner_only_while_it_runs(tmp_path: Path) -> None:
    """run_batch keeps the garbage collector off the objects that outlive it, and gives them back
    afterwards, also when the run stops with an exception."""
    import gc
    import sys

    from summarize.batch.runner import BatchOptions, run_batch
    from summarize.config import load_settings

    write_articles(tmp_path / "in", 3)
    frozen_during: list[int] = []

    switching: list[float] = []

    def respond(body: dict[str, Any]) -> Reply:
        frozen_during.append(gc.get_freeze_count())
        switching.append(sys.getswitchinterval())
        return copying(body)

    with ScriptedServer(respond) as server:
        settings = load_settings({"base_url": server.url, "mode": "tools"}, env={})
        result = run_batch([str(tmp_path / "in")], settings, BatchOptions(out=tmp_path / "out", brief=False))
        assert result.extracted == 3
        assert frozen_during and min(frozen_during) > 0, "objects alive at the start are frozen during the run"
        assert gc.get_freeze_count() == 0
        # the GIL is handed over every 0.5 ms while it runs (a thread with an answer in waits less), then put back
        assert set(switching) == {0.0005} and sys.getswitchinterval() == 0.005

        def stop(kind: str, item: str, details: dict[str, Any]) -> None:
            raise KeyboardInterrupt

        write_articles(tmp_path / "more", 2)
        with pytest.raises(KeyboardInterrupt):
            run_batch([str(tmp_path / "more")], settings, BatchOptions(out=tmp_path / "out2", brief=False), on_event=stop)
        assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == 0.005

        gc.freeze()  # a caller's own freeze survives the run
        try:
            before = gc.get_freeze_count()
            run_batch([str(tmp_path / "in")], settings, BatchOptions(out=tmp_path / "out3", brief=False))
            # still frozen (objects freed by reference counting during the run leave the count a little lower)
            assert gc.get_freeze_count() > 0.9 * before
        finally:
            gc.unfreeze()


def test_chat_requests_go_out_as_json_with_the_sdk_body(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bodies are serialised by us and posted as bytes: the endpoint must still see a JSON request
    carrying what instructor built (model, messages, the forced tool)."""
    write_articles(tmp_path / "in", 1)
    with ScriptedServer(copying) as server:
        code, err = batch([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--no-brief"], server, capsys)
        assert code == 0, err
        (request,) = server.requests
    assert request.headers["content-type"] == "application/json"
    assert request.body["model"] and request.body["messages"][-1]["role"] == "user"
    assert request.body["tools"][0]["function"]["name"] == "ExtractionDraft"
    assert request.body["tool_choice"]["function"]["name"] == "ExtractionDraft"


def test_a_batch_reads_its_inputs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """The progress bar's count and the run share one collection: every file is read once per run."""
    from summarize.batch import inputs, runner

    write_articles(tmp_path / "in", 3)
    calls: list[tuple[str, ...]] = []
    real = inputs.collect

    def counting(given: Any, **kwargs: Any) -> Any:
        calls.append(tuple(given))
        return real(given, **kwargs)

    monkeypatch.setattr(inputs, "collect", counting)
    monkeypatch.setattr(runner, "collect", counting)
    with ScriptedServer(copying) as server:
        code, _ = batch([str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--no-brief", "--mode", "tools"], server, capsys)
    assert code == 0
    assert len(calls) == 1


def test_a_429_teaches_the_limit_its_headers_give_without_trimming_it() -> None:
    # The first wave goes out before any answer could name the limit; its 429s are the first word from the server.
    clock = FakeClock()
    limiter = Limiter(clock=clock, sleep=clock.sleep)
    headers = {"x-ratelimit-limit-tokens": "60000", "x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "1s"}
    for _ in range(4):  # a wave of four 429s arriving together
        limiter.rate_limited(0.1, headers)
    assert limiter.tpm == pytest.approx(60000 * 0.95), "learned from the 429, and not trimmed for having been exceeded before it was known"
    start = clock.now
    for _ in range(10):
        limiter.acquire(1000)
    assert clock.now - start >= 9 * 1000 / (60000 * 0.95 / 60) * 0.9, "the retries are paced by what was learned"
    clock.now += 2.0
    limiter.rate_limited(0.1, headers)  # a 429 well after the limit was known: the learned pace was too optimistic
    assert limiter.tpm == pytest.approx(60000 * 0.95 * 0.9)
