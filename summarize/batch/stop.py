"""Stopping a batch cleanly: a stop request from a signal handler, the futures in flight it wakes,
and a limiter that sends no request once a stop was requested.

A stopped run lets the requests already out finish; a worker that would send one more (its turn
for a slot came, or a retry or re-ask) gets ``NotStarted`` instead, and its item is left for the next run.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any

from summarize.llm.client import CallRecord
from summarize.llm.ratelimit import Limiter


class Stop:
    """A request to stop starting work. ``request`` is safe inside a signal handler: it sets a field and wakes the run's loop."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self.halted = False  # the run is ending on an error: send nothing more either
        self._wake: Callable[[], None] = lambda: None

    @property
    def requested(self) -> bool:
        return self.signal is not None or self.halted

    def request(self, signum: int) -> None:
        if self.signal is None:
            self.signal = signal.Signals(signum).name
        self._wake()

    def on_request(self, wake: Callable[[], None]) -> None:
        self._wake = wake


class Running(dict[Future[Any], tuple[str, Any]]):
    """Futures in flight, each reporting to a queue when done.

    ``concurrent.futures.wait`` would put a waiter on every running future for every completion,
    work that grows with the number in flight and competes for the GIL with the workers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._done: queue.SimpleQueue[Future[Any] | None] = queue.SimpleQueue()

    def __setitem__(self, fut: Future[Any], value: tuple[str, Any]) -> None:
        super().__setitem__(fut, value)
        fut.add_done_callback(self._done.put)

    def wake(self) -> None:
        self._done.put(None)  # SimpleQueue.put is reentrant: safe from a signal handler

    def finished(self) -> list[Future[Any]]:
        """Block until at least one future is done (or ``wake``); return every one done so far."""
        done = [self._done.get()]
        while True:
            try:
                done.append(self._done.get_nowait())
            except queue.Empty:
                return [f for f in done if f is not None and f in self]


class NotStarted(BaseException):  # a BaseException: no "except Exception" on the way may take it for an error
    """Raised in a worker instead of sending a request after a stop; the run counts its item as not started."""


class StoppableLimiter(Limiter):
    """A ``Limiter`` whose slots refuse every request once ``stop`` has been requested."""

    def __init__(self, stop: Stop, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._stop = stop
        self._refused = threading.local()

    def _refuse_if_stopped(self) -> None:
        if self._stop.requested:
            self._refused.flag = True
            raise NotStarted

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._refuse_if_stopped()
        with super().slot():
            self._refuse_if_stopped()  # the stop came while this worker waited for a slot
            yield

    def observer(self, log: Callable[[CallRecord], None]) -> Callable[[CallRecord], None]:
        """``log``, minus the record the client writes for a request this limiter refused (none was sent)."""

        def observe(record: CallRecord) -> None:
            if getattr(self._refused, "flag", False):
                self._refused.flag = False
                return
            log(record)

        return observe
