"""Fault matrix: each way an OpenAI-compatible endpoint can fail, scripted, run through the real CLI.

Every row of ``FAULTS`` states what the tool does about one fault (retry with backoff, re-ask
the model, or fail the item with an error that names it), how many HTTP requests and model
answers that took, and whose tokens are counted. The tests hold the tool to each row, and
``matrix_markdown()`` prints the rows as the README's table (``python tests/test_faults.py``).

Token counts are checked three ways: the server's own count of what it served, the tool's run
log (one record per HTTP request, what ``summarize logs`` shows for batches) and, when the item
succeeds, the report's provenance.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, copying, run_json
from scripted_server import Reply, ScriptedServer, _usage, fenced_sources, sequence_then

from summarize import api, config
from summarize.config import Settings, load_settings
from summarize.llm.client import LLM, CallRecord

ARTICLE = EXAMPLES / "floods" / "river-times-day2.txt"
BUDGET = 5  # requests per call: the first plus Settings.transport_retries (4)
REASKS = 2  # Settings.max_reasks: three answers in all
SCHEMA_INVALID = Reply.answer({"events": []})  # valid JSON, but figures, claims and actors are missing


@dataclass(frozen=True)
class Fault:
    name: str
    script: tuple[Reply, ...]  # served first; every later request gets a good answer
    behaviour: str
    requests: int  # HTTP requests sent
    attempts: int  # model answers received
    tokens: str  # whose tokens are counted
    error: str | None = None  # the failed item's error kind; None: the item is extracted
    message: str = ""  # in the error message
    waits: float = 0.0  # the run lasts at least this long
    timeout: float | None = None


FAULTS: list[Fault] = [
    Fault("429 with Retry-After", (Reply.rate_limited(0.3),), "retried after waiting what Retry-After asks (0.3 s here)", 2, 1, "the good answer", waits=0.3),
    Fault("429 without Retry-After", (Reply.rate_limited(None),), "retried after exponential backoff with jitter", 2, 1, "the good answer"),
    Fault("500", (Reply.status(500),), "retried after backoff", 2, 1, "the good answer"),
    Fault("503", (Reply.status(503, "overloaded"),), "retried after backoff", 2, 1, "the good answer"),
    Fault("connection reset", (Reply.reset(),), "retried after backoff", 2, 1, "the good answer"),
    Fault(
        "timeout",
        (Reply.status(503).after(2),),
        "the request is abandoned at --timeout (0.5 s here), then retried",
        2,
        1,
        "the good answer",
        waits=0.5,
        timeout=0.5,
    ),
    Fault(
        "answer trickling one byte at a time",
        (Reply.answer({"events": []}).trickled(0.2, at_most=6.0),),
        "cut off at the --timeout deadline (1 s here), which covers the whole answer, then retried",
        2,
        1,
        "the good answer",
        waits=1.0,
        timeout=1.0,
    ),
    Fault("invalid JSON body", (Reply.invalid_json(),), "retried as a transport error (a garbled body is the gateway's fault)", 2, 1, "the good answer"),
    Fault("HTML error page (502)", (Reply.html_error(502),), "retried as a 5xx", 2, 1, "the good answer"),
    Fault("HTML page with 200", (Reply.html_error(200),), "retried as a body that is not JSON (a proxy or login page)", 2, 1, "the good answer"),
    Fault("schema-invalid JSON, then valid", (SCHEMA_INVALID,), "re-asked with the validation error; the fixed answer is kept", 2, 2, "both answers"),
    Fault(
        "prose instead of JSON, then valid",
        (Reply.text("Here are the facts you asked for: seven people died."),),
        "re-asked; the fixed answer is kept",
        2,
        2,
        "both answers",
    ),
    Fault(
        "schema-invalid JSON every time",
        (SCHEMA_INVALID,) * (REASKS + 1),
        "re-asked up to --max-reasks (2), then the item fails",
        REASKS + 1,
        REASKS + 1,
        "all three answers",
        error="invalid_output",
        message="did not fit the schema after 3 attempt(s)",
    ),
    Fault(
        "truncated (finish_reason=length)",
        (Reply.truncated('{"events": [{"summ'),),
        "fails at once, never re-asked",
        1,
        1,
        "the cut-off answer",
        "truncated",
        "cut off at the token limit",
    ),
    Fault(
        "refusal",
        (Reply.refusal("I can't help with that."),),
        "fails at once, never re-asked",
        1,
        1,
        "the refusal",
        "refusal",
        "the model refused: I can't help with that.",
    ),
    Fault(
        "content filter (finish_reason=content_filter)",
        (Reply.content_filter('{"events": [{"summ'),),
        "a refusal: fails at once, never re-asked",
        1,
        1,
        "the filtered answer",
        "refusal",
        "the endpoint's content filter stopped the answer (finish_reason=content_filter)",
    ),
    Fault(
        "context length exceeded (400)",
        (
            Reply.status(
                400,
                "This model's maximum context length is 8192 tokens. However, you requested 10846 tokens (10830 in the messages, 16 in the completion).",
                err_type="invalid_request_error",
                code_str="context_length_exceeded",
            ),
        ),
        "fails at once with its own error naming --chunk-chars; never retried or re-asked",
        1,
        0,
        "none (no answer)",
        "context_length",
        "longer than the model's context window, so it was sent once and not retried",
    ),
    Fault(
        "context length in words only (llama.cpp, vLLM)",
        (Reply.status(400, "the request exceeds the available context size (8192 tokens)", err_type="invalid_request_error"),),
        "the same: recognised by its wording when the server sends no code",
        1,
        0,
        "none (no answer)",
        "context_length",
        "lower --chunk-chars (now 12000)",
    ),
    Fault(
        "empty choices",
        (Reply.empty_choices(),),
        "fails at once, never re-asked",
        1,
        1,
        "the empty answer",
        "invalid_output",
        "the endpoint answered with no choices",
    ),
    Fault(
        "429 past the retry budget",
        (Reply.rate_limited(0.01),) * BUDGET,
        "fails after 5 requests",
        BUDGET,
        0,
        "none (no answer)",
        "transport",
        "HTTP 429 from the endpoint after 5 request(s): Rate limit reached",
    ),
    Fault(
        "500 past the retry budget",
        (Reply.status(500),) * BUDGET,
        "fails after 5 requests",
        BUDGET,
        0,
        "none (no answer)",
        "transport",
        "HTTP 500 from the endpoint after 5 request(s)",
    ),
    Fault(
        "HTML 502 past the retry budget",
        (Reply.html_error(502),) * BUDGET,
        "fails after 5 requests",
        BUDGET,
        0,
        "none (no answer)",
        "transport",
        "HTTP 502 from the endpoint after 5 request(s): an HTML page titled '502 Bad Gateway'",
    ),
    Fault(
        "resets past the retry budget",
        (Reply.reset(),) * BUDGET,
        "fails after 5 requests",
        BUDGET,
        0,
        "none (no answer)",
        "transport",
        "APIConnectionError after 5 request(s)",
    ),
    Fault(
        "401 key rejected",
        (Reply.status(401, "Incorrect API key provided.", err_type="invalid_request_error", code_str="invalid_api_key"),),
        "fails at once, not retried",
        1,
        0,
        "none (no answer)",
        "transport",
        "HTTP 401 from the endpoint after 1 request(s): Incorrect API key provided.",
    ),
]

# Reply kinds that carry a completion with usage: their tokens count.
_ANSWERED = {"answer", "text", "refusal", "truncated", "content_filter", "empty_choices"}


class Tally:
    """The scripted faults, then good answers; keeps what was served to count its tokens independently."""

    def __init__(self, script: tuple[Reply, ...]) -> None:
        self._next = sequence_then(list(script), copying)
        self._lock = threading.Lock()
        self.served: list[tuple[dict[str, Any], Reply]] = []

    def __call__(self, body: dict[str, Any]) -> Reply:
        reply = self._next(body)
        with self._lock:
            self.served.append((body, reply))
        return reply

    def tokens(self) -> int:
        # a trickled answer is cut off before it is read whole: nothing of it is counted
        counted = [_usage(body, "" if r.kind == "empty_choices" else r.payload) for body, r in self.served if r.kind in _ANSWERED and not r.trickle]
        return sum(u["prompt_tokens"] + u["completion_tokens"] for u in counted)


@pytest.fixture
def call_log(monkeypatch: pytest.MonkeyPatch) -> list[CallRecord]:
    """The tool's per-request records (the batch run log's rows), from the CLI's own client."""
    records: list[CallRecord] = []

    class Logged(LLM):
        def __init__(self, settings: Settings, **kwargs: Any) -> None:
            super().__init__(settings, **{**kwargs, "observer": records.append})

    monkeypatch.setattr(api, "LLM", Logged)
    return records


@pytest.fixture(autouse=True)
def short_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Backoff has no flag; 10 ms keeps the exhaustion rows fast. Retry-After waits stay real.
    monkeypatch.setattr(config, "load_settings", lambda overrides=None, env=None: load_settings({**(overrides or {}), "backoff_base": 0.01}, env))


@pytest.mark.parametrize("fault", FAULTS, ids=[f.name for f in FAULTS])
def test_fault(fault: Fault, call_log: list[CallRecord], capsys: pytest.CaptureFixture[str]) -> None:
    tally = Tally(fault.script)
    extra = ["--timeout", str(fault.timeout)] if fault.timeout else []
    with ScriptedServer(tally) as server:
        started = time.perf_counter()
        code, out, err = run_json(["extract", str(ARTICLE), "--base-url", server.url, "--mode", "tools", *extra], capsys)
        elapsed = time.perf_counter() - started
        sent = len(server.requests)

    assert sent == fault.requests == len(call_log)
    logged_tokens = sum(c.prompt_tokens + c.completion_tokens for c in call_log)
    assert logged_tokens == tally.tokens(), "the run log counts the tokens of every answer received, failed ones included"
    assert elapsed >= fault.waits
    if fault.requests > max(fault.attempts, 1):
        assert "transport error" in err and "retry 1 in" in err, "each transport retry is logged with its wait"

    if fault.error is None:
        assert code == 0, err
        assert not out["failed"]
        usage = out["reports"][0]["provenance"]["usage"]
        assert (usage["requests"], usage["attempts"]) == (fault.requests, fault.attempts)
        assert usage["prompt_tokens"] + usage["completion_tokens"] == logged_tokens > 0
        return

    assert code == 3, "an endpoint error decides the exit code"
    assert not out["reports"]
    (failed,) = out["failed"]
    # a failed item's "attempts" counts the HTTP requests it took
    assert (failed["error"], failed["attempts"], failed["stage"]) == (fault.error, fault.requests, "extract")
    assert fault.message in failed["message"]
    line = next(x for x in err.splitlines() if x.startswith("✗"))
    assert f"{ARTICLE}: extract failed ({fault.error})" in line and fault.message in line, "the error names the item and the cause"
    assert (logged_tokens > 0) == (fault.attempts > 0)


def test_retry_after_wait_is_measured_not_assumed(call_log: list[CallRecord], capsys: pytest.CaptureFixture[str]) -> None:
    # Two 429s asking for 0.25 s each, then the answer: the wait between requests is what was asked.
    stamps: list[float] = []
    inner = Tally((Reply.rate_limited(0.25), Reply.rate_limited(0.25)))

    def stamped(body: dict[str, Any]) -> Reply:
        stamps.append(time.perf_counter())
        return inner(body)

    with ScriptedServer(stamped) as server:
        code, out, err = run_json(["extract", str(ARTICLE), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0, err
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    assert len(gaps) == 2 and all(0.25 <= g < 1.5 for g in gaps), gaps
    assert [c.outcome for c in call_log] == ["http_429", "http_429", "ok"]
    assert out["reports"][0]["provenance"]["usage"]["requests"] == 3


def test_schema_invalid_answer_is_reasked_with_the_validation_error(capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(Tally((SCHEMA_INVALID,))) as server:
        code, _, _ = run_json(["extract", str(ARTICLE), "--base-url", server.url, "--mode", "tools"], capsys)
        bodies = [r.body for r in server.requests]
    assert code == 0
    assert bodies[0] is not None and bodies[1] is not None
    reask = json.dumps(bodies[1]["messages"][len(bodies[0]["messages"]) :])
    assert "Field required" in reask and "figures" in reask, "the re-ask carries the validation error"


def test_one_bad_item_does_not_stop_the_others(call_log: list[CallRecord], capsys: pytest.CaptureFixture[str]) -> None:
    # Faults aimed at one article of three: that one fails by name, the other two are extracted.
    floods = EXAMPLES / "floods"

    def respond(body: dict[str, Any]) -> Reply:
        return Reply.truncated('{"ev') if fenced_sources(body)[0][0] == "national-wire-day2" else copying(body)

    with ScriptedServer(respond) as server:
        code, out, err = run_json(["extract", str(floods), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 3
    assert sorted(r["source"]["id"] for r in out["reports"]) == ["river-times-day2", "valley-courier-day1"]
    assert [Path(f["item"]).name for f in out["failed"]] == ["national-wire-day2.txt"] and "national-wire-day2.txt" in err
    assert len(call_log) == 3


def matrix_markdown() -> str:
    """The README's fault table."""
    rows = ["| fault | what the tool does | HTTP requests | answers | tokens counted | outcome |", "|---|---|---|---|---|---|"]
    for f in FAULTS:
        outcome = "extracted, exit 0" if f.error is None else f"`{f.error}` error naming the item, exit 3"
        rows.append(f"| {f.name} | {f.behaviour} | {f.requests} | {f.attempts} | {f.tokens} | {outcome} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(matrix_markdown(), end="")
