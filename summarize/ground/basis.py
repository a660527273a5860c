"""Is a figure a count? Code's check of the model's ``basis`` against the figure's own wording.

"The toll could reach 2,000" is a projection whatever the model says. The check looks only at the
clause leading up to the number (back to the nearest comma, semicolon or sentence end), so "612
bodies were recovered, and the mayor warned the toll could reach 2,000" makes 2,000 a projection
and leaves 612 a count. "As many as" counts as conditional only with a modal or a fear word in the
same clause ("as many as 40 were killed" is a hedged count; "as many as 2,000 are feared dead" is
not a count).
"""

from __future__ import annotations

import re

from summarize.ground.normalise import number_text

COUNT_BASES = frozenset({"counted", "confirmed", "bodies_recovered"})
_CONDITIONAL = re.compile(
    r"\b(could|may|might|would|pourrai(?:t|ent)|risque|expected\s+to|likely\s+to|set\s+to|feared|fears?|risk(?:s|ing)?|project(?:ed|ion|s)|forecast\w*|warn\w*\s+(?:that\s+)?(?:the\s+)?(?:toll|number)\s+(?:could|may|might))\b",
    re.IGNORECASE,
)
_AFTER = re.compile(r"^[^,;.]{0,40}?\b(feared|could|may|might|expected)\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[,;.:!?\n]")


def _spellings(value: int) -> list[str]:
    grouped = f"{value:,}"
    # number_text writes a space between digit groups as a narrow no-break space
    return list(dict.fromkeys([grouped, grouped.replace(",", "\u202f"), grouped.replace(",", " "), grouped.replace(",", "."), str(value)]))


def conditional_wording(quote: str, values: list[int]) -> str | None:
    """The conditional word that makes one of ``values`` in ``quote`` a projection, or None."""
    text = number_text(quote)
    for value in values:
        for spelled in _spellings(value):
            for match in re.finditer(rf"(?<![\d.,]){re.escape(spelled)}(?![\d]|[.,]\d)", text):
                before = text[: match.start()]
                clause = re.split(_CLAUSE_END, before)[-1]
                found = _CONDITIONAL.search(clause)
                if found:
                    return found.group(0)
                if re.search(r"\bas\s+many\s+as\s*$", clause, re.IGNORECASE) and (after := _AFTER.search(text[match.end() :])):
                    return f"as many as ... {after.group(1)}"
    return None


def basis_problem(quote: str, values: list[int], basis: str) -> str | None:
    """Why a figure given as a count is worded as a projection, or None."""
    if basis not in COUNT_BASES:
        return None
    word = conditional_wording(quote, values)
    return None if word is None else f"the quote says '{word}' before the number: a projection, not a count; set basis to 'projected'"
