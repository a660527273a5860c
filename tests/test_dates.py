"""Dates resolve from what the article wrote, and relative ones only against its publication date."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from summarize.ground.dates import ResolvedDate, resolve_date

THURSDAY = dt.date(2024, 11, 28)
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


@pytest.mark.parametrize(
    ("written", "start", "end", "precision"),
    [
        ("Wednesday", "2024-11-27", "2024-11-27", "day"),
        ("on Wednesday morning in Aleppo", "2024-11-27", "2024-11-27", "day"),
        ("clashes erupted Wednesday", "2024-11-27", "2024-11-27", "day"),
        ("WEDNESDAY", "2024-11-27", "2024-11-27", "day"),
        ("yesterday", "2024-11-27", "2024-11-27", "day"),
        ("last night", "2024-11-27", "2024-11-27", "day"),
        ("Thursday", "2024-11-28", "2024-11-28", "day"),
        ("this morning", "2024-11-28", "2024-11-28", "day"),
        ("today", "2024-11-28", "2024-11-28", "day"),
        ("last Thursday", "2024-11-21", "2024-11-21", "day"),
        ("last Wednesday", "2024-11-27", "2024-11-27", "day"),  # "last" only excludes the publication day
        ("over the last three days", "2024-11-26", "2024-11-28", "2-6_days"),
        ("in the past 3 days", "2024-11-26", "2024-11-28", "2-6_days"),
        ("in the past 48 hours", "2024-11-27", "2024-11-28", "2-6_days"),
        ("over the past seven days", "2024-11-22", "2024-11-28", "week"),
        ("since Wednesday", "2024-11-27", "2024-11-28", "2-6_days"),
        ("last week", "2024-11-21", "2024-11-27", "week"),
        ("this week", "2024-11-25", "2024-11-28", "2-6_days"),
        ("earlier this month", "2024-11-01", "2024-11-28", "month"),
        ("between Tuesday and Thursday", "2024-11-26", "2024-11-28", "2-6_days"),
        ("from Friday to Monday", "2024-11-22", "2024-11-25", "2-6_days"),
        ("on 27 November", "2024-11-27", "2024-11-27", "day"),
        ("November 27", "2024-11-27", "2024-11-27", "day"),
    ],
)
def test_relative_expressions_resolve_against_publication(written: str, start: str, end: str, precision: str) -> None:
    got = resolve_date(written, THURSDAY)
    assert (got.start, got.end, got.precision) == (d(start), d(end), precision)
    assert got.note


@pytest.mark.parametrize(
    ("written", "start", "end", "precision"),
    [
        ("27 November 2024", "2024-11-27", "2024-11-27", "day"),
        ("on 27th November 2024", "2024-11-27", "2024-11-27", "day"),
        ("Nov. 27, 2024", "2024-11-27", "2024-11-27", "day"),
        ("November 27, 2024", "2024-11-27", "2024-11-27", "day"),
        ("2024-11-27", "2024-11-27", "2024-11-27", "day"),
        ("27-29 November 2024", "2024-11-27", "2024-11-29", "2-6_days"),
        ("between 27 and 29 November 2024", "2024-11-27", "2024-11-29", "2-6_days"),
        ("27 November \u2013 3 December 2024", "2024-11-27", "2024-12-03", "week"),
        ("1-20 November 2024", "2024-11-01", "2024-11-20", "month"),
        ("30 December - 2 January 2025", "2024-12-30", "2025-01-02", "2-6_days"),
        ("in November 2024", "2024-11-01", "2024-11-30", "month"),
        ("February 2024", "2024-02-01", "2024-02-29", "month"),
        ("2024", "2024-01-01", "2024-12-31", "year"),
    ],
)
def test_absolute_dates_need_no_publication_date(written: str, start: str, end: str, precision: str) -> None:
    got = resolve_date(written, None)
    assert (got.start, got.end, got.precision) == (d(start), d(end), precision)


def test_weekday_without_publication_date_stays_unresolved() -> None:
    got = resolve_date("Wednesday", None)
    assert got == ResolvedDate(None, None, "unknown", got.note)
    assert "publication date" in got.note
    assert "Wednesday" in got.note


@pytest.mark.parametrize("written", ["yesterday", "since Wednesday", "over the last three days", "last week", "on 27 November"])
def test_anything_relative_needs_publication_date(written: str) -> None:
    got = resolve_date(written, None)
    assert (got.start, got.end, got.precision) == (None, None, "unknown")
    assert "publication date" in got.note


def test_day_and_month_take_the_latest_year_not_after_publication() -> None:
    got = resolve_date("30 December", d("2025-01-02"))
    assert (got.start, got.end, got.precision) == (d("2024-12-30"), d("2024-12-30"), "day")
    assert resolve_date("29 February", d("2025-06-01")).start == d("2024-02-29")


@pytest.mark.parametrize("written", ["tomorrow", "next Wednesday", "in the coming days"])
def test_future_expressions_are_not_resolved(written: str) -> None:
    got = resolve_date(written, THURSDAY)
    assert (got.start, got.end, got.precision) == (None, None, "unknown")


@pytest.mark.parametrize("written", ["recently", "in recent days", "a few weeks ago"])
def test_vague_expressions_are_not_resolved(written: str) -> None:
    assert resolve_date(written, THURSDAY).precision == "unknown"


def test_garbage_is_unknown() -> None:
    got = resolve_date("the fighting continued", THURSDAY)
    assert got == ResolvedDate(None, None, "unknown", "could not read a date from 'the fighting continued'")


def test_missing_date() -> None:
    assert resolve_date(None, THURSDAY) == ResolvedDate(None, None, "unknown", "no date given")
    assert resolve_date("  ", THURSDAY).note == "no date given"


def test_impossible_and_ambiguous_dates_are_refused() -> None:
    assert resolve_date("31 February 2024", None).precision == "unknown"
    assert resolve_date("03/04/2024", None).precision == "unknown"  # March or April: depends on the writer
    assert resolve_date("13/04/2024", None).start == d("2024-04-13")


def test_mismatched_weekday_is_noted() -> None:
    got = resolve_date("Tuesday, 27 November 2024", THURSDAY)
    assert got.start == d("2024-11-27")
    assert "does not match" in got.note


PUBLISHED = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2100, 12, 31))


@given(published=PUBLISHED, weekday=st.sampled_from(WEEKDAYS), prefix=st.sampled_from(["", "on ", "erupted on ", "since "]))
def test_weekday_never_after_publication(published: dt.date, weekday: str, prefix: str) -> None:
    got = resolve_date(f"{prefix}{weekday} morning", published)
    assert got.start is not None and got.end is not None
    assert got.start <= got.end <= published
    assert (published - got.start).days < 7
    assert got.start.strftime("%A") == weekday


@given(
    published=PUBLISHED,
    written=st.sampled_from(
        [
            "yesterday",
            "today",
            "last night",
            "overnight",
            "last Friday",
            "over the last ten days",
            "past 72 hours",
            "since Sunday",
            "last week",
            "this week",
            "the weekend",
            "last weekend",
            "earlier this month",
            "last month",
            "this year",
            "in March",
            "on 31 December",
            "27-29 November",
            "Monday and Friday",
            "from Saturday to Tuesday",
            "Wednesday last week",
        ]
    ),
)
def test_relative_expressions_never_after_publication(published: dt.date, written: str) -> None:
    got = resolve_date(written, published)
    assert got.start is not None and got.end is not None, got.note
    assert got.start <= got.end <= published
    assert got.precision != "unknown"


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("depuis mercredi", "2024-11-27", "2024-11-29"),
        ("hier", "2024-11-28", "2024-11-28"),
        ("avant-hier", "2024-11-27", "2024-11-27"),
        ("mercredi 27 novembre 2024", "2024-11-27", "2024-11-27"),
        ("le 27 novembre", "2024-11-27", "2024-11-27"),
        ("du 26 au 28 novembre", "2024-11-26", "2024-11-28"),
        ("dans la nuit de mardi à mercredi", "2024-11-26", "2024-11-27"),
        ("il y a trois jours", "2024-11-26", "2024-11-26"),
        ("au cours des trois derniers jours", "2024-11-27", "2024-11-29"),
        ("la semaine dernière", "2024-11-22", "2024-11-28"),
        ("فجر الأربعاء", "2024-11-27", "2024-11-27"),
        ("يوم الخميس", "2024-11-28", "2024-11-28"),
        ("أمس", "2024-11-28", "2024-11-28"),
        ("أول أمس", "2024-11-27", "2024-11-27"),
        ("منذ الأربعاء", "2024-11-27", "2024-11-29"),
        ("27 تشرين الثاني/نوفمبر 2024", "2024-11-27", "2024-11-27"),
        ("٢٧ نوفمبر", "2024-11-27", "2024-11-27"),
        ("الأسبوع الماضي", "2024-11-22", "2024-11-28"),
        ("samedi 7 sept.", "2024-09-07", "2024-09-07"),
        ("le 3 févr. 2024", "2024-02-03", "2024-02-03"),
        ("27 mai 2024", "2024-05-27", "2024-05-27"),
        ("vendredi dernier", "2024-11-22", "2024-11-22"),
        ("الجمعة الماضية", "2024-11-22", "2024-11-22"),
        ("les 26 et 27 novembre", "2024-11-26", "2024-11-27"),
        ("entre le 20 et le 25 novembre", "2024-11-20", "2024-11-25"),
        ("بين 26 و28 نوفمبر", "2024-11-26", "2024-11-28"),
        ("من 26 إلى 28 نوفمبر", "2024-11-26", "2024-11-28"),
        ("أمس الأول", "2024-11-27", "2024-11-27"),
        ("ce soir", "2024-11-29", "2024-11-29"),
    ],
)
def test_french_and_arabic_expressions_resolve_like_english(written: str, start: str, end: str) -> None:
    got = resolve_date(written, dt.date(2024, 11, 29))
    assert (str(got.start), str(got.end)) == (start, end), got.note


@pytest.mark.parametrize(
    ("written", "start"),
    [
        ("Sept. 27", "2024-09-27"),
        ("UN talks on 3 June", "2024-06-03"),
        ("Mars 2024", "2024-01-01"),
        ("11 Sept in LA", "2024-09-11"),
        ("on 11 Sept in Les Cayes", "2024-09-11"),
        ("at dawn on 3 Sept, Des Moines", "2024-09-03"),
    ],
)
def test_english_words_that_look_french_are_read_as_english(written: str, start: str) -> None:
    # "sept" is seven in French and "un" is one; neither is rewritten in an English expression
    assert str(resolve_date(written, dt.date(2024, 11, 29)).start) == start


@pytest.mark.parametrize("written", ["demain", "غداً", "mardi prochain", "الثلاثاء المقبل", "في ذلك اليوم", "في اليوم التالي", "cette semaine-là"])
def test_future_and_story_relative_foreign_expressions_stay_unresolved(written: str) -> None:
    # "the next day" or "that week" count from the story's own time, which only the reader knows
    assert resolve_date(written, dt.date(2024, 11, 29)).start is None


def test_foreign_relative_dates_need_a_publication_date() -> None:
    assert resolve_date("hier", None).start is None
