"""Reconcile by incident, basis and status: what real articles need beyond metric + population + party.

Built on the floods story (not Syrian, so nothing here leans on the Syrian alias pack), with its
reports edited the way real articles differ: another event's toll in passing, a projection, a
withdrawn figure, a monitor updating its toll through one day, contested causes, an outlet
repeating a claimant in its own voice, spelling variants of one name.
"""

from __future__ import annotations

import functools
from pathlib import Path

from summarize.aliases import load_aliases
from summarize.api import extract_files
from summarize.config import load_settings
from summarize.models.briefing import FigureComparison, Reconciled
from summarize.models.report import Claim, SourceReport
from summarize.reconcile.story import reconcile
from summarize.reconcile.updates import time_of_day

ROOT = Path(__file__).resolve().parents[1]


@functools.cache
def _floods() -> tuple[SourceReport, ...]:
    settings = load_settings({"replay": str(ROOT / "cassettes" / "floods-extract.yaml")}, env={})
    out = extract_files([str(ROOT / "examples" / "floods")], settings)
    assert not out.failed
    return tuple(out.reports)


def reports() -> dict[str, SourceReport]:
    return {r.source.id: r for r in _floods()}


def main_killed(rec: Reconciled) -> FigureComparison:
    return next(c for c in rec.comparisons if c.scope_key == "killed|all|")


def add_figure(r: SourceReport, n: int, *, event: str | None = "e1", **update: object) -> SourceReport:
    """A copy of the report's first figure as figure f<n>, changed by ``update`` and tied to ``event``."""
    base = r.figures[0]
    new = base.model_copy(update={"id": f"{r.source.id}:f{n}", **update})
    events = [e.model_copy(update={"figure_ids": [*e.figure_ids, new.id]}) if event and e.id == f"{r.source.id}:{event}" else e for e in r.events]
    return r.model_copy(update={"figures": [*r.figures, new], "events": events})


def add_event(r: SourceReport, n: int, **update: object) -> SourceReport:
    new = r.events[0].model_copy(update={"id": f"{r.source.id}:e{n}", "figure_ids": [], **update})
    return r.model_copy(update={"events": [*r.events, new]})


def story(*changed: SourceReport) -> list[SourceReport]:
    by_id = reports()
    by_id.update({r.source.id: r for r in changed})
    return list(by_id.values())


def test_another_events_toll_is_listed_apart_never_compared() -> None:
    day1 = reports()["valley-courier-day1"]
    day1 = add_event(
        day1,
        2,
        summary="An earthquake in Norland two years ago killed 2,800 people, the outlet recalled.",
        locations=[day1.events[0].locations[0].model_copy(update={"name": "Norland", "admin1": None, "country": "Norland"})],
        granularity="atomic",
    )
    day1 = add_figure(day1, 9, event="e2", value=2800, qualifier="exact", attributed_to="the outlet")
    rec = reconcile(story(day1))
    killed = main_killed(rec)
    assert all(e.value != 2800 for e in killed.entries)
    assert killed.derived is not None and killed.derived.ucdp_high == 40 and killed.derived.acled_conservative == 31
    other = [c for c in rec.comparisons if c.incident_label and c.metric == "killed"]
    assert len(other) == 1 and other[0].entries[0].value == 2800 and "other event" in other[0].label
    assert any(n.reason.startswith("different event") and "valley-courier-day1:f9" in n.figure_ids for n in rec.not_comparable)
    assert not any("2800" in p.statement for d in rec.disagreements for p in d.positions)


def test_a_projection_is_never_set_against_counts_nor_used_for_totals() -> None:
    day2 = add_figure(reports()["river-times-day2"], 9, value=None, low=1800, high=2000, qualifier="range", basis="projected", attributed_to="the mayor")
    rec = reconcile(story(day2))
    killed = main_killed(rec)
    assert all(e.low != 1800 for e in killed.entries) and killed.derived and killed.derived.ucdp_high == 40
    projected = next(c for c in rec.comparisons if c.basis == "projection")
    assert projected.derived is None and "projection" in projected.label
    assert any(n.reason.startswith("different basis") for n in rec.not_comparable)


def test_withdrawn_and_denied_figures_are_shown_but_not_current() -> None:
    wire = reports()["national-wire-day2"]
    f1 = wire.figures[0]
    withdrawn = f1.model_copy(update={"status": "withdrawn", "status_by": "Ministry of Health"})
    wire = wire.model_copy(update={"figures": [withdrawn, *wire.figures[1:]]})
    river = reports()["river-times-day2"]
    river = river.model_copy(
        update={"figures": [f.model_copy(update={"status": "withdrawn", "status_by": "Ministry of Health"}) if f.value == 31 else f for f in river.figures]}
    )
    rec = reconcile(story(wire, river))
    killed = main_killed(rec)
    health = next(e for e in killed.entries if e.claimant == "Ministry of Health")
    assert health.status == "withdrawn" and not health.current
    # with the ministry's 31 gone, day one's 12 is no longer an earlier count of a toll others raised: it stands again
    assert killed.derived and (killed.derived.acled_conservative, killed.derived.ucdp_high) == (12, 40)
    positions = {p.claimant for d in rec.disagreements if d.topic == killed.label for p in d.positions}
    assert positions == {"Valdorian Civil Defence", "Teral Rescue Volunteers"}
    assert any("withdrawn by Ministry of Health" in n for n in killed.notes)


def test_a_monitor_updating_its_toll_through_one_day_does_not_disagree_with_itself() -> None:
    r = reports()["national-wire-day2"]
    r = add_figure(r, 7, value=14, qualifier="exact", attributed_to="Teral Flood Monitor", as_of="by 9 a.m.")
    r = add_figure(r, 8, value=22, qualifier="exact", attributed_to="Teral Flood Monitor", as_of="by noon")
    r = add_figure(r, 9, value=31, qualifier="exact", attributed_to="Teral Flood Monitor", as_of="by the evening")
    rec = reconcile(story(r))
    killed = main_killed(rec)
    monitor = [e for e in killed.entries if e.claimant == "Teral Flood Monitor"]
    assert [(e.value, e.superseded) for e in sorted(monitor, key=lambda e: e.value or 0)] == [(14, True), (22, True), (31, False)]
    disagreeing = {p.claimant for d in rec.disagreements if d.topic == killed.label for p in d.positions}
    assert "Teral Flood Monitor" in disagreeing  # its latest 31 still stands against the volunteers' > 40 ...
    assert not any(p.statement.startswith(("14", "22")) for d in rec.disagreements for p in d.positions)  # ... its earlier ones do not
    assert any("updated its figure from 14 (by 9 a.m.) to 22 (by noon) to 31 (by the evening)" in n for n in killed.notes)


def test_figures_of_one_claimant_without_a_known_order_stay_a_disagreement() -> None:
    r = add_figure(reports()["national-wire-day2"], 7, value=14, qualifier="exact", attributed_to="Teral Flood Monitor")
    r = add_figure(r, 8, value=22, qualifier="exact", attributed_to="Teral Flood Monitor")
    rec = reconcile(story(r))
    assert any("Teral Flood Monitor gives 2 figures" in n and "order is not known" in n for n in main_killed(rec).notes)


def test_time_of_day_reads_clock_times_and_parts_of_the_day() -> None:
    assert [time_of_day(t) for t in ("by 9 a.m.", "at 14:30", "by 6 pm", "by the evening", "on Thursday", "on 27 November", None)] == [
        540,
        870,
        1080,
        1140,
        None,
        None,
        None,
    ]


def _cause_claim(r: SourceReport, n: int, who: str, position: str) -> Claim:
    return r.claims[0].model_copy(
        update={"id": f"{r.source.id}:c{n}", "attributed_to": who, "aspect": "cause", "position": position, "event_ids": [r.events[0].id]}
    )


def test_claimants_giving_different_causes_make_a_factual_disagreement() -> None:
    wire, river = reports()["national-wire-day2"], reports()["river-times-day2"]
    wire = wire.model_copy(update={"claims": [*wire.claims, _cause_claim(wire, 9, "Ministry of Health", "a dam gate left open upstream")]})
    river = river.model_copy(update={"claims": [*river.claims, _cause_claim(river, 9, "Teral Rescue Volunteers", "torrential rain alone")]})
    rec = reconcile(story(wire, river))
    factual = [d for d in rec.disagreements if d.kind == "factual"]
    assert len(factual) == 1 and factual[0].topic.startswith("cause:")
    assert {p.claimant: p.statement for p in factual[0].positions} == {
        "Ministry of Health": "a dam gate left open upstream",
        "Teral Rescue Volunteers": "torrential rain alone",
    }
    # the same cause in other words is agreement, not a disagreement
    river = river.model_copy(
        update={"claims": [*river.claims[:-1], _cause_claim(river, 9, "Teral Rescue Volunteers", "a dam gate left open upstream, the volunteers said")]}
    )
    assert not [d for d in reconcile(story(wire, river)).disagreements if d.kind == "factual"]


def test_an_outlet_repeating_a_claimant_in_its_own_voice_counts_as_that_claimant() -> None:
    river = reports()["river-times-day2"]
    own = [f.model_copy(update={"attributed_to": "the outlet"}) if f.value == 31 else f for f in river.figures]
    rec = reconcile(story(river.model_copy(update={"figures": own})))
    health = next(e for e in main_killed(rec).entries if e.value == 31)
    assert health.claimant == "Ministry of Health" and health.repeated_by == ["The River Times"]
    assert not any(e.claimant.endswith("(own reporting)") for e in main_killed(rec).entries)


def test_spelling_variants_of_one_name_are_one_claimant_and_unattributed_is_nobody() -> None:
    wire, river = reports()["national-wire-day2"], reports()["river-times-day2"]
    wire = add_figure(wire, 7, value=50, qualifier="exact", attributed_to="al-Ghaithi")
    river = add_figure(river, 7, value=50, qualifier="exact", attributed_to="Al Ghaithi")
    river = add_figure(river, 8, value=60, qualifier="exact", attributed_to="unattributed")
    killed = main_killed(reconcile(story(wire, river)))
    ghaithi = [e for e in killed.entries if e.value == 50]
    assert len(ghaithi) == 1 and len(ghaithi[0].reported_by) == 2
    assert next(e for e in killed.entries if e.value == 60).claimant == "unattributed (The River Times)"


def test_story_names_do_not_leak_into_other_stories() -> None:
    wire = add_figure(
        reports()["national-wire-day2"], 7, value=40, qualifier="exact", population="combatants", party="attackers", attributed_to="Ministry of Defense"
    )
    core = reconcile(story(wire))
    labels = [c.label for c in core.comparisons]
    assert "killed — combatants: attackers" in labels and not any("HTS" in label for label in labels)
    assert "Ministry of Defense" in {e.claimant for c in core.comparisons for e in c.entries}
    syria = reconcile(story(wire), load_aliases("syria"))  # opting in to the Syrian pack is what maps them
    assert any("opposition fighters (HTS + SNA)" in c.label for c in syria.comparisons)
    assert syria.alias_tables == ["pack:syria"] and core.alias_tables == []


def test_unlinked_figures_fall_back_to_the_main_incident_with_a_note() -> None:
    r = reports()["river-times-day2"]
    r = r.model_copy(update={"events": [e.model_copy(update={"figure_ids": []}) for e in r.events]})
    killed = main_killed(reconcile(story(r)))
    assert {e.claimant for e in killed.entries} >= {"Ministry of Health", "Teral Rescue Volunteers"}
    assert any("tied to no event" in n for n in killed.notes)


def test_events_of_one_source_are_never_merged_into_one_incident() -> None:
    day1 = add_event(reports()["valley-courier-day1"], 2)  # a second event with the very same wording
    rec = reconcile(story(day1))
    day1_events = {"valley-courier-day1:e1", "valley-courier-day1:e2"}
    assert all(len(day1_events & set(i.event_ids)) <= 1 for i in rec.incidents)


def test_spelling_variants_are_one_claimant_in_exports_too() -> None:
    import json

    from summarize.render.export import figure_claims_jsonl

    wire = add_figure(reports()["national-wire-day2"], 7, value=50, qualifier="exact", attributed_to="al-Ghaithi")
    river = add_figure(reports()["river-times-day2"], 7, value=50, qualifier="exact", attributed_to="Al Ghaithi")
    rows = [json.loads(line) for line in figure_claims_jsonl(story(wire, river)).splitlines()]
    assert len({r["claimant_canonical"] for r in rows if r["value"] == 50}) == 1
