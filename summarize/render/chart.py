"""One figure comparison as an accessible SVG chart: a row per claimant, dots for numbers, bars for ranges, arrows for open ends."""

from __future__ import annotations

import math
from html import escape

from summarize.models.briefing import FigureComparison, FigureEntry
from summarize.render.reports import format_value

_INK = "#1b1b1b"
_WORDS = {"at_least": "at least ", "about": "about ", "more_than": "more than ", "less_than": "less than ", "up_to": "up to "}
_LEGEND = (
    "Dot: one number. Bar: a range. Arrow: open-ended (“at least”, “more than”, “up to”). "
    "Hollow marker: derived by summing parts, not stated as such by the claimant."
)
_W, _LEFT, _RIGHT, _ROW, _TOP = 720, 190, 560, 38, 12


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


def chart_svg(c: FigureComparison, n: int) -> str:
    hi = max((b[1] for e in c.entries if (b := e.bounds())), default=0)
    # about four ticks at 1, 2 or 5 times a power of ten; counts are whole, so never a step below 1
    magnitude = 10 ** math.floor(math.log10(hi / 4)) if hi >= 4 else 1
    step = next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= hi / 4)
    top = step * max(1, math.ceil(hi / step))

    def x(v: int) -> float:
        return _LEFT + (_RIGHT - _LEFT) * v / top

    parts: list[str] = []
    for i, e in enumerate(c.entries):
        y = _TOP + _ROW * i + _ROW // 2
        name = e.claimant if len(e.claimant) <= 26 else e.claimant[:25] + "…"
        parts.append(f'<text x="{_LEFT - 12}" y="{y + 5}" text-anchor="end">{_e(name)}</text>')
        parts.append(f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{y}" y2="{y}" stroke="#9a9a9a" stroke-dasharray="2 5"/>')
        b = e.bounds()
        if b is None:
            parts.append(f'<text x="{_LEFT + 6}" y="{y + 5}" font-style="italic">{_e(e.vague_word or "unspecified")} (no number)</text>')
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
            right += 24
        elif e.qualifier in ("up_to", "less_than"):
            parts.append(_arrow(left, y, -1))
        label = format_value(e.value, e.low, e.high, e.qualifier, e.vague_word) + (" derived" if e.derived else "")
        label += f" (earlier, {e.as_of})" if e.earlier else ""
        parts.append(f'<text x="{right + 6:.1f}" y="{y + 5}" font-weight="700">{_e(label)}</text>')
    axis_y = _TOP + _ROW * len(c.entries) + 4
    parts.append(f'<line x1="{_LEFT}" x2="{_RIGHT}" y1="{axis_y}" y2="{axis_y}" stroke="{_INK}" stroke-width="1.5"/>')
    for v in range(0, top + 1, step):
        parts.append(f'<line x1="{x(v):.1f}" x2="{x(v):.1f}" y1="{axis_y}" y2="{axis_y + 6}" stroke="{_INK}"/>')
        parts.append(f'<text x="{x(v):.1f}" y="{axis_y + 21}" text-anchor="middle" font-size="14">{v}</text>')
    parts.append(f'<text x="{(_LEFT + _RIGHT) // 2}" y="{axis_y + 40}" text-anchor="middle" font-size="14">people {_e(c.metric)}</text>')
    tid, did, h = f"chart-{n}-title", f"chart-{n}-desc", axis_y + 50
    desc = "; ".join(f"{e.claimant}: {_in_words(e)}" + (f" (an earlier count, {e.as_of})" if e.earlier else "") for e in c.entries) + "."
    return (
        f'<figure class="chart"><svg role="img" aria-labelledby="{tid} {did}" viewBox="0 0 {_W} {h}" width="{_W}" height="{h}" font-size="15">'
        f'<title id="{tid}">Figures for {_e(c.label)}, one row per claimant</title><desc id="{did}">{_e(desc)}</desc>{"".join(parts)}</svg>'
        f"<figcaption>{_e(_LEGEND)}</figcaption></figure>"
    )
