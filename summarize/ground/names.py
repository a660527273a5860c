"""Is a name or a phrase the model gives as the article's own (an actor, a place, a time window) in the article?

A name counts as found when the article writes it, or any form an alias table gives it (every bundled
table, as for recognising a speaker: its canonical name and every alias of that), so 'HTS' is found
where the article writes only "Hay'at Tahrir al-Sham". It must be whole words, after the normalisation
quotes are aligned with (case, punctuation, invisible characters, whitespace) or folded as the alias
table folds names (apostrophes, hyphens): 'HTS' is not found inside "rights", nor 'Bab' inside
"Babylon"; an Arabic name may carry the clitics Arabic writes onto a word (و ف ب ل ك, the article ال):
'حلب' is found in "بحلب". Text that addresses the model (``ground.instruction_spans``) does not count.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cache, lru_cache

from summarize.aliases import Aliases, all_aliases
from summarize.ground.normalise import normalise_source_cached, normalise_text

_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
# What may be written onto the front of an Arabic word: conjunction, preposition, article, in that order.
_ARABIC_PREFIX = re.compile(r"(?:[وف]?[بلك]?(?:ال|ل)?)")


@cache
def _aliases() -> Aliases:
    return all_aliases()


def name_forms(name: str) -> list[str]:
    """``name`` and the forms the alias table gives it (its canonical name and that name's aliases), ``name`` first."""
    aliases = _aliases()
    canonical = aliases.lookup(name)
    if canonical is None:
        return [name.strip()]
    others = sorted(alias for alias, c in aliases.names.items() if c == canonical)
    return list(dict.fromkeys([name.strip(), canonical, *others]))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


Units = tuple[str, list[int], list[int]]


def _fold_punctuation(units: Units) -> Units:
    """Normalised text (with its map) folded further the way the alias table folds names: apostrophes
    and combining marks dropped, other punctuation a space ("Hay'at Tahrir al-Sham" -> "hayat tahrir al sham")."""
    norm, starts, ends = units
    out: list[str] = []
    s2: list[int] = []
    e2: list[int] = []
    for ch, s, e in zip(norm, starts, ends, strict=True):
        if ch == "'" or unicodedata.category(ch) == "Mn":
            continue
        c = ch if _is_word(ch) else " "
        if c == " " and (not out or out[-1] == " "):
            continue
        out.append(c)
        s2.append(s)
        e2.append(e)
    if out and out[-1] == " ":
        del out[-1], s2[-1], e2[-1]
    return "".join(out), s2, e2


@lru_cache(maxsize=4)
def _folded_source(text: str) -> Units:
    return _fold_punctuation(normalise_source_cached(text))


def _left_ok(norm: str, ns: int, arabic: bool) -> bool:
    if ns == 0 or not _is_word(norm[ns - 1]) or not _is_word(norm[ns]):
        return True
    if not arabic:
        return False
    k = ns
    while k > 0 and _is_word(norm[k - 1]):
        k -= 1
    return _ARABIC_PREFIX.fullmatch(norm, k, ns) is not None


def _whole_word_spans(nf: str, units: Units) -> list[tuple[int, int]]:
    norm, starts, ends = units
    if not nf:
        return []
    arabic = _ARABIC_LETTER.match(nf) is not None
    found = []
    ns = norm.find(nf)
    while ns >= 0:
        ne = ns + len(nf)
        # neither part of one source character ('ﬁ' -> 'fi') nor inside a word
        units_ok = (ns == 0 or starts[ns] != starts[ns - 1]) and (ne == len(starts) or starts[ne] != starts[ne - 1])
        if units_ok and _left_ok(norm, ns, arabic) and (ne == len(norm) or not _is_word(norm[ne]) or not _is_word(nf[-1])):
            found.append((starts[ns], ends[ne - 1]))
        ns = norm.find(nf, ns + 1)
    return found


def name_span(name: str, text: str, *, exclude: Sequence[tuple[int, int]] = (), aliases: bool = True) -> tuple[int, int] | None:
    """The [start, end) of the first place ``text`` names ``name`` (or, with ``aliases``, a form the alias
    table gives it) as whole words, outside the spans in ``exclude``; None when it names it nowhere.

    Each form is looked for as normalised for quotes, then folded as the alias table folds names
    (apostrophes dropped, hyphens and other punctuation spaces: "Hay'at Tahrir al-Sham" = "Hayat Tahrir al Sham")."""
    if not name.strip():
        return None
    spaces = (normalise_source_cached(text), _folded_source(text))
    for form in name_forms(name) if aliases else [name.strip()]:
        nf = normalise_text(form)
        for units, key in zip(spaces, (nf, _fold_punctuation((nf, list(range(len(nf))), list(range(len(nf)))))[0]), strict=True):
            for s, e in _whole_word_spans(key, units):
                if not any(a < e and s < b for a, b in exclude):
                    return s, e
    return None
