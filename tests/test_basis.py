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
