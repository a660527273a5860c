"""Loaded-terms lexicons, and where a text quotes.

Lexicon files (``data/loaded_terms/<lang>.txt``, and users' own files in the same format) hold
one entry a line; lines starting with ``#`` are comments::

    pattern | neutral rendering     whole words, any case; a final ``*`` lets the last word go on
    ! phrase                        a name that contains a loaded word but is not loaded itself
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


@dataclass(frozen=True)
class Lexicon:
    terms: tuple[LoadedTerm, ...]
    exempt: tuple[re.Pattern[str], ...] = ()

    def find(self, text: str) -> list[tuple[str, int, int, str]]:
        """(matched text, start, end, neutral rendering) per loaded word, by position; of overlapping matches the first and longest wins."""
        shielded = [(m.start(), m.end()) for rx in self.exempt for m in rx.finditer(text)]
        hits = sorted((m.start(), -m.end(), m.group(), t.neutral) for t in self.terms for m in t.regex.finditer(text))
        found: list[tuple[str, int, int, str]] = []
        for start, neg_end, matched, neutral in hits:
            end = -neg_end
            if (found and start < found[-1][2]) or any(s <= start and end <= e for s, e in shielded):
                continue
            found.append((matched, start, end, neutral))
        return found


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
        pattern, bar, neutral = (part.strip() for part in line.partition("|"))
        if not bar or not pattern or not neutral or "*" in pattern[:-1]:
            raise ValueError(f"{path}:{number}: expected 'pattern | neutral rendering' with '*' only at the end, got {raw!r}")
        # A user's file replaces a bundled rendering; between bundled lists the first language
        # given keeps its own, so an English briefing is not told to write French.
        if override or pattern.casefold() not in terms:
            terms[pattern.casefold()] = LoadedTerm(pattern, neutral, _compile(pattern))


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
