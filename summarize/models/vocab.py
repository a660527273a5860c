"""Controlled vocabularies, anchored on ACLED and UCDP: event and sub-event types, actor types, metrics, qualifiers, precisions."""

from __future__ import annotations

from typing import Literal

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
# How a figure was arrived at, read from its wording: "could reach", "may rise to", "as many as ... feared" is a projection, not a count.
Basis = Literal["counted", "confirmed", "bodies_recovered", "estimated", "projected", "unclear"]
# Bases that report people already counted; estimates and projections are listed apart and never enter totals.
COUNT_BASES: frozenset[str] = frozenset({"counted", "confirmed", "bodies_recovered", "unclear"})
FigureStatus = Literal["current", "revised", "withdrawn", "denied"]
ClaimAspect = Literal["cause", "responsibility", "what_happened", "other"]
ClaimType = Literal["event", "figure", "characterisation", "intent", "designation", "quote"]
EventStatus = Literal["occurred", "claimed", "planned", "denied"]
Granularity = Literal["atomic", "aggregate"]
DatePrecision = Literal["day", "2-6_days", "week", "month", "year", "unknown"]
Alignment = Literal["exact", "normalised", "fuzzy"]
OutletType = Literal["wire", "newspaper", "broadcaster", "state_media", "party_media", "monitor", "ngo", "social", "other", "unknown"]
