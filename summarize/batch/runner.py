"""Batch runs: many articles, grouped into stories, extracted concurrently, briefed per story.

Work is recorded in the SQLite store as it finishes, keyed by content, so a re-run skips it and a run killed at any
moment resumes without duplicates. Output files are regenerated from the store and written atomically (temp file +
rename), so no reader ever sees half a line (``outputs``). One run at a time per output directory (``lock``). A stop
request (``Stop``, from a signal handler) or a first KeyboardInterrupt stops new work from starting; the calls in
flight finish and are stored, and the outputs are written for everything finished.
"""

from __future__ import annotations

import contextlib
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from summarize.batch.budget import Budget
from summarize.batch.inputs import BatchItem, collect
from summarize.batch.lock import DirLock
from summarize.batch.outputs import log_traceback, write_files
from summarize.batch.results import BatchOptions, BatchResult
from summarize.batch.stop import NotStarted, Running, Stop, StoppableLimiter
from summarize.batch.store import Store, WorkKeys
from summarize.batch.workers import Packed, WorkerPool, default_workers, early_pool, in_lane, tuned_for_batch
from summarize.brief.writer import brief_with_usage
from summarize.config import Settings
from summarize.errors import InternalError, OutputError, SummarizeError
from summarize.extract.extractor import extract_source
from summarize.llm.client import LLM
from summarize.llm.ratelimit import CpuLane, Limiter
from summarize.models.briefing import Briefing
from summarize.models.report import FailedItem, SourceReport, Usage
from summarize.sources.files import Skipped

__all__ = ["BatchOptions", "BatchResult", "BatchRun", "Event", "early_pool", "finish", "run_batch", "write_outputs"]  # options and result live in results

Event = Callable[[str, str, dict[str, Any]], None]  # (kind, item, details) for progress display


def _error(item: str, stage: str, exc: SummarizeError) -> dict[str, Any]:
    return FailedItem(item=item, stage=stage, error=exc.kind, message=exc.message, attempts=exc.attempts).model_dump()  # type: ignore[arg-type]


class BatchRun:
    def __init__(
        self,
        settings: Settings,
        options: BatchOptions,
        llm: LLM | None,
        store: Store,
        on_event: Event | None = None,
        stop: Stop | None = None,
        *,
        open_llm: Callable[[], LLM] | None = None,
        workers: WorkerPool | None = None,
    ) -> None:
        # llm is None for a run with nothing to ask a model (a Batch API collect whose answers all passed), or when
        # open_llm opens the session once the first call is due: a run whose work is all stored needs no endpoint
        self.settings, self.options, self.llm, self.store = settings, options, llm, store
        self._open_llm = open_llm
        self.workers = workers  # started early (``early_pool``), or when the first extraction is due
        if workers is not None:
            workers.on_call = store.log_call
        self._pool_decided = False
        self._pool_ours = False  # started here, not handed in: closed here too
        self._todo = 0
        self.processes = 1  # processes that extract: this one, or the worker pool's children
        self.on_event = on_event or (lambda kind, item, details: None)
        self.stop = stop or Stop()
        self.result = BatchResult()
        self.budget = Budget(settings, options.max_cost)
        self.settle_brief: dict[str, float] = {}
        self.refused = 0  # items whose request a stop refused
        self.keys = WorkKeys(settings, options.brief_options.language)
        self.key, self.brief_key = self.keys.key, self.keys.brief_key

    def _model(self) -> LLM:
        if self.llm is None and self._open_llm is not None:
            self.llm = self._open_llm()
        if self.llm is None:
            raise RuntimeError("internal error: this batch run was built without a model client but needs one")
        return self.llm

    def _pool(self, todo: int) -> WorkerPool | None:
        """The worker processes, started when the first extraction is due; None: extract in this process."""
        if self._pool_decided:
            return self.workers
        self._pool_decided = True
        wanted = self.options.workers or default_workers(todo, self.options.concurrency)
        # a cassette records or replays in this process; a run given its client (a library caller, the Batch API path) uses it
        if wanted <= 1 or self.settings.record or self.settings.replay or self._open_llm is None:
            if self.workers is not None:  # started early, for a run that turned out to want none: it holds no work
                self.workers.close(wait_for_work=False)
            self.workers = None
            return None
        if self.workers is None:
            self.settings.require_endpoint()
            o = self.options
            self.workers = WorkerPool(self.settings, wanted, concurrency=o.concurrency, rpm=o.rpm, tpm=o.tpm, on_call=self.store.log_call)
            self._pool_ours = True
        self.processes = self.workers.workers
        return self.workers

    def _internal(self, what: str, unexpected: BaseException) -> InternalError:
        log = log_traceback(self.options.out, self.store.run_id, what, unexpected)
        self.result.internal_errors += 1
        return InternalError(f"internal error (a bug): {type(unexpected).__name__}: {unexpected}; please report it, with the traceback in {log}")

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
        pool = ThreadPoolExecutor(max_workers=2 * max(1, self.options.concurrency), thread_name_prefix="summarize")
        running = Running()
        self.stop.on_request(running.wake)
        queue_ = list(todo)
        stories_ready = [s for s, w in waiting.items() if not w]
        interrupted = abandoned = announced = False
        ok = False
        self._todo = len(todo)
        try:
            while True:
                try:
                    if self.workers is not None and self.stop.requested:
                        self.workers.request_stop()  # the children refuse every request not yet sent
                    if self.stop.signal is None:
                        self._start(pool, running, queue_, stories_ready, by_story, keys, waiting)
                    elif not announced:
                        announced = True
                        self.on_event("stopping", "", {"in_flight": len(running), "signal": self.stop.signal})
                    if not running:
                        if self.stop.signal is None and (queue_ or stories_ready):
                            continue
                        break
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
                    if self.stop.signal is not None:  # a second interrupt: stop waiting for the calls in flight
                        abandoned = True
                        break
                    interrupted = True  # no handler installed (a library caller): drain, then raise it again
                    self.stop.request(signal.SIGINT)
            ok = True
        finally:
            self.stop.halted = not ok  # an error on its way out: the workers send nothing more
            if self.workers is not None:
                if not ok:
                    self.workers.request_stop()
                if ok and self._pool_decided and not self._pool_ours:
                    self.workers.release()  # every answer is in: they exit on their own while the outputs are written; the caller joins them
                else:
                    self.workers.close(wait_for_work=not abandoned and self._pool_decided)  # undecided: started early, never given work
            pool.shutdown(wait=not abandoned, cancel_futures=True)
            self.stop.on_request(lambda: None)
            res.stopped_by = self.stop.signal
            abandoned_items = sum(1 for kind, _ in running.values() if kind == "extract") if abandoned else 0
            res.not_started = len(queue_) + self.refused + abandoned_items
            res.worker_processes = self.processes
            res.wall_seconds = time.perf_counter() - started
        if interrupted:
            raise KeyboardInterrupt  # after draining: the caller writes the outputs for what finished
        return res

    def _start(
        self,
        pool: ThreadPoolExecutor,
        running: Running,
        queue_: list[BatchItem],
        stories_ready: list[str],
        by_story: dict[str, list[BatchItem]],
        keys: dict[str, str],
        waiting: dict[str, set[str]],
    ) -> None:
        while stories_ready and len(running) < self.options.concurrency * 2:
            story = stories_ready.pop(0)
            if self.options.brief:
                self._submit_brief(pool, running, story, by_story[story], keys)
        while queue_ and len(running) < self.options.concurrency * 2:
            item = queue_[0]
            reserved = self.budget.reserve(self.budget.extract_estimate(len(item.source.text)))
            if reserved is None:
                if running:
                    return  # wait for the calls in flight to settle: they usually cost far less than reserved
                queue_.pop(0)
                self._skip_for_budget(item, waiting, stories_ready)
                continue
            queue_.pop(0)
            if (workers := self._pool(self._todo)) is not None:
                fut: Future[Any] = workers.submit(item.source)
            else:
                fut = pool.submit(in_lane, (llm := self._model()).limiter, partial(extract_source, item.source, llm, self.settings))
            running[fut] = ("extract", (item, reserved))

    # -- extraction ----------------------------------------------------------------------------

    def _skip_for_budget(self, item: BatchItem, waiting: dict[str, set[str]], ready: list[str]) -> None:
        res = self.result
        res.skipped_budget += 1
        res.skipped_reason = self.budget.reason()
        message = (
            f"not started (kept for the next run): its estimated ${self.budget.last_estimate:.4f} did not fit in "
            f"--max-cost ${self.options.max_cost:.2f} (spent ${self.budget.spent:.4f})"
        )
        res.errors.append(FailedItem(item=item.source.path or item.source.id, stage="extract", error="budget", message=message))
        self.on_event("skipped", item.source.id, {"message": message})
        waiting[item.story].discard(item.source.id)
        if not waiting[item.story]:
            ready.append(item.story)

    def _finish_extract(self, fut: Future[SourceReport] | Future[Packed], item: BatchItem, key: str, reserved: float) -> None:
        res = self.result
        label = item.source.path or item.source.id
        try:
            report = fut.result()
        except NotStarted:
            self.budget.settle(reserved, Usage())
            self.refused += 1
            return
        except Exception as unexpected:
            exc = unexpected if isinstance(unexpected, SummarizeError) else self._internal(f"extract {label}", unexpected)
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
        if isinstance(report, Packed):  # from a worker process: the JSON goes to the store as it came
            usage, verified = report.usage, report.verified
            self.store.put_report_json(key, item.story, report.source_id, label, report.report_json, verified)
        else:
            usage, verified = report.provenance.usage, report.verified
            self.store.put_report(key, item.story, label, report)
        res.usage = res.usage.add(usage)
        self.budget.settle(reserved, usage, chunks=self.budget.chunks(len(item.source.text)))
        if not verified:
            res.partial += 1
        self.on_event("done", item.source.id, {"tokens": usage.total_tokens, "verified": verified})

    # -- briefings -----------------------------------------------------------------------------

    def _submit_brief(self, pool: ThreadPoolExecutor, running: Running, story: str, group: list[BatchItem], keys: dict[str, str]) -> None:
        found = [(keys[i.source.id], r) for i in group if (r := self.store.report(keys[i.source.id])) is not None]
        if not found:
            return
        reports = [r for _, r in found]
        key = self.brief_key([k for k, _ in found])
        if (cached := self.store.briefing(key)) is not None:
            self.result.briefings_cached += 1
            self.result.partial += 0 if cached.verified else 1
            self.on_event("cached", f"briefing {story}", {})
            return
        chars = sum(200 * (len(r.claims) + len(r.figures) + len(r.events)) for r in reports) + 8000
        budget = self.budget.reserve(self.budget.brief_estimate(chars))
        if budget is None:
            self._skip_brief_for_budget(story)
            return
        self.settle_brief[story] = budget
        fut = pool.submit(brief_with_usage, reports, self._model(), self.settings, self.options.brief_options, story=story)
        running[fut] = ("brief", (story, key))

    def _skip_brief_for_budget(self, story: str) -> None:
        self.result.skipped_budget += 1
        self.result.skipped_reason = self.budget.reason()
        message = f"briefing not started (kept for the next run): it could exceed --max-cost ${self.options.max_cost:.2f} (spent ${self.budget.spent:.4f})"
        self.result.errors.append(FailedItem(item=f"briefing {story}", stage="brief", error="budget", message=message))
        self.on_event("skipped", f"briefing {story}", {"message": message})

    def _finish_brief(self, fut: Future[tuple[Briefing, Usage]], story: str, key: str) -> None:
        res = self.result
        reserved = self.settle_brief.pop(story, 0.0)
        try:
            briefing, spent = fut.result()
        except NotStarted:
            self.budget.settle(reserved, Usage())
            return
        except Exception as unexpected:
            exc = unexpected if isinstance(unexpected, SummarizeError) else self._internal(f"briefing {story}", unexpected)
            self.budget.settle(reserved, exc.usage or Usage())
            res.usage = res.usage.add(exc.usage or Usage())
            res.briefings_failed += 1
            error = _error(f"briefing {story}", "brief", exc)
            self.store.put_briefing_failure(key, story, error)
            res.errors.append(FailedItem.model_validate(error))
            self.on_event("failed", f"briefing {story}", error)
            return
        res.briefings += 1
        self.budget.settle(reserved, spent, brief=True)
        res.usage = res.usage.add(spent)
        if not briefing.verified:
            res.partial += 1
        self.store.put_briefing(key, story, briefing)
        self.on_event("done", f"briefing {story}", {"verified": briefing.verified})


def write_outputs(out: Path, store: Store, run: BatchRun, items: Sequence[BatchItem]) -> None:
    """Regenerate every output file from the store, atomically."""
    write_files(out, store, items, key=run.key, brief_key=run.brief_key, errors=run.result.errors, summary=run.result.summary())


def finish(out: Path, store: Store, run: BatchRun, items: Sequence[BatchItem], *, failing: bool) -> None:
    """Write the outputs and close the run's log entry. While another error is on its way out (``failing``), a second one here is dropped."""
    try:
        try:
            write_outputs(out, store, run, items)
        except OutputError as exc:
            exc.message += f"; the finished work is kept in {store.path}: the same command writes the outputs again, with no model call for it"
            raise
        store.finish_run(run.result.summary())
    except SummarizeError:
        if not failing:
            raise


Collected = tuple[list[BatchItem], list[FailedItem]]


def run_batch(
    inputs: Sequence[str],
    settings: Settings,
    options: BatchOptions,
    *,
    on_event: Event | None = None,
    collected: Collected | None = None,
    stop: Stop | None = None,
    skipped: Sequence[Skipped] = (),
    workers: WorkerPool | None = None,
) -> BatchResult:
    """Collect (unless the caller already did: ``collected``, with ``skipped`` the files it left out as not articles),
    extract, brief, write. The LLM session (and its cassette) is opened here; ``workers``: processes the caller started
    before it read the inputs (``early_pool``), which the run uses or kills, else they are started here."""
    with tuned_for_batch(options.concurrency):  # the collector kept off what exists now; the GIL handed over sooner
        return _run_batch(inputs, settings, options, on_event, collected, stop, list(skipped), workers)


def _run_batch(
    inputs: Sequence[str],
    settings: Settings,
    options: BatchOptions,
    on_event: Event | None,
    collected: Collected | None,
    stop: Stop | None,
    skipped: list[Skipped],
    workers: WorkerPool | None,
) -> BatchResult:
    from summarize.api import session  # api imports this module's siblings; import late to keep layering flat
    workers = workers or early_pool(settings, options.workers, concurrency=options.concurrency, rpm=options.rpm, tpm=options.tpm)
    try:
        items, read_failures = collected or collect(inputs, group=options.group, max_bytes=settings.max_bytes, exclude=options.out, skipped=skipped)
        with DirLock(options.out, "batch " + " ".join(inputs)):
            for stale in [*options.out.glob(".*.tmp"), *options.out.glob("briefings/.*.tmp")]:
                with contextlib.suppress(OSError):
                    stale.unlink(missing_ok=True)  # left by a run killed mid-write; the real files are intact
            store = Store(options.out / "store.sqlite")
            stop = stop or Stop()
            try:
                store.start_run(" ".join(inputs))
                limiter = StoppableLimiter(stop, options.rpm, options.tpm, max_pause=settings.max_retry_wait, concurrency=options.concurrency, lane=CpuLane())
                with contextlib.ExitStack() as opened:

                    def open_llm() -> LLM:  # only when a call is due: a re-run that finds everything stored needs no key
                        settings.require_endpoint()
                        return opened.enter_context(session(settings, limiter=limiter, observer=limiter.observer(store.log_call)))

                    run = BatchRun(settings, options, None, store, on_event, stop, open_llm=open_llm, workers=workers)
                    run.result.skipped_not_articles = [s.as_dict() for s in skipped]
                    try:
                        result = run.run(items, read_failures)
                    except BaseException:
                        _count(run, store, limiter)
                        finish(options.out, store, run, items, failing=True)
                        raise
                    _count(run, store, limiter)
                    finish(options.out, store, run, items, failing=False)
                return result
            finally:
                store.close()
    finally:
        if workers is not None:
            workers.close(wait_for_work=workers.released)  # released: joined, after the outputs; closed by the run already: nothing


def _count(run: BatchRun, store: Store, limiter: Limiter) -> None:
    with contextlib.suppress(SummarizeError):  # the store failed: that error is the one reported
        run.result.calls = store.count_calls(store.run_id)
    run.result.rate_limited = limiter.stats.rate_limited + (run.workers.rate_limited if run.workers else 0)
