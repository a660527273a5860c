"""Read input articles (files, directories, standard input, URLs) into ``Source`` records.

Every problem with one input becomes an ``InputError`` whose ``kind`` is a short reason
("empty", "binary", "encoding", ...); ``read_sources`` turns those into ``FailedItem``s and
carries on, so one bad file never hides the good ones.

Source text is kept exactly as decoded apart from newline normalisation, BOM removal and
trailing whitespace, because later stages quote it by character offset. HTML pages are the
exception: their text is the article trafilatura finds in the page (see ``html_input``).
"""

from __future__ import annotations

import glob
import json
import logging
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from summarize.errors import InputError
from summarize.models.report import FailedItem, Source
from summarize.sources.article import ALIASES, HEADER_KEYS, HTML_SUFFIXES, SUPPORTED, TEXT_KEYS, build_source, is_url, parse_article, same_value, source_id_for
from summarize.sources.decode import decode_bytes, input_error, normalise_text
from summarize.sources.screen import not_an_article

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5_000_000


# A page on standard input: a doctype or <html> tag first, after an optional BOM, whitespace and comments.
_HTML_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Skipped:
    """A file found in a directory and left out because it does not look like an article (a README, notes)."""

    item: str
    reason: str

    @property
    def message(self) -> str:
        return f"{self.item}: skipped, not an article: {self.reason}; name the file (or a glob matching it) to read it anyway"

    def as_dict(self) -> dict[str, str]:
        return {"item": self.item, "reason": self.reason}


@dataclass(frozen=True)
class _Entry:
    source: Source
    item: str  # how messages name it: the file path, or path:LINE for one record
    order: tuple[str, int]  # (path, position in file): decides which duplicate is kept


def read_sources(
    paths: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    stdin: BinaryIO | None = None,
    allow_network: bool = False,
    skipped: list[Skipped] | None = None,
) -> tuple[list[Source], list[FailedItem]]:
    """Read every path ('-' is standard input; URLs only with ``allow_network``; a glob such as 'dir/*.md' when no file
    has that name); return sources sorted by id and what failed. Files in a directory that are not articles (see
    ``screen``) are left out: each is added to ``skipped`` when it is given (the caller says so), else logged as a
    warning; named files never are."""
    noted: list[Skipped] = []
    sources, errors = _collect(paths, max_bytes, stdin, allow_network, noted)
    if skipped is None:
        for note in noted:
            logger.warning("%s", note.message)
    else:
        skipped += noted
    return sources, [FailedItem(item=err.item or "", stage="read", error=err.kind, message=str(err)) for err in errors]


def read_path(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Source]:
    """Read one file or directory, raising the first ``InputError`` instead of collecting it."""
    sources, errors = _collect([str(path)], max_bytes, None, False, [])
    if errors:
        raise errors[0]
    return sources


# --- collecting ------------------------------------------------------------------------


def _collect(
    paths: Sequence[str], max_bytes: int, stdin: BinaryIO | None, allow_network: bool, skipped: list[Skipped]
) -> tuple[list[Source], list[InputError]]:
    entries: list[_Entry] = []
    errors: list[InputError] = []
    seen: set[Path] = set()
    expanded: list[tuple[str, list[Path]]] = []
    for given in paths:
        try:
            if given == "-" or is_url(given):
                entries.append(_Entry(_read_stream(given, max_bytes, stdin, allow_network), given, (given, 0)))
                continue
            expanded.append((given, _expand(given)))
        except InputError as err:
            errors.append(err)
    # A file named (or matched by a glob) is read even when a directory given too holds it.
    named = {os.path.realpath(f) for given, files in expanded if not Path(given).is_dir() for f in files}
    for given, files in expanded:
        walked = Path(given).is_dir()
        for file in files:
            # A file named directly and also found in a named directory is read once.
            if file in seen:
                continue
            seen.add(file)
            try:
                found, bad = _read_file(file, max_bytes)
            except InputError as err:
                errors.append(err)
                continue
            if walked and len(found) == 1 and (not named or os.path.realpath(file) not in named) and (reason := not_an_article(file, found[0].source)):
                skipped.append(Skipped(str(file), reason))
                continue
            entries.extend(found)
            errors.extend(bad)
    kept, duplicates = _drop_duplicates(entries)
    return sorted(_unique_ids(kept), key=lambda s: s.id), errors + duplicates


def _expand(given: str) -> list[Path]:
    path = Path(given)
    if path.is_dir():
        files = sorted(_walk(path), key=str)
        if not files:
            raise input_error("empty", given, f"directory has no {'/'.join(SUPPORTED)} files")
        return files
    if not path.exists() and not path.is_symlink() and any(ch in given for ch in "*?["):
        matches = [Path(m) for m in sorted(glob.glob(given, recursive=True)) if Path(m).is_file() and Path(m).suffix.lower() in SUPPORTED]
        if not matches:
            raise input_error("not_found", given, f"the pattern matches no {'/'.join(SUPPORTED)} file")
        return matches
    if not path.exists():
        if path.is_symlink():  # exists() follows the link: a loop or a dangling link is there, but unreadable
            raise input_error("unreadable", given, "is a symbolic link that loops or points to nothing")
        raise input_error("not_found", given, "no such file or directory")
    if path.suffix.lower() not in SUPPORTED:
        raise input_error("unsupported", given, f"unsupported file type; expected one of {', '.join(SUPPORTED)}")
    return [path]


def _walk(root: Path) -> Iterator[Path]:
    # followlinks=False: a symlink pointing back up the tree must not loop forever.
    walker = os.walk(root, followlinks=False, onerror=lambda exc: logger.warning("cannot list %s", exc.filename))
    for dirpath, dirnames, filenames in walker:
        # A browser's "save complete page" puts the page's assets, framed ads included, in NAME_files beside NAME.html.
        assets = {f"{Path(f).stem}_files" for f in filenames if Path(f).suffix.lower() in HTML_SUFFIXES}
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in assets]
        for filename in filenames:
            if not filename.startswith(".") and Path(filename).suffix.lower() in SUPPORTED:
                yield Path(dirpath, filename)


def _read_file(path: Path, max_bytes: int) -> tuple[list[_Entry], list[InputError]]:
    item = str(path)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise input_error("too_large", item, f"is {size:,} bytes, over the {max_bytes:,}-byte limit")
        with path.open("rb") as fh:
            data = _read_limited(fh, max_bytes, item, expect=size)
    except FileNotFoundError:
        raise input_error("not_found", item, "no such file or directory") from None
    except OSError as exc:
        raise input_error("unreadable", item, f"cannot be read ({exc.strerror or exc})") from None
    if path.suffix.lower() in HTML_SUFFIXES:
        from summarize.sources import html as html_input  # imported when needed: trafilatura and lxml take a while to load

        return [_Entry(html_input.read_html_bytes(data, name=path.name, path=item), item, (item, 0))], []
    text = decode_bytes(data, name=item)
    if path.suffix.lower() in (".json", ".jsonl"):
        return _parse_records(text, path)
    return [_Entry(parse_article(text, name=path.name, path=item), item, (item, 0))], []


def _read_stream(given: str, max_bytes: int, stdin: BinaryIO | None, allow_network: bool) -> Source:
    """Standard input ('-'), which may hold an article or an HTML page, or a URL."""
    if given != "-" and not allow_network:
        raise input_error("network_disabled", given, "fetching URLs needs --allow-network")
    data = _read_limited(stdin if stdin is not None else sys.stdin.buffer, max_bytes, "-") if given == "-" else b""
    if given == "-" and not _HTML_START.match(data[:2048]):
        return parse_article(decode_bytes(data, name="-"), name="stdin", path="-")
    from summarize.sources import html as html_input

    return html_input.read_html_bytes(data, name="stdin", path="-") if given == "-" else html_input.read_url(given, max_bytes=max_bytes)


def _read_limited(stream: BinaryIO, max_bytes: int, item: str, *, expect: int | None = None) -> bytes:
    # Reading one byte past the limit tells "too large" apart without reading it all. A file's size (``expect``)
    # spares allocating the whole limit for each read (~20 us a file); a file that grew since is read on to the limit.
    want = max_bytes + 1 if expect is None else min(expect, max_bytes) + 1
    data = stream.read(want)
    if len(data) == want <= max_bytes:
        data += stream.read(max_bytes + 1 - want)
    if len(data) > max_bytes:
        raise input_error("too_large", item, f"is over the {max_bytes:,}-byte limit")
    return data


def _drop_duplicates(entries: list[_Entry]) -> tuple[list[Source], list[InputError]]:
    kept: dict[str, _Entry] = {}
    dropped: list[tuple[_Entry, _Entry]] = []
    for entry in sorted(entries, key=lambda e: (e.source.sha256, e.order)):
        first = kept.setdefault(entry.source.sha256, entry)
        if first is not entry:
            dropped.append((entry, first))
    dropped.sort(key=lambda pair: pair[0].order)
    errors = [input_error("duplicate", dup.item, f"has the same text as {first.item}; skipped") for dup, first in dropped]
    return [e.source for e in kept.values()], errors


def _unique_ids(sources: list[Source]) -> list[Source]:
    # Every member of a clash gets a suffix, not just the later ones, so an id never
    # depends on argument order. The long suffix only matters if short ones collide too.
    for width in (6, 64):
        counts = Counter(s.id for s in sources)
        sources = [s.model_copy(update={"id": f"{s.id}-{s.sha256[:width]}"}) if counts[s.id] > 1 else s for s in sources]
    return sources


# --- decoding --------------------------------------------------------------------------


# --- parsing ---------------------------------------------------------------------------


def _parse_records(text: str, path: Path) -> tuple[list[_Entry], list[InputError]]:
    item = str(path)
    records: list[tuple[object, str, str, int]] = []  # (value, label, default id, position)
    errors: list[InputError] = []
    if path.suffix.lower() == ".jsonl":
        # split("\n"), not splitlines(): U+2028 inside a JSON string is not a line break.
        for lineno, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            label = f"{item}:{lineno}"
            try:
                records.append((json.loads(line), label, source_id_for(f"{path.stem}-{lineno}"), lineno))
            except json.JSONDecodeError as exc:
                errors.append(input_error("malformed_json", label, f"is not valid JSON ({exc.msg})"))
    else:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise input_error("malformed_json", item, f"is not valid JSON ({exc.msg} at line {exc.lineno})") from None
        if isinstance(value, list):
            if not value:
                raise input_error("empty", item, "is an empty JSON list")
            records = [(v, f"{item}#{n}", source_id_for(f"{path.stem}-{n}"), n) for n, v in enumerate(value, 1)]
        elif isinstance(value, dict):
            records = [(value, item, source_id_for(path.stem), 0)]
        else:
            raise input_error("malformed_json", item, "must hold a JSON object or a list of objects")
    entries: list[_Entry] = []
    for value, label, default_id, position in records:
        try:
            source = _record_source(value, label=label, default_id=default_id, path=item)
        except InputError as err:
            errors.append(err)
            continue
        entries.append(_Entry(source, label, (item, position)))
    return entries, errors


def _record_source(value: object, *, label: str, default_id: str, path: str) -> Source:
    if not isinstance(value, dict):
        raise input_error("invalid_record", label, "is not a JSON object")
    text = next((value[k] for k in TEXT_KEYS if value.get(k) is not None), None)
    if not isinstance(text, str):
        raise input_error("invalid_record", label, "has no string 'text' (or 'body'/'content') field")
    text = normalise_text(text)
    if not text.strip():
        raise input_error("empty", label, "has an empty 'text' field")
    fields: dict[str, str] = {}
    warnings: list[str] = []
    # The field's own name first, then its aliases ('date' for 'published'): the first one given wins.
    for key in [*sorted(HEADER_KEYS & value.keys()), *sorted(ALIASES.keys() & value.keys())]:
        field, given = ALIASES.get(key, key), value[key]
        if key == "id" and isinstance(given, int) and not isinstance(given, bool):
            given = str(given)
        if given is None:
            continue
        if field == "published" and not isinstance(given, str):
            # A publication date never refuses a record: 2024 is a year; anything else is read as written, and left unknown.
            given = str(given) if isinstance(given, int) and not isinstance(given, bool) else json.dumps(given)
        if not isinstance(given, str):
            raise input_error("invalid_field", label, f"field {key!r} must be a string, not {type(given).__name__}")
        if not given.strip():
            continue
        if field not in fields:
            fields[field] = given.strip()
        elif not same_value(field, fields[field], given):
            warnings.append(f"field {key!r} repeats {field!r}: kept {fields[field]!r}, and ignored {given.strip()!r}")
    return build_source(text, fields, default_id=default_id, path=path, item=label, warnings=warnings)
