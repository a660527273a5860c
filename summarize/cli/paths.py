"""Paths the commands are given: an output must never be one of the inputs."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from summarize.errors import UsageError
from summarize.render.escape import printable
from summarize.sources.article import SUPPORTED, is_url


def refuse_overwriting_inputs(output: str | None, inputs: Sequence[str]) -> None:
    """``-o`` must not name one of the files being read: writing the output would destroy an input."""
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
