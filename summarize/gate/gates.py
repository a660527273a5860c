"""Gates: the checks code runs on a briefing draft before anyone reads it.

The model writes the prose and cites claim ids; only code decides whether a sentence may be
shown. ``build_index`` turns the source reports and the reconciled table into a lookup of
everything citable; ``run_gates`` checks each sentence of a ``BriefDraft`` against the items it
cites and against a loaded-terms ``Lexicon``. The resulting ``GateReport`` gives the briefing's
``checks``, the problems per sentence, and ``reask_text``: the same problems as instructions
the model can act on.

Loaded-terms lexicons and ``quoted_spans`` live in ``gate.lexicon``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from textwrap import shorten

from summarize.aliases import is_own_voice
from summarize.claimants import carried_by_party_media, claimant_name
from summarize.gate.lexicon import Lexicon, quoted_spans
from summarize.ground.numbers import numbers_in, vague_word_appears
from summarize.ground.quotes import align
from summarize.models.briefing import BriefDraft, FigureComparison, FigureEntry, Reconciled
from summarize.models.report import CheckResult, Claim, EventRecord, FigureClaim, Source, SourceReport
from summarize.words import counted

GATES = (
    "citations_exist",
    "numbers_traceable",
    "quotes_in_sources",
    "loaded_terms_attributed",
    "contested_figures_attributed",
    "sources_cited",
    "attribution_verbs_neutral",
)
_MONTHS = r"(?:January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?"
# Where a day, month or year may stand for a cited date: an ISO date or a number next to a month name.
_DATE_CONTEXT = re.compile(
    rf"\b\d{{4}}-\d{{2}}-\d{{2}}\b|\b\d{{1,2}}\s+{_MONTHS}(?:,?\s+\d{{4}})?|{_MONTHS}\s+\d{{1,2}}(?!\d)(?:,?\s+\d{{4}})?|{_MONTHS}\s+\d{{4}}",
    re.IGNORECASE,
)
_APOSTROPHES = re.compile("[\u2019\u2018\u02bc`]")
_REPORTING_CUES = re.compile(
    r"(?<!\w)(?:said|says|saying|told|stated|reported|announced|according\s+to|called|calls|calling|described|describes|describing"
    r"|referred\s+to|refers\s+to|termed|label+ed|quoted|wrote|selon|d['’]après|a\s+déclaré|ont\s+déclaré|a\s+dit|ont\s+dit|a\s+indiqué"
    r"|a\s+annoncé|a\s+qualifié|a\s+décrit|[وف]?(?:قال|قالت|يقول|تقول|ذكر|ذكرت|أفاد|أفادت|وصف|وصفت|أعلن|أعلنت|وفق|وفقا|بحسب|حسب))(?!\w)",
    re.IGNORECASE,
)
# Verbs that tell the reader what to think of a statement. "claimed responsibility" is the
# neutral idiom for owning an attack, so it is left alone.
_JUDGEMENT_VERBS = re.compile(
    r"(?<!\w)(?:claim(?:ed|s|ing)(?!\s+responsibility)|admit(?:ted|s)|conced(?:ed|es)|alleged|insisted|boasted|confessed|purported|so-called"
    r"|prétend\w*|a\s+admis|a\s+avoué|[وف]?(?:زعم|زعمت|يزعم|ادعى|ادعت|يدعي|اعترف|اعترفت)|(?:ال)?مزعوم\w*)(?!\w)",
    re.IGNORECASE,
)
_NEUTRAL_VERBS = re.compile(r"(?<!\w)(?:said|says|told|stated|reported|announced|wrote|added|called|described)(?!\w)", re.IGNORECASE)
# Before "alleged", these make it an adjective ("the alleged attack"), not an attribution verb.
_DETERMINERS = re.compile(r"(?<!\w)(?:the|a|an|its|their|his|her|this|these|those)\s+$", re.IGNORECASE)
VAGUE_WORDS = re.compile(r"(?<!\w)(?:dozens|scores|hundreds|thousands|several|dizaines|centaines|milliers|plusieurs|عشرات|مئات|آلاف)(?!\w)", re.IGNORECASE)
# "one" in these phrases is a pronoun, not a count anyone reported.
NOT_A_COUNT = re.compile(r"(?<!\w)(?:no\s+one|one\s+another|one\s+of)(?!\w)", re.IGNORECASE)


# --- claim index --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimIndex:
    figures: dict[str, FigureClaim]
    claims: dict[str, Claim]
    events: dict[str, EventRecord]
    source_of: dict[str, str]
    contributing_sources: tuple[str, ...]
    names_for: dict[str, tuple[str, ...]]
    reconciled: Reconciled
    sources: dict[str, Source] = field(default_factory=dict)
    claimant_of: dict[str, str] = field(default_factory=dict)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self.source_of

    def names(self, claimant: str) -> tuple[str, ...]:
        return self.names_for.get(claimant, (claimant,))


def _claimant(item: FigureClaim | Claim, reconciled: Reconciled) -> tuple[str, str]:
    """The claimant (canonical by reconcile's alias map), and the name the item gives it: its outlet, for the outlet's own voice."""
    written = item.reported_by if is_own_voice(item.attributed_to) else item.attributed_to.strip()
    return claimant_name(item.attributed_to, item.reported_by, reconciled.aliases), written


def build_index(reports: Sequence[SourceReport], reconciled: Reconciled) -> ClaimIndex:
    figures: dict[str, FigureClaim] = {}
    claims: dict[str, Claim] = {}
    events: dict[str, EventRecord] = {}
    source_of: dict[str, str] = {}
    claimant_of: dict[str, str] = {}
    names: defaultdict[str, dict[str, None]] = defaultdict(dict)
    for report in reports:
        sid = report.source.id
        figures.update((f.id, f) for f in report.figures)
        claims.update((c.id, c) for c in report.claims)
        events.update((e.id, e) for e in report.events)
        source_of.update((i, sid) for i in [*(f.id for f in report.figures), *(c.id for c in report.claims), *(e.id for e in report.events)])
        attributed: list[FigureClaim | Claim] = [*report.figures, *report.claims]
        for item in attributed:
            canonical, name = _claimant(item, reconciled)
            claimant_of[item.id] = canonical
            names[canonical].update(dict.fromkeys((canonical, name)))
    for alias, canonical in reconciled.aliases.items():
        if canonical in names:
            names[canonical][alias] = None
    contributing = tuple(sorted({r.source.id for r in reports if r.figures or r.claims}))
    names_for = {canonical: tuple(n) for canonical, n in names.items()}
    sources = {r.source.id: r.source for r in reports}
    return ClaimIndex(figures, claims, events, source_of, contributing, names_for, reconciled, sources, claimant_of)


@lru_cache(maxsize=1024)
def _name_regex(names: tuple[str, ...]) -> re.Pattern[str]:
    """Any of ``names`` as whole words, ignoring case, apostrophe style and spacing."""
    alts = sorted({" ".join(_APOSTROPHES.sub("'", n).split()) for n in names if n.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(a).replace(r"\ ", r"\s+").replace("'", "['\u2019\u2018\u02bc`]") for a in alts)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


# --- per-sentence checks ------------------------------------------------------------------------


def _where(section: str, index: int) -> str:
    return "headline" if section == "headline" else f"{section}[{index}]"


@dataclass(frozen=True)
class _Sentence:
    section: str
    index: int
    text: str
    claim_ids: tuple[str, ...]
    when: str = ""  # a timeline entry's date field: every number in it is a date


def _sentences(draft: BriefDraft) -> list[_Sentence]:
    out = [_Sentence("headline", 0, draft.headline.text, tuple(draft.headline.claim_ids))]
    for section in ("lead", "key_points"):
        out += [_Sentence(section, i, s.text, tuple(s.claim_ids)) for i, s in enumerate(getattr(draft, section))]
    out += [_Sentence("timeline", i, f"{t.when}: {t.text}", tuple(t.claim_ids), t.when) for i, t in enumerate(draft.timeline)]
    return out + [_Sentence("context", i, s.text, tuple(s.claim_ids)) for i, s in enumerate(draft.context)]


def _values(entry: FigureEntry) -> set[int]:
    return {v for v in (entry.value, entry.low, entry.high) if v is not None}


def _entry_cited(entry: FigureEntry, cited: set[str]) -> bool:
    return bool(cited.intersection(entry.figure_ids)) or (entry.derived and cited.issuperset(entry.derived_from))


def _evidence(index: ClaimIndex, cited: set[str]) -> tuple[set[int], set[int], list[str]]:
    """The numbers the cited items vouch for, the parts of their dates (which trace only inside a
    date written in the sentence), and the texts (quotes, vague words) a vague word may be found in."""
    numbers: set[int] = set()
    dates: set[int] = set()
    texts: list[str] = []
    for fid in cited & index.figures.keys():
        f = index.figures[fid]
        numbers |= {v for v in (f.value, f.low, f.high) if v is not None}
        texts += [f.evidence.quote, *([f.vague_word] if f.vague_word else [])]
    texts += [index.claims[cid].evidence.quote for cid in cited & index.claims.keys()]
    for eid in cited & index.events.keys():
        event = index.events[eid]
        texts += [e.quote for e in event.evidence]
        dates |= {part for d in (event.date_start, event.date_end) if d for part in (d.day, d.month, d.year)}
    published = (index.sources[index.source_of[i]].published for i in cited if i in index and index.source_of[i] in index.sources)
    dates |= {part for d in published if d for part in (d.day, d.month, d.year)}
    numbers |= {v for c in index.reconciled.comparisons for e in c.entries if e.derived and cited.issuperset(e.derived_from) for v in _values(e)}
    numbers |= {s.parts_sum for s in index.reconciled.sum_checks if cited.issuperset(s.part_figure_ids)}
    for text in texts:
        numbers |= numbers_in(text)
    return numbers, dates, texts


def _quoted_problems(s: _Sentence, index: ClaimIndex, cited: set[str]) -> list[str]:
    """Words the sentence puts in quotation marks must be words a cited source passage contains."""
    passages: list[str] = []
    for i in cited:
        item = index.figures.get(i) or index.claims.get(i)
        if item is not None:
            passages += [item.evidence.quote, *([item.gloss] if item.gloss else [])]
        elif i in index.events:
            passages += [e.quote for e in index.events[i].evidence]
    out = []
    for a, b in quoted_spans(s.text):
        quoted = s.text[a:b].strip(" \"'“”«»‘’")
        if quoted and not any(align(quoted, p, source_id="-") for p in passages):
            out.append(
                f"the quotation “{shorten(quoted, 60, placeholder='…')}” is in none of the cited source passages; quote only words a cited claim contains"
            )
    return out


def _contest(entry: FigureEntry, comparison: FigureComparison, index: ClaimIndex) -> str | None:
    """Why stating this entry's number needs its claimant named, or None."""
    if entry.earlier:
        return f"an earlier count ({entry.claimant}, {entry.as_of}) superseded by later figures"
    if entry.superseded:
        return f"an earlier figure of {entry.claimant}, replaced by its later one"
    if entry.status != "current":
        return f"{entry.status}" + (f" by {entry.status_by}" if entry.status_by else "") + f" ({entry.claimant}'s figure)"
    if comparison.basis != "count":
        return f"{'an estimate' if comparison.basis == 'estimate' else 'a projection'} by {entry.claimant}, not a count"
    if comparison.disagreement:
        others = sorted({e.claimant for e in comparison.entries} - {entry.claimant})
        return f"contested ({entry.claimant} vs {', '.join(others)})"
    if comparison.claimants <= 1 and carried_by_party_media(index.sources[s].outlet_type for s in entry.source_ids if s in index.sources):
        return f"given only by {entry.claimant}, through media of a party to the conflict"
    return None


def _loaded_problems(s: _Sentence, index: ClaimIndex, matches: list[tuple[str, int, int, str]]) -> list[tuple[str, str]]:
    """(term, problem) for each loaded word not inside a quotation the sentence attributes."""
    spans = quoted_spans(s.text)
    claimants = {index.claimant_of[i] for i in s.claim_ids if i in index.claimant_of}
    named = [m for c in sorted(claimants) for m in _name_regex(index.names(c)).finditer(s.text)]
    cue = _REPORTING_CUES.search(s.text) is not None
    out = []
    for term, start, end, neutral in matches:
        span = next(((a, b) for a, b in spans if a <= start and end <= b), None)
        if span is None:
            out.append((term, f"“{term}” is a loaded term in the briefing's own voice; write instead: {neutral}; or quote it and say who used it"))
            continue
        # "SANA’s “terrorist attack”" attributes the quote without a reporting verb.
        adjacent = any(m.end() < span[0] and re.fullmatch(r"\s*(?:['\u2019]s)?\s*[:,]?\s*", s.text[m.end() : span[0] - 1]) for m in named)
        if not (named and (cue or adjacent)):
            who = " or ".join(sorted(claimants)) or "the speaker (cite the claim that carries the quote)"
            out.append((term, f"“{term}” is quoted but the sentence does not say who used it; name {who} with 'said' or 'according to', or write: {neutral}"))
    return out


def _verb_problems(s: _Sentence, lexicon_spans: list[tuple[int, int]]) -> list[str]:
    spans = quoted_spans(s.text)
    out = []
    for m in _JUDGEMENT_VERBS.finditer(s.text):
        inside = any(a <= m.start() and m.end() <= b for a, b in spans + lexicon_spans)
        adjective = m.group().casefold() == "alleged" and _DETERMINERS.search(s.text[: m.start()])
        if not inside and not adjective:
            out.append(f"“{m.group()}” passes judgement on what a party said; use 'said' for every party")
    return out


def _attribution_verbs(s: _Sentence, index: ClaimIndex) -> list[tuple[str, str]]:
    """(claimant, verb) for each claimant named outside quotes with a reporting verb right after it."""
    spans = quoted_spans(s.text)
    found = []
    for claimant, names in index.names_for.items():
        for m in _name_regex(names).finditer(s.text):
            if any(a <= m.start() < b for a, b in spans):
                continue
            if re.search(r"according\s+to\s+(?:the\s+)?$", s.text[: m.start()], re.IGNORECASE):
                found.append((claimant, "according to"))
                continue
            # An apposition may sit between name and verb ("SOHR, a UK-based monitor, said"); a quote or clause end may not.
            window = re.split(r"[;.:\"“«‘]", s.text[m.end() : m.end() + 60], maxsplit=1)[0]
            verbs = [v for rx in (_JUDGEMENT_VERBS, _NEUTRAL_VERBS) if (v := rx.search(window))]
            if verbs:
                found.append((claimant, min(verbs, key=lambda v: v.start()).group().casefold()))
    return found


# --- the report ---------------------------------------------------------------------------------


@dataclass
class GateReport:
    checks: list[CheckResult]
    sentence_problems: dict[tuple[str, int], list[str]] = field(default_factory=dict)
    global_problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def reask_text(self) -> list[str]:
        """Every problem as an instruction naming the sentence it is about."""
        located = [f"{_where(*where)}: {p}" for where, problems in self.sentence_problems.items() for p in problems]
        return located + self.global_problems


def run_gates(draft: BriefDraft, index: ClaimIndex, lexicon: Lexicon) -> GateReport:
    sentences = _sentences(draft)
    failures: dict[str, list[str]] = {g: [] for g in GATES}
    report = GateReport(checks=[])
    counts: Counter[str] = Counter()
    untagged_terms: Counter[str] = Counter()
    verbs_by_party: defaultdict[str, Counter[str]] = defaultdict(Counter)
    contested = [(e, c, why) for c in index.reconciled.comparisons for e in c.entries if (why := _contest(e, c, index))]

    def problem(gate: str, s: _Sentence, text: str) -> None:
        failures[gate].append(f"{_where(s.section, s.index)} “{shorten(s.text, 70, placeholder='…')}”: {text}")
        report.sentence_problems.setdefault((s.section, s.index), []).append(text)

    for s in sentences:
        cited = set(s.claim_ids)
        counts["ids"] += len(s.claim_ids)
        if not s.claim_ids:
            problem("citations_exist", s, "cites no claim id; cite the ids of the claims and figures it rests on")
        if unknown := [i for i in s.claim_ids if i not in index]:
            problem("citations_exist", s, f"unknown claim ids: {', '.join(unknown)}; cite only ids from the claim table")

        traced, date_parts, texts = _evidence(index, cited)
        numbers = sorted(numbers_in(NOT_A_COUNT.sub(" ", s.text)))
        written_dates = {n for m in _DATE_CONTEXT.finditer(s.text) for n in numbers_in(m.group())} | numbers_in(s.when)
        traced = traced | (date_parts & written_dates)
        counts["numbers"] += len(numbers)
        for n in numbers:
            if n not in traced:
                problem("numbers_traceable", s, f"the number {n} does not trace to any cited figure; cite the figure's id or remove the number")
        for word in (m.group() for m in VAGUE_WORDS.finditer(s.text)):
            counts["numbers"] += 1
            if not any(vague_word_appears(word, t) for t in texts):
                problem("numbers_traceable", s, f"“{word}” does not trace to any cited figure; cite the figure that says it or remove it")

        counts["quotes"] += len(quoted_spans(s.text))
        for text in _quoted_problems(s, index, cited):
            problem("quotes_in_sources", s, text)

        matches = lexicon.find(s.text)
        counts["terms"] += len(matches)
        for term, text in _loaded_problems(s, index, matches):
            untagged_terms[term.casefold()] += 1
            problem("loaded_terms_attributed", s, text)

        for n in numbers:
            candidates = [(e, why) for e, _, why in contested if n in _values(e) and _entry_cited(e, cited)]
            if not candidates and n not in traced:
                candidates = [(e, why) for e, _, why in contested if n in _values(e)]
            if candidates:
                counts["contested"] += 1
                if not any(_name_regex(index.names(e.claimant)).search(s.text) for e, _ in candidates):
                    problem("contested_figures_attributed", s, f"{n} is {candidates[0][1]}; say who gives it")

        for text in _verb_problems(s, [(a, b) for _, a, b, _ in matches]):
            problem("attribution_verbs_neutral", s, text)
        for claimant, verb in _attribution_verbs(s, index):
            verbs_by_party[claimant][verb] += 1

    cited_sources = {index.source_of[i] for s in sentences for i in s.claim_ids if i in index}
    if missing := [sid for sid in index.contributing_sources if sid not in cited_sources]:
        named = ", ".join(f"{sid} ({index.sources[sid].outlet})" if sid in index.sources and index.sources[sid].outlet else sid for sid in missing)
        text = f"sources never cited: {named}; cite at least one claim or figure from each"
        failures["sources_cited"].append(text)
        report.global_problems.append(text)

    judged = {party: frozenset(v for v in verbs if _JUDGEMENT_VERBS.fullmatch(v)) for party, verbs in verbs_by_party.items()}
    if len(set(judged.values())) > 1:
        histogram = "; ".join(f"{party}: {', '.join(f'{v}×{k}' for v, k in sorted(verbs.items()))}" for party, verbs in sorted(verbs_by_party.items()))
        text = f"parties get different attribution verbs ({histogram}); use 'said' for every party"
        failures["attribution_verbs_neutral"].append(text)
        report.global_problems.append(text)

    n = len(sentences)
    details = {
        "citations_exist": f"{counted(n, 'sentence')}, {counted(counts['ids'], 'id')} cited",
        "numbers_traceable": f"{counted(n, 'sentence')}, {counted(counts['numbers'], 'number')}",
        "quotes_in_sources": counted(counts["quotes"], "quotation"),
        "loaded_terms_attributed": counted(counts["terms"], "loaded term")
        + (f", unattributed: {', '.join(f'{t}×{k}' for t, k in sorted(untagged_terms.items()))}" if untagged_terms else ""),
        "contested_figures_attributed": f"{counted(counts['contested'], 'contested or party-only figure')} stated",
        "sources_cited": f"{len(index.contributing_sources) - len(missing)} of {counted(len(index.contributing_sources), 'contributing source')} cited",
        "attribution_verbs_neutral": f"{counted(sum(c.total() for c in verbs_by_party.values()), 'attribution')} to "
        + counted(len(verbs_by_party), "party", "parties"),
    }
    report.checks = [
        CheckResult(
            name=gate,
            passed=not failures[gate],
            detail=f"{details[gate]}, {f'{len(failures[gate])} failing' if failures[gate] else 'all pass'}",
            failures=failures[gate],
        )
        for gate in GATES
    ]
    return report
