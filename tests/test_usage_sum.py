"""A total that leaves out an answer of unknown cost is not a total: it stays unknown, and budgets count the reservation."""

from __future__ import annotations

from summarize.models.report import Usage
from summarize.render.reports import cost_text


def test_a_sum_with_an_unreported_answer_has_unknown_cost() -> None:
    known = Usage(prompt_tokens=1000, completion_tokens=100, total_tokens=1100, attempts=1, cost_usd=0.01)
    unknown = Usage(attempts=1, cost_usd=None, unreported=1)
    total = known.add(unknown)
    assert total.cost_usd is None and total.unreported == 1
    assert unknown.add(known).cost_usd is None
    assert "1 answer reported no token usage" in cost_text(total)
    # with no prices configured nothing is unreported, and the cost is unknown for that reason only
    assert Usage().add(Usage()).cost_usd is None and cost_text(Usage()) == "unknown (no prices configured)"
    assert known.add(known).cost_usd == 0.02


def test_a_budget_counts_an_unreported_answer_as_what_was_reserved() -> None:
    from summarize.batch.budget import Budget
    from summarize.config import load_settings

    settings = load_settings({}, env={"SUMMARIZE_PRICE_INPUT": "0.15", "SUMMARIZE_PRICE_OUTPUT": "0.6"})
    budget = Budget(settings, 1.0)
    budget.settle(0.25, Usage(attempts=1, cost_usd=None, unreported=1), chunks=1)
    assert budget.spent == 0.25
