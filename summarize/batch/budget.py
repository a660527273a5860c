"""``--max-cost``: start a call only when what is spent, what is in flight and this call's estimate fit the budget.

The estimate is what finished work actually cost: the most one extraction chunk cost so far (times
the article's chunks), and the most one briefing cost. Before anything has finished it is one
answer to the full prompt with a long reply; re-asks are not assumed, since most answers need
none and the first finished item replaces the guess. A call that does not fit while others are
in flight waits for them to settle (their real cost is usually far below their reservation)
rather than being skipped; only a call that does not fit with nothing in flight is skipped.
Skipped work is not recorded as failed: the next run (with a larger budget) picks it up.
"""

from __future__ import annotations

import threading

from summarize.config import Settings
from summarize.errors import ConfigError
from summarize.models.report import Usage

PROMPT_OVERHEAD_TOKENS = 2500  # instructions and schema around the article text
ANSWER_TOKENS = 2000  # a long answer
BRIEF_ANSWER_TOKENS = 3000


class Budget:
    def __init__(self, settings: Settings, max_cost: float | None) -> None:
        if max_cost is not None and (settings.price_input is None or settings.price_output is None):
            raise ConfigError("--max-cost needs prices: set SUMMARIZE_PRICE_INPUT and SUMMARIZE_PRICE_OUTPUT (USD per million tokens)")
        self.settings, self.max_cost = settings, max_cost
        self.spent = 0.0
        self.reserved = 0.0
        self.lock = threading.Lock()
        self._per_chunk: float | None = None  # the most one finished extraction chunk cost
        self._per_brief: float | None = None  # the most one finished briefing cost
        self.last_estimate = 0.0  # of the call most recently refused

    @property
    def limited(self) -> bool:
        return self.max_cost is not None

    def _price(self, prompt_tokens: float, answer_tokens: float) -> float:
        s = self.settings
        return (prompt_tokens * (s.price_input or 0) + answer_tokens * (s.price_output or 0)) / 1e6

    def chunks(self, chars: int) -> int:
        return max(1, -(-chars // self.settings.chunk_chars))

    def extract_estimate(self, chars: int) -> float:
        chunks = self.chunks(chars)
        if self._per_chunk is not None:
            return chunks * self._per_chunk
        return chunks * self._price(min(chars, self.settings.chunk_chars) / 4 + PROMPT_OVERHEAD_TOKENS, ANSWER_TOKENS)

    def brief_estimate(self, prompt_chars: int) -> float:
        if self._per_brief is not None:
            return self._per_brief
        return self._price(prompt_chars / 4 + PROMPT_OVERHEAD_TOKENS, BRIEF_ANSWER_TOKENS)

    def reserve(self, cost: float) -> float | None:
        """Reserve ``cost``; None when it does not fit beside what is spent and in flight."""
        if self.max_cost is None:
            return 0.0
        with self.lock:
            if self.spent + self.reserved + cost > self.max_cost:
                self.last_estimate = cost
                return None
            self.reserved += cost
            return cost

    def settle(self, reserved: float, usage: Usage, *, chunks: int = 0, brief: bool = False) -> None:
        """Replace a reservation by what was spent; a finished call (``chunks`` > 0, or ``brief``) teaches the estimate."""
        # an answer that reported no usage has an unknown cost: what was reserved for it counts as spent, never 0
        cost = reserved if usage.cost_usd is None and usage.unreported else usage.cost_usd or 0.0
        with self.lock:
            self.reserved = max(0.0, self.reserved - reserved)
            self.spent += cost
            if usage.cost_usd is None:
                return
            if chunks:
                self._per_chunk = max(self._per_chunk or 0.0, cost / chunks)
            elif brief:
                self._per_brief = max(self._per_brief or 0.0, cost)

    def reason(self) -> str:
        """Why work was skipped, for the summary."""
        return (
            f"--max-cost ${self.max_cost or 0:.2f}: ${self.spent:.4f} spent, and the next call's estimate (${self.last_estimate:.4f}) "
            "did not fit in what was left; run the same command again, with a larger --max-cost, to do it"
        )
