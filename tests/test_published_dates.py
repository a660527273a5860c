"""Publication dates as scraped articles write them: read to the day, month or year they name, never guessed, never a refusal.

And the header block: only known keys are header; a 'KEY: text' line that is reporting starts the body and keeps it.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest
from helpers import copying, run_json
from hypothesis import given
from hypothesis import strategies as st
from scripted_server import ScriptedServer

from summarize.ground.dates import resolve_date
from summarize.ground.quotes import align
from summarize.sources.article import parse_article
from summarize.sources.files import read_sources
from summarize.sources.published import read_published

BODY = "Police said 30 people were killed on Thursday.\n\nResidents fled the market district overnight."
UNRESOLVED = "the publication date is unknown, so relative dates in the text stay unresolved"
NOV_28 = dt.date(2024, 11, 28)


def article(published: str, body: str = BODY) -> str:
    return f"title: Clashes in Khartoum\noutlet: Example Wire\npublished: {published}\n\n{body}"


# --- the forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "published", "precision", "period"),
    [
        # the six forms the user test refused
        ("unknown", None, "unknown", None),
        ("unknown (text says Thursday)", None, "unknown", None),
        ("2023-10 (from URL)", None, "month", "2023-10"),
        ("28 November 2024", NOV_28, "day", None),
        ("Nov 28, 2024 10:30 GMT", NOV_28, "day", None),
        ("28/11/2024", NOV_28, "day", None),
        # other common forms
        ("November 28, 2024", NOV_28, "day", None),
        ("2024/11/28", NOV_28, "day", None),
        ("Thursday, 28 November 2024", NOV_28, "day", None),
        ("Thu, 28 Nov 2024 10:30:00 +0000", NOV_28, "day", None),  # RFC 2822
        ("Thu, 28 Nov 2024 23:30:00 -0500", NOV_28, "day", None),  # the date as written, never shifted by its zone
        ("11/28/2024", NOV_28, "day", None),  # month first: 28 cannot be a month
        ("28.11.2024", NOV_28, "day", None),
        ("28-11-2024 10:30", NOV_28, "day", None),
        ("2024-11-28T09:30:00Z", NOV_28, "day", None),
        ("2024-11-28 10:30 GMT", NOV_28, "day", None),
        ("Published on 28 November 2024 at 10:30 EST", NOV_28, "day", None),
        ("jeudi 28 novembre 2024", NOV_28, "day", None),
        ("1er novembre 2024", dt.date(2024, 11, 1), "day", None),
        ("29 February 2024", dt.date(2024, 2, 29), "day", None),
        ("04/04/2024", dt.date(2024, 4, 4), "day", None),  # both readings are the same day
        # month and year
        ("2023-10", None, "month", "2023-10"),
        ("October 2023", None, "month", "2023-10"),
        ("Oct 2023", None, "month", "2023-10"),
        ("10/2023", None, "month", "2023-10"),
        ("2023", None, "year", "2023"),
        # what cannot be read for sure
        ("03/04/2024", None, "unknown", None),  # 3 April or March 4
        ("28/11/24", None, "unknown", None),  # two-digit year
        ("28 Nov", None, "unknown", None),  # no year: never taken from today
        ("28 Nov 24", None, "unknown", None),
        ("Thursday", None, "unknown", None),
        ("yesterday", None, "unknown", None),
        ("2 days ago", None, "unknown", None),
        ("31 February 2024", None, "unknown", None),
        ("2024-02-30", None, "unknown", None),
        ("2024-13", None, "unknown", None),
        ("28 November 2024 - 29 November 2024", None, "unknown", None),
    ],
)
def test_published_forms(written: str, published: dt.date | None, precision: str, period: str | None) -> None:
    source = parse_article(article(written), name="a.txt", path=None)
    assert (source.published, source.published_precision, source.published_period) == (published, precision, period)
    assert source.published_as_written == written
    assert source.text == BODY, "the date never changes where the body starts"
    assert len(source.warnings) == (0 if written.startswith("2024-11-28T") else 1)


def test_plain_iso_date_is_kept_without_a_copy_or_a_warning() -> None:
    source = parse_article(article("2024-11-28"), name="a.txt", path=None)
    assert (source.published, source.published_precision, source.published_as_written, source.warnings) == (NOV_28, "day", None, [])


def test_no_published_header_means_no_precision() -> None:
    source = parse_article("title: T\n\n" + BODY, name="a.txt", path=None)
    assert (source.published, source.published_precision, source.published_as_written, source.warnings) == (None, None, None, [])


def test_warnings_say_what_was_read_and_why_not() -> None:
    def warning(written: str) -> str:
        [only] = read_published(written).warnings
        return only

    assert warning("28 November 2024") == "published: '28 November 2024' read as 2024-11-28"
    assert warning("unknown (text says Thursday)") == f"published: 'unknown (text says Thursday)' is not a date; {UNRESOLVED}"
    assert warning("03/04/2024") == f"published: '03/04/2024' could be day/month or month/day (3 April or 4 March 2024), so it is not read; {UNRESOLVED}"
    assert warning("28 Nov") == f"published: '28 Nov' has no year (written in four digits); {UNRESOLVED}"
    month = warning("2023-10 (from URL)")
    assert month.startswith("published: '2023-10 (from URL)' gives only the month of publication (2023-10) (note: 'from URL')")
    assert "relative dates in the text stay unresolved" in month
    assert warning("Friday, 28 November 2024").endswith("read as 2024-11-28; it also says Friday, but that day was a Thursday")


def test_a_parenthetical_note_is_set_aside_and_kept() -> None:
    got = read_published("28 November 2024 (from URL)")
    assert (got.date, got.as_written) == (NOV_28, "28 November 2024 (from URL)")
    assert got.warnings == ("published: '28 November 2024 (from URL)' read as 2024-11-28 (note: 'from URL')",)
    iso = read_published("2024-11-28 (from URL)")
    assert (iso.date, iso.as_written, len(iso.warnings)) == (NOV_28, "2024-11-28 (from URL)", 1)


SHAPED = r"(Mon, |Thursday )?\d{1,2}[ /.-](Nov|October|\d{1,2})[ /.-](\d{2}|\d{4})( 10:30( GMT)?)?( \(from URL\))?"


@given(st.text(max_size=40) | st.from_regex(SHAPED, fullmatch=True))
def test_reading_never_raises_and_never_invents_a_year(written: str) -> None:
    got = read_published(written)
    digits = "".join(str(d) if (d := unicodedata.decimal(c, None)) is not None else c for c in written)  # '٢٠٢٤' is 2024 too
    if got.date is not None:
        assert f"{got.date.year:04d}" in digits and got.precision == "day"
    if got.precision in ("month", "year"):
        assert got.date is None and got.period and got.period[:4] in digits
    if got.precision is not None:
        assert got.as_written is not None or got.warnings == ()


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_written_out_dates_read_back_to_the_same_day(day: dt.date) -> None:
    for form in ("%d %B %Y", "%A, %d %B %Y", "%b %d, %Y %H:%M GMT", "%a, %d %b %Y %H:%M:%S +0000", "%Y/%m/%d", "%B %d, %Y"):
        assert read_published(day.strftime(form)).date == day, form
    assert read_published(day.strftime("%B %Y")).period == day.strftime("%Y-%m")


# --- never a refusal -----------------------------------------------------------------------------


def test_an_unreadable_date_never_refuses_the_article(tmp_path: Path) -> None:
    for n, written in enumerate(["unknown", "unknown (text says Thursday)", "yesterday", "03/04/2024", "n/a"]):
        (tmp_path / f"a{n}.txt").write_text(article(written, f"{BODY} ({n})"), encoding="utf-8")
    sources, failed = read_sources([str(tmp_path)])
    assert failed == []
    assert [(s.published, s.published_precision) for s in sources] == [(None, "unknown")] * 5
    assert all(len(s.warnings) == 1 and UNRESOLVED in s.warnings[0] for s in sources)


def test_json_records_read_their_dates_the_same_way(tmp_path: Path) -> None:
    records = [
        {"text": "One.", "published": "28 November 2024"},
        {"text": "Two.", "published": 2023},
        {"text": "Three.", "published": ["not", "a", "date"]},
        {"text": "Four.", "date": "2023-10 (from URL)"},
        {"text": "Five.", "published": "2024-11-28", "date": "2024-11-29"},
        {"text": "Six.", "published": "unknown"},
    ]
    path = tmp_path / "r.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    sources, failed = read_sources([str(path)])
    assert failed == []
    got = {s.text: (s.published, s.published_precision, s.published_period) for s in sources}
    assert got == {
        "One.": (NOV_28, "day", None),
        "Two.": (None, "year", "2023"),
        "Three.": (None, "unknown", None),
        "Four.": (None, "month", "2023-10"),
        "Five.": (NOV_28, "day", None),
        "Six.": (None, "unknown", None),
    }
    five = next(s for s in sources if s.text == "Five.")
    assert five.warnings == ["field 'date' repeats 'published': kept '2024-11-28', and ignored '2024-11-29'"]


def test_html_page_date_has_day_precision(tmp_path: Path) -> None:
    page = (
        '<!DOCTYPE html><html lang="en"><head><title>Shelling in the old city</title>'
        '<meta property="article:published_time" content="2024-11-28T08:00:00Z"></head><body><article><h1>Shelling in the old city</h1>'
        "<p>Shelling hit the old city on Wednesday, residents said.</p><p>At least 12 people were killed, the monitor said.</p></article></body></html>"
    )
    (tmp_path / "p.html").write_text(page, encoding="utf-8")
    [source], failed = read_sources([str(tmp_path / "p.html")])
    assert failed == [] and (source.published, source.published_precision) == (NOV_28, "day")


# --- the header block -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "KHARTOUM: Police said 30 people were killed",
        "Note: this is a developing story",
        "Update: the toll rose to 40",
        "Updated: the ministry revised the toll",  # 'updated' is metadata only when it holds a date
    ],
)
def test_a_key_line_that_is_reporting_starts_the_body(line: str) -> None:
    text = f"title: Clashes in Khartoum\npublished: 2024-11-28\n{line}\nin the market district.\n\nMore reporting."
    source = parse_article(text, name="a.txt", path=None)
    assert (source.title, source.published) == ("Clashes in Khartoum", NOV_28)
    assert source.text == text[text.index(line) :], "the line and everything after it are body"
    quoted = align(line, source.text, source_id=source.id)
    assert quoted is not None and source.text[quoted.start : quoted.end] == line and quoted.start == 0


def test_a_first_line_with_an_unknown_key_means_no_header() -> None:
    text = "KHARTOUM: Police said 30 people were killed.\ntitle: not a header now\n\nMore."
    source = parse_article(text, name="a.txt", path=None)
    assert (source.text, source.title) == (text, None)


def test_prose_after_the_header_starts_the_body() -> None:
    text = "title: Clashes\npublished: 28 November 2024\nPolice said 30 people were killed.\n\nMore."
    source = parse_article(text, name="a.txt", path=None)
    assert (source.title, source.published, source.text) == ("Clashes", NOV_28, "Police said 30 people were killed.\n\nMore.")


def test_known_metadata_is_header_and_left_out_of_the_text() -> None:
    text = "title: T\nAuthor: A. Writer\nByline: Staff\nSource: Example Wire\nUpdated: 29 November 2024 10:00 GMT\nX-Scraper: v2\n\n" + BODY
    source = parse_article(text, name="a.txt", path=None)
    assert (source.title, source.text, source.published, source.warnings) == ("T", BODY, None, [])


def test_date_is_another_name_for_published() -> None:
    source = parse_article("date: 28 November 2024\n\n" + BODY, name="a.txt", path=None)
    assert (source.published, source.published_precision) == (NOV_28, "day")


def test_a_repeated_key_keeps_the_first_value_and_warns() -> None:
    text = "published: 2024-11-28\ntitle: First\ntitle: Second\npublished: 2024-11-29\ntitle: First\n\n" + BODY
    source = parse_article(text, name="a.txt", path=None)
    assert (source.title, source.published) == ("First", NOV_28)
    assert source.warnings == [
        "header 'title' is given twice: kept the first, 'First', and ignored 'Second'",
        "header 'published' is given twice: kept the first, '2024-11-28', and ignored '2024-11-29'",
    ]
    aliased = parse_article("published: 2024-11-28\ndate: 28 November 2024\ndate: 29 November 2024\n\n" + BODY, name="a.txt", path=None)
    assert aliased.warnings == ["header 'date' repeats 'published': kept the first, '2024-11-28', and ignored '29 November 2024'"]


# --- downstream: relative dates need a day --------------------------------------------------------


def test_relative_dates_stay_unresolved_with_only_a_month_or_year() -> None:
    for period in ("2023-10", "2023", None):
        got = resolve_date("on Thursday", None, period)
        assert (got.start, got.precision) == (None, "unknown")
        assert "relative and the source has no publication date" in got.note
        assert period is None or f"known only to the {'month' if len(period) == 7 else 'year'} ({period})" in got.note


def test_a_day_and_month_take_the_year_a_publication_month_allows() -> None:
    got = resolve_date("on 27 October", None, "2024-11")
    assert (got.start, got.end, got.precision) == (dt.date(2024, 10, 27), dt.date(2024, 10, 27), "day")
    assert resolve_date("30 December", None, "2025-01").start == dt.date(2024, 12, 30)
    # The 27th of the publication month is this year's or last year's depending on the day of publication.
    same_month = resolve_date("on 27 November", None, "2024-11")
    assert same_month.start is None and "leaves two years possible" in same_month.note
    assert resolve_date("on 27 October", None, "2024").start is None  # a year of publication never fixes a day's year
    assert resolve_date("27 October 2023", None, "2024-11").start == dt.date(2023, 10, 27)


# --- end to end -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "published", "precision"),
    [("28 November 2024", "2024-11-28", "day"), ("unknown (text says Thursday)", None, "unknown"), ("2023-10 (from URL)", None, "month")],
)
def test_extract_reads_an_article_with_a_non_iso_date(
    written: str, published: str | None, precision: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "khartoum.txt"
    path.write_text(article(written, "KHARTOUM: Police said 30 people were killed in the market on Thursday.\n\nResidents fled overnight."), "utf-8")
    with ScriptedServer(copying) as server:
        code, out, err = run_json(["extract", str(path), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0, err
    assert out["failed"] == []
    [report] = out["reports"]
    source = report["source"]
    assert (source["published"], source["published_precision"], source["published_as_written"]) == (published, precision, written)
    assert source["text"].startswith("KHARTOUM: Police said 30 people")
    assert len(source["warnings"]) == 1 and written in source["warnings"][0]
    assert f"published: {written!r}" in err, "the warning is shown, not only stored"
