"""Progress on stderr: one line per article for extract/brief; for batches a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from summarize.models.report import FailedItem, SourceReport
from summarize.render.escape import printable


class BatchProgress:
    """Receives batch events; counts done, failed, cached, tokens and cost; shows them."""

    def __init__(self, total: int, *, stream: TextIO | None = None, price: tuple[float | None, float | None] = (None, None), quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.total = total
        self.done = self.failed = self.cached = self.skipped = self.tokens = 0
        self._lock = threading.Lock()
        self._start = time.monotonic()
        self._quiet = quiet
        self._bar: Progress | None = None
        if not quiet and self.stream.isatty():
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
            )
            self._task = self._bar.add_task("articles", total=total, status="")
            self._bar.start()

    def __call__(self, kind: str, item: str, details: dict[str, Any]) -> None:
        with self._lock:
            if kind == "stopping":
                self._say(f"stopping ({details.get('signal')}): no new calls; the calls in flight finish and are kept (signal again to quit at once)")
                return
            counts_item = not item.startswith("briefing ")
            if kind == "done" and counts_item:
                self.done += 1
                self.tokens += int(details.get("tokens", 0))
            elif kind == "failed" and counts_item:
                self.failed += 1
            elif kind == "skipped" and counts_item:
                self.skipped += 1
            elif kind == "cached" and counts_item:
                self.cached += 1
            finished = self.done + self.failed + self.cached + self.skipped
            skipped = f" skipped {self.skipped}" if self.skipped else ""
            status = f"✓ {self.done} ✗ {self.failed}{skipped} cached {self.cached} · {self.tokens:,} tokens"
            if self._bar is not None:
                self._bar.update(self._task, completed=finished, status=status)
                if kind in ("failed", "skipped"):
                    self._bar.console.print(f"✗ {printable(item)}: {printable(details.get('message', ''))}", markup=False, highlight=False)
                return
            if self._quiet or kind == "cached":
                return
            elapsed = time.monotonic() - self._start
            rate = (self.done + self.failed + self.skipped) / elapsed if elapsed > 0 else 0.0
            left = self.total - finished
            eta = f"{left / rate:.0f}s" if rate > 0 and counts_item else "?"
            mark = {"done": "✓", "failed": "✗", "skipped": "-"}.get(kind, "·")
            note = f": {printable(details['message'])}" if "message" in details else ""
            self.stream.write(f"[{finished}/{self.total}] {mark} {printable(item)}{note} ({status}; eta {eta})\n")
            self.stream.flush()

    def _say(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False)
        elif not self._quiet:
            self.stream.write(line + "\n")
            self.stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def progress_lines(stream: TextIO) -> Callable[[str, SourceReport | FailedItem], None]:
    """One line per finished article: what was extracted, or why it failed."""

    def report(name: str, outcome: SourceReport | FailedItem) -> None:
        if isinstance(outcome, FailedItem):
            stream.write(f"✗ {printable(outcome.item)}: {outcome.stage} failed ({outcome.error}): {printable(outcome.message)}\n")
            return
        dropped = f", {len(outcome.dropped)} dropped" if outcome.dropped else ""
        mark = "✓" if outcome.verified else "!"
        stream.write(
            f"{mark} {printable(name)}: {len(outcome.events)} events, {len(outcome.figures)} figures, {len(outcome.claims)} claims{dropped} "
            f"({outcome.provenance.usage.total_tokens} tokens)\n"
        )

    return report
