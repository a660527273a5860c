"""Re-verify a saved briefing with no model call: the sources it carries, the reconciliation
derived from them, and every gate on the sentences it presents."""

from __future__ import annotations

import hashlib
from pathlib import Path

from summarize.aliases import load_aliases
from summarize.brief.writer import BriefOptions, briefing_languages
from summarize.gate.gates import build_index, run_gates
from summarize.gate.lexicon import load_lexicon
from summarize.models.briefing import BriefDraft, Briefing, SentenceDraft, TimelineDraft
from summarize.models.report import CheckResult
from summarize.reconcile.story import reconcile
from summarize.words import counted


def _evidence_check(b: Briefing) -> CheckResult:
    failures = []
    total = 0
    for report in b.reports:
        text = report.source.text
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != report.source.sha256:
            failures.append(f"{report.source.id}: text does not match its sha256")
        items = [f.evidence for f in report.figures] + [c.evidence for c in report.claims] + [e for ev in report.events for e in ev.evidence]
        for ev in items:
            total += 1
            if text[ev.start : ev.end] != ev.quote:
                failures.append(f"{report.source.id} [{ev.start}:{ev.end}]: quote differs from the source text: {ev.quote[:80]!r}")
    equal = "equals its" if total == 1 else "equal their"
    detail = f"{total - len(failures)} of {counted(total, 'quote')} {equal} source span"
    return CheckResult(name="evidence_in_sources", passed=not failures, detail=detail, failures=failures)


def recheck(b: Briefing, options: BriefOptions) -> list[CheckResult]:
    # the alias packs and files the briefing was reconciled with, unless the user names others
    packs = [t.removeprefix("pack:") for t in b.reconciled.alias_tables if t.startswith("pack:")]
    files = [t for t in b.reconciled.alias_tables if not t.startswith("pack:")]
    extra = options.aliases or (Path(files[-1]) if files and Path(files[-1]).is_file() else None)
    rec = reconcile(b.reports, load_aliases(extra, packs=packs if options.aliases is None else ()))
    same = rec.model_dump() == b.reconciled.model_dump()
    checks = [
        _evidence_check(b),
        CheckResult(
            name="reconciliation_reproduced",
            passed=same,
            detail=(
                "figure tables, disagreements and checks re-derived from the sources match the briefing"
                if same
                else "the briefing's tables differ from what its sources give"
            ),
            failures=[] if same else ["re-run `summarize brief --reports` to regenerate the tables"],
        ),
    ]
    empty = SentenceDraft(text="", claim_ids=[])
    draft = BriefDraft(
        headline=SentenceDraft(text=b.headline.text, claim_ids=b.headline.claim_ids) if b.headline else empty,
        lead=[SentenceDraft(text=s.text, claim_ids=s.claim_ids) for s in b.lead],
        key_points=[SentenceDraft(text=s.text, claim_ids=s.claim_ids) for s in b.key_points],
        timeline=[TimelineDraft(when=s.when or "", text=s.text, claim_ids=s.claim_ids) for s in b.timeline],
        context=[SentenceDraft(text=s.text, claim_ids=s.claim_ids) for s in b.context],
    )
    gate = run_gates(draft, build_index(b.reports, rec), load_lexicon(briefing_languages(b.reports), options.terms))
    for check in gate.checks:
        if b.headline is None:
            # a withheld headline is absent, not uncited
            check = check.model_copy(update={"failures": [f for f in check.failures if not f.startswith("headline")]})
            check = check.model_copy(update={"passed": not check.failures})
        checks.append(check)
    return checks
