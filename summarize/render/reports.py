"""Render outputs as Markdown, JSON or JSONL. Pure functions of the models; no I/O."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from typing import Any

from summarize.models.briefing import FigureEntry
from summarize.models.report import ExtractionOutput, FigureClaim, SourceReport, Usage
from summarize.render.escape import md_block, md_cell, md_inline
from summarize.words import counted


def table_cell(text: object) -> str:
    """Model or article text as one Markdown table cell: one line, pipes, raw HTML and link brackets escaped."""
    return md_cell(text)


_cell = table_cell
_md = md_inline


def format_value(value: int | None, low: int | None, high: int | None, qualifier: str, vague_word: str | None) -> str:
    if value is None and low is None and high is None:
        return vague_word or "?"
    number = f"{low}–{high}" if value is None else str(value)
    prefix = {"at_least": "≥ ", "about": "~", "more_than": "> ", "less_than": "< ", "up_to": "≤ "}.get(qualifier, "")
    return prefix + number


def cost_text(usage: Usage) -> str:
    """A cost as a reader should see it: why it is unknown when it is."""
    if usage.cost_usd is not None:
        return f"${usage.cost_usd:.4f}"
    if usage.unreported:
        return f"unknown ({counted(usage.unreported, 'answer')} reported no token usage)"
    return "unknown (no prices configured)"


def entry_flags(e: FigureEntry) -> list[str]:
    """What a reader must know before setting an entry against others: when, replaced or withdrawn, how counted, relayed."""
    flags = []
    if e.earlier:
        flags.append(f"earlier count, {e.as_of}")
    if e.superseded:
        flags.append(f"replaced by its later figure; as of {e.as_of_text or e.as_of}")
    elif e.as_of_text:
        flags.append(f"as of {e.as_of_text}")
    if e.status != "current":
        flags.append(e.status.upper() + (f" by {e.status_by}" if e.status_by else ""))
    if e.basis not in ("counted", "unclear"):
        flags.append(e.basis.replace("_", " "))
    if e.cited_via:
        flags.append(f"via {', '.join(e.cited_via)}")
    if e.derived_from:
        flags.append(f"derived: {e.rule}")
    return flags


def figure_value(f: FigureClaim) -> str:
    return format_value(f.value, f.low, f.high, f.qualifier, f.vague_word)


def figure_scope(f: FigureClaim) -> str:
    who = f.party if f.population == "combatants" and f.party else f.population
    parts = [f.metric, who]
    if f.time_window:
        parts.append(f.time_window)
    if f.place:
        parts.append(f"in {f.place}")
    if f.basis not in ("counted", "unclear"):
        parts.append(f.basis.replace("_", " "))
    if f.as_of:
        parts.append(f"as of {f.as_of}")
    if f.status != "current":
        parts.append(f.status.upper() + (f" by {f.status_by}" if f.status_by else ""))
    if f.cited_via:
        parts.append(f"via {f.cited_via}")
    return ", ".join(parts)


def report_markdown(report: SourceReport) -> str:
    s = report.source
    lines = [f"## {md_block(s.title or s.id)}", ""]
    published = s.published or s.published_period or (f"unknown ('{s.published_as_written}')" if s.published_as_written else None)
    meta = [("source id", s.id), ("outlet", s.outlet), ("type", s.outlet_type), ("published", published), ("url", s.url), ("sha256", s.sha256[:16] + "…")]
    lines.append(md_block(" · ".join(f"{k}: {v}" for k, v in meta if v not in (None, "unknown"))))
    lines.append("")
    if s.warnings:
        lines += [f"> ⚠ {md_block(w)}" for w in s.warnings] + [""]
    if report.events:
        lines += ["### Events", "", "| id | type | date | where | status | summary |", "|---|---|---|---|---|---|"]
        for e in report.events:
            if e.date_start:
                when = e.date_start.isoformat() + (f" – {e.date_end.isoformat()}" if e.date_end and e.date_end != e.date_start else "")
            else:
                when = f"“{_cell(e.date_as_written)}” (unresolved)" if e.date_as_written else "not stated"
            where = "; ".join(_cell(loc.name) for loc in e.locations)
            lines.append(f"| {_cell(e.id)} | {_cell(e.event_type)} / {_cell(e.sub_event_type)} | {when} | {where} | {_cell(e.status)} | {_cell(e.summary)} |")
        lines.append("")
    if report.figures:
        lines += ["### Figures", "", "| id | value | scope | said by | reported by | quote |", "|---|---|---|---|---|---|"]
        for f in report.figures:
            lines.append(
                f"| {_cell(f.id)} | {_cell(figure_value(f))} | {_cell(figure_scope(f))} | {_cell(f.attributed_to)} | {_cell(f.reported_by)} "
                f"| “{_cell(f.evidence.quote)}” [{f.evidence.start}:{f.evidence.end}] |"
            )
        lines.append("")
    if report.claims:
        lines += ["### Claims", ""]
        for c in report.claims:
            terms = f" (loaded terms: {_md(', '.join(c.loaded_terms))})" if c.loaded_terms else ""
            gloss = f" (English: {_md(c.gloss)})" if c.gloss else ""
            lines.append(f"- **{_md(c.id)}** {md_block(c.text)}{terms}  \n  “{_md(c.evidence.quote)}” [{c.evidence.start}:{c.evidence.end}]{gloss}")
        lines.append("")
    if report.actors:
        lines += ["### Actors", ""]
        lines += [f"- {md_block(a.name)} → {_md(a.canonical_name)} ({_md(a.actor_type)})" for a in report.actors]
        lines.append("")
    lines += ["### Checks", ""]
    lines += [f"- {'✓' if c.passed else '✗'} **{_md(c.name)}**: {_md(c.detail)}" + "".join(f"\n  - {md_block(x)}" for x in c.failures) for c in report.checks]
    if report.dropped:
        lines += ["", "### Dropped (not verified, not in the output above)", ""]
        lines += [f"- {md_block(d.kind)}: {_md(d.reason)}" for d in report.dropped]
    p = report.provenance
    lines += [
        "",
        f"_Provenance: model {_md(p.model)} via {_md(p.endpoint)} ({p.mode}); prompts "
        + ", ".join(f"{r.name} v{r.version} ({r.sha256[:12]})" for r in p.prompts)
        + f"; {p.usage.total_tokens} tokens over {counted(p.usage.attempts, 'answer')}, {counted(p.usage.requests, 'request')}; cost "
        + cost_text(p.usage)
        + "._",
        "",
    ]
    return "\n".join(lines)


def extraction_markdown(out: ExtractionOutput) -> str:
    parts = ["# Source reports", ""]
    parts += [report_markdown(r) for r in out.reports]
    if out.failed:
        parts += ["## Failed items", ""] + [f"- {md_block(f.item)} ({_md(f.stage)}, {_md(f.error)}): {_md(f.message)}" for f in out.failed] + [""]
    return "\n".join(parts)


def extraction_json(out: ExtractionOutput) -> str:
    return out.model_dump_json(indent=2) + "\n"


def extraction_jsonl(out: ExtractionOutput) -> str:
    return "".join(json.dumps(r.model_dump(mode="json"), ensure_ascii=False) + "\n" for r in out.reports)


CALL_COLUMNS = ("run_id", "time", "stage", "item", "prompt", "prompt_sha", "model", "prompt_tokens", "completion_tokens", "latency_ms", "outcome", "status")


def calls_text(calls: list[dict[str, Any]], fmt: str) -> str:
    """The run log as a table (columns aligned by display width, wide characters too), JSONL or CSV."""
    rows = [{k: c.get(k) for k in CALL_COLUMNS} for c in calls]
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CALL_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    table = [("time", "stage", "item", "prompt", "tokens", "ms", "outcome")]
    for r in rows:
        latency = "" if r["latency_ms"] is None else f"{float(r['latency_ms']):.0f}"
        prompt = f"{r['prompt'] or ''}:{(r['prompt_sha'] or '')[:6]}"
        tokens = f"{r['prompt_tokens'] or 0}+{r['completion_tokens'] or 0}"
        table.append((str(r["time"] or ""), str(r["stage"] or ""), clip(str(r["item"] or ""), 40), prompt, tokens, latency, str(r["outcome"] or "")))
    widths = [max(cells(row[i]) for row in table) for i in range(7)]
    right = (False, False, False, False, True, True, False)  # numbers line up on their last digit
    lines = ["  ".join(pad(cell, w, r) for cell, w, r in zip(row, widths, right, strict=True)).rstrip() for row in table]
    ok = sum(1 for r in rows if r["outcome"] == "ok")
    total_tokens = sum(int(r["prompt_tokens"] or 0) + int(r["completion_tokens"] or 0) for r in rows)
    lines.append(f"{len(rows)} calls, {ok} ok, {len(rows) - ok} failed, {total_tokens:,} tokens")
    return "\n".join(lines) + "\n"


def cells(text: str) -> int:
    """The columns ``text`` takes in a terminal: wide (CJK) characters two, combining marks none."""
    return sum(0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns, with an ellipsis when cut."""
    if cells(text) <= width:
        return text
    while cells(text) > width - 1:
        text = text[:-1]
    return text + "…"


def pad(text: str, width: int, right: bool = False) -> str:
    fill = " " * (width - cells(text))
    return fill + text if right else text + fill
