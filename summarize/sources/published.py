"""A publication date as a header, a JSON record or a page's metadata writes it: read to the day, month or year it names, never guessed.

Plain ISO dates and datetimes are read as they are. Other common forms ('28 November 2024',
'Nov 28, 2024 10:30 GMT', 'Thu, 28 Nov 2024 10:30:00 +0000', '28/11/2024', '2024/11/28',
'2023-10', 'October 2023', '2023') are read too, with a note in the source's warnings. A
parenthetical ('2023-10 (from URL)') is a note: it is set aside for reading and kept in the
value as written. What cannot be read for sure ('unknown', 'yesterday', '03/04/2024', which is
March or April depending on the writer's country) leaves the date unknown, with a warning: the
article is still read, and its relative dates stay unresolved.

dateutil reads the written-out forms; it fills any part the text lacks from a default date, so
it is run with two different defaults and a part counts as written only when both runs agree
(and a year only when it is written in four digits). No day or year is ever invented.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from dateutil import parser as dateutil_parser

Precision = Literal["day", "month", "year", "unknown"]

__all__ = ["Precision", "Published", "read_published"]


@dataclass(frozen=True)
class Published:
    """What a publication date field says: ``date`` only to the day; ``period`` 'YYYY-MM' or 'YYYY' for a month or a year."""

    date: dt.date | None = None
    precision: Precision | None = None  # None: the source gives no publication date at all
    period: str | None = None
    as_written: str | None = None  # kept whenever the value was not a plain ISO date
    warnings: tuple[str, ...] = ()


_NOTE = re.compile(r"\s*[(\[]([^()\[\]]*)[)\]]")
_ISO = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[T ]\d{1,2}:\d{2}.*)?")
_YEAR = re.compile(r"(\d{4})")
_YEAR_MONTH = re.compile(r"(\d{4})[-/.](\d{1,2})")
_MONTH_YEAR = re.compile(r"(\d{1,2})[-/.](\d{4})")
_TIME = r"(?:,?\s*T?\s*\d{1,2}[:.h]\d{2}\b.*)?"  # a time (and zone) after a numeric date is allowed and ignored
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME)
_XYD = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{4})" + _TIME)
# Numbers joined by slashes or dots that the forms above did not take ('28/11/24'): dateutil would guess.
_NUMERIC = re.compile(r"\d+\s*[/.]\s*\d+")
_WORD = re.compile(r"[^\W\d_]+")
_FOUR_DIGITS = re.compile(r"(?<![\d+:-])\d{4}(?!\d)")  # years, not zone offsets ('+0000') or times
_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_FRENCH_NAMES = (
    "janvier", "février|fevrier", "mars", "avril", "mai", "juin", "juillet", "août|aout", "septembre", "octobre", "novembre", "décembre|decembre",
    "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche",
)  # fmt: skip
_FRENCH = {fr: en for names, en in zip(_FRENCH_NAMES, _MONTH_NAMES + _WEEKDAY_NAMES, strict=True) for fr in names.split("|")}
# Two defaults for the parts dateutil does not find: leap years (for 29 February), and days 1 and 15,
# which a weekday name ("Thursday") moves forward by under a week, so the two runs never meet.
_DEFAULTS = (dt.datetime(2000, 1, 1), dt.datetime(1996, 7, 15))
_INFO = dateutil_parser.parserinfo()
_UNRESOLVED = "the publication date is unknown, so relative dates in the text stay unresolved"


@dataclass(frozen=True)
class _Reading:
    precision: Precision
    date: dt.date | None = None
    period: str | None = None
    why: str = ""  # for 'unknown': what the value lacks; for a date: a remark on it


def read_published(value: str | None, *, label: str = "published") -> Published:
    """Read a publication date field (``label`` names it in warnings); never raises."""
    if value is None or not (raw := " ".join(value.split())):
        return Published()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw) and (day := _iso(raw)):
        return Published(day, "day")  # the one form kept without a word or a copy
    notes = [n.strip() for n in _NOTE.findall(raw) if n.strip()]
    core = _NOTE.sub(" ", raw).strip(" ,;:-")
    reading = _read(core)
    shown = f"{label}: {raw!r}"
    noted = f" (note: {'; '.join(repr(n) for n in notes)})" if notes else ""
    if reading.precision == "unknown":
        warning = f"{shown} {reading.why or 'is not a date'}; {_UNRESOLVED}"
    elif reading.precision == "day":
        is_iso = _ISO.fullmatch(core) is not None and _plain_iso(core)
        warning = "" if is_iso and not notes else f"{shown} read as {reading.date}{noted}{reading.why}"
        return Published(reading.date, "day", None, raw, (warning,) if warning else ())
    else:
        what = "month" if reading.precision == "month" else "year"
        warning = f"{shown} gives only the {what} of publication ({reading.period}){noted}; relative dates in the text stay unresolved"
    return Published(None, reading.precision, reading.period, raw, (warning,))


def _iso(text: str) -> dt.date | None:
    match = _ISO.fullmatch(text)
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match[1])
    except ValueError:
        return None


def _plain_iso(text: str) -> bool:
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _read(core: str) -> _Reading:
    if not core:
        return _Reading("unknown")
    if _ISO.fullmatch(core):
        day = _iso(core)
        return _Reading("day", day) if day else _Reading("unknown", why="names a day that does not exist")
    if _YEAR.fullmatch(core):
        return _Reading("year", period=core) if int(core) > 0 else _Reading("unknown")
    if (m := _YEAR_MONTH.fullmatch(core)) or (m := _MONTH_YEAR.fullmatch(core)):
        year, month = (int(m[1]), int(m[2])) if len(m[1]) == 4 else (int(m[2]), int(m[1]))
        return _Reading("month", period=f"{year:04d}-{month:02d}") if 1 <= month <= 12 and year > 0 else _Reading("unknown", why="names no month")
    if m := _YMD.fullmatch(core):
        return _day(int(m[1]), int(m[3]), int(m[4]))
    if m := _XYD.fullmatch(core):
        return _numeric(int(m[1]), int(m[3]), int(m[4]))
    if _NUMERIC.search(core):
        return _Reading("unknown", why="is a numeric form that cannot be read for sure (a two-digit year, or an order of parts not known)")
    return _written_out(core)


def _day(year: int, month: int, day: int) -> _Reading:
    try:
        return _Reading("day", dt.date(year, month, day))
    except ValueError:
        return _Reading("unknown", why="names a day that does not exist")


def _numeric(a: int, b: int, year: int) -> _Reading:
    """'28/11/2024' (day first) or '11/28/2024' (month first): read only when one part is over 12, or both are equal."""
    if a <= 12 and b <= 12 and a != b:
        return _Reading("unknown", why=f"could be day/month or month/day ({a} {_MONTH_NAMES[b - 1]} or {b} {_MONTH_NAMES[a - 1]} {year}), so it is not read")
    return _day(year, b, a) if a > 12 or a == b else _day(year, a, b)


def _written_out(core: str) -> _Reading:
    """'28 November 2024', 'Nov 28, 2024 10:30 GMT', 'Thu, 28 Nov 2024 10:30:00 +0000', 'October 2023', via dateutil."""
    text = _WORD.sub(lambda w: _FRENCH.get(w[0].casefold(), w[0]), core).replace("1er ", "1 ")
    words = [w.casefold() for w in _WORD.findall(text)]
    if len({n for w in words if (n := _INFO.month(w)) is not None}) > 1 or len(_FOUR_DIGITS.findall(text)) > 1:
        return _Reading("unknown", why="names more than one date")
    runs: list[dt.datetime] = []
    for default in _DEFAULTS:
        try:
            when, skipped = dateutil_parser.parse(text, default=default, fuzzy_with_tokens=True, ignoretz=True)
        except (ValueError, OverflowError):
            return _Reading("unknown")
        if any(ch.isdigit() for token in skipped for ch in token):
            return _Reading("unknown", why="has numbers that are not part of a date")
        runs.append(when)
    first, second = runs
    has_year = first.year == second.year and re.search(rf"(?<!\d){first.year:04d}(?!\d)", text) is not None
    has_month, has_day = first.month == second.month, first.day == second.day
    if not has_year:
        return _Reading("unknown", why="has no year (written in four digits)" if has_month else "is not a date")
    if has_month and has_day:
        return _Reading("day", first.date(), why=_weekday_remark(words, first.date()))
    if has_month:
        return _Reading("month", period=f"{first.year:04d}-{first.month:02d}")
    return _Reading("year", period=f"{first.year:04d}") if not has_day else _Reading("unknown", why="has a day and a year but no month")


def _weekday_remark(words: list[str], day: dt.date) -> str:
    named = {n for w in words if (n := _INFO.weekday(w)) is not None}
    if named and day.weekday() not in named:
        shown = " and ".join(_WEEKDAY_NAMES[n] for n in sorted(named))
        return f"; it also says {shown}, but that day was a {day:%A}"
    return ""
