"""Run a command against a local GGUF model: start llama-cpp-python's server on 127.0.0.1, wait for it, stop it.

``summarize extract|brief|batch --local MODEL.gguf`` needs the ``local`` extra
(``pip install 'summarize[local]'``, which builds llama.cpp from source: about 7 minutes on 2 cores).
The server runs in this Python (``python -m llama_cpp.server``) on a free port, with the context
window the run asks for (``--context-tokens``, default DEFAULT_CONTEXT) and one thread per core.
Its log goes to a temporary file, whose last lines are shown if it fails to start. While it runs, a
line every HEARTBEAT seconds says the model is still working, since one short article can take
minutes on a laptop CPU.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from summarize.errors import ConfigError, EndpointError

log = logging.getLogger(__name__)
DEFAULT_CONTEXT = 16384
START_TIMEOUT = 300.0
HEARTBEAT = 30.0


@dataclass(frozen=True)
class LocalServer:
    url: str  # the OpenAI-compatible base URL, ending in /v1
    model: str  # the name requests use: the file's stem
    context_tokens: int
    pid: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 8) -> str:
    try:
        return " | ".join(path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def check_local(model: Path) -> None:
    """Fail in one line, before anything starts, when the model file or the extra is missing."""
    if not model.is_file():
        raise ConfigError(f"--local: no GGUF model file at {model}")
    with model.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise ConfigError(f"--local: {model} is not a GGUF model file (it does not start with 'GGUF')")
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError(
            "--local needs llama-cpp-python's server in this Python: pip install 'summarize[local]' "
            "(it builds llama.cpp from source, about 7 minutes on 2 cores)"
        )


@contextmanager
def local_server(
    model: Path, *, context_tokens: int | None = None, threads: int | None = None, say: Callable[[str], None] | None = None
) -> Iterator[LocalServer]:
    """The server for ``model``, running for the duration of the block; stopped (then killed) afterwards."""
    check_local(model)
    n_ctx = context_tokens or DEFAULT_CONTEXT
    port = _free_port()
    logfile = Path(tempfile.mkstemp(prefix="summarize-llama-", suffix=".log")[1])
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--n_ctx", str(n_ctx), "--n_threads", str(threads or os.cpu_count() or 2)]
    started = time.monotonic()
    with logfile.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/v1"
    stop = threading.Event()
    try:
        while True:
            if process.poll() is not None:
                raise EndpointError(f"--local: the llama.cpp server exited with code {process.returncode} before it was ready: {_tail(logfile)}")
            try:
                if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - started > START_TIMEOUT:
                raise EndpointError(f"--local: the llama.cpp server was not ready after {START_TIMEOUT:.0f} s: {_tail(logfile)}")
            time.sleep(0.25)
        log.info("local model %s ready on %s after %.1f s (context %d tokens)", model.name, url, time.monotonic() - started, n_ctx)
        if say is not None:
            say(f"local model {model.name} ready after {time.monotonic() - started:.1f} s (context {n_ctx} tokens)")

            def beat() -> None:
                while not stop.wait(HEARTBEAT):
                    say(f"local model still working ({time.monotonic() - started:.0f} s since start)")

            threading.Thread(target=beat, name="summarize-local-heartbeat", daemon=True).start()
        yield LocalServer(url=url, model=model.stem, context_tokens=n_ctx, pid=process.pid)
    finally:
        stop.set()
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        logfile.unlink(missing_ok=True)
