"""Evaluation against gold: every metric on constructed cases with a known answer, then the CLI.

The example stories are replayed from their cassettes (no network). Constructed cases edit those
reports and briefings with ``model_copy``, or build a small gold story, so the right answer can be
worked out by hand.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from summarize import api
from summarize.aliases import load_aliases
from summarize.cli import evaluate as eval_cli
from summarize.cli.main import _common
from summarize.config import load_settings
from summarize.errors import EndpointError, InputError, UsageError
from summarize.evaluate import scores as evaluate
from summarize.evaluate.gold import EvalRun, GoldStory, compare_markdown, load_gold
from summarize.evaluate.scores import (
    coverage,
    disagreement_scores,
    figure_scores,
    must_not_state,
    not_comparable_scores,
    order_invariance,
    prf,
    same_fact,
    terminology_recall,
    text_checks,
    verbatim_share,
)
from summarize.gate.lexicon import load_lexicon
from summarize.models.briefing import Briefing, RemovedSentence, Sentence
from summarize.models.report import ExtractionOutput, SourceReport
from summarize.reconcile.story import reconcile

SYRIA = load_aliases("syria")  # the Aleppo story opts into the Syrian alias pack (examples/aleppo/aliases.toml)

ROOT = Path(__file__).resolve().parents[1]
GOLD = ROOT / "examples" / "gold"
ALIASES = load_aliases("syria")


@functools.cache
def _briefing(story: str) -> Briefing:
    settings = load_settings({"replay": str(ROOT / "cassettes" / f"{story}-brief.yaml")}, env={})
    briefing, out = api.brief_files([str(ROOT / "examples" / story)], settings)
    assert briefing is not None and not out.failed
    return briefing


@functools.cache
def _gold(story: str) -> GoldStory:
    return load_gold(GOLD / f"{story}.json")


def reports(story: str) -> list[SourceReport]:
    return list(_briefing(story).reports)


def gold(**parts: Any) -> GoldStory:
    empty: dict[str, Any] = {"figures": [], "disagreements": [], "not_comparable": [], "loaded_terms": [], "key_facts": [], "must_not_state": []}
    return GoldStory.model_validate({"story": "t", "source_ids": ["kurdish-desk", "monitor-digest", "regional-wire", "state-herald"], **empty, **parts})


def edit_figure(rs: list[SourceReport], figure_id: str, **update: object) -> list[SourceReport]:
    return [r.model_copy(update={"figures": [f.model_copy(update=update) if f.id == figure_id else f for f in r.figures]}) for r in rs]


def drop(rs: list[SourceReport], *ids: str) -> list[SourceReport]:
    return [r.model_copy(update={kind: [x for x in getattr(r, kind) if x.id not in ids] for kind in ("figures", "claims", "events")}) for r in rs]


# --- figures ------------------------------------------------------------------------------------------


def test_figures_are_counted_once_per_claimant_scope_and_value() -> None:
    rs = reports("aleppo")
    assert sum(len(r.figures) for r in rs) == 9  # SOHR's 153 and SANA's 4 each come from two outlets
    assert figure_scores(_gold("aleppo"), rs, ALIASES)[:3] == (1.0, 1.0, 1.0)


def test_a_missing_figure_lowers_recall_only() -> None:
    p, r, f1, details = figure_scores(_gold("aleppo"), drop(reports("aleppo"), "regional-wire:f3", "state-herald:f1"), ALIASES)
    assert (p, r) == (1.0, 6 / 7) and f1 == pytest.approx(12 / 13)
    assert details == ["missing SANA: killed/civilians 4"]


def test_an_extra_figure_lowers_precision_only() -> None:
    g = _gold("aleppo")
    g = g.model_copy(update={"figures": [f for f in g.figures if f.claimant != "SANA"]})
    assert figure_scores(g, reports("aleppo"), ALIASES)[:2] == (6 / 7, 1.0)


@pytest.mark.parametrize(
    ("update", "shown"),
    [
        ({"attributed_to": "SOHR"}, "extra SOHR: killed/all 238"),  # wrong claimant
        ({"population": "civilians"}, "extra local sources: killed/civilians 238"),  # wrong scope
        ({"value": 283}, "extra local sources: killed/all 283"),  # wrong value
    ],
)
def test_a_wrong_claimant_scope_or_value_is_one_miss_and_one_extra(update: dict[str, object], shown: str) -> None:
    p, r, _, details = figure_scores(_gold("aleppo"), edit_figure(reports("aleppo"), "regional-wire:f1", **update), ALIASES)
    assert (p, r) == (6 / 7, 6 / 7)
    assert details == ["missing local sources: killed/all 238", shown]


def test_gold_names_go_through_the_alias_table_and_own_voice_is_named_after_the_outlet() -> None:
    rs = edit_figure(reports("aleppo"), "monitor-digest:f2", attributed_to="the outlet")
    sohr = {"metric": "killed", "population": "all", "value": 153, "claimant": "Syrian Observatory for Human Rights", "source_ids": ["monitor-digest"]}
    own = {"metric": "killed", "population": "combatants", "party": "Hay'at Tahrir al-Sham", "value": 80, "source_ids": ["monitor-digest"]}
    g = gold(figures=[sohr, {**own, "claimant": "Orontes Conflict Digest (own reporting)"}])
    _, recall, _, _ = figure_scores(g, rs, ALIASES)
    assert recall == 1.0


def test_ranges_and_vague_words_match_on_their_bounds_and_word() -> None:
    rs = edit_figure(reports("aleppo"), "regional-wire:f1", value=None, low=200, high=250, qualifier="range")
    rs = edit_figure(rs, "regional-wire:f2", value=None, qualifier="vague_word", vague_word="Hundreds")
    ranged = {"metric": "killed", "population": "all", "low": 200, "high": 250, "claimant": "local sources", "source_ids": ["regional-wire"]}
    vague = {"metric": "killed", "population": "combatants", "party": "opposition fighters", "vague_word": "hundreds", "claimant": "Russian reports"}
    g = gold(figures=[ranged, {**vague, "source_ids": ["regional-wire"]}])
    assert figure_scores(g, rs, ALIASES)[1] == 1.0


def test_empty_denominators_score_one_and_f1_needs_both() -> None:
    assert prf(0, 0, 0) == (1.0, 1.0, 1.0)
    assert prf(0, 0, 3) == (1.0, 0.0, 0.0)
    assert prf(0, 2, 0) == (0.0, 1.0, 0.0)


# --- disagreements and look-alikes ---------------------------------------------------------------------


def test_the_two_real_disagreements_are_found_and_nothing_else() -> None:
    assert disagreement_scores(_gold("aleppo"), reconcile(reports("aleppo"), SYRIA), ALIASES) == (1.0, 1.0, [])
    assert not_comparable_scores(_gold("aleppo"), reconcile(reports("aleppo"), SYRIA), reports("aleppo"), ALIASES) == (1.0, 0, [])


def test_a_scope_mismatch_conflict_is_penalised_and_counted_as_conflated() -> None:
    # Russian reports' ~400 opposition fighters set against all deaths: 153 vs 238 vs 400 in one scope
    rs = edit_figure(reports("aleppo"), "regional-wire:f2", population="all", party=None)
    rec = reconcile(rs, SYRIA)
    recall, precision, details = disagreement_scores(_gold("aleppo"), rec, ALIASES)
    assert (recall, precision) == (1 / 2, 1 / 3)
    assert "wrong killed/all: Russian reports vs SOHR" in details and "missing killed/opposition fighters: Russian reports vs SOHR" in details
    flagged, conflated, _ = not_comparable_scores(_gold("aleppo"), rec, rs, ALIASES)
    assert (flagged, conflated) == (2 / 4, 2)  # the two SANA pairs are still flagged


def test_a_missing_disagreement_lowers_recall_only() -> None:
    rec = reconcile(drop(reports("aleppo"), "regional-wire:f1"), SYRIA)
    assert disagreement_scores(_gold("aleppo"), rec, ALIASES)[:2] == (1 / 2, 1.0)


def test_a_claimant_revising_itself_is_no_conflict_and_an_earlier_days_toll_is_set_aside() -> None:
    # floods: civil defence 30 -> 18 missing is a revision; its day-1 '12 killed' is an earlier count, not set against day 2
    rec = reconcile(reports("floods"), SYRIA)
    recall, precision, details = disagreement_scores(_gold("floods"), rec, ALIASES)
    assert (recall, precision, details) == (1.0, 1.0, [])
    assert not_comparable_scores(_gold("floods"), rec, reports("floods"), ALIASES) == (1.0, 0, [])


def test_an_earlier_days_toll_listed_against_later_tolls_is_two_wrong_pairs() -> None:
    # with the day-1 article undated reconcile cannot tell the count is older: the eval must count what that costs
    undated = [
        r.model_copy(update={"source": r.source.model_copy(update={"published": None})}) if r.source.id == "valley-courier-day1" else r
        for r in reports("floods")
    ]
    rec = reconcile(undated, SYRIA)
    recall, precision, details = disagreement_scores(_gold("floods"), rec, ALIASES)
    assert (recall, precision) == (1.0, 1 / 3)
    assert not any("missing/" in d for d in details)
    assert not_comparable_scores(_gold("floods"), rec, undated, ALIASES)[:2] == (0.0, 2)


def test_claimants_giving_the_same_number_are_not_in_conflict() -> None:
    rec = reconcile(edit_figure(reports("floods"), "river-times-day2:f2", value=31, qualifier="exact"), SYRIA)
    recall, precision, details = disagreement_scores(_gold("floods"), rec, ALIASES)
    # 31 and 31 on day two agree; the day-1 '12' is an earlier count: nothing is in conflict, so the gold's pair is missed
    assert (recall, precision) == (0.0, 1.0)
    assert details == ["missing killed/all: Ministry of Health vs Teral Rescue Volunteers"]


def test_terminology_matches_speaker_and_either_term_inside_the_other() -> None:
    rec = reconcile(reports("aleppo"), SYRIA)
    assert terminology_recall(_gold("aleppo"), rec, ALIASES) == (1.0, [])  # "terrorist assault" is noted as "terrorist"
    g = gold(loaded_terms=[{"term": "terrorists", "used_by": ["SANA", "Russian reports"]}, {"term": "liberated", "used_by": ["SOHR"]}])
    assert terminology_recall(g, rec, ALIASES) == (1 / 3, ['"terrorists" used by SANA', '"liberated" used by SOHR'])


# --- grounding, coverage, order ----------------------------------------------------------------------


def test_a_quote_off_its_offsets_is_not_verbatim() -> None:
    rs = reports("aleppo")
    spans = sum(len(r.figures) + len(r.claims) + len(r.actors) + sum(len(e.evidence) for e in r.events) for r in rs)
    assert verbatim_share(rs) == (1.0, [])
    ev = next(f for r in rs for f in r.figures if f.id == "monitor-digest:f1").evidence
    share, wrong = verbatim_share(edit_figure(rs, "monitor-digest:f1", evidence=ev.model_copy(update={"start": ev.start + 1})))
    assert share == (spans - 1) / spans and len(wrong) == 1 and wrong[0].startswith("monitor-digest [")


def test_coverage_is_per_source_and_its_minimum_names_the_weakest() -> None:
    g, rs = _gold("aleppo"), reports("aleppo")
    shares, missed = coverage(g, rs, ALIASES)
    assert set(shares.values()) == {1.0} and missed == []
    shares, missed = coverage(g, drop(rs, "state-herald:c8"), ALIASES)
    assert shares["state-herald"] == 5 / 6 and min(v for v in shares.values() if v is not None) == 5 / 6
    assert missed == ["state-herald: fact The Herald regards the offensive as a breach of the 2019 de-escalation arrangements for Idlib."]


def test_with_a_briefing_only_cited_items_cover() -> None:
    g = gold(
        figures=[{"metric": "killed", "population": "civilians", "value": 4, "claimant": "SANA", "source_ids": ["regional-wire", "state-herald"]}],
        key_facts=[{"text": "The Herald regards the offensive as a breach of the 2019 de-escalation arrangements for Idlib.", "source_ids": ["state-herald"]}],
    )
    shares, _ = coverage(g, reports("aleppo"), ALIASES, cited={"regional-wire:f3", "state-herald:c8"})
    assert shares == {"kurdish-desk": None, "monitor-digest": None, "regional-wire": 1.0, "state-herald": 1 / 2}


def test_a_key_fact_matches_its_paraphrase_not_another_claim_of_the_same_speaker() -> None:
    fact = "The Syrian army's General Command said the attackers came in large numbers with medium and heavy weapons."
    claims = {c.id: c.text for r in reports("aleppo") for c in r.claims}
    assert same_fact(fact, claims["kurdish-desk:c1"])
    assert not same_fact(fact, claims["kurdish-desk:c2"])  # same speaker, same attackers, another statement


def test_order_invariance_is_the_share_of_shuffles_that_change_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    rs = reports("aleppo")
    assert order_invariance(rs, ALIASES) == 1.0
    real = evaluate.reconcile
    # a reconcile that lets the first report leak into its output
    monkeypatch.setattr(evaluate, "reconcile", lambda order, aliases: real(order, aliases).model_copy(update={"aliases": {"first": order[0].source.id}}))
    rng, same = random.Random(evaluate.ORDER_SEED), 0
    for _ in range(evaluate.ORDER_SHUFFLES):
        order = list(rs)
        rng.shuffle(order)
        same += order[0] is rs[0]
    assert order_invariance(rs, ALIASES) == same / evaluate.ORDER_SHUFFLES < 1.0


# --- briefing text --------------------------------------------------------------------------------------


def with_sentences(b: Briefing, shown: Sequence[tuple[str, list[str]]] = (), removed: Sequence[tuple[str, list[str]]] = ()) -> Briefing:
    extra = [Sentence(section="key_points", text=t, claim_ids=ids, source_ids=[], status="verified") for t, ids in shown]
    gone = [RemovedSentence(section="key_points", text=t, claim_ids=ids, problems=["removed"]) for t, ids in removed]
    return b.model_copy(update={"key_points": b.key_points + extra, "removed": b.removed + gone})


def test_numbers_are_counted_as_the_gate_counts_them_and_one_untraced_number_shows() -> None:
    b, lexicon = _briefing("aleppo"), load_lexicon()
    gate_count = int(re.search(r"(\d+) numbers", next(c.detail for c in b.checks if c.name == "numbers_traceable")).group(1))  # type: ignore[union-attr]
    assert text_checks(b, lexicon)[:2] == (1.0, 0)
    share, _, untraced, _ = text_checks(with_sentences(b, [("SOHR said about 500 people were killed.", ["monitor-digest:f1"])]), lexicon)
    assert share == gate_count / (gate_count + 1) and len(untraced) == 1 and "500" in untraced[0]


def test_unattributed_loaded_terms_count_removed_sentences_too() -> None:
    shown, removed = [("The terrorists attacked army posts.", ["state-herald:c3"])], [("The regime shelled Idlib.", ["monitor-digest:c2"])]
    b = with_sentences(_briefing("aleppo"), shown, removed)
    _, unattributed, _, failures = text_checks(b, load_lexicon())
    assert unattributed == 2 and any("terrorists" in f for f in failures) and any("regime" in f for f in failures)


def test_must_not_state_ignores_quotes_and_attributed_figures() -> None:
    b = _briefing("aleppo")
    assert must_not_state(_gold("aleppo"), b, ALIASES) == []  # "about 400 “terrorists”" is attributed and quoted
    b = with_sentences(b, [("The true toll is 238.", ["regional-wire:f1"]), ("Local sources said 238 were killed, a “real toll”.", ["regional-wire:f1"])])
    violations = must_not_state(_gold("aleppo"), b, ALIASES)
    assert [v.split(":")[0] for v in violations] == ["no source establishes a single true toll", "238 is the local sources' figure"]


# --- gold files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key_facts": [{"text": "x", "source_ids": ["nowhere"]}]}, "source ids not in source_ids: nowhere"),
        ({"figures": [{"metric": "killed", "population": "all", "claimant": "SOHR", "source_ids": ["kurdish-desk"]}]}, "give value, low/high or vague_word"),
        ({"must_not_state": [{"pattern": "(", "why": "x"}]}, "not a regular expression"),
        ({"disagreements": [{"metric": "killed", "population": "all", "claimants": ["SOHR"]}]}, "at least 2 items"),
        ({"verdict": "good"}, "Extra inputs are not permitted"),
    ],
)
def test_malformed_gold_is_refused_with_the_reason(change: dict[str, Any], message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({**json.loads((GOLD / "aleppo.json").read_text(encoding="utf-8")), **change}), encoding="utf-8")
    with pytest.raises(InputError, match=re.escape(message)):
        load_gold(path)


def test_every_example_story_has_gold_for_every_source() -> None:
    for story in ("aleppo", "floods"):
        g = _gold(story)
        assert g.source_ids == sorted(p.stem for p in (ROOT / "examples" / story).glob("*.txt"))
        assert (GOLD / str(g.inputs)).resolve() == (ROOT / "examples" / story).resolve()


# --- the command ----------------------------------------------------------------------------------------


def cli_eval(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    eval_cli.add_parser(parser.add_subparsers(dest="command"), _common())
    code = eval_cli.run(parser.parse_args(["eval", *argv]))
    return code, capsys.readouterr().out


def table(markdown: str, title: str) -> dict[str, list[str]]:
    section = markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return {cells[0]: cells[1:] for line in section.splitlines() if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])}


def test_offline_eval_of_both_examples_prints_and_writes_every_metric(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = cli_eval([str(GOLD / "aleppo.json"), str(GOLD / "floods.json"), "--cassettes", str(ROOT / "cassettes"), "--out", str(tmp_path)], capsys)
    assert code == 0
    assert "| metric | aleppo | floods | overall |" in out and (tmp_path / "eval.md").read_text(encoding="utf-8") == out
    run = EvalRun.model_validate_json((tmp_path / "eval.json").read_text(encoding="utf-8"))
    aleppo, floods = (s.metrics for s in run.stories)
    perfect = ["figure_f1", "disagreement_recall", "disagreement_precision", "not_comparable_flagged", "terminology_recall", "quotes_verbatim"]
    perfect += ["numbers_traceable", "order_invariance"]
    assert {k: aleppo[k] for k in perfect} == dict.fromkeys(perfect, 1.0)
    assert (aleppo["unattributed_loaded_terms"], aleppo["must_not_state_violations"], aleppo["coverage_min"]) == (0, 0, 1 / 2)
    assert (floods["figure_precision"], floods["disagreement_precision"], floods["not_comparable_conflated"]) == (6 / 7, 1.0, 0)
    assert run.overall["not_comparable_conflated"] == 0 and run.overall["figure_recall"] == 1.0


def test_a_saved_briefing_scores_like_the_live_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "b.json"
    saved.write_text(_briefing("aleppo").model_dump_json(), encoding="utf-8")
    _, from_file = cli_eval([str(GOLD / "aleppo.json"), "--briefing", str(saved)], capsys)
    _, live = cli_eval([str(GOLD / "aleppo.json"), "--replay", str(ROOT / "cassettes" / "aleppo-brief.yaml")], capsys)
    assert from_file == live


def write_reports(path: Path, rs: list[SourceReport]) -> str:
    path.write_text(ExtractionOutput(reports=rs, failed=[]).model_dump_json(), encoding="utf-8")
    return str(path)


def test_reports_mode_leaves_briefing_metrics_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    both = write_reports(tmp_path / "r.json", reports("aleppo") + reports("floods"))
    code, out = cli_eval([str(GOLD / "aleppo.json"), str(GOLD / "floods.json"), "--reports", both], capsys)
    assert code == 0 and "## aleppo (reports; model gpt-4o-mini)" in out
    assert "| numbers_traceable | n/a | n/a | n/a |" in out and "| must_not_state_violations | n/a | n/a | n/a |" in out
    assert "| coverage_min | 1.00 | 1.00 | 1.00 |" in out and "| figure_f1 | 1.00 | 0.92 | 0.96 |" in out


def test_compare_shows_a_degraded_run_as_worse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = reports("aleppo")
    # drop SOHR's 153 (both outlets) and turn the local sources' 238 into 283
    bad = edit_figure(drop(good, "kurdish-desk:f1", "monitor-digest:f1"), "regional-wire:f1", value=283)
    for name, rs in (("a", good), ("b", bad)):
        cli_eval([str(GOLD / "aleppo.json"), "--reports", write_reports(tmp_path / f"{name}.json", rs), "--out", str(tmp_path / name)], capsys)
    code, out = cli_eval(["--compare", str(tmp_path / "a" / "eval.json"), str(tmp_path / "b" / "eval.json"), "--out", str(tmp_path / "cmp")], capsys)
    assert code == 0 and (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8") == out
    rows = table(out, "aleppo")
    assert rows["figure_recall"] == ["1.00", "0.71", "-0.29", "worse"]
    assert rows["figure_precision"] == ["1.00", "0.83", "-0.17", "worse"]
    assert rows["disagreement_recall"] == ["1.00", "0.50", "-0.50", "worse"]
    assert rows["coverage_min"] == ["1.00", "0.83", "-0.17", "worse"]
    assert rows["quotes_verbatim"] == ["1.00", "1.00", "0", "same"]
    assert rows["numbers_traceable"] == ["n/a", "n/a", "n/a", ""]
    assert table(out, "overall")["figure_recall"][2] == "-0.29"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "give one or more GOLD files"),
        ([str(GOLD / "aleppo.json"), "--compare", "a.json", "b.json"], "no GOLD files"),
        ([str(GOLD / "aleppo.json"), "--cassettes", "c", "--replay", "x.yaml"], "not both"),
        ([str(GOLD / "aleppo.json"), str(GOLD / "floods.json"), "--replay", "x.yaml"], "take one story"),
    ],
)
def test_usage_errors_say_what_to_do(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=message):
        cli_eval(argv, capsys)


def test_a_run_that_does_not_cover_the_story_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(InputError, match="nothing here covers story 'floods'"):
        cli_eval([str(GOLD / "floods.json"), "--reports", write_reports(tmp_path / "r.json", reports("aleppo"))], capsys)


def test_a_live_run_needs_the_gold_to_name_its_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.json"
    path.write_text(_gold("aleppo").model_copy(update={"inputs": None}).model_dump_json(), encoding="utf-8")
    with pytest.raises(UsageError, match="names no 'inputs'"):
        cli_eval([str(path), "--replay", str(ROOT / "cassettes" / "aleppo-brief.yaml")], capsys)


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli_eval(["--help"], capsys)
    assert "summarize eval examples/gold/*.json --cassettes cassettes/" in capsys.readouterr().out


def test_options_reach_the_metrics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a user's lexicon makes "fighting" loaded; the briefing uses it in its own voice
    terms = tmp_path / "terms.txt"
    terms.write_text("fighting | clashes\n", encoding="utf-8")
    saved = tmp_path / "b.json"
    saved.write_text(_briefing("aleppo").model_dump_json(), encoding="utf-8")
    args = argparse.Namespace(gold=[str(GOLD / "aleppo.json")], briefing=[str(saved)], reports=None, terms=[str(terms)], aliases=None)
    story = eval_cli.evaluate(args).stories[0]
    assert story.metrics["unattributed_loaded_terms"] and any("fighting" in f.casefold() for f in story.details["unattributed_loaded_terms"])


def test_compare_says_when_runs_are_not_like_for_like() -> None:
    def story(name: str, mode: str) -> dict[str, Any]:
        return {"story": name, "mode": mode, "model": "m", "prompts": [], "metrics": {"figure_f1": 0.5}, "coverage": {}, "details": {}}

    a = EvalRun.model_validate({"stories": [story("aleppo", "briefing"), story("floods", "briefing")], "overall": {"figure_f1": 0.5}})
    b = EvalRun.model_validate({"stories": [story("aleppo", "reports")], "overall": {"figure_f1": 0.5}})
    out = compare_markdown(a, b, "a.json", "b.json")
    assert "- aleppo: A is briefing, B is reports" in out and "- floods: only in A" in out
    assert table(out, "aleppo")["figure_f1"] == ["0.50", "0.50", "0", "same"]


def test_a_live_run_whose_briefing_fails_is_an_endpoint_error(capsys: pytest.CaptureFixture[str]) -> None:
    # the extraction cassette holds no answer for the briefing request
    with pytest.raises(EndpointError, match=r"no briefing to evaluate \(cassette: "):
        cli_eval([str(GOLD / "aleppo.json"), "--replay", str(ROOT / "cassettes" / "aleppo-extract.yaml"), "-q"], capsys)
