"""Is the speaker of a figure or claim named near its quote?

Lenient on purpose: an article may name the Syrian Observatory for Human Rights once and then say
"the monitor" or "it", so the check asks only that the speaker's name, an alias of it (any bundled
table: recognising a spelling merges nothing), a distinctive word of either (compared on its first
five letters), its initials as an acronym, or the spelled-out name an acronym stands for ('IOM' for
"International Organization for Migration") appear within 600 characters before the quote or 200
after it. Names are compared folded: case, accents and transliteration marks, apostrophes and hyphens
aside ('al-Ghaithi', 'Al Ghaithi', 'AlGhaithi', 'Ḥamza' and 'Hamza' are one name), and Arabic words
without the clitics written onto them. It catches an item handed to someone the passage never
mentions. What it cannot check passes: speakers described only generically ("local sources",
"officials"); the reserved values for the article's own voice ('the outlet') and for a source it does
not name ('unattributed', 'unattributed reports'), which are never a named claimant; and a speaker
named only in a script the quote is not written in (an English name in an Arabic article with no
Arabic alias in the table), however many stray words of that script (an English "Related posts"
list) sit in the window.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from summarize.aliases import Aliases, all_aliases, is_own_voice
from summarize.claimants import is_unattributed

# Words that say what kind of speaker, not which one: "local sources" or "officials" cannot be traced.
_GENERIC_NAME_WORDS = frozenset(
    {
        *("said", "says", "sources", "source", "local", "locales", "locaux", "reports", "report", "media", "médias", "medias"),
        *("officials", "official", "officiels", "responsables", "forces", "group", "groups", "people", "news", "agency"),
        *("according", "residents", "habitants", "witnesses", "témoins", "authorities", "autorités", "spokesman"),
        *("spokeswoman", "spokesperson", "statement", "field", "terrain", "مصادر", "محلية", "ميدانية", "مسؤولون", "وسائل"),
        *("إعلام", "شهود", "سكان"),
    }
)
# A word is a run of letters of one script: "postsالمرصد", glued by a page's markup, is two words.
_WORD = re.compile(r"[\u0621-\u064a\u066e-\u06d3]+|[^\W\d_\u0600-\u06ff]+")
_ARABIC = re.compile(r"[\u0621-\u064a]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CLITIC = re.compile(r"^(?:[وفبل]?ال|[وفبل])(?=[\u0621-\u064a]{3})")  # "and", "by", "for", "the" written onto an Arabic word
_CONNECTORS = frozenset({"of", "for", "the", "and", "de", "des", "du", "la", "le", "et", "al"})
# Particles of transliterated names, written apart, hyphenated or joined: "al Ghaithi", "al-Ghaithi", "AlGhaithi".
_PARTICLES = frozenset({"al", "el", "ad", "ar", "as", "ash", "at", "az", "an", "abu", "abd", "bin", "ibn", "ben", "bint", "ould"})
_GLUED_PARTICLE = re.compile(r"^(Al|El|Abu|Abd|Bin|Ibn|Ben|Bint|Ould)(?=[A-Z][a-z])")
_MARKS = dict.fromkeys(map(ord, "'’‘ʼʻʾʿ`´"))  # apostrophes and the transliteration marks for hamza and ʿayn
_GAP = re.compile(r"[ \t\-\u2010\u2011]*")  # what may separate the words of one spelled-out name
BEFORE, AFTER = 600, 200  # characters around a quote where its speaker must be named


@cache
def _aliases() -> Aliases:
    return all_aliases()


def fold_name(text: str) -> str:
    """``text`` with accents, transliteration marks and apostrophes removed ('Ḥay’at' -> 'Hayat'); case is kept."""
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch) and unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", bare.translate(_MARKS))


def _words(text: str) -> list[str]:
    """The folded words of ``text``, a particle written onto a name split off ('AlGhaithi' -> 'Al', 'Ghaithi')."""
    words: list[str] = []
    for w in _WORD.findall(fold_name(text)):
        words += [part for part in _GLUED_PARTICLE.split(w, maxsplit=1) if part]
    return words


def _variants(word: str) -> set[str]:
    """The word's first five letters, with and without an Arabic clitic: "russe" matches "russes",
    "الوزارة" matches "وزارة" (whose و belongs to the word, so both readings are kept)."""
    w = fold_name(word).casefold()
    return {v[:5] for v in (w, _CLITIC.sub("", w), _CLITIC.sub("", _CLITIC.sub("", w))) if len(v) >= 3}


_GENERIC_KEYS = frozenset(k for w in _GENERIC_NAME_WORDS for k in _variants(w))


def _keys(name: str) -> set[str]:
    keys: set[str] = set()
    for w in _words(name):
        variants = _variants(w) if len(w) >= 4 else set()
        if not variants & _GENERIC_KEYS:
            keys |= variants
    return keys


def _short_names(name: str) -> set[str]:
    """Words a reader would recognise the speaker by that are too short to key: 'UN', 'IDF', 'Xi',
    'Kim', and the initials of a multi-word name ('Médecins Sans Frontières' -> 'MSF')."""
    words = _WORD.findall(fold_name(name))
    short = {w for w in words if 2 <= len(w) <= 5 and (w.isupper() or (len(w) <= 3 and w[0].isupper())) and w.casefold() not in _PARTICLES}
    capitals = [w for w in words if w[0].isupper() and w.casefold() not in _CONNECTORS]
    if len(capitals) >= 2:
        short.add("".join(w[0] for w in capitals).upper())
    return short


def _acronyms(window: str) -> set[str]:
    """The initials of every run of capitalised words in ``window`` (connectors such as 'for' skipped
    inside a run): "International Organization for Migration" gives 'IOM', 'IO', 'OM'."""
    found: set[str] = set()
    run: list[str] = []
    last_end = -1
    matches = list(_WORD.finditer(fold_name(window)))
    for n, m in enumerate(matches):
        w = m.group()
        adjacent = last_end >= 0 and _GAP.fullmatch(m.string, last_end, m.start()) is not None
        if run and not adjacent:
            run = []
        if w[0].isupper():
            run.append(w[0])
            last_end = m.end()
            found |= {"".join(run[i:]) for i in range(max(0, len(run) - 8), len(run) - 1)}
        elif run and w.casefold() in _CONNECTORS and n + 1 < len(matches):
            last_end = m.end()
        else:
            run, last_end = [], -1
    return found


def _short_named(short: set[str], words: list[str], window: str) -> bool:
    """A short name is named by the word itself, by the word in other capitals ('Wu', 'WU'; never 'us' for
    'US'), or by the spelled-out name it is the acronym of."""
    if short & set(words):
        return True
    folded = {s.casefold() for s in short}
    if any(w.casefold() in folded and not w.islower() for w in words):
        return True
    return bool({s for s in short if s.isupper()} & _acronyms(window))


def _searchable(forms: set[str], window: str, quote: str) -> set[str]:
    """The forms written in the script of the passage: the quote's script(s), or for a quote without letters
    the script of most of the window's letters. Stray words of another script around the quote (a page's
    English "Related posts" after an Arabic article) do not make a name in that script checkable."""
    scripts = [p for p in (_ARABIC, _LATIN) if p.search(quote)]
    if not scripts:
        counts = {p: len(p.findall(window)) for p in (_ARABIC, _LATIN)}
        scripts = [p for p, n in counts.items() if n and n * 2 >= sum(counts.values())]
    return {f for f in forms if any(p.search(f) for p in scripts)}


def attribution_problem(where: str, who: str, start: int, end: int, text: str) -> str | None:
    """A sentence the model can act on when the speaker ``who`` is not named near ``text[start:end]``."""
    who = who.strip()
    if not who or is_own_voice(who) or is_unattributed(who):
        return None
    aliases = _aliases()
    canonical = aliases.canonical(who)
    forms = {who, canonical} | {alias for alias, c in aliases.names.items() if c == canonical}
    window = text[max(0, start - BEFORE) : end + AFTER]
    checkable = _searchable(forms, window, text[start:end])
    if not set().union(*(_keys(f) for f in checkable)) and not set().union(*(_short_names(f) for f in (who, canonical) if f in checkable)):
        return None  # generic, or written only in another script than the passage's: nothing to look for
    keys = set().union(*(_keys(f) for f in forms))
    short = set().union(*(_short_names(f) for f in (who, canonical)))
    words = _words(window)
    if keys & {k for w in words for k in _variants(w)} or _short_named(short, words, window):
        return None
    return (
        f"{where}: attributed to {who!r}, who is not named in or near its quote; give it to the person or body "
        "the article names as its source, 'the outlet' when the article states it in its own voice, or "
        "'unattributed' when the article names no source"
    )
