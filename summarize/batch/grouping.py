"""Group a batch of articles into stories: by manifest field, by directory, or by content and date (``group_auto``).

``group_auto`` uses the batch alone, no model and no network:

* Text is the title (counted ``TITLE_WEIGHT`` times: headlines are dense in the words that name a story) plus the body,
  lower-cased, split on non-letters, without numbers (tolls change from report to report), words under three letters
  and a short stopword list (weekdays and months included); plural, -ing and -ed endings are stripped.
* Names weigh more: words capitalised in most of their mid-sentence uses across the batch get ``ENTITY_BOOST``, and
  each pair of adjacent capitalised words ("kestrel valley") is a term of its own. Two floods or two strikes share
  their common words; places and people tell them apart. The boost stays small because names also cross stories (the
  prime minister, a flooded province named in a resignation story): at 1.5 one such article changed story.
* TF-IDF over the batch, (1 + log tf) * (log((N + 1) / (df + 1)) + 1), L2-normalised; similarity is the cosine, set
  to 0 for two articles published more than ``max_days`` apart (an unknown date blocks nothing). N counts as at least
  ``IDF_MIN_BATCH`` (50): in a small batch document frequencies only count the batch's own stories, so a story's
  shared words would weigh as little as the commonest ones (five earthquake reports plus one flood report split in two).
* Average-linkage agglomerative clustering, stopped when no two groups average ``threshold``. On the corpus below,
  single linkage (connected components) chains stories through bridging articles (purity <= 0.81 wherever
  completeness >= 0.9). Complete linkage is perfect there too, but only at thresholds of 0.01-0.05, where any shared
  word is enough, and it can never form a story longer than ``max_days``. Average linkage needs real overlap, and as
  the date rule is soft for groups (a far-apart pair adds a 0 to the average) a longer story can still hold together
  through the reports in between.

Defaults ``threshold=0.11``, ``max_days=14``. On ``tests/fixtures/corpus`` (nine stories written to collide: two
floods a month apart, a dock strike and its repeat four months later, a teachers' strike, a resignation whose coverage
mentions the flood, an earthquake, a ferry disaster in the flooded country, ceasefire talks) every threshold from 0.08
to 0.14 keeps purity and completeness at or above 0.9; 0.11 is the middle of that range, not its best point. Without
the date rule the two dock strikes merge. ``benchmarks/grouping_quality.py`` prints the sweep and these ablations.
The values were set on short (60-150 word) articles.

Cost is O(n²) in time and memory (inverted index for the similarities, nearest-neighbour chain for the clustering):
about a second for 1,000 short articles, fine up to ~2,000. Output depends only on the set of sources, never on
their order: work is done in id order and ties break by id.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from summarize.models.report import Source
from summarize.sources.article import source_id_for

DEFAULT_THRESHOLD = 0.11
DEFAULT_MAX_DAYS = 14
ENTITY_BOOST = 1.25
TITLE_WEIGHT = 2
IDF_MIN_BATCH = 50
UNGROUPED = "ungrouped"
LABEL_TERMS = 3

_STOPWORD_TEXT = """
a about above after again against all also an and any are around as at be because been before being below between both but by can could did do does
during each even few for from further had has have having he her here hers him his how however i if in into is it its itself just last least like many
may me more most much must my near new next no nor not now of off on once one only or other our out over own per said same says she should since so
some still such than that the their them then there these they this those though three through to too two under until up upon very was we were what
when where which while who whom whose why will with within would yet you your monday tuesday wednesday thursday friday saturday sunday week weekend
day days year years month months told say according january february march april june july august september october november december
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SENTENCES = re.compile(r"(?<=[.!?:;\"”])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+")
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))


class PairScores(NamedTuple):
    precision: float
    recall: float
    f1: float


class _Token(NamedTuple):
    term: str
    surface: str
    capitalised: bool
    sentence_start: bool


def group_auto(sources: Sequence[Source], *, threshold: float = DEFAULT_THRESHOLD, max_days: int | None = DEFAULT_MAX_DAYS) -> dict[str, list[str]]:
    """Group sources into stories by content and publication date; return label -> sorted source ids.

    ``max_days=None`` turns the date rule off.
    """
    ordered = sorted(sources, key=lambda s: s.id)
    if len({s.id for s in ordered}) != len(ordered):
        raise ValueError("source ids must be unique to group them")
    if not ordered:
        return {}
    docs = [_tokens(s) for s in ordered]
    entities = _entities(docs)
    counts = [Counter(tok.term for tok in doc if _keep(tok)) for doc in docs]
    for doc, count in zip(docs, counts, strict=True):
        count.update(_name_pairs(doc))
    df = Counter(term for count in counts for term in count)
    size = max(len(ordered), IDF_MIN_BATCH)
    idf = {t: math.log((size + 1) / (n + 1)) + 1 for t, n in df.items()}
    vectors = [_vector(count, idf, entities) for count in counts]
    groups: dict[str, list[str]] = {}
    for cluster in _average_linkage(_similarities(vectors, ordered, max_days), threshold):
        groups[_unique(_label(cluster, ordered, docs, vectors), groups)] = sorted(ordered[i].id for i in cluster)
    return dict(sorted(groups.items()))


def group_by_directory(sources: Sequence[Source], roots: Iterable[str | os.PathLike[str]]) -> dict[str, list[str]]:
    """Story = the first sub-directory below the deepest given root that holds the file.

    Files directly in a root form a story named after the root; files under no root are grouped
    by their parent directory's name; sources with no path (standard input) go to ``ungrouped``.
    Labels are slugs; different directories with the same slug get -2, -3 in path order.
    """
    # On absolute, normalised path strings (os.path.abspath), not Path objects: a Path's parents cost ~15 us a file.
    bases = sorted({os.path.abspath(r) for r in roots}, key=lambda p: len(Path(p).parts), reverse=True)
    prefixes = [(b, b if b.endswith(os.sep) else b + os.sep) for b in bases]
    by_dir: dict[str | None, list[str]] = defaultdict(list)
    for source in sources:
        if source.path is None or source.path == "-":
            by_dir[None].append(source.id)
            continue
        path = os.path.abspath(source.path)
        parent = os.path.dirname(path)
        root = next(((b, prefix) for b, prefix in prefixes if path.startswith(prefix)), None)
        by_dir[parent if root is None or parent == root[0] else os.path.join(root[0], path[len(root[1]) :].split(os.sep, 1)[0])].append(source.id)
    groups: dict[str, list[str]] = {}
    for directory in sorted(by_dir, key=lambda d: (d is None, str(d))):
        base = UNGROUPED if directory is None else source_id_for(os.path.basename(directory) or directory)
        groups[_unique(base, groups)] = sorted(by_dir[directory])
    return dict(sorted(groups.items()))


def group_by_field(
    sources: Sequence[Source], story_of: Mapping[str, str], *, threshold: float = DEFAULT_THRESHOLD, max_days: int | None = DEFAULT_MAX_DAYS
) -> dict[str, list[str]]:
    """Group by a manifest's ``story`` field (``story_of``: source id -> story).

    Labels are slugged (two spellings with one slug are one story). Sources with no or an empty
    story are grouped among themselves by ``group_auto``, never folded into a named story, and
    an automatic label that clashes with a manifest one gets a -2 suffix.
    """
    named: dict[str, list[str]] = defaultdict(list)
    rest: list[Source] = []
    for source in sources:
        story = (story_of.get(source.id) or "").strip()
        if story:
            named[source_id_for(story)].append(source.id)
        else:
            rest.append(source)
    groups = {label: sorted(ids) for label, ids in named.items()}
    for label, ids in group_auto(rest, threshold=threshold, max_days=max_days).items():
        groups[_unique(label, groups)] = ids
    return dict(sorted(groups.items()))


# --- quality measures --------------------------------------------------------------------
# All three take {label: [ids]} for the prediction and the gold standard, over the same ids.


def purity(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]]) -> float:
    """Share of articles whose predicted group's majority gold story is their own: (1/N) Σ_pred max_gold |p ∩ g|."""
    table, n = _contingency(pred, gold)
    best: dict[str, int] = defaultdict(int)
    for (p, _), count in table.items():
        best[p] = max(best[p], count)
    return sum(best.values()) / n if n else 1.0


def completeness(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]]) -> float:
    """Inverse purity: for each gold story the largest share of it kept in one predicted group, weighted by size."""
    return purity(gold, pred)


def pairwise_scores(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]]) -> PairScores:
    """Over all pairs of articles: precision = same gold among same predicted, recall = the reverse."""
    table, _ = _contingency(pred, gold)
    both = sum(math.comb(c, 2) for c in table.values())
    in_pred = sum(math.comb(len(ids), 2) for ids in pred.values())
    in_gold = sum(math.comb(len(ids), 2) for ids in gold.values())
    # No pair to get wrong (all singletons) counts as perfect, not as undefined.
    precision = both / in_pred if in_pred else 1.0
    recall = both / in_gold if in_gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1)


# --- features ----------------------------------------------------------------------------


def _tokens(source: Source) -> list[_Token]:
    out: list[_Token] = []
    for part, repeat, title in ((source.title or "", TITLE_WEIGHT, True), (source.text, 1, False)):
        tokens = []
        for sentence in _SENTENCES.split(part):
            for i, match in enumerate(_WORD.finditer(sentence)):
                # Headlines may be in title case, so their capitals say nothing about names.
                tokens.append(_Token(_stem(match[0].lower()), match[0].lower(), match[0][0].isupper(), i == 0 or title))
        out.extend(tokens * repeat)
    return out


def _stem(word: str) -> str:
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4 and not word.endswith(("ss", "us", "is")):
            word = word[: -len(suffix)] + replacement
            break
    # "strike"/"striking"/"strikes" all end up as "strik".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def _keep(token: _Token) -> bool:
    return len(token.surface) >= 3 and token.surface not in _STOPWORDS


def _entities(docs: list[list[_Token]]) -> frozenset[str]:
    capitalised: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for doc in docs:
        for token in doc:
            if not token.sentence_start and _keep(token):
                seen[token.term] += 1
                capitalised[token.term] += token.capitalised
    return frozenset(t for t, n in seen.items() if 2 * capitalised[t] > n)


def _name_pairs(doc: list[_Token]) -> list[str]:
    return [f"{a.term} {b.term}" for a, b in itertools.pairwise(doc) if a.capitalised and b.capitalised and not b.sentence_start and _keep(a) and _keep(b)]


def _vector(count: Counter[str], idf: dict[str, float], entities: frozenset[str]) -> dict[str, float]:
    weights = {t: (1 + math.log(n)) * idf[t] * (ENTITY_BOOST if " " in t or t in entities else 1.0) for t, n in count.items()}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    return {t: w / norm for t, w in weights.items()}


def _similarities(vectors: list[dict[str, float]], sources: list[Source], max_days: int | None) -> list[dict[int, float]]:
    postings: dict[str, list[tuple[int, float]]] = defaultdict(list)  # term -> (earlier article, weight)
    sims: list[dict[int, float]] = [{} for _ in vectors]
    for i, vector in enumerate(vectors):
        row: dict[int, float] = defaultdict(float)
        for term, weight in vector.items():
            for j, other in postings[term]:
                row[j] += weight * other
            postings[term].append((i, weight))
        for j, value in row.items():
            a, b = sources[i].published, sources[j].published
            if max_days is None or a is None or b is None or abs((a - b).days) <= max_days:
                sims[i][j] = sims[j][i] = value
    return sims


# --- clustering and labels ---------------------------------------------------------------


def _average_linkage(sims: list[dict[int, float]], threshold: float) -> list[list[int]]:
    """Nearest-neighbour chain: exact for average linkage, O(n²) instead of the naive O(n³)."""
    members = {i: [i] for i in range(len(sims))}
    links = {i: dict(row) for i, row in enumerate(sims)}  # cluster -> {cluster: average similarity}
    done: list[list[int]] = []
    chain: list[int] = []
    while members:
        if not chain:
            chain.append(min(members))
        here = chain[-1]
        # Best partner: highest average, then the previous link of the chain, then the lowest id.
        previous = chain[-2] if len(chain) > 1 else None
        best = max(links[here].items(), key=lambda kv: (kv[1], kv[0] == previous, -kv[0]), default=None)
        if best is None or best[1] < threshold:
            # A merged pair's average with this group lies between its parts' averages, so a
            # group with no partner at the threshold now never gets one: it is final.
            done.append(sorted(members.pop(here)))
            for other in links.pop(here):
                del links[other][here]
            chain.pop()
            continue
        if best[0] != previous:
            chain.append(best[0])
            continue
        chain.pop()
        chain.pop()
        _merge(members, links, here, previous)
    return sorted(done)


def _merge(members: dict[int, list[int]], links: dict[int, dict[int, float]], a: int, b: int) -> None:
    size_a, size_b = len(members[a]), len(members[b])
    row_a, row_b = links.pop(a), links.pop(b)
    merged: dict[int, float] = {}
    for other in (row_a.keys() | row_b.keys()) - {a, b}:
        # Lance-Williams update for average linkage; a missing entry is a similarity of 0.
        merged[other] = (size_a * row_a.get(other, 0.0) + size_b * row_b.get(other, 0.0)) / (size_a + size_b)
        links[other].pop(a, None)
        links[other].pop(b, None)
        links[other][min(a, b)] = merged[other]
    links[min(a, b)] = merged
    joined = members.pop(a) + members.pop(b)
    members[min(a, b)] = joined


def _label(cluster: list[int], sources: list[Source], docs: list[list[_Token]], vectors: list[dict[str, float]]) -> str:
    """The most distinctive shared terms, in the order the group's earliest article uses them."""
    score: dict[str, float] = defaultdict(float)
    shared = Counter(t for i in cluster for t in vectors[i])
    for i in cluster:
        for term, weight in vectors[i].items():
            score[term] += weight * shared[term] / len(cluster)
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    for i in cluster:
        for token in docs[i]:
            surface[token.term][token.surface] += 1
    chosen: list[str] = []
    for term, _ in sorted(score.items(), key=lambda kv: (-kv[1], kv[0])):
        if not set(term.split()) & {w for c in chosen for w in c.split()}:
            chosen.append(term)
        if len(chosen) == LABEL_TERMS:
            break
    earliest = min(cluster, key=lambda i: (sources[i].published or dt.date.max, sources[i].id))
    order = {token.term: n for n, token in reversed(list(enumerate(docs[earliest])))}
    rank = {t: n for n, t in enumerate(chosen)}
    chosen.sort(key=lambda t: (order.get(t.split()[0], len(order)), rank[t]))
    words = [max(surface[w].items(), key=lambda kv: (kv[1], kv[0]))[0] for term in chosen for w in term.split()]
    return source_id_for("-".join(words)) if words else sources[cluster[0]].id


def _unique(label: str, taken: Mapping[str, object]) -> str:
    candidate, n = label, 1
    while candidate in taken:
        n += 1
        candidate = f"{label}-{n}"
    return candidate


def _contingency(pred: Mapping[str, Sequence[str]], gold: Mapping[str, Sequence[str]]) -> tuple[Counter[tuple[str, str]], int]:
    in_pred, in_gold = _assignment(pred), _assignment(gold)
    if in_pred.keys() != in_gold.keys():
        raise ValueError(f"the two groupings cover different articles: {sorted(in_pred.keys() ^ in_gold.keys())[:5]}")
    return Counter((in_pred[i], in_gold[i]) for i in in_pred), len(in_pred)


def _assignment(groups: Mapping[str, Sequence[str]]) -> dict[str, str]:
    label_of: dict[str, str] = {}
    for label, ids in groups.items():
        for source_id in ids:
            if source_id in label_of:
                raise ValueError(f"{source_id!r} is listed twice (in {label_of[source_id]!r} and {label!r})")
            label_of[source_id] = label
    return label_of
