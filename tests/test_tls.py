"""The TLS context every session's client shares: it verifies like httpx's own, and loads its CA bundle only when a
handshake needs it (an http:// endpoint never does; each batch worker process used to spend 20-35 ms on it)."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx
import pytest
from helpers import copying
from scripted_server import ScriptedServer

from summarize.config import Settings, TLSEnvironment, load_settings, tls_environment
from summarize.llm import wire
from summarize.llm.client import LLM, prewarm
from summarize.llm.prompts import fence
from summarize.models.draft import ExtractionDraft


def settings_for(url: str) -> Settings:
    return load_settings({"base_url": url, "mode": "tools"}, env={})


def cas(ctx: ssl.SSLContext) -> int:
    return int(ctx.cert_store_stats()["x509_ca"])


@pytest.fixture
def fresh_context() -> Iterator[None]:
    wire.tls_context.cache_clear()  # the process's shared context, rebuilt for this test and after it
    yield
    wire.tls_context.cache_clear()


def test_it_verifies_as_httpx_does_once_it_is_needed() -> None:
    ctx = wire.verifying_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname and ctx.protocol == ssl.PROTOCOL_TLS_CLIENT
    assert cas(ctx) == 0, "nothing is loaded before a handshake"
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="api.example.com")  # what a TLS-in-TLS proxy connection does first
    assert cas(ctx) > 50
    assert ctx.get_ca_certs() == httpx.create_ssl_context().get_ca_certs(), "the same roots as httpx's default context"


def test_ssl_cert_file_is_honoured_and_a_missing_one_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = certifi.contents()
    one = bundle[: bundle.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")] + "\n"
    (tmp_path / "one.pem").write_text(one[one.index("-----BEGIN CERTIFICATE-----") :])
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "one.pem"))
    ctx = wire.verifying_context()
    assert cas(ctx) == 0
    ctx.load()
    assert cas(ctx) == 1
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(FileNotFoundError):
        wire.verifying_context()


def test_the_tls_environment_is_read_as_httpx_reads_it() -> None:
    assert tls_environment({}) == TLSEnvironment(None, None, None), "no variables: certifi's bundle, no key log"
    both = {"SSL_CERT_FILE": "/a.pem", "SSL_CERT_DIR": "/certs", "SSLKEYLOGFILE": "/keys.log"}
    assert tls_environment(both) == TLSEnvironment("/a.pem", None, "/keys.log"), "a file wins over a directory"
    assert tls_environment({"SSL_CERT_FILE": "", "SSL_CERT_DIR": "/certs"}) == TLSEnvironment(None, "/certs", None), "an empty file is unset"
    assert tls_environment(both, ignore_environment=True).keylog is None, "python -E writes no key log"


def test_an_http_endpoint_never_loads_the_bundle_and_an_https_warm_up_does(fresh_context: None) -> None:
    with ScriptedServer(copying) as server:
        settings = settings_for(server.url)
        prewarm(settings, ExtractionDraft)
        llm = LLM(settings)
        try:
            result = llm.structured(ExtractionDraft, [{"role": "user", "content": fence("s1", "At least 7 workers were killed on Monday, police said.")}])
        finally:
            llm.close()
        assert isinstance(result.value, ExtractionDraft) and len(server.requests) == 1
    assert cas(wire.tls_context()) == 0
    prewarm(settings_for("https://api.example.com/v1"), ExtractionDraft)  # a worker warming up for an https endpoint
    assert cas(wire.tls_context()) > 50


def test_a_certificate_it_cannot_verify_is_refused(tmp_path: Path) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(conn, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client hung up on our certificate

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with httpx.Client(verify=wire.verifying_context()) as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(f"https://127.0.0.1:{port}/")
    finally:
        thread.join(timeout=10)
        listener.close()
