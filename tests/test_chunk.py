"""Long articles split into overlapping chunks that cover the text; repeats from overlaps merge back."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarize.extract.chunk import (
    DEFAULT_MAX_CHARS,
    Chunk,
    dedupe_actors,
    dedupe_claims,
    dedupe_events,
    dedupe_figures,
    split_text,
)
from summarize.models.report import Actor, Claim, EventRecord, Evidence, FigureClaim, Location

# --- split_text -----------------------------------------------------------------------------


def article(paragraphs: int = 50, seed: int = 7) -> str:
    rng = random.Random(seed)
    words = ["shelling", "continued", "near", "the", "town", "of", "Saraqib", "according", "to", "monitors", "fighters"]
    out = []
    for p in range(paragraphs):
        sentences = [" ".join(rng.choices(words, k=rng.randint(6, 20))).capitalize() + rng.choice([".", ".", "!", "?"]) for _ in range(rng.randint(2, 6))]
        out.append(f"P{p}. " + " ".join(sentences))
    return "\n\n".join(out)


def assert_covers(text: str, chunks: list[Chunk], max_chars: int) -> None:
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for i, chunk in enumerate(chunks):
        assert chunk.index == i
        assert chunk.text == text[chunk.start : chunk.end]
        assert 0 < len(chunk.text) <= max_chars or len(text) == 0
    for prev, nxt in pairwise(chunks):
        assert prev.start < nxt.start <= prev.end  # advances, and leaves no gap
        assert nxt.end > prev.end  # every chunk adds new text


def test_short_text_is_one_chunk() -> None:
    text = "Clashes erupted on Wednesday. At least 12 people were killed."
    assert split_text(text) == [Chunk(0, 0, len(text), text)]
    assert split_text("") == [Chunk(0, 0, 0, "")]
    exact = "x" * DEFAULT_MAX_CHARS
    assert len(split_text(exact)) == 1


def test_long_article_splits_on_boundaries_with_overlap() -> None:
    text = article()
    max_chars, overlap = 2_000, 300
    chunks = split_text(text, max_chars=max_chars, overlap=overlap)
    assert len(chunks) > 3
    assert_covers(text, chunks, max_chars)
    for prev, nxt in pairwise(chunks):
        assert prev.end - nxt.start >= overlap // 2
        # Cut after a paragraph break when one is in reach; begin at a sentence start.
        assert text[prev.end - 2 : prev.end] == "\n\n"
        assert text[nxt.start - 2 : nxt.start] in {"\n\n", ". ", "! ", "? "}
        assert nxt.text[0].isupper()


def test_without_paragraphs_cuts_at_sentence_ends() -> None:
    text = article().replace("\n\n", " ")
    chunks = split_text(text, max_chars=1_000, overlap=200)
    assert_covers(text, chunks, 1_000)
    for chunk in chunks[:-1]:
        assert chunk.text[-2] in ".!?" and chunk.text[-1] == " "


def test_text_without_whitespace_still_splits() -> None:
    text = "abcdefghij" * 1_000
    chunks = split_text(text, max_chars=1_000, overlap=100)
    assert_covers(text, chunks, 1_000)
    assert all(len(c.text) == 1_000 for c in chunks[:-1])


def test_zero_overlap_tiles_the_text() -> None:
    text = article()
    chunks = split_text(text, max_chars=1_500, overlap=0)
    assert "".join(c.text for c in chunks) == text


@pytest.mark.parametrize(("max_chars", "overlap"), [(199, 0), (1_000, 1_000), (1_000, 2_000), (1_000, -1)])
def test_bad_parameters(max_chars: int, overlap: int) -> None:
    with pytest.raises(ValueError):
        split_text("x" * 5_000, max_chars=max_chars, overlap=overlap)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(list("ab .!?\n\u00e9")), max_size=3_000),
    max_chars=st.integers(200, 800),
    overlap_fraction=st.floats(0, 0.99),
)
def test_any_text_is_covered_and_split_terminates(text: str, max_chars: int, overlap_fraction: float) -> None:
    overlap = int(max_chars * overlap_fraction)
    chunks = split_text(text, max_chars=max_chars, overlap=overlap)
    assert_covers(text, chunks, max_chars)
    for prev, nxt in pairwise(chunks):
        # At least half the requested overlap, unless the previous chunk is itself shorter.
        want = -(-min(overlap, len(prev.text) - 1) // 2)
        assert prev.end - nxt.start >= want


# --- dedupe ---------------------------------------------------------------------------------

SOURCE = "The Syrian Observatory said at least 12 civilians were killed in Saraqib. SANA said 40 terrorists were killed."


def ev(quote: str, start: int | None = None) -> Evidence:
    start = SOURCE.index(quote) if start is None else start
    return Evidence(source_id="s", quote=quote, start=start, end=start + len(quote), alignment="exact", score=100.0)


def figure(id: str, evidence: Evidence, **changes: object) -> FigureClaim:
    fields: dict[str, object] = {
        "id": id,
        "metric": "killed",
        "population": "civilians",
        "party": None,
        "value": 12,
        "low": None,
        "high": None,
        "qualifier": "at_least",
        "vague_word": None,
        "time_window": None,
        "place": "Saraqib",
        "attributed_to": "Syrian Observatory",
        "reported_by": "Outlet",
        "source_id": "s",
        "evidence": evidence,
    }
    return FigureClaim.model_validate(fields | changes)


def test_same_figure_from_two_chunks_collapses() -> None:
    whole = ev("The Syrian Observatory said at least 12 civilians were killed in Saraqib.")
    clause = ev("at least 12 civilians were killed")
    later = figure("c2-f1", clause, attributed_to="syrian  observatory")
    assert dedupe_figures([later, figure("c1-f1", whole)]) == [figure("c1-f1", whole)]


def test_same_value_different_claimant_stays_two() -> None:
    a = figure("f1", ev("at least 12 civilians were killed"))
    b = figure("f2", ev("at least 12 civilians were killed"), attributed_to="SANA")
    assert dedupe_figures([a, b]) == [a, b]


@pytest.mark.parametrize("change", [{"population": "all"}, {"metric": "injured"}, {"population": "combatants", "party": "HTS"}, {"qualifier": "exact"}])
def test_same_claimant_different_scope_stays_two(change: dict[str, object]) -> None:
    a = figure("f1", ev("at least 12 civilians were killed"))
    b = figure("f2", ev("at least 12 civilians were killed"), **change)
    assert dedupe_figures([a, b]) == [a, b]


def test_same_figure_in_separate_passages_stays_two() -> None:
    a = figure("f1", ev("at least 12 civilians were killed"))
    b = figure("f2", ev("at least 12 civilians were killed in Saraqib.", start=500))
    assert dedupe_figures([b, a]) == [a, b]  # sorted by position, ids kept


def claim(id: str, text: str, evidence: Evidence) -> Claim:
    return Claim(id=id, text=text, claim_type="figure", attributed_to="SANA", reported_by="Outlet", source_id="s", loaded_terms=[], evidence=evidence)


def test_claims_dedupe_on_overlap_and_wording_or_same_span() -> None:
    span = ev("SANA said 40 terrorists were killed.")
    part = ev("40 terrorists were killed")
    a = claim("c1", "SANA said 40 fighters were killed.", span)
    b = claim("c2", "SANA  said 40 Fighters were killed.", part)
    c = claim("c3", "SANA reported deaths.", part)
    d = claim("c4", "Reworded entirely.", span)
    assert dedupe_claims([c, b, a, d]) == [a, c]


def actor(name: str, canonical: str, aliases: list[str], evidence: Evidence) -> Actor:
    return Actor(name=name, canonical_name=canonical, aliases=aliases, actor_type="Rebel group", source_id="s", evidence=evidence)


def test_actors_merge_by_canonical_name() -> None:
    first = actor("HTS", "Hay'at Tahrir al-Sham", ["Tahrir al-Sham"], ev("The Syrian"))
    again = actor("Hay'at Tahrir al-Sham", "hay'at tahrir al-sham", ["HTS", "Jabhat al-Nusra"], ev("Saraqib"))
    other = actor("SAA", "Syrian Arab Army", [], ev("SANA"))
    merged = dedupe_actors([again, other, first])
    assert [a.canonical_name for a in merged] == ["Hay'at Tahrir al-Sham", "Syrian Arab Army"]
    assert merged[0].name == "HTS"
    assert merged[0].aliases == ["Hay'at Tahrir al-Sham", "Jabhat al-Nusra", "Tahrir al-Sham"]


def event(id: str, summary: str, evidence: list[Evidence], **changes: object) -> EventRecord:
    fields: dict[str, object] = {
        "id": id,
        "source_ids": ["s"],
        "disorder_type": "Political violence",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Shelling/artillery/missile attack",
        "summary": summary,
        "date_as_written": None,
        "date_start": None,
        "date_end": None,
        "date_precision": "unknown",
        "granularity": "atomic",
        "status": "occurred",
        "actors": ["SAA"],
        "locations": [Location(name="Saraqib", admin1="Idlib", country="Syria", precision=1)],
        "figure_ids": ["f1"],
        "evidence": evidence,
    }
    return EventRecord.model_validate(fields | changes)


def test_events_merge_on_overlapping_evidence_and_type() -> None:
    whole = ev("The Syrian Observatory said at least 12 civilians were killed in Saraqib.")
    part = ev("12 civilians were killed in Saraqib")
    a = event("e1", "Shelling killed civilians in Saraqib.", [whole])
    b = event("e2", "Government shelling hit Saraqib.", [part], figure_ids=["f1", "f2"], actors=["HTS"])
    merged = dedupe_events([b, a])
    assert len(merged) == 1
    assert merged[0].id == "e1"
    assert merged[0].figure_ids == ["f1", "f2"]
    assert merged[0].actors == ["SAA", "HTS"]
    assert merged[0].evidence == [whole, part]
    assert merged[0].source_ids == ["s"]


def test_events_of_other_type_or_place_stay_apart_unless_same_summary() -> None:
    whole = ev("The Syrian Observatory said at least 12 civilians were killed in Saraqib.")
    a = event("e1", "Shelling killed civilians in Saraqib.", [whole])
    b = event("e2", "Clashes in Saraqib.", [whole], event_type="Battles", sub_event_type="Armed clash")
    c = event("e3", "SANA reported fighters killed.", [ev("SANA said 40 terrorists were killed.")])
    d = event("e4", "shelling  killed civilians in saraqib.", [ev("SANA said 40 terrorists were killed.")], source_ids=["t"])
    merged = dedupe_events([a, b, c, d])
    assert [e.id for e in merged] == ["e1", "e2", "e3"]
    assert merged[0].source_ids == ["s", "t"]
