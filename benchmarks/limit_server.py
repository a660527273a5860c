"""A standalone OpenAI-compatible chat-completions server with a set latency and rate limits.

For benchmarks only: ``batch_throughput.py`` starts it as a separate process, so that the
server's CPU is not taken from the client being measured. Standard library only.

    python benchmarks/limit_server.py --latency 0.2 --rpm 1200
    http://127.0.0.1:PORT/v1          <- first line on stdout; serves until killed or stdin closes

Behaviour
---------
* ``POST /v1/chat/completions`` answers ``--latency`` seconds after its request line arrived (the
  server's own parsing and answering count as part of it; the rest is slept in the handler's own
  thread, holding no lock, so concurrent requests overlap like on a real endpoint). The answer is
  a schema-valid ``ExtractionDraft`` built from the fenced article's own sentences, the same
  construction as ``tests/helpers.copying_answer``; as a forced tool call when the request has
  tools, else as message content.
* Limits (``--rpm``, ``--tpm``) are token buckets holding one second's worth (the burst) and
  refilling at limit/60 per second. Token counting, kept simple and stated here:
  prompt tokens = len(request body) // 4 and completion tokens = len(answer) // 4. A request is
  admitted when the request bucket holds 1 and the token bucket holds its prompt tokens; both are
  taken at admission. The completion tokens are taken when the answer is sent (after the
  latency), and may drive the token bucket below zero, which delays later admissions. (OpenAI
  counts prompt + max_tokens at admission; we have no max_tokens to count.)
* Over a limit: HTTP 429 at once (no latency), ``retry-after`` = seconds until the bucket holds
  enough (a decimal string), and OpenAI's ``rate_limit_exceeded`` error body.
* Every response carries ``x-ratelimit-limit-{requests,tokens}``,
  ``x-ratelimit-remaining-{requests,tokens}`` and ``x-ratelimit-reset-{requests,tokens}`` (time
  until the bucket is full again, e.g. "120ms"), as OpenAI sends them; the limit headers are sent
  only for the limits that are set.
* ``GET /stats``: counters (requests, 429s, admitted requests and tokens) and, per admitted
  request, ``[seconds since the server started, prompt tokens, completion tokens]``, from which
  the benchmark computes the rate it achieved.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import re
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# The END line repeats the BEGIN digest (summarize.prompts.fence), so an article cannot end it early.
_FENCE = re.compile(
    r"^----- BEGIN SOURCE (?P<id>\S+) (?P<digest>[0-9a-f]{12}) -----\n(?P<text>.*?)\n?^----- END SOURCE (?P=digest) -----$",
    re.MULTILINE | re.DOTALL,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]")
_NUMBER = re.compile(r"\d[\d,]*")


def fenced_text(body: dict[str, Any]) -> str | None:
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str) and (match := _FENCE.search(content)):
            return match.group("text")
    return None


def copying_answer(text: str) -> dict[str, Any]:
    """A schema-valid extraction built only from sentences copied out of ``text`` (as tests/helpers.copying_answer)."""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text) if len(m.group(0).strip()) > 20] or [text.strip()]
    figures: list[dict[str, Any]] = []
    for sentence in sentences:
        match = _NUMBER.search(sentence)
        if match and len(figures) < 4:
            figures.append(
                {
                    "id": f"f{len(figures) + 1}",
                    "metric": "killed",
                    "population": "all",
                    "party": None,
                    "value": int(match.group(0).replace(",", "")),
                    "low": None,
                    "high": None,
                    "qualifier": "exact",
                    "vague_word": None,
                    "time_window": None,
                    "place": None,
                    "attributed_to": "the outlet",
                    "quote": sentence,
                    "gloss": None,
                }
            )
    claims: list[dict[str, Any]] = [
        {"text": f"The outlet reported: {s[:80]}", "claim_type": "event", "attributed_to": "the outlet", "quote": s, "gloss": None, "loaded_terms": []}
        for s in sentences[:2]
    ]
    event = {
        "summary": "Fighting was reported.",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "date_as_written": None,
        "granularity": "aggregate",
        "status": "occurred",
        "actors": [],
        "locations": [],
        "figure_ids": [f["id"] for f in figures],
        "quote": sentences[0],
    }
    return {"events": [event], "figures": figures, "claims": claims, "actors": []}


def duration(seconds: float) -> str:
    """OpenAI's reset format: '1s', '120ms', '6m0s'."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s"


class Bucket:
    """One second's worth of capacity, refilled continuously at limit/60 per second."""

    def __init__(self, per_minute: float) -> None:
        self.limit = per_minute
        self.rate = per_minute / 60
        self.capacity = self.rate  # the burst: one second's worth
        self.level = self.capacity
        self.updated = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
        self.updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until the bucket holds ``amount`` (0 if it does now). Call after refill."""
        # A request larger than the whole burst waits for a full bucket rather than forever.
        need = min(amount, self.capacity)
        return 0.0 if self.level >= need else (need - self.level) / self.rate

    def headers(self, kind: str) -> list[tuple[str, str]]:
        return [
            (f"x-ratelimit-limit-{kind}", str(int(self.limit))),
            (f"x-ratelimit-remaining-{kind}", str(max(0, math.floor(self.level)))),
            (f"x-ratelimit-reset-{kind}", duration((self.capacity - self.level) / self.rate)),
        ]


class Limits:
    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.requests = Bucket(rpm) if rpm else None
        self.tokens = Bucket(tpm) if tpm else None
        self.received = 0
        self.rejected = 0
        self.admitted: list[list[float]] = []  # [t, prompt tokens, completion tokens]

    def admit(self, prompt_tokens: int) -> tuple[int | None, float, str, list[tuple[str, str]]]:
        """(index of the admission or None, retry-after seconds, the limit that refused, rate-limit headers)."""
        with self.lock:
            now = time.monotonic()
            self.received += 1
            buckets = [(b, amount) for b, amount in ((self.requests, 1.0), (self.tokens, float(prompt_tokens))) if b is not None]
            for bucket, _ in buckets:
                bucket.refill(now)
            waits = {("requests" if bucket is self.requests else "tokens"): bucket.wait_for(amount) for bucket, amount in buckets}
            kind = max(waits, key=lambda k: waits[k], default="requests")
            wait = waits.get(kind, 0.0)
            index = None
            if wait > 0:
                self.rejected += 1
            else:
                for bucket, amount in buckets:
                    bucket.level -= amount
                index = len(self.admitted)
                self.admitted.append([round(now - self.started, 4), prompt_tokens, 0])
            return index, wait, kind, self._headers()

    def complete(self, index: int, completion_tokens: int) -> list[tuple[str, str]]:
        with self.lock:
            self.admitted[index][2] = completion_tokens
            if self.tokens is not None:
                self.tokens.refill(time.monotonic())
                self.tokens.level -= completion_tokens
            return self._headers()

    def _headers(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        if self.requests is not None:
            out += self.requests.headers("requests")
        if self.tokens is not None:
            out += self.tokens.headers("tokens")
        return out

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.received,
                "rate_limited": self.rejected,
                "admitted": len(self.admitted),
                "admitted_tokens": sum(p + c for _, p, c in self.admitted),
                "rpm": self.requests.limit if self.requests else None,
                "tpm": self.tokens.limit if self.tokens else None,
                "admissions": [list(a) for a in self.admitted],
            }


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # sixteen workers opening connections at once must not be refused
    latency: float
    limits: Limits
    completions: int = 0

    def handle_error(self, request: object, client_address: object) -> None:
        # One line, not a traceback per connection: a client hanging up mid-answer is not news here.
        print(f"limit_server: a request from {client_address} failed: {sys.exc_info()[1]!r}", file=sys.stderr)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
    server: Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; with Nagle on, each reply would wait for the client's delayed ACK (~40 ms).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:
        pass  # thousands of requests; the counters on /stats are the log

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/stats":
            self._send(200, [], json.dumps(self.server.limits.stats()).encode())
        else:
            self._error(404, f"Invalid URL (GET {self.path})", "invalid_request_error", None, [])

    def parse_request(self) -> bool:
        # The latency is the server's response time: it runs from the moment the request line is
        # in, so the time this server spends parsing headers, reading the body and building the
        # answer is part of it rather than added to it.
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_POST(self) -> None:
        due = self.arrived + self.server.latency
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        if urlsplit(self.path).path != "/v1/chat/completions":
            self._error(404, f"Invalid URL (POST {self.path})", "invalid_request_error", None, [])
            return
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self._error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None, [])
            return
        prompt_tokens = max(1, len(raw) // 4)
        limits = self.server.limits
        index, wait, kind, headers = limits.admit(prompt_tokens)
        if index is None:
            retry = f"{wait:.3f}"
            message = f"Rate limit reached for {kind} per min. Please try again in {retry}s."
            self._error(429, message, kind, "rate_limit_exceeded", [("retry-after", retry), *headers])
            return
        text = fenced_text(body)
        if text is None:
            self._error(500, "no fenced source in the request", "server_error", None, headers)
            return
        answer = json.dumps(copying_answer(text), ensure_ascii=False)
        completion_tokens = max(1, len(answer) // 4)
        time.sleep(max(0.0, due - time.monotonic()))
        headers = limits.complete(index, completion_tokens)
        self._send(200, headers, json.dumps(self._completion(body, answer, prompt_tokens, completion_tokens)).encode())

    def _completion(self, body: dict[str, Any], answer: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        with self.server.limits.lock:
            self.server.completions += 1
            n = self.server.completions
        message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
        tools = body.get("tools") or []
        if tools:
            name = str(tools[0].get("function", {}).get("name", ""))
            call_id = "call_" + hashlib.sha256(f"{n}/{name}".encode()).hexdigest()[:24]
            message["tool_calls"] = [{"id": call_id, "type": "function", "function": {"name": name, "arguments": answer}}]
        else:
            message["content"] = answer
        return {
            "id": f"chatcmpl-bench-{n:06d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "bench-model"),
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        }

    def _error(self, status: int, message: str, err_type: str, code: str | None, headers: list[tuple[str, str]]) -> None:
        body = {"error": {"message": message, "type": err_type, "param": None, "code": code}}
        self._send(status, headers, json.dumps(body).encode())

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        try:
            self.send_response_only(status)
            self.send_header("content-type", "application/json")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client hung up first
            self.close_connection = True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each answer (default 0.2)")
    parser.add_argument("--rpm", type=float, help="requests per minute the server admits")
    parser.add_argument("--tpm", type=float, help="tokens per minute the server admits")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    # Loopback only: a benchmark fake must never be reachable from another machine.
    server = Server(("127.0.0.1", args.port), Handler)
    server.latency = args.latency
    server.limits = Limits(args.rpm, args.tpm)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # returns when the parent closes our stdin or exits
    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
