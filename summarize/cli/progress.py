"""What goes to stderr: progress, one line per article for extract/brief, and for batches a rich bar on a terminal, plain
lines otherwise; a batch's closing lines; and the libraries' log records kept out of it.

Under -q the progress goes, but never a failure: each failed item still gets its line."""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from summarize.render.escape import printable
from summarize.words import counted

if TYPE_CHECKING:
    from rich.progress import Progress

    from summarize.batch.runner import BatchResult
    from summarize.models.report import FailedItem, SourceReport


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
            from rich.console import Console  # rich loads only for a bar on a terminal
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

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
                    self._bar.console.print(f"✗ {printable(item)}: {printable(_message(item, details))}", markup=False, highlight=False)
                return
            if kind == "cached" or (self._quiet and kind != "failed"):
                return  # under -q, budget skips are said once, in the closing lines ("N not started: ...")
            if self._quiet:  # a failure (an unreadable or duplicate input, a failed call) is not progress: it is said under -q too
                self.stream.write(f"✗ {printable(item)}: {printable(_message(item, details))}\n")
                self.stream.flush()
                return
            elapsed = time.monotonic() - self._start
            rate = (self.done + self.failed + self.skipped) / elapsed if elapsed > 0 else 0.0
            left = self.total - finished
            eta = f"{left / rate:.0f}s" if rate > 0 and counts_item else "?"
            mark = {"done": "✓", "failed": "✗", "skipped": "-"}.get(kind, "·")
            note = f": {printable(_message(item, details))}" if "message" in details else ""
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


def _message(item: str, details: dict[str, Any]) -> str:
    """An event's message without the item's name in front: the line names it already."""
    message = str(details.get("message", ""))
    return message[len(item) + 2 :] if item and message.startswith(f"{item}: ") else message


def progress_lines(stream: TextIO, *, quiet: bool = False) -> Callable[[str, SourceReport | FailedItem], None]:
    """One line per finished article: what was extracted, or why it failed; ``quiet``: only the failures."""
    from summarize.models.report import FailedItem

    def report(name: str, outcome: SourceReport | FailedItem) -> None:
        if isinstance(outcome, FailedItem):
            message = _message(outcome.item, {"message": outcome.message})
            stream.write(f"✗ {printable(outcome.item)}: {outcome.stage} failed ({outcome.error}): {printable(message)}\n")
            return
        if quiet:
            return
        dropped = f", {len(outcome.dropped)} dropped" if outcome.dropped else ""
        mark = "✓" if outcome.verified else "!"
        stream.write(
            f"{mark} {printable(name)}: {counted(len(outcome.events), 'event')}, {counted(len(outcome.figures), 'figure')}, "
            f"{counted(len(outcome.claims), 'claim')}{dropped} "
            f"({outcome.provenance.usage.total_tokens} tokens)\n"
        )

    return report


NOISY = ("httpx", "httpcore", "openai", "instructor", "vcr", "trafilatura", "htmldate", "courlan")


def _not_noisy(record: logging.LogRecord) -> bool:
    return record.name.split(".")[0] not in NOISY or record.levelno >= logging.CRITICAL


def quiet_libraries(level: int) -> None:
    """Log at ``level`` on stderr. The libraries log failures we already report in our own words, once; -vv (DEBUG) shows them
    again. They load later, when a command runs, and may set their loggers' levels then (trafilatura sets htmldate's), so the
    root handlers drop their records too. The one filter is taken off again first: a later -vv run in the same process (a test,
    a library user calling ``cli`` twice) must see them."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    for name in [*NOISY, *logging.root.manager.loggerDict]:
        if name.split(".")[0] in NOISY:
            logging.getLogger(name).setLevel(logging.CRITICAL if level > logging.DEBUG else logging.NOTSET)
    for handler in logging.root.handlers:
        handler.removeFilter(_not_noisy)
        if level > logging.DEBUG:
            handler.addFilter(_not_noisy)


def batch_closing(result: BatchResult, out: Path, argv: Sequence[str]) -> str:
    """What a batch run ends with: its counts, then what was not started, internal errors and a stop, each when there was one."""
    summary = result.summary()
    lines = [
        f"batch: {summary['items']} items: {summary['extracted']} extracted, {summary['cached']} cached, {summary['failed']} failed"
        f"{', ' + str(summary['skipped_budget']) + ' skipped (budget)' if summary['skipped_budget'] else ''}; "
        f"{summary['briefings']} briefings ({summary['briefings_cached']} cached, {summary['briefings_failed']} failed); "
        f"{summary['model_calls']} model calls, {summary['usage']['total_tokens']:,} tokens, {summary['wall_seconds']:.1f}s -> {printable(out)}\n"
    ]
    if n := len(result.skipped_not_articles):
        lines.append(f"batch: {n} file{'s' if n != 1 else ''} in the input directories skipped as not articles, listed in {printable(out / 'summary.json')}\n")
    if result.skipped_reason:
        lines.append(f"batch: {result.skipped_budget} not started: {printable(result.skipped_reason)}\n")
    if result.internal_errors:
        bugs = counted(result.internal_errors, "internal error")
        lines.append(f"batch: {bugs}, a bug: please report it, with the traceback in {printable(out / 'run.log')}\n")
    if result.stopped_by:
        lines.append(stopped_line(result.stopped_by, summary, out, argv))
    return "".join(lines)


def stopped_line(signal_name: str, summary: dict[str, Any], out: Path, argv: Sequence[str]) -> str:
    from summarize.cli.signals import resume_command

    finished = f"{summary['extracted']} extracted and {summary['cached']} cached of {summary['items']} items, kept in {printable(out / 'store.sqlite')}"
    return f"summarize: stopped by {signal_name}: {finished}; {summary['not_started']} not started; resume with: {resume_command(argv)}\n"
