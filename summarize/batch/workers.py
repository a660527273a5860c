"""Worker processes for the CPU part of a batch's extractions: one GIL per core.

A batch run in one process tops out near one core: building each request, validating the answer
and grounding it cost a few milliseconds of CPU per item, and every thread shares one GIL. Here
the parent keeps what must stay single (the store, the budget, the stop request, the progress,
the briefings) and ``workers`` child processes do the extractions, each with its own model
client, its own threads and its own share of the rate limits and of the requests in flight.

What crosses the pipes is small: a ``Source`` out, and back the report as the JSON the store
keeps (the parent never parses it again), its usage and the call records for the run log.
A child that dies (killed, out of memory) fails only the items it held, by name; a stop request
reaches the children through a shared event, so a request not yet sent is refused there
(``NotStarted``) exactly as in one process.

Children are forked when this process has one thread (they inherit the imported modules, so a
child is ready in milliseconds); otherwise (a library caller with threads of its own, a test
server) they come from a fork server that imported this module once.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from summarize.batch.stop import NotStarted, StoppableLimiter
from summarize.config import Settings
from summarize.errors import SummarizeError
from summarize.llm.ratelimit import CpuLane, Limiter
from summarize.llm.wire import CallRecord
from summarize.models.report import Source, Usage

# a batch smaller than this runs in one process by default: starting children costs more than it saves
AUTO_MIN_ITEMS = 64
T = TypeVar("T")


def cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(todo: int, concurrency: int) -> int:
    """Processes for a run that did not say: one per CPU this process may use, none beyond the requests in flight."""
    if todo < AUTO_MIN_ITEMS:
        return 1
    return max(1, min(cpu_count(), concurrency))


def early_pool(settings: Settings, workers: int | None, *, concurrency: int, rpm: float | None, tpm: float | None) -> WorkerPool | None:
    """The worker processes a run will likely want, started before its inputs are read: each warms up (imports, an https endpoint's CA
    bundle, the tool schema: ~0.2 s of CPU) on another core meanwhile, instead of after. None where no pool is allowed
    (one process asked for or one CPU, a cassette, no endpoint). The run drops it unused if it turns out to need none."""
    wanted = workers or min(cpu_count(), concurrency)
    if wanted <= 1 or settings.record or settings.replay:
        return None
    try:
        settings.require_endpoint()
    except SummarizeError:
        return None  # a re-run of stored work needs no endpoint; a new item reports the missing one when it is due
    return WorkerPool(settings, wanted, concurrency=concurrency, rpm=rpm, tpm=tpm, on_call=None)


def switch_interval(slots: int) -> float:
    """The GIL switch interval for a worker process with ``slots`` requests in flight.

    A thread whose answer came in, or that was given a free slot, waits for the GIL behind the thread grounding the
    last answer: up to Python's 5 ms interval, at every exchange. Measured at 16 in flight over 2 processes, a slot
    stood idle 2.5 ms (median) between one request's end and the next one's start; 0.8 ms at 0.5 ms turns. With many
    threads every switch costs more and they come often anyway: 1 ms above 16 slots (0.5 ms lost ~4 % at 128)."""
    return 0.0005 if slots <= 16 else 0.001


@contextlib.contextmanager
def tuned_for_batch(concurrency: int) -> Iterator[None]:
    """This process set up for a batch run, and put back after it. What exists now (modules, schemas, the SDK's types)
    is frozen out of the collector's walks (a full pass stalls every thread ~0.1 s); a caller's own freeze is left
    alone. The GIL switches as often as in a worker process with as many requests in flight (``switch_interval``)."""
    ours = gc.get_freeze_count() == 0
    if ours:
        gc.freeze()
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, switch_interval(concurrency)))
    try:
        yield
    finally:
        sys.setswitchinterval(interval)
        if ours:
            gc.unfreeze()


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares (the first ones take the remainder)."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


@dataclass(frozen=True)
class Packed:
    """A finished extraction as the parent receives it: the report's JSON, ready for the store."""

    source_id: str
    report_json: str
    verified: bool
    usage: Usage


@dataclass(frozen=True)
class WorkerSpec:
    index: int
    settings: Settings
    slots: int  # requests in flight for this process
    rpm: float | None
    tpm: float | None
    share: float  # of a limit learned from the server's headers


class _LocalStop:
    """What ``StoppableLimiter`` reads: set in the child when the parent sends "stop"."""

    def __init__(self) -> None:
        self.event = threading.Event()

    @property
    def requested(self) -> bool:
        return self.event.is_set()


def in_lane(limiter: Limiter | None, work: Callable[[], T]) -> T:
    """``work()`` as one item of the limiter's CPU lane (``CpuLane``), or as it is when the limiter has none."""
    lane = limiter.lane if limiter is not None else None
    with lane.item() if lane is not None else contextlib.nullcontext():
        return work()


def _error_payload(exc: SummarizeError) -> tuple[str, str, int, dict[str, Any] | None]:
    return (exc.kind, exc.message, exc.attempts, exc.usage.model_dump() if exc.usage else None)


class WorkerError(SummarizeError):
    """An extraction error raised in a worker process, rebuilt in the parent with its kind and usage."""

    exit_code = 3

    def __init__(self, kind: str, message: str, *, attempts: int = 0) -> None:
        super().__init__(message, attempts=attempts)
        self.kind = kind


def _child(spec: WorkerSpec, conn: Connection) -> None:
    """A worker process: ``slots`` requests in flight, twice as many threads (one waits for its answer while
    another grounds the last), one at a time in the CPU lane (``CpuLane``). Its own pipe to the parent carries tasks in and results out; nothing is
    shared with the other children, so one that dies holds no lock the others wait for."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and SIGTERM: it stops feeding us and lets us finish
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    sys.setswitchinterval(switch_interval(spec.slots))
    from summarize.extract.extractor import extract_source
    from summarize.llm.client import LLM, prewarm
    from summarize.llm.prompts import load_prompt
    from summarize.models.draft import ExtractionDraft

    with contextlib.suppress(Exception):  # a warm-up that fails costs only its time: the first request meets the problem and reports it
        prewarm(spec.settings, ExtractionDraft)  # now, while the parent still reads the inputs (``early_pool``)
    gc.freeze()  # what it inherited and just loaded outlives it: its collector never walks that (a full pass stalls ~0.1 s)

    def extract_packed(*args: Any) -> Packed:
        report = extract_source(*args)
        return Packed(report.source.id, report.model_dump_json(), report.verified, report.provenance.usage)

    stop = _LocalStop()
    calls = threading.local()
    limiter = StoppableLimiter(  # a _LocalStop has the one attribute StoppableLimiter reads
        stop, spec.rpm, spec.tpm, max_pause=spec.settings.max_retry_wait, concurrency=spec.slots, learned_share=spec.share, lane=CpuLane()  # type: ignore[arg-type]
    )
    llm = LLM(spec.settings, limiter=limiter, observer=limiter.observer(lambda record: calls.records.append(record)))
    prompt = load_prompt("extract", spec.settings.prompts_dir)
    send_lock = threading.Lock()
    work: queue.SimpleQueue[tuple[int, Source] | None] = queue.SimpleQueue()
    n_threads = max(1, 2 * spec.slots)

    def put(message: tuple[Any, ...]) -> None:
        with send_lock:
            conn.send(message)

    def extract() -> None:
        while (task := work.get()) is not None:
            task_id, source = task
            calls.records = []
            try:
                packed = in_lane(limiter, partial(extract_packed, source, llm, spec.settings, prompt))
            except NotStarted:
                put(("not_started", task_id, calls.records))
            except SummarizeError as exc:
                put(("error", task_id, _error_payload(exc), calls.records))
            except Exception as exc:  # a bug: the parent logs it, with this traceback, as an internal error
                put(("bug", task_id, "".join(traceback.format_exception(exc)).rstrip(), calls.records))
            else:
                put(("ok", task_id, packed, calls.records))

    threads = [threading.Thread(target=extract, name=f"summarize-w{spec.index}-{n}", daemon=True) for n in range(n_threads)]
    for t in threads:
        t.start()
    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):  # the parent is gone: finish nothing more
                stop.event.set()
                break
            if message == "stop":
                stop.event.set()
            elif message is None:
                break
            else:
                work.put(message)
    finally:
        for _ in threads:
            work.put(None)
        for t in threads:
            t.join()
        llm.close()
        conn.close()


def _context() -> Any:
    if threading.active_count() == 1 and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["summarize.batch.workers", "summarize.extract.extractor", "summarize.llm.client"])
    return ctx


@dataclass
class _Child:
    process: Any
    conn: Connection
    capacity: int  # threads: tasks it can work on at once
    held: set[int] = field(default_factory=set)  # tasks sent to it and not yet answered
    alive: bool = True


class WorkerPool:
    """``submit(source)`` returns a future that a child process completes with a ``Packed`` report or an error."""

    def __init__(
        self, settings: Settings, workers: int, *, concurrency: int, rpm: float | None, tpm: float | None, on_call: Callable[[CallRecord], None] | None
    ) -> None:
        workers = max(1, min(workers, concurrency))
        self.workers = workers
        self.rate_limited = 0  # 429 answers the children saw (from their call records)
        ctx = _context()
        self.on_call = on_call  # where the children's call records go; set before the first ``submit`` when not given here
        self._futures: dict[int, Future[Packed]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._closing = False
        self.released = False  # told there is no more work (``release``)
        self._stopped = False
        self._children: list[_Child] = []
        for i, n in enumerate(shares(concurrency, workers)):
            spec = WorkerSpec(i, settings, n, rpm * n / concurrency if rpm else None, tpm * n / concurrency if tpm else None, n / concurrency)
            ours, theirs = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_child, args=(spec, theirs), name=f"summarize-worker-{i}", daemon=True)
            proc.start()
            theirs.close()
            self._children.append(_Child(proc, ours, max(1, 2 * n)))
        self._reader = threading.Thread(target=self._read, name="summarize-results", daemon=True)
        self._reader.start()

    def submit(self, source: Source) -> Future[Packed]:
        if self.on_call is None:
            raise RuntimeError("internal error: a task for the worker processes before their call records have anywhere to go")
        fut: Future[Packed] = Future()
        fut.set_running_or_notify_cancel()
        with self._lock:
            task_id = next(self._ids)
            self._futures[task_id] = fut
            alive = [c for c in self._children if c.alive]
            child = min(alive, key=lambda c: len(c.held) / c.capacity) if alive else None
            if child is not None:
                child.held.add(task_id)
        if child is None:
            self._fail(task_id, WorkerError("internal", "no worker process is left to extract it (see the other errors)"))
            return fut
        with contextlib.suppress(OSError):  # it died a moment ago: the reader fails what it held, this task included
            child.conn.send((task_id, source))
        return fut

    def request_stop(self) -> None:
        """Every child refuses the requests it has not sent yet (``NotStarted``)."""
        if self._stopped:
            return
        self._stopped = True
        for child in self._children:
            if child.alive:
                with contextlib.suppress(OSError):
                    child.conn.send("stop")

    # -- the parent's reader -------------------------------------------------------------------

    def _fail(self, task_id: int, exc: BaseException) -> None:
        with self._lock:
            fut = self._futures.pop(task_id, None)
            for child in self._children:
                child.held.discard(task_id)
        if fut is not None:
            fut.set_exception(exc)

    def _read(self) -> None:
        by_conn = {c.conn: c for c in self._children}
        by_sentinel = {c.process.sentinel: c for c in self._children}
        while by_conn or by_sentinel:
            ready = wait([*by_conn, *by_sentinel])
            for r in ready:
                if r in by_conn:
                    child = by_conn[r]
                    try:
                        message = r.recv()
                    except (EOFError, OSError):
                        del by_conn[r]  # its end closed: the sentinel tells how it ended
                        continue
                    self._handle(child, message)
                elif r in by_sentinel:
                    child = by_sentinel.pop(r)
                    while child.conn in by_conn and child.conn.poll():  # what it sent before it went
                        try:
                            self._handle(child, child.conn.recv())
                        except (EOFError, OSError):
                            break
                    by_conn.pop(child.conn, None)
                    self._died(child)

    def _handle(self, child: _Child, message: tuple[Any, ...]) -> None:
        kind, task_id = message[0], message[1]
        for record in message[-1]:
            self.rate_limited += record.status == 429
            if self.on_call is not None:
                self.on_call(record)
        with self._lock:
            fut = self._futures.pop(task_id, None)
            child.held.discard(task_id)
        if fut is None:
            return
        if kind == "ok":
            fut.set_result(message[2])
        elif kind == "not_started":
            fut.set_exception(NotStarted())
        elif kind == "error":
            error_kind, text, attempts, usage = message[2]
            exc = WorkerError(error_kind, text, attempts=attempts)
            exc.usage = Usage.model_validate(usage) if usage else None
            fut.set_exception(exc)
        else:
            fut.set_exception(RuntimeError(f"in worker process {message[2]}"))

    def _died(self, child: _Child) -> None:
        with self._lock:  # under the lock ``submit`` holds while it picks a child: no task is added to a dead one after this
            child.alive = False
            lost = sorted(child.held)
        if not lost:
            return
        code = child.process.exitcode
        how = f"was killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exited with code {code}"
        hint = " (out of memory?)" if code == -signal.SIGKILL else ""
        for task_id in lost:
            if self._stopped:
                self._fail(task_id, NotStarted())  # stopping anyway: the next run does it
            else:
                self._fail(task_id, WorkerError("internal", f"its worker process (pid {child.process.pid}) {how}{hint} while extracting it"))

    # -- shutdown ------------------------------------------------------------------------------

    def release(self) -> None:
        """No more work: each child exits on its own (~30-60 ms for ~200 threads and clients) while we go on; ``close`` joins."""
        if self.released or self._closing:
            return
        self.released = True
        for child in self._children:
            if child.alive:
                with contextlib.suppress(OSError):
                    child.conn.send(None)

    def close(self, *, wait_for_work: bool = True) -> None:
        """Let the children finish what they hold (or, ``wait_for_work=False``, kill them), then join them. Again: nothing."""
        if self._closing:
            return
        self._closing = True
        for child in self._children:
            if child.alive and wait_for_work and not self.released:
                with contextlib.suppress(OSError):
                    child.conn.send(None)
        for child in self._children:
            if wait_for_work:
                child.process.join(timeout=120)
            if child.process.is_alive():
                child.process.kill()
                child.process.join(timeout=10)
        self._reader.join(timeout=30)
        for child in self._children:
            child.conn.close()
        with self._lock:
            left = list(self._futures)
        for task_id in left:
            self._fail(task_id, NotStarted())
