"""Paths the commands are given: an output must never be one of the inputs; its name says its format; writing it says so."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from summarize.errors import UsageError
from summarize.render.escape import printable

# what a file name's ending says it holds
EXTENSIONS = {".json": "json", ".jsonl": "jsonl", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".csv": "csv"}


def output_format(output: str | None, given: str | None, choices: Sequence[str], default: str, *, flag: str = "--format",
                  kinds: Mapping[str, str] | None = None) -> str:  # fmt: skip
    """The format to write: what ``-o``'s extension says (``kinds`` maps it to a choice), which ``flag``, when given, must agree
    with; otherwise ``flag``'s value, else ``default``. A disagreement, or an extension this command cannot write, is a usage error."""
    ext = Path(output).suffix.lower() if output and output != "-" else ""
    kind = EXTENSIONS.get(ext)
    named = kinds or {c: c for c in choices}
    implied = named.get(kind) if kind else None
    if kind and implied is None:
        raise UsageError(f"-o {printable(output)}: this command does not write {ext} files; it writes {_writable(named, flag)}")
    if implied and given and given != implied:
        raise UsageError(f"-o {printable(output)} names a {ext} file but {flag} {given} was given: leave out {flag}, or name the file for {given}")
    return implied or given or default


def _writable(named: Mapping[str, str], flag: str) -> str:
    """The file endings a command writes, each with the ``flag`` value it means when that is not the ending's own name."""
    shown: dict[str, str] = {}
    for ext, kind in EXTENSIONS.items():
        if kind in named and named[kind] not in shown:
            shown[named[kind]] = ext + (f" ({flag} {named[kind]})" if named[kind] != kind else "")
    names = list(shown.values())
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else "".join(names)


def write_output(text: str, output: str | None) -> None:
    """To stdout, or atomically to ``output`` with one "wrote FILE" line on stderr (printed under -q too: it is not progress)."""
    from summarize.fileio import atomic_write

    if not output or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    atomic_write(Path(output), text)
    sys.stderr.write(f"wrote {printable(output)}\n")


def refuse_overwriting_inputs(output: str | None, inputs: Sequence[str]) -> None:
    """``-o`` must not name one of the files being read: writing the output would destroy an input."""
    from summarize.sources.article import SUPPORTED, is_url  # the source readers load only when a command runs

    if not output or output == "-":
        return
    target = Path(output)
    try:
        if not target.is_file():
            return
        real = target.resolve()
    except OSError:  # a name the file system refuses: writing it says so
        return
    for given in inputs:
        if given == "-" or is_url(given) or not Path(given).exists():
            continue
        path = Path(given).resolve()
        if path == real or (path.is_dir() and real.is_relative_to(path) and real.suffix.lower() in SUPPORTED):
            raise UsageError(f"-o {printable(output)} is one of the inputs ({printable(given)}): writing it would overwrite an input; choose another file")
