"""The bytes on the wire: request bodies serialised once, answers that are not JSON described in one line,
what a server asked us to wait, and the run log's record of one request. SDK-free."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
import os
import re
import ssl
import sys
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from summarize.config import ANSWER_TOKENS, Settings, tls_environment

log = logging.getLogger("summarize.llm.client")


class BodyNotJSON(ValueError):
    """A 200 answer whose body is not JSON: a proxy's or captive portal's page, or a garbled body."""

    def __init__(self, content_type: str, body: str) -> None:
        kind = content_type.split(";")[0].strip() or "no content type"
        super().__init__(f"{kind}: {describe_body(body)}")


# What ``chat.completions.with_raw_response.create`` adds to a request: the body's type, and the
# SDK's marker for "hand back the raw response" (``.parse()`` then builds the ChatCompletion).
RAW_JSON: Any = {"headers": {"Content-Type": "application/json", "X-Stainless-Raw-Response": "true"}}


def json_body(kwargs: dict[str, Any]) -> bytes:
    """The request body as the SDK serialises it (compact separators, UTF-8, no NaN; models and
    datetimes the way its encoder writes them).

    The tool schema is the same in every request of a run and is most of the body (~12 KB of ~20 KB; ~80 % of
    the time to serialise it): its JSON is kept, with a copy of the schema it came from, and spliced in where the
    key stands whenever the request's tools equal that copy (a comparison costs ~4 us, the JSON ~70 us)."""
    global _TOOLS
    tools = kwargs.get("tools")
    if not tools:
        return _dumps(kwargs).encode()
    known = _TOOLS  # one read: another thread may replace it meanwhile
    if known is None or known[0] != tools:
        known = _TOOLS = (copy.deepcopy(tools), _dumps(tools))
    text = _dumps({**kwargs, "tools": _TOOLS_MARK})  # the key keeps its place
    at = text.rindex(_TOOLS_MARK_JSON)  # the last: the messages come first, and a message cannot close its own string
    return (text[:at] + known[1] + text[at + len(_TOOLS_MARK_JSON) :]).encode()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_json_default)


_TOOLS: tuple[Any, str] | None = None  # (a private copy of the last tools serialised, their JSON)
_TOOLS_MARK = "\x00summarize: the tools go here\x00"
_TOOLS_MARK_JSON = json.dumps(_TOOLS_MARK, ensure_ascii=False)


def _json_default(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True, by_alias=True)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def first_line(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 600 else text[:600] + " ..."


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def describe_body(body: str) -> str:
    """A body that is not the API's JSON, in a few words: an HTML page by its title, else its start."""
    if "<html" in body[:1000].lower() or "<!doctype" in body[:1000].lower():
        title = _TITLE.search(body)
        named = f" titled {' '.join(title[1].split())[:120]!r}" if title else ""
        return f"an HTML page{named} (a proxy, gateway or login page answered instead of the API)"
    flat = " ".join(body.split())
    return repr(flat[:200]) if flat else "an empty body"


@dataclass(frozen=True)
class CallRecord:
    """One HTTP request to the model endpoint, as the run log keeps it."""

    time: str
    stage: str
    item: str
    prompt: str
    prompt_sha: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: float
    outcome: str  # ok, http_429, http_500, APIConnectionError, ...
    status: int | None
    served_model: str = ""  # the model the answer says served it ("" when no answer, or it did not say); ``model`` is the one asked for


def served_model(response: Any, asked: str, seen: set[str]) -> str:
    """The model an answer says served it ("" when it does not say). Logged once per name when it is not the one
    asked for: provenance keeps the name asked for (what the user chose and the cassette matches on), not an alias's target."""
    served = getattr(response, "model", None)
    if not isinstance(served, str) or not served:
        return ""
    if served != asked and served not in seen:
        seen.add(served)
        log.info("the endpoint says model %r answered (asked for %r); provenance names %r", served[:120], asked, asked)
    return served[:200]


def deadline_message(timeout: float, requests: int) -> str:
    """A request cut off at its total deadline (``deadline``), after ``requests`` tries."""
    return (
        f"APITimeoutError: no complete answer within the {timeout:g}s deadline per request (--timeout: connecting, sending and "
        f"reading the whole answer) after {requests} request(s)"
    )


def from_cassette(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is vcrpy refusing a request its cassette lacks."""
    seen: BaseException | None = exc
    while seen is not None:
        if type(seen).__name__ == "CannotOverwriteExistingCassetteException":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (Retry-After or retry-after-ms), if it said."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None  # an HTTP date; fall back to backoff
    return None


def apply_sampling(body: dict[str, Any], settings: Settings) -> None:
    """Local servers answer deterministically (temperature 0) and within the answer budget a known context keeps free.

    Measured with Qwen2.5-Coder-0.5B on llama-cpp-python: at its default temperature the forced tool call came back as
    empty lists; at 0 it extracted. A known context window also bounds the answer (``max_tokens``), so a model that
    never closes its JSON stops instead of filling the window."""
    if settings.temperature is not None:
        body["temperature"] = settings.temperature
    elif settings.profile in ("llamacpp", "llamacpp-python"):
        body.setdefault("temperature", 0)
    if settings.max_tokens is not None:
        body["max_tokens"] = settings.max_tokens
    elif settings.context_tokens:
        body.setdefault("max_tokens", ANSWER_TOKENS)


def apply_strict(kwargs: dict[str, Any], strict: bool) -> None:
    """instructor does not set the strict flag itself: ask for strict structured outputs where the profile supports them."""
    if not strict:
        return
    for tool in kwargs.get("tools") or []:
        tool["function"]["strict"] = True
    fmt = kwargs.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        fmt["json_schema"]["strict"] = True


class Captured(BaseException):
    """Carries the request instructor built. A BaseException, so instructor's retry loop (which
    catches Exception) lets it straight through instead of logging and wrapping it."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("request captured")
        self.kwargs = kwargs


def error_text(exc: Any) -> str:
    """An SDK status error's message in a few words: the API's error message, or the body described."""
    body = exc.body
    if isinstance(body, str):
        return describe_body(body)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and "message" in err:
            return str(err["message"])[:300]
    try:
        return json.dumps(body)[:300] if body is not None else exc.message[:300]
    except TypeError:
        return str(body)[:300]


class DeferredCAContext(ssl.SSLContext):
    """A verifying client TLS context (hostname checked, certificate required) whose CA bundle is loaded at its first
    handshake, not when it is made: an ``http://`` endpoint (llama.cpp, Ollama, vLLM on this machine) never needs it,
    and each worker process of a batch would spend ~20-35 ms of CPU loading it at start. Until then it trusts nothing,
    so a handshake can only ever happen after the load."""

    ca: tuple[str | None, str | None] = (None, None)  # (cafile, capath), as httpx picks them

    def load(self) -> None:
        if self.cert_store_stats()["x509_ca"]:
            return
        with _CA_LOCK:  # hundreds of threads may open their first connection at once
            if not self.cert_store_stats()["x509_ca"]:
                cafile, capath = self.ca
                self.load_verify_locations(cafile, capath)

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        self.load()
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        self.load()
        return super().wrap_bio(*args, **kwargs)


_CA_LOCK = threading.Lock()


def verifying_context() -> DeferredCAContext:
    """What ``httpx.create_ssl_context()`` builds (SSL_CERT_FILE, else SSL_CERT_DIR, else certifi's bundle; SSLKEYLOGFILE
    honoured as ``ssl.create_default_context`` does), with the bundle loaded at the first handshake."""
    import certifi

    ctx = DeferredCAContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    where = tls_environment(ignore_environment=bool(sys.flags.ignore_environment))
    ctx.ca = (where.cafile, where.capath) if where.cafile or where.capath else (certifi.where(), None)
    if where.keylog:
        ctx.keylog_filename = where.keylog
    if not os.path.exists(ctx.ca[0] or ctx.ca[1] or ""):
        ctx.load()  # a bundle that is not there fails now, as httpx's would, not at the first request
    return ctx


@cache
def tls_context() -> DeferredCAContext:
    """The process's verifying TLS context (``verifying_context``), built once and shared by every session's client."""
    return verifying_context()


def batch_failure(status: int | None, body: Any, error: Any) -> str:
    """Why a Batch API result line carries no answer, from OpenAI's or vLLM's error shapes."""
    err = error or (body.get("error") if isinstance(body, dict) else None)
    if isinstance(err, dict) and isinstance(err.get("error"), dict):  # vLLM nests an ErrorResponse
        err = err["error"]
    message, code = (err.get("message"), err.get("code")) if isinstance(err, dict) else (err, None)
    said = f": {message}" if message else ""
    return f"the batch request failed ({f'HTTP {status}' if status else 'error'}{f', {code}' if code else ''}){said}"


_CONTEXT_WORDS = ("context length", "context window", "context size", "context_length", "maximum context", "too many tokens")


def context_overflow(status: int, code: object, message: str) -> bool:
    """A 400 that says the prompt is longer than the model's context window (OpenAI's code, llama.cpp's,
    vLLM's and Ollama's wording): the same request can never succeed, so it is neither retried nor re-asked."""
    if status not in (400, 413):
        return False
    return code == "context_length_exceeded" or any(w in message.lower() for w in _CONTEXT_WORDS)


def context_overflow_message(endpoint_says: str, settings_chunk_chars: int) -> str:
    return (
        f"the request is longer than the model's context window, so it was sent once and not retried "
        f"(the endpoint says: {endpoint_says}); lower --chunk-chars (now {settings_chunk_chars}) so each request fits, "
        "or use a model with a larger context"
    )
