"""The only module that talks to the openai SDK and instructor.

Retry layers, one per failure kind:

* transport (connection errors, timeouts, 408/409/429/5xx): retried here with tenacity, waiting
  what ``Retry-After`` asks (capped) or exponential backoff with jitter; the SDK's own retries are
  off so that no two layers multiply;
* validation (the answer does not fit the schema or fails grounding): re-asked through
  instructor with the error text, up to ``max_reasks`` times;
* truncation (``finish_reason=length``), refusal and empty answers: raised as their own errors
  and never re-asked, so a truncated answer is not fed back to grow the next prompt.

Token usage is summed over every answer received, re-asks included, failed ones included.

Secrets: the configured key never appears in an error message or a log record, and neither do
the values of credential and account headers (authorization, api-key, cookies, organisation and
project): ``redact`` scrubs messages built here, and a log-record factory installed when this
module is imported scrubs every record, whichever library logs it (``-vv`` turns on the SDK's
and httpcore's debug logs, which print response headers).
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import httpx
import instructor
import openai
from instructor.core.exceptions import InstructorRetryException
from openai.types.chat import ChatCompletion
from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from summarize.config import Settings
from summarize.errors import (
    CassetteError,
    EndpointError,
    ModelOutputError,
    RefusalError,
    TransportError,
    TruncatedError,
)
from summarize.llm.ratelimit import Limiter
from summarize.llm.redact import redact, register_secret
from summarize.llm.wire import RAW_JSON, BodyNotJSON, describe_body, first_line, json_body
from summarize.models.base import LENIENT, VERIFY
from summarize.models.report import Usage

if TYPE_CHECKING:
    from openai._legacy_response import LegacyAPIResponse

log = logging.getLogger(__name__)

T = TypeVar("T", bound=BaseModel)

_MODES = {"tools": instructor.Mode.TOOLS, "json_schema": instructor.Mode.JSON_SCHEMA, "json": instructor.Mode.JSON}
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}

# --- secrets out of messages and logs ---------------------------------------------------------


def _memoise_async_validator_check() -> None:
    """instructor walks the whole response model looking for async validators several times per
    request (~5 ms of CPU for our schema, a third of a call's overhead in batch runs). Our models
    never change at run time, so remember the classes already checked. instructor imports the
    function inside its callers, so replacing the module attribute is enough; if a future release
    moves it, nothing breaks, we only lose the speed-up."""
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


def apply_strict(kwargs: dict[str, Any], strict: bool) -> None:
    """instructor does not set the strict flag itself: ask for strict structured outputs where the profile supports them."""
    if not strict:
        return
    for tool in kwargs.get("tools") or []:
        tool["function"]["strict"] = True
    fmt = kwargs.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        fmt["json_schema"]["strict"] = True


@dataclass(frozen=True)
class CallLabel:
    """What a call is for, for the run log."""

    stage: str
    item: str
    prompt: str = ""
    prompt_sha: str = ""


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


@dataclass
class Result(Generic[T]):
    value: T
    usage: Usage
    reasks: int
    salvaged: bool  # True when the re-ask budget ran out and failing items were dropped
    last_error: str | None


@contextmanager
def verifying(check: Callable[[Any], list[str]]) -> Iterator[None]:
    token = VERIFY.set(check)
    try:
        yield
    finally:
        VERIFY.reset(token)


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (json.JSONDecodeError, BodyNotJSON)):  # a proxy's garbled 200 or its HTML page: worth another try
        return True
    if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError)):
        return not from_cassette(exc)
    return isinstance(exc, openai.APIStatusError) and exc.status_code in _RETRY_STATUS


def from_cassette(exc: BaseException) -> bool:
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
        register_secret(settings.api_key)
        self.settings = settings
        self._sleep = sleep
        self.limiter = limiter
        self._observer = observer
        self._completion_estimate = 1000.0  # running mean of completion tokens, for pacing
        self._client = openai.OpenAI(
            api_key=settings.api_key or "no-key-needed",
            base_url=settings.base_url,
            timeout=settings.timeout,
            max_retries=0,
            http_client=http_client or openai.DefaultHttpxClient(verify=_tls_context()),
        )
        self._mode = _MODES[settings.mode]

    # -- transport -------------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if self.limiter is not None and isinstance(exc, openai.RateLimitError):
            return 0.0  # the shared limiter already paused every worker for this 429
        asked = retry_after_seconds(exc) if exc else None
        if asked is not None:
            return min(max(asked, 0.0), self.settings.max_retry_wait)
        backoff = min(self.settings.backoff_base * 2 ** (state.attempt_number - 1), 20.0)
        return backoff * (0.5 + random.random() / 2)

    def _attempt(self, kwargs: dict[str, Any], label: CallLabel | None) -> ChatCompletion:
        """One HTTP request: paced by the limiter, timed, and written to the run log."""
        # The body is serialised here, before a slot is taken, as the SDK would (compact JSON, UTF-8)
        # and posted as bytes: a slot then covers the HTTP exchange only, not the SDK's walk over
        # the parameters and the schema (about a third of its per-request CPU).
        body = json_body(kwargs)
        started = time.perf_counter()
        status: int | None
        outcome, status, prompt_tokens, completion_tokens = "ok", 200, 0, 0
        try:
            # The slot bounds requests in flight, not threads: a worker releases it as soon as the
            # answer is in, and grounds it while another worker's request is already out.
            with self.limiter.slot() if self.limiter is not None else nullcontext():
                if self.limiter is not None:
                    self.limiter.acquire(len(body) // 4 + int(self._completion_estimate))
                started = time.perf_counter()
                # the raw-response header makes the SDK hand back the undecoded response, which its typing cannot express
                raw = cast("LegacyAPIResponse[ChatCompletion]", self._client.post("/chat/completions", content=body, cast_to=ChatCompletion, options=RAW_JSON))
            response: ChatCompletion | str = raw.parse()
            if not isinstance(response, ChatCompletion):
                # The SDK hands back a non-JSON body as text; it is the gateway talking, not the model.
                raise BodyNotJSON(raw.headers.get("content-type", ""), str(response))
            if self.limiter is not None:
                self.limiter.observe(raw.headers)
            usage = getattr(response, "usage", None)
            if usage is not None:
                prompt_tokens, completion_tokens = usage.prompt_tokens or 0, usage.completion_tokens or 0
                self._completion_estimate = 0.8 * self._completion_estimate + 0.2 * completion_tokens
            return response
        except openai.APIStatusError as exc:
            outcome, status = f"http_{exc.status_code}", exc.status_code
            if exc.status_code == 429 and self.limiter is not None:
                self.limiter.rate_limited(retry_after_seconds(exc))
            raise
        except BodyNotJSON:
            outcome = "not_json"
            raise
        except Exception as exc:
            outcome, status = type(exc).__name__, None
            raise
        finally:
            if self._observer is not None and label is not None:
                self._observer(
                    CallRecord(
                        time=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                        stage=label.stage,
                        item=label.item,
                        prompt=label.prompt,
                        prompt_sha=label.prompt_sha,
                        model=self.settings.model,
                        prompt_tokens=prompt_tokens,
                        completion_tokens=completion_tokens,
                        latency_ms=round((time.perf_counter() - started) * 1000, 1),
                        outcome=outcome,
                        status=status,
                    )
                )

    def _send(self, usage: Usage, kwargs: dict[str, Any], label: CallLabel | None = None) -> ChatCompletion:
        retrying = Retrying(
            retry=retry_if_exception(_retryable),
            stop=stop_after_attempt(self.settings.transport_retries + 1),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
            before_sleep=lambda s: log.warning(
                "transport error (%s); retry %d in %.1fs",
                type(s.outcome.exception()).__name__ if s.outcome else "?",
                s.attempt_number,
                s.next_action.sleep if s.next_action else 0,
            ),
        )
        try:
            for attempt in retrying:
                with attempt:
                    usage.requests += 1
                    return self._attempt(kwargs, label)
        except openai.APIStatusError as exc:
            raise TransportError(redact(f"HTTP {exc.status_code} from the endpoint after {usage.requests} request(s): {_short(exc)}")) from exc
        except (json.JSONDecodeError, BodyNotJSON) as exc:
            raise TransportError(redact(f"the endpoint answered with a body that is not JSON after {usage.requests} request(s): {exc}")) from exc
        except (openai.APIConnectionError, openai.APITimeoutError) as exc:
            if from_cassette(exc):
                raise CassetteError(
                    f"the cassette {self.settings.replay} has no recorded answer for this request "
                    "(the prompt, schema, model, mode or input differ from the recording)"
                ) from exc
            raise TransportError(redact(f"{type(exc).__name__} after {usage.requests} request(s): {exc}")) from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _create(self, usage: Usage, label: CallLabel | None) -> Callable[..., ChatCompletion]:
        def create(**kwargs: Any) -> ChatCompletion:
            apply_strict(kwargs, self.settings.strict)
            response = self._send(usage, kwargs, label)
            if not isinstance(response, ChatCompletion):
                raise ModelOutputError(f"the endpoint answered with something that is not a chat completion: {str(response)[:200]!r}")
            usage.attempts += 1
            if response.usage is not None:
                usage.prompt_tokens += response.usage.prompt_tokens or 0
                usage.completion_tokens += response.usage.completion_tokens or 0
                usage.total_tokens += response.usage.total_tokens or 0
            if not response.choices:
                raise ModelOutputError("the endpoint answered with no choices")
            choice = response.choices[0]
            if getattr(choice.message, "refusal", None):
                raise RefusalError(redact(f"the model refused: {choice.message.refusal}"))
            if choice.finish_reason == "length":
                raise TruncatedError(
                    f"the answer was cut off at the token limit after {response.usage.completion_tokens if response.usage else '?'} tokens; "
                    "use a model with a larger output limit or lower --chunk-chars"
                )
            return response

        return create

    # -- structured calls ------------------------------------------------------------------

    def structured(self, response_model: type[T], messages: list[dict[str, str]], *, label: CallLabel | None = None) -> Result[T]:
        """Ask for ``response_model``; re-ask on validation errors; salvage after the budget.

        Validators may consult ``VERIFY``; when the budget is spent, the last answer is parsed
        once more with ``LENIENT`` set so validators drop what fails instead of raising.
        """
        usage = Usage()
        patched = instructor.patch(create=self._create(usage, label), mode=self._mode)
        try:
            value = patched(response_model=_wrapped(response_model), messages=messages, model=self.settings.model, max_retries=self.settings.max_reasks)
            return Result(value, self._priced(usage), max(usage.attempts - 1, 0), False, None)
        except InstructorRetryException as exc:
            cause = exc.__cause__
            if isinstance(cause, EndpointError):
                raise self._spent(cause, usage) from None
            last = exc.failed_attempts[-1].completion if exc.failed_attempts else None
            if last is None:
                raise self._spent(ModelOutputError(redact(f"no usable answer after {usage.attempts} attempt(s): {exc}")), usage) from exc
            raw = answer_text(last, self.settings.mode)
            token = LENIENT.set(True)
            try:
                value = response_model.model_validate_json(raw)
            except (ValidationError, ValueError) as final:
                failure = ModelOutputError(redact(f"the answer did not fit the schema after {usage.attempts} attempt(s): {first_line(final)}"))
                raise self._spent(failure, usage) from None
            finally:
                LENIENT.reset(token)
            return Result(value, self._priced(usage), max(usage.attempts - 1, 0), True, first_line(cause or exc))

    def _spent(self, error: EndpointError, usage: Usage) -> EndpointError:
        """What a failed call cost stays with its error, so batch accounting and budgets see it."""
        error.attempts = usage.requests
        error.usage = self._priced(usage)
        return error

    def _priced(self, usage: Usage) -> Usage:
        s = self.settings
        if s.price_input is None or s.price_output is None:
            return usage
        usage.cost_usd = round(usage.prompt_tokens * s.price_input / 1e6 + usage.completion_tokens * s.price_output / 1e6, 6)
        return usage

    def close(self) -> None:
        self._client.close()


@cache
def _tls_context() -> Any:
    """httpx's default verifying TLS context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), built once:
    loading the CA bundle takes ~30 ms, which every session in a process would otherwise repeat."""
    return httpx.create_ssl_context()


def answer_text(completion: ChatCompletion, mode: str) -> str:
    message = completion.choices[0].message
    if mode == "tools" and message.tool_calls:
        call = message.tool_calls[0]
        return call.function.arguments if hasattr(call, "function") else ""
    return message.content or ""


def _short(exc: openai.APIStatusError) -> str:
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


# --- what the Batch API path needs from the SDKs (kept here: the only module that imports them) ---


class _Captured(BaseException):
    """Carries the request instructor built. A BaseException, so instructor's retry loop (which
    catches Exception) lets it straight through instead of logging and wrapping it."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("request captured")
        self.kwargs = kwargs


def request_body(response_model: type[BaseModel], messages: list[dict[str, str]], settings: Settings) -> dict[str, Any]:
    """The chat-completions body ``LLM.structured`` would send: built by instructor, strict flags as in ``_create``."""

    def capture(**kwargs: Any) -> Any:
        raise _Captured(kwargs)

    try:
        instructor.patch(create=capture, mode=_MODES[settings.mode])(
            response_model=_wrapped(response_model), messages=messages, model=settings.model, max_retries=settings.max_reasks
        )
    except _Captured as got:
        body: dict[str, Any] = copy.deepcopy(got.kwargs)
    else:
        raise AssertionError("instructor returned without building a request")
    apply_strict(body, settings.strict)
    return body


def sdk_client(settings: Settings) -> openai.OpenAI:
    """A plain SDK client for the files and batches endpoints."""
    settings.require_endpoint()
    retries = 0 if settings.replay else settings.transport_retries  # a replay fails at once on a request it lacks
    return openai.OpenAI(api_key=settings.api_key or "no-key-needed", base_url=settings.base_url, timeout=settings.timeout, max_retries=retries)


def api_call(settings: Settings, what: str, call: Callable[[], Any]) -> Any:
    """Run an SDK call, turning its errors into ours."""
    try:
        return call()
    except openai.APIStatusError as exc:
        raise TransportError(redact(f"{what}: HTTP {exc.status_code} from the endpoint: {_short(exc)}")) from exc
    except (openai.APIConnectionError, openai.APITimeoutError) as exc:
        if from_cassette(exc):
            raise CassetteError(f"the cassette {settings.replay} has no recorded answer for {what}") from exc
        raise TransportError(redact(f"{what}: {type(exc).__name__}: {exc}")) from exc
