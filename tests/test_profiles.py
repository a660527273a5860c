"""Endpoint profiles: the request each one sends, live against the scripted server and through a recorded cassette."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import yaml
from conftest import FAKE_KEY
from helpers import EXAMPLES, copying, run
from scripted_server import ScriptedServer

from summarize.api import extract_files
from summarize.config import PROFILES, detect_profile, load_settings
from summarize.errors import ConfigError

ARTICLE = EXAMPLES / "aleppo" / "regional-wire.txt"

# profile -> (structured-output mode, strict flag sent). Spelled out rather than read from
# PROFILES, so a changed default fails here; every profile must be listed.
EXPECTED: dict[str, tuple[str, bool]] = {
    "openai": ("json_schema", True),
    "azure": ("json_schema", True),
    "ollama": ("json_schema", False),
    "vllm": ("json_schema", False),
    "llamacpp": ("json_schema", False),
    "llamacpp-python": ("tools", False),
    "lmstudio": ("json_schema", False),
    "openrouter": ("tools", False),
    "generic": ("tools", False),
}
# Azure's v1 API lives under /openai/v1; the scripted server answers /v1 only, so Azure runs
# go through a proxy that serves the prefixed path and forwards to it.
PREFIX = {"azure": "/openai/v1"}


def _forward(origin: str, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """One HTTP/1.0 exchange over a plain socket. Not http.client: vcrpy patches it, and a recording
    would then hold the proxy's hop as a second interaction."""
    host, port = origin.removeprefix("http://").split(":")
    head = [f"{method} {path} HTTP/1.0", *(f"{k}: {v}" for k, v in headers.items()), f"content-length: {len(body)}", "", ""]
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall("\r\n".join(head).encode("latin-1") + body)
        raw = b"".join(iter(lambda: conn.recv(65536), b""))
    header_block, _, payload = raw.partition(b"\r\n\r\n")
    status_line, *lines = header_block.decode("latin-1").split("\r\n")
    pairs = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines)]
    return int(status_line.split()[1]), pairs, payload


class PrefixProxy:
    """A loopback HTTP proxy serving ``{prefix}/...`` and forwarding to ``/v1/...`` of the scripted server."""

    def __init__(self, target: str, prefix: str) -> None:
        self.target = target.rsplit("/v1", 1)[0]
        self.prefix = prefix
        self.paths: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.paths.append(self.path)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                path = "/v1" + self.path.removeprefix(proxy.prefix) if self.path.startswith(proxy.prefix + "/") else self.path
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "connection")}
                status, reply_headers, payload = _forward(proxy.target, self.command, path, headers, body)
                self.send_response_only(status)
                for name, value in reply_headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{self.prefix}"

    def __enter__(self) -> PrefixProxy:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class Endpoint:
    """The scripted server, behind the prefix proxy when the profile's base URL has a deployment prefix."""

    def __init__(self, profile: str) -> None:
        self.server = ScriptedServer(copying)
        self.prefix = PREFIX.get(profile)
        self.proxy: PrefixProxy | None = None

    def __enter__(self) -> Endpoint:
        self.server.__enter__()
        if self.prefix:
            self.proxy = PrefixProxy(self.server.url, self.prefix).__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proxy:
            self.proxy.__exit__(*exc)
        self.server.__exit__(*exc)

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else self.server.url

    def client_paths(self) -> list[str]:
        """The paths the client asked for (before the proxy rewrote them)."""
        return list(self.proxy.paths) if self.proxy else [r.path for r in self.server.requests]


def assert_profile_shape(body: dict[str, Any], profile: str) -> None:
    mode, strict = EXPECTED[profile]
    if mode == "json_schema":
        assert "tools" not in body and "tool_choice" not in body
        fmt = body["response_format"]
        assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "ExtractionDraft"
        assert fmt["json_schema"].get("strict", False) is strict
        schema = fmt["json_schema"]["schema"]
        if strict:  # strict structured outputs refuse a schema that allows extra keys or optional ones
            assert schema["additionalProperties"] is False and set(schema["required"]) == set(schema["properties"])
    else:
        assert "response_format" not in body
        (tool,) = body["tools"]
        assert tool["type"] == "function" and tool["function"]["name"] == "ExtractionDraft"
        assert tool["function"].get("strict", False) is strict
        assert body["tool_choice"] == {"type": "function", "function": {"name": "ExtractionDraft"}}


def test_every_profile_has_an_expected_shape() -> None:
    assert set(EXPECTED) == set(PROFILES)
    assert all((PROFILES[p].mode, PROFILES[p].strict) == shape for p, shape in EXPECTED.items())


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_sends_its_request_shape(profile: str) -> None:
    with Endpoint(profile) as endpoint:
        settings = load_settings({"base_url": endpoint.url, "profile": profile}, env={"OPENAI_API_KEY": FAKE_KEY})
        out = extract_files([str(ARTICLE)], settings)
        requests = list(endpoint.server.requests)
        paths = endpoint.client_paths()
    assert not out.failed and len(out.reports) == 1 and out.reports[0].figures
    (request,) = requests
    assert request.method == "POST" and request.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert paths == [f"{PREFIX.get(profile, '/v1')}/chat/completions"]
    assert request.body is not None
    assert_profile_shape(request.body, profile)
    assert out.reports[0].provenance.mode == EXPECTED[profile][0] + (" strict" if EXPECTED[profile][1] else "")


@pytest.mark.parametrize("profile", sorted(EXPECTED))
def test_profile_run_records_and_replays_offline(profile: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    tape = tmp_path / f"{profile}.yaml"
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with Endpoint(profile) as endpoint:
        code, live, err = run(
            ["extract", str(ARTICLE), "--base-url", endpoint.url, "--profile", profile, "--record", str(tape), "--format", "json", "-q"], capsys
        )
    assert code == 0, err

    text = tape.read_text(encoding="utf-8")
    assert FAKE_KEY not in text
    (interaction,) = yaml.safe_load(text)["interactions"]
    assert interaction["request"]["uri"].endswith(f"{PREFIX.get(profile, '/v1')}/chat/completions")
    assert_profile_shape(interaction["request"]["json"], profile)

    monkeypatch.delenv("OPENAI_API_KEY")  # no server, no key: the cassette alone
    code, replayed, err = run(["extract", str(ARTICLE), "--replay", str(tape), "--format", "json", "-q"], capsys)
    assert code == 0, err

    def comparable(raw: str) -> list[dict[str, Any]]:
        reports = json.loads(raw)["reports"]
        for r in reports:
            r["provenance"].pop("created_at")
            r["provenance"].pop("endpoint")
        return reports

    assert comparable(replayed) == comparable(live)
    assert json.loads(replayed)["reports"][0]["provenance"]["endpoint"] == f"replay:{tape.name}"


def test_mode_flag_overrides_the_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    with ScriptedServer(copying) as server:
        settings = load_settings({"base_url": server.url, "profile": "ollama", "mode": "tools"}, env={})
        extract_files([str(ARTICLE)], settings)
        body = server.requests[0].body
    assert body is not None and body["tools"][0]["function"]["name"] == "ExtractionDraft" and "response_format" not in body


@pytest.mark.parametrize("profile", ["ollama", "vllm", "llamacpp", "llamacpp-python", "lmstudio", "generic"])
def test_local_servers_need_no_key(profile: str) -> None:
    with ScriptedServer(copying) as server:
        settings = load_settings({"base_url": server.url, "profile": profile}, env={})
        out = extract_files([str(ARTICLE)], settings)
        headers = server.requests[0].headers
    assert not out.failed
    # the SDK insists on some key, so a placeholder goes out; local servers ignore it
    assert headers["authorization"] == "Bearer no-key-needed"


@pytest.mark.parametrize("profile", ["openai", "azure", "openrouter"])
def test_hosted_profiles_refuse_to_run_without_a_key(profile: str) -> None:
    settings = load_settings({"base_url": "http://127.0.0.1:9/v1", "profile": profile}, env={})
    with pytest.raises(ConfigError, match="no model endpoint configured"):
        settings.require_endpoint()


@pytest.mark.parametrize(
    ("url", "profile"),
    [
        (None, "openai"),
        ("https://api.openai.com/v1", "openai"),
        ("https://my-resource.openai.azure.com/openai/v1/", "azure"),
        ("https://my-project.services.ai.azure.com/openai/v1", "azure"),
        ("http://localhost:11434/v1", "ollama"),
        ("http://gpu-box:8000/v1", "vllm"),
        ("http://127.0.0.1:8080/v1", "llamacpp"),
        ("http://localhost:1234/v1", "lmstudio"),
        ("https://openrouter.ai/api/v1", "openrouter"),
        ("https://llm-gateway.example.com/v1", "generic"),
        ("http://localhost:9999/v1", "generic"),
    ],
)
def test_detect_profile(url: str | None, profile: str) -> None:
    assert detect_profile(url) == profile


def test_environment_picks_the_profile_and_its_defaults() -> None:
    s = load_settings(env={"OPENAI_BASE_URL": "http://localhost:11434/v1"})
    assert (s.profile, s.mode, s.strict) == ("ollama", "json_schema", False)
    s = load_settings(env={"OPENAI_BASE_URL": "http://localhost:11434/v1", "SUMMARIZE_PROFILE": "openrouter"})
    assert (s.profile, s.mode, s.strict) == ("openrouter", "tools", False)
    s = load_settings({"profile": "azure"}, env={"OPENAI_BASE_URL": "https://r.openai.azure.com/openai/v1/", "AZURE_OPENAI_API_KEY": "k" * 32})
    assert (s.profile, s.mode, s.strict, s.api_key) == ("azure", "json_schema", True, "k" * 32)
