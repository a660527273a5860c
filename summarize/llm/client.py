"""The only module that talks to the openai SDK and instructor.

Retry layers, one per failure kind:

* transport (connection errors, timeouts, 408/409/429/5xx): retried here with tenacity, waiting
  what ``Retry-After`` asks (capped) or exponential backoff with jitter; the SDK's own retries are
  off so that no two layers multiply. ``timeout`` is a total deadline per request (``deadline``),
  the whole answer included; a request cut off at it is retried, each try with a full deadline;
* validation (the answer does not fit the schema or fails grounding): re-asked through
  instructor with the error text, up to ``max_reasks`` times;
* truncation (``finish_reason=length``), refusal (``message.refusal``, ``finish_reason=content_filter``)
  and empty answers: raised as their own errors and never re-asked.

Token usage is summed over every answer received, re-asks and failed ones included; an answer with no usage, or invalid
usage, makes the cost unknown (``usage``). Provenance names the model asked for. Secrets: every credential
(``Settings.secrets``) is registered for redaction before the first request; the key never appears in an error message
or a log record, nor do credential and account header values: ``redact`` scrubs messages built here, and a log-record
factory scrubs every record, whichever library logs it (``-vv`` logs response headers).

The Batch API path comes here too (``BatchClient``, ``BatchLine``), its answers through ``LLM``'s
own gates (``check_completion``, ``usage_of``). SDK-free helpers live in ``wire`` and ``protocol``.
"""

from __future__ import annotations

import copy
import datetime as dt
import importlib
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from summarize.config import Settings
from summarize.errors import CassetteError, ContextLengthError, EndpointError, ModelOutputError, RefusalError, TransportError, TruncatedError
from summarize.llm import deadline, wire
from summarize.llm.protocol import CallLabel as CallLabel
from summarize.llm.protocol import Result as Result
from summarize.llm.protocol import StructuredModel, salvage
from summarize.llm.protocol import verifying as verifying
from summarize.llm.ratelimit import Limiter
from summarize.llm.redact import redact, register_secrets
from summarize.llm.usage import Spend, read_usage
from summarize.llm.wire import (
    RAW_JSON,
    BodyNotJSON,
    CallRecord,
    apply_sampling,
    apply_strict,
    error_text,
    first_line,
    from_cassette,
    json_body,
    retry_after_seconds,
)
from summarize.models.report import Usage

__all__ = [
    "LLM", "BatchClient", "BatchLine", "CallLabel", "CallRecord", "Result", "answer_text", "apply_strict", "check_completion", "from_cassette",
    "prewarm", "read_result_line", "request_body", "retry_after_seconds", "usage_of", "verifying",
]

if TYPE_CHECKING:
    from openai._legacy_response import LegacyAPIResponse

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_MODES = {"tools": instructor.Mode.TOOLS, "json_schema": instructor.Mode.JSON_SCHEMA, "json": instructor.Mode.JSON}
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


def _completion(raw: LegacyAPIResponse[ChatCompletion]) -> ChatCompletion | str:
    """The answer as a ``ChatCompletion``: validated from the JSON bytes by pydantic-core in strict mode (no
    coercion, so a string where a count belongs stays a problem for ``read_usage`` to find), which is ~10 times
    faster than the SDK's field-by-field ``construct``; any answer that does not validate so (a gateway's text,
    a server's odd fields) goes through the SDK's own parsing, exactly as before."""
    if "json" in raw.headers.get("content-type", ""):
        try:
            return ChatCompletion.model_validate_json(raw.content, strict=True)
        except ValidationError:
            pass
    return raw.parse()


def _memoise_async_validator_check() -> None:
    """instructor walks the whole response model looking for async validators several times per
    request (~5 ms of CPU for our schema, a third of a call's overhead in batch runs). Our models
    never change at run time, so remember the classes already checked. instructor imports the
    function inside its callers, so replacing the module attribute is enough; if a future release
    moves it, nothing breaks, we only lose the speed-up. A patch, not a hook: instructor's hooks
    (completion:kwargs/response/error, parse:error) fire around the HTTP call and the parse, but
    this check runs in ``patch`` before any of them, and no hook can skip it."""
    module: Any = importlib.import_module("instructor.v2.validation.async_validators")
    patch_module: Any = importlib.import_module("instructor.v2.core.patch")  # imports the function by name
    original = getattr(module, "reject_async_validators", None)
    if original is None or getattr(original, "summarize_memoised", False):
        return
    checked: set[type] = set()
    lock = threading.Lock()

    def reject_once(response_model: Any) -> None:
        if not isinstance(response_model, type):
            original(response_model)
            return
        with lock:
            if response_model in checked:
                return
        original(response_model)
        with lock:
            checked.add(response_model)

    reject_once.summarize_memoised = True  # type: ignore[attr-defined]
    module.reject_async_validators = reject_once
    if getattr(patch_module, "reject_async_validators", None) is original:
        patch_module.reject_async_validators = reject_once


_memoise_async_validator_check()


@cache
def _wrapped(model: type[T]) -> type[T]:
    """instructor wraps the response model in a new subclass on every call unless it is
    wrapped already: doing it once saves a class build per request and does not leak classes."""
    return instructor.openai_schema(model)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (json.JSONDecodeError, BodyNotJSON)):  # a proxy's garbled 200 or its HTML page: worth another try
        return True
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return not from_cassette(exc)
    return isinstance(exc, openai.APIStatusError) and exc.status_code in _RETRY_STATUS


class LLM:
    """Structured calls to one endpoint, configured from ``Settings``."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        limiter: Limiter | None = None,
        observer: Callable[[CallRecord], None] | None = None,
    ) -> None:
        settings.require_endpoint()
        register_secrets(settings.secrets)
        self.settings = settings
        self._sleep = sleep
        self.limiter = limiter
        self._observer = observer
        self._completion_estimate = 1000.0  # running mean of completion tokens, for pacing
        self._served: set[str] = set()  # models the endpoint said answered, when not the one asked for
        self._shared = self._sdk_client(deadline.enforce(http_client)) if http_client is not None else None
        self._local = threading.local()
        self._opened: weakref.WeakSet[openai.OpenAI] = weakref.WeakSet()
        self._client = self._thread_client()  # fails here, not at the first request, if the SDK refuses the settings
        self._mode = _MODES[settings.mode]

    def _sdk_client(self, http_client: httpx.Client) -> openai.OpenAI:
        key = self.settings.api_key or "no-key-needed"
        return openai.OpenAI(api_key=key, base_url=self.settings.base_url, timeout=self.settings.timeout, max_retries=0, http_client=http_client)

    def _thread_client(self) -> openai.OpenAI:
        """This thread's SDK client, each with its own connection pool (unless the caller gave one ``http_client``).

        One pool shared by the hundreds of threads of a large batch costs most of the batch's CPU: httpcore's assignment pass
        walks every connection and queued request on each request and each release. Past its keep-alive limit it can also
        close the idle connection it just gave a queued request, and that request then hangs to the read timeout (httpcore
        issue 1110; seen here as one request in ~1,300 stalled 120 s at 256 in flight). A thread sends one request at a time,
        so its own pool holds one connection and has nothing to assign. A thread's client is closed when the thread ends."""
        if self._shared is not None:
            return self._shared
        client: openai.OpenAI | None = getattr(self._local, "client", None)
        if client is None:
            http = deadline.enforce(openai.DefaultHttpxClient(verify=wire.tls_context()))
            client = self._local.client = self._sdk_client(http)
            weakref.finalize(client, http.close)
            self._opened.add(client)
        return client

    # -- transport -------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if self.limiter is not None and isinstance(exc, openai.RateLimitError):
            return 0.0  # the shared limiter already paused every worker for this 429
        asked = retry_after_seconds(exc) if exc else None
        if asked is not None:
            return min(max(asked, 0.0), self.settings.max_retry_wait)
        backoff: float = min(self.settings.backoff_base * 2 ** (state.attempt_number - 1), 20.0)
        return backoff * (0.5 + random.random() / 2)

    def _backoff(self, seconds: float) -> None:
        if self.limiter is not None:
            self.limiter.idle(self._sleep, seconds)
        else:
            self._sleep(seconds)

    def _attempt(self, kwargs: dict[str, Any], label: CallLabel | None) -> ChatCompletion:
        """One HTTP request: paced by the limiter, timed, and written to the run log."""
        # The body is serialised here, before a slot is taken, as the SDK would (compact JSON, UTF-8)
        # and posted as bytes: a slot then covers the HTTP exchange only, not the SDK's walk over
        # the parameters and the schema (about a third of its per-request CPU).
        body = json_body(kwargs)
        started = time.perf_counter()
        status: int | None
        outcome, status, prompt_tokens, completion_tokens, served = "ok", 200, 0, 0, ""
        try:
            # The slot bounds requests in flight, not threads: a worker releases it as soon as the
            # answer is in, and grounds it while another worker's request is already out.
            with self.limiter.slot() if self.limiter is not None else nullcontext():
                if self.limiter is not None:
                    self.limiter.acquire(len(body) // 4 + int(self._completion_estimate))
                started = time.perf_counter()
                with deadline.within(self.settings.timeout):  # the SDK reads the whole body inside post(): the deadline covers it
                    sent = self._thread_client().post("/chat/completions", content=body, cast_to=ChatCompletion, options=RAW_JSON)
                raw = cast("LegacyAPIResponse[ChatCompletion]", sent)  # the raw-response header: the SDK hands back the undecoded response
            response: ChatCompletion | str = _completion(raw)
            if not isinstance(response, ChatCompletion):
                # The SDK hands back a non-JSON body as text; it is the gateway talking, not the model.
                raise BodyNotJSON(raw.headers.get("content-type", ""), str(response))
            if self.limiter is not None:
                self.limiter.observe(raw.headers)
            served = wire.served_model(response, self.settings.model, self._served)
            usage, _ = read_usage(getattr(response, "usage", None))
            if usage is not None:
                prompt_tokens, completion_tokens = usage.prompt_tokens, usage.completion_tokens
                self._completion_estimate = 0.8 * self._completion_estimate + 0.2 * completion_tokens
            return response
        except openai.APIStatusError as exc:
            outcome, status = f"http_{exc.status_code}", exc.status_code
            if exc.status_code == 429 and self.limiter is not None:
                self.limiter.rate_limited(retry_after_seconds(exc), exc.response.headers)
            raise
        except BodyNotJSON:
            outcome = "not_json"
            raise
        except Exception as exc:
            outcome, status = type(exc).__name__, None
            raise
        finally:
            if self._observer is not None and label is not None:
                now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")
                latency = round((time.perf_counter() - started) * 1000, 1)
                tokens, asked = (prompt_tokens, completion_tokens), self.settings.model
                self._observer(CallRecord(now, label.stage, label.item, label.prompt, label.prompt_sha, asked, *tokens, latency, outcome, status, served))

    def _send(self, usage: Usage, kwargs: dict[str, Any], label: CallLabel | None = None) -> ChatCompletion:
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.settings.transport_retries + 1),
            wait=self._wait,
            sleep=self._backoff,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "transport error (%s); retry %d in %.1fs", type(s.outcome.exception()).__name__ if s.outcome else "?", s.attempt_number,
                s.next_action.sleep if s.next_action else 0,
            ),
        )
        try:
            for attempt in retrying:
                with attempt:
                    usage.requests += 1
                    return self._attempt(kwargs, label)
        except openai.APIStatusError as exc:
            if wire.context_overflow(exc.status_code, exc.code, error_text(exc)):
                raise ContextLengthError(redact(wire.context_overflow_message(error_text(exc), self.settings.chunk_chars))) from exc
            raise TransportError(redact(f"HTTP {exc.status_code} from the endpoint after {usage.requests} request(s): {error_text(exc)}")) from exc
        except (json.JSONDecodeError, BodyNotJSON) as exc:
            raise TransportError(redact(f"the endpoint answered with a body that is not JSON after {usage.requests} request(s): {exc}")) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            if from_cassette(exc):
                why = "(the prompt, schema, model, mode or input differ from the recording)"
                raise CassetteError(f"the cassette {self.settings.replay} has no recorded answer for this request {why}") from exc
            if isinstance(exc, openai.APITimeoutError):
                raise TransportError(wire.deadline_message(self.settings.timeout, usage.requests)) from exc
            raise TransportError(redact(f"{type(exc).__name__} after {usage.requests} request(s): {exc}")) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self, spend: Spend, label: CallLabel | None) -> Callable[..., ChatCompletion]:
        def create(**kwargs: Any) -> ChatCompletion:
            apply_strict(kwargs, self.settings.strict)
            apply_sampling(kwargs, self.settings)
            response = self._send(spend.usage, kwargs, label)
            if not isinstance(response, ChatCompletion):
                raise ModelOutputError(f"the endpoint answered with something that is not a chat completion: {str(response)[:200]!r}")
            spend.answered(response.usage, label.item if label else None)
            check_completion(response, self.settings.mode, kwargs.get("max_tokens"))  # instructor parses the answer itself
            return response

        return create

    # -- structured calls ------------------------------------------------------------------

    def structured(self, response_model: type[T], messages: list[dict[str, str]], *, label: CallLabel | None = None) -> Result[T]:
        """Ask for ``response_model``; re-ask on validation errors; salvage after the budget.

        Validators may consult ``VERIFY``; when the budget is spent, the last answer is parsed
        once more with ``LENIENT`` set so validators drop what fails instead of raising.
        """
        usage = (spend := Spend()).usage
        patched = instructor.patch(create=self._create(spend, label), mode=self._mode)
        try:
            value = patched(response_model=_wrapped(response_model), messages=messages, model=self.settings.model, max_retries=self.settings.max_reasks)
            return Result(value, spend.priced(self.settings), max(usage.attempts - 1, 0), False, None)
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, EndpointError):
                raise self._spent(cause, spend) from None
            last = exc.failed_attempts[-1].completion if exc.failed_attempts else None
            if last is None:
                raise self._spent(ModelOutputError(redact(f"no usable answer after {usage.attempts} attempt(s): {exc}")), spend) from exc
            try:
                value = salvage(response_model, answer_text(last, self.settings.mode), usage.attempts)
            except ModelOutputError as failure:
                raise self._spent(failure, spend) from None
            return Result(value, spend.priced(self.settings), max(usage.attempts - 1, 0), True, first_line(cause or exc))

    def _spent(self, error: EndpointError, spend: Spend) -> EndpointError:
        """What a failed call cost stays with its error, so batch accounting and budgets see it."""
        error.attempts, error.usage = spend.usage.requests, spend.priced(self.settings)
        return error

    def close(self) -> None:
        for client in [*self._opened, *([self._shared] if self._shared is not None else [])]:
            client.close()


_: type[StructuredModel] = LLM


def check_completion(completion: ChatCompletion, mode: str, max_tokens: int | None = None) -> str:
    """The gates every answer passes before it is parsed, synchronous or from a batch: no choices, a refusal
    or a truncated answer raises its own error (never re-asked). Returns the answer's text. An answer that used all of
    ``max_tokens`` is cut off whatever its finish_reason (llama-cpp-python reports tool_calls even then)."""
    if not completion.choices:
        raise ModelOutputError("the endpoint answered with no choices")
    choice = completion.choices[0]
    if getattr(choice.message, "refusal", None):
        raise RefusalError(redact(f"the model refused: {choice.message.refusal}"))
    if choice.finish_reason == "content_filter":  # the provider's filter, not the schema: asking again would only retry the filter
        raise RefusalError("the endpoint's content filter stopped the answer (finish_reason=content_filter); not re-asked")
    reported = read_usage(completion.usage)[0]
    if choice.finish_reason == "length" or (max_tokens and reported and reported.completion_tokens >= max_tokens):
        spent = reported.completion_tokens if reported else "?"
        raise TruncatedError(f"the answer was cut off at the token limit after {spent} tokens; use a model with a larger output limit or lower --chunk-chars")
    return answer_text(completion, mode)


def usage_of(completion: ChatCompletion) -> Usage:
    """The tokens one answer reports (none when it reports no or invalid usage: ``read_usage``); requests and attempts are the caller's to count."""
    return read_usage(completion.usage)[0] or Usage()


def answer_text(completion: ChatCompletion, mode: str) -> str:
    message = completion.choices[0].message
    if mode == "tools" and message.tool_calls:
        call = message.tool_calls[0]
        return call.function.arguments if hasattr(call, "function") else ""
    return message.content or ""


# --- what the Batch API path needs from the SDKs (kept here: the only module that imports them) ---


def request_body(response_model: type[BaseModel], messages: list[dict[str, str]], settings: Settings) -> dict[str, Any]:
    """The chat-completions body ``LLM.structured`` would send: built by instructor, strict flags as in ``_create``."""

    def capture(**kwargs: Any) -> Any:
        raise wire.Captured(kwargs)

    try:
        instructor.patch(create=capture, mode=_MODES[settings.mode])(
            response_model=_wrapped(response_model), messages=messages, model=settings.model, max_retries=settings.max_reasks
        )
    except wire.Captured as got:
        body: dict[str, Any] = copy.deepcopy(got.kwargs)
    else:
        raise AssertionError("instructor returned without building a request")
    apply_strict(body, settings.strict)
    apply_sampling(body, settings)
    return body


def prewarm(settings: Settings, response_model: type[BaseModel]) -> None:
    """Pay this process's first-request costs before a request is due: the CA bundle for an ``https://`` endpoint
    (~20-35 ms; an ``http://`` one never loads it), instructor's handler modules, which it imports at the first call
    (~90 ms, requests and urllib3 among them), the tool schema (~20 ms). A worker process calls it as it starts, while
    the parent is still reading the inputs. Nothing is sent."""
    if not (settings.base_url or "https:").lower().startswith("http:"):
        wire.tls_context().load()
    request_body(response_model, [{"role": "user", "content": "-"}], settings)


class BatchClient:
    """The files and batches endpoints for the Batch API path: answers as JSON dicts (``model_dump``), errors ours, as from ``LLM``."""

    def __init__(self, settings: Settings) -> None:
        settings.require_endpoint()
        register_secrets(settings.secrets)
        self.settings = settings
        retries = 0 if settings.replay else settings.transport_retries  # a replay fails at once on a request it lacks
        key = settings.api_key or "no-key-needed"
        self._client = openai.OpenAI(api_key=key, base_url=settings.base_url, timeout=settings.timeout, max_retries=retries)

    def upload_requests(self, data: bytes, *, filename: str, boundary: str) -> str:
        """Upload a JSONL request file; returns its id. A fixed multipart ``boundary`` (the SDK's is random) lets a recording replay."""
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        upload = (filename, data, "application/octet-stream")
        file = self._call("uploading the requests", lambda: self._client.files.create(file=upload, purpose="batch", extra_headers=headers))
        return str(file.id)

    def create_batch(self, input_file_id: str, *, endpoint: str, metadata: dict[str, str], window: str = "24h") -> dict[str, Any]:
        create = self._client.batches.create
        batch = self._call("creating the batch", lambda: create(input_file_id=input_file_id, endpoint=endpoint, completion_window=window, metadata=metadata))  # type: ignore[arg-type]
        return cast(dict[str, Any], batch.model_dump(mode="json"))

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        batch = self._call(f"retrieving batch {batch_id}", lambda: self._client.batches.retrieve(batch_id))
        return cast(dict[str, Any], batch.model_dump(mode="json"))

    def download(self, file_id: str) -> str:
        return str(self._call(f"downloading {file_id}", lambda: self._client.files.content(file_id)).text)

    def close(self) -> None:
        self._client.close()

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        """Run an SDK call, turning its errors into ours."""
        try:
            return call()
        except openai.APIStatusError as exc:
            raise TransportError(redact(f"{what}: HTTP {exc.status_code} from the endpoint: {error_text(exc)}")) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            if from_cassette(exc):
                raise CassetteError(f"the cassette {self.settings.replay} has no recorded answer for {what}") from exc
            raise TransportError(redact(f"{what}: {type(exc).__name__}: {exc}")) from exc


@dataclass(frozen=True)
class BatchLine:
    """One line of a batch's results (OpenAI's and vLLM's shapes): the answer it carries, or why there is none."""

    completion: ChatCompletion | None = None
    problem: str = ""

    @property
    def answered(self) -> bool:
        return self.completion is not None

    def usage(self) -> Usage:
        """The answer's tokens, as one request and one attempt; nothing when there is no answer."""
        return usage_of(self.completion).model_copy(update={"requests": 1, "attempts": 1}) if self.completion is not None else Usage()

    def text(self, mode: str) -> str:
        """The answer's text once it has passed ``check_completion``'s gates."""
        if self.completion is None:
            raise ModelOutputError(self.problem)
        return check_completion(self.completion, mode)


def read_result_line(line: dict[str, Any]) -> BatchLine:
    """The chat completion a result line carries, or why there is none."""
    response = line.get("response") or {}
    status, body = response.get("status_code"), response.get("body")
    if status == 200 and isinstance(body, dict):
        try:
            return BatchLine(ChatCompletion.model_validate(body))
        except ValidationError as exc:
            return BatchLine(problem=f"the batch answer is not a chat completion: {str(exc).splitlines()[0]}")
    return BatchLine(problem=wire.batch_failure(status, body, line.get("error")))
