"""A standalone OpenAI-compatible chat-completions server with a set latency and rate limits.

For benchmarks only: ``batch_throughput.py`` starts it as a separate process, so that the
server's CPU is not taken from the client being measured. Standard library only.

    python benchmarks/limit_server.py --latency 0.2 --rpm 1200
    http://127.0.0.1:PORT/v1          <- first line on stdout; serves until killed or stdin closes

Behaviour
---------
* ``POST /v1/chat/completions`` answers ``--latency`` seconds after its request head arrived (the
  server's own parsing and answering count as part of it; the answer is then written by a timer on
  an asyncio event loop, so concurrent requests overlap like on a real endpoint, and a few hundred
  in flight cost the machine little CPU; HTTP/1.1 with keep-alive). The answer is
  a schema-valid ``ExtractionDraft`` built from the fenced article's own sentences, the same
  construction as ``tests/helpers.copying_answer`` (built once per article and kept: a benchmark
  sends the same articles in each run it compares); as a forced tool call when the request has
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
import asyncio
import contextlib
import functools
import hashlib
import json
import math
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import urlsplit

Reply = tuple[int, list[tuple[str, str]], bytes]  # status, extra headers, body

# The END line repeats the BEGIN digest (summarize.prompts.fence), so an article cannot end it early.
_BEGIN = re.compile(r"^----- BEGIN SOURCE (?P<id>\S+) (?P<digest>[0-9a-f]{12}) -----\n", re.MULTILINE)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]")
_NUMBER = re.compile(r"\d[\d,]*")


def fenced_text(body: dict[str, Any]) -> str | None:
    """The first fenced article of the request's messages: from the line after a BEGIN line to the line before the first
    END line with the same digest (a whole line of its own). Found with ``str.find``: one pattern spanning the article
    lazily tried to end it at every character (~0.1 ms a request, on the same cores as the client it measures)."""
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str):
            continue
        for begin in _BEGIN.finditer(content):
            end_line = f"----- END SOURCE {begin['digest']} -----"
            at = content.find(end_line, begin.end())
            while at >= 0:
                line_start = at == begin.end() or content[at - 1] == "\n"
                line_end = at + len(end_line) == len(content) or content[at + len(end_line)] == "\n"
                if line_start and line_end:
                    return content[begin.end() : max(begin.end(), at - 1)]
                at = content.find(end_line, at + 1)
    return None


@functools.lru_cache(maxsize=8192)
def answer_json(text: str) -> str:
    """``copying_answer(text)`` as JSON, kept per article: a benchmark sends the same articles in every run it compares."""
    return json.dumps(copying_answer(text), ensure_ascii=False)


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


class App:
    """What the server answers; the HTTP layer (``serve``) only reads requests and writes what this returns."""

    def __init__(self, latency: float, limits: Limits) -> None:
        self.latency = latency
        self.limits = limits
        self.completions = 0

    def answer(self, method: str, target: str, raw: bytes) -> Reply | Callable[[], Reply]:
        """The reply now (an error, a 429), or for an admitted request a callable the connection calls once the latency
        has passed: it takes the completion tokens then, and gives the reply, built beforehand."""
        path = urlsplit(target).path
        if method == "GET":
            if path == "/stats":
                return 200, [], json.dumps(self.limits.stats()).encode()
            return _error(404, f"Invalid URL (GET {target})", "invalid_request_error", None, [])
        if method != "POST" or path != "/v1/chat/completions":
            return _error(404, f"Invalid URL ({method} {target})", "invalid_request_error", None, [])
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", "invalid_request_error", None, [])
        prompt_tokens = max(1, len(raw) // 4)
        index, wait, kind, headers = self.limits.admit(prompt_tokens)
        if index is None:
            retry = f"{wait:.3f}"
            message = f"Rate limit reached for {kind} per min. Please try again in {retry}s."
            return _error(429, message, kind, "rate_limit_exceeded", [("retry-after", retry), *headers])
        text = fenced_text(body)
        if text is None:
            return _error(500, "no fenced source in the request", "server_error", None, headers)
        answer = answer_json(text)
        completion_tokens = max(1, len(answer) // 4)
        payload = json.dumps(self._completion(body, answer, prompt_tokens, completion_tokens)).encode()
        return lambda: (200, self.limits.complete(index, completion_tokens), payload)

    def _completion(self, body: dict[str, Any], answer: str, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        self.completions += 1
        n = self.completions
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


def _error(status: int, message: str, err_type: str, code: str | None, headers: list[tuple[str, str]]) -> tuple[int, list[tuple[str, str]], bytes]:
    return status, headers, json.dumps({"error": {"message": message, "type": err_type, "param": None, "code": code}}).encode()


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error"}


class Connection(asyncio.Protocol):
    """One connection: HTTP/1.1 requests with a content-length body, one at a time, kept alive until the client closes it.

    A protocol on the event loop, not a stream reader and a task per connection: the answer is written by a timer
    callback at head arrival + latency. The server runs on the same cores as the client it measures, so its CPU per
    request is kept small (~0.3 ms; streams and a sleeping task cost ~1 ms)."""

    def __init__(self, app: App, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.arrived: float | None = None  # when the head of the request being read was complete
        self.waiting = False  # an answer is due: requests that come meanwhile wait their turn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body in one write anyway; no delayed-ACK wait

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None  # the client hung up: an answer still due is dropped

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._serve()

    def _serve(self) -> None:
        while not self.waiting and self.transport is not None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if self.arrived is None:
                self.arrived = time.monotonic()  # the latency runs from the request's head: our own work is part of it
            lines = self.buffer[:end].decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self.transport.close()
                return
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            if len(self.buffer) < end + 4 + length:
                return  # the body is still coming
            raw = bytes(self.buffer[end + 4 : end + 4 + length])
            del self.buffer[: end + 4 + length]
            arrived, self.arrived = self.arrived, None
            close = headers.get("connection", "").lower() == "close" or version.strip() == "HTTP/1.0"
            # Answered after every connection the loop found readable has had its request stamped: answering one first
            # (~0.3 ms) would stamp the next one late, and a wave of 64 requests would see up to 20 ms more latency.
            self.waiting = True
            self.loop.call_soon(self._answer, method, target, raw, arrived, close)
            return

    def _answer(self, method: str, target: str, raw: bytes, arrived: float, close: bool) -> None:
        reply = self.app.answer(method, target, raw)
        if callable(reply):
            self.loop.call_at(arrived + self.app.latency, self._answer_due, reply, close)
            return
        self.waiting = False
        self._write(reply, close)
        self._serve()

    def _answer_due(self, finish: Callable[[], Reply], close: bool) -> None:
        self.waiting = False
        if self.transport is not None:
            self._write(finish(), close)
            self._serve()

    def _write(self, reply: Reply, close: bool) -> None:
        if self.transport is None:
            return
        status, extra, body = reply
        out = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}", "content-type: application/json", *(f"{k}: {v}" for k, v in extra)]
        out.append(f"content-length: {len(body)}")
        self.transport.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
        if close:
            self.transport.close()
            self.transport = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds before each answer (default 0.2)")
    parser.add_argument("--rpm", type=float, help="requests per minute the server admits")
    parser.add_argument("--tpm", type=float, help="tokens per minute the server admits")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    args = parser.parse_args(argv)
    # Loopback only: a benchmark fake must never be reachable from another machine.
    app = App(args.latency, Limits(args.rpm, args.tpm))
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(lambda: Connection(app, loop), "127.0.0.1", args.port, backlog=4096))
    threading.Thread(target=loop.run_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()  # returns when the parent closes our stdin or exits
    loop.call_soon_threadsafe(server.close)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
