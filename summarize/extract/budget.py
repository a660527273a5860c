"""Context budgets: chunk an article so that prompt + schema + the expected answer fit the model's context window.

Every extraction call pays a fixed overhead, the prompt and the JSON Schema with an empty article
(measured in the README). With a known context window (``--context-tokens``, or ``--local``, which
knows what it started) the article's share is what is left after that overhead and ANSWER_TOKENS
for the answer; articles longer than that are chunked smaller than ``--chunk-chars``. When even the
overhead does not fit, the call is never sent: a ``context_length`` error says so in one line.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import BaseModel

from summarize.config import ANSWER_TOKENS, Settings
from summarize.errors import ContextLengthError
from summarize.extract.chunk import MIN_MAX_CHARS
from summarize.llm.prompts import Prompt, fence
from summarize.llm.tokens import counter
from summarize.models.draft import ExtractionDraft
from summarize.models.report import Source

MIN_ARTICLE_TOKENS = 250  # below this a chunk is a sentence or two: better to say the context is too small
_OVERHEAD: dict[tuple[str, str, str], int] = {}


def overhead_tokens(prompt: Prompt, settings: Settings, count: Callable[[str], int]) -> int:
    """Tokens of one extraction call with an empty article: system and user messages plus the schema."""
    key = (prompt.sha256, settings.base_url or "", settings.profile)
    if key not in _OVERHEAD:
        messages = prompt.render(source_id="empty", metadata="", part="", fenced_text=fence("empty", ""))
        schema = json.dumps(ExtractionDraft.model_json_schema())
        _OVERHEAD[key] = count("\n".join(m["content"] for m in messages)) + count(schema)
    return _OVERHEAD[key]


def chunk_chars(source: Source, settings: Settings, prompt: Prompt) -> int:
    """The chunk size for ``source``: ``settings.chunk_chars``, made smaller when the context window needs it."""
    if not settings.context_tokens:
        return settings.chunk_chars
    count, _exact = counter(settings)
    fixed = overhead_tokens(prompt, settings, count)
    room = settings.context_tokens - fixed - ANSWER_TOKENS
    if room < MIN_ARTICLE_TOKENS:
        raise ContextLengthError(
            f"the extraction prompt and schema take about {fixed} tokens and {ANSWER_TOKENS} are kept for the answer, which leaves no room "
            f"for the article in the model's context of {settings.context_tokens} tokens (--context-tokens); use a model with a larger context",
            item=source.path or source.id,
        )
    sample = source.text[:8000]
    chars_per_token = len(sample) / max(1, count(sample)) if sample else 3.0
    return max(MIN_MAX_CHARS, min(settings.chunk_chars, int(room * chars_per_token * 0.95)))


def fits_context(messages: list[dict[str, str]], model: type[BaseModel], settings: Settings, *, what: str) -> None:
    """Refuse, before sending, a request whose messages and schema leave no room for the answer in a known context."""
    if not settings.context_tokens:
        return
    count, _exact = counter(settings)
    needed = count("\n".join(m["content"] for m in messages)) + count(json.dumps(model.model_json_schema()))
    if needed + ANSWER_TOKENS > settings.context_tokens:
        raise ContextLengthError(
            f"the request takes about {needed} tokens and {ANSWER_TOKENS} are kept for the answer: more than the model's context of "
            f"{settings.context_tokens} tokens (--context-tokens); brief fewer sources at once or use a model with a larger context",
            item=what,
        )
