"""One normalisation for quote alignment and number reading: Unicode folding, punctuation, invisible characters, whitespace."""

from __future__ import annotations

import unicodedata
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
# Invisible in rendered text, so the model cannot be expected to reproduce them.
_DROP = frozenset("\u00ad\u200b\u200c\u200d\u2060\ufeff")


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
