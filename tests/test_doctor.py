"""`summarize doctor`: configuration on one screen, the key never shown, probes against the scripted server."""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

import pytest
import yaml
from conftest import FAKE_KEY
from helpers import CASSETTES
from scripted_server import Reply, ScriptedServer

from summarize.cli import doctor
from summarize.cli import main as cli
from summarize.config import load_settings
from summarize.llm.prompts import load_prompt

PROBE_OK = {"answer": "ok", "number": 7}


def _doctor(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    # Parsed with doctor's own registration, so these tests do not depend on how cli.py dispatches.
    parser = argparse.ArgumentParser(prog="summarize")
    doctor.add_parser(parser.add_subparsers(dest="command"), cli._common())
    code = doctor.run(parser.parse_args(["doctor", *argv]))
    out, err = capsys.readouterr()
    return code, out, err


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("profile", "mode_line"),
    [("openai", "json_schema strict"), ("ollama", "json_schema"), ("openrouter", "tools")],
)
def test_healthy_endpoint_passes_both_probes_and_never_prints_the_key(
    profile: str, mode_line: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(lambda _body: Reply.answer(PROBE_OK)) as server:
        code, out, err = _doctor(["--base-url", server.url, "--profile", profile, "--model", "scripted-model"], capsys)
        requests = list(server.requests)
    assert code == 0, out + err
    assert FAKE_KEY not in out + err and FAKE_KEY[3:-4] not in out + err
    assert f"key         set (sk-…{FAKE_KEY[-4:]}, {len(FAKE_KEY)} chars)" in out
    assert f"profile     {profile} (given with --profile)" in out
    assert f"mode        {mode_line}\n" in out
    assert "✓ endpoint answers: 200, model scripted-model listed" in out
    assert f"✓ structured output: {mode_line} honoured on the first answer" in out
    assert [(r.method, r.path) for r in requests] == [("GET", "/v1/models"), ("POST", "/v1/chat/completions")]
    assert all(r.headers["authorization"] == f"Bearer {FAKE_KEY}" for r in requests)
    assert len(out.splitlines()) <= 24, "doctor fits on one screen"


def test_configuration_lists_budgets_prompts_and_replay_state(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(lambda _body: Reply.answer(PROBE_OK)) as server:
        _, out, _ = _doctor(["--base-url", server.url, "--max-reasks", "1", "--timeout", "30", "--model", "m"], capsys)
    assert "profile     generic (detected from the base URL)" in out
    assert "timeout     30s per request, the whole answer included" in out
    assert "4 transport retries" in out and "1 validation re-asks" in out
    assert "prices      not set: cost is reported as unknown" in out
    versions = {name: load_prompt(name).version for name in ("extract", "brief")}  # the bundled templates' own versions
    assert f"extract v{versions['extract']} sha256:" in out and f"brief v{versions['brief']} sha256:" in out
    assert "record      off" in out and "replay      off" in out
    assert "model m not among the 1 listed (scripted-model)" in out, "an unlisted model is reported, not failed"


def test_prices_are_shown_when_configured() -> None:
    settings = load_settings({"base_url": "http://localhost:11434/v1"}, env={"SUMMARIZE_PRICE_INPUT": "0.15", "SUMMARIZE_PRICE_OUTPUT": "0.6"})
    lines = "\n".join(doctor.configuration_lines(settings))
    assert "input $0.15, output $0.6 per million tokens" in lines
    assert "profile     ollama (detected from the base URL)" in lines and "no key needed" in lines


def test_garbage_text_instead_of_json_fails_the_structured_probe(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(lambda _body: Reply.text("Sure! The answer is ok, and the number is 7.")) as server:
        code, out, _ = _doctor(["--base-url", server.url, "--profile", "vllm", "--max-reasks", "1"], capsys)
        posts = [r for r in server.requests if r.method == "POST"]
    assert code == 3
    assert "✓ endpoint answers: 200" in out
    assert "✗ structured output: schema not honoured (json_schema): the answer did not fit the schema after 2 attempt(s)" in out
    assert len(posts) == 2, "the probe uses the configured re-ask budget"


def test_refusal_is_named(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer([Reply.refusal("I can't help with that.")]) as server:
        code, out, _ = _doctor(["--base-url", server.url, "--profile", "openai"], capsys)
    assert code == 3 and "✗ structured output: the model refused (json_schema strict): the model refused: I can't help with that." in out


def test_server_error_is_reported_after_one_request(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer([Reply.rate_limited(30)]) as server:
        code, out, _ = _doctor(["--base-url", server.url], capsys)
        posts = [r for r in server.requests if r.method == "POST"]
    assert code == 3 and "✗ structured output: transport error (tools): HTTP 429" in out
    assert len(posts) == 1, "a diagnosis reports a rate limit instead of waiting it out"


def test_unreachable_endpoint_fails_both_probes_quickly(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    code, out, _ = _doctor(["--base-url", url], capsys)
    assert code == 3
    assert f"✗ endpoint answers: no answer from {url}/models: ConnectError" in out
    assert "✗ structured output: transport error (tools): APIConnectionError after 1 request(s)" in out


def test_no_endpoint_configured_prints_the_hint_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _doctor([], capsys)
    assert code == 2
    assert "summarize: no model endpoint configured: set OPENAI_API_KEY" in err
    assert "key         not set; the openai profile needs one" in out
    assert "endpoint answers" not in out and "structured output" not in out


def test_bad_profile_is_a_usage_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUMMARIZE_MODE", "yaml")
    code, _, err = _doctor(["--base-url", "http://localhost:8000/v1"], capsys)
    assert code == 2 and "unknown mode 'yaml'" in err


def test_probes_record_and_replay_without_server_or_key(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    tape = tmp_path / "doctor.yaml"
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(lambda _body: Reply.answer(PROBE_OK)) as server:
        code, live, _ = _doctor(["--base-url", server.url, "--profile", "openai", "--model", "scripted-model", "--record", str(tape)], capsys)
    assert code == 0
    text = tape.read_text(encoding="utf-8")
    assert FAKE_KEY not in text and "authorization" not in text.lower()
    recorded = yaml.safe_load(text)["interactions"]
    assert [i["request"]["method"] for i in recorded] == ["GET", "POST"]
    assert recorded[1]["request"]["json"]["response_format"]["json_schema"]["strict"] is True

    monkeypatch.delenv("OPENAI_API_KEY")
    code, replayed, _ = _doctor(["--replay", str(tape)], capsys)
    assert code == 0, replayed
    assert f"endpoint    none: replaying {tape}" in replayed
    assert "mode        json_schema strict" in replayed, "model and mode come from the cassette"

    def probes(out: str) -> list[str]:
        return [line for line in out.splitlines() if line.startswith(("✓", "✗"))]

    assert probes(replayed) == probes(live)


def test_replaying_a_cassette_without_probes_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _doctor(["--replay", str(CASSETTES / "aleppo-extract.yaml")], capsys)
    assert code == 3
    assert "✗ endpoint answers: the cassette" in out and "has no recorded GET /models" in out
    assert "✗ structured output: cassette mismatch" in out


def test_credentials_in_the_base_url_are_refused_not_shown(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Refused as a configuration error before any probe (tests/test_hardening_endpoint.py covers every command).
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    port = _closed_port()
    for url in (f"http://user:hunter2secret@127.0.0.1:{port}/openai/v1", f"http://127.0.0.1:{port}/openai/v1?api-key=zzzsecret"):
        code, out, err = _doctor(["--base-url", url], capsys)
        assert code == 2
        assert "hunter2secret" not in out + err and "zzzsecret" not in out + err
        assert f"127.0.0.1:{port}/openai/v1" in err and "refused" in err and "OPENAI_API_KEY" in err


def test_the_endpoint_shown_has_no_query_string(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    port = _closed_port()
    code, out, _ = _doctor(["--base-url", f"http://127.0.0.1:{port}/openai/v1?tenant=blue"], capsys)
    assert code == 3
    assert f"endpoint    http://127.0.0.1:{port}/openai/v1\n" in out


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        (None, "not set"),
        ("", "not set"),
        ("short-key", "set (9 chars)"),
        ("sk-proj-" + "x" * 40 + "abcd", "set (sk-…abcd, 52 chars)"),
        ("0123456789abcdef0123456789abWXYZ", "set (…WXYZ, 32 chars)"),
    ],
)
def test_mask_key(key: str | None, shown: str) -> None:
    assert doctor.mask_key(key) == shown


def test_doctor_is_a_cli_command_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.cli(["doctor", "--help"]) == 0
    out = capsys.readouterr().out
    assert "example" in out and "summarize doctor" in out
