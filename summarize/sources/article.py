"""One article's text to a Source: the optional 'key: value' header block, ids, dates and outlet types."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import unicodedata
from pathlib import Path
from typing import cast, get_args

from summarize.models.report import Source
from summarize.models.vocab import OutletType
from summarize.sources.decode import input_error, normalise_text

logger = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".json", ".jsonl", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
HEADER_KEYS = frozenset({"id", "url", "outlet", "outlet_type", "affiliation", "published", "title", "language"})
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
    fields, body = _split_header(text, item)
    if not body.strip():
        raise input_error("empty", item, "is empty (it has a header but no article text)" if fields else "is empty")
    return build_source(body, fields, default_id=default_id(name), path=path, item=item)


def is_url(given: str) -> bool:
    return given[:8].lower().startswith(("http://", "https://"))


def source_id_for(name: str) -> str:
    """Slug for an id: ASCII-folded, lowercase, runs of other characters become '-'."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-") or "source"


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


def default_id(name: str) -> str:
    file = Path(name)
    return source_id_for(file.stem if file.suffix.lower() in SUPPORTED else file.name)
