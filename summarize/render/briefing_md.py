"""Render a Briefing as Markdown. Pure function of the model."""

from __future__ import annotations

from summarize.models.briefing import Briefing, FigureComparison, Sentence
from summarize.render.escape import md_block as _line
from summarize.render.escape import md_cell as _cell
from summarize.render.escape import md_inline as _md
from summarize.render.reports import cost_text, entry_flags, format_value


def _failure(text: str) -> str:
    return _line(text).replace("|", "\\|")  # pipes were always escaped here; kept so outputs do not change


def _refs(b: Briefing) -> dict[str, str]:
    return {s.id: f"S{i}" for i, s in enumerate(b.sources, 1)}


def _cite(s: Sentence, refs: dict[str, str]) -> str:
    by_source: dict[str, list[str]] = {}
    for cid in s.claim_ids:
        sid, _, local = cid.partition(":")
        if sid in refs:
            by_source.setdefault(sid, []).append(local)
    return " " + " ".join(f"[{refs[sid]}: {_md(', '.join(ids))}]" for sid, ids in sorted(by_source.items(), key=lambda kv: refs[kv[0]])) if by_source else ""


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
    lines = [f"### {_line(c.label)}", "", f"{c.claimants} independent claimant(s); {status}.", ""]
    lines += ["| claimant | value | time window | carried by | figures |", "|---|---|---|---|---|"]
    for e in c.entries:
        value = _cell(format_value(e.value, e.low, e.high, e.qualifier, e.vague_word))
        value += "".join(f" ({_cell(flag)})" for flag in entry_flags(e))
        carried = ", ".join(f"{_cell(source_names.get(s, s))} [{_cell(refs.get(s, s))}]" for s in e.source_ids)
        ids = ", ".join(e.derived_from or e.figure_ids)
        lines.append(f"| {_cell(e.claimant)} | {value} | {_cell(e.time_window or 'not stated')} | {carried} | {_cell(ids)} |")
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
        f"_Briefing from {len(b.sources)} sources"
        + (f", published {dates[0]} to {dates[-1]}" if dates else "")
        + ". Every sentence cites the claims it rests on; [S2: f1] is figure f1 of source S2._",
        "",
    ]
    if not b.verified:
        failed = _md(", ".join(c.name for c in b.checks if not c.passed))
        lines += [f"> **Checks failed: {failed}.** Sentences that failed were removed; see Checks below.", ""]
    lines += [" ".join(_line(s.text) + _cite(s, refs) for s in b.lead), ""]
    if b.key_points:
        lines += ["## Key points", ""] + [f"- {_line(s.text)}{_cite(s, refs)}" for s in b.key_points] + [""]
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
        lines += [f"- {_line(', '.join(n.claimants))}: {_md(n.reason)} ({_md(', '.join(n.figure_ids))})" for n in rec.not_comparable] + [""]
    if rec.sum_checks:
        lines += ["## Internal consistency", ""] + [f"- {'✓' if s.consistent else '✗'} {_md(s.claimant)}: {_md(s.note)}" for s in rec.sum_checks] + [""]
    if rec.consensus:
        lines += ["## Consensus", ""]
        for point in rec.consensus:
            lines.append(
                f"- {_line(point.text)} — {point.n_independent_claimants} independent claimant(s) ({_md(', '.join(point.claimants))}), "
                f"carried by {len(point.source_ids)} source(s)"
            )
        lines.append("")
    if b.timeline:
        lines += ["## Timeline", ""] + [f"- **{_md(s.when)}**: {_md(s.text)}{_cite(s, refs)}" for s in b.timeline] + [""]
    if b.context:
        lines += ["## Context", ""] + [f"- {_line(s.text)}{_cite(s, refs)}" for s in b.context] + [""]
    if rec.terminology:
        lines += ["## Terminology", ""]
        lines += [
            f"- “{_md(t.term)}” is used by {_md(t.used_by)} ({_md(', '.join(refs.get(s, s) for s in t.source_ids))}); "
            f"neutral rendering: {_md(t.neutral_rendering)}"
            for t in rec.terminology
        ]
        lines.append("")
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
        lines.append(f"- [{refs[s.id]}] {_md(s.outlet or s.id)}: {_md(s.title or s.id)} ({meta}; {s.claims} claims, {s.figures} figures){url}{cited}")
    lines += ["", "## Checks", ""]
    lines += [f"- {'✓' if c.passed else '✗'} **{_md(c.name)}**: {_md(c.detail)}" + "".join(f"\n  - {_failure(x)}" for x in c.failures) for c in b.checks]
    if b.removed:
        lines += ["", "## Removed sentences (failed the checks; not part of the briefing)", ""]
        lines += [f"- ~~{_cell(r.text)}~~ — " + _md("; ".join(r.problems)) for r in b.removed]
    p = b.provenance
    cost = cost_text(p.usage)
    lines += [
        "",
        "## Provenance",
        "",
        f"- model {_md(p.model)} via {_md(p.endpoint)} ({p.mode}); schema {p.schema_version}; summarize {p.tool_version}",
        "- prompts: " + ", ".join(f"{r.name} v{r.version} ({r.sha256[:12]})" for r in p.prompts),
        f"- usage over all calls and attempts: {p.usage.prompt_tokens} prompt + {p.usage.completion_tokens} completion tokens, "
        f"{p.usage.attempts} answers, {p.usage.requests} requests; cost {cost}",
        "",
    ]
    return "\n".join(lines)
