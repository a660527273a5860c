"""Render a Briefing as Markdown. Pure function of the model."""

from __future__ import annotations

import re
from collections.abc import Iterable

from summarize.gate.lexicon import quoted_spans
from summarize.models.briefing import Briefing, FigureComparison, Sentence, TerminologyNote
from summarize.reconcile.common import DESIGNATION_RENDERING, and_list
from summarize.render.escape import md_block as _line
from summarize.render.escape import md_cell as _cell
from summarize.render.escape import md_inline as _md
from summarize.render.reports import cost_text, entry_flags, format_value
from summarize.words import counted


def _failure(text: str) -> str:
    return _line(text).replace("|", "\\|")  # pipes were always escaped here; kept so outputs do not change


def _refs(b: Briefing) -> dict[str, str]:
    return {s.id: f"S{i}" for i, s in enumerate(b.sources, 1)}


def cites(ids: Iterable[str], refs: dict[str, str], escape: bool = True) -> str:
    """Claim ids as the briefing shows them everywhere: grouped by source, '[S2: f1, f2] [S3: f1]'."""
    by_source: dict[str, list[str]] = {}
    for cid in ids:
        sid, _, local = cid.partition(":")
        if sid in refs:
            by_source.setdefault(sid, []).append(local)
    show = _cell if escape else str
    ordered = sorted(by_source.items(), key=lambda kv: int(refs[kv[0]][1:]) if refs[kv[0]][1:].isdigit() else 0)
    return " ".join(f"[{refs[sid]}: {show(', '.join(dict.fromkeys(local)))}]" for sid, local in ordered)


def shown_ids(text: str, refs: dict[str, str]) -> str:
    """``text`` with every claim id of the briefing's sources ('monitor-digest:f1') written as the briefing cites it ('[S2: f1]')."""
    if not refs:
        return text
    names = "|".join(re.escape(sid) for sid in sorted(refs, key=len, reverse=True))
    return re.sub(rf"(?<![\w:-])({names}):([a-z]+\d+)\b", lambda m: cites([m.group()], refs, escape=False), text)


def _cite_ids(ids: Iterable[str], refs: dict[str, str]) -> str:
    shown = cites(ids, refs)
    return " " + shown if shown else ""


def _cite(s: Sentence, refs: dict[str, str]) -> str:
    return _cite_ids(s.claim_ids, refs)


def glossed(text: str, glosses: dict[str, str]) -> str:
    """``text`` with an English gloss after each quotation of a non-English loaded term, unless the text glosses it already."""
    if not glosses:
        return text
    out, at = [], 0
    for start, end in quoted_spans(text):
        terms = [t for t in glosses if re.search(rf"(?<!\w){re.escape(t)}(?!\w)", text[start:end])]
        close = end + 1 if end < len(text) else end
        if not terms or text[close:].lstrip().startswith("("):
            continue
        out += [text[at:close], " (English: " + "; ".join(dict.fromkeys(glosses[t] for t in terms)) + ")"]
        at = close
    return "".join(out) + text[at:]


def _term_note(t: TerminologyNote, refs: dict[str, str], glosses: dict[str, str]) -> str:
    gloss = f" (English: {_md(glosses[t.term])})" if t.term in glosses else ""
    via = f", according to {_md(and_list(t.reported_by))}" if t.reported_by else ""
    kind = "is a designation by" if t.neutral_rendering == DESIGNATION_RENDERING else "is used by"
    return f"- “{_md(t.term)}”{gloss} {kind} {_md(t.used_by)}{via} {cites(t.claim_ids, refs)}; neutral rendering: {_md(t.neutral_rendering)}"


def _comparison(c: FigureComparison, refs: dict[str, str], source_names: dict[str, str]) -> list[str]:
    if c.disagreement:
        status = "disagreement"
    elif any(e.earlier for e in c.entries):
        status = "later figures supersede earlier counts of a rising toll"
    elif any(e.superseded for e in c.entries):
        status = "one claimant, which updated its figure"
    elif any(e.status != "current" for e in c.entries):
        status = "figures revised, withdrawn or denied are not set against current ones"
    elif c.comparable:
        status = "agreement"
    else:
        status = "one claimant, which revised its figure" if len(c.entries) > 1 else "single claimant, nothing to compare"
    lines = [f"### {_line(c.label)}", "", f"{counted(c.claimants, 'independent claimant')}; {status}.", ""]
    lines += ["| claimant | value | time window | carried by | figures |", "|---|---|---|---|---|"]
    for e in c.entries:
        value = _cell(format_value(e.value, e.low, e.high, e.qualifier, e.vague_word))
        value += "".join(f" ({_cell(flag)})" for flag in entry_flags(e))
        carried = ", ".join(f"{_cell(source_names.get(s, s))} [{_cell(refs.get(s, s))}]" for s in e.source_ids)
        ids = cites(e.derived_from or e.figure_ids, refs)
        lines.append(f"| {_cell(e.claimant)} | {value} | {_cell(e.time_window or 'not stated')} | {carried} | {ids} |")
    lines.append("")
    if c.derived and sum(1 for e in c.entries if not e.derived_from and e.current) >= 2:
        d = c.derived
        lines.append(
            f"Derived, not a verdict: ACLED-style conservative {d.acled_conservative}; UCDP-style low {d.ucdp_low}, high {d.ucdp_high}. {_md(d.rule_text)}"
        )
        lines.append("")
    lines += [f"- {_line(n)}" for n in c.notes]
    if c.notes:
        lines.append("")
    return lines


def briefing_markdown(b: Briefing) -> str:
    refs = _refs(b)
    names = {s.id: s.outlet or s.id for s in b.sources}
    rec = b.reconciled
    lines: list[str] = []
    lines.append(f"# {_line(b.headline.text)}{_cite(b.headline, refs)}" if b.headline else "# (headline withheld: it failed the checks)")
    dates = sorted(s.published.isoformat() for s in b.sources if s.published)
    lines += [
        "",
        f"_Briefing from {counted(len(b.sources), 'source')}"
        + (f", published {dates[0]} to {dates[-1]}" if dates else "")
        + ". Every sentence cites the claims it rests on; [S2: f1] is figure f1 of source S2._",
        "",
    ]
    if not b.verified:
        failed = _md(", ".join(c.name for c in b.checks if not c.passed))
        lines += [f"> **Checks failed: {failed}.** Sentences that failed were removed; see Checks below.", ""]
    gl = b.glosses
    lines += [" ".join(_line(glossed(s.text, gl)) + _cite(s, refs) for s in b.lead), ""]
    if b.key_points:
        lines += ["## Key points", ""] + [f"- {_line(glossed(s.text, gl))}{_cite(s, refs)}" for s in b.key_points] + [""]
    if rec.comparisons:
        lines += [
            "## Figures by scope",
            "",
            "Figures are compared only within one scope: the same event, what is counted, whose dead, which side, and counts apart from estimates "
            "and projections.",
            "",
        ]
        others = [i for i in rec.incidents if not i.main]
        if others:
            lines += ["Other events the sources mention, whose figures are listed apart:", ""]
            lines += [f"- {_line(i.label)} ({_md(', '.join(refs.get(s, s) for s in i.source_ids))})" for i in others] + [""]
        for c in rec.comparisons:
            lines += _comparison(c, refs, names)
    if rec.disagreements:
        lines += ["## Disagreements", ""]
        for d in rec.disagreements:
            lines += [f"### {_line(d.topic)} ({_md(d.kind)}, {_md(d.status)})", ""]
            lines += ["| " + " | ".join(_cell(p.claimant) for p in d.positions) + " |", "|" + "---|" * len(d.positions)]
            lines += ["| " + " | ".join(_cell(p.statement) for p in d.positions) + " |", ""]
            lines += [f"- Possible explanation: {_md(e)}" for e in d.possible_explanations] + [""]
    if rec.not_comparable:
        lines += ["## Not comparable", ""]
        lines += [f"- {_line(', '.join(n.claimants))}: {_md(n.reason)} {cites(n.figure_ids, refs)}" for n in rec.not_comparable] + [""]
    if rec.sum_checks:
        lines += ["## Internal consistency", ""] + [f"- {'✓' if s.consistent else '✗'} {_md(s.claimant)}: {_md(s.note)}" for s in rec.sum_checks] + [""]
    if rec.consensus:
        lines += ["## Consensus", ""]
        for point in rec.consensus:
            lines.append(
                f"- {_line(point.text)} — {counted(point.n_independent_claimants, 'independent claimant')} ({_md(', '.join(point.claimants))}), "
                f"carried by {counted(len(point.source_ids), 'source')} {cites(point.claim_ids, refs)}"
            )
        lines.append("")
    elif sum(1 for s in b.sources if s.claims or s.figures) >= 2:
        lines += ["## Consensus", "", "No figure or statement is given by two or more independent claimants.", ""]
    if b.timeline:
        lines += ["## Timeline", ""] + [f"- **{_md(s.when)}**: {_md(glossed(s.text, gl))}{_cite(s, refs)}" for s in b.timeline] + [""]
    if b.context:
        lines += ["## Context", ""] + [f"- {_line(glossed(s.text, gl))}{_cite(s, refs)}" for s in b.context] + [""]
    if rec.terminology:
        lines += ["## Terminology", ""] + [_term_note(t, refs, gl) for t in rec.terminology] + [""]
    if rec.gaps:
        lines += ["## Gaps: what no source establishes", ""] + [f"- {_line(g.question)} {_md(g.why_unknown)}".strip() for g in rec.gaps] + [""]
    lines += ["## Sources", ""]
    for s in b.sources:
        meta = ", ".join(
            _md(x)
            for x in (s.outlet_type if s.outlet_type != "unknown" else "", s.affiliation or "", str(s.published) if s.published else "no publication date")
            if x
        )
        cited = "" if s.cited else " — **not cited in the text**"
        url = " " + _md(s.url) if s.url else ""
        counts = f"{counted(s.claims, 'claim')}, {counted(s.figures, 'figure')}"
        lines.append(f"- [{refs[s.id]}] {_md(s.outlet or s.id)}: {_md(s.title or s.id)} ({meta}; {counts}){url}{cited}")
    lines += ["", "## Checks", ""]
    lines += [
        f"- {'✓' if c.passed else '✗'} **{_md(c.name)}**: {_md(shown_ids(c.detail, refs))}"
        + "".join(f"\n  - {_failure(shown_ids(x, refs))}" for x in c.failures)
        for c in b.checks
    ]
    if b.removed:
        lines += ["", "## Removed sentences (failed the checks; not part of the briefing)", ""]
        lines += [f"- ~~{_cell(r.text)}~~{_cite_ids(r.claim_ids, refs)} — " + _md(shown_ids("; ".join(r.problems), refs)) for r in b.removed]
    p = b.provenance
    cost = cost_text(p.usage)
    lines += [
        "",
        "## Provenance",
        "",
        f"- model {_md(p.model)} via {_md(p.endpoint)} ({p.mode}); schema {p.schema_version}; summarize {p.tool_version}",
        "- prompts: " + ", ".join(f"{r.name} v{r.version} ({r.sha256[:12]})" for r in p.prompts),
        f"- usage over all calls and attempts: {p.usage.prompt_tokens} prompt + {counted(p.usage.completion_tokens, 'completion token')}, "
        f"{counted(p.usage.attempts, 'answer')}, {counted(p.usage.requests, 'request')}; cost {cost}",
        "",
    ]
    return "\n".join(lines)
