"""Which files found in a directory are not articles (a README, a changelog, a to-do list), and why.

Only files found by walking a directory are screened: a file named on the command line, matched by
a glob or listed in a manifest is always read. The rule is built to hold on scraped articles we did
not write, so it errs towards reading:

- anything with an article header (``title:``/``outlet:``/``published:``/``url:``, or Markdown front
  matter) is an article, whatever its name;
- a project file by name (README, CHANGELOG, LICENSE, NOTES, TODO, ...) is skipped;
- an index or table of contents by name is skipped when it is mostly a listing, with no dateline or date;
- any other file is skipped only when it has hardly any prose (fewer than three sentences), is mostly
  Markdown structure (headings, bullets, code, tables, bare links), and has no date, dateline or byline
  anywhere: the shape of notes and documentation, never of a news item, however short.
"""

from __future__ import annotations

import re
from pathlib import Path

from summarize.models.report import Source

SCREENED = (".txt", ".md")

# README, README.md, README-fr, LICENSE-MIT, CHANGELOG.old, notes_2024; not "notes-from-the-field".
_PROJECT = re.compile(
    r"(readme|changelog|license|licence|copying|contributing|contributors|authors|maintainers|code[-_ ]?of[-_ ]?conduct"
    r"|todo|notes|release[-_ ]?notes)([-_. ][a-z0-9]{1,8})?",
    re.IGNORECASE,
)
# Words an article's slug may be ("history.md", "security.txt"): a project file's only in capitals, as projects write them.
_PROJECT_CAPS = re.compile(r"(CHANGES|HISTORY|NEWS|NOTICE|SECURITY|SUPPORT|COPYRIGHT)([-_. ][A-Za-z0-9]{1,8})?")
_INDEX = re.compile(r"_?(index|toc|contents|summary|_?sidebar|sitemap)([-_. ][a-z0-9]{1,8})?", re.IGNORECASE)

_FRONT_MATTER = re.compile(r"\A(?:---|\+\+\+)[ \t]*\n(?:.*\n){0,40}?(?:title|date|published|author)[ \t]*[:=]", re.IGNORECASE)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
    r"|janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"
    r"|enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
_DATE = re.compile(
    rf"\b\d{{4}}-\d{{1,2}}-\d{{1,2}}\b|\b\d{{1,2}}[/.]\d{{1,2}}[/.]\d{{2,4}}\b"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}\b|\b\d{{1,2}}(?:st|nd|rd|th|er)?\s+(?:de\s+)?(?:{_MONTHS})\b"
    r"|\b\d{1,2}[:h]\d{2}\b|\b(?:gmt|utc)\b"  # a time of day: a live page's entries
    r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|yesterday)\b"
    r"|\((?:reuters|ap|afp|upi|ani|pti|dpa|efe|ansa|xinhua|anadolu|bernama|kyodo|yonhap)\)",
    re.IGNORECASE,
)
# Case matters here: a dateline is in capitals ("BEIRUT — ", "KHARTOUM, Sudan (AP) - "), a byline names a person.
_DATELINE = re.compile(
    r"^[A-Z][A-Z.'-]+(?: [A-Z][A-Z.'-]+){0,3}(?:,[^\n]{0,40})?(?: \([A-Z][A-Za-z]{1,10}\))?\s*[-—–:]\s"
    r"|\([A-Z]{2,6}\)\s*[-—–]"
    r"|^\s*(?:[Bb]y|BY|[Pp]ar|[Pp]or|[Vv]on)\s+[A-Z][\w.'-]+(?:\s+(?:and\s+|et\s+)?[A-Z][\w.'-]+){0,4}\s*$",
    re.MULTILINE,
)
_STRUCTURE = re.compile(r"#{1,6}(?:\s|$)|[-*+•]\s|\d{1,3}[.)]\s|\[[ xX]\]|\||>\s*$|<!--|!?\[[^\]]*\]\([^)]*\)\s*$|[=\-_*~]{3,}\s*$|\$ ")
_FENCE = re.compile(r"\s*(?:```|~~~)")
_SENTENCE_END = re.compile(r"[.!?؟。！？…](?:[\"'”’»)\]]*)(?=\s|$)")


def not_an_article(path: Path, source: Source) -> str | None:
    """Why ``source``, read from ``path`` inside a directory, is not an article; None when it may be one."""
    if path.suffix.lower() not in SCREENED or _has_header(source):
        return None
    stem = path.stem
    if _PROJECT.fullmatch(stem) or _PROJECT_CAPS.fullmatch(stem):
        return f"its name ({path.name}) is a project file's, and it has no article header (title:, outlet:, published:)"
    prose_lines, sentences, structure, code = _shape(source.text)
    signals = _DATE.search(source.text) is not None or _DATELINE.search(source.text) is not None
    if _INDEX.fullmatch(stem) and not signals and structure >= 3 and structure > prose_lines:
        return f"its name ({path.name}) is an index's, and it is a listing with no dateline, byline or date"
    if signals or sentences >= 3 or structure < 3 or structure <= prose_lines:
        return None
    parts = [f"{structure} lines of headings, lists, code or links", f"{sentences} prose sentence{'s' if sentences != 1 else ''}"]
    return f"it reads as notes or documentation, not reporting ({', '.join(parts)}{', code blocks' if code else ''}; no dateline, byline or date)"


def _has_header(source: Source) -> bool:
    return bool(source.title or source.outlet or source.url or source.published_precision or _FRONT_MATTER.match(source.text))


def _shape(text: str) -> tuple[int, int, int, bool]:
    """(prose lines, prose sentences, structure lines, whether it has code blocks) of ``text``."""
    prose = sentences = structure = 0
    fenced = code = False
    for line in text.split("\n"):
        if _FENCE.match(line):
            fenced, code = not fenced, True
            structure += 1
            continue
        if not line.strip():
            continue
        if fenced or _STRUCTURE.match(line.strip()):
            structure += 1
            continue
        words = len(line.split())
        if words >= 6 or len(line.strip()) >= 40:
            prose += 1
            sentences += max(1, len(_SENTENCE_END.findall(line)))
        # a short line (a label, a stray word) is neither
    return prose, sentences, structure, code
