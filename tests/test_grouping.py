"""Story grouping: quality measures, group_auto on the test corpus, order invariance, the date rule, and the
directory and manifest groupers."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import random
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from summarize.batch.grouping import (
    UNGROUPED,
    _average_linkage,
    completeness,
    group_auto,
    group_by_directory,
    group_by_field,
    pairwise_scores,
    purity,
)
from summarize.models.report import Source
from summarize.sources.files import read_sources

CORPUS = Path(__file__).resolve().parent / "fixtures" / "corpus"
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def make(source_id: str, text: str = "Some text.", *, path: str | None = None, title: str | None = None, published: str | None = None) -> Source:
    return Source(
        id=source_id,
        path=path,
        title=title,
        text=text,
        published=dt.date.fromisoformat(published) if published else None,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


@pytest.fixture(scope="module")
def corpus() -> tuple[list[Source], dict[str, list[str]]]:
    sources, failed = read_sources([str(CORPUS)])
    assert not failed
    return sources, group_by_directory(sources, [CORPUS])


# --- quality measures ----------------------------------------------------------------------

GOLD = {"a": ["1", "2", "3"], "b": ["4", "5"]}


def test_perfect_grouping_scores_one() -> None:
    pred = {"x": ["4", "5"], "y": ["1", "2", "3"]}
    assert purity(pred, GOLD) == completeness(pred, GOLD) == 1.0
    assert pairwise_scores(pred, GOLD) == (1.0, 1.0, 1.0)


def test_one_big_group_is_complete_but_impure() -> None:
    pred = {"all": ["1", "2", "3", "4", "5"]}
    assert purity(pred, GOLD) == pytest.approx(3 / 5)
    assert completeness(pred, GOLD) == 1.0
    # 10 predicted pairs, of which 3 + 1 are gold pairs; every gold pair is found.
    assert pairwise_scores(pred, GOLD) == pytest.approx((4 / 10, 1.0, 2 * 0.4 / 1.4))


def test_singletons_are_pure_but_incomplete() -> None:
    pred = {str(i): [str(i)] for i in range(1, 6)}
    assert purity(pred, GOLD) == 1.0
    assert completeness(pred, GOLD) == pytest.approx(2 / 5)
    assert pairwise_scores(pred, GOLD) == (1.0, 0.0, 0.0)


def test_mixed_grouping_by_hand() -> None:
    pred = {"x": ["1", "2"], "y": ["3", "4", "5"]}
    # x's majority is a (2 of 2), y's is b (2 of 3): 4 of 5 articles sit with their majority.
    assert purity(pred, GOLD) == pytest.approx(4 / 5)
    # a keeps 2 of 3 together, b keeps 2 of 2.
    assert completeness(pred, GOLD) == pytest.approx(4 / 5)
    # predicted pairs 1-2, 3-4, 3-5, 4-5; gold pairs 1-2, 1-3, 2-3, 4-5; shared 1-2 and 4-5.
    assert pairwise_scores(pred, GOLD) == pytest.approx((0.5, 0.5, 0.5))


def test_measures_refuse_mismatched_groupings() -> None:
    with pytest.raises(ValueError, match="different articles"):
        purity({"x": ["1", "2", "3", "4"]}, GOLD)
    with pytest.raises(ValueError, match="listed twice"):
        completeness({"x": ["1", "2", "3"], "y": ["3", "4", "5"]}, GOLD)


# --- group_auto on the corpus ------------------------------------------------------------------


def test_corpus_is_big_and_hard_enough(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, gold = corpus
    assert len(gold) >= 6 and all(len(ids) >= 5 for ids in gold.values())
    for source in sources:
        assert source.title and source.outlet and source.published and source.language == "en"
        assert 60 <= len(source.text.split()) <= 150, source.id


def test_group_auto_on_corpus(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, gold = corpus
    pred = group_auto(sources)
    # Measured: purity 1.000, completeness 0.979, pairwise F1 0.980 (one June strike article split off).
    assert purity(pred, gold) >= 0.9
    assert completeness(pred, gold) >= 0.9
    assert pairwise_scores(pred, gold).f1 >= 0.9
    assert sorted(i for ids in pred.values() for i in ids) == sorted(s.id for s in sources)
    assert all(SLUG.fullmatch(label) for label in pred)
    assert all(ids == sorted(ids) for ids in pred.values())


def test_small_batches_of_two_stories(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    # Batches of a few stories are the usual case, and document frequencies are least reliable there.
    sources, gold = corpus
    by_id = {s.id: s for s in sources}
    for pair in itertools.combinations(sorted(gold), 2):
        pair_gold = {story: gold[story] for story in pair}
        pred = group_auto([by_id[i] for ids in pair_gold.values() for i in ids])
        assert purity(pred, pair_gold) >= 0.9, pair
        assert completeness(pred, pair_gold) >= 0.9, pair


def test_labels_name_the_story(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, _ = corpus
    pred = group_auto(sources)
    label_of = {i: label for label, ids in pred.items() for i in ids}
    assert "harrow" in label_of["regional-seismology-centre-mar21"] or "earthquake" in label_of["regional-seismology-centre-mar21"]
    assert "morrow" in label_of["maritime-safety-watch-apr19"] or "ferry" in label_of["maritime-safety-watch-apr19"]


def test_group_auto_ignores_input_order(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, _ = corpus
    expected = list(group_auto(sources).items())
    for seed in range(5):
        shuffled = list(sources)
        random.Random(seed).shuffle(shuffled)
        assert list(group_auto(shuffled).items()) == expected


def test_far_apart_dates_split_otherwise_similar_articles(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, gold = corpus
    story = [s for s in sources if s.id in gold["kestrel-valley-floods"]]
    assert story[0].published is not None
    later = [s.model_copy(update={"id": f"{s.id}-again", "published": s.published + dt.timedelta(days=60)}) for s in story if s.published]
    split = group_auto(story + later)
    assert sorted(split.values()) == sorted([sorted(s.id for s in story), sorted(s.id for s in later)])
    # The same words give the same label; the second story gets a suffix.
    first, second = sorted(split)
    assert second == f"{first}-2"
    assert len(group_auto(story + later, max_days=None)) == 1
    undated = [s.model_copy(update={"published": None}) for s in later]
    assert len(group_auto(story + undated)) == 1


def test_date_rule_keeps_a_repeat_strike_apart(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, gold = corpus
    february, june = gold["corsand-dock-strike"], gold["corsand-dock-strike-june"]
    strikes = [s for s in sources if s.id in february + june]
    together = group_auto(strikes, max_days=None)
    assert any(set(ids) & set(february) and set(ids) & set(june) for ids in together.values())
    apart = group_auto(strikes)
    assert not any(set(ids) & set(february) and set(ids) & set(june) for ids in apart.values())


def test_group_auto_edge_cases() -> None:
    assert group_auto([]) == {}
    only = make("only", "Flood waters rose in Belloc overnight.", title="Belloc flood")
    [(label, ids)] = group_auto([only]).items()
    assert ids == ["only"] and SLUG.fullmatch(label)
    assert list(group_auto([make("nothing", "12 34 56")]).values()) == [["nothing"]]
    with pytest.raises(ValueError, match="unique"):
        group_auto([make("same"), make("same", "Other text.")])


def test_a_few_hundred_articles_group_quickly(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, _ = corpus
    batch = [
        s.model_copy(update={"id": f"{s.id}-{n}", "published": s.published + dt.timedelta(days=365 * n) if s.published else None})
        for n in range(7)
        for s in sources
    ]
    start = time.perf_counter()
    groups = group_auto(batch)
    assert time.perf_counter() - start < 10  # about 0.2 s on a 2-core machine
    assert sum(len(ids) for ids in groups.values()) == len(batch)


def _naive_average_linkage(sims: list[dict[int, float]], threshold: float) -> list[list[int]]:
    clusters = [[i] for i in range(len(sims))]
    while True:
        best: tuple[float, int, int] | None = None
        for a in range(len(clusters)):
            for b in range(a + 1, len(clusters)):
                average = sum(sims[i].get(j, 0.0) for i in clusters[a] for j in clusters[b]) / (len(clusters[a]) * len(clusters[b]))
                if average >= threshold and (best is None or average > best[0]):
                    best = (average, a, b)
        if best is None:
            return sorted(sorted(c) for c in clusters)
        _, a, b = best
        clusters[a] += clusters.pop(b)


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=1, max_value=9), st.integers(min_value=0, max_value=2**32 - 1), st.floats(min_value=0.05, max_value=0.6))
def test_nearest_neighbour_chain_matches_naive_average_linkage(n: int, seed: int, threshold: float) -> None:
    rng = random.Random(seed)
    sims: list[dict[int, float]] = [{} for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if rng.random() < 0.7:  # missing entries are similarity 0, as for far-apart dates
                sims[i][j] = sims[j][i] = rng.random()
    assert _average_linkage(sims, threshold) == _naive_average_linkage(sims, threshold)


# --- directory and manifest groupers -------------------------------------------------------------


def test_group_by_directory(tmp_path: Path) -> None:
    root, other = tmp_path / "news", tmp_path / "other"
    sources = [
        make("a1", path=str(root / "aleppo" / "a1.txt")),
        make("a2", path=str(root / "aleppo" / "day2" / "a2.txt")),  # deeper files stay in their top sub-directory
        make("f1", path=str(root / "floods" / "f1.txt")),
        make("top", path=str(root / "top.txt")),  # directly in the root: a story named after the root
        make("loose", path=str(other / "loose.txt")),  # under no root: its parent directory
        make("stdin", path="-"),
        make("nopath"),
    ]
    assert group_by_directory(sources, [root]) == {
        "aleppo": ["a1", "a2"],
        "floods": ["f1"],
        "news": ["top"],
        "other": ["loose"],
        UNGROUPED: ["nopath", "stdin"],
    }


def test_group_by_directory_nested_roots_and_clashing_names(tmp_path: Path) -> None:
    sources = [
        make("x", path=str(tmp_path / "one" / "floods" / "x.txt")),
        make("y", path=str(tmp_path / "two" / "floods" / "y.txt")),
        make("z", path=str(tmp_path / "one" / "floods" / "week1" / "z.txt")),
    ]
    # Different directories with one name stay apart, numbered in path order.
    assert group_by_directory(sources, [tmp_path / "one", tmp_path / "two"]) == {"floods": ["x", "z"], "floods-2": ["y"]}
    # The deepest root that holds a file decides.
    assert group_by_directory(sources, [tmp_path, tmp_path / "one" / "floods"]) == {"floods": ["x"], "two": ["y"], "week1": ["z"]}


def test_group_by_directory_on_the_corpus_with_relative_paths(corpus: tuple[list[Source], dict[str, list[str]]], monkeypatch: pytest.MonkeyPatch) -> None:
    _, gold = corpus
    monkeypatch.chdir(CORPUS.parent)
    sources, _ = read_sources(["corpus"])
    assert group_by_directory(sources, ["corpus"]) == gold
    assert len(gold) == len(list(CORPUS.iterdir()))


def test_group_by_field(corpus: tuple[list[Source], dict[str, list[str]]]) -> None:
    sources, gold = corpus
    floods = gold["kestrel-valley-floods"]
    story_of = {floods[0]: "Kestrel Valley floods", floods[1]: "kestrel-valley-floods ", floods[2]: "  ", "not-in-batch": "elsewhere"}
    picked = [s for s in sources if s.id in floods[:3] + gold["harrow-earthquake"]]
    groups = group_by_field(picked, story_of)
    # Spellings with one slug are one story; the blank and the unlabelled sources are grouped automatically.
    assert groups["kestrel-valley-floods"] == sorted(floods[:2])
    auto = {label: ids for label, ids in groups.items() if label != "kestrel-valley-floods"}
    assert sorted(i for ids in auto.values() for i in ids) == sorted([floods[2], *gold["harrow-earthquake"]])
    assert sorted(gold["harrow-earthquake"]) in auto.values()
    assert group_by_field([], {}) == {}


def test_group_by_field_keeps_manifest_labels_apart_from_automatic_ones() -> None:
    sources = [make("m", "Quake strikes Dunmere.", title="Dunmere quake"), make("u", "Quake strikes Dunmere again.", title="Dunmere quake")]
    auto_label = next(iter(group_auto(sources[1:])))
    groups = group_by_field(sources, {"m": auto_label})
    assert groups == {auto_label: ["m"], f"{auto_label}-2": ["u"]}
