"""The draft rule set: one check of an extraction draft, structured problems, and drops classified by code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from summarize.extract.extractor import _checks, ground_draft, verify_draft
from summarize.extract.rules import INJECTED, check_draft
from summarize.models.draft import ExtractionDraft
from summarize.models.report import Source

TEXT = "The Ministry of Health said 12 people were killed in Riverton on Monday. Rescue teams said dozens more were hurt in the flooding."
SAID = "The Ministry of Health said 12 people were killed in Riverton on Monday."


def figure(fid: str, value: int, who: str = "Ministry of Health", quote: str = SAID) -> dict[str, Any]:
    return {
        "id": fid, "metric": "killed", "population": "all", "party": None, "value": value, "low": None, "high": None, "qualifier": "exact",
        "vague_word": None, "time_window": None, "place": None, "attributed_to": who, "quote": quote, "gloss": None,
    }  # fmt: skip


def event(**changes: Any) -> dict[str, Any]:
    base = {
        "summary": "Floods killed people in Riverton.", "event_type": "Battles", "sub_event_type": "Armed clash", "date_as_written": None,
        "granularity": "atomic", "status": "occurred", "actors": [], "locations": [], "figure_ids": ["f1"], "quote": SAID,
    }  # fmt: skip
    return base | changes


def draft(**parts: list[dict[str, Any]]) -> ExtractionDraft:
    return ExtractionDraft.model_validate({"events": [], "figures": [], "claims": [], "actors": []} | parts)


ATLANTIS = {"name_as_written": "Atlantis", "admin1": None, "country": None, "precision": 1}  # named nowhere in TEXT
SOURCE = Source(id="s", outlet="River Times", text=TEXT, published=dt.date(2025, 4, 9), sha256="0" * 64)


def test_each_failing_rule_is_one_problem_with_its_code() -> None:
    d = draft(
        figures=[figure("f1", 12), figure("f2", 40), figure("f3", 12, who="Kaveland Border Police"), figure("f4", 12, quote="Nobody said this.")],
        claims=[{"text": "x", "claim_type": "event", "attributed_to": "the outlet", "quote": SAID, "gloss": None, "loaded_terms": ["massacre"]}],
        events=[event(sub_event_type="Peaceful protest", figure_ids=["f9"], locations=[ATLANTIS])],
    )
    check = check_draft(d, TEXT)
    assert [(p.kind, p.index, p.code) for p in check.problems] == [
        ("figure", 1, "number_not_in_quote"),
        ("figure", 2, "claimant_not_named"),
        ("figure", 3, "quote_not_found"),
        ("claim", 0, "loaded_term_not_in_quote"),
        ("event", 0, "sub_event_type"),
        ("event", 0, "unknown_figure"),
        ("location", 0, "place_not_named"),
    ]
    assert verify_draft(d, TEXT) == check.messages()
    assert "Kaveland Border Police" in check.of("figure", 2)[0].message
    assert check.of("figure", 0) == [] and ("figure", 0) in check.evidence


def test_a_duplicate_id_is_reasked_and_the_first_copy_that_grounds_is_kept() -> None:
    d = draft(figures=[figure("f1", 12, quote="Nobody said this."), figure("f1", 12), figure("f1", 12)])
    assert [p.code for p in check_draft(d, TEXT).problems] == ["duplicate_id", "quote_not_found"]
    g = ground_draft(d, SOURCE)
    assert [f.id for f in g.figures] == ["s:f1"]
    assert [(d.code, d.record.reason) for d in g.drops] == [("quote_not_found", "quote not found in the source"), ("duplicate_id", "duplicate figure id 'f1'")]


def test_grounding_drops_by_problem_and_repairs_terms_and_references() -> None:
    d = draft(
        figures=[figure("f1", 12), figure("f2", 40)],
        claims=[{"text": "x", "claim_type": "event", "attributed_to": "the outlet", "quote": SAID, "gloss": None, "loaded_terms": ["massacre", "killed"]}],
        events=[event(figure_ids=["f1", "f2"], locations=[ATLANTIS])],
    )
    g = ground_draft(d, SOURCE)
    assert [f.id for f in g.figures] == ["s:f1"] and g.claims[0].loaded_terms == ["killed"]
    assert g.events[0].figure_ids == ["s:f1"] and g.events[0].locations == []
    number = check_draft(d, TEXT).of("figure", 1)[0].reason
    assert [(r.kind, r.reason) for r in g.dropped] == [("figure", number), ("location", "place not named in the source")]


def test_an_attribution_failure_is_not_a_number_failure() -> None:
    # before: every dropped figure that was not unaligned counted against figure_numbers_in_quotes
    g = ground_draft(draft(figures=[figure("f1", 12), figure("f2", 12, who="Kaveland Border Police")]), SOURCE)
    checks = {c.name: c for c in _checks(g, 0, False, None)}
    assert checks["figure_numbers_in_quotes"].passed and checks["figure_numbers_in_quotes"].failures == []
    assert not checks["items_consistent"].passed
    (failure,) = checks["items_consistent"].failures
    assert failure.startswith("figure: ") and "Kaveland Border Police" in failure


def test_a_number_failure_is_still_one() -> None:
    g = ground_draft(draft(figures=[figure("f1", 40)]), SOURCE)
    checks = {c.name: c for c in _checks(g, 0, False, None)}
    assert not checks["figure_numbers_in_quotes"].passed and checks["items_consistent"].passed
    assert INJECTED not in checks["figure_numbers_in_quotes"].failures[0]
