"""What the pipeline asks of a model, and a function-backed model for tests.

``StructuredModel`` is the one call extract_source and brief_reports make on their model: ask for
a response model, get back a ``Result`` (the value, the tokens spent, how many re-asks it took,
whether failing items had to be dropped). ``LLM`` answers it over HTTP; ``FunctionModel`` answers
it from a plain function, validating through the same pydantic models and validators (so
``VERIFY`` grounding, re-asks and the ``LENIENT`` salvage behave as with an endpoint), the way
pydantic-ai's ``FunctionModel`` stands in for a real model in tests. SDK-free.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from summarize.config import Settings
from summarize.errors import ModelOutputError
from summarize.llm.redact import redact
from summarize.llm.wire import first_line
from summarize.models.base import LENIENT, VERIFY
from summarize.models.report import Usage

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True)
class CallLabel:
    """What a call is for, for the run log."""

    stage: str
    item: str
    prompt: str = ""
    prompt_sha: str = ""


@dataclass
class Result(Generic[T]):
    value: T
    usage: Usage
    reasks: int
    salvaged: bool  # True when the re-ask budget ran out and failing items were dropped
    last_error: str | None


def priced(usage: Usage, settings: Settings, *, known: bool = True) -> Usage:
    """``usage`` with its cost at the configured prices (unchanged when none are configured). ``known=False``: an answer
    reported no usage, so the cost is unknown (None), never a figure that leaves that answer out."""
    if settings.price_input is None or settings.price_output is None:
        return usage
    if not known:
        usage.cost_usd = None
        return usage
    usage.cost_usd = round(usage.prompt_tokens * settings.price_input / 1e6 + usage.completion_tokens * settings.price_output / 1e6, 6)
    return usage


def salvage(response_model: type[T], text: str, attempts: int) -> T:
    """The last answer once the re-ask budget is spent, parsed with ``LENIENT`` set so validators
    drop what fails instead of raising; a ModelOutputError when even that does not fit."""
    token = LENIENT.set(True)
    try:
        return response_model.model_validate_json(text)
    except (ValidationError, ValueError) as final:
        raise ModelOutputError(redact(f"the answer did not fit the schema after {attempts} attempt(s): {first_line(final)}")) from None
    finally:
        LENIENT.reset(token)


@contextmanager
def verifying(check: Callable[[Any], list[str]]) -> Iterator[None]:
    token = VERIFY.set(check)
    try:
        yield
    finally:
        VERIFY.reset(token)


class StructuredModel(Protocol):
    """A model the pipeline can ask for structured answers."""

    def structured(self, response_model: type[T], messages: list[dict[str, str]], *, label: CallLabel | None = None) -> Result[T]:
        """Ask for ``response_model``; re-ask on validation errors; salvage after the budget
        (validators consult ``VERIFY``; the salvage parses once more with ``LENIENT`` set).
        Raises an ``EndpointError`` carrying what was spent when no usable answer came."""
        ...


# What a FunctionModel's function may answer: the JSON object (a dict), a model instance (dumped
# and validated again, as if it came over the wire), or the raw answer text.
Answer = Mapping[str, Any] | BaseModel | str
AnswerFunction = Callable[[list[dict[str, str]], type[BaseModel]], Answer]


def reask_message(error: BaseException) -> str:
    """What a FunctionModel appends after an answer that failed validation."""
    return f"Correct your JSON response. It failed validation with these errors:\n{error}"


class FunctionModel:
    """A ``StructuredModel`` answered by ``function(messages, response_model)`` instead of an endpoint.

    Every answer goes through ``response_model.model_validate_json``, under whatever ``VERIFY``
    the caller set; a failing answer is re-asked with the assistant's answer and the error text
    appended to the messages, up to ``max_reasks`` times (the same budget ``Settings.max_reasks``
    gives ``LLM``); then the last answer is parsed with ``LENIENT`` set so validators drop what
    fails, and the result is marked salvaged. ``calls`` keeps the messages of every call. Each
    answer is charged ``per_answer`` tokens (none by default), one request and one attempt.
    """

    def __init__(self, function: AnswerFunction, *, max_reasks: int = 1, per_answer: Usage | None = None) -> None:
        self.function = function
        self.max_reasks = max_reasks
        self.per_answer = (per_answer or Usage()).model_copy(update={"requests": 1, "attempts": 1})
        self.calls: list[list[dict[str, str]]] = []

    def structured(self, response_model: type[T], messages: list[dict[str, str]], *, label: CallLabel | None = None) -> Result[T]:
        usage, sent = Usage(), list(messages)
        text, error = "", None
        for attempt in range(max(self.max_reasks, 0) + 1):
            self.calls.append(list(sent))
            text = _as_text(self.function(list(sent), response_model))
            usage = usage.add(self.per_answer)
            try:
                return Result(response_model.model_validate_json(text), usage, attempt, False, None)
            except (ValidationError, ValueError) as exc:
                error = exc
                sent = [*sent, {"role": "assistant", "content": text}, {"role": "user", "content": reask_message(exc)}]
        try:
            value = salvage(response_model, text, usage.attempts)
        except ModelOutputError as failure:
            failure.attempts, failure.usage = usage.requests, usage
            raise
        return Result(value, usage, usage.attempts - 1, True, first_line(error) if error else None)

    def close(self) -> None:
        """Nothing to release; here so a FunctionModel can stand where an LLM is closed."""


def _as_text(answer: Answer) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, BaseModel):
        return answer.model_dump_json()
    return json.dumps(answer, ensure_ascii=False)


_: type[StructuredModel] = FunctionModel
