"""Behaviour of summarize.sources: what a user sees when feeding it files."""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import io
import json
import logging
import os
import random
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from summarize.errors import InputError
from summarize.sources.article import SUPPORTED, parse_article, source_id_for
from summarize.sources.decode import decode_bytes
from summarize.sources.files import DEFAULT_MAX_BYTES, read_path, read_sources

ARTICLE = "Shelling hit the old city on Wednesday.\n\nAt least 12 people were killed, the monitor said."


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


def read_one(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """Read one file that must succeed; return (text, id)."""
    sources, failed = read_sources([str(path)], max_bytes=max_bytes)
    assert failed == []
    assert len(sources) == 1
    return sources[0].text, sources[0].id


def only_failure(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str, str]:
    """Read one file that must fail; return (item, error kind, message)."""
    sources, failed = read_sources([str(path)], max_bytes=max_bytes)
    assert sources == []
    assert len(failed) == 1
    assert failed[0].stage == "read"
    return failed[0].item, failed[0].error, failed[0].message


# --- header block ------------------------------------------------------------------------


def test_header_fields_are_parsed_and_body_starts_after_blank_line(tmp_path: Path) -> None:
    header = (
        "Title: Aleppo offensive\n"
        "URL: https://example.org/a?x=1\n"
        "outlet: Example Wire\n"
        "Outlet_Type: wire\n"
        "affiliation: none\n"
        "published: 2024-11-28T09:30:00Z\n"
        "language: en\n"
        "X-Tracking: ignored\n"
        "\n"
    )
    path = write(tmp_path / "aleppo.txt", header + ARTICLE + "\n")
    [source], failed = read_sources([str(path)])
    assert failed == []
    assert source.text == ARTICLE
    assert source.text.startswith("Shelling")
    assert source.title == "Aleppo offensive"
    assert source.url == "https://example.org/a?x=1"
    assert source.outlet == "Example Wire"
    assert source.outlet_type == "wire"
    assert source.affiliation == "none"
    assert source.published == dt.date(2024, 11, 28)
    assert source.language == "en"
    assert source.id == "aleppo"
    assert source.path == str(path)
    assert source.sha256 == hashlib.sha256(ARTICLE.encode("utf-8")).hexdigest()


def test_header_id_is_slugified_and_plain_date_accepted() -> None:
    source = parse_article("id: AFP Story #7\npublished: 2024-11-28\n\nBody text.", name="x.txt", path=None)
    assert source.id == "afp-story-7"
    assert source.published == dt.date(2024, 11, 28)
    assert source.text == "Body text."


def test_without_header_the_whole_text_is_the_body(tmp_path: Path) -> None:
    text, source_id = read_one(write(tmp_path / "Reuters Report.md", ARTICLE))
    assert text == ARTICLE
    assert source_id == "reuters-report"


def test_known_key_followed_by_prose_is_not_a_header() -> None:
    text = "Title: the ministry said the road was closed\nand residents fled overnight.\n\nMore."
    source = parse_article(text, name="a.txt", path=None)
    assert source.text == text
    assert source.title is None


def test_header_with_no_body_is_empty(tmp_path: Path) -> None:
    _, error, message = only_failure(write(tmp_path / "h.txt", "title: Only a header\nurl: https://x\n"))
    assert error == "empty"
    assert "h.txt" in message and "is empty" in message


def test_unparseable_published_date_is_read_as_unknown_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "dated.txt", "published: last Tuesday\n\n" + ARTICLE)
    [source] = read_path(path)
    assert (source.published, source.published_precision, source.published_as_written) == (None, "unknown", "last Tuesday")
    assert source.text == ARTICLE
    assert any("'last Tuesday' is not a date" in w for w in source.warnings)


def test_unknown_outlet_type_is_refused() -> None:
    with pytest.raises(InputError, match="outlet_type 'tabloid'") as info:
        parse_article("outlet_type: tabloid\n\nBody.", name="t.txt", path="in/t.txt")
    assert info.value.item == "in/t.txt"


# --- encodings ---------------------------------------------------------------------------


def test_utf8_bom_is_removed(tmp_path: Path) -> None:
    text, _ = read_one(write(tmp_path / "bom.txt", codecs.BOM_UTF8 + "title: T\n\nÉté à Alep".encode()))
    assert text == "Été à Alep"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be"])
def test_utf16_with_bom(tmp_path: Path, codec: str) -> None:
    body = "Médecins Sans Frontières: 40 dead in Idlib.\nقالت الوزارة"
    data = codecs.BOM_UTF16_BE + body.encode("utf-16-be") if codec == "utf-16-be" else body.encode("utf-16")
    text, _ = read_one(write(tmp_path / "u16.txt", data))
    assert text == body


def test_utf16_le_without_bom_is_detected(tmp_path: Path) -> None:
    body = "Residents of Hama said the army withdrew overnight.\r\nNo casualties were reported."
    text, _ = read_one(write(tmp_path / "nobom.txt", body.encode("utf-16-le")))
    assert text == body.replace("\r\n", "\n")


@pytest.mark.parametrize(
    ("body", "codec"),
    [
        ("Médecins Sans Frontières said the hospital in Idlib was hit twice.", "cp1252"),
        ("Ça coûte 5 € — «très» cher, selon l'ONG.", "cp1252"),
        ("قالت وزارة الدفاع السورية إن القوات استعادت السيطرة على المدينة.", "cp1256"),
        ("Министерство обороны заявило, что войска отбили атаку.", "cp1251"),
    ],
)
def test_legacy_single_byte_encodings(tmp_path: Path, body: str, codec: str) -> None:
    text, _ = read_one(write(tmp_path / "legacy.txt", (body + "\n").encode(codec)))
    assert text == body


def test_truncated_utf8_keeps_utf8_and_drops_only_the_cut_character(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = "Médecins Sans Frontières counted 30 injured in Alep; cost 5 €"
    data = body.encode("utf-8")[:-2]  # cut the 3-byte euro sign after its first byte
    with caplog.at_level(logging.WARNING, logger="summarize.sources"):
        text, _ = read_one(write(tmp_path / "cut.txt", data))
    assert text == body[:-1].rstrip()
    assert "incomplete" in caplog.text


def test_undecodable_bom_marked_file_is_an_encoding_error(tmp_path: Path) -> None:
    _, error, message = only_failure(write(tmp_path / "bad.txt", codecs.BOM_UTF8 + b"ok \xff\xfe then more"))
    assert error == "encoding"
    assert "bad.txt" in message


def test_crlf_and_cr_become_lf_but_interior_whitespace_is_kept(tmp_path: Path) -> None:
    raw = "title: T\r\n\r\n  Line one  \r\n\r\n\tLine two\rLine three   \r\n\r\n"
    text, _ = read_one(write(tmp_path / "crlf.txt", raw))
    assert text == "  Line one  \n\n\tLine two\nLine three"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1))
def test_any_utf8_text_round_trips(body: str) -> None:
    assume(body.strip())
    assume(not body.startswith(("%PDF-", "GIF8")))
    expected = body.removeprefix("\ufeff").rstrip()
    assume(expected.strip())
    assert decode_bytes(body.encode("utf-8"), name="p") == expected
    assert decode_bytes(codecs.BOM_UTF16_LE + body.encode("utf-16-le"), name="p") == expected


# --- refused inputs ----------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  ", codecs.BOM_UTF8, " \n".encode("utf-16")])
def test_empty_and_whitespace_only_files(tmp_path: Path, data: bytes) -> None:
    path = write(tmp_path / "blank.txt", data)
    item, error, message = only_failure(path)
    assert (item, error) == (str(path), "empty")
    assert message == f"{path}: is empty"


def test_png_is_refused_as_binary(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(2000)
    _, error, message = only_failure(write(tmp_path / "photo.txt", b"\x89PNG\r\n\x1a\n" + noise))
    assert error == "binary"
    assert "photo.txt" in message and "PNG" in message and "not a text article" in message


def test_pdf_is_refused_as_binary(tmp_path: Path) -> None:
    path = write(tmp_path / "report.md", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n")
    with pytest.raises(InputError, match=r"binary data \(PDF\)") as info:
        read_path(path)
    assert info.value.kind == "binary"
    assert info.value.item == str(path)


@pytest.mark.parametrize("data", [b"text\x00with\x00nul" * 3, bytes(range(1, 32)) * 20 + b"abc"])
def test_nul_bytes_and_control_characters_are_binary(tmp_path: Path, data: bytes) -> None:
    _, error, _ = only_failure(write(tmp_path / "blob.txt", data))
    assert error == "binary"


def test_oversized_file_is_refused_with_its_size(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "x" * 1500)
    _, error, message = only_failure(path, max_bytes=1000)
    assert error == "too_large"
    assert "big.txt" in message and "1,500" in message and "1,000" in message
    assert read_one(path, max_bytes=1500)[0] == "x" * 1500
    assert DEFAULT_MAX_BYTES == 5_000_000


def test_a_file_that_grew_after_its_size_was_read_is_read_whole_or_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading asks for the size on disk plus one byte; a file appended to meanwhile is read on, up to the limit."""
    import summarize.sources.files as files

    path = write(tmp_path / "live.txt", "Ten people died, police said. " * 40)
    real_stat = Path.stat
    monkeypatch.setattr(Path, "stat", lambda self, **kw: os.stat_result((*real_stat(self, **kw)[:6], 10, *real_stat(self, **kw)[7:])))
    assert files._read_limited(io.BytesIO(path.read_bytes()), 5_000, "live.txt", expect=10) == path.read_bytes()
    assert read_one(path)[0] == path.read_text().strip()
    with pytest.raises(InputError) as info:
        files._read_limited(io.BytesIO(path.read_bytes()), 100, "live.txt", expect=10)
    assert info.value.kind == "too_large"


def test_oversized_stdin_is_refused() -> None:
    sources, failed = read_sources(["-"], max_bytes=10, stdin=io.BytesIO(b"y" * 11))
    assert sources == []
    assert [(f.item, f.error) for f in failed] == [("-", "too_large")]


def test_missing_path(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.txt")
    item, error, message = only_failure(Path(missing))
    assert (item, error) == (missing, "not_found")
    assert "no such file" in message


def test_unsupported_extension_named_directly(tmp_path: Path) -> None:
    _, error, message = only_failure(write(tmp_path / "story.docx", b"PK\x03\x04"))
    assert error == "unsupported"
    assert ".txt" in message


# --- directories -------------------------------------------------------------------------


def test_directory_with_one_bad_file_still_returns_the_good_ones(tmp_path: Path) -> None:
    write(tmp_path / "in" / "b.txt", "Second article.")
    write(tmp_path / "in" / "sub" / "c.md", "Third article.")
    write(tmp_path / "in" / "a.txt", "First article.")
    write(tmp_path / "in" / "broken.txt", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(tmp_path / "in" / "notes.csv", "a,b")
    write(tmp_path / "in" / ".hidden.txt", "Hidden article.")
    write(tmp_path / "in" / ".git" / "x.txt", "Hidden dir article.")
    sources, failed = read_sources([str(tmp_path / "in")])
    assert [s.id for s in sources] == ["a", "b", "c"]
    assert [s.text for s in sources] == ["First article.", "Second article.", "Third article."]
    assert len(failed) == 1
    assert failed[0].item == str(tmp_path / "in" / "broken.txt")
    assert "broken.txt" in failed[0].message and failed[0].error == "binary"
    with pytest.raises(InputError, match=r"broken\.txt"):
        read_path(tmp_path / "in")


def test_directory_without_supported_files(tmp_path: Path) -> None:
    write(tmp_path / "d" / "image.png", b"\x89PNG")
    item, error, _ = only_failure(tmp_path / "d")
    assert item == str(tmp_path / "d")
    assert error == "empty"


def test_symlink_loop_in_directory_terminates(tmp_path: Path) -> None:
    root = tmp_path / "loop"
    write(root / "sub" / "story.txt", ARTICLE)
    os.symlink(root, root / "sub" / "back")
    os.symlink(root / "self.txt", root / "self.txt")
    sources, failed = read_sources([str(root)])
    assert [s.text for s in sources] == [ARTICLE]
    assert [f.item for f in failed] == [str(root / "self.txt")]


def test_file_named_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "d" / "a.txt", ARTICLE)
    sources, failed = read_sources([str(path), str(tmp_path / "d")])
    assert len(sources) == 1 and failed == []


# --- JSON and JSONL ----------------------------------------------------------------------


def test_jsonl_with_a_broken_line_keeps_the_good_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "Line one article.", "outlet": "SANA", "outlet_type": "state_media"}),
        "",
        '{"text": "broken',
        json.dumps({"id": "Custom ID", "body": "Line four article.", "extra": [1, 2]}),
        json.dumps({"title": "no text"}),
    ]
    path = write(tmp_path / "feed.jsonl", "\n".join(lines) + "\n")
    sources, failed = read_sources([str(path)])
    assert [(s.id, s.text) for s in sources] == [("custom-id", "Line four article."), ("feed-1", "Line one article.")]
    assert sources[1].outlet_type == "state_media"
    assert [(f.item, f.error) for f in failed] == [(f"{path}:3", "malformed_json"), (f"{path}:5", "invalid_record")]
    assert "feed.jsonl:3" in failed[0].message


def test_json_list_and_single_object(tmp_path: Path) -> None:
    records = [
        {"text": "First.\r\nSecond line.  ", "published": "2024-11-29", "language": "ar"},
        {"content": "Other article.", "id": 42},
    ]
    many = write(tmp_path / "batch.json", json.dumps(records))
    one = write(tmp_path / "single.json", json.dumps({"text": "Solo.", "url": "https://e.org"}))
    sources, failed = read_sources([str(many), str(one)])
    assert failed == []
    assert [(s.id, s.text) for s in sources] == [("42", "Other article."), ("batch-1", "First.\nSecond line."), ("single", "Solo.")]
    assert sources[1].published == dt.date(2024, 11, 29)
    assert sources[2].url == "https://e.org"


@pytest.mark.parametrize(
    ("content", "error"),
    [("{not json", "malformed_json"), ("[]", "empty"), ('"just a string"', "malformed_json")],
)
def test_bad_json_files(tmp_path: Path, content: str, error: str) -> None:
    _, kind, message = only_failure(write(tmp_path / "bad.json", content))
    assert kind == error
    assert "bad.json" in message


def test_bad_record_field_types(tmp_path: Path) -> None:
    path = write(tmp_path / "r.json", json.dumps([{"text": "ok", "outlet": ["a"]}, {"text": "fine"}]))
    sources, failed = read_sources([str(path)])
    assert [s.text for s in sources] == ["fine"]
    assert [(f.item, f.error) for f in failed] == [(f"{path}#1", "invalid_field")]


# --- standard input ----------------------------------------------------------------------


def test_dash_reads_standard_input() -> None:
    stdin = io.BytesIO(b"title: Piped\r\n\r\nAn article from a pipe.\r\n")
    [source], failed = read_sources(["-"], stdin=stdin)
    assert failed == []
    assert (source.id, source.path, source.title, source.text) == ("stdin", "-", "Piped", "An article from a pipe.")


# --- duplicates and ids ------------------------------------------------------------------


def test_duplicate_texts_keep_the_first_path_in_sorted_order(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "outlet: One\n\n" + ARTICLE)
    b = write(tmp_path / "b.txt", ARTICLE + "\n\n")
    c = write(tmp_path / "c.txt", "Different article.")
    for order in ([b, c, a], [a, b, c]):
        sources, failed = read_sources([str(p) for p in order])
        assert [s.id for s in sources] == ["a", "c"]
        assert [(f.item, f.error) for f in failed] == [(str(b), "duplicate")]
        assert str(a) in failed[0].message


def test_id_collisions_are_resolved_independently_of_order(tmp_path: Path) -> None:
    first = write(tmp_path / "x" / "story.txt", "Story from outlet X.")
    second = write(tmp_path / "y" / "story.txt", "Story from outlet Y.")
    third = write(tmp_path / "z" / "other.txt", "id: story\n\nStory from outlet Z.")
    paths = [str(first), str(second), str(third)]
    forward, _ = read_sources(paths)
    backward, _ = read_sources(list(reversed(paths)))
    by_path = {s.path: s.id for s in forward}
    assert by_path == {s.path: s.id for s in backward}
    assert len(set(by_path.values())) == 3
    for source in forward:
        assert source.id == f"story-{source.sha256[:6]}"
    assert [s.id for s in forward] == sorted(s.id for s in forward)


def test_suffixed_id_that_clashes_with_a_natural_id_stays_unique(tmp_path: Path) -> None:
    text = "Story from outlet X."
    suffix = hashlib.sha256(text.encode()).hexdigest()[:6]
    paths = [
        write(tmp_path / "x" / "story.txt", text),
        write(tmp_path / "y" / "story.txt", "Story from outlet Y."),
        write(tmp_path / f"story-{suffix}.txt", "A third story."),
    ]
    sources, failed = read_sources([str(p) for p in paths])
    assert failed == []
    assert len({s.id for s in sources}) == 3


def test_failures_come_in_the_order_encountered(tmp_path: Path) -> None:
    good = write(tmp_path / "good.txt", ARTICLE)
    empty = write(tmp_path / "empty.txt", "")
    sources, failed = read_sources([str(tmp_path / "missing.txt"), str(good), str(empty)])
    assert [s.id for s in sources] == ["good"]
    assert [f.error for f in failed] == ["not_found", "empty"]


@pytest.mark.parametrize(
    ("name", "slug"),
    [("Reuters 2024-11-28", "reuters-2024-11-28"), ("  --Al Jazeera!! ", "al-jazeera"), ("تقرير", "source"), ("Médecins", "medecins")],
)
def test_source_id_for(name: str, slug: str) -> None:
    assert source_id_for(name) == slug


def test_supported_extensions() -> None:
    assert SUPPORTED == (".txt", ".md", ".json", ".jsonl", ".html", ".htm")


# --- HTML pages and URLs -------------------------------------------------------------------

PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Shelling in the old city</title>'
    '<meta property="og:site_name" content="Example Wire"><meta property="article:published_time" content="2024-11-28T08:00:00Z"></head>'
    '<body><nav><a href="/">Home</a><a href="/world">World</a></nav><article><h1>Shelling in the old city</h1>'
    "<p>Shelling hit the old city on Wednesday, residents said.</p><p>At least 12 people were killed, the monitor said.</p></article>"
    "<footer>© 2024 Example Wire</footer></body></html>"
)


def test_directory_with_html_and_txt_reads_both(tmp_path: Path) -> None:
    write(tmp_path / "in" / "wire.html", PAGE)
    write(tmp_path / "in" / "sub" / "saved.HTM", PAGE.replace("12 people", "13 people"))
    write(tmp_path / "in" / "note.txt", ARTICLE)
    sources, failed = read_sources([str(tmp_path / "in")])
    assert failed == []
    assert [s.id for s in sources] == ["note", "saved", "wire"]
    wire = sources[2]
    assert wire.text == "Shelling hit the old city on Wednesday, residents said.\n\nAt least 12 people were killed, the monitor said."
    assert (wire.title, wire.outlet, wire.published) == ("Shelling in the old city", "Example Wire", dt.date(2024, 11, 28))
    assert read_path(tmp_path / "in" / "wire.html")[0].text == wire.text


def test_assets_folder_of_a_saved_page_is_skipped(tmp_path: Path) -> None:
    write(tmp_path / "in" / "wire.html", PAGE)
    write(tmp_path / "in" / "wire_files" / "ad-frame.html", "<html><body><p>Buy now</p></body></html>")
    write(tmp_path / "in" / "other_files" / "note.txt", ARTICLE)  # no page of that name: an ordinary folder
    sources, failed = read_sources([str(tmp_path / "in")])
    assert failed == []
    assert [s.id for s in sources] == ["note", "wire"]


def test_html_without_article_fails_alone_and_names_the_file(tmp_path: Path) -> None:
    write(tmp_path / "in" / "front.html", "<html><body><nav><a href='/'>Home</a></nav><footer>© Example</footer></body></html>")
    write(tmp_path / "in" / "note.txt", ARTICLE)
    sources, failed = read_sources([str(tmp_path / "in")])
    assert [s.id for s in sources] == ["note"]
    assert [(f.item, f.error) for f in failed] == [(str(tmp_path / "in" / "front.html"), "no_article")]
    assert "no article text found in front.html" in failed[0].message


def test_html_on_standard_input_is_read_as_a_page() -> None:
    [source], failed = read_sources(["-"], stdin=io.BytesIO(b"\xef\xbb\xbf  <!-- saved -->\n" + PAGE.encode()))
    assert failed == []
    assert (source.id, source.path, source.title) == ("stdin", "-", "Shelling in the old city")
    assert source.text.startswith("Shelling hit the old city")


def test_url_is_refused_without_allow_network() -> None:
    url = "https://example.org/news/old-city-shelling"
    sources, failed = read_sources([url, "HTTP://example.org/other"])
    assert sources == []
    assert [(f.item, f.error) for f in failed] == [(url, "network_disabled"), ("HTTP://example.org/other", "network_disabled")]
    assert failed[0].message == f"{url}: fetching URLs needs --allow-network"


def test_url_is_fetched_with_allow_network(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from summarize.sources import html as html_input

    fetched: list[str] = []

    def fake_fetch(url: str, *, max_bytes: int, timeout: float = 0) -> html_input.Fetched:
        fetched.append(url)
        return html_input.Fetched(url=url, data=PAGE.encode(), content_type="text/html", charset="utf-8")

    monkeypatch.setattr(html_input, "fetch", fake_fetch)
    url = "https://example.org/news/old-city-shelling.html"
    sources, failed = read_sources([url, str(write(tmp_path / "note.txt", ARTICLE))], allow_network=True)
    assert failed == []
    assert fetched == [url]
    assert [(s.id, s.path, s.url) for s in sources] == [("note", str(tmp_path / "note.txt"), None), ("old-city-shelling", url, url)]


def test_fetch_failure_is_reported_for_that_url_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from summarize.sources import html as html_input

    def refuse(url: str, *, max_bytes: int, timeout: float = 0) -> html_input.Fetched:
        raise html_input.input_error("fetch_failed", url, "the server answered HTTP 503 Service Unavailable")

    monkeypatch.setattr(html_input, "fetch", refuse)
    sources, failed = read_sources(["https://example.org/down", str(write(tmp_path / "a.txt", ARTICLE))], allow_network=True)
    assert [s.id for s in sources] == ["a"]
    assert [(f.item, f.error) for f in failed] == [("https://example.org/down", "fetch_failed")]


def test_declared_codec_is_tried_before_detection() -> None:
    data = "Зима".encode("cp1251")
    assert decode_bytes(data, name="x", declared="cp1251") == "Зима"
    # undecodable as declared: detection takes over
    assert decode_bytes("Straße".encode(), name="x", declared="ascii") == "Straße"
    assert decode_bytes(b"plain", name="x", declared="no-such-codec") == "plain"
