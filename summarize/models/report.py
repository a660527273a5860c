"""Records: what the pipeline emits after grounding.

``Source``, ``Evidence``, ``FigureClaim``, ``Claim``, ``Actor``, ``Location``, ``EventRecord`` and
``SourceReport``: each quote has been aligned to its source and carries character offsets supplied by code.
The drafts the model fills are in ``models.draft``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from summarize.models.base import SCHEMA_VERSION, Record
from summarize.models.vocab import (
    ActorType,
    Alignment,
    Basis,
    ClaimAspect,
    ClaimType,
    DatePrecision,
    EventStatus,
    EventType,
    FigureStatus,
    Granularity,
    Metric,
    OutletType,
    Population,
    Qualifier,
    SubEventType,
)


class Source(Record):
    """One input article."""

    id: str = Field(description="Stable id derived from the file name (or record id) of the source.")
    path: str | None = Field(default=None, description="Where it was read from; '-' for standard input.")
    outlet: str | None = None
    outlet_type: OutletType = "unknown"
    affiliation: str | None = Field(default=None, description="Relation to the parties of the conflict, if known.")
    url: str | None = None
    title: str | None = None
    published: dt.date | None = Field(default=None, description="Publication date to the day; relative dates resolve only against it.")
    published_as_written: str | None = Field(
        default=None, description="The header's publication date as written, when it was not an ISO date (kept so nothing is lost)."
    )
    published_precision: Literal["day", "month", "year", "unknown"] | None = Field(
        default=None, description="How precisely the publication date is known; null when the source gives none."
    )
    published_period: str | None = Field(
        default=None, description="'YYYY-MM' or 'YYYY' when only the month or year of publication is known; 'published' is then null."
    )
    language: str | None = None
    text: str
    sha256: str = Field(description="sha256 of the UTF-8 text (after decoding and newline normalisation).")
    warnings: list[str] = Field(default_factory=list, description="What reading the source noticed: an unreadable date, a repeated header key.")


class Evidence(Record):
    """A span of a source: ``quote == source.text[start:end]``."""

    source_id: str
    quote: str = Field(description="The source's own text at [start, end).")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    alignment: Alignment
    score: float = Field(description="Similarity 0-100 between the model's quote and the span (100 for exact).")
    quoted_as: str | None = Field(default=None, description="The model's quote when it differs from the source span.")


class FigureClaim(Record):
    id: str
    metric: Metric
    population: Population
    party: str | None
    value: int | None
    low: int | None
    high: int | None
    qualifier: Qualifier
    vague_word: str | None
    # defaults keep reports written before these fields readable
    basis: Basis = Field(default="unclear", description="How the number was arrived at; estimates and projections are never compared with counts.")
    status: FigureStatus = Field(default="current", description="Whether the article says the figure was revised, withdrawn or denied.")
    status_by: str | None = Field(default=None, description="Who revised, withdrew or denied it.")
    as_of: str | None = Field(default=None, description="When the figure was the latest, as written ('by Tuesday evening').")
    cited_via: str | None = Field(default=None, description="The body that relayed attributed_to's figure, when the article says so.")
    time_window: str | None
    place: str | None
    attributed_to: str
    reported_by: str = Field(description="The outlet that published the source.")
    source_id: str
    evidence: Evidence
    gloss: str | None = Field(default=None, description="English translation of the quote, for sources not in English.")


class Claim(Record):
    id: str
    text: str
    claim_type: ClaimType
    attributed_to: str
    reported_by: str
    source_id: str
    event_ids: list[str] = Field(default_factory=list, description="The events of this source the claim is about.")
    aspect: ClaimAspect = "other"
    position: str | None = Field(default=None, description="For cause and responsibility claims: the claimant's answer in a few words.")
    loaded_terms: list[str]
    evidence: Evidence
    gloss: str | None = Field(default=None, description="English translation of the quote, for sources not in English.")


class Actor(Record):
    name: str
    canonical_name: str
    aliases: list[str]
    actor_type: ActorType
    source_id: str
    evidence: Evidence


class Location(Record):
    name: str
    admin1: str | None
    country: str | None
    precision: Literal[1, 2, 3]


class EventRecord(Record):
    id: str
    source_ids: list[str]
    disorder_type: str
    event_type: EventType
    sub_event_type: SubEventType
    summary: str
    date_as_written: str | None
    date_start: dt.date | None
    date_end: dt.date | None
    date_precision: DatePrecision
    date_note: str | None = Field(default=None, description="How the date was resolved, or why it was not.")
    granularity: Granularity
    status: EventStatus
    actors: list[str]
    locations: list[Location]
    figure_ids: list[str]
    evidence: list[Evidence]


class Dropped(Record):
    """An item the model gave that failed verification and is not in the output."""

    kind: Literal["event", "figure", "claim", "actor", "location"]
    reason: str
    item: dict[str, object]


class CheckResult(Record):
    name: str
    passed: bool
    detail: str
    failures: list[str] = Field(default_factory=list)


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = Field(default=0, description="HTTP requests sent, transport retries included.")
    attempts: int = Field(default=0, description="Model answers received, re-asks included.")
    cost_usd: float | None = Field(default=None, description="Null when no prices are configured, or when an answer reported no usage.")
    unreported: int = Field(default=0, description="Answers whose usage was missing or invalid: their tokens are unknown, not 0.")

    def add(self, other: Usage) -> Usage:
        # a sum that leaves out an answer of unknown cost is not the cost: it stays unknown
        unknown = (self.unreported and self.cost_usd is None) or (other.unreported and other.cost_usd is None)
        both_unpriced = self.cost_usd is None and other.cost_usd is None
        cost = None if unknown or both_unpriced else (self.cost_usd or 0) + (other.cost_usd or 0)
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            requests=self.requests + other.requests,
            attempts=self.attempts + other.attempts,
            cost_usd=cost,
            unreported=self.unreported + other.unreported,
        )


class PromptRef(Record):
    name: str
    version: str
    sha256: str


class Provenance(Record):
    tool_version: str
    schema_version: str = SCHEMA_VERSION
    model: str
    endpoint: str = Field(description="Host of the endpoint (no credentials, no path).")
    mode: str
    prompts: list[PromptRef]
    usage: Usage
    created_at: str


class SourceReport(Record):
    """What extraction returns for one source: grounded records plus what was checked."""

    schema_version: str = SCHEMA_VERSION
    source: Source
    events: list[EventRecord]
    figures: list[FigureClaim]
    claims: list[Claim]
    actors: list[Actor]
    checks: list[CheckResult]
    dropped: list[Dropped]
    chunks: int = 1
    provenance: Provenance

    @property
    def verified(self) -> bool:
        return not self.dropped and all(c.passed for c in self.checks)


class FailedItem(Record):
    """A source that produced no report, and why."""

    item: str
    stage: Literal["read", "extract", "brief"]
    error: str
    message: str
    attempts: int = 0


class ExtractionOutput(Record):
    """What ``summarize extract --format json`` writes."""

    schema_version: str = SCHEMA_VERSION
    reports: list[SourceReport]
    failed: list[FailedItem]
