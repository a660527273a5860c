"""Models for multi-source briefings: the reconciled claim table, the model's draft, the output.

``reconcile`` (code, no LLM) turns source reports into figure comparisons, sum checks,
disagreements, consensus points, terminology notes and gaps. The model writes a
``BriefDraft`` that cites claim ids only; ``gates`` checks it; the ``Briefing`` is what we emit.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from summarize.models.base import SCHEMA_VERSION, StrictModel, VerifiedModel
from summarize.models.report import CheckResult, Provenance, SourceReport
from summarize.models.vocab import Basis, FigureStatus, Metric, Population, Qualifier


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- reconcile output ------------------------------------------------------------------------


class FigureEntry(_Record):
    """One claimant's value in one scope; several outlets repeating it make one entry."""

    claimant: str = Field(description="Canonical name of who gave the number (SOHR, SANA, local sources...).")
    value: int | None
    low: int | None
    high: int | None
    qualifier: Qualifier
    vague_word: str | None
    time_window: str | None
    figure_ids: list[str] = Field(description="Every figure claim stating this value for this claimant, across outlets.")
    reported_by: list[str] = Field(description="Outlets that carried it.")
    source_ids: list[str]
    published: dt.date | None = Field(description="Earliest publication date among the sources carrying it.")
    derived_from: list[str] = Field(default_factory=list, description="For derived entries (a sum of parts): the figure ids summed.")
    rule: str | None = Field(default=None, description="How a derived entry was computed.")
    as_of: dt.date | None = Field(default=None, description="Latest publication date among the sources carrying it; None when any of them is undated.")
    earlier: bool = Field(
        default=False,
        description=(
            "An earlier count of a rising toll: every source carrying it predates the scope's latest figures and its value "
            "is below all of them. Shown, but not set against the later figures and not used for derived totals."
        ),
    )
    basis: Basis = "unclear"
    status: FigureStatus = Field(default="current", description="'revised', 'withdrawn' or 'denied' when any source carrying it says so.")
    status_by: str | None = Field(default=None, description="Who revised, withdrew or denied it.")
    status_claim_ids: list[str] = Field(
        default_factory=list, description="Claims by status_by in the same sources that state the revision, withdrawal or denial."
    )
    superseded: bool = Field(default=False, description="Replaced by the same claimant's later figure (the order is known from dates and times).")
    as_of_text: str | None = Field(default=None, description="When the figure was the latest, as written.")
    time_of_day: int | None = Field(default=None, description="Minutes after midnight read from as_of_text ('by 9 a.m.', 'by the evening').")
    cited_via: list[str] = Field(default_factory=list, description="Bodies that relayed the claimant's figure.")
    repeated_by: list[str] = Field(default_factory=list, description="Outlets that repeat this claimant's figure in their own voice.")

    @property
    def current(self) -> bool:
        """Set against other claimants' figures and used for totals: not earlier, not replaced, not withdrawn or denied."""
        return self.status == "current" and not self.earlier and not self.superseded

    @property
    def derived(self) -> bool:
        return bool(self.derived_from)

    def bounds(self) -> tuple[int, int] | None:
        if self.value is not None:
            return self.value, self.value
        if self.low is not None or self.high is not None:
            lo = self.low if self.low is not None else self.high
            hi = self.high if self.high is not None else self.low
            assert lo is not None and hi is not None
            return lo, hi
        return None


class DerivedTotals(_Record):
    acled_conservative: int | None = Field(description="Lowest reported figure (ACLED rule).")
    ucdp_low: int | None = Field(description="Lowest reported figure among comparable claims (UCDP-style low).")
    ucdp_high: int | None = Field(description="Highest reported figure among comparable claims (UCDP-style high).")
    rule_text: str


class FigureComparison(_Record):
    """All figures of one scope: metric, population and party (time windows shown, not merged away)."""

    scope_key: str
    incident: str = Field(default="i1", description="Id of the incident the figures count (see Reconciled.incidents).")
    incident_label: str | None = Field(default=None, description="The incident's label when it is not the story's main one.")
    basis: Literal["count", "estimate", "projection"] = Field(default="count", description="Counts, estimates and projections are never compared.")
    metric: Metric
    population: Population
    party: str | None
    label: str = Field(description="Human label of the scope, e.g. 'killed — opposition fighters (HTS + SNA)'.")
    entries: list[FigureEntry]
    claimants: int = Field(description="Independent claimants (distinct canonical claimants).")
    comparable: bool = Field(description="True when two or more independent claimants give numbers for this scope.")
    disagreement: bool = Field(description="Two or more claimants' current figures (earlier counts left out) differ.")
    min: int | None
    max: int | None
    notes: list[str] = Field(description="Caveats: differing or unstated time windows, revisions, derived values.")
    derived: DerivedTotals | None


class NotComparable(_Record):
    """A pair that looks like a disagreement but is not: different scope, or an earlier count of a rising toll."""

    figure_ids: list[str]
    claimants: list[str]
    reason: str


class SumCheck(_Record):
    claimant: str
    metric: Metric
    total_figure_id: str
    total: int
    part_figure_ids: list[str]
    parts_sum: int
    consistent: bool
    note: str


class Position(_Record):
    claimant: str
    statement: str = Field(description="The position in a few words, e.g. '153 killed (at least)'.")
    claim_ids: list[str]
    source_ids: list[str]


class Disagreement(_Record):
    id: str
    topic: str
    kind: Literal["numeric", "factual", "characterisation", "terminology"]
    positions: list[Position]
    possible_explanations: list[str]
    status: Literal["unresolved", "explained"]


class ConsensusPoint(_Record):
    text: str
    claim_ids: list[str]
    claimants: list[str]
    n_independent_claimants: int
    source_ids: list[str]


class TerminologyNote(_Record):
    term: str
    used_by: str = Field(description="Who uses the term: the claim's claimant, or the speaker or designating body the claim says used it.")
    source_ids: list[str]
    claim_ids: list[str]
    neutral_rendering: str
    reported_by: list[str] = Field(
        default_factory=list, description="Who reports the use when the user is someone else (a designation carried by an outlet, a word relayed by a source)."
    )


class Gap(_Record):
    question: str
    why_unknown: str


class IncidentSummary(_Record):
    id: str
    label: str
    main: bool
    event_ids: list[str]
    source_ids: list[str]


class Reconciled(_Record):
    """Everything code establishes across sources before any prose is written."""

    incidents: list[IncidentSummary] = Field(default_factory=list, description="Events of different sources matched into incidents; the main one first.")
    comparisons: list[FigureComparison]
    not_comparable: list[NotComparable]
    sum_checks: list[SumCheck]
    disagreements: list[Disagreement]
    consensus: list[ConsensusPoint]
    terminology: list[TerminologyNote]
    gaps: list[Gap]
    aliases: dict[str, str] = Field(description="Name as written -> canonical name, for every actor and claimant seen.")
    alias_tables: list[str] = Field(
        default_factory=list, description="Alias packs and files used beyond the core table, so `summarize check` can use them again."
    )


# --- the model's draft -------------------------------------------------------------------------


class SentenceDraft(StrictModel):
    """One sentence of the briefing and the ids of the claims it rests on."""

    text: str = Field(
        description="One neutral sentence. Name who said each contested point inside the sentence ('the monitor said ...'). Use 'said' for every party. "
        "Loaded words only inside quotation marks with their speaker."
    )
    claim_ids: list[str] = Field(description="Ids of the claims and figures (e.g. 'wire-1:f1') this sentence rests on; at least one.")


class TimelineDraft(StrictModel):
    """One dated step of the story."""

    when: str = Field(description="The date or period as the claims give it (e.g. '2024-11-27' or 'Wednesday 27 November').")
    text: str = Field(description="What happened then, one neutral sentence with attribution.")
    claim_ids: list[str] = Field(description="Ids of the claims this rests on.")


class BriefDraft(VerifiedModel):
    """A neutral briefing written only from the numbered claims given. The headline is factual and
    carries no contested number unless it names who gives it."""

    # no description here: a $ref with a sibling keyword is not accepted by strict structured outputs
    headline: SentenceDraft
    lead: list[SentenceDraft] = Field(description="Two to four sentences: what happened, where, when, and the range of reported tolls with their claimants.")
    key_points: list[SentenceDraft] = Field(description="Three to eight key points, each one sentence.")
    timeline: list[TimelineDraft] = Field(description="Dated steps in order; empty if the claims give no dates.")
    context: list[SentenceDraft] = Field(description="Background sentences (designations, who the groups are), attributed.")


# --- the briefing we emit ----------------------------------------------------------------------


class Sentence(_Record):
    section: Literal["headline", "lead", "key_points", "timeline", "context"]
    text: str
    claim_ids: list[str]
    when: str | None = None
    source_ids: list[str] = Field(description="Sources behind the cited claims, resolved by code.")
    status: Literal["verified", "marked"] = Field(description="'marked' sentences failed a check after re-asking; shown with a warning.")
    problems: list[str] = Field(default_factory=list)


class RemovedSentence(_Record):
    section: str
    text: str
    claim_ids: list[str]
    problems: list[str]


class SourceSummary(_Record):
    id: str
    outlet: str | None
    outlet_type: str
    affiliation: str | None
    title: str | None
    url: str | None
    published: dt.date | None
    sha256: str
    claims: int
    figures: int
    cited: bool


class Briefing(_Record):
    schema_version: str = SCHEMA_VERSION
    headline: Sentence | None
    lead: list[Sentence]
    key_points: list[Sentence]
    timeline: list[Sentence]
    context: list[Sentence]
    reconciled: Reconciled
    sources: list[SourceSummary]
    checks: list[CheckResult]
    removed: list[RemovedSentence]
    provenance: Provenance
    reports: list[SourceReport] = Field(description="The source reports the briefing was written from, so `summarize check` can re-verify it alone.")
    glosses: dict[str, str] = Field(
        default_factory=dict, description="English glosses of the non-English loaded terms the briefing shows, the term as written -> its gloss."
    )

    def sentences(self) -> list[Sentence]:
        return ([self.headline] if self.headline else []) + self.lead + self.key_points + self.timeline + self.context

    @property
    def verified(self) -> bool:
        return all(c.passed for c in self.checks)
