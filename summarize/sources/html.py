"""Saved web pages, HTML files and (with network access allowed) URLs, read into ``Source`` records.

trafilatura finds the article in the page and drops the boilerplate around it; its metadata
(title, publication date, site name, canonical URL) fills the header fields a ``.txt`` article
would carry in its ``key: value`` block. The page's ``<html lang>`` gives the language.

Nothing here touches the network unless ``fetch`` is called, and ``sources.read_sources`` calls
it only when the caller passed ``allow_network=True`` (``--allow-network`` on the command line).
"""

from __future__ import annotations

import codecs
import dataclasses
import logging
import re
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import trafilatura
from trafilatura.settings import Document

from summarize import __version__
from summarize.models.report import Source
from summarize.sources.article import HTML_SUFFIXES, build_source, is_url, parse_article, source_id_for
from summarize.sources.decode import decode_bytes, input_error

if TYPE_CHECKING:
    from lxml.html import HtmlElement

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 30.0
MAX_REDIRECTS = 5
USER_AGENT = f"summarize/{__version__} (+article reader; one request per URL given)"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", ""})
TEXT_TYPES = frozenset({"text/plain", "text/markdown"})

# trafilatura's own boilerplate filters do not apply to its last-resort fallback, which gathers
# every paragraph left on the page; without these a page with no article came back as its cookie
# banner or newsletter box. Headers and footers inside <article> stay: they can hold corrections.
PRUNE_XPATH = [
    "//nav",
    "//form",
    "//noscript",
    "//*[@role='navigation' or @role='banner' or @role='contentinfo' or @role='search' or @role='dialog' or @role='alertdialog']",
    "//header[not(ancestor::article)]",
    "//footer[not(ancestor::article)]",
    "//*[self::div or self::section or self::aside or self::dialog][contains(@id, 'cookie') or contains(@class, 'cookie')"
    " or contains(@id, 'consent') or contains(@class, 'consent') or contains(@id, 'newsletter') or contains(@class, 'newsletter')]",
]
# Only dates the page states in its markup or URL: the fuller search guesses from any date in the
# text (a copyright year, a date in the story), and relative dates in the article resolve against this one.
DATE_PARAMS = {"extensive_search": False, "original_date": True, "outputformat": "%Y-%m-%d"}

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
# WHATWG Encoding: these labels mean windows-1252 in HTML, and a UTF-16 label in a document we could
# read as ASCII is wrong about itself, so it means UTF-8.
_HTML_CHARSET_ALIASES = {"iso8859-1": "cp1252", "ascii": "cp1252", "utf-16": "utf-8", "utf-16-le": "utf-8", "utf-16-be": "utf-8"}
_PAGE_SUFFIX = re.compile(r"\.(?:html?|php|aspx?|jsp)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    data: bytes
    content_type: str  # the media type, lowercase, without parameters
    charset: str | None  # from the Content-Type header


def declared_charset(data: bytes) -> str | None:
    """The encoding a page declares in a <meta> tag near its start, as a Python codec name."""
    match = _META_CHARSET.search(data[:4096])
    return _codec(match[1].decode("ascii", "replace")) if match else None


def read_html_bytes(data: bytes, *, name: str, path: str | None, charset: str | None = None, url: str | None = None) -> Source:
    """Decode a page (a BOM, then ``charset`` from HTTP, then its <meta charset>, then detection) and read it."""
    item = path or name
    text = decode_bytes(data, name=item, declared=_codec(charset) if charset else declared_charset(data))
    return read_html(text, name=name, path=path, url=url)


def read_html(data: str, *, name: str, path: str | None, url: str | None = None) -> Source:
    """Build a Source from an HTML page: the article text without boilerplate, and the page's metadata.

    ``name`` gives the default id (a file name, or a URL for fetched pages); errors name ``path``
    when given. ``url`` is where the page came from, used when the page states no canonical URL.
    """
    item = path or name
    tree = _parse(data)
    document = _extract(tree, url) if tree is not None else None
    body = _body(document.text or "", document.title) if document is not None else ""
    if tree is None or document is None or not body:
        shown = PurePosixPath(urlsplit(item).path).name if is_url(item) else Path(item).name
        raise input_error("no_article", item, f"no article text found in {shown or item} (the page may be a front page or need JavaScript)")
    page_url = document.url or url
    fields = {
        "title": document.title,
        "url": page_url,
        "outlet": document.sitename or _host(page_url),
        "published": document.date,  # read like a header's published: value (left unknown, with a warning, if it cannot be)
        "language": _language(tree),
    }
    return build_source(body, {k: v.strip() for k, v in fields.items() if v and v.strip()}, default_id=page_id(name), path=path, item=item)


def page_id(name: str) -> str:
    """Default source id: the file's stem, or for a URL the last part of its path (else its host)."""
    if is_url(name):
        parts = urlsplit(name)
        last = next((p for p in reversed(parts.path.split("/")) if p), "")
        return source_id_for(_PAGE_SUFFIX.sub("", last) or parts.hostname or name)
    file = Path(name)
    return source_id_for(file.stem if file.suffix.lower() in HTML_SUFFIXES else file.name)


def read_url(url: str, *, max_bytes: int, timeout: float = FETCH_TIMEOUT) -> Source:
    """Fetch one page and read it; plain-text answers are read like a ``.txt`` article."""
    page = fetch(url, max_bytes=max_bytes, timeout=timeout)
    if page.content_type in TEXT_TYPES:
        return parse_article(decode_bytes(page.data, name=url, declared=_codec(page.charset) if page.charset else None), name=page_id(url), path=url)
    if page.content_type not in HTML_TYPES:
        raise input_error("unsupported", url, f"the server answered with {page.content_type}, not an HTML page or plain text")
    return read_html_bytes(page.data, name=url, path=url, charset=page.charset, url=page.url)


def fetch(url: str, *, max_bytes: int, timeout: float = FETCH_TIMEOUT, transport: httpx.BaseTransport | None = None) -> Fetched:
    """GET ``url`` (redirects followed), refusing error statuses and bodies over ``max_bytes``."""
    headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8"}
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS, headers=headers, transport=transport) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise input_error("fetch_failed", url, f"the server answered HTTP {response.status_code} {response.reason_phrase}".rstrip())
            chunks: list[bytes] = []
            size = 0
            # The size is counted as the body arrives (after decompression): Content-Length may be
            # missing or wrong, and a compressed body can expand far past it.
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise input_error("too_large", url, f"is over the {max_bytes:,}-byte limit")
                chunks.append(chunk)
            media, _, params = response.headers.get("content-type", "").partition(";")
            charset = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
            return Fetched(str(response.url), b"".join(chunks), media.strip().lower(), charset[1] if charset else None)
    except httpx.HTTPError as exc:
        raise input_error("fetch_failed", url, f"cannot be fetched ({type(exc).__name__}: {exc})") from None


# --- helpers ---------------------------------------------------------------------------


def _parse(data: str) -> HtmlElement | None:
    try:
        return trafilatura.load_html(data)
    except (ValueError, TypeError):  # lxml refuses some malformed input outright
        return None


def _extract(tree: HtmlElement, url: str | None) -> Document | None:
    document = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        # precision over recall: with the default, pages without an article came back as link lists
        favor_precision=True,
        include_comments=False,  # readers' comments are not the outlet's reporting
        include_tables=True,
        date_extraction_params=DATE_PARAMS,
        prune_xpath=PRUNE_XPATH,
    )
    return document if isinstance(document, Document) else None


def _codec(label: str) -> str | None:
    try:
        name = codecs.lookup(label.strip()).name
    except LookupError:
        logger.debug("unknown charset label %r; detecting the encoding instead", label)
        return None
    return _HTML_CHARSET_ALIASES.get(name, name)


def _language(tree: HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    if not lang:
        equiv = "translate(@http-equiv, 'CONTENT-LANGUAGE', 'content-language')='content-language'"
        found = tree.xpath(f"//meta[{equiv}]/@content|//meta[@property='og:locale']/@content")
        lang = str(found[0]) if found else None
    return lang.strip().replace("_", "-") if lang else None


def _body(text: str, title: str | None) -> str:
    # One blank line between blocks, as in a .txt article, so chunking finds paragraph breaks.
    lines = [line.strip() for line in text.split("\n")]
    blocks = [line for line in lines if line]
    # The headline is the source's title field; left in the body it would be quoted as if it were reporting.
    if blocks and title and _same(blocks[0], title):
        blocks = blocks[1:]
    return "\n\n".join(blocks)


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


def _host(url: str | None) -> str | None:
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


__all__ = [
    "FETCH_TIMEOUT",
    "HTML_SUFFIXES",
    "PRUNE_XPATH",
    "Fetched",
    "declared_charset",
    "fetch",
    "page_id",
    "read_html",
    "read_html_bytes",
    "read_url",
]
