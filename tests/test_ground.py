"""Tests for summarize.ground: quote alignment and reading numbers."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from summarize.ground.normalise import normalise_with_map
from summarize.ground.numbers import number_appears, numbers_in, vague_word_appears
from summarize.ground.quotes import FUZZY_MIN_CHARS, FUZZY_THRESHOLD, align


def norm(s: str) -> str:
    return normalise_with_map(s)[0]


# Letters, whitespace, punctuation, curly quotes, dashes and a few characters whose
# normalised form has a different length (ß -> ss, ﬁ -> fi, … -> ...).
ALPHABET = st.sampled_from(
    list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    + list("   \n\t\u00a0")
    + list(".,;:!?()'\"-")
    + list("\u2018\u2019\u201c\u201d\u2013\u2014\u2212")
    + list("ßﬁ…éÉ")
)
TEXTS = st.text(alphabet=ALPHABET, min_size=1, max_size=200)


# --- exact stage ----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, data=st.data())
def test_any_substring_aligns_exactly_at_first_occurrence(text: str, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i + 1, len(text)))
    sub = text[i:j]
    assume(sub.strip())
    e = align(sub, text, source_id="s")
    assert e is not None
    assert e.alignment == "exact"
    assert e.score == 100.0
    assert e.quoted_as is None
    assert e.start == text.find(sub.strip())
    assert text[e.start : e.end] == sub.strip() == e.quote
    assert e.source_id == "s"


def test_blank_quote_does_not_align() -> None:
    assert align("", "some text", source_id="s") is None
    assert align("  \n ", "some text", source_id="s") is None


def test_first_occurrence_wins() -> None:
    text = "Shelling resumed. Later that day: Shelling resumed. And again, shelling resumed."
    e = align("Shelling resumed.", text, source_id="s")
    assert e is not None and (e.start, e.alignment) == (0, "exact")
    e = align("SHELLING RESUMED.", text, source_id="s")
    assert e is not None and (e.start, e.end, e.alignment) == (0, 17, "normalised")
    e = align("  Later that day: Shelling   resumed ", text, source_id="s")
    assert e is not None and text[e.start : e.end] == "Later that day: Shelling resumed"


# --- normalised stage -------------------------------------------------------------------------


def _variant(sub: str, how: int) -> str:
    if how == 0:
        return sub.upper()
    if how == 1:
        return sub.replace("'", "\u2019").replace('"', "\u201c")
    if how == 2:
        return sub.replace("-", "\u2014")
    if how == 3:
        return sub.replace(" ", "  ")
    return sub.replace(" ", "\n")


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, data=st.data(), hows=st.lists(st.integers(0, 4), min_size=1, max_size=4))
def test_normalised_variants_align(text: str, data: st.DataObject, hows: list[int]) -> None:
    i = data.draw(st.integers(0, len(text) - 1))
    j = data.draw(st.integers(i + 1, len(text)))
    sub = text[i:j]
    assume(any(c.isalnum() for c in sub))
    variant = sub
    for how in hows:
        variant = _variant(variant, how)
    e = align(variant, text, source_id="s")
    assert e is not None
    assert e.alignment in {"exact", "normalised"}
    assert e.quote == text[e.start : e.end]
    assert e.quote == e.quote.strip()
    assert norm(e.quote) == norm(variant)
    if e.alignment == "normalised":
        # The first normalised occurrence can never lie after the one we cut out.
        assert e.start <= i + (len(sub) - len(sub.lstrip()))


def test_curly_quotes_in_source_match_straight_quotes_from_model() -> None:
    text = (
        "The Syrian army said on Thursday it had \u201cmanaged to absorb\u201d the attack "
        "and was \u2018regrouping\u2019 near Hama \u2014 a claim rebels denied."
    )
    e = align('it had "managed to absorb" the attack', text, source_id="a1")
    assert e is not None
    assert e.alignment == "normalised"
    assert e.quote == "it had \u201cmanaged to absorb\u201d the attack"
    assert text[e.start : e.end] == e.quote
    assert text[e.start - 1] == " " and text[e.end] == " "
    assert e.quoted_as == 'it had "managed to absorb" the attack'
    e = align("was 'regrouping' near Hama - a claim", text, source_id="a1")
    assert e is not None and e.quote == "was \u2018regrouping\u2019 near Hama \u2014 a claim"


def test_length_changing_characters_map_offsets_back() -> None:
    text = "Die Stra\u00dfe war ﬁnal gesperrt, sagte er\u2026 dann nichts."
    e = align("DIE STRASSE WAR FINAL GESPERRT", text, source_id="de")
    assert e is not None and e.alignment == "normalised"
    assert e.quote == "Die Stra\u00dfe war ﬁnal gesperrt"
    e = align("sagte er... dann", text, source_id="de")
    assert e is not None and e.quote == "sagte er\u2026 dann"
    # Part of one source character ('ﬁ' -> 'fi') must not become a span of its own.
    assert align("I", "ﬁ", source_id="x") is None


def test_combining_marks_match_precomposed() -> None:
    text = "Cafe\u0301 de Flore was hit."
    e = align("caf\u00e9 de flore", text, source_id="s")
    assert e is not None and e.quote == "Cafe\u0301 de Flore"


def test_invisible_characters_are_ignored() -> None:
    text = "The re\u00adport was pub\u200blished late."
    e = align("report was published", text, source_id="s")
    assert e is not None and e.quote == "re\u00adport was pub\u200blished"


def test_normalise_with_map_points_at_source_chars() -> None:
    text = "  A\u00a0\u00a0Stra\u00dfe\n\u201cﬁ\u201d "
    normed, index = normalise_with_map(text)
    assert normed == 'a strasse "fi"'
    assert len(index) == len(normed) + 1 and index[-1] == len(text)
    assert [text[k] for k in index[:-1]] == list("A\u00a0Stra\u00df\u00dfe\n\u201cﬁﬁ\u201d")


# --- fuzzy stage ------------------------------------------------------------------------------

ARTICLE = (
    "ALEPPO, Syria (AP) \u2014 Insurgents stormed the city on Friday. "
    "Government forces withdrew from several neighbourhoods overnight, a war monitor said. "
    "The Britain-based Syrian Observatory for Human Rights said at least 153 were killed."
)


def test_one_typo_in_a_long_sentence_aligns_fuzzily() -> None:
    quote = "Government forces withdrew from several neighborhoods overnight"  # US spelling
    assert len(quote) >= 60
    e = align(quote, ARTICLE, source_id="ap")
    assert e is not None
    assert e.alignment == "fuzzy"
    assert e.score >= FUZZY_THRESHOLD
    assert e.quote == "Government forces withdrew from several neighbourhoods overnight"
    assert ARTICLE[e.start : e.end] == e.quote
    assert e.quoted_as == quote


def test_fuzzy_span_is_snapped_to_whole_words() -> None:
    quote = "orces withdrew from several neighbourhods overnigh"
    e = align(quote, ARTICLE, source_id="ap")
    assert e is not None and e.alignment == "fuzzy"
    assert e.quote[0].isupper() or ARTICLE[e.start - 1] == " "
    assert not ARTICLE[e.end].isalnum()


def test_short_quote_with_typo_does_not_align() -> None:
    quote = "Insurgents stormd the"
    assert len(quote) < FUZZY_MIN_CHARS
    assert align(quote, ARTICLE, source_id="ap") is None


def test_fabricated_sentence_does_not_align() -> None:
    assert align("Rebels said 10,000 dead were found in the city.", ARTICLE, source_id="ap") is None


def test_fuzzy_match_never_changes_a_number() -> None:
    quote = "The Britain-based Syrian Observatory for Human Rights said at least 163 were killed."
    assert align(quote, ARTICLE, source_id="ap") is None


def test_quote_longer_than_text_does_not_align() -> None:
    assert align("Insurgents stormed the city on Friday and then left", "Insurgents stormed", source_id="s") is None


NEWS_WORDS = [
    "forces",
    "withdrew",
    "from",
    "the",
    "city",
    "monitor",
    "said",
    "on",
    "Friday",
    "shelling",
    "near",
    "Hama",
]


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.sampled_from(NEWS_WORDS), min_size=20, max_size=60),
    data=st.data(),
    letter=st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
)
def test_one_substitution_in_a_long_quote_aligns_to_whole_words(words: list[str], data: st.DataObject, letter: str) -> None:
    text = " ".join(words) + "."
    # Built, not filtered: a run of whole words at least 40 chars long (20 words always are).
    i = data.draw(st.integers(0, len(words) - 1))
    j = i + 1
    while len(" ".join(words[i:j])) < 40:
        if j < len(words):
            j += 1
        else:
            i -= 1
    j = data.draw(st.integers(j, len(words)))
    quote = " ".join(words[i:j])
    k = data.draw(st.sampled_from([n for n, c in enumerate(quote) if c != " "]))
    typo = quote[:k] + letter + quote[k + 1 :]
    e = align(typo, text, source_id="s")
    assert e is not None
    assert e.score >= FUZZY_THRESHOLD
    assert e.quote == text[e.start : e.end] == e.quote.strip()
    # Whole words only: the span neither starts nor ends inside a word.
    assert e.start == 0 or not (text[e.start - 1].isalnum() and text[e.start].isalnum())
    assert e.end == len(text) or not (text[e.end - 1].isalnum() and text[e.end].isalnum())


TEXT_WORDS = ["river", "bridge", "market", "village", "convoy", "mayor", "winter", "harbour"]
OTHER_WORDS = ["tank", "shell", "police", "school", "drone", "truce", "clinic", "fuel"]


@settings(max_examples=200, deadline=None)
@given(
    text_words=st.lists(st.sampled_from(TEXT_WORDS), min_size=1, max_size=120),
    quote_words=st.lists(st.sampled_from(OTHER_WORDS), min_size=1, max_size=20),
)
def test_sentences_from_other_words_never_align(text_words: list[str], quote_words: list[str]) -> None:
    text = " ".join(text_words) + "."
    quote = " ".join(quote_words).capitalize() + "."
    assume(len(quote) >= 30)
    assert align(quote, text, source_id="s") is None


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("at least 153 were killed: 80 HTS fighters, 54 soldiers and 19 civilians", {153, 80, 54, 19}),
        ("four civilians", {4}),
        ("238 deaths over the last three days", {238, 3}),
        ("approximately 400", {400}),
        ("12,000\u201315,000 fighters", {12000, 15000}),
        ("one hundred and fifty-three", {153}),
        ("one hundred and fifty three", {153}),
        ("twenty-three wounded", {23}),
        ("often", set()),
        ("someone", set()),
        ("tension", set()),
        ("\u0661\u0665\u0663", {153}),
        ("\u06f1\u06f2\u06f3 killed", {123}),
        ("a dozen", {12}),
        ("2 million", {2_000_000}),
        ("1.5 million displaced", {1_500_000}),
        ("a hundred people", {100}),
        ("two thousand troops", {2000}),
        ("1\u00a0200 people and 3\u2009400 more", {1200, 3400}),
        ("1.200 people", {1200}),
        ("1.5 per cent", set()),
        ("a 15% rise", {15}),
        ("one or two", {1, 2}),
        ("in 2023 150 people", {2023, 150}),
        ("dozens of people, hundreds more", set()),
        ("A convoy", set()),
    ],
)
def test_numbers_in(text: str, expected: set[int]) -> None:
    assert numbers_in(text) == expected


def test_number_appears() -> None:
    assert number_appears(153, "The toll rose to 153 on Sunday.")
    assert number_appears(3, "over the last three days")
    assert not number_appears(10, "Fighting often resumed at dawn.")
    assert not number_appears(1, "Someone said so.")
    assert not number_appears(1_000_000, "2 million people")


@pytest.mark.parametrize(
    ("word", "text", "expected"),
    [
        ("dozens", "Dozens were hurt", True),
        ("dozens", "a dozen were hurt", True),
        ("dozen", "DOZENS were hurt", True),
        ("scores", "a score of people", True),
        ("hundreds", "Hundreds fled", True),
        ("tens of thousands", "tens of thousands fled", True),
        ("dozens", "a dozenth time", False),
        ("hundreds", "two hundred", True),
        ("scores", "the scoreboard", False),
        ("", "anything", False),
    ],
)
def test_vague_word_appears(word: str, text: str, expected: bool) -> None:
    assert vague_word_appears(word, text) is expected
