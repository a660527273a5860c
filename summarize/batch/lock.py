"""One run per output directory: an exclusive ``flock`` on ``DIR/.summarize.lock`` for as long as a run writes there.

Two runs on one ``--out`` would ask the model for the same articles and pay twice, and each would
regenerate the other's outputs. The lock belongs to the open file, so the kernel drops it when the
process ends however it ends (a crash, SIGKILL): a lock file left behind is never stale. The file
holds the holder's pid, start time and command so the refused run can name it; the lock file
itself stays (removing it would let a third run lock a different file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
from pathlib import Path
from types import TracebackType

from summarize.errors import BusyError
from summarize.fileio import output_error

LOCK_FILE = ".summarize.lock"


class DirLock:
    """``with DirLock(out, command):`` holds ``out`` for this process, or raises ``BusyError`` naming the run that holds it."""

    def __init__(self, out: Path, command: str) -> None:
        self.out, self.command = out, command
        self.path = out / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> DirLock:
        try:
            self.out.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            then = f"the work in {self.out} is intact and nothing was changed: make it writable to resume, or pass another --out"
            raise output_error(exc, self.path, then=then) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise BusyError(
                f"{self.out} is in use by another summarize run ({holder}); wait for it to finish, or pass another --out"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise output_error(exc, self.path) from None
        self._fd = fd
        started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        with contextlib.suppress(OSError):  # the lock holds without the note; a refused run then names no pid
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}\nstarted {started}\ncommand {self.command}\n".encode(), 0)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)  # no one is named as holding it any more
        os.close(fd)  # closing drops the lock


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        text = ""
    fields = dict(line.split(" ", 1) for line in text.splitlines() if " " in line)
    if "pid" not in fields:
        return "pid unknown"
    since = f", started {fields['started']}" if "started" in fields else ""
    return f"pid {fields['pid']}{since}"
