"""Read input articles (files, directories, standard input, URLs) into ``Source`` records.

Every problem with one input becomes an ``InputError`` whose ``kind`` is a short reason
("empty", "binary", "encoding", ...); ``read_sources`` turns those into ``FailedItem``s and
carries on, so one bad file never hides the good ones.

Source text is kept exactly as decoded apart from newline normalisation, BOM removal and
trailing whitespace, because later stages quote it by character offset. HTML pages are the
exception: their text is the article trafilatura finds in the page (see ``html_input``).
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import logging
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast, get_args

import charset_normalizer

from summarize.errors import InputError
from summarize.models.report import FailedItem, OutletType, Source

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 5_000_000
SUPPORTED = (".txt", ".md", ".json", ".jsonl", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
HEADER_KEYS = frozenset({"id", "url", "outlet", "outlet_type", "affiliation", "published", "title", "language"})
TEXT_KEYS = ("text", "body", "content")

_SNIFF = 4096
_MAX_CONTROL_SHARE = 0.05
_CONTROL = frozenset(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f\v") | {"\x7f"}
_DELETE_CONTROL = dict.fromkeys(map(ord, _CONTROL))
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_MAGIC = {b"%PDF-": "PDF", b"\x89PNG": "PNG", b"PK\x03\x04": "ZIP", b"\x1f\x8b": "GZIP", b"\xff\xd8\xff": "JPEG", b"GIF8": "GIF", b"\x7fELF": "ELF"}
# Order matters: charset_normalizer often scores cp1252 and cp1250 equally on Western
# European text, and the earlier entry wins such ties.
_LEGACY = ("cp1252", "cp1250", "cp1251", "cp1256", "cp1253", "cp1254", "cp1255", "cp1257", "koi8_r", "mac_roman")
_OUTLET_TYPES = frozenset(get_args(OutletType))
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z_-]*)[ \t]*:[ \t]*(.*)")
# A page on standard input: a doctype or <html> tag first, after an optional BOM, whitespace and comments.
_HTML_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class _Entry:
    source: Source
    item: str  # how messages name it: the file path, or path:LINE for one record
    order: tuple[str, int]  # (path, position in file): decides which duplicate is kept


def read_sources(
    paths: Sequence[str], *, max_bytes: int = DEFAULT_MAX_BYTES, stdin: BinaryIO | None = None, allow_network: bool = False
) -> tuple[list[Source], list[FailedItem]]:
    """Read every path ('-' is standard input; URLs only with ``allow_network``); return sources sorted by id and what failed."""
    sources, errors = _collect(paths, max_bytes, stdin, allow_network)
    return sources, [FailedItem(item=err.item or "", stage="read", error=err.kind, message=str(err)) for err in errors]


def read_path(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Source]:
    """Read one file or directory, raising the first ``InputError`` instead of collecting it."""
    sources, errors = _collect([str(path)], max_bytes, None, False)
    if errors:
        raise errors[0]
    return sources


def decode_bytes(data: bytes, *, name: str, declared: str | None = None) -> str:
    """Decode raw bytes to normalised text, refusing empty, binary and undecodable input; ``declared`` (a page's charset) goes first after a BOM."""
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            raise _binary(name, kind)
    text = _normalise(_decode(data, name, declared))
    if not text.strip():
        raise input_error("empty", name, "is empty")
    # UTF-16 and BOM-marked input skip the byte-level check in _decode, so look again here.
    if _control_share(text[:_SNIFF]) > _MAX_CONTROL_SHARE:
        raise _binary(name, "mostly control characters")
    return text


def parse_article(text: str, *, name: str, path: str | None) -> Source:
    """Build a Source from an article with an optional ``key: value`` header block.

    ``name`` is the file name (or a bare name such as "stdin") the default id comes from;
    errors name ``path`` when given, else ``name``.
    """
    item = path or name
    text = _normalise(text)
    fields, body = _split_header(text, item)
    if not body.strip():
        raise input_error("empty", item, "is empty (it has a header but no article text)" if fields else "is empty")
    return build_source(body, fields, default_id=_default_id(name), path=path, item=item)


def is_url(given: str) -> bool:
    return given[:8].lower().startswith(("http://", "https://"))


def source_id_for(name: str) -> str:
    """Slug for an id: ASCII-folded, lowercase, runs of other characters become '-'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "source"


# --- collecting ------------------------------------------------------------------------


def _collect(paths: Sequence[str], max_bytes: int, stdin: BinaryIO | None, allow_network: bool) -> tuple[list[Source], list[InputError]]:
    entries: list[_Entry] = []
    errors: list[InputError] = []
    seen: set[Path] = set()
    for given in paths:
        try:
            if given == "-" or is_url(given):
                entries.append(_Entry(_read_stream(given, max_bytes, stdin, allow_network), given, (given, 0)))
                continue
            files = _expand(given)
        except InputError as err:
            errors.append(err)
            continue
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
            data = _read_limited(fh, max_bytes, item)
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


def _read_limited(stream: BinaryIO, max_bytes: int, item: str) -> bytes:
    # Reading one byte past the limit tells "too large" apart without reading it all.
    data = stream.read(max_bytes + 1)
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


def _decode(data: bytes, name: str, declared: str | None) -> str:
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return _decode_unicode(data[len(bom) :], codec, name)
    utf16 = _sniff_utf16(data)
    if utf16 is not None:
        return _decode_unicode(data, utf16, name)
    if b"\x00" in data:
        raise _binary(name, "contains NUL bytes")
    # latin-1 maps bytes 1:1 so C0 controls count the same as in any ASCII-based encoding.
    if _control_share(data[:_SNIFF].decode("latin-1")) > _MAX_CONTROL_SHARE:
        raise _binary(name, "mostly control characters")
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError) as exc:
            logger.warning("%s: declares %s, which does not decode it (%s); detecting the encoding", name, declared, exc)
    try:
        return _decode_unicode(data, "utf-8", name)
    except InputError:
        return _decode_legacy(data, name)


def _decode_unicode(data: bytes, codec: str, name: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        # A file cut mid-character is still that encoding; only the tail is lost.
        if exc.reason in ("unexpected end of data", "truncated data") and exc.end == len(data):
            logger.warning("%s: ends in an incomplete %s character; dropped %d byte(s)", name, codec, len(data) - exc.start)
            return data[: exc.start].decode(codec)
        raise input_error("encoding", name, f"is not valid {codec} ({exc.reason} at byte {exc.start})") from None


def _sniff_utf16(data: bytes) -> str | None:
    # Without a BOM, UTF-16 shows itself by NUL high bytes on Latin-script text.
    sample = data[: min(len(data), _SNIFF) // 2 * 2]
    pairs = len(sample) // 2
    if not pairs:
        return None
    even, odd = sample[0::2].count(0) / pairs, sample[1::2].count(0) / pairs
    if odd >= 0.4 and even <= 0.02:
        return "utf-16-le"
    if even >= 0.4 and odd <= 0.02:
        return "utf-16-be"
    return None


def _decode_legacy(data: bytes, name: str) -> str:
    matches = list(charset_normalizer.from_bytes(data, cp_isolation=list(_LEGACY)))
    if not matches:
        raise input_error("encoding", name, "is not UTF-8 and matches no known single-byte encoding")
    best = min(matches, key=lambda m: (round(m.chaos, 2), -round(m.coherence, 2), _LEGACY.index(m.encoding)))
    logger.warning("%s: not UTF-8; decoded as %s", name, best.encoding)
    return str(best)


def _control_share(text: str) -> float:
    # translate() deletes in C: a per-character loop here was 40% of reading a batch's inputs
    return (len(text) - len(text.translate(_DELETE_CONTROL))) / len(text) if text else 0.0


def _normalise(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").removeprefix("\ufeff").rstrip()


# --- parsing ---------------------------------------------------------------------------


def _split_header(text: str, item: str) -> tuple[dict[str, str], str]:
    """Split off a leading ``key: value`` block; anything that doesn't fit stays body."""
    lines = text.split("\n")
    first = _HEADER_LINE.fullmatch(lines[0])
    if first is None or _header_key(first) not in HEADER_KEYS:
        return {}, text
    fields: dict[str, str] = {}
    offset = 0
    for line in lines:
        if not line.strip():
            return fields, text[offset + len(line) + 1 :]
        match = _HEADER_LINE.fullmatch(line)
        if match is None:
            # Prose before any blank line: the "header" was the article's first sentence.
            return {}, text
        key = _header_key(match)
        if key not in HEADER_KEYS:
            logger.debug("%s: ignoring unknown header key %r", item, key)
        elif value := match[2].strip():
            fields[key] = value
        offset += len(line) + 1
    return fields, ""


def _header_key(match: re.Match[str]) -> str:
    return match[1].lower().replace("-", "_")


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
    text = _normalise(text)
    if not text.strip():
        raise input_error("empty", label, "has an empty 'text' field")
    fields: dict[str, str] = {}
    for key in sorted(HEADER_KEYS & value.keys()):
        field = value[key]
        if key == "id" and isinstance(field, int) and not isinstance(field, bool):
            field = str(field)
        if field is None:
            continue
        if not isinstance(field, str):
            raise input_error("invalid_field", label, f"field {key!r} must be a string, not {type(field).__name__}")
        if field.strip():
            fields[key] = field.strip()
    return build_source(text, fields, default_id=default_id, path=path, item=label)


def build_source(body: str, fields: dict[str, str], *, default_id: str, path: str | None, item: str) -> Source:
    """A Source from its text and header fields (``fields`` holds only non-empty values); errors name ``item``."""
    if _headline_only(body, fields.get("title")):
        raise input_error("headline_only", item, "has only its headline (the body repeats the title): there is no reporting to quote")
    return Source(
        id=source_id_for(fields["id"]) if "id" in fields else default_id,
        path=path,
        outlet=fields.get("outlet"),
        outlet_type=_outlet_type(fields.get("outlet_type"), item),
        affiliation=fields.get("affiliation"),
        url=fields.get("url"),
        title=fields.get("title"),
        published=_published(fields.get("published"), item),
        language=fields.get("language"),
        text=body,
        sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
    )


def _headline_only(body: str, title: str | None) -> bool:
    # A page or export that kept only the headline repeats it as the body. A headline's compressed
    # wording must not be cited as if it were the report. Any other short body is processed: a
    # one-line bulletin is still reporting.
    return bool(title) and " ".join(body.casefold().split()) == " ".join((title or "").casefold().split())


def _published(value: str | None, item: str) -> dt.date | None:
    if value is None:
        return None
    try:
        # datetime.fromisoformat takes plain dates too, and a trailing "Z" from 3.11 on.
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise input_error("invalid_field", item, f"published date {value!r} is not an ISO date (YYYY-MM-DD or an ISO datetime)") from None


def _outlet_type(value: str | None, item: str) -> OutletType:
    if value is None:
        return "unknown"
    normalised = value.lower().replace("-", "_").replace(" ", "_")
    if normalised not in _OUTLET_TYPES:
        raise input_error("invalid_field", item, f"outlet_type {value!r} is not one of {', '.join(sorted(_OUTLET_TYPES))}")
    return cast(OutletType, normalised)


def _default_id(name: str) -> str:
    file = Path(name)
    return source_id_for(file.stem if file.suffix.lower() in SUPPORTED else file.name)


def _binary(item: str, what: str) -> InputError:
    return input_error("binary", item, f"looks like binary data ({what}), not a text article")


def input_error(kind: str, item: str, message: str) -> InputError:
    """An InputError naming ``item``, with ``kind`` the short reason read_sources reports."""
    err = InputError(message, item=item)
    err.kind = kind  # the short reason read_sources reports as FailedItem.error
    return err
