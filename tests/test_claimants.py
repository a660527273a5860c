"""One claimant rule and the party-source predicates, shared by reconcile, the gates, export and evaluation."""

from __future__ import annotations

from summarize.aliases import load_aliases
from summarize.claimants import (
    PARTY_OUTLETS,
    canonical_name,
    carried_by_party_media,
    claimant_name,
    own_reporting,
    party_sources_only,
    speaks_for_party,
)


def test_the_outlets_own_voice_is_claimed_by_the_outlet_however_written() -> None:
    aliases = load_aliases("syria")
    for written in ("the outlet", "The Outlet", "  the outlet ", "the outlet."):
        assert claimant_name(written, "River Times", aliases) == "River Times (own reporting)" == own_reporting("River Times")
        assert claimant_name(written, "River Times", {}) == "River Times (own reporting)"


def test_other_claimants_are_canonical_by_the_alias_table_or_the_reconciled_map() -> None:
    aliases = load_aliases("syria")
    assert claimant_name("Syrian Observatory for Human Rights", "Wire", aliases) == "SOHR"
    assert claimant_name(" the monitor ", "Wire", {"the monitor": "SOHR"}) == "SOHR"
    assert canonical_name(" Unknown Body ", {}) == "Unknown Body" == canonical_name(" Unknown Body ", aliases)


def test_a_claimant_speaks_for_a_party_when_listed_or_carried_only_by_party_media() -> None:
    aliases = load_aliases("syria")
    listed = next(iter(aliases.party_sources))
    assert speaks_for_party(listed, ["independent"], aliases)
    assert speaks_for_party("SOHR", ["state_media", "party_media"], aliases)
    assert not speaks_for_party("SOHR", ["state_media", "wire"], aliases)
    assert not speaks_for_party("SOHR", [], aliases), "no carrier is no evidence of a party"


def test_party_media_carrying_a_figure_is_a_different_question() -> None:
    assert carried_by_party_media(["wire", "state_media"]) and not carried_by_party_media(["wire"])
    assert not speaks_for_party("SOHR", ["wire", "state_media"], load_aliases("syria"))


def test_party_sources_only_needs_every_claimant_listed_or_every_outlet_partisan() -> None:
    aliases = load_aliases("syria")
    listed = next(iter(aliases.party_sources))
    assert party_sources_only([listed], ["wire"], aliases)
    assert not party_sources_only([listed, "SOHR"], ["wire"], aliases)
    assert party_sources_only([listed, "SOHR"], sorted(PARTY_OUTLETS), aliases)
