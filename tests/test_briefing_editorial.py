"""The briefing an editor would correct (issue 16, point 9): each fix holds as a rule on every example
story, not as an edit to one fixture, and each has a constructed case besides.

- a gap does not call a date unknown that another source's account of the same incident gives;
- consensus needs two or more independent claimants;
- a loaded word is charged to the speaker who used it, and a designation to the designating body;
- the timeline has every dated incident;
- one citation scheme ([S2: f1]) throughout the Markdown;
- counts agree with their nouns ("1 figure");
- a non-English loaded term quoted in an English briefing carries an English gloss.
"""

from __future__ import annotations

import functools
import re

import pytest
from helpers import CASSETTES, EXAMPLES

from summarize.api import brief_files
from summarize.brief.timeline import complete_timeline
from summarize.brief.writer import briefing_languages, term_glosses
from summarize.config import load_settings
from summarize.gate.gates import build_index
from summarize.gate.lexicon import gloss_of, load_lexicon
from summarize.models.briefing import Briefing
from summarize.models.report import Claim
from summarize.reconcile.claims import term_user
from summarize.render.briefing_md import briefing_markdown, cites, glossed, shown_ids
from summarize.words import counted

STORIES = ("aleppo", "floods", "multilingual", "web", "quake-flood", "clinic-blast", "ridge-offensive")


@functools.cache
def briefing(story: str) -> Briefing:
    settings = load_settings({"replay": str(CASSETTES / f"{story}-brief.yaml")}, env={})
    b, out = brief_files([str(EXAMPLES / story)], settings)
    assert b is not None and not out.failed
    return b


@functools.cache
def markdown(story: str) -> str:
    return briefing_markdown(briefing(story))


def claim(text: str, claim_type: str = "characterisation", attributed_to: str = "the outlet", terms: tuple[str, ...] = ()) -> Claim:
    base = next(c for c in briefing("aleppo").reports[0].claims)
    evidence = base.evidence.model_copy(update={"quote": text})
    return base.model_copy(update={"text": text, "claim_type": claim_type, "attributed_to": attributed_to, "loaded_terms": list(terms), "evidence": evidence})


# --- gaps and dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize("story", STORIES)
def test_no_gap_calls_a_date_unknown_that_another_source_gives(story: str) -> None:
    b = briefing(story)
    events = {e.id: e for r in b.reports for e in r.events}
    dated_incidents = [i for i in b.reconciled.incidents if any(events[e].date_start for e in i.event_ids)]
    gaps = " ".join(g.question for g in b.reconciled.gaps)
    for incident in dated_incidents:
        for e in (events[e] for e in incident.event_ids if not events[e].date_start and events[e].date_as_written):
            assert e.summary[:40] not in gaps, f"{e.id} is dated by another account of incident {incident.id}"


def test_the_aleppo_lead_dates_the_offensive_and_no_gap_denies_it() -> None:
    md = markdown("aleppo")
    assert "27 November 2024" in md.split("## Key points")[0]
    assert "is not established" not in md


# --- consensus ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("story", STORIES)
def test_consensus_has_two_or_more_independent_claimants(story: str) -> None:
    for point in briefing(story).reconciled.consensus:
        assert point.n_independent_claimants == len(set(point.claimants)) >= 2, point


def test_one_claimant_in_two_outlets_is_shown_as_no_consensus() -> None:
    md = markdown("aleppo")
    section = md.split("## Consensus")[1].split("\n## ")[0]
    assert "No figure or statement is given by two or more independent claimants." in section
    assert "SOHR" not in section  # SOHR's 153 is carried by two outlets but is one claimant


# --- who used the word -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "term", "speaker"),
    [
        # the reference story's sentence: the opposition's word, reported by Turkish security sources
        (
            "They said the escalation came after recent government attacks on the zone, which the opposition presented as provocation.",
            "provocation",
            "the opposition",
        ),
        ('Residents said the soldiers, whom the governor called "invaders", left at dawn.', "invaders", "the governor"),
        ("The monitor said the strike killed 12 people in what activists have termed a massacre.", "massacre", "activists"),
        ('SOHR said 12 people died in the shelling, and SANA called it a "terrorist attack".', "terrorist attack", "SANA"),
        ("The governor described the march as a provocation, the agency said.", "provocation", "The governor"),
        # the claimant's own word, however it is phrased
        ("The army said it had responded to what it called provocation by the rebels.", "provocation", None),
        ("Residents said the move was a provocation.", "provocation", None),
        ('SANA said four civilians were killed in an attack on the university city and called it a "terrorist attack".', "terrorist attack", None),
    ],
)
def test_a_loaded_word_is_charged_to_its_speaker(text: str, term: str, speaker: str | None) -> None:
    assert term_user(claim(text), term) == speaker


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ('The outlet said the United States and Turkey have both designated HTS a "terrorist organisation".', "the United States and Turkey"),
        ("The outlet said HTS is designated a terrorist organisation by the United Nations Security Council.", "the United Nations Security Council"),
        ("The outlet said the European Union lists the group as a terrorist organisation.", "the European Union"),
        ("The outlet said HTS, which Washington formally designated a terrorist organisation in 2018, leads the offensive.", "Washington"),
        ("Le journal indique que HTS est classée organisation terroriste par les États-Unis.", "les États-Unis"),
        ("The outlet said HTS is widely designated as a terrorist group.", None),  # no body named: the outlet's own report
    ],
)
def test_a_reported_designation_is_the_designating_bodys(text: str, body: str | None) -> None:
    assert term_user(claim(text, "designation"), "terrorist organisation") == body


def test_designations_and_relayed_words_in_the_briefings() -> None:
    notes = {(n.term, n.used_by): n for n in briefing("aleppo").reconciled.terminology}
    assert notes[("provocation", "the opposition")].reported_by == ["Turkish security sources"]
    assert notes[("terrorist organisation", "the United States and Turkey")].reported_by == ["Eastern Mediterranean Wire", "Homeland Evening Herald"]
    assert not [n for n in briefing("aleppo").reconciled.terminology if n.term == "terrorist organisation" and "own reporting" in n.used_by]
    md = markdown("aleppo")
    assert "“provocation” is used by the opposition, according to Turkish security sources [S2: c6]" in md
    assert (
        "“terrorist organisation” is a designation by the United States and Turkey, according to Eastern Mediterranean Wire and Homeland Evening Herald" in md
    )
    (fr,) = [n for n in briefing("multilingual").reconciled.terminology if n.term == "terroriste"]
    assert (fr.used_by, fr.reported_by) == ("the United States and Turkey", ["Le Quotidien du Levant"])


def test_the_claimant_named_again_in_its_own_claim_stays_one_user() -> None:
    # "The Syrian Ministry of Defence referred to the attackers as 'terrorists'": the claimant, not a new speaker
    notes = [n for n in briefing("aleppo").reconciled.terminology if n.term == "terrorists"]
    assert sorted(n.used_by for n in notes) == ["Russian reports", "Syrian Ministry of Defence"]
    assert all(not n.reported_by for n in notes)


# --- the timeline ------------------------------------------------------------------------------------


@pytest.mark.parametrize("story", STORIES)
def test_the_timeline_has_every_dated_incident(story: str) -> None:
    b = briefing(story)
    events = {e.id: e for r in b.reports for e in r.events}
    cited = {i for s in b.timeline for i in s.claim_ids}
    for incident in b.reconciled.incidents:
        if any(events[e].date_start and events[e].status != "denied" for e in incident.event_ids):
            assert cited & set(incident.event_ids), f"{story}: incident {incident.id} ({incident.label}) is dated but not in the timeline"


def test_timeline_entries_are_in_date_order() -> None:
    for story in STORIES:
        whens = [s.when[:10] for s in briefing(story).timeline if s.when and re.match(r"\d{4}-\d{2}-\d{2}", s.when)]
        assert whens == sorted(whens), story


def test_a_timeline_that_leaves_out_dated_incidents_is_completed() -> None:
    b = briefing("clinic-blast")
    index = build_index(b.reports, b.reconciled)
    lexicon = load_lexicon(briefing_languages(b.reports))
    hospital = next(i for i in b.reconciled.incidents if i.main)
    # the model gave one entry, about a later day, citing no event
    only = [s for s in b.timeline if not set(s.claim_ids) & {e for i in b.reconciled.incidents for e in i.event_ids}][:1]
    assert only
    completed = complete_timeline(only, b.reconciled, index, lexicon)
    assert only[0] in completed and len(completed) == 1 + len(b.reconciled.incidents)
    added = [s for s in completed if s is not only[0]]
    assert any(set(s.claim_ids) & set(hospital.event_ids) for s in added)
    assert all(s.status == "verified" and s.source_ids for s in added)
    # an aggregate over months is written to the precision of its dates, with no invented day
    war = next(s for s in added if "since the war began" in s.text)
    assert war.when == "2025 to 2026"
    dated = [s.when for s in completed if re.match(r"\d{4}-\d{2}-\d{2}$", s.when or "")]
    assert dated == sorted(dated)


def test_an_added_timeline_entry_passes_the_gates_or_is_left_out() -> None:
    b = briefing("aleppo")
    index = build_index(b.reports, b.reconciled)
    completed = complete_timeline([], b.reconciled, index, load_lexicon(["en"]))
    # every entry code adds is checked like the model's: here the one dated incident, the offensive of 27 November
    assert [(s.when, s.claim_ids[:3]) for s in completed] == [("2024-11-27", ["monitor-digest:e1", "regional-wire:e1", "state-herald:e1"])]


# --- one citation scheme -----------------------------------------------------------------------------


@pytest.mark.parametrize("story", STORIES)
def test_the_markdown_cites_in_one_scheme(story: str) -> None:
    b, md = briefing(story), markdown(story)
    for r in b.reports:
        assert not re.search(rf"(?<![\w/.-]){re.escape(r.source.id)}:[fce]\d+", md), f"{story}: raw id of {r.source.id} in the Markdown"
    assert not re.search(r"\[S\d+\] [fce]\d+|\(S\d+ [fce]\d+", md)


def test_ids_in_check_details_are_shown_as_citations() -> None:
    refs = {"monitor-digest": "S2", "regional-wire": "S3"}
    assert shown_ids("monitor-digest:f1 and regional-wire:c7, unknown:f2", refs) == "[S2: f1] and [S3: c7], unknown:f2"
    assert cites(["regional-wire:f1", "monitor-digest:f2", "monitor-digest:f1"], refs) == "[S2: f2, f1] [S3: f1]"


# --- plural agreement --------------------------------------------------------------------------------


def test_counted_agrees_with_its_number() -> None:
    assert (counted(1, "figure"), counted(0, "figure"), counted(2, "figure")) == ("1 figure", "0 figures", "2 figures")
    assert counted(1, "party", "parties") == "1 party" and counted(3, "party", "parties") == "3 parties"


@pytest.mark.parametrize("story", STORIES)
def test_no_count_disagrees_with_its_noun(story: str) -> None:
    md = markdown(story)
    assert "(s)" not in md
    singular = re.findall(r"(?<![\d,.])1 (?!of\b)([a-z]+s)\b", md)
    assert not [w for w in singular if not w.endswith("ss")], singular


def test_a_one_source_briefing_says_so_in_the_singular() -> None:
    md = markdown("web")
    assert "_Briefing from 1 source" in md and "The one source reports no count of injured people." in md


# --- glosses ------------------------------------------------------------------------------------------


def test_a_quoted_arabic_term_carries_an_english_gloss() -> None:
    b, md = briefing("multilingual"), markdown("multilingual")
    assert b.glosses["الإرهابيين"] == "terrorists"
    for term, gloss in b.glosses.items():
        for m in re.finditer(rf"“[^”]*(?<!\w){re.escape(term)}(?!\w)[^”]*”", md):
            # the gloss code adds, or the translation the sentence already gives in brackets
            assert md[m.end() :].startswith((f" (English: {gloss})", " (“", ' ("')), md[m.start() : m.end() + 40]
    assert "“الإرهابيين” (English: terrorists)" in md


def test_the_gloss_fits_the_form_and_an_english_word_is_not_glossed() -> None:
    lexicon = load_lexicon(["en", "fr", "ar"])
    found = {
        m: gloss_of(m, t)
        for text in ("الإرهابيين", "الإرهابية", "وللإرهاب", "terroristes", "terroriste", "terrorists")
        for m, _, _, t in lexicon.find_terms(text)
    }
    assert found == {
        "الإرهابيين": "terrorists",
        "الإرهابية": "terrorist, adjective",
        "وللإرهاب": "terrorism",
        "terroristes": "terrorists",
        "terroriste": "terrorist",
        "terrorists": None,
    }
    # an English source's word shares the French pattern, but only words a non-English source wrote are glossed
    english = briefing("aleppo").reports
    assert term_glosses(['Russian reports said about 400 "terrorists" were killed.'], lexicon, english) == {}


def test_glossed_adds_the_gloss_once_after_the_closing_quote() -> None:
    glosses = {"terroriste": "terrorist", "terroristes": "terrorists"}
    assert (
        glossed("They said “terroristes” and “terroriste”.", glosses) == "They said “terroristes” (English: terrorists) and “terroriste” (English: terrorist)."
    )
    assert glossed("They said “terroristes” (terrorists).", glosses) == "They said “terroristes” (terrorists)."
