"""Reading numbers in text: digit runs with any grouping, English number words, French and Arabic number words, vague words."""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from summarize.ground.normalise import THOUSANDS_MARK, normalise_text, number_text

_SMALL = {
    w: i
    for i, w in enumerate(
        [
            *("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"),
            *("eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"),
        ]
    )
}
_TENS = {w: 10 * i for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"], 2)}
_SCALES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_MULT = {"hundred": 100, "dozen": 12, **_SCALES}
_NUMBER_WORDS = {*_SMALL, *_TENS, *_MULT}
# Separators that may sit inside a written number: thousands marks (the Arabic thousands sign, and
# THOUSANDS_MARK, which ``number_text`` puts where spaces of any width group digits: "1 200",
# "1\u00a0200") and decimal points. Other spaces separate numbers: "in 2023 150 people" is two.
_DIGIT_RUN = re.compile(rf"\d+(?:[,.'{THOUSANDS_MARK}\u066b\u066c]\d+)*")
_SCALE_AFTER = re.compile(r"\s*(hundred|thousand|million|billion|dozen)(?![^\W\d_])", re.IGNORECASE)
_DIGIT_SCALED = re.compile(f"{_DIGIT_RUN.pattern}(?:{_SCALE_AFTER.pattern})?", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+")
_JOINER = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
# Any word that can start or carry a spelled-out number ("a"/"an" alone never make one): text without one has none.
_ANY_NUMBER_WORD = re.compile(r"(?<![^\W\d_])(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")(?![^\W\d_])", re.IGNORECASE)
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f]")


def _ascii_digits(s: str) -> str:
    # int() accepts any Unicode digit, but Fraction and our separators want ASCII.
    if s.isascii():
        return s
    return _NON_ASCII_DIGIT.sub(lambda m: str(unicodedata.decimal(m[0])) if m[0].isdecimal() else m[0], s)


def _grouped(groups: list[str], seps: list[str]) -> bool:
    """True for thousands grouping: '1,200,000', not '12,00' or '1,200.000'."""
    return len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]) and len(set(seps)) == 1


def _digit_run_values(run: str, scale: int | None) -> list[Fraction]:
    """Interpret '1,200', '1.200', '1 200', '1,200.5', '1.5' (run already ASCII digits)."""
    groups = re.split(r"[^\d]", run)
    seps = re.findall(r"[^\d]", run)
    if not seps:
        return [Fraction(run)]
    # "1.250 million" is English for 1,250,000: before a scale word a lone dot is decimal.
    lone_dot = seps in (["."], ["\u066b"])
    if _grouped(groups, seps) and not (lone_dot and scale is not None) and seps[0] != "\u066b":
        return [Fraction("".join(groups))]
    if seps[-1] in ".,\u066b":
        head, head_seps = groups[:-1], seps[:-1]
        if not head_seps or (_grouped(head, head_seps) and seps[-1] not in head_seps):
            return [Fraction("".join(head)) + Fraction(f"0.{groups[-1]}")]
    # Not one number after all ("1,2,3"): read each group on its own.
    return [Fraction(g) for g in groups]


def _digit_numbers(s: str) -> set[int]:
    found: set[int] = set()
    for m in _DIGIT_RUN.finditer(s):
        scale_m = _SCALE_AFTER.match(s, m.end())
        scale = _MULT[scale_m.group(1).casefold()] if scale_m else None
        for read in _digit_run_values(m.group(), scale):
            v = read * (scale or 1)
            if v.denominator == 1:  # '1.5' alone is no count of people; '1.5 million' is
                found.add(int(v))
    return found


class _WordNumber:
    """Accumulates one spelled-out number, e.g. 'one hundred and fifty-three'."""

    def __init__(self) -> None:
        self.total = 0
        self.current = 0
        self.last: str | None = None  # kind of the previous token
        self.started = False

    def accepts(self, word: str) -> bool:
        last = self.last
        if not self.started:
            return word in _NUMBER_WORDS or word in ("a", "an")
        if last == "article":
            return word in _MULT
        if word == "and":
            return last in ("hundred", "scale")
        if word in _SMALL:
            small_ok = last in ("hundred", "scale", "and")
            return small_ok or (last == "tens" and 0 < _SMALL[word] < 10)
        if word in _TENS:
            return last in ("hundred", "scale", "and")
        if word in ("hundred", "dozen"):
            return last in ("unit", "teen")
        if word in _SCALES:
            return last in ("unit", "teen", "tens", "hundred")
        return False

    def add(self, word: str) -> None:
        self.started = True
        if word in ("a", "an"):
            self.current, self.last = 1, "article"
        elif word == "and":
            self.last = "and"
        elif word in _SMALL:
            self.current += _SMALL[word]
            self.last = "unit" if 0 < _SMALL[word] < 10 else "teen"
        elif word in _TENS:
            self.current += _TENS[word]
            self.last = "tens"
        elif word in ("hundred", "dozen"):
            self.current = (self.current or 1) * _MULT[word]
            self.last = "hundred"
        else:
            self.total += (self.current or 1) * _SCALES[word]
            self.current, self.last = 0, "scale"

    def value(self) -> int | None:
        # "a" on its own, or a trailing "and", is not a number.
        if not self.started or self.last == "article":
            return None
        return self.total + self.current


def _word_numbers(s: str) -> set[int]:
    found: set[int] = set()
    if not _ANY_NUMBER_WORD.search(s):
        return found
    acc = _WordNumber()
    prev_end = 0
    for m in _WORD.finditer(s):
        word = m.group().casefold()
        joined = _JOINER.fullmatch(s, prev_end, m.start()) is not None
        if acc.started and (not joined or not acc.accepts(word)):
            if (v := acc.value()) is not None:
                found.add(v)
            acc = _WordNumber()
        if acc.accepts(word):
            acc.add(word)
        prev_end = m.end()
    if (v := acc.value()) is not None:
        found.add(v)
    return found


def numbers_in(s: str) -> set[int]:
    """All whole numbers stated in ``s``, in digits (any script) or English words."""
    # The aligner's normalisation for invisibles and spaces (``number_text``); no NFKC, which would
    # not tell a thousands mark from a space between two numbers.
    s = _ascii_digits(number_text(s))
    # The word pass must not read the "million" of "2 million" as a number of its own.
    words_only = _DIGIT_SCALED.sub(" # ", s)
    return _digit_numbers(s) | _word_numbers(words_only)


def number_appears(value: int, s: str) -> bool:
    """Whether a figure's quote states ``value``: digits in any script, English words, or French and
    Arabic number words (a quote stays in its source language)."""
    if value in numbers_in(s):
        return True
    if not (_AR_LETTER.search(s) or _FR_MARKERS.search(s.casefold())):
        return False  # English: "per cent" is not a hundred
    return value in foreign_word_numbers(_DIGIT_SCALED.sub(" # ", _ascii_digits(number_text(s))))


# French and Arabic number words, for checking figures quoted in those languages. Only for that:
# a briefing's own sentences are checked with ``numbers_in``, so "les deux camps" is not a count.
_FR_UNITS = [
    *("zéro", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix"),
    *("onze", "douze", "treize", "quatorze", "quinze", "seize", "dix-sept", "dix-huit", "dix-neuf"),
]
_FR_WORDS = {w: i for i, w in enumerate(_FR_UNITS)} | {"une": 1, "zero": 0}
_FR_TENS = {"vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50, "soixante": 60, "septante": 70, "huitante": 80}
_FR_TENS |= {"octante": 80, "nonante": 90}
_FR_SCALES = {"cent": 100, "cents": 100, "mille": 1000}
_FR_MARKERS = re.compile(r"[éèêàçùûôî]|\b(?:le|la|les|des|du|de|et|ont|sont|selon|dans|par|une|au|aux|morts|personnes)\b")
_AR_LETTER = re.compile(r"[\u0621-\u064a]")
_AR_UNITS = {
    **dict.fromkeys(("واحد", "واحدة"), 1), **dict.fromkeys(("اثنان", "اثنين", "اثنتان", "اثنتين"), 2),
    **dict.fromkeys(("ثلاثة", "ثلاث"), 3), **dict.fromkeys(("أربعة", "أربع", "اربعة", "اربع"), 4),
    **dict.fromkeys(("خمسة", "خمس"), 5), **dict.fromkeys(("ستة", "ست"), 6), **dict.fromkeys(("سبعة", "سبع"), 7),
    **dict.fromkeys(("ثمانية", "ثماني", "ثمان"), 8), **dict.fromkeys(("تسعة", "تسع"), 9), **dict.fromkeys(("عشرة", "عشر"), 10),
}  # fmt: skip
_AR_TENS = {
    **dict.fromkeys(("عشرون", "عشرين"), 20), **dict.fromkeys(("ثلاثون", "ثلاثين"), 30), **dict.fromkeys(("أربعون", "أربعين", "اربعين"), 40),
    **dict.fromkeys(("خمسون", "خمسين"), 50), **dict.fromkeys(("ستون", "ستين"), 60), **dict.fromkeys(("سبعون", "سبعين"), 70),
    **dict.fromkeys(("ثمانون", "ثمانين"), 80), **dict.fromkeys(("تسعون", "تسعين"), 90),
}  # fmt: skip
_AR_SCALES = {**dict.fromkeys(("مئة", "مائة"), 100), **dict.fromkeys(("ألف", "آلاف", "الف"), 1000), **dict.fromkeys(("مليون", "ملايين"), 1_000_000)}
_AR_WHOLE = {"مئتان": 200, "مئتين": 200, "مئتي": 200, "مائتان": 200, "مائتين": 200, "مائتي": 200, "ألفان": 2000, "ألفين": 2000}
_AR_WHOLE |= {f"{u}مئة": n * 100 for u, n in (("ثلاث", 3), ("أربع", 4), ("خمس", 5), ("ست", 6), ("سبع", 7), ("ثمان", 8), ("تسع", 9))}
_AR_WHOLE |= {f"{u}مائة": n * 100 for u, n in (("ثلاث", 3), ("أربع", 4), ("خمس", 5), ("ست", 6), ("سبع", 7), ("ثمان", 8), ("تسع", 9))}
_QUATRE_VINGT = re.compile(r"quatre-vingts?", re.IGNORECASE)  # 80, and the head of 90 ("quatre-vingt-dix")


def _foreign_value(word: str) -> tuple[int, str] | None:
    """(value, kind) of one French or Arabic number word; Arabic 'and' (و) may be written onto it."""
    w = word.casefold()
    for table, kind in ((_FR_WORDS, "unit"), (_FR_TENS, "tens"), (_FR_SCALES, "scale")):
        if w in table:
            return table[w], kind
    for candidate in (w, w[1:] if w.startswith("و") else None):
        if not candidate:
            continue
        for table, kind in ((_AR_UNITS, "unit"), (_AR_TENS, "tens"), (_AR_SCALES, "scale"), (_AR_WHOLE, "whole")):
            if candidate in table:
                return table[candidate], kind
    return None


def foreign_word_numbers(s: str) -> set[int]:
    """Numbers written as French or Arabic words: 'trois', 'vingt-deux', 'quatre-vingt-dix', 'trois cents',
    'أربعة', 'خمسة وعشرون' (5 and 20), 'ثلاثمئة', 'ثلاثة عشر' (13). A run of number words is one number."""
    words = [m.group() for m in re.finditer(r"[^\W\d_]+(?:-[^\W\d_]+)*", _QUATRE_VINGT.sub("octante", s))]
    found: set[int] = set()
    run: list[tuple[int, str]] = []

    def close() -> None:
        if not run:
            return
        total = current = 0
        for value, kind in run:
            if kind == "scale":
                current = (current or 1) * value
                if value >= 1000:
                    total, current = total + current, 0
            else:
                current += value
        found.add(total + current)
        run.clear()

    for word in words:
        parts = word.split("-")
        values = [_foreign_value(p) for p in parts]
        if all(values):
            run.extend(v for v in values if v is not None)
        elif word.casefold() == "et" and run:
            continue  # "vingt et un"
        else:
            close()
    close()
    return found


# What Arabic writes onto the front of a word: a conjunction (و, ف), a preposition (ب, ل, ك), the article.
_AR_PREFIX = "(?:[وف]?[بلك]?(?:ال|ل)?)"
_AR_CLITIC = re.compile(r"^[وف]?[بلك]?(?:ال)?(?=[\u0621-\u064a]{4})")


def vague_word_appears(word: str, s: str) -> bool:
    """Whole-word, case-insensitive match, tolerating singular/plural ('dozen' ~ 'dozens') and, in Arabic,
    the clitics written onto a word: 'مئات' is found in "ومئات" (and hundreds), and 'بعشرات' matches "لعشرات"."""
    parts = normalise_text(word).split(" ")
    if not parts or not parts[0]:
        return False
    pieces = []
    for p in parts:
        if _AR_LETTER.match(p):
            bare = _AR_CLITIC.sub("", p)
            pieces.append(_AR_PREFIX + "(?:" + "|".join(sorted({re.escape(p), re.escape(bare)}, key=len, reverse=True)) + ")")
            continue
        base = p[:-1] if p.endswith("s") and len(p) > 3 else p
        pieces.append(re.escape(base) + "(?:s|es)?")
    pattern = r"(?<!\w)" + r"[\s-]+".join(pieces) + r"(?!\w)"
    return re.search(pattern, normalise_text(s)) is not None
