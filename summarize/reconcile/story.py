"""Reconcile source reports in code: figures by scope, sum checks, disagreements, consensus, terminology, gaps.

No model is involved. Figures are compared only within one scope (metric, population, party), so a
count of one side's fighters is never set against a total of all deaths. Corroboration is counted by
original claimant, not by outlet. Every list is sorted on its content, so the result does not depend
on the order the reports arrive in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from summarize.aliases import Aliases, load_aliases
from summarize.models.briefing import Reconciled
from summarize.models.report import FigureClaim, SourceReport
from summarize.reconcile.claims import alias_map, consensus, gaps, label_disagreements, term_uses, terminology
from summarize.reconcile.common import METRICS, POPULATIONS, Scope, Story
from summarize.reconcile.figures import comparison, derive_groups, figure_entries, not_comparable, numeric_disagreements, sum_checks


def reconcile(reports: Sequence[SourceReport], aliases: Aliases | None = None) -> Reconciled:
    """Compare the reports' figures by scope and collect what agrees, what conflicts and what nobody establishes."""
    story = Story(reports, aliases or load_aliases())
    by_scope: dict[Scope, list[FigureClaim]] = defaultdict(list)
    for f in story.figures.values():
        by_scope[story.scope(f)].append(f)
    scopes = {scope: figure_entries(story, figures) for scope, figures in by_scope.items()}
    derive_groups(story, scopes)
    order = sorted(scopes, key=lambda s: (METRICS.index(s[0]), POPULATIONS.index(s[1]), s[2]))
    comparisons = [comparison(story, scope, scopes[scope]) for scope in order]
    uses = term_uses(story)
    disagreements = numeric_disagreements(story, comparisons) + label_disagreements(story, uses, comparisons)
    return Reconciled(
        comparisons=comparisons,
        not_comparable=not_comparable(comparisons),
        sum_checks=sum_checks(story),
        disagreements=[d.model_copy(update={"id": f"d{n}"}) for n, d in enumerate(disagreements, 1)],
        consensus=consensus(story, comparisons),
        terminology=terminology(uses),
        gaps=gaps(story, comparisons),
        aliases=alias_map(story),
    )
