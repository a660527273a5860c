"""Claims, reconciled: terminology, label disagreements, consensus, gaps, and the alias map a briefing may use."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

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

Uses = dict[tuple[str, str], list[tuple[Claim, str]]]  # (term casefolded, claimant) -> claims using it, earliest first


def term_uses(story: Story) -> Uses:
    uses: Uses = defaultdict(list)
    for report in story.reports:
        for claim in report.claims:
            for term in filter(None, (t.strip() for t in claim.loaded_terms)):
                uses[(term.casefold(), story.claimant(claim.attributed_to, claim.reported_by))].append((claim, term))
    for items in uses.values():
        items.sort(key=lambda ct: (story.when(ct[0].source_id), natural(ct[0].id)))
    return uses


def terminology(uses: Uses) -> list[TerminologyNote]:
    notes = []
    for (folded, claimant), items in sorted(uses.items()):
        claims = [c for c, _ in items]
        rendering = next((text for frags, text in NEUTRAL_RENDERING if all(f in folded for f in frags)), DEFAULT_RENDERING)
        # a designation is a fact about the designating body, not the speaker's own label
        rendering = DESIGNATION_RENDERING if all(c.claim_type == "designation" for c in claims) else rendering
        source_ids = sorted({c.source_id for c in claims})
        notes.append(
            TerminologyNote(term=items[0][1], used_by=claimant, source_ids=source_ids, claim_ids=sorted_ids(c.id for c in claims), neutral_rendering=rendering)
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
            users[claimant] += [(c, t) for c, t in items if fragment in term and c.claim_type != "designation"]
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


def _same_claim(a: Claim, b: Claim) -> bool:
    return a.source_id != b.source_id and fuzz.token_set_ratio(a.text.casefold(), b.text.casefold()) >= CONSENSUS_MIN_SCORE


def consensus(story: Story, comparisons: list[FigureComparison]) -> list[ConsensusPoint]:
    points = []
    for c in comparisons:
        scope = "" if c.population == "all" and not c.party else f" ({scope_text(story.aliases, c.population, c.party or '')})"
        for e in (e for e in c.entries if not e.derived and len(e.reported_by) >= 2):
            text = f"{e.claimant}: {amount(e, words=True)} {METRIC_WORD.get(c.metric, c.metric)}{scope}"
            points.append(ConsensusPoint(text=text, claim_ids=e.figure_ids, claimants=[e.claimant], n_independent_claimants=1, source_ids=e.source_ids))
    by_claimant: dict[str, list[Claim]] = defaultdict(list)
    for claim in (c for r in story.reports for c in r.claims if c.claim_type != "figure"):
        by_claimant[story.claimant(claim.attributed_to, claim.reported_by)].append(claim)
    matched = []
    for claimant, claims in sorted(by_claimant.items()):
        clusters: list[list[Claim]] = []
        for claim in sorted(claims, key=lambda c: (story.when(c.source_id), natural(c.id))):
            hit = {k for k, cluster in enumerate(clusters) if any(_same_claim(claim, other) for other in cluster)}
            clusters = [c for k, c in enumerate(clusters) if k not in hit] + [[c for k in sorted(hit) for c in clusters[k]] + [claim]]
        for cluster in (c for c in clusters if len({claim.source_id for claim in c}) >= 2):
            first = min(cluster, key=lambda c: (story.when(c.source_id), natural(c.id)))
            sources = sorted({c.source_id for c in cluster})
            matched.append(
                ConsensusPoint(
                    text=first.text, claim_ids=sorted_ids(c.id for c in cluster), claimants=[claimant], n_independent_claimants=1, source_ids=sources
                )
            )
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
        gaps["No source gives a number of injured."] = f"None of the {len(story.reports)} sources reports a count of injured people."
    # only a story that splits its dead by side or by civilians makes a missing civilian count meaningful
    if any(f.population in ("combatants", "civilians") for f in figures):
        civilian = [e for c in comparisons if c.metric == "killed" and c.population == "civilians" for e in c.entries]
        if all(story.is_party(e.claimant, e.source_ids) for e in civilian):
            named = and_list(sorted({e.claimant for e in civilian})) if civilian else ""
            why = f"Civilian deaths are counted only by {named}, speaking for a party to the conflict." if civilian else "No source separates civilian deaths."
            gaps["No independent source gives a civilian death toll."] = why
    for report in story.reports:
        for event in (e for e in report.events if e.date_precision == "unknown" and e.date_as_written):
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
