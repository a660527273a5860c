"""Briefings end to end: the README's example, order invariance, gates against a misbehaving model, check."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from helpers import CASSETTES, EXAMPLES, ROOT, run
from record_cassettes import authored_responder, requested_schema
from scripted_server import Reply, ScriptedServer

BRIEF_FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "briefs" / "aleppo.json").read_text(encoding="utf-8"))
ALEPPO = sorted(str(p) for p in (EXAMPLES / "aleppo").glob("*.txt"))


def _brief_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(["brief", *args, "--format", "json"], capsys)
    return code, json.loads(out) if out.strip() else {}, err


def _scope(briefing: dict[str, Any], key: str) -> dict[str, Any]:
    return next(c for c in briefing["reconciled"]["comparisons"] if c["scope_key"] == key)


def _claimants(comparison: dict[str, Any]) -> dict[str, int | None]:
    return {e["claimant"]: e["value"] for e in comparison["entries"]}


def test_readme_briefing_of_the_example_story(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
    assert code == 0, err
    assert "| SOHR | ≥ 153 |" in out and "| local sources | 238 | over the past three days |" in out
    assert "99 (derived: sum of SOHR's figures for HTS (80) and SNA (19))" in out and "| Russian reports | ~400 |" in out
    assert "✓ SOHR: 80 + 54 + 19 = 153" in out
    assert "## Disagreements" in out and "| ≥153 killed | 238 killed (over the past three days) |" in out


def test_example_briefing_compares_by_scope(capsys: pytest.CaptureFixture[str]) -> None:
    code, b, _ = _brief_json([str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
    assert code == 0
    total = _scope(b, "killed|all|")
    assert _claimants(total) == {"SOHR": 153, "local sources": 238}
    assert total["comparable"] and total["disagreement"]
    opposition = _scope(b, "killed|combatants|opposition fighters")
    assert _claimants(opposition) == {"SOHR": 99, "Russian reports": 400} and opposition["disagreement"]
    assert 400 not in _claimants(total).values(), "~400 counts fighters only and is never compared with 153"
    civilians = next(c for c in b["reconciled"]["comparisons"] if c["population"] == "civilians")
    assert _claimants(civilians) == {"SANA": 4} and not civilians["comparable"]
    assert not any(d for d in b["reconciled"]["disagreements"] if "civilians" in d["topic"])
    sums = b["reconciled"]["sum_checks"]
    assert [(s["claimant"], s["parts_sum"], s["total"], s["consistent"]) for s in sums] == [("SOHR", 153, 153, True)]
    sohr = next(e for e in total["entries"] if e["claimant"] == "SOHR")
    assert sorted(sohr["source_ids"]) == ["kurdish-desk", "monitor-digest"] and total["claimants"] == 2


def test_loaded_terms_appear_only_attributed_in_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    _, b, _ = _brief_json([str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
    checks = {c["name"]: c for c in b["checks"]}
    assert checks["loaded_terms_attributed"]["passed"]
    sentences = [b["headline"], *b["lead"], *b["key_points"], *b["timeline"], *b["context"]]
    for s in sentences:
        for m in re.finditer(r"terroris\w*", s["text"]):
            before = s["text"][: m.start()]
            assert before.count("“") > before.count("”"), f"unquoted loaded term in: {s['text']}"


def test_shuffled_inputs_give_the_same_tables_disagreements_and_checks(capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for seed in (1, 2, 3):
        files = ALEPPO[:]
        random.Random(seed).shuffle(files)
        code, b, _ = _brief_json([*files, "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
        assert code == 0
        results.append((b["reconciled"], b["checks"], [s["id"] for s in b["sources"]]))
    assert results[0] == results[1] == results[2]


def test_brief_from_saved_reports_makes_one_model_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = tmp_path / "reports.jsonl"
    code, _, _ = run(["extract", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-extract.yaml"), "--format", "jsonl", "-o", str(reports)], capsys)
    assert code == 0
    with ScriptedServer(authored_responder()) as server:
        code, b, err = _brief_json(["--reports", str(reports), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0, err
    assert len(server.requests) == 1 and requested_schema(server.requests[0].body) == "BriefDraft"
    prompt = json.dumps(server.requests[0].body["messages"])
    assert "BEGIN SOURCE" not in prompt, "the briefing prompt carries claims, not raw articles"
    assert b["headline"]["text"] == BRIEF_FIXTURE["headline"]["text"]


BAD_LEAD = {"text": "Some 400 terrorists were killed as the regime pushed back the attack.", "claim_ids": ["regional-wire:f2"]}
BAD_NUMBER = {"text": "At least 10,000 people fled the fighting, officials said.", "claim_ids": ["monitor-digest:c4"]}


def _bad_brief() -> dict[str, Any]:
    bad = json.loads(json.dumps(BRIEF_FIXTURE))
    bad["lead"].append(BAD_LEAD)
    bad["key_points"].append(BAD_NUMBER)
    return bad


def _brief_responder(first: list[Reply], then: Reply) -> Any:
    extract = authored_responder()
    queue = list(first)

    def respond(body: dict[str, Any]) -> Reply:
        if requested_schema(body) != "BriefDraft":
            return extract(body)
        return queue.pop(0) if queue else then

    return respond


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
def test_loaded_terms_and_untraceable_numbers_are_reasked_then_removed(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(_brief_responder([], Reply.answer(_bad_brief()))) as server:
        code, b, err = _brief_json([str(EXAMPLES / "aleppo"), "--base-url", server.url, "--mode", mode, "--max-reasks", "1"], capsys)
    assert code == 1, "a briefing with failed checks must say so in the exit code"
    brief_requests = [r for r in server.requests if requested_schema(r.body) == "BriefDraft"]
    assert len(brief_requests) == 2, "one answer and one re-ask"
    reask = json.dumps(brief_requests[1].body["messages"][-1], ensure_ascii=False)
    assert "terrorists" in reask and "10000" in reask
    kept = " ".join(s["text"] for s in [*b["lead"], *b["key_points"]])
    assert "Some 400 terrorists" not in kept and "10,000" not in kept
    removed = {r["text"]: r["problems"] for r in b["removed"]}
    assert set(removed) == {BAD_LEAD["text"], BAD_NUMBER["text"]}
    failed = {c["name"] for c in b["checks"] if not c["passed"]}
    assert {"loaded_terms_attributed", "numbers_traceable", "sentences_removed"} <= failed
    assert "checks failed" in err


def test_a_fixed_answer_after_a_reask_passes(capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(_brief_responder([Reply.answer(_bad_brief())], Reply.answer(BRIEF_FIXTURE))) as server:
        code, b, _ = _brief_json([str(EXAMPLES / "aleppo"), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0 and not b["removed"]
    assert b["provenance"]["usage"]["attempts"] == 6, "four extractions, the bad briefing and its fix"
    assert len(server.requests) == 6


def test_briefing_failure_is_an_endpoint_error_but_reports_survive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(_brief_responder([], Reply.refusal("I can't help with that."))) as server:
        code, _out, err = run(["brief", str(EXAMPLES / "aleppo"), "--base-url", server.url, "--mode", "tools", "-o", str(tmp_path / "b.md")], capsys)
    assert code == 3 and "briefing failed (refusal)" in err
    assert not (tmp_path / "b.md").exists()


def test_check_reverifies_a_saved_briefing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "briefing.json"
    run(["brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml"), "--format", "json", "-o", str(saved)], capsys)
    code, out, _ = run(["check", str(saved)], capsys)
    assert code == 0 and out.count("✓") == 9

    doc = json.loads(saved.read_text(encoding="utf-8"))
    doc["key_points"][0]["text"] = "The terrorists lost 500 fighters, SOHR said."
    doc["reports"][0]["figures"][0]["evidence"]["quote"] = "a quote that is not in the article"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(doc), encoding="utf-8")
    code, out, _ = run(["check", str(tampered)], capsys)
    assert code == 1
    failed = {line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("✗")}
    assert failed == {"evidence_in_sources", "numbers_traceable", "loaded_terms_attributed"}


def test_check_rejects_a_file_that_is_not_a_briefing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}', encoding="utf-8")
    code, _, err = run(["check", str(bogus)], capsys)
    assert code == 2 and "not a briefing" in err


def test_brief_without_inputs_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["brief", "--replay", str(CASSETTES / "aleppo-brief.yaml")], capsys)
    assert code == 2 and "--reports" in err
