"""Code's check that a figure given as a count is not worded as a projection."""

from __future__ import annotations

import pytest

from summarize.ground.basis import basis_problem, conditional_wording


@pytest.mark.parametrize(
    ("quote", "values", "word"),
    [
        ("The mayor said the toll could reach 1,800 to 2,000.", [1800, 2000], "could"),
        ("Officials fear the death toll may rise above 100.", [100], "fear"),
        ("As many as 2,000 people are feared dead.", [2000], "as many as ... feared"),
        ("Le bilan pourrait atteindre 2 000 morts, selon la préfecture.", [2000], "pourrait"),
        # a count beside a projection in the same sentence stays a count
        ("The Red Crescent said 612 bodies had been recovered, and the mayor warned the toll could reach 2,000.", [612], None),
        ("As many as 40 people were killed, police said.", [40], None),
        ("At least 31 people died, the ministry said.", [31], None),
        ("The number of dead will be announced later; so far 12 were killed.", [12], None),
    ],
)
def test_conditional_wording_before_the_number(quote: str, values: list[int], word: str | None) -> None:
    assert conditional_wording(quote, values) == word


def test_only_counts_are_questioned() -> None:
    quote = "The toll could reach 2,000, the mayor said."
    assert basis_problem(quote, [2000], "counted") is not None
    assert basis_problem(quote, [2000], "bodies_recovered") is not None
    assert basis_problem(quote, [2000], "projected") is None
    assert basis_problem(quote, [2000], "unclear") is None


def _draft(text: str, **figure: object) -> tuple[object, object]:
    from summarize.extract.extractor import ground_draft
    from summarize.models.draft import ExtractionDraft
    from summarize.sources.article import parse_article

    source = parse_article(text, name="mayor.txt", path=None)
    base = {
        "id": "f1",
        "metric": "killed",
        "population": "all",
        "party": None,
        "value": None,
        "low": 1800,
        "high": 2000,
        "qualifier": "range",
        "vague_word": None,
        "time_window": None,
        "place": None,
        "attributed_to": "the mayor",
        "quote": "The mayor said the toll could reach 1,800 to 2,000.",
        "gloss": None,
    }
    draft = ExtractionDraft.model_validate({"events": [], "figures": [{**base, **figure}], "claims": [], "actors": []})
    return ground_draft(draft, source), source


ARTICLE = "MERROW (Wire) - The mayor said the toll could reach 1,800 to 2,000. Rescue teams kept searching.\n"


def test_a_projection_given_as_a_count_is_kept_as_a_projection_and_reported() -> None:
    grounded, _ = _draft(ARTICLE, basis="counted")
    (figure,) = grounded.figures  # type: ignore[attr-defined]
    assert figure.basis == "projected"
    assert [d.reason for d in grounded.dropped if "read as 'projected'" in d.reason]  # type: ignore[attr-defined]


def test_a_relay_or_denier_the_article_never_names_is_dropped() -> None:
    grounded, _ = _draft(ARTICLE, basis="projected", cited_via="Kestland Hydro", status="denied", status_by="the mayor")
    (figure,) = grounded.figures  # type: ignore[attr-defined]
    assert figure.cited_via is None and figure.status_by == "the mayor"
    assert any("cited_via 'Kestland Hydro' not named" in d.reason for d in grounded.dropped)  # type: ignore[attr-defined]
