"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Writing fails for reasons outside the tool (disk full, read-only directory, a name the file
system refuses); ``output_error`` turns each into one line that says what to do (``OutputError``, exit 4).
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from summarize.errors import OutputError


def _file_mode() -> int:
    # mkstemp creates 0600 files; give outputs the permissions a plain open() would
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _file_mode()

DISK_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def output_error(exc: OSError, path: Path, *, then: str = "") -> OutputError:
    """One line for a failed write of ``path``; ``then`` says what is kept and how to go on."""
    where = str(path)
    then = f"; {then}" if then else ""
    if exc.errno in DISK_FULL:
        return OutputError(f"disk full: cannot write {where} ({exc.strerror}); free some space and run the same command again{then}")
    if exc.errno in READ_ONLY:
        directory = path if _is(path, stat.S_ISDIR) else path.parent
        while not _is(directory, stat.S_ISDIR) and directory != directory.parent:  # the nearest directory there is: the one refusing
            directory = directory.parent
        return OutputError(f"{directory} is read-only: cannot write {where} ({exc.strerror}); make it writable, or write somewhere else{then}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):  # mkdir met a file where a directory must be
        return OutputError(f"cannot write {where}: a part of that path is a file, not a directory{then}")
    if exc.errno == errno.ENAMETOOLONG:
        return OutputError(f"cannot write {where}: the file name is too long for the file system{then}")
    return OutputError(f"cannot write {where}: {exc.strerror or exc}{then}")


def _is(path: Path, kind: Callable[[int], bool]) -> bool:
    try:
        return kind(path.stat().st_mode)
    except OSError:  # missing, or a name the file system refuses
        return False


def _special(path: Path) -> bool:
    """A device, pipe or socket (/dev/stdout, /dev/full, a FIFO): written in place, never replaced by a file."""
    return _is(path, lambda mode: stat.S_ISCHR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISBLK(mode))


def atomic_write(path: Path, text: str) -> None:
    try:
        if _special(path):
            with path.open("w", encoding="utf-8") as fh:
                fh.write(text)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise output_error(exc, path) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _MODE)
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise output_error(exc, path) from None
        raise
