"""Figure comparisons as accessible SVG charts: a row per claimant, dots for numbers, bars for ranges, arrows for open ends.

Sized for a phone first: each row's claimant and value sit on a line above its track, so the chart is
narrow (``_W`` wide) and never shrinks its text much below its drawn size; the legend is drawn once per page.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from html import escape

from summarize.models.briefing import FigureComparison, FigureEntry
from summarize.render.reports import format_value

_INK = "#1b1b1b"
_WORDS = {"at_least": "at least ", "about": "about ", "more_than": "more than ", "less_than": "less than ", "up_to": "up to "}
# what each kind of marker means, in the order the legend lists them
_KEYS = {
    "dot": "one number",
    "bar": "a range",
    "arrow": "open-ended (“at least”, “more than”, “up to”)",
    "hollow": "derived by summing parts, not stated as such by the claimant",
}
# a 358 px phone column shows the chart at 358/420 of its size: 15 and 14 px text stays at 12 and 11.9 px
_W, _LEFT, _RIGHT, _ROW, _TOP = 420, 8, 384, 50, 4
_CHARS = 40  # characters of 15 px text that surely fit one label line, capitals included


def _e(text: object) -> str:
    return escape("" if text is None else str(text), quote=True)


def _in_words(e: FigureEntry) -> str:
    b = e.bounds()
    if b is None:
        return f"{e.vague_word or 'unspecified'} (no number given)"
    number = str(b[0]) if b[0] == b[1] else f"{b[0]} to {b[1]}"
    return _WORDS.get(e.qualifier, "") + number + ((f" (derived: {e.rule})" if e.rule else " (derived)") if e.derived else "")


def _arrow(x: float, y: int, way: int) -> str:
    tip = x + 16 * way
    head = f"M{tip:.1f} {y - 5} L{tip + 7 * way:.1f} {y} L{tip:.1f} {y + 5} Z"
    return f'<path d="M{x:.1f} {y} H{tip:.1f}" stroke="{_INK}" stroke-width="2"/><path d="{head}" fill="{_INK}"/>'


def charted(c: FigureComparison) -> bool:
    """A chart only where it compares: two or more entries with a number."""
    return sum(1 for e in c.entries if e.bounds() is not None) >= 2


def _keys(e: FigureEntry) -> set[str]:
    b = e.bounds()
    if b is None:
        return set()
    open_end = {"arrow"} if e.qualifier in ("at_least", "more_than", "up_to", "less_than") else set()
    return {"dot" if b[0] == b[1] else "bar", *open_end, *(("hollow",) if e.derived else ())}


def _marker(key: str) -> str:
    fill = "#ffffff" if key == "hollow" else _INK
    shape = {
        "bar": f'<rect x="4" y="4" width="28" height="10" fill="{_INK}" stroke="{_INK}" stroke-width="2"/>',
        "arrow": f'<circle cx="7" cy="9" r="5" fill="{_INK}"/>' + _arrow(12, 9, 1),
    }.get(key, f'<circle cx="18" cy="9" r="6" fill="{fill}" stroke="{_INK}" stroke-width="2.5"/>')
    return f'<svg class="key" viewBox="0 0 36 18" width="36" height="18" aria-hidden="true" focusable="false">{shape}</svg>'


def legend_html(comparisons: Iterable[FigureComparison]) -> str:
    """The page's one legend: the markers its charts use, each drawn beside its meaning ("" when nothing is charted)."""
    used = set().union(*(_keys(e) for c in comparisons if charted(c) for e in c.entries))
    items = "".join(f"<li>{_marker(k)} {_e(text)}</li>" for k, text in _KEYS.items() if k in used)
    return f'<div class="legend" id="chart-legend"><p>How to read the charts:</p><ul>{items}</ul></div>' if used else ""


def chart_svg(c: FigureComparison, n: int) -> str:
    """The chart of one comparison, or "" when it has fewer than two numbers to set side by side."""
    if not charted(c):
        return ""
    hi = max((b[1] for e in c.entries if (b := e.bounds())), default=0)
    # about four ticks at 1, 2 or 5 times a power of ten; counts are whole, so never a step below 1
    magnitude = 10 ** math.floor(math.log10(hi / 4)) if hi >= 4 else 1
    step = next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= hi / 4)
    top = step * max(1, math.ceil(hi / step))

    def x(v: int) -> float:
        return _LEFT + (_RIGHT - _LEFT) * v / top

    parts: list[str] = []
    for i, e in enumerate(c.entries):
        y = _TOP + _ROW * i + 36
        b = e.bounds()
        label = format_value(e.value, e.low, e.high, e.qualifier, e.vague_word) + (" derived" if e.derived else "")
        label += (f" (earlier, {e.as_of})" if e.as_of else " (earlier)") if e.earlier else ""
        value = f'<tspan font-weight="700">{_e(label)}</tspan>' if b else f'<tspan font-style="italic">{_e(e.vague_word or "unspecified")} (no number)</tspan>'
        room = max(12, _CHARS - len(label) - 2)
        name = e.claimant if len(e.claimant) <= room else e.claimant[: room - 1] + "…"
        parts.append(f'<text x="0" y="{y - 17}">{_e(name)}: {value}</text>')
        parts.append(f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{y}" y2="{y}" stroke="#9a9a9a" stroke-dasharray="2 5"/>')
        if b is None:
            continue
        fill = "#ffffff" if e.derived else _INK
        if b[0] == b[1]:
            parts.append(f'<circle cx="{x(b[0]):.1f}" cy="{y}" r="7" fill="{fill}" stroke="{_INK}" stroke-width="2.5"/>')
            left, right = x(b[0]) - 7, x(b[0]) + 7
        else:
            left, right = x(b[0]), x(b[1])
            parts.append(f'<rect x="{left:.1f}" y="{y - 6}" width="{right - left:.1f}" height="12" fill="{fill}" stroke="{_INK}" stroke-width="2"/>')
        if e.qualifier in ("at_least", "more_than"):
            parts.append(_arrow(right, y, 1))
        elif e.qualifier in ("up_to", "less_than"):
            parts.append(_arrow(left, y, -1))
    axis_y = _TOP + _ROW * len(c.entries) + 4
    parts.append(f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="{_INK}" stroke-width="1.5"/>')
    for v in range(0, top + 1, step):
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{axis_y}" y2="{axis_y + 6}" stroke="{_INK}"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{axis_y + 21}" text-anchor="middle" font-size="14">{v}</text>')
    parts.append(f'<text x="{(_LEFT + _RIGHT) // 2}" y="{axis_y + 40}" text-anchor="middle" font-size="14">people {_e(c.metric)}</text>')
    tid, did, h = f"chart-{n}-title", f"chart-{n}-desc", axis_y + 48
    desc = "; ".join(f"{e.claimant}: {_in_words(e)}" + (f" (an earlier count, {e.as_of})" if e.earlier else "") for e in c.entries) + "."
    return (
        f'<figure class="chart"><svg role="img" aria-labelledby="{tid} {did}" viewBox="0 0 {_W} {h}" width="{_W}" height="{h}" font-size="15">'
        f'<title id="{tid}">Figures for {_e(c.label)}, one row per claimant</title><desc id="{did}">{_e(desc)}</desc>{"".join(parts)}</svg></figure>'
    )
