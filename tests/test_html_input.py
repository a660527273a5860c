"""Behaviour of summarize.html_input: saved web pages, HTML files and URLs as sources (no network)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import httpx
import pytest

from summarize.errors import InputError
from summarize.models.report import Source
from summarize.sources import html as html_input
from summarize.sources.html import Fetched, declared_charset, fetch, page_id, read_html, read_html_bytes, read_url

ROOT = Path(__file__).resolve().parent.parent
SAVED = ROOT / "examples" / "web" / "regional-wire-saved.html"
ANSWER = ROOT / "tests" / "fixtures" / "answers" / "regional-wire-saved.json"
BOILERPLATE = (
    "cookies",
    "Accept all",
    "Manage preferences",
    "Subscribe",
    "More from Middle East",
    "Lebanon ceasefire holds",
    "Levant Briefing",
    "All rights reserved",
    "Privacy policy",
    "Share on",
    "Topics:",
    "Photo: EMW",
    "Home ›",
    "dataLayer",
)


def page(body: str, head: str = "<title>A page</title>", lang: str = "en") -> str:
    return f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">{head}</head><body>{body}</body></html>'


CHROME = (
    '<div class="cookie-banner"><p>We use cookies to improve this site. By clicking Accept you agree to our use of cookies.</p><button>Accept</button></div>'
    '<header><nav><ul><li><a href="/world">World</a></li><li><a href="/business">Business</a></li></ul></nav></header>'
    '<aside class="related"><h2>Related</h2><ul><li><a href="/a">Another story about something else entirely</a></li></ul></aside>'
    '<section class="newsletter-box"><h2>Our newsletter</h2><p>The news in your inbox every morning. Sign up with your email address today.</p></section>'
    "<footer><p>© 2024 Example Outlet. All rights reserved.</p></footer>"
)


def saved() -> Source:
    return read_html_bytes(SAVED.read_bytes(), name=SAVED.name, path=str(SAVED))


# --- the saved example page ----------------------------------------------------------------


def test_saved_page_metadata_fills_the_header_fields() -> None:
    source = saved()
    assert source.id == "regional-wire-saved"
    assert source.title == "Northwest Syria fighting has killed 238 in three days, local sources say"
    assert source.outlet == "Eastern Mediterranean Wire"
    assert source.outlet_type == "unknown"
    assert source.published == dt.date(2024, 11, 29)
    assert source.url == "https://example.org/emwire/2024/11/29/northwest-syria-fighting-toll-238"
    assert source.language == "en"
    assert source.path == str(SAVED)


def test_saved_page_body_is_the_article_without_boilerplate() -> None:
    text = saved().text
    assert text.startswith("BEIRUT (EMW) - Three days of combat")
    assert text.endswith("the largest the area has seen in years.")
    assert '"Deterring Aggression"' in text
    for chrome in BOILERPLATE:
        assert chrome not in text, chrome
    # the headline is the title field, not a paragraph of the body
    assert "local sources say" not in text
    assert 150 <= len(text.split()) <= 300
    # paragraphs are separated by a blank line, as in a .txt article
    assert text.count("\n\n") == 4 and "\n\n\n" not in text


def test_authored_answer_quotes_the_extracted_text_verbatim() -> None:
    # the bundled cassette replays requests that carry this exact text: if trafilatura extracts it
    # differently, the quotes (and the cassette) no longer match
    text = saved().text
    answer = json.loads(ANSWER.read_text(encoding="utf-8"))
    quotes = [item["quote"] for kind in ("events", "figures", "claims") for item in answer[kind]]
    assert quotes and all(q in text for q in quotes)


# --- pages without an article --------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(CHROME, id="only-boilerplate"),
        pytest.param(CHROME + "<main><article><h1>Fighting resumes in the north</h1></article></main>", id="only-headline"),
        pytest.param('<div id="root"></div><noscript>You need to enable JavaScript to run this app.</noscript>', id="javascript-app"),
        pytest.param(
            "<main><ul>" + "".join(f'<li><a href="/s{i}">Headline number {i} about events in the region</a></li>' for i in range(25)) + "</ul></main>",
            id="front-page",
        ),
        pytest.param("", id="empty-body"),
    ],
)
def test_page_without_article_text_is_no_article(body: str) -> None:
    with pytest.raises(InputError) as caught:
        read_html(page(body), name="front.html", path="saved/front.html")
    assert caught.value.kind == "no_article"
    assert caught.value.item == "saved/front.html"
    assert str(caught.value) == "saved/front.html: no article text found in front.html (the page may be a front page or need JavaScript)"


def test_short_article_is_kept_and_undated_page_gets_no_guessed_date() -> None:
    body = "<article><h1>Blast in the port</h1><p>A blast killed 3 people in the port on 3 March 2021, police said.</p></article>"
    source = read_html(page(body, head="<title>Blast in the port</title>", lang="fr-FR"), name="blast.htm", path=None)
    assert source.text == "A blast killed 3 people in the port on 3 March 2021, police said."
    assert source.id == "blast"
    # a date in the story is not the publication date: relative dates must not resolve against it
    assert source.published is None
    assert source.outlet is None and source.url is None
    assert source.language == "fr-FR"


def test_outlet_falls_back_to_the_host_of_the_canonical_url() -> None:
    head = '<title>Story</title><link rel="canonical" href="https://www.example.com/news/story-1">'
    body = "<article><p>" + "Officials said the road to the border crossing reopened on Monday after two days. " * 3 + "</p></article>"
    source = read_html(page(body, head=head), name="story.html", path=None)
    assert source.url == "https://www.example.com/news/story-1"
    assert source.outlet == "example.com"


# --- encodings -----------------------------------------------------------------------------


CYRILLIC = "Обстрел продолжался всю ночь, сообщили местные источники. Погибли четыре человека, ещё семь были ранены."


@pytest.mark.parametrize(
    "meta",
    ['<meta charset="windows-1251">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'],
)
def test_declared_charset_decodes_the_page(meta: str) -> None:
    html = f"<!DOCTYPE html><html lang='ru'><head>{meta}<title>Ночь</title></head><body><article><p>{CYRILLIC}</p></article></body></html>"
    source = read_html_bytes(html.encode("cp1251"), name="ru.html", path=None)
    assert source.text == CYRILLIC
    assert source.title == "Ночь"


def test_wrong_declared_charset_falls_back_to_detection(caplog: pytest.LogCaptureFixture) -> None:
    text = "Café owners in Zürich said the façade was damaged; nobody was hurt, the police added in a statement."
    html = f'<html><head><meta charset="utf-8"><title>T</title></head><body><article><p>{text}</p></article></body></html>'
    with caplog.at_level(logging.WARNING):
        source = read_html_bytes(html.encode("cp1252"), name="x.html", path=None)
    assert source.text == text
    assert "declares utf-8, which does not decode it" in caplog.text


def test_bom_wins_over_a_declared_charset() -> None:
    html = f'<html><head><meta charset="windows-1251"><title>T</title></head><body><article><p>{CYRILLIC}</p></article></body></html>'
    source = read_html_bytes(b"\xef\xbb\xbf" + html.encode("utf-8"), name="x.html", path=None)
    assert source.text == CYRILLIC


@pytest.mark.parametrize(
    ("data", "codec"),
    [
        (b'<meta charset="ISO-8859-1">', "cp1252"),  # HTML reads latin-1 labels as windows-1252
        (b"<meta charset='utf-16'>", "utf-8"),  # a page we can read as ASCII is not UTF-16
        (b'<meta http-equiv="content-type" content="text/html;charset=Shift_JIS">', "shift_jis"),
        (b'<meta charset="no-such-charset">', None),
        (b"<p>no declaration</p>", None),
    ],
)
def test_declared_charset(data: bytes, codec: str | None) -> None:
    assert declared_charset(b"<html><head>" + data + b"</head>") == codec


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("https://example.org/emwire/2024/11/29/northwest-syria-fighting-toll-238", "northwest-syria-fighting-toll-238"),
        ("https://example.org/news/story.html?utm=x", "story"),
        ("https://example.org/news/", "news"),
        ("http://www.example.org", "www-example-org"),
        ("saved/Front Page.HTM", "front-page"),
    ],
)
def test_page_id(name: str, expected: str) -> None:
    assert page_id(name) == expected


def transport(status: int = 200, body: bytes = b"", content_type: str = "text/html; charset=utf-8", redirect_to: str | None = None) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if redirect_to and request.url.path != httpx.URL(redirect_to).path:
            return httpx.Response(301, headers={"Location": redirect_to})
        return httpx.Response(status, content=body, headers={"Content-Type": content_type})

    return httpx.MockTransport(handler)


def test_fetch_follows_redirects_and_reads_the_charset() -> None:
    got = fetch(
        "https://example.org/old",
        max_bytes=1000,
        transport=transport(body=b"<html></html>", content_type="text/html; charset=ISO-8859-1", redirect_to="https://example.org/new"),
    )
    assert got == Fetched(url="https://example.org/new", data=b"<html></html>", content_type="text/html", charset="ISO-8859-1")


def test_fetch_refuses_error_statuses_and_oversized_bodies() -> None:
    with pytest.raises(InputError) as caught:
        fetch("https://example.org/missing", max_bytes=1000, transport=transport(status=404))
    assert caught.value.kind == "fetch_failed" and "HTTP 404" in str(caught.value)
    with pytest.raises(InputError) as caught:
        fetch("https://example.org/big", max_bytes=10, transport=transport(body=b"x" * 11))
    assert caught.value.kind == "too_large"


def test_fetch_transport_errors_name_the_url() -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(InputError) as caught:
        fetch("https://example.org/down", max_bytes=1000, transport=httpx.MockTransport(fail))
    assert caught.value.kind == "fetch_failed"
    assert str(caught.value).startswith("https://example.org/down: cannot be fetched (ConnectError")


def test_read_url_reads_a_fetched_page(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://example.org/emwire/2024/11/29/northwest-syria-fighting-toll-238"
    calls: list[tuple[str, int]] = []

    def fake_fetch(given: str, *, max_bytes: int, timeout: float = 0) -> Fetched:
        calls.append((given, max_bytes))
        return Fetched(url=given, data=SAVED.read_bytes(), content_type="text/html", charset=None)

    monkeypatch.setattr(html_input, "fetch", fake_fetch)
    source = read_url(url, max_bytes=123_456)
    assert calls == [(url, 123_456)]
    assert (source.id, source.path, source.url, source.published) == ("northwest-syria-fighting-toll-238", url, url, dt.date(2024, 11, 29))
    assert source.text == saved().text


def test_read_url_takes_the_fetched_url_when_the_page_names_none(monkeypatch: pytest.MonkeyPatch) -> None:
    body = "<article><p>" + "Rescue teams searched the rubble for survivors through the night, officials said. " * 3 + "</p></article>"
    monkeypatch.setattr(html_input, "fetch", lambda url, **_: Fetched("https://example.org/final", page(body).encode(), "text/html", "utf-8"))
    source = read_url("https://example.org/start", max_bytes=10_000)
    assert source.url == "https://example.org/final"
    assert source.outlet == "example.org"  # no site name in the page: the host it came from


def test_read_url_reads_plain_text_and_refuses_other_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_input, "fetch", lambda url, **_: Fetched(url, b"title: A note\n\nShelling hit the town overnight.", "text/plain", None))
    source = read_url("https://example.org/note.txt", max_bytes=10_000)
    assert (source.title, source.text, source.path) == ("A note", "Shelling hit the town overnight.", "https://example.org/note.txt")
    monkeypatch.setattr(html_input, "fetch", lambda url, **_: Fetched(url, b"%PDF-1.7", "application/pdf", None))
    with pytest.raises(InputError) as caught:
        read_url("https://example.org/report.pdf", max_bytes=10_000)
    assert caught.value.kind == "unsupported" and "application/pdf" in str(caught.value)
