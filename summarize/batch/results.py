"""What a batch run is asked to do (``BatchOptions``) and what it did (``BatchResult``, the summary and exit code)."""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarize.brief.writer import BriefOptions
from summarize.errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_PARTIAL
from summarize.models.report import FailedItem, Usage


@dataclass(frozen=True)
class BatchOptions:
    out: Path
    concurrency: int = 8
    rpm: float | None = None
    tpm: float | None = None
    max_cost: float | None = None
    group: str = "dirs"
    brief: bool = True
    brief_options: BriefOptions = field(default_factory=BriefOptions)
    workers: int | None = None  # processes for the CPU part of extraction; None: from the CPU count; 1: this process only


@dataclass
class BatchResult:
    items: int = 0
    extracted: int = 0
    cached: int = 0
    failed: int = 0
    partial: int = 0
    briefings: int = 0
    briefings_cached: int = 0
    briefings_failed: int = 0
    skipped_budget: int = 0
    skipped_reason: str | None = None
    not_started: int = 0  # left for the next run by a stop request
    stopped_by: str | None = None  # "SIGINT", "SIGTERM"
    internal_errors: int = 0
    worker_processes: int = 1  # processes that extracted: 1 is this one (no pool)
    calls: int = 0
    rate_limited: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_seconds: float = 0.0
    errors: list[FailedItem] = field(default_factory=list)
    skipped_not_articles: list[dict[str, str]] = field(default_factory=list)  # files in input directories left out: {"item", "reason"}

    @property
    def exit_code(self) -> int:
        if self.stopped_by is not None:
            return 128 + int(signal.Signals[self.stopped_by])
        if any(e.error == "internal" for e in self.errors):
            return EXIT_INTERNAL
        if any(e.stage != "read" and e.error != "budget" for e in self.errors):
            return EXIT_ENDPOINT
        if any(e.stage == "read" for e in self.errors):
            return EXIT_INPUT
        return EXIT_PARTIAL if self.partial or self.skipped_budget or self.briefings_failed else EXIT_OK

    def summary(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "extracted": self.extracted,
            "cached": self.cached,
            "failed": self.failed,
            "partially_verified": self.partial,
            "skipped_budget": self.skipped_budget,
            "skipped_reason": self.skipped_reason,
            "not_started": self.not_started,
            "stopped_by": self.stopped_by,
            "internal_errors": self.internal_errors,
            "worker_processes": self.worker_processes,
            "briefings": self.briefings,
            "briefings_cached": self.briefings_cached,
            "briefings_failed": self.briefings_failed,
            "model_calls": self.calls,
            "rate_limited": self.rate_limited,
            "usage": self.usage.model_dump(),
            "wall_seconds": round(self.wall_seconds, 3),
            "exit_code": self.exit_code,
            "skipped_not_articles": self.skipped_not_articles,
        }
