"""Pydantic models: what the model is asked for, and what we output after checking it.

Two families live here:

* *Drafts* (``ExtractionDraft`` and its parts) are the schema sent to the LLM. They hold
  verbatim quotes but no offsets; every field is required and every object forbids extra
  keys, so the generated JSON Schema is accepted by strict structured outputs unchanged.
  Field descriptions are written for the model to read.
* *Records* (``Source``, ``Evidence``, ``FigureClaim``, ``Claim``, ``Actor``, ``Location``,
  ``EventRecord``, ``SourceReport``) are what the pipeline emits after grounding: each quote
  has been aligned to its source and carries character offsets supplied by code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = "1.0"

# --- controlled vocabularies (ACLED / UCDP anchored; see README "Data model") -------------

EventType = Literal[
    "Battles",
    "Protests",
    "Riots",
    "Explosions/Remote violence",
    "Violence against civilians",
    "Strategic developments",
]

SubEventType = Literal[
    # Battles
    "Government regains territory",
    "Non-state actor overtakes territory",
    "Armed clash",
    # Protests
    "Excessive force against protesters",
    "Protest with intervention",
    "Peaceful protest",
    # Riots
    "Violent demonstration",
    "Mob violence",
    # Explosions/Remote violence
    "Chemical weapon",
    "Air/drone strike",
    "Suicide bomb",
    "Shelling/artillery/missile attack",
    "Remote explosive/landmine/IED",
    "Grenade",
    # Violence against civilians
    "Sexual violence",
    "Attack",
    "Abduction/forced disappearance",
    # Strategic developments
    "Agreement",
    "Arrests",
    "Change to group/activity",
    "Disrupted weapons use",
    "Headquarters or base established",
    "Looting/property destruction",
    "Non-violent transfer of territory",
    "Other",
]

SUB_EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "Battles": ("Government regains territory", "Non-state actor overtakes territory", "Armed clash"),
    "Protests": ("Excessive force against protesters", "Protest with intervention", "Peaceful protest"),
    "Riots": ("Violent demonstration", "Mob violence"),
    "Explosions/Remote violence": (
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ),
    "Violence against civilians": ("Sexual violence", "Attack", "Abduction/forced disappearance"),
    "Strategic developments": (
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ),
}

DISORDER_TYPE: dict[str, str] = {
    "Battles": "Political violence",
    "Explosions/Remote violence": "Political violence",
    "Violence against civilians": "Political violence",
    "Riots": "Political violence",
    "Protests": "Demonstrations",
    "Strategic developments": "Strategic developments",
}

ActorType = Literal[
    "State forces",
    "Rebel group",
    "Political militia",
    "Identity militia",
    "Rioters",
    "Protesters",
    "Civilians",
    "External/Other forces",
    "Unknown",
]

Metric = Literal["killed", "injured", "captured", "displaced", "missing", "casualties_unspecified", "other"]
Population = Literal["all", "civilians", "combatants", "unknown"]
Qualifier = Literal["exact", "at_least", "about", "more_than", "less_than", "up_to", "range", "vague_word"]
ClaimType = Literal["event", "figure", "characterisation", "intent", "designation", "quote"]
EventStatus = Literal["occurred", "claimed", "planned", "denied"]
Granularity = Literal["atomic", "aggregate"]
DatePrecision = Literal["day", "2-6_days", "week", "month", "year", "unknown"]
Alignment = Literal["exact", "normalised", "fuzzy"]
OutletType = Literal[
    "wire", "newspaper", "broadcaster", "state_media", "party_media", "monitor", "ngo", "social", "other", "unknown"
]


_SCHEMA_CACHE: dict[tuple[type, str], str] = {}


class _Strict(BaseModel):
    """Base for LLM-facing models: every key required, no extras (strict structured outputs)."""

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # instructor regenerates the schema on every request (~10 ms of CPU, a third of a call's
        # overhead); the models never change at run time, so generate once and hand out copies.
        key = (cls, repr((args, sorted(kwargs.items()))))
        if key not in _SCHEMA_CACHE:
            _SCHEMA_CACHE[key] = json.dumps(super().model_json_schema(*args, **kwargs))
        return dict(json.loads(_SCHEMA_CACHE[key]))


# What a model answer is checked against. Set by the pipeline around a call (llm.verifying);
# kept out of instructor's ``context=`` because instructor renders messages as Jinja templates
# whenever a context is given, and article text is untrusted.
VERIFY: ContextVar[Callable[[Any], list[str]] | None] = ContextVar("summarize_verify", default=None)
# Set once the re-ask budget is spent: validators let the answer through so the pipeline can
# drop the failing items and report them, instead of losing the whole answer.
LENIENT: ContextVar[bool] = ContextVar("summarize_lenient", default=False)


class _Verified(_Strict):
    """An LLM answer that the pipeline verifies against its sources before accepting it."""

    @model_validator(mode="after")
    def _verify(self) -> _Verified:
        check = VERIFY.get()
        if check is None or LENIENT.get():
            return self
        problems = check(self)
        if problems:
            listed = "\n".join(f"- {p}" for p in problems)
            raise ValueError(f"{len(problems)} item(s) failed verification against the source:\n{listed}\nFix these items and answer again.")
        return self


class _Record(BaseModel):
    """Base for validated output records."""

    model_config = ConfigDict(extra="forbid")


# --- drafts: the schema the model fills --------------------------------------------------


class FigureDraft(_Strict):
    """One number stated in the article: a count of people killed, injured, captured, displaced."""

    id: str = Field(description="Short id unique in this answer, e.g. 'f1', 'f2'. Events refer to figures by it.")
    metric: Metric = Field(
        description="What is counted. Use 'casualties_unspecified' when the text says 'casualties' without saying killed or injured."
    )
    population: Population = Field(
        description="Whose people are counted: 'all' for a total across everyone, 'civilians', 'combatants' for fighters or soldiers of one or more parties, "
        "'unknown' if the text does not say."
    )
    party: str | None = Field(
        description="For combatants: the party whose fighters are counted, named neutrally (e.g. 'HTS', 'Syrian army', 'SNA', 'opposition fighters'), "
        "never by a label such as 'terrorists'. Null for 'all' and 'civilians'."
    )
    value: int | None = Field(description="The number as an integer when one number is given; null for ranges.")
    low: int | None = Field(description="Lower bound when the text gives a range; otherwise null.")
    high: int | None = Field(description="Upper bound when the text gives a range; otherwise null.")
    qualifier: Qualifier = Field(
        description="How the number is hedged in the text: 'at least', 'about'/'approximately', 'more than', 'up to', a range, a vague word such as 'dozens', "
        "or 'exact' when unhedged."
    )
    vague_word: str | None = Field(description="The vague word itself when qualifier is 'vague_word' (e.g. 'dozens'); otherwise null.")
    time_window: str | None = Field(
        description="The period the figure covers, copied as written (e.g. 'over the last three days', 'since Wednesday'); null if none is stated."
    )
    place: str | None = Field(description="The place the figure covers as written, or null.")
    attributed_to: str = Field(
        description="Who gave the number according to the article: a monitor, ministry, agency, 'local sources', 'Russian reports'. "
        "Use 'the outlet' only when the article states it in its own voice."
    )
    quote: str = Field(
        description="The sentence or clause from the article that states this number, copied character for character. It must contain the number as written."
    )
    gloss: str | None = Field(description="An English translation of the quote when the article is not in English; null for English articles.")


class ClaimDraft(_Strict):
    """One statement the article reports, paraphrased neutrally with its attribution."""

    text: str = Field(
        description="A neutral paraphrase naming who said it inside the sentence ('SANA said ...'). "
        "Do not adopt labels such as 'terrorist' or 'regime' in your own words."
    )
    claim_type: ClaimType = Field(description="event, figure, characterisation (a label for someone), intent, designation (official listing), or quote.")
    attributed_to: str = Field(description="The original speaker or body, e.g. 'Syrian Ministry of Defence', 'SOHR', 'the outlet'.")
    quote: str = Field(description="The passage from the article this claim rests on, copied character for character.")
    gloss: str | None = Field(description="An English translation of the quote when the article is not in English; null for English articles.")
    loaded_terms: list[str] = Field(
        description="Loaded words the speaker uses inside the quote (e.g. 'terrorist', 'liberated', 'regime'), copied as written; empty if none."
    )


class ActorDraft(_Strict):
    """A party to the events: an armed group, state force, civilians, an outside state."""

    name_as_written: str = Field(description="The actor's name exactly as it appears in the article.")
    canonical_name: str = Field(description="A standard full name for the actor, e.g. 'Hay'at Tahrir al-Sham' for 'HTS'.")
    aliases: list[str] = Field(description="Other names or abbreviations the article uses for the same actor.")
    actor_type: ActorType = Field(
        description="ACLED actor type by what the actor is, never by labels others give it: 'Rebel group' for armed opposition, "
        "'State forces' for a state's military or police."
    )


class LocationDraft(_Strict):
    """A place where the event happened."""

    name_as_written: str = Field(description="The place name exactly as it appears in the article.")
    admin1: str | None = Field(description="Province or governorate, if stated or implied by the text (e.g. 'Aleppo'); else null.")
    country: str | None = Field(description="Country name, or null if unclear.")
    precision: Literal[1, 2, 3] = Field(
        description="ACLED geo precision: 1 a named town or village, 2 near a town or part of a district, 3 a province or large region."
    )


class EventDraft(_Strict):
    """One event, or one aggregate report covering several days or places."""

    summary: str = Field(description="One neutral sentence: who did what, where. Attribute contested points.")
    event_type: EventType = Field(
        description="ACLED event type. When tactics co-occur, Battles outranks Explosions/Remote violence, which outranks Violence against civilians."
    )
    sub_event_type: SubEventType = Field(description="ACLED sub-event type belonging to event_type.")
    date_as_written: str | None = Field(
        description="When it happened, copied as written in the article ('Wednesday', 'on 27 November', 'over the last three days'). "
        "Never compute or guess a calendar date; null if the text gives none."
    )
    granularity: Granularity = Field(description="'atomic' for one incident at one place and day; 'aggregate' for a report covering several days or places.")
    status: EventStatus = Field(description="'occurred', 'claimed' (only one party asserts it), 'planned', or 'denied'.")
    actors: list[str] = Field(description="Names (as written) of the actors involved, each also listed in 'actors'.")
    locations: list[LocationDraft] = Field(description="Places named for this event.")
    figure_ids: list[str] = Field(description="Ids of the figures (from 'figures') that count victims of this event.")
    quote: str = Field(description="The passage that reports this event, copied character for character from the article.")


class ExtractionDraft(_Verified):
    """Everything one news article reports about its story, with verbatim quotes for each item."""

    events: list[EventDraft] = Field(description="Events the article reports.")
    figures: list[FigureDraft] = Field(description="Every count of people the article gives, each with who stated it.")
    claims: list[ClaimDraft] = Field(description="Key statements, characterisations and designations, each attributed.")
    actors: list[ActorDraft] = Field(description="Parties named in the article.")


# --- records: what we emit after grounding -----------------------------------------------


class Source(_Record):
    """One input article."""

    id: str = Field(description="Stable id derived from the file name (or record id) of the source.")
    path: str | None = Field(default=None, description="Where it was read from; '-' for standard input.")
    outlet: str | None = None
    outlet_type: OutletType = "unknown"
    affiliation: str | None = Field(default=None, description="Relation to the parties of the conflict, if known.")
    url: str | None = None
    title: str | None = None
    published: dt.date | None = Field(default=None, description="Publication date; relative dates resolve only against it.")
    language: str | None = None
    text: str
    sha256: str = Field(description="sha256 of the UTF-8 text (after decoding and newline normalisation).")


class Evidence(_Record):
    """A span of a source: ``quote == source.text[start:end]``."""

    source_id: str
    quote: str = Field(description="The source's own text at [start, end).")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    alignment: Alignment
    score: float = Field(description="Similarity 0-100 between the model's quote and the span (100 for exact).")
    quoted_as: str | None = Field(default=None, description="The model's quote when it differs from the source span.")


class FigureClaim(_Record):
    id: str
    metric: Metric
    population: Population
    party: str | None
    value: int | None
    low: int | None
    high: int | None
    qualifier: Qualifier
    vague_word: str | None
    time_window: str | None
    place: str | None
    attributed_to: str
    reported_by: str = Field(description="The outlet that published the source.")
    source_id: str
    evidence: Evidence
    gloss: str | None = Field(default=None, description="English translation of the quote, for sources not in English.")


class Claim(_Record):
    id: str
    text: str
    claim_type: ClaimType
    attributed_to: str
    reported_by: str
    source_id: str
    loaded_terms: list[str]
    evidence: Evidence
    gloss: str | None = Field(default=None, description="English translation of the quote, for sources not in English.")


class Actor(_Record):
    name: str
    canonical_name: str
    aliases: list[str]
    actor_type: ActorType
    source_id: str
    evidence: Evidence


class Location(_Record):
    name: str
    admin1: str | None
    country: str | None
    precision: Literal[1, 2, 3]


class EventRecord(_Record):
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


class Dropped(_Record):
    """An item the model gave that failed verification and is not in the output."""

    kind: Literal["event", "figure", "claim", "actor", "location"]
    reason: str
    item: dict[str, object]


class CheckResult(_Record):
    name: str
    passed: bool
    detail: str
    failures: list[str] = Field(default_factory=list)


class Usage(_Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = Field(default=0, description="HTTP requests sent, transport retries included.")
    attempts: int = Field(default=0, description="Model answers received, re-asks included.")
    cost_usd: float | None = Field(default=None, description="Null when no prices are configured.")

    def add(self, other: Usage) -> Usage:
        cost = None if self.cost_usd is None and other.cost_usd is None else (self.cost_usd or 0) + (other.cost_usd or 0)
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            requests=self.requests + other.requests,
            attempts=self.attempts + other.attempts,
            cost_usd=cost,
        )


class PromptRef(_Record):
    name: str
    version: str
    sha256: str


class Provenance(_Record):
    tool_version: str
    schema_version: str = SCHEMA_VERSION
    model: str
    endpoint: str = Field(description="Host of the endpoint (no credentials, no path).")
    mode: str
    prompts: list[PromptRef]
    usage: Usage
    created_at: str


class SourceReport(_Record):
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


class FailedItem(_Record):
    """A source that produced no report, and why."""

    item: str
    stage: Literal["read", "extract", "brief"]
    error: str
    message: str
    attempts: int = 0


class ExtractionOutput(_Record):
    """What ``summarize extract --format json`` writes."""

    schema_version: str = SCHEMA_VERSION
    reports: list[SourceReport]
    failed: list[FailedItem]
