"""Signals during a batch: the first SIGINT or SIGTERM stops new work and lets the calls in flight finish; the second acts as usual."""

from __future__ import annotations

import re
import shlex
import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType

from summarize.batch.stop import Stop
from summarize.llm.redact import redact
from summarize.render.escape import printable

HANDLED = (signal.SIGINT, signal.SIGTERM)
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


@contextmanager
def stopping_on_signals(stop: Stop) -> Iterator[Stop]:
    """Route SIGINT and SIGTERM to ``stop`` while the block runs. After the first, the previous
    handlers are back, so a second Ctrl-C raises KeyboardInterrupt and a second SIGTERM ends the process."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield stop
        return
    # a signal ignored when we started (SIGINT for a background job of a script) stays ignored
    previous = {s: h for s in HANDLED if (h := signal.getsignal(s)) is not signal.SIG_IGN}

    def restore() -> None:
        for s, handler in previous.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.request(signum)
        restore()

    for s in previous:
        signal.signal(s, on_signal)
    try:
        yield stop
    finally:
        restore()


def resume_command(argv: Sequence[str]) -> str:
    """The command that resumes this run, as the user typed it (credentials in URLs left out)."""
    return printable(redact(_USERINFO.sub("", shlex.join(["summarize", *argv]))))
