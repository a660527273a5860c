"""Escaping for text that came from a model or an article: Markdown that cannot forge structure, and terminal lines without control codes.

``md_inline`` is for text in the middle of a line, ``md_block`` for text that starts a line or a list item,
``md_cell`` for a table cell. ``printable`` is for anything written to a terminal.
"""

from __future__ import annotations

import re

# every character that str.splitlines() treats as a line break, so no renderer can see a new line in a field
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]+")
# inline-active: the backslash itself, raw HTML and autolinks (<), link and image brackets ([ ]);
# ``>`` cannot open a tag without ``<``, so it is escaped only where it would start a block quote
_INLINE = str.maketrans({"\\": "\\\\", "<": "&lt;", "[": "\\[", "]": "\\]"})
# what starts a block when it opens a line: headings, quotes, lists, setext underlines, thematic breaks, fences, tables
_BLOCK_START = re.compile(r"[#>+\-*=_`~|]")
_ORDERED = re.compile(r"(\d{1,9})([.)])")
# C0 controls except tab, DEL, C1 controls, bidi embeddings/overrides and isolates
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def one_line(text: object) -> str:
    """``text`` as a string (``None`` as empty) with every run of line breaks collapsed to one space."""
    return _LINE_BREAKS.sub(" ", "" if text is None else str(text))


def md_inline(text: object) -> str:
    """Model or article text, safe in the middle of a Markdown line: one line, no raw HTML, no link syntax."""
    # an escaped "]" already ends no link; escaping the "(" after it too keeps "](javascript:" out of the file entirely
    return one_line(text).translate(_INLINE).replace("\\](", "\\]\\(")


def md_block(text: object) -> str:
    """Like ``md_inline``, and safe at the start of a line or a list item: no heading, quote, list, fence or rule."""
    s = md_inline(text).strip()
    if s.startswith(">"):
        return "&gt;" + s[1:]
    if _BLOCK_START.match(s):
        return "\\" + s
    if m := _ORDERED.match(s):
        return m.group(1) + "\\" + s[m.end(1) :]
    return s


def md_cell(text: object) -> str:
    """Like ``md_inline``, and safe in a table cell: a pipe cannot end the cell."""
    return md_inline(text).replace("|", "\\|")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` for a terminal: control, escape and bidi-override characters shown as ``\\x1b``-style escapes, tabs kept."""
    return _CONTROL.sub(_visible, str(text))


__all__ = ["md_block", "md_cell", "md_inline", "one_line", "printable"]
