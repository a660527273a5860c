"""Arabic and French sources: verbatim quotes with English glosses, per-language loaded terms, --language."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import FAKE_KEY
from helpers import EXAMPLES, ROOT, run
from record_cassettes import requested_schema
from scripted_server import Reply, ScriptedServer, answers_by_source

from summarize.aliases import load_aliases
from summarize.api import brief_files, extract_files
from summarize.brief.writer import BriefOptions, briefing_languages
from summarize.config import load_settings
from summarize.gate.gates import build_index, run_gates
from summarize.gate.lexicon import load_lexicon
from summarize.ground.numbers import numbers_in
from summarize.models.briefing import BriefDraft
from summarize.models.report import Claim, FigureClaim, SourceReport
from summarize.reconcile.story import reconcile

MULTI = EXAMPLES / "multilingual"
AR, FR = "ar-aleppo-wire", "fr-aleppo-quotidien"
ANSWERS = {sid: json.loads((ROOT / "tests" / "fixtures" / "answers" / f"{sid}.json").read_text(encoding="utf-8")) for sid in (AR, FR)}
ARABIC = re.compile("[\u0600-\u06ff]")


def _s(text: str, *ids: str) -> dict[str, Any]:
    return {"text": text, "claim_ids": list(ids)}


# An authored English briefing of the two articles (the answer a careful model would give);
# recording the multilingual brief cassette serves it as tests/fixtures/briefs/multilingual.json.
BRIEF_EN: dict[str, Any] = {
    "headline": _s(
        "Fighting in the Aleppo and Idlib countryside after an HTS-led offensive; Arabic and French reports give different death tolls", f"{AR}:e1", f"{FR}:e1"
    ),
    "lead": [
        _s(
            "Armed factions led by Hay'at Tahrir al-Sham (HTS) attacked Syrian government positions in the western Aleppo and Idlib countryside, and fighting "
            "has continued since Wednesday, according to Al-Mashriq News Agency and Le Quotidien du Levant.",
            f"{AR}:e1",
            f"{FR}:e1",
        ),
        _s("SOHR said at least 153 people were killed, while local sources cited by Le Quotidien du Levant said 238 were killed.", f"{AR}:f1", f"{FR}:f1"),
        _s(
            "Russian reports said about 400 “terroristes” were killed; that figure counts opposition fighters only and compares with SOHR's 99 opposition "
            "fighters (80 HTS and 19 SNA), not with its total.",
            f"{FR}:f2",
            f"{AR}:f2",
            f"{AR}:f4",
        ),
    ],
    "key_points": [
        _s(
            "SOHR said the dead included 80 HTS fighters, 54 Syrian army soldiers and allied fighters, and 19 fighters of the Turkish-backed Syrian "
            "National Army (SNA), which add up to its total of 153.",
            *(f"{AR}:f{i}" for i in range(1, 5)),
        ),
        _s(
            "SANA said 4 civilians were killed when the university city in Aleppo was targeted, and called those who carried out the attack “الإرهابيين”.",
            f"{AR}:f5",
            f"{AR}:c4",
        ),
        _s(
            "The Syrian Ministry of Defence, quoted by SANA, said army units were confronting a broad attack by “التنظيمات الإرهابية” "
            "(“the terrorist organisations”) on multiple fronts.",
            f"{AR}:c3",
        ),
        _s("SOHR said the factions took a number of villages and hills west of Aleppo in the first hours of the attack.", f"{AR}:c2"),
        _s(
            "Local sources cited by Le Quotidien du Levant said government troops counter-attacked with Russian air support after losing positions "
            "in the first hours.",
            f"{FR}:c4",
            f"{FR}:c3",
        ),
        _s("Field sources cited by Al-Mashriq News Agency said Russian air strikes hit the attackers' supply lines.", f"{AR}:c5"),
    ],
    "timeline": [],
    "context": [_s("Le Quotidien du Levant said the United States and Turkey list HTS as a “terroriste” organisation.", f"{FR}:c5")],
}


def _extract() -> dict[str, SourceReport]:
    with ScriptedServer(answers_by_source(ANSWERS)) as server:
        settings = load_settings({"base_url": server.url}, env={"OPENAI_API_KEY": FAKE_KEY})
        out = extract_files([str(MULTI)], settings)
    assert not out.failed
    return {r.source.id: r for r in out.reports}


def _responder(brief: dict[str, Any]) -> Any:
    extract = answers_by_source(ANSWERS)
    return lambda body: Reply.answer(brief) if requested_schema(body) == "BriefDraft" else extract(body)


def test_quotes_stay_verbatim_in_the_source_language_with_english_glosses() -> None:
    reports = _extract()
    assert {r.source.language for r in reports.values()} == {"ar", "fr"}
    for sid, report in reports.items():
        assert report.verified and not report.dropped, [c for c in report.checks if not c.passed]
        text = report.source.text
        authored = {f["quote"] for f in ANSWERS[sid]["figures"]} | {c["quote"] for c in ANSWERS[sid]["claims"]}
        items: list[FigureClaim | Claim] = [*report.figures, *report.claims]
        assert len(items) == len(ANSWERS[sid]["figures"]) + len(ANSWERS[sid]["claims"])
        for item in items:
            ev = item.evidence
            assert ev.alignment == "exact" and ev.quote == text[ev.start : ev.end] and ev.quote in authored
            assert item.gloss and not ARABIC.search(item.gloss) and item.gloss != ev.quote
    arabic = reports[AR]
    assert all(ARABIC.search(f.evidence.quote) for f in arabic.figures)
    assert all(not ARABIC.search(c.text) for c in arabic.claims), "claim paraphrases are written in English"
    assert "«" in next(f for f in reports[FR].figures if f.value == 400).evidence.quote


def test_arabic_indic_digits_ground_the_figures() -> None:
    arabic = _extract()[AR]
    got = {(f.value, f.population, f.party, f.attributed_to) for f in arabic.figures}
    assert got == {
        (153, "all", None, "SOHR"),
        (80, "combatants", "HTS", "SOHR"),
        (54, "combatants", "Syrian army", "SOHR"),
        (19, "combatants", "SNA", "SOHR"),
        (4, "civilians", None, "SANA"),
    }
    total = next(f for f in arabic.figures if f.value == 153)
    assert "١٥٣" in total.evidence.quote and "153" not in total.evidence.quote
    assert numbers_in(total.evidence.quote) == {153}
    assert numbers_in("و٥٤ من الجيش") == {54}, "a conjunction written onto the number does not hide it"


def test_loaded_terms_are_kept_as_the_speaker_wrote_them() -> None:
    reports = _extract()
    terms = {c.attributed_to: c.loaded_terms for r in reports.values() for c in r.claims if c.loaded_terms}
    assert terms == {"Syrian Ministry of Defence": ["الإرهابية"], "SANA": ["الإرهابيين"], "Russian reports": ["terroristes"], "the outlet": ["terroriste"]}


def test_the_briefing_loads_a_lexicon_for_each_language_present() -> None:
    reports = _extract()
    assert briefing_languages(list(reports.values())) == ["en", "ar", "fr"]
    assert briefing_languages([reports[AR]]) == ["en", "ar"]
    english = reports[AR].model_copy(update={"source": reports[AR].source.model_copy(update={"language": "en"})})
    assert briefing_languages([english]) == ["en"]


def _gate(sentence: str, claim_ids: list[str], languages: list[str]) -> tuple[bool, list[str]]:
    reports = list(_extract().values())
    draft = BriefDraft.model_validate({"headline": _s(sentence, *claim_ids), "lead": [], "key_points": [], "timeline": [], "context": []})
    index = build_index(reports, reconcile(reports, load_aliases()))
    check = next(c for c in run_gates(draft, index, load_lexicon(languages)).checks if c.name == "loaded_terms_attributed")
    return check.passed, check.failures


def test_arabic_loaded_term_outside_quotes_is_flagged_when_a_source_is_arabic() -> None:
    sentence = "تصدى الجيش لهجوم الإرهابيين غرب حلب."
    passed, failures = _gate(sentence, [f"{AR}:c3"], briefing_languages(list(_extract().values())))
    assert not passed and "“الإرهابيين” is a loaded term in the briefing's own voice" in failures[0]
    passed, _ = _gate(sentence, [f"{AR}:c3"], ["en"])
    assert passed, "without an Arabic source the Arabic list is not loaded"


def test_arabic_loaded_term_passes_inside_an_attributed_quote() -> None:
    languages = ["en", "ar", "fr"]
    passed, failures = _gate("SANA said those who carried out the attack were “الإرهابيين”.", [f"{AR}:c4"], languages)
    assert passed, failures
    passed, failures = _gate("Those who carried out the attack were called “الإرهابيين”.", [f"{AR}:c4"], languages)
    assert not passed and "does not say who used it" in failures[0]


def test_french_loaded_term_uses_the_french_list() -> None:
    sentence = "Les factions ont libéré plusieurs villages à l’ouest d’Alep."
    passed, failures = _gate(sentence, [f"{FR}:c3"], ["en", "fr"])
    assert not passed and "libéré" in failures[0] and "pris, a pris le contrôle de" in failures[0]
    assert _gate(sentence, [f"{FR}:c3"], ["en"])[0]


def test_english_briefing_of_arabic_and_french_sources_passes_every_gate() -> None:
    with ScriptedServer(_responder(BRIEF_EN)) as server:
        settings = load_settings({"base_url": server.url}, env={"OPENAI_API_KEY": FAKE_KEY})
        briefing, out = brief_files([str(MULTI)], settings, BriefOptions())
    assert briefing is not None and not out.failed
    assert briefing.verified and not briefing.removed, [c for c in briefing.checks if not c.passed]
    totals = next(c for c in briefing.reconciled.comparisons if c.scope_key == "killed|all|")
    assert {e.claimant: e.value for e in totals.entries} == {"SOHR": 153, "local sources": 238} and totals.disagreement
    fighters = next(c for c in briefing.reconciled.comparisons if c.scope_key == "killed|combatants|opposition fighters")
    assert {e.claimant: e.value for e in fighters.entries} == {"SOHR": 99, "Russian reports": 400}
    assert [(s.claimant, s.parts_sum, s.consistent) for s in briefing.reconciled.sum_checks] == [("SOHR", 153, True)]
    terms = {t.term: t.used_by for t in briefing.reconciled.terminology}
    assert terms["الإرهابيين"] == "SANA" and terms["terroristes"] == "Russian reports"


@pytest.mark.parametrize(("flag", "expected"), [([], "Write in English."), (["--language", "French"], "Write in French.")])
def test_language_flag_reaches_the_briefing_prompt(
    flag: list[str], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with ScriptedServer(_responder(BRIEF_EN)) as server:
        code, _, err = run(["brief", str(MULTI), "--base-url", server.url, *flag, "-o", str(tmp_path / "b.md"), "-q"], capsys)
        bodies = [r.body for r in server.requests if r.body and requested_schema(r.body) == "BriefDraft"]
    assert code == 0, err
    (body,) = bodies
    system = body["messages"][0]["content"]
    assert system.rstrip().endswith(expected)
    assert "(English: SANA reported that 4 civilians were killed" in body["messages"][1]["content"], "glosses reach the briefing model"


@pytest.mark.parametrize(
    ("quote", "value"),
    [
        ("trois civils ont été tués", 3),
        ("vingt-deux morts", 22),
        ("vingt et un blessés", 21),
        ("quatre-vingt-dix morts", 90),
        ("deux mille déplacés", 2000),
        ("مقتل أربعة مدنيين", 4),
        ("خمسة وعشرون قتيلا", 25),
        ("ثلاثة عشر جريحا", 13),
        ("ثلاثمئة شخص", 300),
    ],
)
def test_a_figure_quoted_in_french_or_arabic_words_is_found(quote: str, value: int) -> None:
    from summarize.ground.numbers import number_appears

    assert number_appears(value, quote)
    assert not number_appears(value + 1, quote), "a run of number words is one number, not its parts"


def test_foreign_number_words_do_not_count_in_briefing_sentences() -> None:
    # the gates read a briefing's own sentences with numbers_in: "les deux camps" is not a count to trace
    assert numbers_in("les deux camps se sont affrontés") == set()
