"""What evaluation reads and writes: the gold annotation of one story, the results, and their Markdown.

A gold file (``GoldStory``, JSON) says what a correct run on a story's articles should produce:
the figures with scope and claimant, the genuine disagreements, the pairs that look like
disagreements but are not comparable, loaded terms and who used them, key facts per source,
and what a briefing must not state as fact. Names are matched through the alias table
(``summarize/data/aliases.toml`` plus ``--aliases``), so gold may use any known alias; a
statement an outlet makes in its own voice is claimed by ``"<outlet> (own reporting)"``, as
reconcile names it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from summarize.errors import InputError
from summarize.models.vocab import Basis, ClaimAspect, FigureStatus, Metric, Population


class _Gold(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldScope(_Gold):
    metric: Metric = Field(description="What is counted, as in FigureClaim.metric.")
    population: Population = Field(description="Whose people are counted, as in FigureClaim.population.")
    party: str | None = Field(default=None, description="For combatants: the party whose fighters are counted (canonical name or alias); null otherwise.")


class GoldAmount(_Gold):
    value: int | None = Field(default=None, description="The number when one number is given.")
    low: int | None = Field(default=None, description="Lower bound of a range.")
    high: int | None = Field(default=None, description="Upper bound of a range.")
    vague_word: str | None = Field(default=None, description="The vague word ('dozens') when the text gives no number.")

    @model_validator(mode="after")
    def _has_amount(self) -> GoldAmount:
        if (self.value, self.low, self.high, self.vague_word) == (None, None, None, None):
            raise ValueError("give value, low/high or vague_word")
        return self


class GoldFigure(GoldAmount, GoldScope):
    """One claimant's number in one scope; outlets repeating it are listed in source_ids, not repeated."""

    claimant: str = Field(description="Who gave the number (canonical name or alias), not the outlet that carried it.")
    source_ids: list[str] = Field(min_length=1, description="Every source that carries this figure.")
    incident: str | None = Field(
        default=None, description="Label of the other event this figure counts (an earlier disaster, a war's total); null for the story's main event."
    )
    basis: Basis = Field(default="counted", description="How the number was arrived at, as in FigureClaim.basis.")
    status: FigureStatus = Field(default="current", description="Whether the source says it was revised, withdrawn or denied.")
    note: str | None = None


class GoldDisagreement(GoldScope):
    """Claimants whose figures for one scope genuinely conflict."""

    claimants: list[str] = Field(min_length=2, description="Every pair of these claimants is a conflict in this scope.")
    note: str | None = None


class GoldFactualDisagreement(_Gold):
    """Claimants who give conflicting accounts of one event's cause or responsibility."""

    aspect: ClaimAspect
    claimants: list[str] = Field(min_length=2)
    note: str | None = None


class FigureRef(GoldAmount):
    """One side of a not-comparable pair: a claimant's stated figure."""

    claimant: str


class GoldNotComparable(_Gold):
    """Two figures that look like a disagreement but count different things or different moments."""

    a: FigureRef
    b: FigureRef
    reason: str


class GoldLoadedTerm(_Gold):
    term: str = Field(description="The loaded word or phrase as the speaker used it.")
    used_by: list[str] = Field(min_length=1, description="Canonical names (or aliases) of the speakers who used it.")


class GoldKeyFact(_Gold):
    """An atomic statement (not a figure) that a source reports and a faithful run keeps."""

    text: str = Field(description="The fact as one attributed sentence, close to the source's wording.")
    source_ids: list[str] = Field(min_length=1)


class MustNotState(_Gold):
    """A statement a briefing must not make in its own voice (text inside quotation marks is ignored)."""

    pattern: str = Field(description="Python regular expression, matched case-insensitively against each sentence outside quotations.")
    why: str
    unless_attributed_to: list[str] = Field(
        default_factory=list, description="Claimants whose naming in the sentence makes it a report of their claim rather than a statement of fact."
    )

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        return pattern


class GoldStory(_Gold):
    """Gold annotation of one story: what a correct extraction, reconciliation and briefing contain."""

    story: str = Field(description="Story id; live runs with --cassettes replay <story>-brief.yaml.")
    description: str | None = None
    inputs: str | None = Field(default=None, description="Directory of the story's articles, relative to this file; needed for live runs.")
    aliases: list[str] = Field(default_factory=list, description="Bundled alias packs the story needs (e.g. 'syria'), as its aliases.toml includes.")
    source_ids: list[str] = Field(min_length=1, description="Ids of the story's sources (file stems).")
    figures: list[GoldFigure]
    disagreements: list[GoldDisagreement]
    factual_disagreements: list[GoldFactualDisagreement] = Field(default_factory=list)
    not_comparable: list[GoldNotComparable]
    loaded_terms: list[GoldLoadedTerm]
    key_facts: list[GoldKeyFact]
    must_not_state: list[MustNotState]

    @model_validator(mode="after")
    def _known_sources(self) -> GoldStory:
        named = {s for ids in [*(f.source_ids for f in self.figures), *(k.source_ids for k in self.key_facts)] for s in ids}
        if unknown := sorted(named - set(self.source_ids)):
            raise ValueError(f"source ids not in source_ids: {', '.join(unknown)}")
        return self


def load_gold(path: Path) -> GoldStory:
    try:
        return GoldStory.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read gold file: {exc.strerror}", item=str(path)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"not a gold file: {'.'.join(map(str, first['loc']))}: {first['msg']}", item=str(path)) from None


# --- what eval writes ----------------------------------------------------------------------------


class StoryEval(_Gold):
    story: str
    mode: Literal["reports", "briefing"] = Field(description="'reports': extraction output only; 'briefing': a briefing and the reports inside it.")
    model: str | None = Field(description="Model named in the run's provenance.")
    prompts: list[str] = Field(description="Prompt name, version and sha256 prefix from the run's provenance.")
    metrics: dict[str, float | None] = Field(description="Metric name -> value; null when the mode cannot measure it.")
    coverage: dict[str, float | None] = Field(description="Source id -> share of its gold items covered; null for a source with none.")
    details: dict[str, list[str]] = Field(description="What the run missed or got wrong, by topic (figures, disagreements, coverage...).")


class EvalRun(_Gold):
    stories: list[StoryEval]
    overall: dict[str, float | None] = Field(description="Shares averaged over stories (macro), counts summed.")
    not_covered: list[str] = Field(default_factory=list, description="Gold stories given but not scored: no saved run held any of their sources.")


def load_eval(path: Path) -> EvalRun:
    try:
        return EvalRun.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read eval results: {exc.strerror}", item=str(path)) from None
    except ValidationError as exc:
        raise InputError(f"not eval.json from `summarize eval --out`: {exc.errors()[0]['msg']}", item=str(path)) from None


# --- metric registry and Markdown -----------------------------------------------------------------


@dataclass(frozen=True)
class MetricDef:
    name: str
    higher_is_better: bool
    is_count: bool
    meaning: str


METRICS = (
    MetricDef("figure_precision", True, False, "run's figures (claimant, scope, value) that are in the gold"),
    MetricDef("figure_recall", True, False, "gold figures the run extracted"),
    MetricDef("figure_f1", True, False, "harmonic mean of figure precision and recall"),
    MetricDef("disagreement_recall", True, False, "gold conflicts (scope, claimant pair) among the run's numeric disagreements"),
    MetricDef("disagreement_precision", True, False, "run's conflicts that the gold calls genuine"),
    MetricDef("false_comparisons", False, True, "pairs set against each other whose gold figures count different incidents, bases or statuses"),
    MetricDef("factual_disagreement_recall", True, False, "gold conflicts over an event's cause or responsibility among the run's factual disagreements"),
    MetricDef("not_comparable_flagged", True, False, "gold look-alike pairs the run lists as not comparable"),
    MetricDef("not_comparable_conflated", False, True, "gold look-alike pairs the run sets against each other"),
    MetricDef("terminology_recall", True, False, "gold loaded terms found with their speaker"),
    MetricDef("quotes_verbatim", True, False, "evidence quotes equal to the source text at their offsets"),
    MetricDef("numbers_traceable", True, False, "numbers in the model's sentences that trace to a cited figure (briefing)"),
    MetricDef("unattributed_loaded_terms", False, True, "loaded terms outside an attributed quote (briefing)"),
    MetricDef("must_not_state_violations", False, True, "sentences stating what the gold forbids (briefing)"),
    MetricDef("sentences_removed", False, True, "sentences the gates removed (briefing)"),
    MetricDef("coverage_min", True, False, "lowest per-source share of gold figures and key facts kept (cited, for a briefing)"),
    MetricDef("order_invariance", True, False, "shuffled report orders giving identical tables and claim table"),
)
BY_NAME = {m.name: m for m in METRICS}


def overall(stories: Sequence[StoryEval]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for metric in METRICS:
        values = [v for s in stories if (v := s.metrics.get(metric.name)) is not None]
        out[metric.name] = None if not values else sum(values) if metric.is_count else sum(values) / len(values)
    return out


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:g}" if BY_NAME[name].is_count else f"{value:.2f}"


def eval_markdown(run: EvalRun) -> str:
    lines = ["# Evaluation against gold", "", "| metric | " + " | ".join(s.story for s in run.stories) + " | overall |", "|---" * (len(run.stories) + 2) + "|"]
    for m in METRICS:
        lines.append(f"| {m.name} | " + " | ".join(_fmt(m.name, s.metrics.get(m.name)) for s in run.stories) + f" | {_fmt(m.name, run.overall.get(m.name))} |")
    lines += ["", "Shares run 0-1 (overall: mean over stories); counts are summed. " + "; ".join(f"{m.name}: {m.meaning}" for m in METRICS) + "."]
    if run.not_covered:
        lines += ["", f"Not scored (no saved run holds their sources): {', '.join(run.not_covered)}."]
    for s in run.stories:
        by_source = " · ".join(f"{k} {_fmt('coverage_min', v)}" for k, v in s.coverage.items())
        lines += ["", f"## {s.story} ({s.mode}; model {s.model or 'unknown'})", "", f"coverage by source: {by_source}"]
        for key, items in s.details.items():
            lines += ["", f"{key}:", *(f"- {item}" for item in items)]
    return "\n".join(lines) + "\n"


def _delta(name: str, a: float | None, b: float | None) -> tuple[str, str]:
    if a is None or b is None:
        return "n/a", ""
    diff = b - a
    if abs(diff) < 1e-9:
        return "0", "same"
    better = (diff > 0) == BY_NAME[name].higher_is_better
    return (f"{diff:+g}" if BY_NAME[name].is_count else f"{diff:+.2f}"), ("better" if better else "worse")


def unpaired_stories(a: EvalRun, b: EvalRun) -> tuple[list[str], list[str]]:
    """Stories only in A and only in B: their overall rows would average different things."""
    names_a, names_b = {s.story for s in a.stories}, {s.story for s in b.stories}
    return sorted(names_a - names_b), sorted(names_b - names_a)


def compare_markdown(a: EvalRun, b: EvalRun, label_a: str, label_b: str) -> str:
    def who(run: EvalRun) -> str:
        models = sorted({s.model or "unknown" for s in run.stories})
        prompts = sorted({p for s in run.stories for p in s.prompts})
        return f"model {', '.join(models)}; prompts {', '.join(prompts) or 'unknown'}"

    lines = ["# Comparison", "", f"- A: {label_a} ({who(a)})", f"- B: {label_b} ({who(b)})"]
    stories_a, stories_b = {s.story: s for s in a.stories}, {s.story: s for s in b.stories}
    only_a, only_b = unpaired_stories(a, b)
    shared = [k for k in stories_a if k in stories_b]
    if only_a or only_b:
        # the saved overall rows average different story sets; compare the stories both runs scored
        title = f"overall, over the {len(shared)} stor{'y' if len(shared) == 1 else 'ies'} in both ({', '.join(shared) or 'none'})"
        tables = [(title, overall([stories_a[k] for k in shared]), overall([stories_b[k] for k in shared]))]
    else:
        tables = [("overall", a.overall, b.overall)]
    tables += [(k, stories_a[k].metrics, stories_b[k].metrics) for k in shared]
    for title, ma, mb in tables:
        lines += ["", f"## {title}", "", "| metric | A | B | B − A | |", "|---|---|---|---|---|"]
        for m in METRICS:
            diff, verdict = _delta(m.name, ma.get(m.name), mb.get(m.name))
            lines.append(f"| {m.name} | {_fmt(m.name, ma.get(m.name))} | {_fmt(m.name, mb.get(m.name))} | {diff} | {verdict} |")
    mismatched = [f"{k}: A is {stories_a[k].mode}, B is {stories_b[k].mode}" for k in shared if stories_a[k].mode != stories_b[k].mode]
    unpaired = [f"{x}: only in A" for x in only_a] + [f"{x}: only in B" for x in only_b]
    if mismatched or unpaired:
        lines += ["", "Not like for like:", *(f"- {x}" for x in mismatched + unpaired)]
    return "\n".join(lines) + "\n"
