"""Atomic file writes: a reader sees the old file or the new one, never half of either; and reading them back.

Writing fails for reasons outside the tool (disk full, read-only directory, a name the file
system refuses); ``output_error`` turns each into one line that says what to do (``OutputError``, exit 4).
``load_saved`` reads any JSON output of any command back (a briefing, extraction JSON or JSONL, a
batch's reports.jsonl) and says in words what is wrong with a file that is none of them.
"""

from __future__ import annotations

import errno
import json
import os
import stat
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from summarize.errors import InputError, OutputError

if TYPE_CHECKING:  # the models load when a file is read back, so writing (and the CLI's start) stays light
    from pydantic import ValidationError

    from summarize.models.briefing import Briefing
    from summarize.models.report import FailedItem, SourceReport


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


# --- reading back what the tool wrote ----------------------------------------------------------------

WRITTEN = "a briefing (brief -o FILE.json, a batch's briefings/*.json) or source reports (extract -o FILE.json or FILE.jsonl, a batch's reports.jsonl)"
_KINDS = {"int": "a whole number", "float": "a number", "string": "text", "bool": "true or false", "list": "a list", "dict": "an object",
          "model": "an object", "date": "a date (YYYY-MM-DD)", "datetime": "a date and time", "none": "null"}  # fmt: skip


def read_saved(path: Path, what: str) -> str:
    """The text of a file this tool wrote (reports, a briefing): UTF-8, or an ``InputError`` naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", item=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 ({exc.reason} at byte {exc.start}), so not {what} written by summarize", item=str(path)) from None


def _where(loc: Sequence[int | str]) -> str:
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or "the document"


def plain_problem(exc: ValidationError) -> str:
    """A validation failure in words: which field, what it holds, what was expected; and how many more there are."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    where, kind, got = _where(first["loc"]), first["type"], repr(first.get("input"))
    got = got if len(got) <= 60 else got[:57] + "..."
    if kind == "missing":
        text = f"{where} is missing"
    elif kind == "extra_forbidden":
        text = f"{where} is not a field summarize writes"
    elif kind == "literal_error" or kind == "enum":
        text = f"{where} is {got}; expected {first.get('ctx', {}).get('expected', 'one of the listed values')}"
    elif kind.endswith(("_type", "_parsing")) and kind.split("_")[0] in _KINDS:
        text = f"{where} is {got}; expected {_KINDS[kind.split('_')[0]]}"
    else:
        text = f"{where}: {first['msg'][0].lower()}{first['msg'][1:]}"
    more = len(errors) - 1
    return text + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


@dataclass
class Saved:
    """A file the tool wrote, read back: a briefing, or source reports (each with its batch story, if it has one)."""

    path: Path
    reports: list[SourceReport]
    stories: list[str | None] = field(default_factory=list)
    failed: list[FailedItem] = field(default_factory=list)
    briefing: Briefing | None = None

    def story_names(self) -> list[str]:
        return sorted({s for s in self.stories if s is not None})

    def reports_of(self, story: str | None) -> list[SourceReport]:
        """Every report, or only ``story``'s (an ``InputError`` listing the stories there are when it has none)."""
        if story is None:
            return self.reports
        names = self.story_names()
        if story not in names:
            there = f"its stories: {', '.join(names)}" if names else "it names no stories (only a batch's reports.jsonl does)"
            raise InputError(f"no story {story!r} here; {there}", item=str(self.path))
        return [r for r, s in zip(self.reports, self.stories, strict=True) if s == story]


def load_saved(path: Path) -> Saved:
    """Any JSON output of the tool: a briefing, ``extract`` JSON or JSONL, or a batch's reports.jsonl (whose lines carry a story).

    A file that is none of these is an ``InputError`` that says, in words, where it differs."""
    from pydantic import ValidationError

    from summarize.models.briefing import Briefing
    from summarize.models.report import ExtractionOutput, SourceReport

    text = read_saved(path, "saved output")

    def refuse(problem: str) -> InputError:
        return InputError(f"{problem}; so it is not {WRITTEN}", item=str(path))

    def report(record: object, where: str) -> tuple[SourceReport, str | None]:
        if not isinstance(record, dict) or "source" not in record:
            raise refuse(f"{where}is not a source report (no 'source' field)")
        story = record.pop("story", None)  # a batch's reports.jsonl names each report's story
        try:
            return SourceReport.model_validate(record), story if isinstance(story, str) else None
        except ValidationError as exc:
            raise refuse(where + plain_problem(exc)) from None

    head = text.lstrip()[:1]
    if not head:
        raise refuse("the file is empty")
    if head not in "{[":
        kind = "HTML" if head == "<" else "Markdown or text" if head in "#-|*_>" or head.isalnum() else "not JSON"
        raise refuse(f"this looks like {kind}, not JSON: summarize reads back only the JSON it writes")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        first = text.lstrip().splitlines()[0]
        try:
            json.loads(first)
        except json.JSONDecodeError:  # not one record per line either: one document, broken where the parser says
            raise refuse(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
        document = None
    if isinstance(document, list):
        raise refuse("a JSON list, not an object")
    if isinstance(document, dict):
        if "source" in document:  # one source report (extract --format jsonl of one article)
            one, story = report(document, "")
            return Saved(path, [one], [story])
        try:
            if {"headline", "lead", "reconciled"} & document.keys():
                briefing = Briefing.model_validate(document)
                return Saved(path, briefing.reports, [None] * len(briefing.reports), briefing=briefing)
            if "reports" in document:
                out = ExtractionOutput.model_validate(document)
                return Saved(path, out.reports, [None] * len(out.reports), out.failed)
        except ValidationError as exc:
            raise refuse(plain_problem(exc)) from None
        raise refuse(f"a JSON object with the fields {', '.join(sorted(document)[:8]) or 'none'}")
    if document is not None:
        raise refuse(f"a JSON {type(document).__name__}, not an object")
    reports, stories = [], []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise refuse(f"line {n} is not JSON ({exc.msg} at column {exc.colno})") from None
        one, story = report(record, f"line {n}: ")
        reports.append(one)
        stories.append(story)
    return Saved(path, reports, stories)
