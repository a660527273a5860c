"""Evaluate runs against gold annotations (gold_models.GoldStory), offline or live, and compare two runs.

Every metric is a pure function of the gold, the source reports and, for briefings, the briefing.
An empty denominator scores 1.0 (nothing to find, nothing to get wrong).

* figures: the run's figures deduplicated by (metric, population, canonical party, canonical claimant,
  value/bounds/vague word), so two outlets carrying SOHR's 153 are one figure; precision, recall, F1.
* disagreements: each pair of claimants with different numbers inside one numeric disagreement is a
  conflict (scope, pair); recall and precision against the gold's pairs. Pairs across scopes or moments
  are false positives; a claimant revising its own figure is not a conflict between claimants.
* false comparisons: pairs set against each other inside a numeric disagreement whose gold figures count
  different incidents, have different bases (a projection against a count) or where one is not current
  (revised, withdrawn, denied); must be 0.
* factual disagreements: gold (aspect, claimant pair) conflicts over an event's cause or responsibility among
  the run's factual disagreements (recall).
* not comparable: gold look-alike pairs the run lists as not comparable (share), and those it sets
  against each other inside a disagreement (count); sides match on claimant and value.
* terminology: gold (term, speaker) pairs among the terminology notes; terms match when one contains the other.
* quotes verbatim: evidence with ``quote == source.text[start:end]``.
* briefing text, over every sentence of the model's final answer including those the gates removed (so a
  model needing removals scores lower): numbers traceable and loaded terms outside attributed quotes, as
  the gates judge them; gold must-not-state patterns outside quotation marks in a sentence naming none of
  the rule's allowed claimants; sentences removed.
* coverage: per source, the share of its gold figures and key facts kept, minimum over sources. A key fact
  is kept when a claim or event summary of that source scores KEY_FACT_MIN_SCORE or more (rapidfuzz
  token_set_ratio, case and punctuation ignored); for a briefing only items its sentences cite count.
* order invariance: share of ORDER_SHUFFLES seeded shuffles of the reports giving the same reconciled tables
  and the same claim table for the brief prompt. The brief model thus reads identical input in any article
  order; its own position bias would need repeated live runs and is not measured.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from itertools import combinations
from textwrap import shorten

from rapidfuzz import fuzz, utils

from summarize.aliases import Aliases, load_aliases, names_in, spellings
from summarize.brief.writer import BriefOptions, briefing_languages, format_claims, format_sources
from summarize.claimants import claimant_name
from summarize.evaluate.gold import (
    METRICS,
    GoldAmount,
    GoldFigure,
    GoldStory,
    StoryEval,
)
from summarize.gate.gates import NOT_A_COUNT, VAGUE_WORDS, build_index, run_gates
from summarize.gate.lexicon import Lexicon, load_lexicon, quoted_spans
from summarize.ground.numbers import numbers_in
from summarize.models.briefing import BriefDraft, Briefing, FigureComparison, FigureEntry, Reconciled, SentenceDraft
from summarize.models.report import Claim, FigureClaim, SourceReport
from summarize.reconcile.common import BASIS_CLASS
from summarize.reconcile.story import reconcile
from summarize.render.reports import format_value

Run = tuple[list[SourceReport], Briefing | None]  # the reports, and the briefing written from them if any
KEY_FACT_MIN_SCORE = 85  # paraphrases of one fact score 86-100 on the examples; another claim of the same speaker at most 82
ORDER_SHUFFLES = 5
ORDER_SEED = 0

Scope = tuple[str, str, str]
Amount = tuple[int | None, int | None, int | None, str | None]
FigureKey = tuple[str, str, str, str, int | None, int | None, int | None, str | None]


# --- keys -----------------------------------------------------------------------------------------


def _amount(a: GoldAmount | FigureClaim | FigureEntry) -> Amount:
    numbers = (a.value, a.low, a.high)
    return (*numbers, (a.vague_word or "").casefold() if numbers == (None, None, None) else None)


def _party(party: str | None, aliases: Aliases) -> str:
    return aliases.canonical(party) if party else ""


def claimant_of(item: FigureClaim | Claim, aliases: Aliases) -> str:
    # reconcile names an outlet's own voice after the outlet, and gold follows it
    return claimant_name(item.attributed_to, item.reported_by, aliases)


def figure_key(f: FigureClaim, aliases: Aliases) -> FigureKey:
    return (f.metric, f.population, _party(f.party, aliases), claimant_of(f, aliases), *_amount(f))


def gold_key(g: GoldFigure, aliases: Aliases) -> FigureKey:
    return (g.metric, g.population, _party(g.party, aliases), aliases.canonical(g.claimant), *_amount(g))


def _show(key: FigureKey) -> str:
    metric, population, party, claimant, value, low, high, vague = key
    return f"{claimant}: {metric}/{party or population} {format_value(value, low, high, 'exact', vague)}"


def prf(tp: int, predicted: int, gold: int) -> tuple[float, float, float]:
    precision = tp / predicted if predicted else 1.0
    recall = tp / gold if gold else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# --- metrics --------------------------------------------------------------------------------------


def _claimed(rec: Reconciled | None) -> dict[str, str]:
    """Figure id -> claimant for figures an outlet repeats in its own voice: that claimant's, as reconcile counts them."""
    return {i: e.claimant for c in (rec.comparisons if rec else []) for e in c.entries for i in e.figure_ids if e.repeated_by}


def _system_key(f: FigureClaim, aliases: Aliases, claimed: dict[str, str]) -> FigureKey:
    key = figure_key(f, aliases)
    return (*key[:3], claimed[f.id], *key[4:]) if f.id in claimed else key


def figure_scores(gold: GoldStory, reports: Sequence[SourceReport], aliases: Aliases, rec: Reconciled | None = None) -> tuple[float, float, float, list[str]]:
    claimed = _claimed(rec)
    system = {_system_key(f, aliases, claimed) for r in reports for f in r.figures}
    wanted = {gold_key(g, aliases) for g in gold.figures}
    details = [f"missing {_show(k)}" for k in sorted(wanted - system, key=str)] + [f"extra {_show(k)}" for k in sorted(system - wanted, key=str)]
    return (*prf(len(system & wanted), len(system), len(wanted)), details)


def _numeric(rec: Reconciled) -> list[FigureComparison]:
    # reconcile titles a numeric disagreement with its comparison's label; the comparison holds the values
    topics = {d.topic for d in rec.disagreements if d.kind == "numeric"}
    return [c for c in rec.comparisons if c.label in topics]


def disagreement_scores(gold: GoldStory, rec: Reconciled, aliases: Aliases) -> tuple[float, float, list[str]]:
    """(recall, precision, details) over conflicts: (scope, pair of claimants giving different numbers)."""
    system = {
        ((c.metric, c.population, _party(c.party, aliases)), frozenset((aliases.canonical(a.claimant), aliases.canonical(b.claimant))))
        for c in _numeric(rec)
        for a, b in combinations([e for e in c.entries if e.current], 2)
        if a.claimant != b.claimant and None not in (a.bounds(), b.bounds()) and a.bounds() != b.bounds()
    }
    wanted = {
        ((d.metric, d.population, _party(d.party, aliases)), frozenset((aliases.canonical(x), aliases.canonical(y))))
        for d in gold.disagreements
        for x, y in combinations(d.claimants, 2)
    }
    precision, recall, _ = prf(len(system & wanted), len(system), len(wanted))

    def show(conflict: tuple[Scope, frozenset[str]]) -> str:
        (metric, population, party), pair = conflict
        return f"{metric}/{party or population}: {' vs '.join(sorted(pair))}"

    details = [f"missing {show(c)}" for c in sorted(wanted - system, key=show)] + [f"wrong {show(c)}" for c in sorted(system - wanted, key=show)]
    return recall, precision, details


def false_comparisons(gold: GoldStory, rec: Reconciled, aliases: Aliases) -> tuple[int, list[str]]:
    """Pairs inside numeric disagreements whose gold figures differ in incident, basis class or status."""
    gold_of = {(g.metric, g.population, _party(g.party, aliases), aliases.canonical(g.claimant), *_amount(g)): g for g in gold.figures}
    found = []
    for c in _numeric(rec):
        entries = [e for e in c.entries if e.current]
        for a, b in combinations(entries, 2):
            ga, gb = (gold_of.get((c.metric, c.population, _party(c.party, aliases), aliases.canonical(e.claimant), *_amount(e))) for e in (a, b))
            if ga is None or gb is None or a.bounds() == b.bounds():
                continue
            why = [
                what
                for what, differs in (
                    ("incidents", ga.incident != gb.incident),
                    ("bases", BASIS_CLASS[ga.basis] != BASIS_CLASS[gb.basis]),
                    ("statuses", ga.status != "current" or gb.status != "current"),
                )
                if differs
            ]
            if why:
                found.append(f"{c.label}: {a.claimant} vs {b.claimant} (different {', '.join(why)})")
    return len(found), found


def factual_recall(gold: GoldStory, rec: Reconciled, aliases: Aliases) -> tuple[float, list[str]]:
    system = {
        (d.topic.split(":", 1)[0], frozenset((aliases.canonical(a.claimant), aliases.canonical(b.claimant))))
        for d in rec.disagreements
        if d.kind == "factual"
        for a, b in combinations(d.positions, 2)
    }
    wanted = {(g.aspect, frozenset((aliases.canonical(x), aliases.canonical(y)))) for g in gold.factual_disagreements for x, y in combinations(g.claimants, 2)}
    missing = [f"missing {aspect}: {' vs '.join(sorted(pair))}" for aspect, pair in sorted(wanted - system, key=str)]
    return (len(wanted & system) / len(wanted) if wanted else 1.0), missing


def not_comparable_scores(gold: GoldStory, rec: Reconciled, reports: Sequence[SourceReport], aliases: Aliases) -> tuple[float, int, list[str]]:
    """(share flagged as not comparable, number set against each other in a disagreement, details)."""
    figures = {f.id: f for r in reports for f in r.figures}
    # reconcile lists the subset's claimant first and the totals it must not be set against after it
    listed = [(nc.claimants[0], [(claimant_of(figures[i], aliases), _amount(figures[i])) for i in nc.figure_ids if i in figures]) for nc in rec.not_comparable]
    conflicts = [[(e.claimant, _amount(e)) for e in c.entries if e.current] for c in _numeric(rec)]
    flagged, conflated = [], []
    for pair in gold.not_comparable:
        a, b = ((aliases.canonical(s.claimant), _amount(s)) for s in (pair.a, pair.b))
        flagged.append(any(a in group and b in group and (a[0] == lead) != (b[0] == lead) for lead, group in listed))
        conflated.append(any(a in group and b in group for group in conflicts))
    outcomes = zip(gold.not_comparable, flagged, conflated, strict=True)
    details = [f"{'conflated' if c else 'not flagged'}: {p.a.claimant} vs {p.b.claimant} ({p.reason})" for p, f, c in outcomes if c or not f]
    return (sum(flagged) / len(flagged) if flagged else 1.0), sum(conflated), details


def terminology_recall(gold: GoldStory, rec: Reconciled, aliases: Aliases) -> tuple[float, list[str]]:
    wanted = [(t.term, aliases.canonical(who)) for t in gold.loaded_terms for who in t.used_by]

    def found(term: str, who: str) -> bool:
        folded = term.casefold()
        return any(n.used_by == who and (folded in n.term.casefold() or n.term.casefold() in folded) for n in rec.terminology)

    missing = [f'"{term}" used by {who}' for term, who in wanted if not found(term, who)]
    return ((len(wanted) - len(missing)) / len(wanted) if wanted else 1.0), missing


def verbatim_share(reports: Sequence[SourceReport]) -> tuple[float, list[str]]:
    total, wrong = 0, []
    for r in reports:
        spans = [f.evidence for f in r.figures] + [c.evidence for c in r.claims] + [a.evidence for a in r.actors] + [e for ev in r.events for e in ev.evidence]
        total += len(spans)
        wrong += [f"{r.source.id} [{e.start}:{e.end}]: {e.quote[:60]!r}" for e in spans if r.source.text[e.start : e.end] != e.quote]
    return ((total - len(wrong)) / total if total else 1.0), wrong


def same_fact(fact: str, text: str) -> bool:
    return fuzz.token_set_ratio(fact, text, processor=utils.default_process) >= KEY_FACT_MIN_SCORE


def coverage(
    gold: GoldStory, reports: Sequence[SourceReport], aliases: Aliases, cited: set[str] | None = None, rec: Reconciled | None = None
) -> tuple[dict[str, float | None], list[str]]:
    """Per source: share of its gold figures and key facts kept (only items in ``cited`` count, when given)."""
    by_source = {r.source.id: r for r in reports}
    keep: Callable[[str], bool] = (lambda _: True) if cited is None else cited.__contains__
    shares: dict[str, float | None] = {}
    missed = []
    for sid in gold.source_ids:
        report = by_source.get(sid)
        figures = {_system_key(f, aliases, _claimed(rec)) for f in report.figures if keep(f.id)} if report else set()
        texts = [c.text for c in report.claims if keep(c.id)] + [e.summary for e in report.events if keep(e.id)] if report else []
        items = [(f"figure {_show(gold_key(g, aliases))}", gold_key(g, aliases) in figures) for g in gold.figures if sid in g.source_ids]
        items += [(f"fact {k.text}", any(same_fact(k.text, t) for t in texts)) for k in gold.key_facts if sid in k.source_ids]
        shares[sid] = sum(ok for _, ok in items) / len(items) if items else None
        missed += [f"{sid}: {name}" for name, ok in items if not ok]
    return shares, missed


def _written(b: Briefing) -> list[tuple[str, list[str]]]:
    """Every sentence of the model's final answer, with the ones the gates removed."""
    shown = [(f"{s.when}: {s.text}" if s.when else s.text, s.claim_ids) for s in b.sentences()]
    return shown + [(r.text, r.claim_ids) for r in b.removed]


def text_checks(b: Briefing, lexicon: Lexicon) -> tuple[float, int, list[str], list[str]]:
    """(share of numbers traceable, loaded terms unattributed, and the failures of each), as the gates judge them."""
    written = _written(b)
    sentences = [SentenceDraft(text=t, claim_ids=ids) for t, ids in written]
    draft = BriefDraft(headline=SentenceDraft(text="", claim_ids=[]), lead=[], key_points=sentences, timeline=[], context=[])
    checks = {c.name: c for c in run_gates(draft, build_index(b.reports, b.reconciled), lexicon).checks}
    # counted as the gate counts them, which reports one failure per number or vague word
    total = sum(len(numbers_in(NOT_A_COUNT.sub(" ", t))) + len(VAGUE_WORDS.findall(t)) for t, _ in written)
    untraced, unattributed = checks["numbers_traceable"].failures, checks["loaded_terms_attributed"].failures
    return ((total - len(untraced)) / total if total else 1.0), len(unattributed), untraced, unattributed


def _outside_quotes(text: str) -> str:
    kept, at = [], 0
    for start, end in quoted_spans(text):
        kept.append(text[at:start])
        at = end
    return "".join([*kept, text[at:]])


def _names(claimants: Sequence[str], aliases: Aliases, seen: dict[str, str]) -> re.Pattern[str]:
    canonical = {aliases.canonical(c) for c in claimants}
    names = canonical | {n for n, c in seen.items() if c in canonical} | {n for n, c in aliases.names.items() if c in canonical}
    body = "|".join(r"\s+".join(map(re.escape, n.split())) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def must_not_state(gold: GoldStory, b: Briefing, aliases: Aliases) -> list[str]:
    violations = []
    for text, _ in _written(b):
        own = _outside_quotes(text)
        for rule in gold.must_not_state:
            allowed = rule.unless_attributed_to and _names(rule.unless_attributed_to, aliases, b.reconciled.aliases).search(own)
            if re.search(rule.pattern, own, re.IGNORECASE) and not allowed:
                violations.append(f"{rule.why}: “{shorten(text, 100, placeholder='…')}”")
    return violations


def order_invariance(reports: Sequence[SourceReport], aliases: Aliases, shuffles: int = ORDER_SHUFFLES, seed: int = ORDER_SEED) -> float:
    def view(order: list[SourceReport]) -> str:
        rec = reconcile(order, aliases)
        return rec.model_dump_json() + format_sources(order) + format_claims(order, rec)

    base, rng, same = view(list(reports)), random.Random(seed), 0
    for _ in range(shuffles):
        order = list(reports)
        rng.shuffle(order)
        same += view(order) == base
    return same / shuffles


# --- one story ------------------------------------------------------------------------------------


def evaluate_story(gold: GoldStory, reports: Sequence[SourceReport], aliases: Aliases, options: BriefOptions, briefing: Briefing | None = None) -> StoryEval:
    if gold.aliases:  # the story's packs, as its example directory's aliases.toml names them
        aliases = load_aliases(options.aliases, packs=gold.aliases)
    # spelling variants of one name (al-Ghaithi, Al Ghaithi) are one claimant, in the gold as in the run
    gold_names = [f.claimant for f in gold.figures] + [c for d in gold.disagreements for c in d.claimants]
    aliases = aliases.with_spellings(spellings([*names_in(reports), *gold_names]))
    rec = briefing.reconciled if briefing else reconcile(reports, aliases)
    m: dict[str, float | None] = {metric.name: None for metric in METRICS}
    d: dict[str, list[str]] = {}
    m["figure_precision"], m["figure_recall"], m["figure_f1"], d["figures"] = figure_scores(gold, reports, aliases, rec)
    m["disagreement_recall"], m["disagreement_precision"], d["disagreements"] = disagreement_scores(gold, rec, aliases)
    m["false_comparisons"], d["false_comparisons"] = false_comparisons(gold, rec, aliases)
    m["factual_disagreement_recall"], d["factual_disagreements"] = factual_recall(gold, rec, aliases)
    m["not_comparable_flagged"], m["not_comparable_conflated"], d["not_comparable"] = not_comparable_scores(gold, rec, reports, aliases)
    m["terminology_recall"], d["terminology"] = terminology_recall(gold, rec, aliases)
    m["quotes_verbatim"], d["quotes_verbatim"] = verbatim_share(reports)
    cited = {i for s in briefing.sentences() for i in s.claim_ids} if briefing else None
    shares, d["coverage"] = coverage(gold, reports, aliases, cited, rec)
    m["coverage_min"] = min((s for s in shares.values() if s is not None), default=None)
    m["order_invariance"] = order_invariance(reports, aliases)
    if briefing:
        lexicon = load_lexicon(briefing_languages(reports), options.terms)
        m["numbers_traceable"], m["unattributed_loaded_terms"], d["numbers_traceable"], d["unattributed_loaded_terms"] = text_checks(briefing, lexicon)
        d["must_not_state"] = must_not_state(gold, briefing, aliases)
        m["must_not_state_violations"], m["sentences_removed"] = len(d["must_not_state"]), len(briefing.removed)
    provenance = briefing.provenance if briefing else reports[0].provenance
    return StoryEval(
        story=gold.story,
        mode="briefing" if briefing else "reports",
        model=provenance.model,
        prompts=[f"{p.name} v{p.version} ({p.sha256[:12]})" for p in provenance.prompts],
        metrics=m,
        coverage=shares,
        details={k: v for k, v in d.items() if v},
    )
