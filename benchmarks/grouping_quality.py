"""Measure ``--group auto`` (summarize.grouping.group_auto) on the test corpus and time it on large batches.

The corpus is ``tests/fixtures/corpus/<story>/<article>.txt``; the gold story of an article is its directory.
Prints purity, completeness, pairwise precision/recall/F1, predicted vs gold story counts, the misplaced articles,
a threshold sweep, ablations, scores on every sub-batch of 1-3 stories, and the runtime on the corpus and on synthetic batches of 1,000 and 2,000 articles
(corpus articles with their sentences shuffled, new ids, and dates moved by a year per copy so that each copy is its
own set of stories). Writes everything to ``benchmarks/results/grouping_quality.json``.

    python benchmarks/grouping_quality.py
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from summarize.batch import grouping
from summarize.batch.grouping import completeness, group_auto, group_by_directory, pairwise_scores, purity
from summarize.models.report import Source
from summarize.sources.files import read_sources

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
RESULTS = ROOT / "benchmarks" / "results" / "grouping_quality.json"
SWEEP = [round(0.05 + 0.01 * i, 2) for i in range(16)]
Groups = dict[str, list[str]]


def scores(pred: Groups, gold: Groups) -> dict[str, Any]:
    pairs = pairwise_scores(pred, gold)
    return {
        "purity": round(purity(pred, gold), 4),
        "completeness": round(completeness(pred, gold), 4),
        "pairwise_precision": round(pairs.precision, 4),
        "pairwise_recall": round(pairs.recall, 4),
        "pairwise_f1": round(pairs.f1, 4),
        "predicted_stories": len(pred),
        "gold_stories": len(gold),
    }


def timed(run: Callable[[], Groups], repeat: int) -> tuple[Groups, float]:
    times, result = [], {}
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return result, statistics.median(times)


def misplaced(pred: Groups, gold: Groups) -> list[str]:
    """Articles outside their predicted group's majority story, and groups that hold a minority of their story."""
    story_of = {i: story for story, ids in gold.items() for i in ids}
    notes = []
    for label, ids in pred.items():
        majority, _ = Counter(story_of[i] for i in ids).most_common(1)[0]
        notes += [f"{i} ({story_of[i]}) grouped with {majority} as {label!r}" for i in ids if story_of[i] != majority]
        if len(ids) < len(gold[majority]) and all(story_of[i] == majority for i in ids):
            notes.append(f"{majority} split: {len(ids)} of {len(gold[majority])} in {label!r}")
    return notes


def synthetic(sources: list[Source], gold: Groups, size: int, *, spread_days: int, seed: int = 7) -> tuple[list[Source], Groups]:
    """Copies of the corpus with shuffled sentences, new ids and dates moved by ``spread_days`` per copy."""
    rng = random.Random(seed)
    story_of = {i: story for story, ids in gold.items() for i in ids}
    batch: list[Source] = []
    batch_gold: Groups = {}
    copy = 0
    while len(batch) < size:
        for source in sources[: size - len(batch)]:
            sentences = re.split(r"(?<=[.!?])\s+", source.text)
            rng.shuffle(sentences)
            text = " ".join(sentences)
            published = source.published + dt.timedelta(days=spread_days * copy) if source.published else None
            new_id = f"{source.id}-c{copy:02d}"
            batch.append(source.model_copy(update={"id": new_id, "text": text, "published": published, "sha256": hashlib.sha256(text.encode()).hexdigest()}))
            batch_gold.setdefault(f"{story_of[source.id]}-c{copy:02d}" if spread_days else story_of[source.id], []).append(new_id)
        copy += 1
    rng.shuffle(batch)
    return batch, batch_gold


def sub_batches(sources: list[Source], gold: Groups) -> list[dict[str, Any]]:
    """Every batch of 1, 2 and 3 whole corpus stories, grouped alone: small batches are the usual case."""
    by_id = {s.id: s for s in sources}
    rows = []
    for k in (1, 2, 3):
        results = []
        for stories in itertools.combinations(sorted(gold), k):
            batch_gold = {story: gold[story] for story in stories}
            pred = group_auto([by_id[i] for ids in batch_gold.values() for i in ids])
            results.append((purity(pred, batch_gold), completeness(pred, batch_gold)))
        rows.append(
            {
                "stories_per_batch": k,
                "batches": len(results),
                "mean_purity": round(statistics.mean(p for p, _ in results), 4),
                "mean_completeness": round(statistics.mean(c for _, c in results), 4),
                "min_purity": round(min(p for p, _ in results), 4),
                "min_completeness": round(min(c for _, c in results), 4),
            }
        )
    return rows


def ablation(name: str, value: object, sources: list[Source], gold: Groups) -> dict[str, Any]:
    saved = getattr(grouping, name)
    setattr(grouping, name, value)
    try:
        return scores(group_auto(sources), gold)
    finally:
        setattr(grouping, name, saved)


def main() -> int:
    sources, failed = read_sources([str(CORPUS)])
    if failed:
        print("\n".join(f"cannot read {f.item}: {f.message}" for f in failed), file=sys.stderr)
        return 2
    gold = group_by_directory(sources, [CORPUS])
    pred, corpus_seconds = timed(lambda: group_auto(sources), repeat=5)
    result: dict[str, Any] = {
        "corpus": str(CORPUS.relative_to(ROOT)),
        "articles": len(sources),
        "defaults": {
            "threshold": grouping.DEFAULT_THRESHOLD,
            "max_days": grouping.DEFAULT_MAX_DAYS,
            "entity_boost": grouping.ENTITY_BOOST,
            "title_weight": grouping.TITLE_WEIGHT,
        },
        "scores": scores(pred, gold),
        "runtime_seconds": round(corpus_seconds, 4),
        "predicted": pred,
        "errors": misplaced(pred, gold),
        "sweep": [{"threshold": t, **scores(group_auto(sources, threshold=t), gold)} for t in SWEEP],
        "ablations": {
            "no date rule (max_days=None)": scores(group_auto(sources, max_days=None), gold),
            "no name boost (ENTITY_BOOST=1)": ablation("ENTITY_BOOST", 1.0, sources, gold),
            "stronger name boost (ENTITY_BOOST=1.5)": ablation("ENTITY_BOOST", 1.5, sources, gold),
            "title counted once (TITLE_WEIGHT=1)": ablation("TITLE_WEIGHT", 1, sources, gold),
        },
        "sub_batches": sub_batches(sources, gold),
        "synthetic": [],
        "environment": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
    }
    for size, spread in ((1000, 365), (2000, 365), (1000, 0)):
        batch, batch_gold = synthetic(sources, gold, size, spread_days=spread)
        batch_pred, seconds = timed(functools.partial(group_auto, batch), repeat=3 if size <= 1000 else 1)
        entry = {"articles": size, "dates_moved_per_copy_days": spread, "runtime_seconds": round(seconds, 3)}
        # With dates left alone every copy of a story is the same story, so only the timing means anything.
        result["synthetic"].append(entry | ({"scores": scores(batch_pred, batch_gold)} if spread else {}))

    s = result["scores"]
    print(f"corpus: {len(sources)} articles, {s['gold_stories']} gold stories, {s['predicted_stories']} predicted")
    print(f"purity {s['purity']:.3f}  completeness {s['completeness']:.3f}")
    print(f"pairwise precision {s['pairwise_precision']:.3f}  recall {s['pairwise_recall']:.3f}  F1 {s['pairwise_f1']:.3f}")
    print(f"runtime {corpus_seconds * 1000:.1f} ms (median of 5)")
    for note in result["errors"]:
        print(f"  - {note}")
    print("threshold sweep (purity / completeness / pairwise F1 / groups):")
    for row in result["sweep"]:
        print(f"  {row['threshold']:.2f}  {row['purity']:.3f} / {row['completeness']:.3f} / {row['pairwise_f1']:.3f} / {row['predicted_stories']}")
    for name, row in result["ablations"].items():
        print(f"ablation {name}: purity {row['purity']:.3f} completeness {row['completeness']:.3f} F1 {row['pairwise_f1']:.3f}")
    for row in result["sub_batches"]:
        print(
            f"batches of {row['stories_per_batch']} stories ({row['batches']}): purity mean {row['mean_purity']:.3f} min {row['min_purity']:.3f}, "
            f"completeness mean {row['mean_completeness']:.3f} min {row['min_completeness']:.3f}"
        )
    for entry in result["synthetic"]:
        extra = (
            f", purity {entry['scores']['purity']:.3f} completeness {entry['scores']['completeness']:.3f}"
            if "scores" in entry
            else " (all copies in one date window)"
        )
        print(f"synthetic {entry['articles']} articles: {entry['runtime_seconds']:.2f} s{extra}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
