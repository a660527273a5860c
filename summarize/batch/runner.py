"""Batch runs: many articles, grouped into stories, extracted concurrently, briefed per story.

Work is recorded in the SQLite store as it finishes, keyed by content, so a re-run skips it and a
run killed at any moment resumes without duplicates. Output files are regenerated from the store
and written atomically (temp file + rename), so no reader ever sees half a line.

    DIR/reports.jsonl          one SourceReport per article that was extracted
    DIR/errors.jsonl           one line per item that failed: item, stage, error kind, message, attempts
    DIR/briefings/<story>.md   and .json, one per story
    DIR/summary.json           counts, tokens, cost, wall time
    DIR/store.sqlite           the store: results and the run log (`summarize logs DIR`)
"""

from __future__ import annotations

import gc
import json
import queue
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarize.batch.inputs import BatchItem, collect
from summarize.batch.store import Store, WorkKeys
from summarize.brief.writer import BriefOptions, brief_with_usage
from summarize.config import Settings
from summarize.errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, ConfigError, SummarizeError
from summarize.extract.extractor import extract_source
from summarize.fileio import atomic_write
from summarize.llm.client import LLM
from summarize.llm.ratelimit import Limiter
from summarize.models.briefing import Briefing
from summarize.models.report import FailedItem, SourceReport, Usage
from summarize.render.briefing_md import briefing_markdown


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
    calls: int = 0
    rate_limited: int = 0
    usage: Usage = field(default_factory=Usage)
    wall_seconds: float = 0.0
    errors: list[FailedItem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
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
            "briefings": self.briefings,
            "briefings_cached": self.briefings_cached,
            "briefings_failed": self.briefings_failed,
            "model_calls": self.calls,
            "rate_limited": self.rate_limited,
            "usage": self.usage.model_dump(),
            "wall_seconds": round(self.wall_seconds, 3),
            "exit_code": self.exit_code,
        }


Event = Callable[[str, str, dict[str, Any]], None]  # (kind, item, details) for progress display


class _Running(dict[Future[Any], tuple[str, Any]]):
    """Futures in flight, each reporting to a queue when done.

    ``concurrent.futures.wait`` would put a waiter on every running future for every completion,
    work that grows with the number in flight and competes for the GIL with the workers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._done: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def __setitem__(self, fut: Future[Any], value: tuple[str, Any]) -> None:
        super().__setitem__(fut, value)
        fut.add_done_callback(self._done.put)

    def finished(self) -> list[Future[Any]]:
        """Block until at least one future is done; return every one done so far."""
        done = [self._done.get()]
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                return done


def _error(item: str, stage: str, exc: SummarizeError) -> dict[str, Any]:
    return FailedItem(item=item, stage=stage, error=exc.kind, message=exc.message, attempts=exc.attempts).model_dump()  # type: ignore[arg-type]


class _Budget:
    """Stops new calls before --max-cost would be exceeded, counting calls still in flight."""

    def __init__(self, settings: Settings, max_cost: float | None) -> None:
        if max_cost is not None and (settings.price_input is None or settings.price_output is None):
            raise ConfigError("--max-cost needs prices: set SUMMARIZE_PRICE_INPUT and SUMMARIZE_PRICE_OUTPUT (USD per million tokens)")
        self.settings, self.max_cost = settings, max_cost
        self.spent = 0.0
        self.reserved = 0.0
        self.lock = threading.Lock()

    def estimate(self, chars: int) -> float:
        """The most one extraction may cost: every chunk answered and re-asked to the budget."""
        s = self.settings
        chunks = max(1, -(-chars // s.chunk_chars))
        prompt_tokens = min(chars, s.chunk_chars) / 4 + 2500  # text plus instructions and schema
        return chunks * (1 + s.max_reasks) * (prompt_tokens * (s.price_input or 0) + 2000 * (s.price_output or 0)) / 1e6

    def reserve(self, chars: int) -> float | None:
        if self.max_cost is None:
            return 0.0
        cost = self.estimate(chars)
        with self.lock:
            if self.spent + self.reserved + cost > self.max_cost:
                return None
            self.reserved += cost
            return cost

    def settle(self, reserved: float, usage: Usage) -> None:
        with self.lock:
            self.reserved -= reserved
            self.spent += usage.cost_usd or 0.0


class BatchRun:
    def __init__(self, settings: Settings, options: BatchOptions, llm: LLM | None, store: Store, on_event: Event | None = None) -> None:
        # llm is None only for a run with nothing to ask a model (a Batch API collect whose answers all passed)
        self.settings, self.options, self.llm, self.store = settings, options, llm, store
        self.on_event = on_event or (lambda kind, item, details: None)
        self.result = BatchResult()
        self.budget = _Budget(settings, options.max_cost)
        self.settle_brief: dict[str, float] = {}
        self.keys = WorkKeys(settings, options.brief_options.language)
        self.key, self.brief_key = self.keys.key, self.keys.brief_key

    def _model(self) -> LLM:
        if self.llm is None:
            raise RuntimeError("internal error: this batch run was built without a model client but needs one")
        return self.llm

    def run(self, items: Sequence[BatchItem], read_failures: Sequence[FailedItem]) -> BatchResult:
        started = time.perf_counter()
        res = self.result
        res.items = len(items) + len(read_failures)
        res.errors += read_failures
        keys = {item.source.id: self.key(item) for item in items}
        done = self.store.done_keys(list(keys.values()))
        by_story: dict[str, list[BatchItem]] = defaultdict(list)
        for item in items:
            by_story[item.story].append(item)
        todo = [i for i in items if keys[i.source.id] not in done]
        res.cached = len(items) - len(todo)
        res.partial += self.store.unverified(list(done))
        for item in items:
            if keys[item.source.id] in done:
                self.on_event("cached", item.source.id, {})
        waiting = {story: {i.source.id for i in group if keys[i.source.id] not in done} for story, group in by_story.items()}
        # twice as many workers as requests in flight: while one waits for its answer another grounds the last one
        with ThreadPoolExecutor(max_workers=2 * max(1, self.options.concurrency), thread_name_prefix="summarize") as pool:
            running = _Running()
            queue = list(todo)
            stories_ready = [s for s, w in waiting.items() if not w]
            try:
                while queue or running or stories_ready:
                    while stories_ready and len(running) < self.options.concurrency * 2:
                        story = stories_ready.pop(0)
                        if self.options.brief:
                            self._submit_brief(pool, running, story, by_story[story], keys)
                    while queue and len(running) < self.options.concurrency * 2:
                        item = queue.pop(0)
                        reserved = self.budget.reserve(len(item.source.text))
                        if reserved is None:
                            self._skip_for_budget(item, keys, waiting, stories_ready)
                            continue
                        running[pool.submit(extract_source, item.source, self._model(), self.settings)] = ("extract", (item, reserved))
                    if not running:
                        continue
                    for fut in running.finished():
                        kind, payload = running.pop(fut)
                        if kind == "extract":
                            item, reserved = payload
                            self._finish_extract(fut, item, keys[item.source.id], reserved)
                            waiting[item.story].discard(item.source.id)
                            if not waiting[item.story]:
                                stories_ready.append(item.story)
                        else:
                            self._finish_brief(fut, *payload)
            except KeyboardInterrupt:
                for fut in running:
                    fut.cancel()
                raise
        res.wall_seconds = time.perf_counter() - started
        return res

    # -- extraction ----------------------------------------------------------------------------

    def _skip_for_budget(self, item: BatchItem, keys: dict[str, str], waiting: dict[str, set[str]], ready: list[str]) -> None:
        res = self.result
        res.skipped_budget += 1
        message = f"not started: the next call could exceed --max-cost ${self.options.max_cost:.2f} (spent ${self.budget.spent:.4f})"
        res.errors.append(FailedItem(item=item.source.path or item.source.id, stage="extract", error="budget", message=message))
        self.on_event("skipped", item.source.id, {"message": message})
        waiting[item.story].discard(item.source.id)
        if not waiting[item.story]:
            ready.append(item.story)

    def _finish_extract(self, fut: Future[SourceReport], item: BatchItem, key: str, reserved: float) -> None:
        res = self.result
        label = item.source.path or item.source.id
        try:
            report = fut.result()
        except Exception as unexpected:
            exc = unexpected if isinstance(unexpected, SummarizeError) else SummarizeError(f"internal error: {type(unexpected).__name__}: {unexpected}")
            res.failed += 1
            spent = exc.usage or Usage(requests=exc.attempts)
            res.usage = res.usage.add(spent)
            self.budget.settle(reserved, spent)
            error = _error(label, "extract", exc)
            self.store.put_failure(key, item.story, item.source.id, label, error)
            res.errors.append(FailedItem.model_validate(error))
            self.on_event("failed", item.source.id, error)
            return
        res.extracted += 1
        res.usage = res.usage.add(report.provenance.usage)
        self.budget.settle(reserved, report.provenance.usage)
        if not report.verified:
            res.partial += 1
        self.store.put_report(key, item.story, label, report)
        self.on_event("done", item.source.id, {"tokens": report.provenance.usage.total_tokens, "verified": report.verified})

    # -- briefings -----------------------------------------------------------------------------

    def _submit_brief(
        self, pool: ThreadPoolExecutor, running: dict[Future[Any], tuple[str, Any]], story: str, group: list[BatchItem], keys: dict[str, str]
    ) -> None:
        found = [(keys[i.source.id], r) for i in group if (r := self.store.report(keys[i.source.id])) is not None]
        if not found:
            return
        reports = [r for _, r in found]
        budget = self.budget.reserve(sum(200 * (len(r.claims) + len(r.figures) + len(r.events)) for r in reports) + 8000)
        if budget is None:
            self._skip_brief_for_budget(story)
            return
        self.settle_brief[story] = budget
        key = self.brief_key([k for k, _ in found])
        if (cached := self.store.briefing(key)) is not None:
            self.budget.settle(self.settle_brief.pop(story), Usage())
            self.result.briefings_cached += 1
            self.result.partial += 0 if cached.verified else 1
            self.on_event("cached", f"briefing {story}", {})
            return
        fut = pool.submit(brief_with_usage, reports, self._model(), self.settings, self.options.brief_options, story=story)
        running[fut] = ("brief", (story, key))

    def _skip_brief_for_budget(self, story: str) -> None:
        self.result.skipped_budget += 1
        message = f"briefing not started: it could exceed --max-cost ${self.options.max_cost:.2f} (spent ${self.budget.spent:.4f})"
        self.result.errors.append(FailedItem(item=f"briefing {story}", stage="brief", error="budget", message=message))
        self.on_event("skipped", f"briefing {story}", {"message": message})

    def _finish_brief(self, fut: Future[tuple[Briefing, Usage]], story: str, key: str) -> None:
        res = self.result
        reserved = self.settle_brief.pop(story, 0.0)
        try:
            briefing, spent = fut.result()
        except SummarizeError as exc:
            self.budget.settle(reserved, exc.usage or Usage())
            res.usage = res.usage.add(exc.usage or Usage())
            res.briefings_failed += 1
            error = _error(f"briefing {story}", "brief", exc)
            self.store.put_briefing_failure(key, story, error)
            res.errors.append(FailedItem.model_validate(error))
            self.on_event("failed", f"briefing {story}", error)
            return
        res.briefings += 1
        self.budget.settle(reserved, spent)
        res.usage = res.usage.add(spent)
        if not briefing.verified:
            res.partial += 1
        self.store.put_briefing(key, story, briefing)
        self.on_event("done", f"briefing {story}", {"verified": briefing.verified})


def write_outputs(out: Path, store: Store, run: BatchRun, items: Sequence[BatchItem]) -> None:
    """Regenerate every output file from the store, atomically."""
    keys = [run.key(i) for i in items]
    story_of = {run.key(i): i.story for i in items}
    skipped = {run.key(i) for i in items if (i.source.path or i.source.id) in {e.item for e in run.result.errors if e.error == "budget"}}
    reports: list[str] = []
    errors: list[str] = [json.dumps(e.model_dump(), ensure_ascii=False) for e in run.result.errors if e.stage == "read" or e.error == "budget"]
    done_keys: dict[str, list[str]] = defaultdict(list)
    for row in sorted(store.rows(keys), key=lambda r: (story_of[r["key"]], r["source_id"])):
        if row["status"] == "done":
            done_keys[story_of[row["key"]]].append(row["key"])
            # splice the stored JSON rather than parse and re-serialise every report
            reports.append('{"story": ' + json.dumps(story_of[row["key"]], ensure_ascii=False) + ", " + row["report"][1:])
        elif row["key"] not in skipped:
            errors.append(json.dumps(json.loads(row["error"]), ensure_ascii=False))
    atomic_write(out / "reports.jsonl", "".join(line + "\n" for line in reports))
    for story, story_keys in done_keys.items():
        key = run.brief_key(story_keys)
        briefing = store.briefing(key)
        if briefing is not None:
            atomic_write(out / "briefings" / f"{story}.json", briefing.model_dump_json(indent=2) + "\n")
            atomic_write(out / "briefings" / f"{story}.md", briefing_markdown(briefing))
        elif (failure := store.briefing_failure(key)) is not None:
            errors.append(json.dumps(failure, ensure_ascii=False))
    atomic_write(out / "errors.jsonl", "".join(line + "\n" for line in errors))
    atomic_write(out / "summary.json", json.dumps(run.result.summary(), indent=2) + "\n")


Collected = tuple[list[BatchItem], list[FailedItem]]


def run_batch(
    inputs: Sequence[str], settings: Settings, options: BatchOptions, *, on_event: Event | None = None, collected: Collected | None = None
) -> BatchResult:
    """Collect (unless the caller already did: ``collected``), extract, brief, write. The LLM session (and its cassette) is opened here."""
    # What exists now (modules, schemas, the SDK's types) outlives the run: keep the collector from
    # walking it again and again; a full collection over it stalls every worker for ~0.1 s. A caller
    # that froze objects itself (a fork server, say) keeps its own freeze: we leave it alone.
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    try:
        return _run_batch(inputs, settings, options, on_event, collected)
    finally:
        if ours:
            gc.unfreeze()


def _run_batch(inputs: Sequence[str], settings: Settings, options: BatchOptions, on_event: Event | None, collected: Collected | None) -> BatchResult:
    from summarize.api import session  # api imports this module's siblings; import late to keep layering flat

    items, read_failures = collected or collect(inputs, group=options.group, max_bytes=settings.max_bytes)
    for stale in [*options.out.glob(".*.tmp"), *options.out.glob("briefings/.*.tmp")]:
        stale.unlink(missing_ok=True)  # left by a run killed mid-write; the real files are intact
    store = Store(options.out / "store.sqlite")
    store.start_run(" ".join(inputs))
    try:
        limiter = Limiter(options.rpm, options.tpm, max_pause=settings.max_retry_wait, concurrency=options.concurrency)
        with session(settings, limiter=limiter, observer=store.log_call) as llm:
            run = BatchRun(settings, options, llm, store, on_event)
            try:
                result = run.run(items, read_failures)
            finally:
                run.result.calls = store.count_calls(store.run_id)
                run.result.rate_limited = limiter.stats.rate_limited
                write_outputs(options.out, store, run, items)
                store.finish_run(run.result.summary())
        return result
    finally:
        store.close()
