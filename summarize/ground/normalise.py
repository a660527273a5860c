"""One normalisation for quote alignment and number reading: Unicode folding, punctuation, invisible characters, whitespace.

Quotes and numbers agree on what is invisible (``INVISIBLE``: dropped by both) and on what is a space
(``str.isspace``: one space to the aligner; a thousands mark to the number reader only inside a digit
group, see ``number_text``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

# Looked up *before* NFKC: NFKC turns a double prime into two primes, which would then
# normalise to '' rather than '"'.
_PUNCT = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2035`\u00b4\u02bc", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d", "-"),
    }
)
# Invisible in rendered text, so the model cannot be expected to reproduce them: the soft hyphen,
# zero-width spaces and joiners, bidi marks, embeddings and isolates, the Arabic letter mark, the word
# joiner and invisible operators, the BOM, variation selectors, Hangul fillers and tag characters.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064),
    (0x2066, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xE0000, 0xE007F),
)  # fmt: skip
INVISIBLE = frozenset(chr(c) for lo, hi in _INVISIBLE_RANGES for c in range(lo, hi + 1))
_DROP = INVISIBLE
_STRIP_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))


def strip_invisible(text: str) -> str:
    """``text`` without the characters quote alignment ignores (``INVISIBLE``)."""
    return text.translate(_STRIP_INVISIBLE)


def _fold(unit: str) -> str:
    """Normalise one base character together with its combining marks."""
    unit = unit.translate(_PUNCT)
    # NFKC again after casefold: casefolding can leave decomposed sequences ('İ' -> 'i̇').
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", unit).casefold()).translate(_PUNCT)


def normalise_units(text: str) -> tuple[str, list[int], list[int]]:
    """Normalised text plus, per output char, the [start, end) of the input unit it came from.

    Units are a base char with its combining marks, so 'e' + U+0301 and 'é' normalise alike
    and a span can never end between a letter and its accent.
    """
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and unicodedata.combining(text[j]):
            j += 1
        unit = text[i:j]
        for ch in " " if unit.isspace() else _fold(unit):
            if ch in _DROP:
                continue
            if ch.isspace():
                if out and out[-1] == " ":
                    ends[-1] = j  # extend the run so a span's end never lands inside it
                    continue
                if not out:  # leading whitespace is stripped
                    continue
            out.append(" " if ch.isspace() else ch)
            starts.append(i)
            ends.append(j)
        i = j
    if out and out[-1] == " ":
        del out[-1], starts[-1], ends[-1]
    return "".join(out), starts, ends


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """Return the normalised text and, per normalised char, the index in ``text`` it came from.

    The map has one extra final entry, ``len(text)``, so an end offset maps too.
    """
    norm, starts, _ = normalise_units(text)
    return norm, [*starts, len(text)]


def normalise_text(text: str) -> str:
    return normalise_units(text)[0]


# The pipeline aligns dozens of quotes against one article in a row; normalising a long
# article costs ~60 ms, so keep the last few. Callers must not mutate the returned lists.
normalise_source_cached = lru_cache(maxsize=4)(normalise_units)


# --- numbers: the same invisibles and spaces, read as a number reader needs -----------------------

THOUSANDS_MARK = "\u202f"  # the one mark ``number_text`` leaves between digit groups
# What the aligner reads as one space, line breaks aside: plain, no-break, thin, narrow no-break, ideographic...
_HSPACES = re.compile(r"[^\S\n\r\f\v\x1c-\x1e\x85\u2028\u2029]+")
# A head of 1-3 digits, then groups of exactly three digits, each after one space: "1 200", "12 345 678".
_SPACE_GROUPED = re.compile(r"(?<![\d.,'\u066b\u066c])\d{1,3}(?: \d{3})+(?!\d)")
# Between two words for counts of people ("killed 3 200 wounded"), digit groups are two counts, not one.
_COUNT_WORD = (
    r"killed|dead|died|deaths|injured|wounded|hurt|missing|displaced|detained|arrested|casualties|"
    r"tués|tuées|morts|blessés|blessées|disparus|قتيلا|قتيل|قتلى|جريحا|جرحى|مصابا|مفقودا"
)
_BEFORE = re.compile(rf"(?<!\w)(?:{_COUNT_WORD}),? $", re.IGNORECASE)
_AFTER = re.compile(rf" ,?(?:{_COUNT_WORD})(?!\w)", re.IGNORECASE)


def _group(m: re.Match[str]) -> str:
    s = m.string
    if _BEFORE.search(s[max(0, m.start() - 30) : m.start()]) and _AFTER.match(s, m.end()):
        return m.group()  # "killed 3 200 wounded": 3 killed, 200 wounded
    return m.group().replace(" ", THOUSANDS_MARK)


def number_text(text: str) -> str:
    """``text`` as numbers are read in it. Invisibles are dropped, as the aligner drops them; any run of
    spaces (plain, no-break, thin, narrow no-break) becomes one space, as for the aligner; and a space
    between a 1-3 digit head and a group of exactly three digits becomes ``THOUSANDS_MARK``, so "1 200",
    "1\u00a0200" and "1\u2009200" all read 1200 and never 1 or 200. One exception: digit groups between two
    count words ("killed 3 200 wounded") stay two counts, 3 and 200."""
    return _SPACE_GROUPED.sub(_group, _HSPACES.sub(" ", strip_invisible(text)))


# --- matching: a folded copy that text written to evade a pattern cannot hide in -------------------

# Cyrillic, Greek and other letters drawn like Latin ones ("ignоre" with a Cyrillic о).
_CONFUSABLE_PAIRS = (
    "аa вb еe кk мm нh оo рp сc тt уy хx ѕs іi јj ԁd ԛq ԝw һh ӏl ґr "
    "АA ВB ЕE КK МM НH ОO РP СC ТT УY ХX ЅS ІI ЈJ ԚQ ԜW "
    "αa βb εe ιi κk νv οo ρp τt υu χx γy ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX "
    "օo սu ոn հh ıi ȷj"
)
CONFUSABLES = {pair[0]: pair[1] for pair in _CONFUSABLE_PAIRS.split() if len(pair) == 2}
_LETTERS = re.compile(r"[^\W\d_]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _latin(ch: str) -> bool:
    return ch.isascii() and ch.isalpha()


def fold_with_map(text: str) -> tuple[str, Sequence[int]]:
    """A copy of ``text`` to match patterns on, and per char of it the index in ``text`` it came from (plus a
    final ``len(text)``): compatibility forms folded (NFKD: fullwidth 'ＩＧＮＯＲＥ' is 'IGNORE'), accents and
    ``INVISIBLE`` characters dropped, and letters drawn like Latin ones mapped to them (``CONFUSABLES``) in
    words that mix them with Latin letters, or that consist only of them between Latin words. Words of
    one script in text of that script (a Russian or Arabic article) keep their letters."""
    if text.isascii():  # most articles: nothing to fold, each char is its own origin (a range: no list of 5,000 ints)
        return text, range(len(text) + 1)
    chars: list[str] = []
    origin: list[int] = []
    done = 0
    for run in _NON_ASCII.finditer(text):  # ASCII stretches are copied whole; only the rest is looked at char by char
        chars += text[done : run.start()]
        origin += range(done, run.start())
        for i in range(run.start(), run.end()):
            ch = text[i]
            if ch in INVISIBLE:
                continue
            for c in unicodedata.normalize("NFKD", ch):
                if not unicodedata.combining(c) and c not in INVISIBLE:
                    chars.append(c)
                    origin.append(i)
        done = run.end()
    chars += text[done:]
    origin += range(done, len(text))
    folded = "".join(chars)
    if folded.isascii():
        return folded, [*origin, len(text)]
    words = list(_LETTERS.finditer(folded))
    for n, m in enumerate(words):
        word = m.group()
        if word.isascii() or not any(c in CONFUSABLES for c in word):
            continue
        mixed = any(_latin(c) for c in word)
        between_latin = all(c in CONFUSABLES for c in word) and all(0 <= k < len(words) and any(_latin(c) for c in words[k].group()) for k in (n - 1, n + 1))
        if mixed or between_latin:
            for k in range(m.start(), m.end()):
                chars[k] = CONFUSABLES.get(chars[k], chars[k])
    return "".join(chars), [*origin, len(text)]
