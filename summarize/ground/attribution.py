"""Is the speaker of a figure or claim named near its quote?

Lenient on purpose: an article may name the Syrian Observatory for Human Rights once and then say
"the monitor" or "it", so the check asks only that the speaker's name, an alias of it, a distinctive
word of either (compared on its first five letters), or its initials as an acronym appear within
600 characters before the quote or 200 after it. It catches an item handed to someone the passage
never mentions. What it cannot check passes: speakers described only generically ("local sources",
"officials"), and a speaker named in a script the passage does not use (an English name in an
Arabic article with no Arabic alias in the table).
"""

from __future__ import annotations

import re
from functools import cache

from summarize.aliases import Aliases, is_own_voice, load_aliases

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
_WORD = re.compile(r"[^\W\d_]+")
_ARABIC = re.compile(r"[\u0621-\u064a]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_CLITIC = re.compile(r"^(?:[وفبل]?ال|[وفبل])(?=[\u0621-\u064a]{3})")  # "and", "by", "for", "the" written onto an Arabic word
_CONNECTORS = frozenset({"of", "for", "the", "and", "de", "des", "du", "la", "le", "et", "al"})
BEFORE, AFTER = 600, 200  # characters around a quote where its speaker must be named


@cache
def _aliases() -> Aliases:
    return load_aliases()


def _variants(word: str) -> set[str]:
    """The word's first five letters, with and without an Arabic clitic: "russe" matches "russes",
    "الوزارة" matches "وزارة" (whose و belongs to the word, so both readings are kept)."""
    w = word.casefold()
    return {v[:5] for v in (w, _CLITIC.sub("", w), _CLITIC.sub("", _CLITIC.sub("", w))) if len(v) >= 3}


_GENERIC_KEYS = frozenset(k for w in _GENERIC_NAME_WORDS for k in _variants(w))


def _keys(name: str) -> set[str]:
    keys: set[str] = set()
    for w in _WORD.findall(name):
        variants = _variants(w) if len(w) >= 4 else set()
        if not variants & _GENERIC_KEYS:
            keys |= variants
    return keys


def _short_names(name: str) -> set[str]:
    """Words a reader would recognise the speaker by that are too short to key: 'UN', 'IDF', 'Xi',
    'Kim', and the initials of a multi-word name ('Médecins Sans Frontières' -> 'MSF')."""
    words = _WORD.findall(name)
    short = {w for w in words if 2 <= len(w) <= 5 and (w.isupper() or (len(w) <= 3 and w[0].isupper()))}
    capitals = [w for w in words if w[0].isupper() and w.casefold() not in _CONNECTORS]
    if len(capitals) >= 2:
        short.add("".join(w[0] for w in capitals).upper())
    return short


def attribution_problem(where: str, who: str, start: int, end: int, text: str) -> str | None:
    """A sentence the model can act on when the speaker ``who`` is not named near ``text[start:end]``."""
    who = who.strip()
    if not who or is_own_voice(who):
        return None
    aliases = _aliases()
    canonical = aliases.canonical(who)
    forms = {who, canonical} | {alias for alias, c in aliases.names.items() if c == canonical}
    window = text[max(0, start - BEFORE) : end + AFTER]
    # a name can only be found in the script it is written in
    scripts = [p for p in (_ARABIC, _LATIN) if p.search(window)]
    forms = {f for f in forms if any(p.search(f) for p in scripts)}
    keys = set().union(*(_keys(f) for f in forms))
    short = set().union(*(_short_names(f) for f in (who, canonical) if f in forms))
    if not keys and not short:
        return None  # generic, or written in another script: nothing to look for
    words = _WORD.findall(window)
    if keys & {k for w in words for k in _variants(w)} or short & set(words):
        return None
    return (
        f"{where}: attributed to {who!r}, who is not named in or near its quote; give it to the person or body "
        "the article names as its source, or 'the outlet' when the article states it in its own voice"
    )
