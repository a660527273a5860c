"""A scripted OpenAI-compatible chat-completions server, bound to 127.0.0.1 only.

Tests give it replies (or a function choosing one from the request body) and point the
real ``openai`` client at ``server.url``. Bodies follow the real recordings in
shared/reference/openai-wire/ and are byte-identical for the same request sequence, so
they can be compared, or recorded into cassettes with nothing to scrub.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

__all__ = ["RecordedRequest", "Reply", "Responder", "ScriptedServer", "answers_by_source", "fenced_sources", "sequence_then"]

log = logging.getLogger(__name__)

CREATED = 1732780800
MODEL_ID = "scripted-model"
SERVER_ERROR = "The server had an error while processing your request. Sorry about that!"

_Kind = Literal["answer", "text", "refusal", "truncated", "content_filter", "error", "reset", "invalid_json", "html", "empty_choices"]
_COMPUTED = "computed"  # Reply.usage's default: the server counts the tokens itself


@dataclass(frozen=True)
class Reply:
    """One scripted outcome for one chat-completions request; build it with a factory."""

    kind: _Kind
    payload: str = ""  # answer JSON, plain content, refusal or error message
    status_code: int = 200
    err_type: str = "server_error"
    code_str: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    usage: str = _COMPUTED  # the usage object as JSON ("null" sends null), "" leaves the key out, _COMPUTED counts
    served_model: str = ""  # the model the completion says answered; "" echoes the requested one
    trickle: float = 0.0  # seconds between bytes: the response goes out one byte at a time
    trickle_for: float = 0.0  # ... for at most this long, then the rest at once (0: to the end)
    trickle_headers: bool = False  # trickle from the status line on, not only the body

    @staticmethod
    def answer(obj: dict[str, Any] | list[Any] | str) -> Reply:
        # Serialised here so an unserialisable obj fails in the test, not in the server.
        text = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
        return Reply("answer", text)

    @staticmethod
    def text(content: str) -> Reply:
        return Reply("text", content)

    @staticmethod
    def refusal(message: str = "I'm sorry, I can't help with that.") -> Reply:
        return Reply("refusal", message)

    @staticmethod
    def truncated(partial: str) -> Reply:
        return Reply("truncated", partial)

    @staticmethod
    def content_filter(partial: str = "") -> Reply:
        """An answer stopped by the provider's content filter (``finish_reason=content_filter``)."""
        return Reply("content_filter", partial)

    @staticmethod
    def status(
        code: int, message: str = SERVER_ERROR, *, headers: dict[str, str] | None = None, err_type: str = "server_error", code_str: str | None = None
    ) -> Reply:
        pairs = tuple((headers or {}).items())
        return Reply("error", message, code, err_type, code_str, pairs)

    @staticmethod
    def rate_limited(retry_after: float | None = 1.0) -> Reply:
        headers: dict[str, str] = {}
        wait = "a moment"
        if retry_after is not None:
            # Whole seconds as plain digits ("1"), as servers send them; the SDK reads
            # fractions too.
            seconds = f"{retry_after:.3f}".rstrip("0").rstrip(".")
            headers["retry-after"], wait = seconds, f"{seconds}s"
        message = f"Rate limit reached for requests per min (RPM): Limit 1, Used 1, Requested 1. Please try again in {wait}."
        return Reply.status(429, message, headers=headers, err_type="requests", code_str="rate_limit_exceeded")

    @staticmethod
    def reset() -> Reply:
        return Reply("reset")

    @staticmethod
    def invalid_json() -> Reply:
        return Reply("invalid_json")

    @staticmethod
    def html_error(code: int = 502) -> Reply:
        return Reply("html", status_code=code)

    @staticmethod
    def empty_choices() -> Reply:
        return Reply("empty_choices")

    def after(self, seconds: float) -> Reply:
        return replace(self, delay=seconds)

    def with_usage(self, usage: object = None, *, absent: bool = False) -> Reply:
        """Send ``usage`` as the completion's usage object as it is (None sends null), or leave the key out."""
        return replace(self, usage="" if absent else json.dumps(usage))

    def served_as(self, model: str) -> Reply:
        return replace(self, served_model=model)

    def trickled(self, every: float, *, at_most: float = 0.0, headers: bool = False) -> Reply:
        """Send the response one byte every ``every`` seconds (for at most ``at_most`` seconds, then the rest at once)."""
        return replace(self, trickle=every, trickle_for=at_most, trickle_headers=headers)


Responder = Callable[[dict[str, Any]], Reply]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: dict[str, Any] | None  # None when absent or not a JSON object


def _json_bytes(obj: object) -> bytes:
    # Like the real API: pretty-printed, trailing newline, keys in insertion order so
    # they read id, object, created, model, choices, usage, ...
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode()


def _error_body(message: str, err_type: str, code: str | None = None) -> bytes:
    err = {"message": message, "type": err_type, "param": None, "code": code}
    return _json_bytes({"error": err})


def _tool_target(body: Mapping[str, Any]) -> tuple[str, bool] | None:
    """(function name, named by tool_choice) when a tool call is wanted, else None."""
    tools = body.get("tools") or []
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        return str(choice["function"].get("name", "")), True
    if len(tools) == 1:
        return str(tools[0].get("function", {}).get("name", "")), False
    return None  # several tools, none named: which one is ambiguous, so answer in text


def _usage(body: Mapping[str, Any], payload: str) -> dict[str, Any]:
    prompt = max(1, len(json.dumps(body.get("messages", []))) // 4)
    completion = max(1, len(payload) // 4)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def _completion(reply: Reply, body: Mapping[str, Any], n: int) -> dict[str, Any]:
    completion_id = f"chatcmpl-scripted-{n:04d}"
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = {"truncated": "length", "content_filter": "content_filter"}.get(reply.kind, "stop")
    target = None if reply.kind in ("text", "refusal") else _tool_target(body)
    if target is not None:
        name, named = target
        digest = hashlib.sha256(f"{completion_id}/{name}".encode()).hexdigest()[:24]
        call = {"name": name, "arguments": reply.payload}
        message["tool_calls"] = [{"id": f"call_{digest}", "type": "function", "function": call}]
        # OpenAI ends a call forced by name with "stop", and auto/required calls with
        # "tool_calls" (measured in vllm-project/vllm#25054; recordings show the latter).
        if reply.kind not in ("truncated", "content_filter") and not named:
            finish = "tool_calls"
    elif reply.kind != "refusal":
        message["content"] = reply.payload
    message["refusal"] = reply.payload if reply.kind == "refusal" else None
    message["annotations"] = []
    choice = {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
    empty = reply.kind == "empty_choices"
    completion = {
        "id": completion_id,
        "object": "chat.completion",
        "created": CREATED,
        "model": reply.served_model or body.get("model", MODEL_ID),
        "choices": [] if empty else [choice],
        "usage": _usage(body, "" if empty else reply.payload),
        "service_tier": "default",
        "system_fingerprint": "fp_scripted",
    }
    if reply.usage == "":
        del completion["usage"]
    elif reply.usage != _COMPUTED:
        completion["usage"] = json.loads(reply.usage)
    return completion


# The END line must repeat the BEGIN digest, so a forged END inside an article does not
# end the fence early.
_FENCE = re.compile(
    r"^----- BEGIN SOURCE (?P<id>\S+) (?P<digest>[0-9a-f]{12}) -----\n"
    r"(?P<text>.*?)\n?^----- END SOURCE (?P=digest) -----$",
    re.MULTILINE | re.DOTALL,
)


def fenced_sources(body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(source_id, text) of each fenced article in string message contents, in order."""
    found: list[tuple[str, str]] = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            found += [(m["id"], m["text"]) for m in _FENCE.finditer(content)]
    return found


def answers_by_source(answers: Mapping[str, Any], *, default: Reply | None = None) -> Responder:
    """Answer for the first fenced source id; a Reply value is served as it is."""

    def respond(body: dict[str, Any]) -> Reply:
        sources = fenced_sources(body)
        if sources and sources[0][0] in answers:
            value = answers[sources[0][0]]
            return value if isinstance(value, Reply) else Reply.answer(value)
        if default is not None:
            return default
        if not sources:
            return Reply.status(500, "no fenced source in request")
        return Reply.status(500, f"no scripted answer for {sources[0][0]}")

    return respond


def sequence_then(replies: Sequence[Reply], then: Responder) -> Responder:
    """Serve `replies` in order (faults, say), then delegate every request to `then`."""
    pending = deque(replies)
    lock = threading.Lock()

    def respond(body: dict[str, Any]) -> Reply:
        with lock:
            if pending:
                return pending.popleft()
        return then(body)

    return respond


class ScriptedServer:
    """Serves scripted replies from a daemon thread while used as a context manager."""

    def __init__(self, responder: Responder | Sequence[Reply], *, models_reply: Reply | None = None) -> None:
        self.models_reply = models_reply  # answers GET /v1/models instead of the model list (an error status, say)
        if callable(responder):
            self._responder: Responder = responder
        else:
            self._responder = sequence_then(responder, lambda _body: Reply.status(500, "script exhausted"))
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._completions = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("ScriptedServer is not running: use it in a with block")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> ScriptedServer:
        if self._httpd is not None:
            raise RuntimeError("ScriptedServer is already running")
        self._stopping.clear()
        # Loopback only: a test fake must never be reachable from another machine.
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="scripted-openai-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in Reply.after()
        httpd.shutdown()
        with self._lock:
            live = list(self._connections)
        for conn in live:  # wakes handlers waiting on idle keep-alive connections
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _track(self, conn: socket.socket, live: bool) -> None:
        with self._lock:
            (self._connections.add if live else self._connections.discard)(conn)

    def _record(self, request: RecordedRequest) -> int:
        with self._lock:
            self.requests.append(request)
            return len(self.requests)

    def _chat(self, body: dict[str, Any]) -> tuple[int, str, bytes, Reply]:
        """(status, content type, body, reply) for one chat-completions request."""
        try:
            reply = self._responder(body)
        except Exception as exc:  # a responder bug should fail the test, legibly
            log.exception("scripted responder raised")
            reply = Reply.status(500, f"responder raised {type(exc).__name__}: {exc}")
        return self._chat_reply(reply, body)

    def _chat_reply(self, reply: Reply, body: Mapping[str, Any] | None = None) -> tuple[int, str, bytes, Reply]:
        if reply.kind == "error":
            payload = _error_body(reply.payload, reply.err_type, reply.code_str)
            return reply.status_code, "application/json", payload, reply
        if reply.kind == "invalid_json":
            # Cut off mid-object, as a body from a dying upstream would be.
            cut = b'{\n  "id": "chatcmpl-scripted",\n  "object": "chat.compl'
            return 200, "application/json", cut, reply
        if reply.kind == "html":
            title = f"{reply.status_code} {HTTPStatus(reply.status_code).phrase}"
            page = (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
                f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n"
            )
            return reply.status_code, "text/html", page.encode(), reply
        if reply.kind == "reset":
            return 0, "", b"", reply
        with self._lock:
            self._completions += 1
            n = self._completions
        return 200, "application/json", _json_bytes(_completion(reply, body or {}, n)), reply


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # stopping must not wait for a handler stuck on a client
    owner: ScriptedServer

    def handle_error(self, request: object, client_address: object) -> None:
        # Clients hanging up (their timeouts, our resets) are part of the script.
        log.debug("connection from %s ended with an error", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, each reply would wait
        # for the client's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        body = parsed if isinstance(parsed, dict) else None
        path = urlsplit(self.path).path
        headers = {k.lower(): v for k, v in self.headers.items()}
        # Recorded before replying, so a test sees the request even when it is reset.
        seq = owner._record(RecordedRequest(self.command, path, headers, body))
        extra: list[tuple[str, str]] = [("x-request-id", f"req_scripted_{seq:04d}")]
        status, ctype, payload = 200, "application/json", b""
        if self.command == "POST" and path == "/v1/chat/completions":
            if body is None or body.get("stream"):
                msg = "We could not parse the JSON body of your request." if body is None else "ScriptedServer does not support stream=true."
                status, payload = 400, _error_body(msg, "invalid_request_error")
            else:
                status, ctype, payload, reply = owner._chat(body)
                owner._stopping.wait(reply.delay)
                if reply.kind == "reset":
                    self._reset()
                    return
                if reply.kind == "html":
                    extra = []  # a gateway answers for the API, without its headers
                extra += list(reply.headers)
                if reply.trickle:
                    self._trickle(status, [("content-type", ctype), *extra], payload, reply)
                    return
        elif self.command == "GET" and path == "/v1/models" and owner.models_reply is not None:
            status, ctype, payload, _ = owner._chat_reply(owner.models_reply)
            extra += list(owner.models_reply.headers)
        elif self.command == "GET" and path == "/v1/models":
            model = {"id": MODEL_ID, "object": "model", "created": CREATED}
            models = {"object": "list", "data": [{**model, "owned_by": "scripted"}]}
            payload = _json_bytes(models)
        else:
            msg = f"Invalid URL ({self.command} {path})"
            status, payload = 404, _error_body(msg, "invalid_request_error")
        self._send(status, [("content-type", ctype), *extra], payload)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            # send_response_only leaves out the Date and Server headers, keeping the
            # whole response the same from run to run.
            self.send_response_only(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up first, e.g. its read timeout fired
            self.close_connection = True

    def _trickle(self, status: int, headers: list[tuple[str, str]], body: bytes, reply: Reply) -> None:
        """The response one byte at a time (from the status line on, or the body only), as a stalled upstream sends it."""
        head = f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\n".encode()
        head += b"".join(f"{k}: {v}\r\n".encode() for k, v in [*headers, ("content-length", str(len(body)))]) + b"\r\n"
        data, slow_from = head + body, 0 if reply.trickle_headers else len(head)
        stopping = self.server.owner._stopping
        started = time.monotonic()
        try:
            self.wfile.write(data[:slow_from])
            self.wfile.flush()
            for i in range(slow_from, len(data)):
                if stopping.is_set() or (reply.trickle_for and time.monotonic() - started >= reply.trickle_for):
                    self.wfile.write(data[i:])
                    break
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                stopping.wait(reply.trickle)
        except OSError:  # the client gave up: its deadline fired
            pass
        self.close_connection = True

    def _reset(self) -> None:
        self.close_connection = True
        # Linger 0 makes close() send RST rather than FIN: a reset, not a hang-up.
        linger = struct.pack("ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.rfile.close()  # drop the makefile's reference, so close() closes the fd
        self.connection.close()
