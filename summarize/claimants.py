"""Who claims a figure or a claim, and who speaks for a party to the conflict: one home for both rules.

Reconciliation, the gates, export and evaluation all count claimants, so they must all name a
claimant the same way. The rule: an item attributed to the article's own voice (``"the outlet"``,
compared with ``aliases.norm_name``) is claimed by ``"<outlet> (own reporting)"``, since "the
outlet" is a different speaker in every article; any other item by the canonical name of whoever
it is attributed to.

"Party source" has two meanings, kept apart on purpose:

* ``speaks_for_party``: a *claimant* speaks for a party when the alias table lists it under
  ``[party_sources]`` or when every outlet carrying it is party media. Reconciliation uses it to
  tell party claimants from independent ones.
* ``carried_by_party_media``: a *figure* reaches the reader through party media when any outlet
  carrying it is party media, whoever its claimant is. The gates use it to insist that a figure
  only one claimant gives, through such an outlet, is stated with its claimant.

``party_sources_only`` combines the two for a set of claimants (export's "party-source-only" tag).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from summarize.aliases import Aliases, is_own_voice, norm_name

# Outlets that speak for a conflict party.
PARTY_OUTLETS = frozenset({"state_media", "party_media"})


# What extraction writes when an article names no source for an item ("unattributed reports").
UNATTRIBUTED = frozenset({"unattributed", "unattributed reports", "unattributed sources", "unnamed sources", "unattributed report"})


def is_unattributed(name: str) -> bool:
    return norm_name(name) in UNATTRIBUTED


def unattributed_in(outlet: str) -> str:
    """The claimant of items an outlet attributes to no one: never merged across outlets, never a named body."""
    return f"unattributed ({outlet})"


def own_reporting(outlet: str) -> str:
    """The claimant of what ``outlet`` states in its own voice."""
    return f"{outlet} (own reporting)"


def canonical_name(name: str, names: Aliases | Mapping[str, str]) -> str:
    """``name`` canonical by the alias table, or by a reconciled table's map of written names (``Reconciled.aliases``)."""
    if isinstance(names, Aliases):
        return names.canonical(name)
    written = name.strip()
    return names.get(written, written)


def claimant_name(attributed_to: str, outlet: str, names: Aliases | Mapping[str, str]) -> str:
    """The claimant of an item attributed to ``attributed_to`` and reported by ``outlet``."""
    if is_own_voice(attributed_to):
        return own_reporting(outlet)
    return unattributed_in(outlet) if is_unattributed(attributed_to) else canonical_name(attributed_to, names)


def is_party_outlet(outlet_type: str) -> bool:
    return outlet_type in PARTY_OUTLETS


def is_listed_party_source(who: str, aliases: Aliases) -> bool:
    """True for a claimant the alias table lists under ``[party_sources]``."""
    return who in aliases.party_sources


def speaks_for_party(who: str, outlet_types: Iterable[str], aliases: Aliases) -> bool:
    """A claimant listed as a party source, or one carried only (and at least once) by party media."""
    types = set(outlet_types)
    return is_listed_party_source(who, aliases) or (bool(types) and types <= PARTY_OUTLETS)


def carried_by_party_media(outlet_types: Iterable[str]) -> bool:
    """True when any of the outlets carrying an item is party media."""
    return any(is_party_outlet(t) for t in outlet_types)


def party_sources_only(names: Iterable[str], outlet_types: Iterable[str], aliases: Aliases) -> bool:
    """Every claimant is a listed party source, or every outlet is party media (vacuously true with no outlets)."""
    return all(is_listed_party_source(c, aliases) for c in names) or set(outlet_types) <= PARTY_OUTLETS
