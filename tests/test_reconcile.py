"""Reconcile: scope discipline, independence counting, sums, disagreements and order invariance.

The example stories are replayed from their cassettes (no network); constructed cases edit those
reports with ``model_copy`` so every other field stays realistic.
"""

from __future__ import annotations

import functools
import itertools
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarize.aliases import load_aliases
from summarize.api import extract_files
from summarize.config import load_settings
from summarize.errors import ConfigError
from summarize.models.briefing import FigureComparison, FigureEntry, Reconciled
from summarize.models.report import FigureClaim, SourceReport
from summarize.reconcile.story import reconcile

SYRIA = load_aliases("syria")  # the Aleppo story opts into the Syrian alias pack (examples/aleppo/aliases.toml)

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _reports(story: str) -> tuple[SourceReport, ...]:
    settings = load_settings({"replay": str(ROOT / "cassettes" / f"{story}-extract.yaml")}, env={})
    out = extract_files([str(ROOT / "examples" / story)], settings)
    assert not out.failed
    return tuple(out.reports)


@pytest.fixture(scope="module")
def aleppo() -> list[SourceReport]:
    return list(_reports("aleppo"))


@pytest.fixture(scope="module")
def floods() -> list[SourceReport]:
    return list(_reports("floods"))


@pytest.fixture(scope="module")
def ref(aleppo: list[SourceReport]) -> Reconciled:
    return reconcile(aleppo, SYRIA)


@pytest.fixture(scope="module")
def flood_rec(floods: list[SourceReport]) -> Reconciled:
    return reconcile(floods, SYRIA)


def comparison(rec: Reconciled, key: str) -> FigureComparison:
    found = [c for c in rec.comparisons if c.scope_key == key]
    assert len(found) == 1, [c.scope_key for c in rec.comparisons]
    return found[0]


def entry(c: FigureComparison, claimant: str, value: int | None = None) -> FigureEntry:
    found = [e for e in c.entries if e.claimant == claimant and (value is None or e.value == value)]
    assert len(found) == 1, [(e.claimant, e.value) for e in c.entries]
    return found[0]


def figure(reports: list[SourceReport], source_id: str, value: int) -> FigureClaim:
    found = [f for r in reports if r.source.id == source_id for f in r.figures if f.value == value]
    assert len(found) == 1
    return found[0]


def report(reports: list[SourceReport], source_id: str) -> SourceReport:
    return next(r for r in reports if r.source.id == source_id)


def edit_claim(r: SourceReport, claim_id: str, **update: object) -> SourceReport:
    return r.model_copy(update={"claims": [c.model_copy(update=update) if c.id == claim_id else c for c in r.claims]})


def edit_figure(r: SourceReport, figure_id: str, **update: object) -> SourceReport:
    return r.model_copy(update={"figures": [f.model_copy(update=update) if f.id == figure_id else f for f in r.figures]})


# --- the reference story -------------------------------------------------------------------------


def test_all_deaths_compare_153_with_238_and_note_the_time_window(ref: Reconciled) -> None:
    c = comparison(ref, "killed|all|")
    assert c.label == "killed — all"
    assert sorted(e.value for e in c.entries if e.value is not None) == [153, 238]
    assert {e.claimant for e in c.entries} == {"SOHR", "local sources"}
    assert (c.comparable, c.disagreement, c.min, c.max) == (True, True, 153, 238)
    assert any("time window" in n and "over the past three days" in n and "SOHR" in n for n in c.notes)


def test_outlets_repeating_sohr_make_one_entry_and_one_claimant(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    c = comparison(ref, "killed|all|")
    sohr = entry(c, "SOHR", 153)
    assert sohr.figure_ids == sorted([figure(aleppo, "kurdish-desk", 153).id, figure(aleppo, "monitor-digest", 153).id])
    assert sohr.source_ids == ["kurdish-desk", "monitor-digest"]
    assert sohr.reported_by == sorted({"Tigris Kurdish News Desk", "Orontes Conflict Digest"})
    assert sohr.published == report(aleppo, "monitor-digest").source.published  # the undated outlet does not count as earliest
    assert c.claimants == 2


def test_opposition_fighters_compare_sohr_derived_99_with_russian_400(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    c = comparison(ref, "killed|combatants|opposition fighters")
    assert c.label == "killed — opposition fighters (HTS + SNA)"
    sohr = entry(c, "SOHR")
    assert (sohr.value, sohr.derived, sohr.figure_ids) == (99, True, [])
    assert sohr.derived_from == sorted([figure(aleppo, "monitor-digest", 80).id, figure(aleppo, "monitor-digest", 19).id])
    assert sohr.rule == "sum of SOHR's figures for HTS (80) and SNA (19)"
    assert entry(c, "Russian reports").value == 400
    assert (c.claimants, c.comparable, c.disagreement, c.min, c.max) == (2, True, True, 99, 400)
    assert any("99 is derived" in n for n in c.notes)
    assert c.derived is not None and c.derived.acled_conservative == 400  # a derived sum is not a reported figure


def test_400_is_never_compared_with_153(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    russian, sohr_total = figure(aleppo, "regional-wire", 400).id, figure(aleppo, "monitor-digest", 153).id
    assert 400 not in [e.value for e in comparison(ref, "killed|all|").entries]
    for c in ref.comparisons:
        ids = {i for e in c.entries for i in e.figure_ids}
        assert not (russian in ids and sohr_total in ids)
    pairs = [n for n in ref.not_comparable if russian in n.figure_ids and sohr_total in n.figure_ids]
    assert len(pairs) == 1
    assert "scope" in pairs[0].reason and "opposition fighters only" in pairs[0].reason
    assert pairs[0].claimants[0] == "Russian reports" and "SOHR" in pairs[0].claimants
    # SOHR's own parts sit beside its own total: the sum check covers them, not a scope warning
    assert sorted(n.claimants[0] for n in ref.not_comparable) == ["Russian reports", "SANA"]


def test_sana_civilians_stand_alone(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    c = next(c for c in ref.comparisons if c.population == "civilians")
    assert [(e.claimant, e.value) for e in c.entries] == [("SANA", 4)]
    assert len(c.entries[0].figure_ids) == 2  # carried by the wire and the state paper
    assert (c.claimants, c.comparable, c.disagreement) == (1, False, False)
    sana = [n for n in ref.not_comparable if n.claimants[0] == "SANA"]
    # the university-city shelling is its own incident within the offensive: SANA's 4 is apart for that reason too
    assert len(sana) == 1 and "different event" in sana[0].reason
    assert figure(aleppo, "regional-wire", 238).id in sana[0].figure_ids
    assert any(g.question.startswith("Only SANA gives a figure for killed — civilians") for g in ref.gaps)
    assert not any("civilians" in d.topic for d in ref.disagreements)


def test_sohr_parts_add_up_to_its_total(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    (check,) = ref.sum_checks
    assert (check.claimant, check.metric, check.total, check.parts_sum, check.consistent) == ("SOHR", "killed", 153, 153, True)
    assert check.total_figure_id == figure(aleppo, "monitor-digest", 153).id
    assert check.part_figure_ids == [figure(aleppo, "monitor-digest", v).id for v in (80, 54, 19)]
    assert check.note.startswith("80 + 54 + 19 = 153") and "at least" in check.note


def test_derived_totals_keep_the_range_and_choose_no_best(ref: Reconciled) -> None:
    derived = comparison(ref, "killed|all|").derived
    assert derived is not None
    assert (derived.acled_conservative, derived.ucdp_low, derived.ucdp_high) == (153, 153, 238)
    assert "UCDP best is left empty" in derived.rule_text


def test_numeric_disagreements_are_exactly_the_two_real_ones(ref: Reconciled) -> None:
    numeric = [d for d in ref.disagreements if d.kind == "numeric"]
    assert [d.topic for d in numeric] == ["killed — all", "killed — opposition fighters (HTS + SNA)"]
    assert [d.id for d in ref.disagreements] == [f"d{n}" for n in range(1, len(ref.disagreements) + 1)]
    totals, fighters = numeric
    assert {p.statement for p in totals.positions} == {"≥153 killed", "238 killed (over the past three days)"}
    assert {p.statement for p in fighters.positions} == {"99 killed (derived: 80 HTS + 19 SNA)", "~400 killed"}
    assert all(d.status == "unresolved" for d in numeric)
    assert any("party source vs independent" in e and "Russian reports" in e for e in fighters.possible_explanations)
    assert any("time window" in e for e in totals.possible_explanations)


def test_terminology_notes_name_who_says_terrorists(ref: Reconciled) -> None:
    notes = {(n.term.casefold(), n.used_by): n for n in ref.terminology}
    assert {"Russian reports", "Syrian Ministry of Defence"} <= {who for term, who in notes if term == "terrorists"}
    assert notes[("terrorists", "Russian reports")].neutral_rendering == "name the group, e.g. 'HTS fighters'"
    assert notes[("terrorists", "Syrian Ministry of Defence")].source_ids == ["state-herald"]
    own = notes[("terrorist groups", "Homeland Evening Herald (own reporting)")]
    assert own.claim_ids and own.source_ids == ["state-herald"]
    # reporting a designation is not adopting the label: the term is the designating body's, reported by the outlets
    # (this used to be charged to "Eastern Mediterranean Wire (own reporting)", issue 16)
    designation = notes[("terrorist organisation", "the United States and Turkey")]
    assert "designation" in designation.neutral_rendering
    assert designation.reported_by == ["Eastern Mediterranean Wire", "Homeland Evening Herald"]
    assert designation.claim_ids == ["regional-wire:c7", "state-herald:c7"]
    assert not [who for term, who in notes if term == "terrorist organisation" and "own reporting" in who]
    # "which the opposition presented as provocation": the word is the opposition's, relayed by Turkish security sources
    (provocation,) = [n for n in ref.terminology if n.term == "provocation"]
    assert (provocation.used_by, provocation.reported_by) == ("the opposition", ["Turkish security sources"])


def test_terminology_disagreement_sets_users_against_counters(ref: Reconciled) -> None:
    (term,) = [d for d in ref.disagreements if d.kind == "terminology"]
    users = {p.claimant for p in term.positions if p.statement.startswith("uses")}
    others = {p.claimant for p in term.positions if p.statement == "does not use the term"}
    assert {"Russian reports", "Syrian Ministry of Defence", "SANA"} <= users
    assert {"SOHR", "local sources"} == others
    assert "Eastern Mediterranean Wire (own reporting)" not in users | others


def test_consensus_counts_claimants_not_outlets(ref: Reconciled, aleppo: list[SourceReport]) -> None:
    # SOHR's 153, carried by two outlets, is one claimant: not a consensus (it used to be listed as one, issue 16)
    assert not [p for p in ref.consensus if p.claimants == ["SOHR"]]
    assert all(p.n_independent_claimants == len(p.claimants) >= 2 for p in ref.consensus)
    # a second, independent claimant giving the same figure for the same scope makes one
    wire = edit_figure(report(aleppo, "regional-wire"), figure(aleppo, "regional-wire", 4).id, attributed_to="SOHR")
    (point,) = reconcile([wire, report(aleppo, "state-herald")], SYRIA).consensus
    assert (point.claimants, point.n_independent_claimants, point.source_ids) == (["SANA", "SOHR"], 2, ["regional-wire", "state-herald"])
    assert point.text.startswith("4 killed (civilians)")


def test_reference_gaps(ref: Reconciled) -> None:
    questions = [g.question for g in ref.gaps]
    assert questions == sorted(questions)
    assert "No source gives a number of injured." in questions
    assert "No independent source gives a civilian death toll." in questions
    # the undated "on Wednesday" of kurdish-desk is the incident three other sources date to 2024-11-27, so its date
    # is established (the gap used to say it was not, issue 16)
    assert not [q for q in questions if q.startswith("The date of")]


def test_an_event_no_source_dates_is_a_gap(aleppo: list[SourceReport]) -> None:
    questions = [g.question for g in reconcile([report(aleppo, "kurdish-desk")], SYRIA).gaps]
    undated = [q for q in questions if q.startswith("The date of")]
    assert len(undated) == 1 and "'on Wednesday' cannot be resolved without a publication date" in undated[0]


def test_alias_map_covers_claimants_parties_and_actors(ref: Reconciled) -> None:
    assert ref.aliases["Syrian National Army"] == "SNA"
    assert ref.aliases["Hay’at Tahrir al-Sham"] == "HTS"
    assert ref.aliases["Syrian army units"] == "Syrian army"  # known through its canonical actor name
    assert ref.aliases["local sources"] == "local sources"
    assert "the outlet" not in ref.aliases
    assert list(ref.aliases) == sorted(ref.aliases)


def test_every_order_of_the_reports_gives_the_same_result(aleppo: list[SourceReport], ref: Reconciled) -> None:
    expected = ref.model_dump_json()
    for order in itertools.permutations(aleppo):
        assert reconcile(order, SYRIA).model_dump_json() == expected


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_shuffling_items_inside_reports_changes_nothing(seed: int) -> None:
    rng = random.Random(seed)
    reports = list(_reports("aleppo")) + list(_reports("floods"))
    shuffled = []
    for r in rng.sample(reports, len(reports)):
        fields = {k: rng.sample(getattr(r, k), len(getattr(r, k))) for k in ("figures", "claims", "events", "actors")}
        shuffled.append(r.model_copy(update=fields))
    assert reconcile(shuffled, SYRIA).model_dump_json() == reconcile(reports, SYRIA).model_dump_json()


# --- the floods story ----------------------------------------------------------------------------


def test_ministry_figure_from_two_outlets_is_one_entry_and_one_claimant(flood_rec: Reconciled) -> None:
    c = comparison(flood_rec, "killed|all|")
    ministry = entry(c, "Ministry of Health", 31)
    assert ministry.source_ids == ["national-wire-day2", "river-times-day2"]
    # one claimant in two outlets is no consensus (it used to be listed as one, issue 16)
    assert not [p for p in flood_rec.consensus if "Ministry of Health" in p.claimants]


def test_a_day_one_count_of_a_rising_toll_is_earlier_not_a_disagreement(flood_rec: Reconciled) -> None:
    c = comparison(flood_rec, "killed|all|")
    assert [(e.claimant, e.value, e.earlier) for e in c.entries] == [
        ("Valdorian Civil Defence", 12, True),
        ("Ministry of Health", 31, False),
        ("Teral Rescue Volunteers", 40, False),
    ]
    assert str(entry(c, "Valdorian Civil Defence").as_of) == "2025-04-09"
    # the two day-two figures still disagree; the day-one count is neither side nor the range's floor
    assert (c.claimants, c.comparable, c.disagreement, c.min, c.max) == (3, True, True, 31, 40)
    assert c.derived is not None and (c.derived.acled_conservative, c.derived.ucdp_low, c.derived.ucdp_high) == (31, 31, 40)
    assert any("Valdorian Civil Defence's ≥12 was reported on 2025-04-09, before the 2025-04-10 figures" in n for n in c.notes)
    (d,) = [d for d in flood_rec.disagreements if d.topic == "killed — all"]
    assert d.status == "unresolved" and [p.statement for p in d.positions] == ["31 killed", ">40 killed"]
    (nc,) = [n for n in flood_rec.not_comparable if n.claimants[0] == "Valdorian Civil Defence" and "different dates" in n.reason]
    assert nc.claimants == ["Valdorian Civil Defence", "Ministry of Health", "Teral Rescue Volunteers"]
    assert nc.figure_ids[0] == "valley-courier-day1:f1" and "different dates" in nc.reason


def _killed(reports: list[SourceReport]) -> FigureComparison:
    return comparison(reconcile(reports, SYRIA), "killed|all|")


def test_one_later_higher_figure_is_still_a_disagreement(floods: list[SourceReport]) -> None:
    """153 on the 28th and 238 "over three days" on the 29th may be different counts: keep them side by side."""
    day_two = report(floods, "river-times-day2")
    without_volunteers = day_two.model_copy(update={"figures": [f for f in day_two.figures if f.attributed_to != "Teral Rescue Volunteers"]})
    c = _killed([r for r in floods if r.source.id != "river-times-day2"] + [without_volunteers])
    assert [(e.claimant, e.earlier) for e in c.entries] == [("Valdorian Civil Defence", False), ("Ministry of Health", False)]
    assert c.disagreement and c.min == 12


def test_an_undated_carrier_keeps_a_count_current(floods: list[SourceReport]) -> None:
    day_one = report(floods, "valley-courier-day1")
    undated = day_one.model_copy(update={"source": day_one.source.model_copy(update={"published": None})})
    c = _killed([r for r in floods if r.source.id != "valley-courier-day1"] + [undated])
    assert not any(e.earlier for e in c.entries) and c.min == 12


def test_a_later_lower_count_from_others_is_a_disagreement(floods: list[SourceReport]) -> None:
    day_one = report(floods, "valley-courier-day1")
    higher = edit_figure(day_one, "valley-courier-day1:f1", value=35)
    c = _killed([r for r in floods if r.source.id != "valley-courier-day1"] + [higher])
    assert not any(e.earlier for e in c.entries) and c.disagreement and (c.min, c.max) == (31, 40)


def _swap(floods: list[SourceReport], *edited: SourceReport) -> list[SourceReport]:
    ids = {r.source.id for r in edited}
    return [r for r in floods if r.source.id not in ids] + list(edited)


def test_an_earlier_count_still_needs_its_claimant_in_a_briefing(floods: list[SourceReport]) -> None:
    # day two agrees on 31: nothing is in dispute, but "12 were killed" in the briefing's own voice would be stale
    agree = edit_figure(report(floods, "river-times-day2"), "river-times-day2:f2", value=31, qualifier="exact")
    c = _killed(_swap(floods, agree))
    early = entry(c, "Valdorian Civil Defence")
    assert early.earlier and not c.disagreement
    from summarize.gate.gates import _contest

    assert "earlier count (Valdorian Civil Defence, 2025-04-09)" in (_contest(early, c, None) or "")  # type: ignore[arg-type]


def test_a_claimants_own_later_figure_supersedes_its_earlier_one(floods: list[SourceReport]) -> None:
    own = edit_figure(report(floods, "valley-courier-day1"), "valley-courier-day1:f1", attributed_to="Ministry of Health", value=10)
    c = _killed(_swap(floods, own))
    # its own later figure replaces it: marked superseded (the order is known from the dates), not set against the 31
    assert entry(c, "Ministry of Health", 10).superseded and entry(c, "Ministry of Health", 31).current
    assert (c.min, c.max) == (31, 40)


def test_later_figures_from_parties_alone_do_not_set_an_independent_count_aside(floods: list[SourceReport]) -> None:
    state = [
        r.model_copy(update={"source": r.source.model_copy(update={"outlet_type": "state_media"})})
        for r in floods
        if r.source.id in ("national-wire-day2", "river-times-day2")
    ]
    c = _killed(_swap(floods, *state))
    assert not entry(c, "Valdorian Civil Defence").earlier and c.min == 12


def test_upper_bounds_are_not_floors_for_setting_a_count_aside(floods: list[SourceReport]) -> None:
    day_one = edit_figure(report(floods, "valley-courier-day1"), "valley-courier-day1:f1", value=45, qualifier="at_least")
    wire = edit_figure(report(floods, "national-wire-day2"), "national-wire-day2:f1", value=50, qualifier="up_to")
    times = edit_figure(report(floods, "river-times-day2"), "river-times-day2:f1", value=50, qualifier="up_to")
    times = edit_figure(times, "river-times-day2:f2", value=60, qualifier="less_than")
    c = _killed(_swap(floods, day_one, wire, times))
    assert not entry(c, "Valdorian Civil Defence").earlier


def test_a_revised_missing_count_is_explained(flood_rec: Reconciled) -> None:
    c = comparison(flood_rec, "missing|all|")
    assert (c.claimants, c.comparable, c.disagreement) == (1, False, False)
    assert "Valdorian Civil Defence updated its figure from 30 (2025-04-09) to 18 (2025-04-10): the latest is used" in c.notes
    # a claimant updating its own figure in a known order does not disagree with itself
    assert not [d for d in flood_rec.disagreements if d.topic == "missing — all"]
    assert entry(c, "Valdorian Civil Defence", 30).superseded


def test_a_vague_count_is_listed_but_not_used_for_the_range(flood_rec: Reconciled) -> None:
    c = comparison(flood_rec, "other|unknown|")
    assert [e.vague_word for e in c.entries] == ["dozens"]
    assert (c.min, c.max, c.derived) == (None, None, None)
    assert any("no number" in n for n in c.notes)


def test_flood_gaps_do_not_ask_for_civilian_or_injured_counts(flood_rec: Reconciled) -> None:
    assert [g.question for g in flood_rec.gaps] == []


def test_flood_story_is_order_invariant(floods: list[SourceReport], flood_rec: Reconciled) -> None:
    for order in itertools.permutations(floods):
        assert reconcile(order, SYRIA).model_dump_json() == flood_rec.model_dump_json()


# --- constructed cases -----------------------------------------------------------------------------


def test_parts_that_do_not_add_up_are_flagged(aleppo: list[SourceReport]) -> None:
    digest = report(aleppo, "monitor-digest")
    broken = edit_figure(digest, figure(aleppo, "monitor-digest", 19).id, value=10)
    (check,) = reconcile([broken], SYRIA).sum_checks
    assert (check.consistent, check.parts_sum, check.total) == (False, 144, 153)
    assert "80 + 54 + 10 = 144" in check.note and "parts add up to 144, not 153" in check.note


def test_outlets_hedging_one_claimant_differently_keep_the_earliest_wording(aleppo: list[SourceReport]) -> None:
    # the undated kurdish desk sorts first by id but last by date: the dated digest's "at least" wins
    kurdish = edit_figure(report(aleppo, "kurdish-desk"), figure(aleppo, "kurdish-desk", 153).id, qualifier="exact")
    for order in itertools.permutations([kurdish, report(aleppo, "monitor-digest")]):
        sohr = entry(comparison(reconcile(order, SYRIA), "killed|all|"), "SOHR")
        assert (sohr.qualifier, len(sohr.figure_ids)) == ("at_least", 2)


def test_the_same_parts_in_two_reports_make_one_sum_check(aleppo: list[SourceReport]) -> None:
    digest = report(aleppo, "monitor-digest")
    copy = digest.model_copy(
        update={
            "source": digest.source.model_copy(update={"id": "a-digest"}),
            "figures": [f.model_copy(update={"id": f.id.replace("monitor-digest", "a-digest"), "source_id": "a-digest"}) for f in digest.figures],
        }
    )
    for order in ([digest, copy], [copy, digest]):
        (check,) = reconcile(order, SYRIA).sum_checks
        assert check.total_figure_id == "a-digest:f1"


def test_a_group_figure_beside_its_members_is_not_summed_twice(aleppo: list[SourceReport]) -> None:
    digest = report(aleppo, "monitor-digest")
    group = figure(aleppo, "monitor-digest", 80).model_copy(update={"id": "monitor-digest:f9", "party": "opposition fighters", "value": 99})
    (check,) = reconcile([digest.model_copy(update={"figures": [*digest.figures, group]})], SYRIA).sum_checks
    assert (check.parts_sum, check.consistent) == (153, True)
    assert "monitor-digest:f9" not in check.part_figure_ids


def test_an_independent_civilian_count_closes_the_party_only_gaps(aleppo: list[SourceReport]) -> None:
    wire = edit_figure(report(aleppo, "regional-wire"), figure(aleppo, "regional-wire", 4).id, attributed_to="SOHR")
    rec = reconcile([wire, report(aleppo, "state-herald")], SYRIA)
    c = next(c for c in rec.comparisons if c.population == "civilians")
    assert [e.claimant for e in c.entries] == ["SANA", "SOHR"] and not c.disagreement
    assert not [g for g in rec.gaps if "civilian" in g.question]


def test_the_same_statement_from_two_claimants_is_a_consensus_point(aleppo: list[SourceReport]) -> None:
    kurdish, digest = report(aleppo, "kurdish-desk"), report(aleppo, "monitor-digest")
    (raids,) = [c for c in kurdish.claims if c.attributed_to == "media reports"]
    (strikes,) = [c for c in digest.claims if c.attributed_to == "media reports"]
    wording = "Media reports said Russian jets carried out bombing raids on HTS-held areas west of Aleppo."
    # one claimant's statement carried by two outlets is one claimant, so no consensus (it used to be one, issue 16)
    same = edit_claim(digest, strikes.id, text=wording)
    assert not [p for p in reconcile([kurdish, same], SYRIA).consensus if "media reports" in p.claimants]
    # the same statement from another, independent claimant is
    turkish = "Turkish security sources said Russian jets carried out bombing raids on HTS-held areas west of Aleppo."
    other = edit_claim(digest, strikes.id, text=turkish, attributed_to="Turkish security sources")
    (point,) = [p for p in reconcile([kurdish, other], SYRIA).consensus if "media reports" in p.claimants]
    assert (point.claimants, point.claim_ids, point.n_independent_claimants) == (
        ["Turkish security sources", "media reports"],
        sorted([raids.id, strikes.id]),
        2,
    )
    # two claimants saying it in one article are not agreement between sources
    twice = kurdish.model_copy(
        update={"claims": [*kurdish.claims, raids.model_copy(update={"id": "kurdish-desk:c99", "attributed_to": "Turkish security sources"})]}
    )
    assert not [p for p in reconcile([twice], SYRIA).consensus if "media reports" in p.claimants]
    # nor does one claimant deny what the other says
    denied = edit_claim(
        digest,
        strikes.id,
        text="Turkish security sources said Russian jets did not carry out bombing raids on HTS-held areas.",
        attributed_to="Turkish security sources",
    )
    assert not [p for p in reconcile([kurdish, denied], SYRIA).consensus if "media reports" in p.claimants]


def test_claims_inside_one_article_do_not_chain_a_match(aleppo: list[SourceReport]) -> None:
    kurdish, digest = report(aleppo, "kurdish-desk"), report(aleppo, "monitor-digest")
    (template,) = [c for c in kurdish.claims if c.attributed_to == "media reports"]
    texts = {"x1": "Media reports said a bridge collapsed.", "x2": "Media reports said a bridge collapsed and the road to Atarib was cut."}
    extra = [template.model_copy(update={"id": f"kurdish-desk:{k}", "text": t}) for k, t in texts.items()]
    wording = "Turkish security sources said a bridge collapsed and the road to Atarib was cut."
    digest = edit_claim(digest, next(c.id for c in digest.claims if c.attributed_to == "media reports"), text=wording, attributed_to="Turkish security sources")
    rec = reconcile([kurdish.model_copy(update={"claims": extra}), digest], SYRIA)
    (point,) = [p for p in rec.consensus if "media reports" in p.claimants]
    assert "kurdish-desk:x1" not in point.claim_ids and "kurdish-desk:x2" in point.claim_ids


def test_a_hedged_part_makes_the_derived_sum_a_lower_bound(aleppo: list[SourceReport]) -> None:
    digest = edit_figure(report(aleppo, "monitor-digest"), figure(aleppo, "monitor-digest", 80).id, qualifier="at_least")
    rec = reconcile([digest, report(aleppo, "regional-wire")], SYRIA)
    sohr = entry(comparison(rec, "killed|combatants|opposition fighters"), "SOHR")
    assert (sohr.value, sohr.qualifier) == (99, "at_least")


def test_no_derived_sum_without_another_claimant_in_the_group_scope(aleppo: list[SourceReport]) -> None:
    rec = reconcile([report(aleppo, "monitor-digest")], SYRIA)
    assert "killed|combatants|opposition fighters" not in [c.scope_key for c in rec.comparisons]


def test_the_full_name_of_sohr_is_the_same_claimant(aleppo: list[SourceReport]) -> None:
    kurdish = report(aleppo, "kurdish-desk")
    renamed = edit_figure(kurdish, figure(aleppo, "kurdish-desk", 153).id, attributed_to="Syrian Observatory for Human Rights")
    rec = reconcile([renamed, report(aleppo, "monitor-digest")], SYRIA)
    c = comparison(rec, "killed|all|")
    assert [(e.claimant, len(e.figure_ids)) for e in c.entries] == [("SOHR", 2)]
    assert rec.aliases["Syrian Observatory for Human Rights"] == "SOHR"


def test_aliases_ignore_case_punctuation_and_apostrophes() -> None:
    aliases = load_aliases("syria")
    for name in ("Hay’at Tahrir al-Sham", "HAY'AT TAHRIR AL SHAM", "hayʼat tahrir al-sham", "Hayat Tahrir al-Sham."):
        assert aliases.canonical(name) == "HTS"
    assert aliases.canonical("the Observatory") == "SOHR"
    assert aliases.canonical("  Teral Rescue Volunteers ") == "Teral Rescue Volunteers"
    assert aliases.group_members("Attackers") == ("HTS", "SNA")
    assert aliases.group_members("HTS") is None


def test_a_user_file_is_merged_over_the_bundled_one(tmp_path: Path, aleppo: list[SourceReport]) -> None:
    user = tmp_path / "aliases.toml"
    user.write_text(
        '[claimants]\n"local sources" = ["field sources"]\n"Orontes Monitor" = ["the monitor"]\n[party_sources]\nnames = ["Ministry of Health"]\n',
        encoding="utf-8",
    )
    aliases = load_aliases(user, packs=["syria"])
    assert aliases.canonical("Field Sources") == "local sources"
    assert aliases.canonical("the monitor") == "Orontes Monitor"  # the user's file wins
    assert aliases.canonical("the Observatory") == "SOHR"  # the bundled entries remain
    assert {"Ministry of Health", "SANA"} <= aliases.party_sources
    wire = report(aleppo, "regional-wire")
    moved = edit_figure(wire, figure(aleppo, "regional-wire", 238).id, attributed_to="field sources")
    assert entry(comparison(reconcile([moved], aliases), "killed|all|"), "local sources").value == 238
    assert entry(comparison(reconcile([moved], SYRIA), "killed|all|"), "field sources").value == 238


def test_a_user_party_source_gets_a_single_source_gap(tmp_path: Path, floods: list[SourceReport]) -> None:
    user = tmp_path / "aliases.toml"
    user.write_text('[party_sources]\nnames = ["Ministry of Health"]\n', encoding="utf-8")
    gaps = [g.question for g in reconcile(floods, load_aliases(user, packs=["syria"])).gaps]
    assert gaps == ["Only Ministry of Health gives a figure for injured — all; no independent source confirms it."]


@pytest.mark.parametrize(
    "text",
    [
        '[claimants]\n"A" = "not a list"\n',
        '[claimants]\n"A" = ["x"]\n"B" = ["X"]\n',
        '[groups]\n"g" = ["HTS"]\n',
        "claimants = 3\n",
        "[claimants\n",
    ],
)
def test_a_malformed_user_file_is_a_config_error(tmp_path: Path, text: str) -> None:
    user = tmp_path / "aliases.toml"
    user.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError):
        load_aliases(user, packs=["syria"])


def test_empty_input_reconciles_to_nothing_but_the_injured_gap() -> None:
    rec = reconcile([], SYRIA)
    assert (rec.comparisons, rec.disagreements, rec.consensus, rec.aliases) == ([], [], [], {})
    assert [g.question for g in rec.gaps] == ["No source gives a number of injured."]


def test_a_sum_of_parts_is_dated_by_its_parts_and_can_be_an_earlier_count(aleppo: list[SourceReport]) -> None:
    # SOHR's 80 HTS + 19 SNA (28 Nov) sum to 99; two independent claimants give higher opposition tolls on 29 Nov
    wire = report(aleppo, "regional-wire")
    local, sana = (figure(aleppo, "regional-wire", v) for v in (238, 4))
    opposition = {"population": "combatants", "party": "opposition fighters"}
    wire = edit_figure(wire, local.id, value=200, **opposition)
    wire = edit_figure(wire, sana.id, value=250, attributed_to="Turkish security sources", **opposition)
    # the moved figure now counts the offensive (the main event), not the university-city shelling
    wire = wire.model_copy(
        update={
            "events": [
                e.model_copy(update={"figure_ids": [*e.figure_ids, sana.id] if e.id.endswith(":e1") else [i for i in e.figure_ids if i != sana.id]})
                for e in wire.events
            ]
        }
    )
    c = comparison(reconcile(_swap(aleppo, wire), SYRIA), "killed|combatants|opposition fighters")
    sohr = entry(c, "SOHR")
    assert sohr.derived and str(sohr.as_of) == "2024-11-28" and sohr.earlier
    assert c.min == 200
