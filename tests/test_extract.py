"""Extraction end to end: replayed example cassettes, and a scripted endpoint behaving well and badly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from helpers import CASSETTES, EXAMPLES, FABRICATED, copying, fabricating, run, run_json
from scripted_server import Reply, ScriptedServer, sequence_then


def _figures(out: dict) -> list[dict]:
    return [f for r in out["reports"] for f in r["figures"]]


def test_example_story_replays_offline_with_grounded_figures(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_json(["extract", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-extract.yaml")], capsys)
    assert code == 0
    texts = {r["source"]["id"]: r["source"]["text"] for r in out["reports"]}
    assert set(texts) == {"kurdish-desk", "monitor-digest", "regional-wire", "state-herald"}
    evidence = [f["evidence"] for r in out["reports"] for f in r["figures"]]
    evidence += [c["evidence"] for r in out["reports"] for c in r["claims"]]
    evidence += [e for r in out["reports"] for ev in r["events"] for e in ev["evidence"]]
    assert len(evidence) > 40
    for ev in evidence:
        assert texts[ev["source_id"]][ev["start"] : ev["end"]] == ev["quote"]

    def find(value: int, claimant: str) -> dict:
        hits = [f for f in _figures(out) if f["value"] == value and f["attributed_to"] == claimant]
        assert hits, f"no figure {value} attributed to {claimant}"
        return hits[0]

    total = find(153, "SOHR")
    assert (total["metric"], total["population"], total["qualifier"]) == ("killed", "all", "at_least")
    outlets = {f["reported_by"] for f in _figures(out) if f["value"] == 153}
    assert outlets == {"Orontes Conflict Digest", "Tigris Kurdish News Desk"}, "two outlets repeat SOHR's total"
    for value, party in ((80, "HTS"), (54, "Syrian army"), (19, "SNA")):
        part = find(value, "SOHR")
        assert (part["population"], part["party"]) == ("combatants", party)
    local = find(238, "local sources")
    assert local["population"] == "all" and "three days" in local["time_window"]
    russian = find(400, "Russian reports")
    assert (russian["qualifier"], russian["population"]) == ("about", "combatants")
    assert "terrorists" in russian["evidence"]["quote"]
    assert find(4, "SANA")["population"] == "civilians"


def test_relative_dates_resolve_only_with_a_publication_date(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run_json(["extract", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-extract.yaml")], capsys)
    events = {r["source"]["id"]: r["events"] for r in out["reports"]}
    dated = [e for e in events["monitor-digest"] if e["date_as_written"] and "Wednesday" in e["date_as_written"]]
    assert dated and dated[0]["date_start"] == "2024-11-27" and dated[0]["date_precision"] == "day"
    undated = [e for e in events["kurdish-desk"] if e["date_as_written"]]
    assert undated, "kurdish-desk has no publication date, its weekday must stay unresolved"
    assert all(e["date_start"] is None and e["date_precision"] == "unknown" for e in undated)


def test_markdown_report_shows_checks_and_provenance(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["extract", str(EXAMPLES / "floods"), "--replay", str(CASSETTES / "floods-extract.yaml"), "--format", "md"], capsys)
    assert code == 0
    assert "| valley-courier-day1:f1 | ≥ 12 | killed, all, in Brask | Valdorian Civil Defence |" in out
    assert "✓ **quotes_grounded**" in out
    assert "Provenance: model gpt-4o-mini" in out and "extract v2" in out


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
def test_live_endpoint_with_copied_quotes_succeeds(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    with ScriptedServer(copying) as server:
        code, out, _ = run_json(["extract", str(EXAMPLES / "floods"), "--base-url", server.url, "--mode", mode], capsys)
    assert code == 0, out
    assert len(out["reports"]) == 3 and not out["failed"]
    body = server.requests[0].body
    assert ("tools" in body) == (mode == "tools") and ("response_format" in body) == (mode == "json_schema")
    for report in out["reports"]:
        assert report["figures"] and not report["dropped"]
        assert report["provenance"]["usage"]["attempts"] == 1


@pytest.mark.parametrize("mode", ["tools", "json_schema"])
def test_fabricated_quotes_are_reasked_then_dropped_and_reported(mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    article = EXAMPLES / "floods" / "valley-courier-day1.txt"
    with ScriptedServer(fabricating) as server:
        code, out, err = run_json(["extract", str(article), "--base-url", server.url, "--mode", mode, "--max-reasks", "2"], capsys)
    assert code == 1, "partial verification must be visible in the exit code"
    assert len(server.requests) == 3, "one answer plus two re-asks"
    reask = json.dumps(server.requests[1].body["messages"][-1])
    assert "quote not found in the article" in reask and "10,000 people" in reask
    report = out["reports"][0]
    kept_quotes = [f["evidence"]["quote"] for f in report["figures"]] + [c["evidence"]["quote"] for c in report["claims"]]
    assert FABRICATED not in kept_quotes and all("president declared" not in q for q in kept_quotes)
    assert all(f["value"] != 10000 for f in report["figures"])
    grounded = next(c for c in report["checks"] if c["name"] == "quotes_grounded")
    assert not grounded["passed"] and any("10,000 people" in f for f in grounded["failures"])
    assert {d["kind"] for d in report["dropped"]} == {"figure", "claim"}
    usage = report["provenance"]["usage"]
    assert usage["attempts"] == 3 and usage["total_tokens"] > 0
    assert "! valley-courier-day1" in err and "2 dropped" in err


def test_valid_answer_after_an_invalid_one_counts_tokens_of_both(capsys: pytest.CaptureFixture[str]) -> None:
    article = EXAMPLES / "floods" / "valley-courier-day1.txt"
    text = article.read_text(encoding="utf-8").split("\n\n", 1)[1]
    from helpers import copying_answer, fabricating_answer

    replies = [Reply.answer(fabricating_answer(text.strip())), Reply.answer(copying_answer(text.strip()))]
    with ScriptedServer(replies) as server:
        code, out, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0
    usage = out["reports"][0]["provenance"]["usage"]
    assert usage["attempts"] == 2 and usage["requests"] == 2
    assert not out["reports"][0]["dropped"]


def test_truncation_and_refusal_are_errors_not_reasks(capsys: pytest.CaptureFixture[str]) -> None:
    floods = EXAMPLES / "floods"
    replies = {"valley-courier-day1": Reply.truncated('{"events": [{"summary": "Fl'), "national-wire-day2": Reply.refusal("I can't help with that.")}

    def responder(body: dict) -> Reply:
        from scripted_server import fenced_sources

        return replies.get(fenced_sources(body)[0][0]) or copying(body)

    with ScriptedServer(responder) as server:
        code, out, err = run_json(["extract", str(floods), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 3
    failed = {f["item"].rsplit("/", 1)[-1]: f for f in out["failed"]}
    assert failed["valley-courier-day1.txt"]["error"] == "truncated" and failed["valley-courier-day1.txt"]["attempts"] == 1
    assert failed["national-wire-day2.txt"]["error"] == "refusal"
    assert [r["source"]["id"] for r in out["reports"]] == ["river-times-day2"], "the good article is still processed"
    assert len(server.requests) == 3, "truncated and refused answers are not re-asked"
    assert "cut off at the token limit" in err


def test_rate_limit_is_retried_honouring_retry_after(capsys: pytest.CaptureFixture[str]) -> None:
    article = EXAMPLES / "floods" / "river-times-day2.txt"
    with ScriptedServer(sequence_then([Reply.rate_limited(0.05), Reply.status(503, "overloaded")], copying)) as server:
        code, out, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 0
    usage = out["reports"][0]["provenance"]["usage"]
    assert usage["requests"] == 3 and usage["attempts"] == 1
    assert len(server.requests) == 3


def test_unreachable_endpoint_fails_the_item_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    article = EXAMPLES / "floods" / "river-times-day2.txt"
    code, out, err = run_json(["extract", str(article), "--base-url", "http://127.0.0.1:9/v1", "--mode", "tools", "--timeout", "2"], capsys)
    assert code == 3
    assert out["failed"][0]["error"] == "transport" and "river-times-day2.txt" in err


def test_bad_inputs_are_reported_and_good_files_still_processed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = (EXAMPLES / "floods" / "river-times-day2.txt").read_text(encoding="utf-8")
    (tmp_path / "good.txt").write_text(good, encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    utf16 = "title: UTF-16 article\n\nRescuers in Brask said 31 people had died and 18 were still missing on Thursday."
    (tmp_path / "utf16.txt").write_bytes(utf16.encode("utf-16"))
    (tmp_path / "latin1.txt").write_bytes("Les secours de Brask ont compté 31 morts après la crue, selon le ministère de la Santé.".encode("latin-1"))
    with ScriptedServer(copying) as server:
        code, out, err = run_json(["extract", str(tmp_path), "--base-url", server.url, "--mode", "tools"], capsys)
    assert code == 2
    assert sorted(r["source"]["id"] for r in out["reports"]) == ["good", "latin1", "utf16"]
    reasons = {Path(f["item"]).name: f["error"] for f in out["failed"]}
    assert reasons == {"empty.txt": "empty", "image.txt": "binary"}
    latin = next(r for r in out["reports"] if r["source"]["id"] == "latin1")
    assert "compté" in latin["source"]["text"]
    assert "empty.txt" in err and "image.txt" in err


def test_no_endpoint_gives_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["extract", str(EXAMPLES / "floods")], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "OPENAI_API_KEY" in err and "--replay" in err


def test_cassette_mismatch_is_an_endpoint_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_json(["extract", str(EXAMPLES / "floods"), "--replay", str(CASSETTES / "aleppo-extract.yaml")], capsys)
    assert code == 3
    assert {f["error"] for f in out["failed"]} == {"cassette"}
    assert "no recorded answer" in err


def test_record_then_replay_round_trip_keeps_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    article = tmp_path / "leaky.txt"
    article.write_text(f"outlet: Test Desk\n\nAt least 12 people died in the flood, officials said. A note pasted the key {FAKE_KEY} here.\n", encoding="utf-8")
    cassette = tmp_path / "run.yaml"
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(copying) as server:
        code, _live, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools", "--record", str(cassette)], capsys)
    assert code == 0
    assert server.requests[0].headers["authorization"] == f"Bearer {FAKE_KEY}"
    recorded = cassette.read_text(encoding="utf-8")
    assert FAKE_KEY not in recorded and "authorization" not in recorded.lower()
    assert "<redacted>" in recorded
    assert "x-stainless" not in recorded and "user-agent" not in recorded.lower()


def test_replay_reproduces_a_recorded_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cassette = tmp_path / "run.yaml"
    article = EXAMPLES / "floods" / "national-wire-day2.txt"
    with ScriptedServer(copying) as server:
        _, live, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools", "--record", str(cassette)], capsys)
    code, replayed, _ = run_json(["extract", str(article), "--replay", str(cassette), "--mode", "tools"], capsys)
    assert code == 0
    strip = lambda out: [{k: v for k, v in r.items() if k != "provenance"} for r in out["reports"]]  # noqa: E731
    assert strip(live) == strip(replayed)


# --- who gave a figure must be named near it ---------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "text", "named"),
    [
        ("Ministry of Health", "The flood hit Brask. The ministry said 31 people had died.", True),
        ("Teral Rescue Volunteers", "The flood hit Brask. The ministry said 31 people had died.", False),
        ("SOHR", "The Syrian Observatory for Human Rights counted the dead. It said 31 were killed.", True),
        ("SOHR", "وأوضح المرصد أن 31 قتلوا", True),  # an Arabic alias of the observatory
        ("Russian reports", "Côté russe, des médias ont fait état de 31 morts.", True),  # a French alias, plural folded
        ("local sources", "Officials said 31 people had died.", True),  # a generic speaker cannot be traced: not flagged
        ("the outlet", "Thirty-one people died, 31 of them in the old town.", True),
        ("SANA", "SOHR said 31 people were killed in the clashes.", False),
        ("Syrian Ministry of Defence", "نقلت سانا عن وزارة الدفاع أن 31 قتلوا", True),  # "وزارة" of the Arabic alias
        ("field sources", "وتحدثت مصادر ميدانية عن 31 قتيلا", True),  # a kind of speaker, not a name
        ("United Nations", "The UN said 31 people died.", True),  # initials
        ("Médecins Sans Frontières", "MSF said 31 patients died.", True),
        ("Xi Jinping", "Mr Xi said 31 projects were signed.", True),  # a short name
        ("وزارة الصحة", "وقالت الوزارة إن 31 قتلوا", True),  # the article "ال" written onto the word
        ("Hezbollah", "وقال حزب الله إن 31 قتلوا", True),  # named in another script: cannot be checked
        ("IDF", "Hamas said 31 soldiers died.", False),  # a short name is checked too
    ],
)
def test_a_figures_claimant_must_be_named_near_its_quote(who: str, text: str, named: bool) -> None:
    from summarize.ground.attribution import attribution_problem

    start = text.index("31")
    problem = attribution_problem("figure f1", who, start, start + 2, text)
    assert (problem is None) == named, problem


def test_a_misattributed_figure_is_reasked_then_dropped_and_reported(capsys: pytest.CaptureFixture[str]) -> None:
    article = EXAMPLES / "floods" / "national-wire-day2.txt"
    text = article.read_text(encoding="utf-8").split("\n\n", 1)[1].strip()
    from helpers import copying_answer

    wrong = copying_answer(text)
    assert wrong["figures"], "the article states numbers"
    wrong["figures"][0]["attributed_to"] = "Kaveland Border Police"  # named nowhere in the article
    with ScriptedServer([Reply.answer(wrong)] * 3) as server:
        code, out, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools", "--max-reasks", "2"], capsys)
    assert code == 1 and len(server.requests) == 3, "re-asked twice, then the figure is dropped"
    assert "Kaveland Border Police" in json.dumps(server.requests[1].body["messages"][-1]) and "not named in or near its quote" in json.dumps(
        server.requests[1].body["messages"][-1]
    )
    report = out["reports"][0]
    assert all(f["attributed_to"] != "Kaveland Border Police" for f in report["figures"])
    (dropped,) = [d for d in report["dropped"] if d["kind"] == "figure"]
    assert "not named in or near its quote" in dropped["reason"]
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["figure_numbers_in_quotes"]["passed"], "an attribution failure is not a number failure"
    assert not checks["items_consistent"]["passed"] and any("not named in or near its quote" in f for f in checks["items_consistent"]["failures"])


def test_a_misattributed_claim_is_reasked_then_dropped(capsys: pytest.CaptureFixture[str]) -> None:
    """A loaded word in a claim is only acceptable inside the speaker's attributed quote: the speaker must be real."""
    article = EXAMPLES / "floods" / "national-wire-day2.txt"
    text = article.read_text(encoding="utf-8").split("\n\n", 1)[1].strip()
    from helpers import copying_answer

    wrong = copying_answer(text)
    wrong["claims"][0]["attributed_to"] = "Kaveland Border Police"
    with ScriptedServer([Reply.answer(wrong)] * 3) as server:
        code, out, _ = run_json(["extract", str(article), "--base-url", server.url, "--mode", "tools", "--max-reasks", "2"], capsys)
    assert code == 1 and len(server.requests) == 3
    assert "claim 0: attributed to 'Kaveland Border Police'" in json.dumps(server.requests[1].body["messages"][-1])
    report = out["reports"][0]
    assert len(report["claims"]) == len(wrong["claims"]) - 1
    (dropped,) = [d for d in report["dropped"] if d["kind"] == "claim"]
    assert "not named in or near its quote" in dropped["reason"]
