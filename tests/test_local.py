"""`--local MODEL.gguf` and context budgets, without building llama.cpp.

A stand-in `llama_cpp.server` module (written into a temporary directory on PYTHONPATH) serves the
authored answers on the port it is given, so the real start / wait / use / stop sequence runs. The
real server and model are exercised by `tests/test_local_model.py` when they are installed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from helpers import EXAMPLES, run
from record_cassettes import authored_responder
from scripted_server import ScriptedServer

from summarize.config import ANSWER_TOKENS, Settings, load_settings
from summarize.extract.budget import chunk_chars
from summarize.llm.prompts import load_prompt
from summarize.llm.wire import apply_sampling
from summarize.sources.article import parse_article

TESTS = Path(__file__).resolve().parent

FAKE_SERVER = f"""
import argparse, sys
sys.path.insert(0, {str(TESTS)!r})
from scripted_server import ScriptedServer, _HTTPServer, _Handler
from record_cassettes import authored_responder
p = argparse.ArgumentParser()
for flag in ("--model", "--host", "--port", "--n_ctx", "--n_threads"):
    p.add_argument(flag)
a = p.parse_args()
open(a.model + ".started", "w").write(" ".join(sys.argv[1:]))
server = ScriptedServer(authored_responder())
server._httpd = _HTTPServer(("127.0.0.1", int(a.port)), _Handler)
server._httpd.owner = server
server._httpd.serve_forever()
"""


@pytest.fixture
def fake_llama(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "site" / "llama_cpp"
    (package / "server").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "server" / "__init__.py").write_text("", encoding="utf-8")
    (package / "server" / "__main__.py").write_text(FAKE_SERVER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]))
    model = tmp_path / "tiny-model.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 64)
    return model


def test_local_starts_a_server_uses_it_and_stops_it(fake_llama: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--local", str(fake_llama), "--context-tokens", "12000", "-o", str(out)], capsys)
    assert code == 0, err
    reports = json.loads(out.read_text(encoding="utf-8"))["reports"]
    assert len(reports) == 3 and all(r["figures"] for r in reports)
    assert reports[0]["provenance"]["model"] == "tiny-model" and reports[0]["provenance"]["mode"] == "tools"
    started = (tmp_path / "tiny-model.gguf.started").read_text(encoding="utf-8")
    assert "--host 127.0.0.1" in started and "--n_ctx 12000" in started
    assert "local model tiny-model.gguf ready after" in err
    port = started.split("--port ")[1].split()[0]
    with pytest.raises(OSError):  # stopped: nothing listens on its port any more
        import socket

        socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()


def test_local_needs_a_gguf_file_and_the_extra(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--local", str(tmp_path / "missing.gguf")], capsys)
    assert code == 2 and "no GGUF model file" in err
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello", encoding="utf-8")
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--local", str(not_gguf)], capsys)
    assert code == 2 and "not a GGUF model file" in err
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None if name == "llama_cpp" else object())
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--local", str(model)], capsys)
    assert code == 2 and "pip install 'summarize[local]'" in err and err.count("\n") == 1
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--local", str(model), "--replay", "x.yaml"], capsys)
    assert code == 2 and "leave out --replay" in err


def test_a_context_too_small_for_the_prompt_is_one_line_and_no_request(capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(authored_responder()) as server:
        code, _, err = run(["extract", str(EXAMPLES / "floods"), "--base-url", server.url, "--context-tokens", "4096"], capsys)
        assert not [r for r in server.requests if r.path.endswith("/chat/completions")]
    assert code == 3
    failures = [line for line in err.splitlines() if "context_length" in line]
    assert len(failures) == 3 and all(
        "no room for the article in the model's context of 4096 tokens" in line and "--context-tokens" in line for line in failures
    ), err


def test_a_known_context_makes_chunks_smaller_so_prompt_schema_and_answer_fit() -> None:
    text = ("The river rose overnight and thirty homes were flooded, the mayor said. " * 200).strip()
    source = parse_article(text, name="long.txt", path=None)
    prompt = load_prompt("extract")
    unlimited = chunk_chars(source, Settings(), prompt)
    tight = chunk_chars(source, Settings(context_tokens=12000), prompt)
    roomy = chunk_chars(source, Settings(context_tokens=32000), prompt)
    assert unlimited == 12000 and tight < roomy <= 12000
    # the estimate is one token per 3 bytes: the chunk plus the fixed overhead and the answer fit in the window
    assert tight / 3 + ANSWER_TOKENS < 12000


def test_local_servers_are_asked_for_deterministic_answers_within_the_budget() -> None:
    body: dict[str, Any] = {}
    apply_sampling(body, load_settings({"base_url": "http://127.0.0.1:8000/v1", "profile": "llamacpp-python", "context_tokens": 16384}, env={}))
    assert body == {"temperature": 0, "max_tokens": ANSWER_TOKENS}
    hosted: dict[str, Any] = {}
    apply_sampling(hosted, load_settings({}, env={"OPENAI_API_KEY": "sk-test"}))
    assert hosted == {}


def test_doctor_recognises_llama_cpp_python_by_its_model_list() -> None:
    import httpx

    from summarize.cli.doctor import _is_llama_cpp_python

    listing = {"object": "list", "data": [{"id": "/models/qwen.gguf", "object": "model", "owned_by": "me", "permissions": []}]}
    assert _is_llama_cpp_python(httpx.Response(200, json=listing))
    vllm = {"object": "list", "data": [{"id": "Qwen/Qwen2.5-7B-Instruct", "object": "model", "owned_by": "vllm"}]}
    assert not _is_llama_cpp_python(httpx.Response(200, json=vllm))
