"""Drafts: the schema the model fills.

Every field is required and every object forbids extra keys, so strict structured outputs accept the
generated JSON Schema unchanged. Drafts hold verbatim quotes but no offsets; code supplies those.
Field descriptions are written for the model to read.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from summarize.models.base import StrictModel, VerifiedModel
from summarize.models.vocab import (
    ActorType,
    Basis,
    ClaimAspect,
    ClaimType,
    EventStatus,
    EventType,
    FigureStatus,
    Granularity,
    Metric,
    Population,
    Qualifier,
    SubEventType,
)


class FigureDraft(StrictModel):
    """One number stated in the article: a count of people killed, injured, captured, displaced."""

    id: str = Field(description="Short id unique in this answer, e.g. 'f1', 'f2'. Events refer to figures by it.")
    metric: Metric = Field(description="What is counted. Use 'casualties_unspecified' when the text says 'casualties' without saying killed or injured.")
    population: Population = Field(
        description="Whose people are counted: 'all' for a total across everyone, 'civilians', 'combatants' for fighters or soldiers of one or more parties, "
        "'unknown' if the text does not say."
    )
    party: str | None = Field(
        description="For combatants: the party whose fighters are counted, named neutrally by the group's or force's name (e.g. 'the army', "
        "'opposition fighters', 'the militia'), never by a label such as 'terrorists'. Null for 'all' and 'civilians'."
    )
    value: int | None = Field(description="The number as an integer when one number is given; null for ranges.")
    low: int | None = Field(description="Lower bound when the text gives a range; otherwise null.")
    high: int | None = Field(description="Upper bound when the text gives a range; otherwise null.")
    qualifier: Qualifier = Field(
        description="How the number is hedged in the text: 'at least', 'about'/'approximately', 'more than', 'up to', a range, a vague word such as 'dozens', "
        "or 'exact' when unhedged."
    )
    vague_word: str | None = Field(description="The vague word itself when qualifier is 'vague_word' (e.g. 'dozens'); otherwise null.")
    basis: Basis = Field(
        default="unclear",
        description="How the number was arrived at, from the wording: 'counted' for a toll stated as people already killed, injured, missing...; "
        "'confirmed' when the text says confirmed, verified or documented; 'bodies_recovered' for bodies recovered or found; "
        "'estimated' when the text says estimated or believed; 'projected' for what could, may or is expected to happen "
        "('could reach', 'may rise to', 'as many as ... feared'); 'unclear' when the wording does not say.",
    )
    status: FigureStatus = Field(
        default="current",
        description="'current' unless the article says this figure was later 'revised' (replaced by a newer one), 'withdrawn' by whoever gave it, "
        "or 'denied' (someone denies giving it or denies it is true).",
    )
    status_by: str | None = Field(default=None, description="Who revised, withdrew or denied the figure, as named in the article; null when current.")
    as_of: str | None = Field(
        default=None, description="When the figure was the latest, copied as written ('by Tuesday evening', 'on Thursday', 'as of 14:00'); null if not stated."
    )
    cited_via: str | None = Field(
        default=None,
        description="When the article says attributed_to's number reached it through another body ('the agency, citing the health ministry'): "
        "that relaying body; null otherwise.",
    )
    time_window: str | None = Field(
        description="The period the figure covers, copied as written (e.g. 'over the last three days', 'since Wednesday'); null if none is stated."
    )
    place: str | None = Field(description="The place the figure covers as written, or null.")
    attributed_to: str = Field(
        description="Who gave the number according to the article, the original speaker: a monitor, ministry, agency, 'local sources'. "
        "Use 'the outlet' only when the article states it in its own voice, and 'unattributed' when the article says it comes from reports it does not name."
    )
    quote: str = Field(
        description="The sentence or clause from the article that states this number, copied character for character. It must contain the number as written."
    )
    gloss: str | None = Field(description="An English translation of the quote when the article is not in English; null for English articles.")


class ClaimDraft(StrictModel):
    """One statement the article reports, paraphrased neutrally with its attribution."""

    text: str = Field(
        description="A neutral paraphrase naming who said it inside the sentence ('The ministry said ...'). "
        "Do not adopt labels such as 'terrorist' or 'regime' in your own words."
    )
    claim_type: ClaimType = Field(description="event, figure, characterisation (a label for someone), intent, designation (official listing), or quote.")
    attributed_to: str = Field(description="The original speaker or body, e.g. 'the health ministry', 'the monitor', 'the outlet'.")
    event_id: str | None = Field(default=None, description="Id of the event (from 'events') this claim is about; null if it is about none of them.")
    aspect: ClaimAspect = Field(
        default="other",
        description="What the claim asserts about its event: 'cause' (what caused it), 'responsibility' (who did it or is to blame), "
        "'what_happened', or 'other'.",
    )
    position: str | None = Field(
        default=None,
        description="For 'cause' and 'responsibility': the claimant's answer in a few neutral words ('an air strike', 'a misfired rocket', "
        "'not the army'); null otherwise.",
    )
    quote: str = Field(description="The passage from the article this claim rests on, copied character for character.")
    gloss: str | None = Field(description="An English translation of the quote when the article is not in English; null for English articles.")
    loaded_terms: list[str] = Field(
        description="Loaded words the speaker uses inside the quote (e.g. 'terrorist', 'liberated', 'regime'), copied as written; empty if none."
    )


class ActorDraft(StrictModel):
    """A party to the events: an armed group, state force, civilians, an outside state."""

    name_as_written: str = Field(description="The actor's name exactly as it appears in the article.")
    canonical_name: str = Field(description="A standard full name for the actor, e.g. 'International Organization for Migration' for 'IOM'.")
    aliases: list[str] = Field(description="Other names or abbreviations the article uses for the same actor.")
    actor_type: ActorType = Field(
        description="ACLED actor type by what the actor is, never by labels others give it: 'Rebel group' for armed opposition, "
        "'State forces' for a state's military or police."
    )


class LocationDraft(StrictModel):
    """A place where the event happened."""

    name_as_written: str = Field(description="The place name exactly as it appears in the article.")
    admin1: str | None = Field(description="Province, state or governorate, if stated or implied by the text; else null.")
    country: str | None = Field(description="Country name, or null if unclear.")
    precision: Literal[1, 2, 3] = Field(
        description="ACLED geo precision: 1 a named town or village, 2 near a town or part of a district, 3 a province or large region."
    )


class EventDraft(StrictModel):
    """One event, or one aggregate report covering several days or places."""

    id: str = Field(default="", description="Short id unique in this answer, e.g. 'e1', 'e2'. Claims refer to events by it.")
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
    figure_ids: list[str] = Field(
        description="Ids of the figures (from 'figures') that count victims of this event. A figure for another event mentioned in passing "
        "(an earlier disaster, a whole war's toll) belongs to that event, listed separately."
    )
    quote: str = Field(description="The passage that reports this event, copied character for character from the article.")


class ExtractionDraft(VerifiedModel):
    """Everything one news article reports about its story, with verbatim quotes for each item."""

    events: list[EventDraft] = Field(description="Events the article reports.")
    figures: list[FigureDraft] = Field(description="Every count of people the article gives, each with who stated it.")
    claims: list[ClaimDraft] = Field(description="Key statements, characterisations and designations, each attributed.")
    actors: list[ActorDraft] = Field(description="Parties named in the article.")
