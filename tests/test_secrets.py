"""Secrets: with a distinctive key set, every command's output, files, cassettes and logs hold no trace of it.

The endpoint sits behind a small proxy that adds the account headers a provider sends
(``openai-organization``, ``openai-project``, a session cookie) to every response, so a leak of
response headers shows too. Every command runs; the ones that talk to the endpoint run with
``-vv`` (the SDK and httpcore then log requests and response headers) and ``--record``. Then
stdout, stderr, every log record and every file written are searched.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from helpers import EXAMPLES, ROOT, copying, run
from record_cassettes import authored_responder, requested_schema
from scripted_server import Reply, ScriptedServer

KEY = "sk-SECRET-canary-7f3a9c2e1b4d5a6f8e9d0c1b2a3f4e5d"
ACCOUNT_HEADERS = {"openai-organization": "org-canary", "openai-project": "proj-canary", "set-cookie": "session=canary; Path=/; HttpOnly"}
# Anything here in any output, file or log is a leak.
NEEDLES = (KEY, KEY[-20:], KEY[:24], "org-canary", "proj-canary", "session=canary", "Bearer sk-")
HEADER_NAMES = ("authorization", *ACCOUNT_HEADERS)
# Some gateways echo the whole key they refuse; OpenAI masks all but its ends.
REFUSAL = f"Incorrect API key provided: {KEY}. You can find your API key in your account settings."


class AccountProxy:
    """Forwards to the scripted server and adds a provider's account headers to every response."""

    def __init__(self, upstream: str, *, refuse_key: bool = False) -> None:
        up = urlsplit(upstream)
        host, port = up.hostname or "127.0.0.1", up.port or 80

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                if refuse_key:  # a gateway refusing the key on every route, GET /models included
                    self._answer(
                        401, [("content-type", "application/json")], json.dumps({"error": {"message": REFUSAL, "type": "invalid_request_error"}}).encode()
                    )
                    return
                conn = http.client.HTTPConnection(host, port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    response = conn.getresponse()
                    data = response.read()
                    headers = [(k, v) for k, v in response.getheaders() if k.lower() not in ("content-length", "connection", "transfer-encoding")]
                finally:
                    conn.close()
                self._answer(response.status, headers, data)

            def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
                self.send_response_only(status)
                for name, value in [*headers, *ACCOUNT_HEADERS.items()]:
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> AccountProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def endpoint(responder: Any) -> Iterator[str]:
    with ScriptedServer(responder) as server, AccountProxy(server.url) as proxy:
        yield proxy.url


def everything(body: dict[str, Any]) -> Reply:
    """Authored answers for the examples, and the doctor's probe."""
    if requested_schema(body) == "Probe":
        return Reply.answer({"answer": "ok", "number": 7})
    return AUTHORED(body)


AUTHORED = authored_responder()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record at DEBUG. The CLI's basicConfig(force=True) drops root handlers, caplog's among them: put it back.

    A quiet run silences the libraries' loggers and nothing turns them back on within one process,
    so each run starts from a fresh process's levels, as it would from the shell."""
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


def leaks(text: str) -> list[str]:
    return [n for n in NEEDLES if n.lower() in text.lower()]


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts += [record.getMessage(), record.exc_text or "", str(record.args or "")]
    return "\n".join([caplog.text, *parts])


def test_no_command_leaks_the_key_or_account_headers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out, tapes = tmp_path / "out", tmp_path / "cassettes"
    out.mkdir()
    aleppo, floods = str(EXAMPLES / "aleppo"), str(EXAMPLES / "floods")
    printed: list[str] = []

    def cli(*args: str, code: int = 0) -> None:
        got, stdout, stderr = run(list(args), capsys)
        printed.extend((stdout, stderr))
        assert got == code, (args, stderr[-2000:])

    with endpoint(everything) as url:
        live = ("--base-url", url, "--mode", "tools")
        cli("extract", aleppo, *live, "--format", "json", "-o", str(out / "extract.json"), "--record", str(tapes / "extract.yaml"), "-vv")
        cli("extract", aleppo, *live, "--format", "md", "-o", str(out / "extract.md"))
        cli("extract", aleppo, *live, "--format", "html", "-o", str(out / "extract.html"), "-v")
        cli("extract", floods, *live, "--format", "jsonl")
        cli("brief", aleppo, *live, "--format", "md", "-o", str(out / "brief.md"), "--record", str(tapes / "brief.yaml"), "-vv")
        cli("brief", aleppo, *live, "--format", "json", "-o", str(out / "brief.json"))
        cli("brief", aleppo, *live, "--format", "html", "-o", str(out / "brief.html"), "-v")
        cli("batch", aleppo, floods, "--out", str(out / "batch"), *live, "--record", str(tapes / "batch.yaml"), "-vv")
        cli("doctor", *live, "--record", str(tapes / "doctor.yaml"), "-vv")
        cli("doctor", *live)
    cli("extract", aleppo, "--replay", str(tapes / "extract.yaml"), "-o", str(out / "replayed.json"), "-vv")
    cli("check", str(out / "brief.json"))
    for fmt in ("table", "jsonl", "csv"):
        cli("logs", str(out / "batch"), "--format", fmt, "-o", str(out / f"calls.{fmt}"))
    cli("logs", str(out / "batch"))
    cli("export", str(out / "extract.json"), "-o", str(out / "events.csv"))
    cli("export", str(out / "brief.json"), "--to", "figures", "-o", str(out / "figures.jsonl"))
    cli("eval", str(EXAMPLES / "gold" / "aleppo.json"), "--briefing", str(out / "brief.json"), "--out", str(out / "eval"))
    cli("schema", "--out", str(out / "schemas"))

    files = sorted(p for p in tmp_path.rglob("*") if p.is_file() and "home" not in p.relative_to(tmp_path).parts)
    names = {p.relative_to(tmp_path).as_posix() for p in files}
    assert {
        "cassettes/extract.yaml",
        "cassettes/brief.yaml",
        "cassettes/batch.yaml",
        "cassettes/doctor.yaml",
        "out/batch/store.sqlite",
        "out/batch/errors.jsonl",
    } <= names
    assert {"out/batch/summary.json", "out/batch/reports.jsonl", "out/eval/eval.json", "out/calls.csv"} <= names
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not leaks(text), f"{path.relative_to(tmp_path)} leaks {leaks(text)}"
        if path.suffix == ".yaml":
            assert not [n for n in HEADER_NAMES if n in text.lower()], f"{path.name} keeps a credential or account header"

    assert not leaks("\n".join(printed)), "stdout or stderr leaks"
    logged = log_text(logs)
    assert len(logs.records) > 100 and "HTTP Response" in logged, "the debug logs were captured"
    assert "openai-organization" in logged, "the SDK did log the response headers; their values must be redacted"
    assert not leaks(logged), f"the logs leak {leaks(logged)}"
    assert "<redacted>" in logged
    doctor = "\n".join(printed)
    assert "key         set (sk-…4e5d, 49 chars)" in doctor, "doctor shows enough to tell keys apart and no more"


def test_a_fresh_process_logs_no_account_header(tmp_path: Path) -> None:
    # In one test process the redaction is long installed; from the shell, each command starts cold.
    # doctor is the sharpest case: its first request goes out before any model client exists.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZE_"))}
    env |= {"OPENAI_API_KEY": KEY, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    article = str(EXAMPLES / "floods" / "river-times-day2.txt")
    with endpoint(everything) as url:
        for args in (["doctor"], ["extract", article, "-o", str(tmp_path / "out.json")]):
            done = subprocess.run(
                [sys.executable, "-m", "summarize", *args, "--base-url", url, "--mode", "tools", "-vv"], capture_output=True, text=True, env=env, timeout=60
            )
            assert done.returncode == 0, done.stderr[-2000:]
            assert "openai-organization" in done.stderr and not leaks(done.stdout + done.stderr), args


def rejecting(body: dict[str, Any]) -> Reply:
    return Reply.status(401, REFUSAL, err_type="invalid_request_error", code_str="invalid_api_key")


def test_a_rejected_key_is_not_echoed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    article = str(EXAMPLES / "floods" / "river-times-day2.txt")
    printed = []
    with endpoint(rejecting) as url:
        live = ("--base-url", url, "--mode", "tools")
        code, stdout, stderr = run(["extract", article, *live, "--format", "json", "--record", str(tmp_path / "401.yaml"), "-vv"], capsys)
        assert code == 3 and "HTTP 401 from the endpoint after 1 request(s): Incorrect API key provided: <redacted>." in stderr
        assert json.loads(stdout)["failed"][0]["message"].startswith("HTTP 401")
        printed += [stdout, stderr]
        code, stdout, stderr = run(["batch", article, "--out", str(tmp_path / "batch"), "--no-brief", *live, "-vv"], capsys)
        assert code == 3
        printed += [stdout, stderr]
        code, stdout, stderr = run(["brief", article, *live, "-vv"], capsys)
        assert code == 3
        printed += [stdout, stderr]
    assert not leaks("\n".join(printed))
    assert "Incorrect API key provided" in (tmp_path / "batch" / "errors.jsonl").read_text(encoding="utf-8")
    for path in [p for p in tmp_path.rglob("*") if p.is_file() and "home" not in p.parts]:
        assert not leaks(path.read_bytes().decode("utf-8", "replace")), path
    logged = log_text(logs)
    assert "Incorrect API key provided" in logged and not leaks(logged), "tracebacks in debug logs carry the body too"


def test_doctor_does_not_echo_a_rejected_key(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with ScriptedServer(rejecting) as server, AccountProxy(server.url, refuse_key=True) as proxy:
        code, stdout, stderr = run(["doctor", "--base-url", proxy.url, "--mode", "tools"], capsys)
    assert code == 3 and "rejected the key" in stdout
    assert "structured output: transport error" in stdout and "Incorrect API key provided: <redacted>" in stdout, "the probe through the client is redacted"
    assert not leaks(stdout + stderr)


def test_a_fresh_doctor_process_does_not_echo_a_rejected_key(tmp_path: Path) -> None:
    # In this test process KEY is long registered by earlier tests; from the shell, the doctor's first request
    # (GET /models, before any model client exists) must already find it registered.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZE_"))}
    env |= {"OPENAI_API_KEY": KEY, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    with ScriptedServer(rejecting) as server, AccountProxy(server.url, refuse_key=True) as proxy:
        command = [sys.executable, "-m", "summarize", "doctor", "--base-url", proxy.url, "--mode", "tools", "-vv"]
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 3 and "rejected the key (Incorrect API key provided: <redacted>." in done.stdout, done.stdout + done.stderr[-2000:]
    assert not leaks(done.stdout + done.stderr)


def test_redaction_covers_the_shapes_libraries_log() -> None:
    from summarize.llm.redact import redact, register_secret

    register_secret(KEY)
    shapes = [
        f"Authorization: Bearer {KEY}",
        "Headers({'content-type': 'application/json', 'openai-organization': 'org-canary', 'set-cookie': 'session=canary; Path=/'})",
        "[(b'openai-project', b'proj-canary'), (b'content-length', b'12')]",
        f'{{"error": {{"message": "Incorrect API key provided: {KEY}"}}}}',
        "x-api-key: abc123secretvalue\napi-key = another-secret-value",
    ]
    for shape in shapes:
        cleaned = redact(shape)
        assert not leaks(cleaned) and "abc123secretvalue" not in cleaned and "another-secret-value" not in cleaned, cleaned
        assert "<redacted>" in cleaned
    assert redact("content-type: application/json; the toll was 153") == "content-type: application/json; the toll was 153"


def test_record_keeps_no_account_header_and_replays_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    tape = tmp_path / "run.yaml"
    article = str(EXAMPLES / "floods" / "national-wire-day2.txt")
    with endpoint(copying) as url:
        code, _, _ = run(["extract", article, "--base-url", url, "--mode", "tools", "--record", str(tape)], capsys)
    assert code == 0
    recorded = tape.read_text(encoding="utf-8")
    assert not leaks(recorded) and not [n for n in HEADER_NAMES if n in recorded.lower()]
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = run(["extract", article, "--replay", str(tape)], capsys)
    assert code == 0, err


def test_the_schema_files_and_prompts_hold_no_key() -> None:
    # The bundled files are what a wheel ships: a key pasted into one would ship to every user.
    shipped = [*ROOT.joinpath("prompts").glob("*.toml"), *ROOT.joinpath("schemas").glob("*.json"), *ROOT.joinpath("cassettes").glob("*.yaml")]
    assert shipped
    for path in shipped:
        text = path.read_text(encoding="utf-8")
        assert "Bearer sk-" not in text and not [n for n in HEADER_NAMES if f"{n}:" in text.lower()], path
