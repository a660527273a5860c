"""Write a briefing from validated claims, gate it, and keep only what passes.

The model sees the reconciled claims with ids, never the raw articles, so the prompt grows
with the number of claims, not with article length. Its draft goes through the gates in
gates.py; failures are re-asked with precise messages; sentences that still fail are removed
and listed, and the failed checks stay in the output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from summarize.aliases import load_aliases, story_aliases
from summarize.brief.timeline import complete_timeline
from summarize.config import Settings
from summarize.errors import InputError
from summarize.extract.budget import fits_context
from summarize.extract.extractor import provenance
from summarize.gate.gates import ClaimIndex, build_index, run_gates
from summarize.gate.lexicon import Lexicon, available_languages, gloss_of, load_lexicon
from summarize.llm.client import CallLabel, verifying
from summarize.llm.prompts import load_prompt
from summarize.llm.protocol import StructuredModel
from summarize.models.briefing import BriefDraft, Briefing, Reconciled, RemovedSentence, Sentence, SourceSummary
from summarize.models.report import CheckResult, PromptRef, SourceReport, Usage
from summarize.reconcile.story import reconcile
from summarize.render.reports import entry_flags, format_value
from summarize.words import counted


@dataclass(frozen=True)
class BriefOptions:
    language: str = "English"
    terms: tuple[Path, ...] = ()
    aliases: Path | None = None


def briefing_languages(reports: Sequence[SourceReport]) -> list[str]:
    """Lexicons for every language present; English first, so its renderings win on shared patterns."""
    found = {(r.source.language or "en").lower()[:2] for r in reports} & set(available_languages())
    return ["en", *sorted(found - {"en"})]


def format_sources(reports: Sequence[SourceReport]) -> str:
    lines = []
    for r in sorted(reports, key=lambda r: r.source.id):
        s = r.source
        bits = [
            s.outlet or s.id,
            s.outlet_type if s.outlet_type != "unknown" else "",
            f"published {s.published}" if s.published else "no date",
            s.affiliation or "",
        ]
        lines.append(f"- {s.id}: " + "; ".join(b for b in bits if b))
    return "\n".join(lines)


def format_claims(reports: Sequence[SourceReport], rec: Reconciled) -> str:
    """The claim table the model writes from, one line per item, ids first."""
    out = ["FIGURES BY SCOPE (only figures in the same scope are comparable)"]
    for comp in rec.comparisons:
        status = (
            "disagreement"
            if comp.disagreement
            else "earlier counts superseded"
            if any(e.earlier for e in comp.entries)
            else ("agree" if comp.comparable else "single claimant")
        )
        out.append(f"* {comp.label} [{status}]")
        for e in comp.entries:
            window = f", {e.time_window}" if e.time_window else ""
            if e.derived_from:
                out.append(f"  - {e.claimant}: {e.value} (derived: {e.rule}) [{', '.join(e.derived_from)}]")
            else:
                shown = format_value(e.value, e.low, e.high, e.qualifier, e.vague_word)
                earlier = f" (EARLIER COUNT of {e.as_of}: a rising toll, superseded by later figures)" if e.earlier else ""
                flags = "".join(f" ({f.upper()})" for f in entry_flags(e) if not f.startswith("earlier count"))
                out.append(f"  - {e.claimant}: {shown}{window}{earlier}{flags}; carried by {', '.join(e.reported_by)} [{', '.join(e.figure_ids)}]")
    for nc in rec.not_comparable:
        out.append(f"  NOT COMPARABLE: {' vs '.join(nc.figure_ids)}: {nc.reason}")
    for sc in rec.sum_checks:
        out.append(f"  SUM CHECK {sc.claimant}: {sc.note} ({'consistent' if sc.consistent else 'inconsistent'})")
    out.append("")
    out.append("CLAIMS")
    for r in sorted(reports, key=lambda r: r.source.id):
        for c in r.claims:
            terms = f" (speaker's loaded terms: {', '.join(c.loaded_terms)})" if c.loaded_terms else ""
            gloss = f" (English: {c.gloss})" if c.gloss else ""
            out.append(f'- [{c.id}] {c.attributed_to}: {c.text}{terms} | quote: "{c.evidence.quote}"{gloss}')
    out.append("")
    out.append("EVENTS")
    for r in sorted(reports, key=lambda r: r.source.id):
        for ev in r.events:
            when = ev.date_start.isoformat() if ev.date_start else f"'{ev.date_as_written}' (unresolved)" if ev.date_as_written else "date not stated"
            if ev.date_end and ev.date_start and ev.date_end != ev.date_start:
                when += f" to {ev.date_end.isoformat()}"
            out.append(f"- [{ev.id}] {when}: {ev.summary}")
    if rec.terminology:
        out.append("")
        out.append("TERMINOLOGY (loaded terms; use only inside attributed quotes)")
        out += [
            f'- "{t.term}" used by {t.used_by}'
            + (f" (reported by {', '.join(t.reported_by)})" if t.reported_by else "")
            + f" [{', '.join(t.claim_ids)}]; neutral: {t.neutral_rendering}"
            for t in rec.terminology
        ]
    if rec.gaps:
        out.append("")
        out.append("NOT ESTABLISHED BY ANY SOURCE")
        out += [f"- {g.question}" for g in rec.gaps]
    return "\n".join(out)


def _sentences(draft: BriefDraft, index: ClaimIndex, problems: dict[tuple[str, int], list[str]]) -> tuple[dict[str, list[Sentence]], list[RemovedSentence]]:
    kept: dict[str, list[Sentence]] = {"headline": [], "lead": [], "key_points": [], "timeline": [], "context": []}
    removed: list[RemovedSentence] = []
    items: list[tuple[str, int, str, list[str], str | None]] = [("headline", 0, draft.headline.text, draft.headline.claim_ids, None)]
    for section in ("lead", "key_points", "context"):
        items += [(section, i, s.text, s.claim_ids, None) for i, s in enumerate(getattr(draft, section))]
    items += [("timeline", i, t.text, t.claim_ids, t.when) for i, t in enumerate(draft.timeline)]
    for section, i, text, ids, when in items:
        found = problems.get((section, i), [])
        if found:
            removed.append(RemovedSentence(section=section, text=text if when is None else f"{when}: {text}", claim_ids=ids, problems=found))
            continue
        sources = sorted({index.source_of[c] for c in ids if c in index.source_of})
        kept[section].append(Sentence(section=section, text=text, claim_ids=ids, when=when, source_ids=sources, status="verified"))  # type: ignore[arg-type]
    return kept, removed


def term_glosses(texts: Iterable[str], lexicon: Lexicon, reports: Sequence[SourceReport] | None = None) -> dict[str, str]:
    """English glosses of the loaded terms in ``texts`` whose lexicon entry has one, term as written -> gloss.

    Given the reports, only words a non-English source wrote are glossed, so an English word that
    shares a pattern with a French one ('terroris*') is not glossed with itself."""
    foreign = None if reports is None else [r.source.text.casefold() for r in reports if not (r.source.language or "en").casefold().startswith("en")]
    return {
        matched: gloss
        for text in texts
        for matched, _, _, term in lexicon.find_terms(text)
        if (foreign is None or any(matched.casefold() in t for t in foreign)) and (gloss := gloss_of(matched, term))
    }


def _summaries(reports: Sequence[SourceReport], cited: set[str]) -> list[SourceSummary]:
    return [
        SourceSummary(
            id=r.source.id,
            outlet=r.source.outlet,
            outlet_type=r.source.outlet_type,
            affiliation=r.source.affiliation,
            title=r.source.title,
            url=r.source.url,
            published=r.source.published,
            sha256=r.source.sha256,
            claims=len(r.claims),
            figures=len(r.figures),
            cited=r.source.id in cited,
        )
        for r in sorted(reports, key=lambda r: r.source.id)
    ]


def brief_reports(
    reports: Sequence[SourceReport], llm: StructuredModel, settings: Settings, options: BriefOptions | None = None, *, story: str = "briefing"
) -> Briefing:
    """One gated briefing from the reports; its provenance counts the extractions' usage and the brief call's."""
    return brief_with_usage(reports, llm, settings, options, story=story)[0]


def brief_with_usage(
    reports: Sequence[SourceReport], llm: StructuredModel, settings: Settings, options: BriefOptions | None = None, *, story: str = "briefing"
) -> tuple[Briefing, Usage]:
    """The briefing, and the usage of the brief call alone (what a batch adds to its extractions' total)."""
    options = options or BriefOptions()
    if not reports:
        raise InputError("nothing to brief: no source produced a report")
    reports = sorted(reports, key=lambda r: r.source.id)
    rec = reconcile(reports, load_aliases(options.aliases or story_aliases(r.source.path for r in reports)))
    index = build_index(reports, rec)
    lexicon: Lexicon = load_lexicon(briefing_languages(reports), options.terms)
    prompt = load_prompt("brief", settings.prompts_dir)
    messages = prompt.render(language=options.language, sources=format_sources(reports), claims=format_claims(reports, rec))
    fits_context(messages, BriefDraft, settings, what=f"briefing {story}")
    with verifying(lambda d: run_gates(d, index, lexicon).reask_text()):
        result = llm.structured(BriefDraft, messages, label=CallLabel("brief", story, prompt.name, prompt.sha256))
    gate = run_gates(result.value, index, lexicon)
    kept, removed = _sentences(result.value, index, gate.sentence_problems)
    kept["timeline"] = complete_timeline(kept["timeline"], rec, index, lexicon)
    cited = {sid for group in kept.values() for s in group for sid in s.source_ids}
    checks: list[CheckResult] = list(gate.checks)
    if removed:
        checks.append(
            CheckResult(
                name="sentences_removed",
                passed=False,
                detail=f"{counted(len(removed), 'sentence')} still failed after {counted(result.reasks, 're-ask')} and "
                + ("was removed" if len(removed) == 1 else "were removed"),
                failures=[f"{r.section}: {r.text}" for r in removed],
            )
        )
    usage = Usage()
    prompt_refs: dict[str, PromptRef] = {}
    for r in reports:
        usage = usage.add(r.provenance.usage)
        prompt_refs.update({p.sha256: p for p in r.provenance.prompts})
    usage = usage.add(result.usage)
    prov = provenance(settings, [prompt], usage)
    prov = prov.model_copy(update={"prompts": [*sorted(prompt_refs.values(), key=lambda p: p.name), prompt.ref]})
    briefing = Briefing(
        headline=kept["headline"][0] if kept["headline"] else None,
        lead=kept["lead"],
        key_points=kept["key_points"],
        timeline=kept["timeline"],
        context=kept["context"],
        reconciled=rec,
        sources=_summaries(reports, cited),
        checks=checks,
        removed=removed,
        provenance=prov,
        reports=list(reports),
        glosses=term_glosses([*(s.text for group in kept.values() for s in group), *(t.term for t in rec.terminology)], lexicon, reports)
        if options.language.casefold().startswith("en")
        else {},
    )
    return briefing, result.usage
