"""Token usage as an answer reports it, checked before it is counted. SDK-free.

An answer's ``usage`` counts only when ``prompt_tokens`` and ``completion_tokens`` are whole,
non-negative numbers (``total_tokens`` too, when given). An answer without usage, or with usage
that is negative, fractional or not a number, is counted as *unreported*: its tokens are not added
(they are unknown, not 0), a warning names the item, and the cost of every call it is part of is
unknown (``cost_usd`` null) even when prices are configured, rather than a cost that leaves it out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from summarize.config import Settings
from summarize.llm.protocol import priced
from summarize.models.report import Usage

log = logging.getLogger("summarize.llm.client")

_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")


def _count(value: object) -> bool:
    return type(value) is int and value >= 0  # type() rather than isinstance: True is not a token count


def read_usage(usage: object) -> tuple[Usage | None, str]:
    """``(tokens, "")`` from an answer's usage object, or ``(None, why)`` when it reports none or nonsense."""
    if usage is None:
        return None, "reported no token usage"
    prompt, completion, total = (getattr(usage, name, None) for name in _FIELDS)
    if prompt is None and completion is None and total is None:
        return None, "reported no token usage"
    bad = [f"{name}={value!r}" for name, value in zip(_FIELDS, (prompt, completion, total), strict=True) if not _count(value) and value is not None]
    if bad or prompt is None or completion is None:
        shown = ", ".join(bad) if bad else "prompt_tokens or completion_tokens missing"
        return None, f"reported invalid token usage ({shown[:160]})"
    assert isinstance(prompt, int) and isinstance(completion, int)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total if isinstance(total, int) else prompt + completion), ""


@dataclass
class Spend:
    """What one structured call has spent: requests sent, answers received, the tokens they reported, and how many reported none."""

    usage: Usage = field(default_factory=Usage)
    unreported: int = 0

    def answered(self, usage: object, item: str | None = None) -> None:
        """Count one answer, given its usage object."""
        self.usage.attempts += 1
        got, why = read_usage(usage)
        if got is None:
            self.unreported += 1
            who = f"{item}: " if item else ""
            log.warning("%sthe endpoint %s for an answer: its tokens and cost are unknown, not 0 (a --max-cost budget cannot count them)", who, why)
            return
        u = self.usage
        u.prompt_tokens, u.completion_tokens = u.prompt_tokens + got.prompt_tokens, u.completion_tokens + got.completion_tokens
        u.total_tokens += got.total_tokens

    def priced(self, settings: Settings) -> Usage:
        """The usage with its cost at the configured prices; the cost is unknown (None) when an answer reported no usage."""
        self.usage.unreported = self.unreported
        return priced(self.usage, settings, known=self.unreported == 0)
