"""Hardening at the endpoint boundary, each through the real CLI (or the real client) against a local server on 127.0.0.1.

* secrets are registered for redaction before the first request of every command, so a key the
  endpoint echoes in its very first answer is never printed, logged or written;
* a base URL carrying credentials (``user:pass@`` or a key in the query) is refused as a
  configuration error (exit 2) that never prints them, before any request;
* ``--timeout`` is a total deadline per request: an answer trickling one byte at a time is cut
  off at it (whether the body or the headers trickle), and retried like any timeout;
* an answer without usage, or with negative or fractional counts, is counted as unknown: no
  tokens, cost null (not $0) with prices set, and a warning;
* ``finish_reason=content_filter`` is a refusal: sent once, never re-asked;
* provenance names the model asked for, not the one the endpoint says answered.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, copying, copying_answer, run, run_json
from scripted_server import Reply, ScriptedServer, fenced_sources, sequence_then

from summarize.cli.doctor import PROBE_MESSAGES, Probe
from summarize.config import Settings, load_settings, settings_for
from summarize.errors import ConfigError, RefusalError, TransportError
from summarize.llm.client import LLM, CallRecord, check_completion, read_result_line

ARTICLE = str(EXAMPLES / "floods" / "river-times-day2.txt")
PROBE_OK = {"answer": "ok", "number": 7}


def fresh_key() -> str:
    """A key no earlier test registered: redaction is process-wide, so a reused key would hide a missing registration."""
    return f"sk-harden-{uuid.uuid4().hex}{uuid.uuid4().hex[:8]}"


def needles(secret: str) -> tuple[str, ...]:
    return (secret, secret[-20:], secret[:24])


def leaked(secret: str, text: str) -> list[str]:
    return [n for n in needles(secret) if n in text]


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG, as -vv shows them (the CLI's basicConfig(force=True) would drop caplog's handler)."""
    caplog.set_level(logging.DEBUG)
    real = logging.basicConfig
    levels: dict[logging.Logger, int] = {}

    def keep_capturing(**kwargs: Any) -> None:
        for logger in logging.root.manager.loggerDict.values():
            if isinstance(logger, logging.Logger):
                levels.setdefault(logger, logger.level)
                logger.setLevel(logging.NOTSET)
        real(**kwargs)
        logging.getLogger().addHandler(caplog.handler)

    monkeypatch.setattr(logging, "basicConfig", keep_capturing)
    yield caplog
    for logger, level in levels.items():
        logger.setLevel(level)


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join([caplog.text, *(f"{r.getMessage()} {r.exc_text or ''} {r.args or ''}" for r in caplog.records)])


# --- A. secrets are registered before the first request --------------------------------------------------------------------------


class EchoingGateway:
    """Refuses every request on every route with a 401 that echoes the whole bearer key, as some gateways do."""

    def __init__(self) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                owner.requests += 1
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                key = (self.headers.get("authorization") or "").removeprefix("Bearer ")
                message = f"Incorrect API key provided: {key}. You can find your API key in your account settings."
                body = json.dumps({"error": {"message": message, "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
                self.send_response_only(401)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> EchoingGateway:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


COMMANDS = {
    "doctor": ["doctor"],
    "extract": ["extract", ARTICLE, "--format", "json", "--record", "{tmp}/extract.yaml"],
    "brief": ["brief", ARTICLE, "--format", "json"],
    "batch": ["batch", ARTICLE, "--out", "{tmp}/batch", "--no-brief"],
    "batch --batch-api": ["batch", ARTICLE, "--out", "{tmp}/batch-api", "--batch-api", "--no-brief"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_key_echoed_in_the_first_answer_is_never_shown(
    command: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    key = fresh_key()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    args = [a.replace("{tmp}", str(tmp_path)) for a in COMMANDS[command]]
    with EchoingGateway() as gateway:
        code, out, err = run([*args, "--base-url", gateway.url, "--mode", "tools", "-vv"], capsys)
    assert gateway.requests >= 1, "the endpoint was asked, and echoed the key"
    assert code == 3, err[-2000:]
    assert "Incorrect API key provided" in out + err + log_text(logs), "the refusal itself is reported"
    assert not leaked(key, out + err), f"{command} prints the key"
    assert not leaked(key, log_text(logs)), f"{command} logs the key"
    for path in (p for p in tmp_path.rglob("*") if p.is_file() and "home" not in p.relative_to(tmp_path).parts):
        assert not leaked(key, path.read_bytes().decode("utf-8", "replace")), f"{command} writes the key into {path.name}"


def test_doctor_redacts_a_key_echoed_by_get_models_alone(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GET /models is the doctor's first request and goes out before any model client exists.
    key = fresh_key()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with ScriptedServer(lambda _b: Reply.answer(PROBE_OK), models_reply=Reply.status(403, f"key {key} is not allowed to list models")) as server:
        code, out, err = run(["doctor", "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 3 and "✗ endpoint answers: 403" in out and "key <redacted> is not allowed" in out
    assert "✓ structured output" in out
    assert not leaked(key, out + err)


# --- B. credentials in the base URL are refused --------------------------------------------------------------------------------

PASSWORD = "tiger-pw-8c1f2e"
USER = "scott-user-77d0"


@pytest.mark.parametrize("given", ["flag", "env"])
@pytest.mark.parametrize("command", ["extract", "brief", "batch", "doctor"])
def test_credentials_in_the_base_url_are_refused_unprinted(
    command: str, given: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", fresh_key())
    with ScriptedServer(copying) as server:
        url = server.url.replace("http://", f"http://{USER}:{PASSWORD}@")
        flags = ["--base-url", url] if given == "flag" else []
        if given == "env":
            monkeypatch.setenv("OPENAI_BASE_URL", url)
        args = {"extract": ["extract", ARTICLE], "brief": ["brief", ARTICLE], "batch": ["batch", ARTICLE, "--out", str(tmp_path / "b")], "doctor": ["doctor"]}
        code, out, err = run([*args[command], *flags, "--mode", "tools", "-vv"], capsys)
        sent = len(server.requests)
    assert code == 2, "a configuration error"
    assert sent == 0, "refused before any request"
    origin = "--base-url" if given == "flag" else "OPENAI_BASE_URL"
    assert f"summarize: {origin} carries user info (user:password@)" in err and "OPENAI_API_KEY" in err
    assert "http://***@127.0.0.1:" in err, "the message shows where, not who"
    everything = out + err + log_text(logs)
    assert PASSWORD not in everything and USER not in everything
    assert not list(tmp_path.rglob("*.sqlite")), "nothing written"


@pytest.mark.parametrize(
    "url",
    [
        f"http://{USER}:{PASSWORD}@127.0.0.1:8000/v1",
        f"https://{PASSWORD}@gateway.example/v1",  # a token alone as the user name
        f"https://gateway.example/v1?api-key={PASSWORD}",
        f"https://gateway.example/v1?api-version=1&access_token={PASSWORD}",
    ],
)
def test_the_config_error_names_the_problem_never_the_secret(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"base_url": url}, env={"OPENAI_API_KEY": fresh_key()})
    assert caught.value.exit_code == 2
    assert "refused" in str(caught.value) and PASSWORD not in str(caught.value) and USER not in str(caught.value)
    with pytest.raises(ConfigError):  # library users building Settings themselves too
        Settings(base_url=url)


def test_a_plain_base_url_and_harmless_query_are_accepted() -> None:
    assert load_settings({"base_url": "http://127.0.0.1:8000/v1"}, env={}).base_url == "http://127.0.0.1:8000/v1"
    assert load_settings({"base_url": "https://x.openai.azure.com/openai/v1?api-version=preview"}, env={"OPENAI_API_KEY": fresh_key()}).profile == "azure"


# --- C. --timeout is a total deadline per request -----------------------------------------------------------------------------


def _settings(url: str, *, timeout: float, retries: int = 0) -> Settings:
    return Settings(base_url=url, profile="generic", mode="tools", strict=False, timeout=timeout, transport_retries=retries, backoff_base=0.01)


@pytest.mark.parametrize("headers", [False, True], ids=["body trickles", "status line and headers trickle"])
def test_a_trickling_answer_is_cut_off_at_the_deadline(headers: bool) -> None:
    # One byte every 0.2 s: each read succeeds well within a per-read timeout, the whole never ends in time.
    # (at_most bounds the server so that a client without a deadline fails this test in ~6 s rather than hanging.)
    slow = Reply.answer(PROBE_OK).trickled(0.2, at_most=6.0, headers=headers)
    calls: list[CallRecord] = []
    with ScriptedServer([slow]) as server:
        llm = LLM(_settings(server.url, timeout=1.0), observer=calls.append)
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            llm.structured(Probe, PROBE_MESSAGES, label=None)
        elapsed = time.monotonic() - started
        llm.close()
    assert 0.9 <= elapsed < 2.0, f"cut off at the 1 s deadline, not when the server finished: {elapsed:.2f}s"
    message = str(caught.value)
    assert "APITimeoutError" in message and "1s deadline per request" in message and "whole answer" in message, message
    assert caught.value.attempts == 1


def test_a_trickled_answer_is_retried_per_the_transport_policy(capsys: pytest.CaptureFixture[str]) -> None:
    # The timeout row of the fault matrix, with a server that never stops sending: abandoned at --timeout, retried, extracted.
    slow = Reply.answer(PROBE_OK).trickled(0.2, at_most=6.0)
    with ScriptedServer(sequence_then([slow], copying)) as server:
        started = time.monotonic()
        code, out, err = run_json(["extract", ARTICLE, "--base-url", server.url, "--mode", "tools", "--timeout", "1"], capsys)
        elapsed = time.monotonic() - started
        sent = len(server.requests)
    assert code == 0, err
    assert sent == 2 and out["reports"][0]["provenance"]["usage"]["requests"] == 2
    assert "transport error (APITimeoutError); retry 1 in" in err
    assert 1.0 <= elapsed < 3.5, elapsed


def test_every_retry_gets_its_own_deadline_and_the_budget_ends_it() -> None:
    slow = Reply.answer(PROBE_OK).trickled(0.2, at_most=6.0)
    with ScriptedServer([slow, slow]) as server:
        llm = LLM(_settings(server.url, timeout=0.6, retries=1))
        started = time.monotonic()
        with pytest.raises(TransportError, match=r"0.6s deadline per request .* after 2 request\(s\)"):
            llm.structured(Probe, PROBE_MESSAGES)
        elapsed = time.monotonic() - started
        llm.close()
    assert 1.2 <= elapsed < 2.5, elapsed


# --- D. usage that is missing or invalid is unknown, not 0 ----------------------------------------------------------------------

PRICES = {"SUMMARIZE_PRICE_INPUT": "2.5", "SUMMARIZE_PRICE_OUTPUT": "10"}


def _answer_with_usage(usage: object = None, *, absent: bool = False) -> Any:
    def respond(body: dict[str, Any]) -> Reply:
        return Reply.answer(copying_answer(fenced_sources(body)[0][1])).with_usage(usage, absent=absent)

    return respond


def _extract_priced(responder: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    for name, value in PRICES.items():
        monkeypatch.setenv(name, value)
    with ScriptedServer(responder) as server:
        return run_json(["extract", ARTICLE, "--base-url", server.url, "--mode", "tools"], capsys)


def test_reported_usage_is_priced(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _extract_priced(_answer_with_usage({"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}), monkeypatch, capsys)
    assert code == 0
    usage = out["reports"][0]["provenance"]["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["cost_usd"]) == (1000, 100, 0.0035)


@pytest.mark.parametrize(
    ("usage", "absent", "warning"),
    [
        (None, True, "reported no token usage"),
        (None, False, "reported no token usage"),
        ({}, False, "reported no token usage"),
        ({"prompt_tokens": -500, "completion_tokens": 20, "total_tokens": -480}, False, "reported invalid token usage (prompt_tokens=-500, total_tokens=-480)"),
        ({"prompt_tokens": 1000, "completion_tokens": 12.5, "total_tokens": 1012.5}, False, "reported invalid token usage (completion_tokens=12.5"),
        # ("1000" would be read as 1000: the SDK parses usage in pydantic's lax mode)
        ({"prompt_tokens": "lots", "completion_tokens": 20, "total_tokens": 1020}, False, "reported invalid token usage (prompt_tokens='lots')"),
        ({"prompt_tokens": 1000}, False, "prompt_tokens or completion_tokens missing"),
    ],
    ids=["absent", "null", "empty", "negative", "fractional", "not a number", "partial"],
)
def test_missing_or_invalid_usage_is_unknown_not_zero(
    usage: object, absent: bool, warning: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _extract_priced(_answer_with_usage(usage, absent=absent), monkeypatch, capsys)
    assert code == 0, err
    got = out["reports"][0]["provenance"]["usage"]
    assert got["cost_usd"] is None, "cost unknown, not $0, although prices are set"
    assert (got["prompt_tokens"], got["completion_tokens"], got["total_tokens"]) == (0, 0, 0), "no invented or negative tokens"
    assert (got["requests"], got["attempts"]) == (1, 1)
    assert warning in err and "tokens and cost are unknown, not 0" in err and "--max-cost" in err, err
    assert f"{ARTICLE.rsplit('/', 1)[-1].removesuffix('.txt')}: the endpoint" in err, "the warning names the item"


def test_one_unreported_answer_makes_the_calls_cost_unknown(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # A schema-invalid first answer without usage, then a good answer with usage: its tokens count, the cost cannot be known.
    first = Reply.answer({"events": []}).with_usage(absent=True)
    code, out, err = _extract_priced(sequence_then([first], copying), monkeypatch, capsys)
    assert code == 0, err
    got = out["reports"][0]["provenance"]["usage"]
    assert got["attempts"] == 2 and got["prompt_tokens"] > 0 and got["cost_usd"] is None


def test_a_budgeted_batch_flags_answers_without_usage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for name, value in PRICES.items():
        monkeypatch.setenv(name, value)
    with ScriptedServer(_answer_with_usage(absent=True)) as server:
        args = ["batch", ARTICLE, "--out", str(tmp_path / "b"), "--no-brief", "--max-cost", "5", "--base-url", server.url, "--mode", "tools"]
        code, _, err = run(args, capsys)
    assert code == 0, err
    assert "reported no token usage" in err and "a --max-cost budget cannot count them" in err


# --- E. a content filter's stop is a refusal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("partial", ['{"events": [{"summ', ""], ids=["partial answer", "empty answer"])
def test_content_filter_is_a_refusal_never_reasked(partial: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(sequence_then([Reply.content_filter(partial)], copying)) as server:
        code, out, err = run_json(["extract", ARTICLE, "--base-url", server.url, "--mode", "tools"], capsys)
        sent = len(server.requests)
    assert code == 3, err
    assert sent == 1, "sent once: neither retried nor re-asked"
    (failed,) = out["failed"]
    assert failed["error"] == "refusal" and "content filter" in failed["message"] and "finish_reason=content_filter" in failed["message"]
    assert "extract failed (refusal)" in err


def test_content_filter_in_a_batch_api_result_is_a_refusal() -> None:
    body = {
        "id": "chatcmpl-x", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "finish_reason": "content_filter"}],
    }
    line = read_result_line({"custom_id": "k", "response": {"status_code": 200, "body": body}})
    assert line.completion is not None
    with pytest.raises(RefusalError, match="content filter"):
        check_completion(line.completion, "json_schema")


# --- F. provenance names the model asked for ------------------------------------------------------------------------------------


def test_provenance_keeps_the_requested_model_and_the_run_log_the_served_one(
    monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    served = "gpt-4o-mini-2024-07-18"

    def respond(body: dict[str, Any]) -> Reply:
        return copying(body).served_as(served)

    records: list[CallRecord] = []
    from summarize import api

    class Logged(LLM):
        def __init__(self, settings: Settings, **kwargs: Any) -> None:
            super().__init__(settings, **{**kwargs, "observer": records.append})

    monkeypatch.setattr(api, "LLM", Logged)
    with ScriptedServer(respond) as server:
        code, out, err = run_json(["extract", ARTICLE, "--base-url", server.url, "--mode", "tools", "--model", "gpt-4o-mini", "-v"], capsys)
    assert code == 0, err
    assert out["reports"][0]["provenance"]["model"] == "gpt-4o-mini", "provenance names the model asked for"
    assert [(r.model, r.served_model) for r in records] == [("gpt-4o-mini", served)], "the run log keeps both"
    assert f"the endpoint says model '{served}' answered (asked for 'gpt-4o-mini')" in err


def test_replay_settings_take_the_requested_model_from_the_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tape = tmp_path / "served.yaml"

    def respond(body: dict[str, Any]) -> Reply:
        return copying(body).served_as("served-alias-0001")

    with ScriptedServer(respond) as server:
        code, _, err = run(["extract", ARTICLE, "--base-url", server.url, "--mode", "tools", "--model", "asked-model", "--record", str(tape)], capsys)
    assert code == 0, err
    assert settings_for({"replay": str(tape)}).model == "asked-model"
    code, out, err = run_json(["extract", ARTICLE, "--replay", str(tape)], capsys)
    assert code == 0, err
    assert out["reports"][0]["provenance"]["model"] == "asked-model"
