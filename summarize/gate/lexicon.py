"""Loaded-terms lexicons, and where a text quotes.

Lexicon files (``data/loaded_terms/<lang>.txt``, and users' own files in the same format) hold
one entry a line; lines starting with ``#`` are comments::

    pattern | neutral rendering     whole words, any case; a final ``*`` lets the last word go on
    pattern | neutral | gloss       the same, with an English gloss shown next to the word when a briefing quotes it
    ! phrase                        a name that contains a loaded word but is not loaded itself
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rapidfuzz import fuzz

LEXICON_DIR = Path(__file__).resolve().parents[1] / "data" / "loaded_terms"

_HYPHEN = "[-\u2010\u2011\\s]"
# Arabic writes conjunctions (و ف), prepositions (ب ل ك) and the article onto the word; ل + ال is لل.
_AR_ANY = "[وف]?(?:[بك]?ال|لل|[بلك])?"
_AR_DEFINITE = "[وف]?(?:[بك]?ال|لل)"
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d", "\u00ab": "\u00bb", "\u2018": "\u2019"}
_CLOSERS = {c: o for o, c in _QUOTE_PAIRS.items()}


def _compile(pattern: str) -> re.Pattern[str]:
    is_prefix = pattern.endswith("*")
    words = pattern.rstrip("*").split()
    body = r"\s+".join(_HYPHEN.join(re.escape(part) for part in word.split("-")) for word in words)
    if "\u0600" <= pattern[0] <= "\u06ff":
        body = _AR_DEFINITE + body[len("ال") :] if words[0].startswith("ال") else _AR_ANY + body
    tail = r"\w*" if is_prefix else r"(?!\w)"
    return re.compile(rf"(?<!\w){body}{tail}", re.IGNORECASE)


@dataclass(frozen=True)
class LoadedTerm:
    pattern: str
    neutral: str
    regex: re.Pattern[str] = field(repr=False, compare=False)
    gloss: str | None = None


@dataclass(frozen=True)
class Lexicon:
    terms: tuple[LoadedTerm, ...]
    exempt: tuple[re.Pattern[str], ...] = ()

    def find(self, text: str) -> list[tuple[str, int, int, str]]:
        """(matched text, start, end, neutral rendering) per loaded word, by position; of overlapping matches the first and longest wins."""
        return [(matched, start, end, term.neutral) for matched, start, end, term in self.find_terms(text)]

    def find_terms(self, text: str) -> list[tuple[str, int, int, LoadedTerm]]:
        """``find``, with the lexicon entry each word matched."""
        shielded = [(m.start(), m.end()) for rx in self.exempt for m in rx.finditer(text)]
        hits = [(m.start(), -m.end(), m.group(), n) for n, t in enumerate(self.terms) for m in t.regex.finditer(text)]
        # of entries matching the same words, a whole-word entry is more exact than a prefix (its gloss fits the form)
        hits.sort(key=lambda h: (*h[:3], self.terms[h[3]].pattern.endswith("*"), self.terms[h[3]].neutral))
        found: list[tuple[str, int, int, LoadedTerm]] = []
        for start, neg_end, matched, n in hits:
            end = -neg_end
            if (found and start < found[-1][2]) or any(s <= start and end <= e for s, e in shielded):
                continue
            found.append((matched, start, end, self.terms[n]))
        return found


def gloss_of(matched: str, term: LoadedTerm) -> str | None:
    """The English gloss to show after ``matched``: of a gloss listing forms ('terrorist, terrorists'), the one
    closest to the word as written (for Latin script); None when the entry has none or the word is its own gloss."""
    if not term.gloss:
        return None
    forms = [f.strip() for f in term.gloss.split(",") if f.strip()]
    word = matched.casefold()
    if word in {f.casefold() for f in forms}:
        return None
    latin = all(not ch.isalpha() or ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in word)
    if len(forms) > 1 and latin:
        return max(forms, key=lambda f: (fuzz.ratio(word, f.casefold()), -forms.index(f)))
    return term.gloss


def available_languages() -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in LEXICON_DIR.glob("*.txt")))


def _read_lexicon(path: Path, terms: dict[str, LoadedTerm], exempt: list[re.Pattern[str]], *, override: bool) -> None:
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!") and line[1:].strip():
            exempt.append(_compile(line[1:].strip()))
            continue
        pattern, *rest = (part.strip() for part in line.split("|"))
        neutral, gloss = [*rest, "", ""][:2] if len(rest) <= 2 else ("", "")
        if not pattern or not neutral or "*" in pattern[:-1]:
            raise ValueError(
                f"{path}:{number}: expected 'pattern | neutral rendering' or 'pattern | neutral rendering | English gloss'"
                f" with '*' only at the end, got {raw!r}"
            )
        # A user's file replaces a bundled rendering; between bundled lists the first language
        # given keeps its own, so an English briefing is not told to write French.
        key = pattern.casefold()
        if override or key not in terms:
            terms[key] = LoadedTerm(pattern, neutral, _compile(pattern), gloss or None)
        elif gloss and not terms[key].gloss:
            # the first language keeps its rendering, and the word gains the gloss a later list gives it
            terms[key] = LoadedTerm(terms[key].pattern, terms[key].neutral, terms[key].regex, gloss)


def load_lexicon(languages: Iterable[str] = ("en",), extra: Sequence[Path] = ()) -> Lexicon:
    """The bundled lists for ``languages`` ('en', 'fr-FR'...), in order of preference, then users' files."""
    available = available_languages()
    paths: list[Path] = []
    for language in languages:
        code = re.split(r"[-_]", language.strip().casefold())[0]
        if code not in available:
            raise ValueError(f"no loaded-terms lexicon for language {language!r}; available: {', '.join(available)}")
        paths.append(LEXICON_DIR / f"{code}.txt")
    terms: dict[str, LoadedTerm] = {}
    exempt: list[re.Pattern[str]] = []
    for path, override in [*((p, False) for p in dict.fromkeys(paths)), *((Path(p), True) for p in extra)]:
        _read_lexicon(path, terms, exempt, override=override)
    return Lexicon(tuple(terms.values()), tuple(exempt))


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) of the inside of every closed quotation: "...", “...”, «...», ‘...’ and '...'.

    A quote mark between two letters or digits is an apostrophe (Hay’at, army's, d’Alep).
    Straight marks open before a non-space and close after one, since the same mark does both.
    """
    spans: list[tuple[int, int]] = []
    open_at: dict[str, int] = {}
    for i, ch in enumerate(text):
        if ch not in _QUOTE_PAIRS and ch not in _CLOSERS:
            continue
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        if ch in "'\u2018\u2019" and before.isalnum() and after.isalnum():
            continue
        opener = _CLOSERS.get(ch)
        symmetric = ch == opener
        if opener in open_at and not (symmetric and before.isspace()):
            spans.append((open_at.pop(opener) + 1, i))
        elif ch in _QUOTE_PAIRS and not (symmetric and after.isspace()):
            open_at[ch] = i
    return sorted(spans)
