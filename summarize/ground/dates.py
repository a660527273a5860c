"""Turn a date expression copied from an article into a calendar span, never guessing.

The model copies ``date_as_written`` verbatim and is told never to compute dates; this
module does the arithmetic. Absolute dates that carry a year stand on their own. Anything
relative ("Wednesday", "yesterday", "over the last three days") or lacking a year resolves
only against the source's publication date; without one it stays unresolved, and the note
says why, so a reader can tell "no date" from "a date we refused to guess".
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from summarize.models.vocab import DatePrecision

__all__ = ["ResolvedDate", "resolve_date"]


@dataclass(frozen=True)
class ResolvedDate:
    start: dt.date | None
    end: dt.date | None
    precision: DatePrecision
    note: str


Rule = Callable[[str, str, dt.date | None], ResolvedDate | None]
Span = tuple[dt.date, dt.date, str]
Pair = tuple[dt.date, dt.date]
Precision = DatePrecision | None

_DAY = dt.timedelta(days=1)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_MONTHS = _FULL_MONTHS + "|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec"
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_WD = "|".join(_WEEKDAYS)
_NUM = r"\d{1,3}|" + "|".join(_NUMBER_WORDS)
_M1, _M2 = (rf"\b(?P<{g}>{_MONTHS})\b\.?" for g in ("m1", "m2"))
# Ordinal suffixes ("27th") are common in prose; the lookbehind stops "2024" yielding "24".
_D1, _D2 = (rf"(?<!\d)(?P<{g}>\d{{1,2}})(?:st|nd|rd|th)?\b" for g in ("d1", "d2"))
_OF = r"\s+(?:of\s+)?"
_SEP = r"\s*(?:-|to|and|until|till|through)\s*"
_RANGES = [  # first mention and second mention of a span of days; ranges must be tried before single days
    rf"{_D1}{_OF}{_M1}{_SEP}{_D2}{_OF}{_M2}",
    rf"{_M1}\s+{_D1}{_SEP}{_M2}\s+{_D2}",
    rf"{_D1}{_SEP}{_D2}{_OF}{_M1}",
    rf"{_M1}\s+{_D1}{_SEP}{_D2}",
]
_SINGLES = [rf"{_D1}{_OF}{_M1}", rf"{_M1}\s+{_D1}"]
_Y = r"\s+(?P<y>\d{4})(?!\d)"
_WITH_YEAR = [re.compile(p + _Y) for p in _RANGES]
_DAYS_WITH_YEAR = [re.compile(p + _Y) for p in _SINGLES]
_DAYS_WITH_YEAR.append(re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d1>\d{1,2})(?!\d)"))
_NO_YEAR = [re.compile(p + r"(?![\d:])") for p in _RANGES + _SINGLES]
_SLASH = re.compile(r"(?<!\d)(\d{1,2})/(\d{1,2})/(\d{4})(?!\d)")
_ISO_MONTH = re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<mo>\d{1,2})(?![\d-])")
_MONTH_YEAR = re.compile(_M1 + _Y)
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d{2})(?!\d)")
_WEEKDAY = re.compile(rf"\b(?:(?P<q>last|past|previous|this)\s+)?(?P<wd>{_WD})\b")
_RANGE_JOIN = re.compile(r"\s*(?:-|to|until|till|through|thru)\s*")
_NO_SUCH_DAY = "names a day that does not exist in the calendar"


def _month_no(name: str) -> int:
    return [n[:3] for n in _FULL_MONTHS.split("|")].index(name[:3]) + 1


def _precision(start: dt.date, end: dt.date) -> DatePrecision:
    days = (end - start).days + 1
    if days <= 6:
        return "day" if days <= 1 else "2-6_days"
    if days <= 31:
        return "week" if days == 7 else "month"
    return "year" if days <= 366 else "unknown"


def _unknown(note: str) -> ResolvedDate:
    return ResolvedDate(None, None, "unknown", note)


def _span(start: dt.date, end: dt.date, note: str, precision: Precision = None) -> ResolvedDate:
    return ResolvedDate(start, end, precision or _precision(start, end), note)


def _month_span(year: int, month: int) -> Pair:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _on_or_before(day: dt.date, weekday: int, *, strict: bool = False) -> dt.date:
    back = (day.weekday() - weekday) % 7
    return day - dt.timedelta(days=7 if strict and back == 0 else back)


def _ends(m: re.Match[str], year: int) -> Pair:
    """First and last day a day/month match names, the last one falling in ``year``."""
    g = m.groupdict()
    m1 = int(g["mo"]) if g.get("mo") else _month_no(g["m1"])
    m2 = _month_no(g["m2"]) if g.get("m2") else m1
    # "30 December - 2 January 2025" starts in the year before the one written.
    a = dt.date(year - 1 if m2 < m1 else year, m1, int(g["d1"]))
    b = dt.date(year, m2, int(g.get("d2") or g["d1"]))
    return min(a, b), max(a, b)


def _weekday_mismatch(text: str, start: dt.date, end: dt.date) -> str:
    # An article saying "Tuesday, 27 November" when the 27th was a Wednesday is worth flagging.
    named = {m["wd"] for m in _WEEKDAY.finditer(text)}
    if start == end and len(named) == 1 and (wd := named.pop()) != _WEEKDAYS[start.weekday()]:
        return f" (the text also says '{wd.title()}', which does not match)"
    return ""


def _absolute(span: Pair, text: str, shown: str, published: dt.date | None, precision: Precision = None) -> ResolvedDate:
    note = f"'{shown}' read as an absolute date{_weekday_mismatch(text, *span)}"
    if published is not None and span[0] > published:
        note += "; it is after the publication date"
    return _span(*span, note + ".", precision)


def _with_year(text: str, shown: str, published: dt.date | None) -> ResolvedDate | None:
    """Dates carrying their own year: no publication date needed."""
    try:
        for pat in _WITH_YEAR:
            if m := pat.search(text):
                return _absolute(_ends(m, int(m["y"])), text, shown, published)
        days = [d for pat in _DAYS_WITH_YEAR for m in pat.finditer(text) for d in _ends(m, int(m["y"]))]
        if days:
            return _absolute((min(days), max(days)), text, shown, published)
        if m := _SLASH.search(text):
            a, b, y = int(m[1]), int(m[2]), int(m[3])
            # 03/04/2024 is March or April depending on the writer's country: refuse rather than guess.
            if a <= 12 and b <= 12 and a != b:
                return _unknown(f"'{shown}' could be day/month or month/day; left unresolved.")
            day = dt.date(y, b, a) if a > 12 or a == b else dt.date(y, a, b)
            return _absolute((day, day), text, shown, published)
        if (m := _ISO_MONTH.search(text)) or (m := _MONTH_YEAR.search(text)):
            month = int(m["mo"]) if m.groupdict().get("mo") else _month_no(m["m1"])
            return _absolute(_month_span(int(m["y"]), month), text, shown, published, "month")
    except ValueError:
        return _unknown(f"'{shown}' {_NO_SUCH_DAY}.")
    if m := _YEAR.search(text):
        y = int(m[1])
        return _absolute((dt.date(y, 1, 1), dt.date(y, 12, 31)), text, shown, published, "year")
    return None


def _without_year(text: str, shown: str, published: dt.date | None) -> ResolvedDate | None:
    """'on 27 November', '27-29 November': the year comes from the publication date."""
    m = next((m for pat in _NO_YEAR if (m := pat.search(text))), None)
    if m is None:
        return None
    if published is None:
        return _unknown(f"'{shown}' has no year and the source has no publication date; left unresolved.")
    # Walk back so "30 December" read in January lands last year and 29 February finds a leap year.
    for year in range(published.year, published.year - 9, -1):
        try:
            start, end = _ends(m, year)
        except ValueError:
            continue
        if end <= published:
            note = f"'{shown}' given the year {end.year}, the latest not after publication on {published}"
            return _span(start, end, note + _weekday_mismatch(text, start, end) + ".")
    return _unknown(f"'{shown}' {_NO_SUCH_DAY}.")


def _relative(pattern: str, compute: Callable[[re.Match[str], dt.date], Span]) -> Rule:
    regex = re.compile(pattern)

    def rule(text: str, shown: str, published: dt.date | None) -> ResolvedDate | None:
        if not (m := regex.search(text)):
            return None
        if published is None:
            return _unknown(f"'{shown}' is relative and the source has no publication date; left unresolved.")
        start, end, how = compute(m, published)
        if end > published or start > end:  # cannot happen by construction; refuse rather than emit it
            return _unknown(f"'{shown}' would resolve after publication; left unresolved.")
        return _span(start, end, f"'{shown}' read as {how}, counted from publication on {published}.")

    return rule


def _fixed(note: str, pattern: str) -> Rule:
    """Expressions that stay unresolved whatever the publication date: future or vague."""
    regex = re.compile(pattern)

    def rule(text: str, shown: str, published: dt.date | None) -> ResolvedDate | None:
        return _unknown(f"'{shown}' {note}; left unresolved.") if regex.search(text) else None

    return rule


def _count(raw: str) -> int:
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


def _last_n(m: re.Match[str], p: dt.date) -> Span:
    count, unit = _count(m[1] or "1"), m[2].rstrip("s")
    # "past 48 hours" covers two calendar days.
    n = -(-count // 24) if unit == "hour" else count * {"day": 1, "week": 7, "fortnight": 14, "month": 30}[unit]
    n = max(n, 1)
    return p - dt.timedelta(days=n - 1), p, f"the {n} day(s) up to and including publication"


def _days_ago(m: re.Match[str], p: dt.date) -> Span:
    day = p - _count(m[1]) * _DAY
    return day, day, f"{_count(m[1])} day(s) before publication"


def _weekday_last_week(m: re.Match[str], p: dt.date) -> Span:
    day = p - dt.timedelta(days=p.weekday() + 7 - _WEEKDAYS.index(m[1]))
    return day, day, "that weekday of the week before publication"


def _last_month(m: re.Match[str], p: dt.date) -> Span:
    before = p.replace(day=1) - _DAY
    return *_month_span(before.year, before.month), "the calendar month before publication"


def _weekend(m: re.Match[str], p: dt.date) -> Span:
    sat = _on_or_before(p, 5)
    if m[1] == "last" and p.weekday() >= 5:  # said on a weekend, "last weekend" means the one before
        sat -= 7 * _DAY
    return sat, min(sat + _DAY, p), "the most recent weekend"


def _month_only(m: re.Match[str], p: dt.date) -> Span:
    month = _month_no(m["m"])
    start, end = _month_span(p.year if month <= p.month else p.year - 1, month)
    return start, min(end, p), f"{start:%B %Y}, the latest not after publication"


def _weekdays(m: re.Match[str], p: dt.date) -> Span:
    hits: list[re.Match[str]] = []
    for hit in _WEEKDAY.finditer(m.string):
        if all(h["wd"] != hit["wd"] for h in hits):
            hits.append(hit)

    def resolve(hit: re.Match[str], anchor: dt.date) -> dt.date:
        return _on_or_before(anchor, _WEEKDAYS.index(hit["wd"]), strict=hit["q"] in ("last", "past", "previous"))

    if len(hits) == 1:
        qual = "on or before" if hits[0]["q"] in (None, "this") else "before"
        day = resolve(hits[0], p)
        return day, day, f"the most recent {hits[0]['wd'].title()} {qual} publication"
    first, second = hits[0], hits[1]
    # "from Friday to Monday" is one run of days: anchor the first name on the second.
    if len(hits) == 2 and _RANGE_JOIN.fullmatch(m.string[first.end() : second.start()]):
        end = resolve(second, p)
        return _on_or_before(end, _WEEKDAYS.index(first["wd"])), end, "a run of days ending by publication"
    days = [resolve(h, p) for h in hits]
    return min(days), max(days), "the span between the most recent of the named weekdays"


def _since(text: str, shown: str, published: dt.date | None) -> ResolvedDate | None:
    if not (m := re.search(r"\bsince\s+(.+)$", text)):
        return None
    if published is None:
        return _unknown(f"'{shown}' is relative and the source has no publication date; left unresolved.")
    origin = resolve_date(m[1], published)
    if origin.start is None or origin.start > published:
        return _unknown(f"could not resolve where '{shown}' starts; left unresolved.")
    return _span(origin.start, published, f"'{shown}' read as {origin.start} up to publication on {published}.")


def _back(days: int, how: str, *, through: int | None = None) -> Callable[[re.Match[str], dt.date], Span]:
    """A span from ``days`` before publication to ``through`` days before it (default: the same day)."""
    last = days if through is None else through
    return lambda m, p: (p - days * _DAY, p - last * _DAY, how)


_FUTURE = rf"\b(?:tomorrow|next\s+(?:week|month|year|weekend|{_WD})|(?:the\s+)?coming\s+(?:days|weeks|hours)"
_FUTURE += r"|later\s+this\s+(?:week|month|year))\b"
_MONTH_ALONE = r"(?:\b(?:in|during|throughout|from|early|late|mid)[\s-]+(?:(?:early|late|mid)[\s-]+)?|^)"
_MONTH_ALONE += rf"(?P<m>{_FULL_MONTHS})\b"

# Order matters: future and "since" wrap other expressions; dates with a year beat weekday names
# ("Wednesday, 27 November 2024"); specific phrases beat the bare words inside them.
_RULES: list[Rule] = [
    _fixed("refers to a time after publication", _FUTURE),
    _since,
    _with_year,
    _without_year,
    _relative(rf"\b(?:last|past|previous|preceding)\s+({_NUM})\s+(hours?|days?|weeks?)\b", _last_n),
    _relative(r"\b(?:the\s+(?:past|last|previous)|past)\s+()(day|week|fortnight|month)\b", _last_n),
    _relative(rf"\b({_NUM})\s+days?\s+ago\b", _days_ago),
    _relative(r"\bday\s+before\s+yesterday\b", _back(2, "two days before publication")),
    _relative(r"\b(?:yesterday|last\s+night)\b", _back(1, "the day before publication")),
    # "Overnight" can fall either side of midnight before publication: keep both days.
    _relative(r"\bovernight\b", _back(1, "the night before publication", through=0)),
    _relative(r"\b(?:today|tonight|this\s+(?:morning|afternoon|evening))\b", _back(0, "the publication day")),
    _relative(rf"\b({_WD})\s+(?:of\s+)?last\s+week\b", _weekday_last_week),
    _relative(r"\blast\s+week\b", _back(7, "the seven days before publication", through=1)),
    _relative(r"\b(?:earlier\s+)?this\s+week\b", lambda m, p: (p - p.weekday() * _DAY, p, "the week so far")),
    _relative(r"\b(?:(last|this|the)\s+)?weekend\b", _weekend),
    _relative(r"\b(?:earlier\s+)?this\s+month\b", lambda m, p: (p.replace(day=1), p, "the month so far")),
    _relative(r"\blast\s+month\b", _last_month),
    _relative(r"\b(?:earlier\s+)?this\s+year\b", lambda m, p: (dt.date(p.year, 1, 1), p, "the year so far")),
    _relative(r"\blast\s+year\b", lambda m, p: (dt.date(p.year - 1, 1, 1), dt.date(p.year - 1, 12, 31), "last year")),
    _relative(_WEEKDAY.pattern, _weekdays),
    _relative(_MONTH_ALONE, _month_only),
    _fixed("is too vague to place on a calendar", r"\b(?:recent(?:ly)?|lately|(?:last|past)\s+few|earlier|ago)\b"),
]


# --- French and Arabic: the words that carry a date, rewritten into the English the rules read ---------

_MONTHS_EN = _FULL_MONTHS.split("|")
_FR_MONTHS = (
    "janvier|janv", "février|fevrier|févr|fevr", "mars", "avril|avr", "mai", "juin", "juillet|juil", "août|aout",
    r"septembre|sept(?=\.?\s+\d{4}|\.?$)|sept(?=\.)", "octobre|oct", "novembre|nov", "décembre|decembre|déc|dec",
)  # "sept" is September before a year, a full stop or the end ("le 3 sept. 2024"), else seven
_FR_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_FR_WD = "|".join(_FR_WEEKDAYS)
_FR_NUMBERS = ("un|une", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze")
_FR_PHRASES = (  # longest first: "avant-hier" before "hier"
    (r"\S+-là", "earlier"),  # "cette semaine-là", "ce jour-là": a time named by the story, not the calendar
    (rf"({_FR_WD})\s+(?:dernier|passé)", r"last \1"),
    (rf"({_FR_WD})\s+prochain", r"next \1"),
    (r"avant[- ]hier", "day before yesterday"),
    (r"hier\s+soir", "last night"),
    (r"hier", "yesterday"),
    (r"aujourd[’']hui|ce\s+matin|cet\s+après-midi|ce\s+soir", "today"),
    (r"la\s+semaine\s+(?:dernière|passée)", "last week"),
    (r"le\s+mois\s+(?:dernier|passé)", "last month"),
    (r"l[’']année\s+(?:dernière|passée)", "last year"),
    (r"le\s+week-end\s+dernier", "last weekend"),
    (r"ce\s+week-end", "this weekend"),
    (r"cette\s+semaine", "this week"),
    (r"il\s+y\s+a\s+(\w+)\s+jours", r"\1 days ago"),
    (r"(?:au\s+cours\s+des|durant\s+les|pendant\s+les|ces)\s+(\w+)\s+derniers\s+jours", r"past \1 days"),
    (r"depuis", "since"),
    (r"(?:la\s+)?nuit\s+dernière", "last night"),
    (r"du\s+(\d{1,2})(?:er)?\s+au\s+(\d{1,2})", r"\1 to \2"),  # "du 26 au 28 novembre"
    (r"entre\s+(?:le\s+)?(\d{1,2})(?:er)?\s+et\s+(?:le\s+)?(\d{1,2})", r"\1 to \2"),  # "entre le 20 et le 25 novembre"
    (r"(\d{1,2})\s+et\s+(\d{1,2})", r"\1 and \2"),  # "les 26 et 27 novembre"
    (r"à|au", "to"),  # "de mardi à mercredi"
    (r"demain|la\s+semaine\s+prochaine", "tomorrow"),
    (r"mi-", "mid "),
    (r"en", "in"),  # "en novembre"
    (r"(\d{1,2})(?:er)?\s+(?=(?:" + "|".join(_FR_MONTHS) + r"))", r"\1 "),  # "1er novembre"
)
_AR_MONTHS = (
    ("يناير", "كانون الثاني"), ("فبراير", "شباط"), ("مارس", "آذار"), ("أبريل|ابريل", "نيسان"), ("مايو", "أيار|ايار"),
    ("يونيو", "حزيران"), ("يوليو", "تموز"), ("أغسطس|اغسطس", "آب"), ("سبتمبر", "أيلول|ايلول"), ("أكتوبر|اكتوبر", "تشرين الأول"),
    ("نوفمبر", "تشرين الثاني"), ("ديسمبر", "كانون الأول"),
)  # fmt: skip
_AR_WEEKDAYS = ("الاثنين|الإثنين", "الثلاثاء", "الأربعاء|الاربعاء", "الخميس", "الجمعة", "السبت", "الأحد|الاحد")
_AR_PHRASES = (
    (r"أول\s+(?:من\s+)?أمس|أمس\s+الأول", "day before yesterday"),
    (r"أمس|الأمس|البارحة", "yesterday"),
    (r"(?<!ذلك\s)(?<!هذا\s)(?:صباح\s+|مساء\s+)?اليوم(?!\s+التالي)", "today"),
    (r"(?:ذلك|هذا)\s+اليوم|اليوم\s+التالي", "earlier"),  # "that day", "the next day": the story's time, not the calendar's
    (r"الأسبوع\s+الماضي", "last week"),
    (r"الشهر\s+الماضي", "last month"),
    (r"العام\s+الماضي|السنة\s+الماضية", "last year"),
    (r"منذ", "since"),
    (r"غدا|غداً", "tomorrow"),
    (r"إلى|حتى", "to"),
)
_AR_LETTER = r"[\u0621-\u064a]"
_AR_PREFIX = r"(?:[وفبل]|يوم\s+)?"  # "and", "on", "by", "for" written onto the word, or "day of"


def _rules_fr() -> list[tuple[re.Pattern[str], str]]:
    words = [(rf"\b(?:{fr})(?:\.|(?!\w))", en) for fr, en in zip(_FR_MONTHS, _MONTHS_EN, strict=True)]
    words += [(rf"\b{fr}\b", en) for fr, en in zip(_FR_WEEKDAYS, _WEEKDAYS, strict=True)]
    words += [(rf"\b(?:{fr})\b", en) for fr, en in zip(_FR_NUMBERS, list(_NUMBER_WORDS)[2:], strict=True)]
    return [(re.compile(rf"\b(?:{p})\b" if not p.startswith(("(", r"\S")) else p), f" {en} ") for p, en in _FR_PHRASES] + [
        (re.compile(p), f" {en} ") for p, en in words
    ]


def _rules_ar() -> list[tuple[re.Pattern[str], str]]:
    wd = [(ar, en) for ar, en in zip(_AR_WEEKDAYS, _WEEKDAYS, strict=True)]
    pairs = [(rf"(?:{ar})\s+(?:الماضي|الماضية)", f"last {en}") for ar, en in wd]
    pairs += [(rf"(?:{ar})\s+(?:المقبل|المقبلة|القادم|القادمة)", f"next {en}") for ar, en in wd]
    pairs += [(f"{a}|{b}", en) for (a, b), en in zip(_AR_MONTHS, _MONTHS_EN, strict=True)]
    pairs += wd + list(_AR_PHRASES)
    rules = [(re.compile(rf"(?<!{_AR_LETTER}){_AR_PREFIX}(?:{p})(?!{_AR_LETTER})"), f" {en} ") for p, en in pairs]
    rules.append((re.compile(r"(?<!\w)من\s+(?=\d)"), " "))  # "من 26 إلى 28"
    rules.append((re.compile(r"(?<!\w)و(?=\d)"), " and "))  # "بين 26 و28"
    rules.append((re.compile(r"(?<!\w)بين\s+(?=\d)"), " "))
    return rules


_FRENCH, _ARABIC = _rules_fr(), _rules_ar()
# French is read only when the expression has a word English never uses for a date: "sept" is seven
# in French and September in English, "un" is one and the UN, "le"/"la"/"des" start English names
# ("Les Cayes", "Des Moines"); "3 sept. 2024" alone is read as English, which gives the same day.
_LOOKS_FRENCH = re.compile(
    r"\b(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|janvier|janv|f[ée]vrier|f[ée]vr|avril|juin|juillet|juil|ao[uû]t"
    r"|septembre|octobre|novembre|d[ée]cembre|d[ée]c|hier|aujourd|depuis|derni[eè]re?s?|semaine|jours|demain|nuit|mois|ann[ée]e"
    r"|ce|cet|cette|soir|matin|prochaine?|entre)\b|\d\s+(?:mai|mars)\b|\bmi-"
)
_SAME_MONTH_TWICE = re.compile(rf"\b({_FULL_MONTHS})\s*/\s*\1\b")  # "تشرين الثاني/نوفمبر" names November twice
_EASTERN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

def _in_english(text: str) -> str:
    """French and Arabic date words rewritten as the English the rules read; other text is left alone."""
    text = text.translate(_EASTERN_DIGITS)
    rules = (_FRENCH if _LOOKS_FRENCH.search(text) else []) + (_ARABIC if re.search(_AR_LETTER, text) else [])
    if not rules:
        return text
    for pattern, english in rules:
        text = pattern.sub(english, text)
    return _SAME_MONTH_TWICE.sub(r"\1", " ".join(text.split()))


def resolve_date(as_written: str | None, published: dt.date | None, period: str | None = None) -> ResolvedDate:
    """Resolve ``as_written`` to a span; relative expressions only against ``published``.

    ``period`` ('YYYY-MM' or 'YYYY', ``Source.published_period``) is used only without ``published``: a
    day and month with no year ('on 27 November') then takes the year every day of that period gives it,
    and stays unresolved when they disagree; relative expressions stay unresolved, the note saying why.
    English, French and Arabic expressions are read (the latter two through ``_in_english``)."""
    if as_written is None or not as_written.strip():
        return _unknown("no date given")
    shown = " ".join(as_written.split())
    if len(shown) > 80:
        shown = shown[:77] + "..."
    text = " ".join(as_written.casefold().replace("\u2013", "-").replace("\u2014", "-").replace(",", " ").split())
    text = _in_english(text)
    for rule in _RULES:
        if (result := rule(text, shown, published)) is not None:
            span = _period_span(period) if published is None and result.start is None else None
            return result if span is None else _within_period(rule, text, shown, span, period or "", result)
    return _unknown(f"could not read a date from '{shown}'")


def _period_span(period: str | None) -> Pair | None:
    try:
        if period and re.fullmatch(r"\d{4}-\d{2}", period):
            return _month_span(int(period[:4]), int(period[5:]))
        if period and re.fullmatch(r"\d{4}", period):
            return dt.date(int(period), 1, 1), dt.date(int(period), 12, 31)
    except ValueError:
        pass
    return None


def _within_period(rule: Rule, text: str, shown: str, span: Pair, period: str, result: ResolvedDate) -> ResolvedDate:
    """Publication known only to a month or a year: a date without a year resolves when it does for every day of it."""
    what = "month" if len(period) == 7 else "year"
    if rule is _without_year:
        early, late = rule(text, shown, span[0]), rule(text, shown, span[1])
        if early is None or late is None or early.start is None or early.end is None:
            return early or result  # a day that does not exist
        if (early.start, early.end) == (late.start, late.end):
            note = f"'{shown}' given the year {early.end.year}, the latest not after publication in {period} (only the {what} is known)"
            return _span(early.start, early.end, note + _weekday_mismatch(text, early.start, early.end) + ".")
        return _unknown(f"'{shown}' has no year, and publication known only to the {what} ({period}) leaves two years possible; left unresolved.")
    if "no publication date" not in result.note:
        return result
    return _unknown(f"{result.note} The publication date is known only to the {what} ({period}).")
