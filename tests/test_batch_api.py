"""OpenAI Batch API: request lines are the synchronous requests; submit, status and collect against a
Files + Batches server, recorded and replayed from cassettes; answers that errored, were fabricated,
refused, truncated or missing are asked again synchronously; vLLM's results file is read as it is."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from batch_server import BatchServer, answer_each
from conftest import FAKE_KEY
from helpers import EXAMPLES, FABRICATED, copying, run
from record_cassettes import authored_responder, load_answers, requested_schema
from scripted_server import Reply, ScriptedServer, _completion, fenced_sources

from summarize.batch.batch_api import read_state

STORIES = [str(EXAMPLES / "aleppo"), str(EXAMPLES / "floods")]
MODEL = ["--model", "gpt-4o-mini"]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def batch_answers() -> Any:
    """The authored answers, except one fabricated quote (state-herald) and one failed request (kurdish-desk)."""
    answers = load_answers()

    def pick(source_id: str) -> Reply | None:
        if source_id == "kurdish-desk":
            return Reply.status(500, "The server had an error processing your request.")
        if source_id == "state-herald":
            answer = json.loads(json.dumps(answers["state-herald"]))
            answer["figures"].append({**answer["figures"][0], "id": "f99", "value": 10000, "quote": FABRICATED})
            return Reply.answer(answer)
        return None

    return answer_each(pick, authored_responder())


def outputs(out: Path) -> dict[str, Any]:
    """reports, errors and briefings, without what differs from run to run (time, endpoint host)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in ("created_at", "endpoint")}
        return [clean(v) for v in value] if isinstance(value, list) else value

    briefings = {p.name: clean(json.loads(p.read_text(encoding="utf-8"))) for p in sorted((out / "briefings").glob("*.json"))}
    return {"reports": clean(jsonl(out / "reports.jsonl")), "errors": jsonl(out / "errors.jsonl"), "briefings": briefings}


def record_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, BatchServer, list[str]]:
    """submit, status, collect against a BatchServer, each recorded into its own cassette."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    out, tapes = tmp_path / "api", tmp_path / "cassettes"
    said = []
    with BatchServer(batch_answers(), authored_responder()) as server:
        endpoint = ["--base-url", server.url, "--profile", "openai", *MODEL]
        for step, args in (("submit", [*STORIES, "--out", str(out), "--batch-api"]), ("status", ["status", str(out)]), ("collect", ["collect", str(out)])):
            code, stdout, err = run(["batch", *args, *endpoint, "-q", "--record", str(tapes / f"{step}.yaml")], capsys)
            assert code == 0, err
            said.append(stdout + err)
    return out, tapes, server, said


def test_submit_status_collect_asks_again_what_failed_and_matches_a_synchronous_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _, server, (submitted, status, collected) = record_batch(tmp_path, capsys, monkeypatch)
    lines = jsonl(out / "batch_requests.jsonl")
    assert len(lines) == 7 and len({x["custom_id"] for x in lines}) == 7
    assert all(set(x) == {"custom_id", "method", "url", "body"} and (x["method"], x["url"]) == ("POST", "/v1/chat/completions") for x in lines)
    uploaded = next(data for obj, data in server.files.values() if obj["purpose"] == "batch")
    assert uploaded == (out / "batch_requests.jsonl").read_bytes()
    assert server.routes[:2] == ["POST /v1/files", "POST /v1/batches"] and "batch batch_" in submitted
    assert "in_progress; 0 of 7 requests completed" in status
    assert sum(r.endswith("/content") for r in server.routes) == 2, "the output file and the error file"
    # the two answers that did not pass went back synchronously, then one briefing per story
    asked = sorted(fenced_sources(b)[0][0] for b in server.chat_bodies if requested_schema(b) == "ExtractionDraft")
    assert asked == ["kurdish-desk", "state-herald"]
    assert sum(requested_schema(b) == "BriefDraft" for b in server.chat_bodies) == 2
    assert "7 extracted (2 asked again synchronously)" in collected
    why = {Path(k).stem: v for k, v in read_state(out)["collected"]["asked_again"].items()}
    assert "figure f99: quote not found in the article" in why["state-herald"] and why["kurdish-desk"].startswith("the batch request failed (HTTP 500)")
    reports = {r["source"]["id"]: r for r in jsonl(out / "reports.jsonl")}
    assert len(reports) == 7 and (out / "errors.jsonl").read_text() == ""
    herald = reports["state-herald"]
    assert FABRICATED not in json.dumps(herald) and not herald["dropped"] and all(c["passed"] for c in herald["checks"])
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["items"], summary["extracted"], summary["cached"], summary["failed"], summary["briefings"]) == (7, 7, 0, 0, 2)
    state = read_state(out)
    assert state["batch_id"].startswith("batch_") and state["collected"]["from_batch"] == 5 and state["status"]["status"] == "completed"

    # an ordinary synchronous batch sends the same bodies and ends with the same outputs
    with ScriptedServer(authored_responder()) as sync:
        code, _, err = run(["batch", *STORIES, "--out", str(tmp_path / "sync"), "--base-url", sync.url, "--profile", "openai", *MODEL, "-q"], capsys)
        assert code == 0, err
    sent = {fenced_sources(r.body)[0][0]: r.body for r in sync.requests if r.body and requested_schema(r.body) == "ExtractionDraft"}
    assert {fenced_sources(x["body"])[0][0]: x["body"] for x in lines} == sent
    assert outputs(out) == outputs(tmp_path / "sync")


def test_the_recorded_batch_replays_offline_to_the_same_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out, tapes, _, _ = record_batch(tmp_path, capsys, monkeypatch)
    monkeypatch.delenv("OPENAI_API_KEY")
    for tape in tapes.iterdir():
        text = tape.read_text(encoding="utf-8")
        assert FAKE_KEY not in text and "authorization" not in text.lower()
    upload = yaml.safe_load((tapes / "submit.yaml").read_text(encoding="utf-8"))["interactions"][0]
    assert upload["request"]["uri"].endswith("/v1/files")
    assert upload["request"]["headers"]["content-type"] == ["multipart/form-data; boundary=summarize-batch-upload-6f1d2c"]
    again = tmp_path / "replayed"
    submit = [*STORIES, "--out", str(again), "--batch-api", "--profile", "openai", *MODEL]
    for step, args in (("submit", submit), ("status", ["status", str(again)]), ("collect", ["collect", str(again)])):
        code, _, err = run(["batch", *args, "-q", "--replay", str(tapes / f"{step}.yaml")], capsys)
        assert code == 0, err
        assert "were not used" not in err
    assert outputs(again) == outputs(out)
    assert (again / "batch_requests.jsonl").read_bytes() == (out / "batch_requests.jsonl").read_bytes()


@pytest.mark.parametrize("flags", [["--mode", "tools"], ["--profile", "openai"], ["--profile", "openai", "--mode", "tools"], ["--mode", "json"]], ids=" ".join)
def test_request_lines_are_the_bodies_the_synchronous_path_sends(
    flags: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    story = str(EXAMPLES / "aleppo")
    with ScriptedServer(copying) as server:
        endpoint = ["--base-url", server.url, *flags, *MODEL, "-q"]
        code, _, err = run(["batch", story, "--out", str(tmp_path / "api"), "--batch-api", "--no-upload", *endpoint], capsys)
        assert code == 0, err
        assert server.requests == [], "--no-upload sends nothing"
        code, _, err = run(["extract", story, *endpoint, "-o", str(tmp_path / "x.json")], capsys)
        assert code == 0, err
    sent = {fenced_sources(r.body)[0][0]: r.body for r in server.requests if r.body}
    assert {fenced_sources(x["body"])[0][0]: x["body"] for x in jsonl(tmp_path / "api" / "batch_requests.jsonl")} == sent


def vllm_line(request: dict[str, Any], reply: Reply | None, n: int) -> dict[str, Any]:
    """A line as vLLM's run_batch writes it: ids vllm-..., every outcome in the one output file."""
    ids = {"id": f"vllm-{n:032x}", "custom_id": request["custom_id"]}
    if reply is None:
        return {**ids, "response": {"status_code": 400, "request_id": f"vllm-batch-{n:032x}", "body": None}, "error": "prompt is too long for the model"}
    return {**ids, "response": {"status_code": 200, "request_id": f"vllm-batch-{n:032x}", "body": _completion(reply, request["body"], n)}, "error": None}


def test_vllm_results_file_is_checked_and_the_rest_asked_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    # regional-wire (2,070 characters) needs two calls; the next longest (2,012) needs one
    code, _, err = run(["batch", *STORIES, "--out", str(out), "--batch-api", "--no-upload", "--profile", "vllm", "--chunk-chars", "2040", "--no-brief"], capsys)
    assert code == 0, err
    assert "1 long article(s) will be sent synchronously" in err
    requests = jsonl(out / "batch_requests.jsonl")
    by_source = {fenced_sources(r["body"])[0][0]: r for r in requests}
    assert len(requests) == 6 and "regional-wire" not in by_source
    assert "response_format" in requests[0]["body"] and "strict" not in requests[0]["body"]["response_format"]["json_schema"]
    code, stdout, _ = run(["batch", "status", str(out)], capsys)
    assert stdout.startswith("not uploaded: 6 requests in")
    code, _, err = run(["batch", "collect", str(out)], capsys)
    assert code == 2 and "were not uploaded" in err

    answers: dict[str, Any] = load_answers()
    faults = {"state-herald": Reply.refusal(), "kurdish-desk": Reply.truncated('{"events": ['), "river-times-day2": None}
    results = [vllm_line(r, faults[s] if s in faults else Reply.answer(answers[s]), n) for n, (s, r) in enumerate(by_source.items()) if s != "monitor-digest"]
    (tmp_path / "results.jsonl").write_text("".join(json.dumps(x) + "\n" for x in results), encoding="utf-8")
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["batch", "collect", str(out), "--results", str(tmp_path / "results.jsonl"), "--base-url", server.url, "--profile", "vllm"], capsys)
    assert code == 0, err
    asked = sorted(fenced_sources(r.body)[0][0] for r in server.requests if r.body)
    assert asked == ["kurdish-desk", "monitor-digest", "regional-wire", "regional-wire", "river-times-day2", "state-herald"]
    reasons = {
        "state-herald": "the model refused", "kurdish-desk": "cut off at the token limit", "river-times-day2": "HTTP 400.*prompt is too long",
        "monitor-digest": "no answer in the batch results", "regional-wire": "longer than --chunk-chars",
    }
    for source, why in reasons.items():
        assert re.search(rf"{source}\.txt: asked again synchronously: .*{why}", err), source
    reports = {r["source"]["id"]: r for r in jsonl(out / "reports.jsonl")}
    assert len(reports) == 7 and reports["regional-wire"]["chunks"] == 2 and not (out / "briefings").exists()
    calls = json.loads((out / "summary.json").read_text())
    assert calls["extracted"] == 7 and calls["model_calls"] == 5 + 6, "five answers read from the file, six synchronous requests"


def test_collect_waits_for_the_batch_and_finished_work_is_not_sent_again(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    floods = str(EXAMPLES / "floods")
    with BatchServer(authored_responder(), authored_responder(), polls_before_done=2) as server:
        endpoint = ["--base-url", server.url, "--mode", "tools", "--no-brief", "-q"]
        assert run(["batch", floods, "--out", str(out), *endpoint, "--batch-api"], capsys)[0] == 0
        code, _, err = run(["batch", floods, "--out", str(out), *endpoint, "--batch-api"], capsys)
        assert code == 2 and "is not collected yet" in err
        code, _, err = run(["batch", "collect", str(out), *endpoint], capsys)
        assert code == 2 and "is in_progress (0 of 3 requests done): nothing to collect yet" in err
        code, _, err = run(["batch", "collect", str(out), *endpoint, "--wait", "--poll-interval", "0"], capsys)
        assert code == 0, err
        assert server.chat_bodies == [] and len(jsonl(out / "reports.jsonl")) == 3
        # every article is done now: a new submission sends nothing and uploads nothing
        routes = len(server.routes)
        code, _, err = run(["batch", floods, str(EXAMPLES / "aleppo" / "state-herald.txt"), "--out", str(out), *endpoint, "--batch-api"], capsys)
        assert code == 0, err
        assert len(jsonl(out / "batch_requests.jsonl")) == 1 and server.routes[routes:] == ["POST /v1/files", "POST /v1/batches"]
        assert [e["sent"] for e in read_state(out)["items"].values()].count("done") == 3


def test_batch_api_flags_are_refused_where_they_mean_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["batch", str(EXAMPLES / "floods"), "--out", str(tmp_path / "o"), "--results", "x.jsonl", "--mode", "tools"], capsys)
    assert code == 2 and "--results and --wait with `summarize batch collect DIR`" in err
    code, _, err = run(["batch", "status", str(tmp_path / "nowhere")], capsys)
    assert code == 2 and "no batch store in" in err
    code, _, err = run(["batch", "-", "--out", str(tmp_path / "o"), "--batch-api", "--no-upload"], capsys)
    assert code == 2 and "standard input (-) cannot be read twice" in err
