"""One article's text to a Source: the optional 'key: value' header block, ids, publication dates (``published``) and outlet types."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import cast, get_args

from summarize.models.report import Source
from summarize.models.vocab import OutletType
from summarize.sources.decode import input_error, normalise_text
from summarize.sources.published import read_published

logger = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".json", ".jsonl", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
HEADER_KEYS = frozenset({"id", "url", "outlet", "outlet_type", "affiliation", "published", "title", "language"})
# Other spellings of a field, in a header and in JSON records.
ALIASES = {"date": "published"}
# Known metadata the pipeline does not use: header lines, dropped from the text. So are 'x-' keys.
METADATA_KEYS = frozenset({"author", "authors", "byline", "source", "section", "category", "tags", "keywords"})
# Header lines only when their value reads as a date; otherwise the line is reporting and starts the body.
DATE_METADATA_KEYS = frozenset({"updated", "modified", "last_modified"})
TEXT_KEYS = ("text", "body", "content")
_OUTLET_TYPES = frozenset(get_args(OutletType))
_HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z_-]*)[ \t]*:[ \t]*(.*)")


def parse_article(text: str, *, name: str, path: str | None) -> Source:
    """Build a Source from an article with an optional ``key: value`` header block.

    ``name`` is the file name (or a bare name such as "stdin") the default id comes from;
    errors name ``path`` when given, else ``name``.
    """
    item = path or name
    text = normalise_text(text)
    fields, body, warnings = _split_header(text, item)
    if not body.strip():
        raise input_error("empty", item, "is empty (it has a header but no article text)" if fields else "is empty")
    return build_source(body, fields, default_id=default_id(name), path=path, item=item, warnings=warnings)


def is_url(given: str) -> bool:
    return given[:8].lower().startswith(("http://", "https://"))


def source_id_for(name: str) -> str:
    """Slug for an id: ASCII-folded, lowercase, runs of other characters become '-'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "source"


def _split_header(text: str, item: str) -> tuple[dict[str, str], str, list[str]]:
    """Split off a leading ``key: value`` block of known keys; the body starts at the first line that is not one.

    A ``key: value`` line whose key is not known ('KHARTOUM: Police said ...', 'Note: this is a developing
    story'), or a prose line after two or more header lines, starts the body, which keeps it and everything
    after it. Prose on the second line means the first was the article's opening sentence wrapped
    ('Title: the ministry said the road was closed / and residents fled'): the whole text is body.
    """
    lines = text.split("\n")
    first = _HEADER_LINE.fullmatch(lines[0])
    if first is None or not _is_header(first):
        return {}, text, []
    fields: dict[str, str] = {}
    written: dict[str, str] = {}  # field -> the key as the header spelled it
    warnings: list[str] = []
    offset = 0
    for n, line in enumerate(lines):
        if not line.strip():
            return fields, text[offset + len(line) + 1 :], warnings
        match = _HEADER_LINE.fullmatch(line)
        if match is None and n == 1:
            return {}, text, []
        if match is None or not _is_header(match):
            return fields, text[offset:], warnings
        key, value = _header_key(match), match[2].strip()
        field = ALIASES.get(key, key)
        if field not in HEADER_KEYS:
            logger.debug("%s: ignoring header %r (metadata the pipeline does not use)", item, key)
        elif field in fields and value and not same_value(field, fields[field], value):
            again = f"{key!r} is given twice" if key == written[field] else f"{key!r} repeats {written[field]!r}"
            warnings.append(f"header {again}: kept the first, {fields[field]!r}, and ignored {value!r}")
        elif value and field not in fields:
            fields[field], written[field] = value, key
        offset += len(line) + 1
    return fields, "", warnings


def _is_header(match: re.Match[str]) -> bool:
    key = _header_key(match)
    if key in DATE_METADATA_KEYS:  # 'Updated: 29 November 2024' is metadata; 'Update: the toll rose to 40' is reporting
        return read_published(match[2]).precision in ("day", "month", "year")
    return key in HEADER_KEYS or key in ALIASES or key in METADATA_KEYS or key.startswith("x_")


def same_value(field: str, first: str, second: str) -> bool:
    """Whether a repeated field says the same thing: the same words, or for ``published`` the same date in another form."""
    if " ".join(first.split()) == " ".join(second.split()):
        return True
    if field != "published":
        return False
    a, b = read_published(first), read_published(second)
    return a.precision not in (None, "unknown") and (a.date, a.precision, a.period) == (b.date, b.precision, b.period)


def _header_key(match: re.Match[str]) -> str:
    return match[1].lower().replace("-", "_")


def build_source(body: str, fields: dict[str, str], *, default_id: str, path: str | None, item: str, warnings: Sequence[str] = ()) -> Source:
    """A Source from its text and header fields (``fields`` holds only non-empty values); errors name ``item``.

    The publication date never refuses a source: what cannot be read for sure is left unknown, and
    ``warnings`` (what reading noticed) gains a line saying so; each warning is also logged.
    """
    if _headline_only(body, fields.get("title")):
        raise input_error("headline_only", item, "has only its headline (the body repeats the title): there is no reporting to quote")
    published = read_published(fields.get("published"))
    noticed = [*warnings, *published.warnings]
    for warning in noticed:
        logger.warning("%s: %s", item, warning)
    return Source(
        id=source_id_for(fields["id"]) if "id" in fields else default_id,
        path=path,
        outlet=fields.get("outlet"),
        outlet_type=_outlet_type(fields.get("outlet_type"), item),
        affiliation=fields.get("affiliation"),
        url=fields.get("url"),
        title=fields.get("title"),
        published=published.date,
        published_as_written=published.as_written,
        published_precision=published.precision,
        published_period=published.period,
        language=fields.get("language"),
        text=body,
        sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        warnings=noticed,
    )


def _headline_only(body: str, title: str | None) -> bool:
    # A page or export that kept only the headline repeats it as the body. A headline's compressed
    # wording must not be cited as if it were the report. Any other short body is processed: a
    # one-line bulletin is still reporting.
    if not title:
        return False
    want = title.casefold().split()
    # Split the body only as far as the title goes (a whole 5,000-character body costs ~30 us a file). The same test
    # as comparing both casefolded and whitespace-joined: no character's casefold adds or removes whitespace.
    words = body.split(maxsplit=len(want))
    return len(words) == len(want) and [w.casefold() for w in words] == want


def _outlet_type(value: str | None, item: str) -> OutletType:
    if value is None:
        return "unknown"
    normalised = value.lower().replace("-", "_").replace(" ", "_")
    if normalised not in _OUTLET_TYPES:
        raise input_error("invalid_field", item, f"outlet_type {value!r} is not one of {', '.join(sorted(_OUTLET_TYPES))}")
    return cast(OutletType, normalised)


def default_id(name: str) -> str:
    file = Path(name)
    return source_id_for(file.stem if file.suffix.lower() in SUPPORTED else file.name)
