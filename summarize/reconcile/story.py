"""Reconcile source reports in code: incidents, figures by scope, sum checks, disagreements, consensus, terminology, gaps.

No model is involved. Events of different sources are first matched into incidents; figures are
then compared only within one scope (incident, basis, metric, population, party), so a count of
one side's fighters is never set against a total of all deaths, a projection never against a
count, and another event's toll never against this one's. Corroboration is counted by original
claimant, not by outlet. Every list is sorted on its content, so the result does not depend on
the order the reports arrive in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from summarize.aliases import Aliases, load_aliases
from summarize.models.briefing import IncidentSummary, Reconciled
from summarize.models.report import FigureClaim, SourceReport
from summarize.reconcile.apart import not_comparable
from summarize.reconcile.claims import alias_map, consensus, factual_disagreements, gaps, label_disagreements, term_uses, terminology
from summarize.reconcile.common import BASIS_CLASSES, METRICS, POPULATIONS, Scope, Story, natural
from summarize.reconcile.figures import comparison, derive_groups, figure_entries, numeric_disagreements, sum_checks
from summarize.reconcile.updates import own_voice_repeats


def reconcile(reports: Sequence[SourceReport], aliases: Aliases | None = None) -> Reconciled:
    """Compare the reports' figures by scope and collect what agrees, what conflicts and what nobody establishes."""
    story = Story(reports, aliases or load_aliases())
    by_scope: dict[Scope, list[FigureClaim]] = defaultdict(list)
    for f in story.figures.values():
        by_scope[story.scope(f)].append(f)
    repeats = own_voice_repeats(story, by_scope)
    scopes = {scope: figure_entries(story, figures, repeats) for scope, figures in by_scope.items()}
    derive_groups(story, scopes)
    order = sorted(
        scopes,
        key=lambda s: (not story.is_main(s), natural(s[0]), BASIS_CLASSES.index(s[1]), METRICS.index(s[2]), POPULATIONS.index(s[3]), s[4]),
    )
    comparisons = [comparison(story, scope, scopes[scope]) for scope in order]
    uses = term_uses(story)
    disagreements = numeric_disagreements(story, comparisons) + factual_disagreements(story) + label_disagreements(story, uses, comparisons)
    incidents = sorted(story.incidents.by_id.values(), key=lambda i: (not i.main, natural(i.id)))
    return Reconciled(
        incidents=[IncidentSummary(id=i.id, label=i.label, main=i.main, event_ids=i.event_ids, source_ids=i.source_ids) for i in incidents],
        comparisons=comparisons,
        not_comparable=not_comparable(comparisons),
        sum_checks=sum_checks(story),
        disagreements=[d.model_copy(update={"id": f"d{n}"}) for n, d in enumerate(disagreements, 1)],
        consensus=consensus(story, comparisons),
        terminology=terminology(uses),
        gaps=gaps(story, comparisons),
        aliases=alias_map(story),
        alias_tables=list(story.aliases.tables),
    )
