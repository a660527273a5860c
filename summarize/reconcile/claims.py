"""Claims, reconciled: terminology, label disagreements, consensus, gaps, and the alias map a briefing may use."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import fuzz, utils

from summarize.aliases import is_own_voice, norm_name
from summarize.models.briefing import ConsensusPoint, Disagreement, FigureComparison, FigureEntry, Gap, TerminologyNote
from summarize.models.report import Claim
from summarize.reconcile.common import (
    CONSENSUS_MIN_SCORE,
    DEFAULT_RENDERING,
    DESIGNATION_RENDERING,
    LABEL_FRAGMENTS,
    METRIC_WORD,
    NEUTRAL_RENDERING,
    Story,
    amount,
    and_list,
    natural,
    position,
    scope_text,
    sorted_ids,
)
from summarize.words import counted

# (term casefolded, who uses it) -> (claim, the term as written, who relays the use or None), earliest first
Uses = dict[tuple[str, str], list[tuple[Claim, str, str | None]]]

_PRONOUNS = frozenset({"it", "its", "they", "them", "he", "she", "we", "i", "you", "one", "this", "which"})
_LABEL_VERBS = (
    r"(?:presented|presents|called|calls|described|describes|termed|terms|labell?ed|labels|branded|brands|dubbed|dubs"
    r"|characteri[sz]ed|characteri[sz]es|referred\s+to|refers\s+to|regarded|regards)"
)
_DESIGNATE = (
    r"(?:designated|designates|designate|listed|lists|list|classified|classifies|classify|proscribed|proscribes|proscribe"
    r"|blacklisted|blacklists|class[ée]e?s?|classent|désigné(?:e|s|es)?|désignent|inscrit(?:e|s|es)?)"
)
# "X is listed as a terrorist organisation by the United States": the designating body follows "by".
_DESIGNATED_BY = re.compile(
    rf"(?<!\w)(?:is|are|was|were|been|being|est|sont|été)\s+(?:\w+\s+)?{_DESIGNATE}(?!\w)[^.;]*?(?<!\w)(?:by|par)\s+(?P<who>[^,;.()]+)", re.I
)
# "the United States and Turkey have both designated HTS": the designating body comes before the verb.
_DESIGNATES = re.compile(rf"(?P<before>[^.;]*?)\s+(?:(?:has|have|had)\s+)?(?:(?:both|also|jointly|long)\s+)?{_DESIGNATE}(?!\w)", re.I)
_CLAUSE_START = re.compile(r"(?<!\w)(?:said|says|say|reported|reports|stated|added|noted|that|which|who|whom|according\s+to)(?!\w)|,", re.I)
_PASSIVE = re.compile(r"(?<!\w)(?:is|are|was|were|been|being|be|est|sont|été)(?!\w)", re.I)  # a name holds no such verb
_ADVERB_END = re.compile(r"(?:\s+[a-z]+ly)+$")  # 'Washington formally designated': the adverb is not part of the name
_NAMED = re.compile(r"(?:(?:[Tt]he|[Ll]es?|[Ll]a)\s+|[Ll]['’])?[^\W\d_a-zà-ÿ]")  # a name starts with a capital, after any article
_NAME_END = re.compile(r"\s+(?:in|since|on|from|at|for|under|after|until|en|depuis)\s.*$", re.I)


@lru_cache(maxsize=512)
def _relayed_label(term: str) -> re.Pattern[str]:
    """'... which the opposition presented as provocation': the term is the word of whoever the relative clause names."""
    quote = "[\"“«‘']?"
    return re.compile(
        rf"(?<!\w)(?:which|what|whom|that)\s+(?P<who>[^,;:.!?\"“”«»()]{{1,60}}?)\s+(?:(?:has|have|had)\s+)?{_LABEL_VERBS}"
        rf"(?:\s+(?:it|them|this|these|those|him|her))?(?:\s+as)?(?:\s+(?:an?|the))?\s*{quote}\s*{re.escape(term)}",
        re.I,
    )


@lru_cache(maxsize=512)
def _subject_label(term: str) -> re.Pattern[str]:
    """'..., and SANA called it a "terrorist attack"': the term is the word of the subject of the labelling verb."""
    quote = "[\"“«‘']?"
    return re.compile(
        rf"(?P<before>[^.;:!?]*?)\s+(?:(?:has|have|had)\s+)?{_LABEL_VERBS}(?:\s+[^,;:.!?\"“”«»()]{{1,40}}?)??(?:\s+as)?(?:\s+(?:an?|the))?"
        rf"\s*{quote}\s*{re.escape(term)}",
        re.I,
    )


def _name(text: str) -> str | None:
    """A speaker's name as written, or None for a pronoun or for words that are not a name."""
    name = _NAME_END.sub("", " ".join(text.split())).strip(" \"“”«»'")
    name = _ADVERB_END.sub("", re.sub(r"^(?:(?:and|but|while|whereas|both|also|jointly)\s+)+", "", name, flags=re.I))
    words = name.split()
    if not words or len(name) > 60 or words[-1].casefold() in _PRONOUNS or _PASSIVE.search(name):
        return None
    return name


def designating_body(claim: Claim) -> str | None:
    """Who made the designation a designation claim reports ('the United States and Turkey'), as written; None when not named."""
    for text in (claim.text, claim.evidence.quote):
        if m := _DESIGNATED_BY.search(text):
            return _name(m["who"])
        if (m := _DESIGNATES.search(text)) and (who := _name(_CLAUSE_START.split(m["before"])[-1])) and _NAMED.match(who):
            return who
    return None


def term_user(claim: Claim, term: str) -> str | None:
    """Who the claim says used ``term``, when that is someone other than its claimant; None otherwise."""
    if claim.claim_type == "designation":
        return designating_body(claim)
    for text in (claim.evidence.quote, claim.text):
        if m := _relayed_label(term).search(text):
            return _name(m["who"])
    for text in (claim.evidence.quote, claim.text):
        if (m := _subject_label(term).search(text)) and (who := _name(_CLAUSE_START.split(m["before"])[-1])) and _NAMED.match(who):
            return who
    return None


def _same_party(name: str, claimant: str, claim: Claim) -> bool:
    """Whether a speaker named in the claim is its own claimant ('The Syrian Ministry of Defence' for 'Syrian Ministry of Defence')."""
    return any(fuzz.token_set_ratio(name, other, processor=utils.default_process) >= 90 for other in (claimant, claim.attributed_to) if other)


def term_uses(story: Story) -> Uses:
    uses: Uses = defaultdict(list)
    for report in story.reports:
        for claim in report.claims:
            claimant = story.claimant(claim.attributed_to, claim.reported_by)
            relay = claim.reported_by if is_own_voice(claim.attributed_to) else claimant
            for term in filter(None, (t.strip() for t in claim.loaded_terms)):
                speaker = term_user(claim, term)
                user = story.claimant(speaker, claim.reported_by) if speaker and not _same_party(speaker, claimant, claim) else claimant
                uses[(term.casefold(), user)].append((claim, term, None if user == claimant else relay))
    for items in uses.values():
        items.sort(key=lambda ct: (story.when(ct[0].source_id), natural(ct[0].id)))
    return uses


def terminology(uses: Uses) -> list[TerminologyNote]:
    notes = []
    for (folded, user), items in sorted(uses.items()):
        claims = [c for c, _, _ in items]
        rendering = next((text for frags, text in NEUTRAL_RENDERING if all(f in folded for f in frags)), DEFAULT_RENDERING)
        # a designation is a fact about the designating body, not the speaker's own label
        rendering = DESIGNATION_RENDERING if all(c.claim_type == "designation" for c in claims) else rendering
        notes.append(
            TerminologyNote(
                term=items[0][1],
                used_by=user,
                source_ids=sorted({c.source_id for c in claims}),
                claim_ids=sorted_ids(c.id for c in claims),
                neutral_rendering=rendering,
                reported_by=sorted({r for _, _, r in items if r}),
            )
        )
    return notes


def label_disagreements(story: Story, uses: Uses, comparisons: list[FigureComparison]) -> list[Disagreement]:
    """Per label family: claimants who apply the label against claimants who count the same events without it."""
    counters: dict[str, list[FigureEntry]] = defaultdict(list)
    for e in (e for c in comparisons for e in c.entries if not e.derived and e.bounds()):
        counters[e.claimant].append(e)
    found = []
    for fragment in LABEL_FRAGMENTS:
        users: dict[str, list[tuple[Claim, str]]] = defaultdict(list)
        for (term, claimant), items in sorted(uses.items()):
            users[claimant] += [(c, t) for c, t, _ in items if fragment in term and c.claim_type != "designation"]
        users = {u: items for u, items in users.items() if items}
        others = sorted(set(counters) - set(users))
        if not users or not others:
            continue
        positions = [
            position(u, "uses " + ", ".join(f'"{t}"' for t in sorted({t for _, t in items})), [c.id for c, _ in items], [c.source_id for c, _ in items])
            for u, items in sorted(users.items())
        ]
        for other in others:
            figure_ids, sources = [i for e in counters[other] for i in e.figure_ids], [s for e in counters[other] for s in e.source_ids]
            positions.append(position(other, "does not use the term", figure_ids, sources))
        party = [u for u, items in sorted(users.items()) if story.is_party(u, (c.source_id for c, _ in items))]
        why = [f"used by party sources ({and_list(party)}), which label their opponents"] if party else []
        topic = "terminology: " + ", ".join(f'"{t}"' for t in sorted({t.casefold() for items in users.values() for _, t in items}))
        found.append(Disagreement(id="", topic=topic, kind="terminology", positions=positions, possible_explanations=why, status="unresolved"))
    return found


_SAME_POSITION = 85


def factual_disagreements(story: Story) -> list[Disagreement]:
    """Claimants giving different causes or different parties responsible for one incident."""
    groups: dict[tuple[str, str], dict[str, list[Claim]]] = defaultdict(lambda: defaultdict(list))
    main = story.incidents.main
    for report in story.reports:
        for claim in (c for c in report.claims if c.aspect in ("cause", "responsibility") and c.position and c.position.strip()):
            linked = [story.incidents.of_event[e] for e in claim.event_ids if e in story.incidents.of_event]
            incident = linked[0] if linked else main.id if main and report.source.id in main.source_ids else None
            if incident is not None:
                groups[(incident, claim.aspect)][story.claimant(claim.attributed_to, claim.reported_by)].append(claim)
    found = []
    for (incident, aspect), by_claimant in sorted(groups.items(), key=lambda kv: (natural(kv[0][0]), kv[0][1])):
        answers = {claimant: _distinct(c.position or "" for c in claims) for claimant, claims in sorted(by_claimant.items())}
        every = _distinct(p for ps in answers.values() for p in ps)
        if len(answers) < 2 or len(every) < 2:
            continue
        positions = [
            position(claimant, "; ".join(answers[claimant]), [c.id for c in claims], [c.source_id for c in claims])
            for claimant, claims in sorted(by_claimant.items())
        ]
        party = sorted(c for c, claims in by_claimant.items() if story.is_party(c, (x.source_id for x in claims)))
        why = [f"party sources ({and_list(party)}) give their own account"] if party and len(party) < len(by_claimant) else []
        label = story.incidents.by_id[incident].label
        topic = f"{'cause' if aspect == 'cause' else 'responsibility'}: {label}"
        found.append(Disagreement(id="", topic=topic, kind="factual", positions=positions, possible_explanations=why, status="unresolved"))
    return found


_NEGATION = re.compile(r"\b(not|no|never|denies|denied|nobody|none)\b", re.IGNORECASE)


def _same_position(a: str, b: str) -> bool:
    # "the army" and "not the army" share every word but say opposite things
    if bool(_NEGATION.search(a)) != bool(_NEGATION.search(b)):
        return False
    return fuzz.token_set_ratio(a, b, processor=utils.default_process) >= _SAME_POSITION


def _distinct(texts: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for text in sorted({" ".join(t.split()) for t in texts if t.strip()}):
        if not any(_same_position(text, k) for k in kept):
            kept.append(text)
    return kept


_SAME_STATEMENT = 85
_ATTRIBUTION = re.compile(r"(?<!\w)(?:the\s+)?(?:said|says|reported|stated|told\s+\w+|according\s+to)(?:\s+that)?(?!\w)", re.I)


def _statement(claim: Claim) -> str:
    """The claim's text without who said it, so two claimants' words can be compared."""
    text = claim.text
    for name in {claim.attributed_to, claim.reported_by}:
        text = re.sub(re.escape(name.strip()), " ", text, flags=re.I) if name.strip() else text
    return _ATTRIBUTION.sub(" ", text)


def _same_claim(a: tuple[Claim, str], b: tuple[Claim, str]) -> bool:
    """One claimant's statement repeated by another outlet, or two claimants stating the same thing (a stricter test)."""
    (x, x_by), (y, y_by) = a, b
    if x.source_id == y.source_id:
        return False
    if x_by == y_by:
        return fuzz.token_set_ratio(x.text.casefold(), y.text.casefold()) >= CONSENSUS_MIN_SCORE
    if {x.aspect, y.aspect} & {"cause", "responsibility"} and not (x.position and y.position and _same_position(x.position, y.position)):
        return False
    sx, sy = _statement(x), _statement(y)
    return bool(_NEGATION.search(sx)) == bool(_NEGATION.search(sy)) and fuzz.token_sort_ratio(sx, sy, processor=utils.default_process) >= _SAME_STATEMENT


def consensus(story: Story, comparisons: list[FigureComparison]) -> list[ConsensusPoint]:
    """What two or more independent claimants agree on: the same figure for one scope, or the same statement.

    One claimant carried by several outlets is one claimant, so it makes no consensus on its own."""
    points = []
    for c in comparisons:
        scope = "" if c.population == "all" and not c.party else f" ({scope_text(story.aliases, c.population, c.party or '')})"
        scope += f" ({c.incident_label})" if c.incident_label else ""
        same: dict[str, list[FigureEntry]] = defaultdict(list)
        for e in (e for e in c.entries if not e.derived and e.current and e.bounds()):
            same[amount(e, words=True)].append(e)
        for said, entries in same.items():
            claimants = sorted({e.claimant for e in entries})
            if len(claimants) >= 2:
                text = f"{said} {METRIC_WORD.get(c.metric, c.metric)}{scope}"
                ids, sources = sorted_ids(i for e in entries for i in e.figure_ids), sorted({s for e in entries for s in e.source_ids})
                points.append(ConsensusPoint(text=text, claim_ids=ids, claimants=claimants, n_independent_claimants=len(claimants), source_ids=sources))
    claims = [(c, story.claimant(c.attributed_to, c.reported_by)) for r in story.reports for c in r.claims if c.claim_type != "figure"]
    clusters: list[list[tuple[Claim, str]]] = []
    for item in sorted(claims, key=lambda cb: (story.when(cb[0].source_id), natural(cb[0].id))):
        hit = {k for k, cluster in enumerate(clusters) if any(_same_claim(item, other) for other in cluster)}
        clusters = [c for k, c in enumerate(clusters) if k not in hit] + [[c for k in sorted(hit) for c in clusters[k]] + [item]]
    matched = []
    for cluster in clusters:
        claimants = sorted({by for _, by in cluster})
        if len(claimants) >= 2:
            first = min((c for c, _ in cluster), key=lambda c: (story.when(c.source_id), natural(c.id)))
            ids, sources = sorted_ids(c.id for c, _ in cluster), sorted({c.source_id for c, _ in cluster})
            matched.append(ConsensusPoint(text=first.text, claim_ids=ids, claimants=claimants, n_independent_claimants=len(claimants), source_ids=sources))
    return points + sorted(matched, key=lambda p: [natural(i) for i in p.claim_ids])


def gaps(story: Story, comparisons: list[FigureComparison]) -> list[Gap]:
    gaps: dict[str, str] = {}
    for c in comparisons:
        claimant = c.entries[0].claimant
        if c.claimants == 1 and story.is_party(claimant, (s for e in c.entries for s in e.source_ids)):
            why = f"{claimant} speaks for a party to the conflict, and no other claimant gives a figure for this scope."
            gaps[f"Only {claimant} gives a figure for {c.label}; no independent source confirms it."] = why
    figures = list(story.figures.values())
    if not any(f.metric == "injured" for f in figures):
        n = len(story.reports)
        gaps["No source gives a number of injured."] = (
            f"None of the {counted(n, 'source')} reports a count of injured people." if n != 1 else "The one source reports no count of injured people."
        )
    # only a story that splits its dead by side or by civilians makes a missing civilian count meaningful
    if any(f.population in ("combatants", "civilians") for f in figures):
        civilian = [e for c in comparisons if c.metric == "killed" and c.population == "civilians" for e in c.entries]
        if all(story.is_party(e.claimant, e.source_ids) for e in civilian):
            named = and_list(sorted({e.claimant for e in civilian})) if civilian else ""
            why = f"Civilian deaths are counted only by {named}, speaking for a party to the conflict." if civilian else "No source separates civilian deaths."
            gaps["No independent source gives a civilian death toll."] = why
    # an event one source cannot date is dated when another source's account of the same incident gives the date
    of_event = story.incidents.of_event
    dated = {of_event[e.id] for r in story.reports for e in r.events if e.date_start and e.id in of_event}
    for report in story.reports:
        for event in (e for e in report.events if e.date_precision == "unknown" and e.date_as_written and of_event.get(e.id, e.id) not in dated):
            summary = event.summary if len(event.summary) <= 60 else event.summary[:60] + "…"
            reason = "cannot be resolved without a publication date" if report.source.published is None else "cannot be resolved to a calendar date"
            gaps.setdefault(f"The date of '{summary}' is not established: '{event.date_as_written}' {reason}.", event.date_note or "No calendar date is given.")
    return [Gap(question=q, why_unknown=gaps[q]) for q in sorted(gaps)]


def alias_map(story: Story) -> dict[str, str]:
    aliases = story.aliases
    seen: dict[str, set[str]] = defaultdict(set)
    for report in story.reports:
        named = [f.attributed_to for f in report.figures] + [c.attributed_to for c in report.claims] + [f.party for f in report.figures if f.party]
        for name in (n for n in named if not is_own_voice(n)):
            seen[name.strip()].add(aliases.canonical(name))
        for actor in report.actors:
            # an actor unknown by its written name may be known by its canonical name or an alias
            resolved = next((k for n in (actor.name, actor.canonical_name, *actor.aliases) if (k := aliases.lookup(n))), actor.canonical_name)
            for name in (actor.name, *actor.aliases):
                seen[name.strip()].add(aliases.lookup(name) or resolved)
    # every other name the table knows for a claimant or party seen here, so a sentence may use any of them
    used = {c for canonicals in seen.values() for c in canonicals}
    for alias, canonical in aliases.names.items():
        if canonical in used and not any(norm_name(name) == alias for name in seen):
            seen[alias].add(canonical)
    return {name: min(canonicals) for name, canonicals in sorted(seen.items())}
