"""Extract one source report per article: prompt, call, verify against the text, ground.

A model answer is checked item by item against the article (quotes, numbers, references,
types). Problems go back to the model as a re-ask; when the budget is spent, the items that
still fail are dropped and listed in the report's ``dropped`` and ``checks``, never kept.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from summarize import __version__
from summarize.config import Settings
from summarize.errors import EndpointError, SummarizeError
from summarize.extract.budget import chunk_chars
from summarize.extract.chunk import dedupe_actors, dedupe_claims, dedupe_events, dedupe_figures, split_text
from summarize.extract.rules import NAMED_FIELDS, NUMBER_CODES, Code, DraftCheck, Kind, Problem, check_draft
from summarize.ground.dates import resolve_date
from summarize.ground.injection import instruction_spans
from summarize.llm.client import CallLabel, verifying
from summarize.llm.prompts import Prompt, fence, load_prompt
from summarize.llm.protocol import StructuredModel
from summarize.models.draft import ExtractionDraft
from summarize.models.report import (
    Actor,
    CheckResult,
    Claim,
    Dropped,
    EventRecord,
    Evidence,
    FailedItem,
    FigureClaim,
    Location,
    Provenance,
    Source,
    SourceReport,
    Usage,
)
from summarize.models.vocab import DISORDER_TYPE
from summarize.words import counted

log = logging.getLogger(__name__)


# --- verification and grounding: drafts to records ------------------------------------------


def verify_draft(draft: ExtractionDraft, text: str) -> list[str]:
    """Every problem in ``draft`` as a sentence the model can act on."""
    return check_draft(draft, text).messages()


@dataclass(frozen=True)
class _Drop:
    code: Code  # the rule the item failed, which the checks classify it by
    record: Dropped


@dataclass
class _Grounded:
    figures: list[FigureClaim] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    actors: list[Actor] = field(default_factory=list)
    drops: list[_Drop] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)

    @property
    def dropped(self) -> list[Dropped]:
        return [d.record for d in self.drops]

    def drop(self, problem: Problem, item: object, kind: Kind | None = None) -> None:
        self.drops.append(_Drop(problem.code, Dropped(kind=kind or problem.kind, reason=problem.reason, item=_dump(item))))

    def unnamed(self, problems: list[Problem], names: list[str], about: dict[str, object], field: str) -> list[str]:
        """``names`` without those ``problems`` are about (by part), each recorded as a dropped actor: ``about`` and the name as ``field``."""
        by_part = {p.part: p for p in problems}
        for k, name in enumerate(names):
            if k in by_part:
                self.drop(by_part[k], about | {field: name}, "actor")
        return [name for k, name in enumerate(names) if k not in by_part]


def ground_draft(draft: ExtractionDraft, source: Source, *, numbered: tuple[int, int, int] = (0, 0, 0), check: DraftCheck | None = None) -> _Grounded:
    """Turn the items of ``draft`` that pass ``check_draft`` into records; drop and record the rest.

    A failing loaded term or figure reference is left out of its item; a place, an event's actor, an
    actor's alias or a figure's place or time window the article does not name drops only that.
    ``numbered`` is how many figures, claims and events earlier chunks produced,
    so ids stay unique. ``check``: the ``check_draft`` of this very draft against ``source``, when the validator made it."""
    n_fig, n_claim, n_event = numbered
    out = _Grounded()
    text, sid, outlet = source.text, source.id, source.outlet or source.id
    check = check or check_draft(draft, text, source_id=sid)

    def evidence(kind: Kind, index: int, item: object) -> Evidence | None:
        """The item's aligned quote; None, with the item dropped, when it did not align."""
        if failed := check.of(kind, index, "injected", "quote_not_found"):
            out.drop(failed[0], item)
            return None
        out.evidence.append(check.evidence[(kind, index)])
        return check.evidence[(kind, index)]

    fig_ids: dict[str, str] = {}
    for i, fig in enumerate(draft.figures):
        ev = evidence("figure", i, fig)
        if ev is None:
            continue
        if failed := check.of("figure", i, "no_number", "number_not_in_quote", "claimant_not_named"):
            out.drop(failed[0], fig)
            continue
        if fig.id in fig_ids:  # which copy of a duplicated id is kept is grounding's choice: the first that grounds
            duplicate = check.of("figure", i, "duplicate_id") or [Problem("figure", i, "duplicate_id", "", f"duplicate figure id {fig.id!r}")]
            out.drop(duplicate[0], fig)
            continue
        fig_ids[fig.id] = f"{sid}:f{n_fig + len(fig_ids) + 1}"
        nulled: dict[str, object] = {}  # a place or time window the article does not name
        for p in check.of("figure", i, "place_not_named", "time_not_in_text", "name_not_in_text", "basis_not_a_count"):
            name = {"place_not_named": "place", "time_not_in_text": "time_window", "basis_not_a_count": "basis"}.get(p.code) or NAMED_FIELDS[p.part or 0]
            nulled[name] = "projected" if p.code == "basis_not_a_count" else None  # a conditional wording is read as what it is
            out.drop(p, {"figure": fig.id, name: getattr(fig, name)})
        out.figures.append(
            FigureClaim(
                id=fig_ids[fig.id],
                **(fig.model_dump(exclude={"id", "quote"}) | nulled),
                reported_by=outlet,
                source_id=sid,
                evidence=ev,
            )
        )
    claim_events: list[str | None] = []  # each kept claim's draft event id, resolved once events have record ids
    for n, claim in enumerate(draft.claims):
        ev = evidence("claim", n, claim)
        if ev is None:
            continue
        if failed := check.of("claim", n, "claimant_not_named"):
            out.drop(failed[0], claim)
            continue
        unquoted = {p.part for p in check.of("claim", n, "loaded_term_not_in_quote")}
        out.claims.append(
            Claim(
                id=f"{sid}:c{n_claim + len(out.claims) + 1}",
                text=claim.text,
                claim_type=claim.claim_type,
                attributed_to=claim.attributed_to,
                reported_by=outlet,
                source_id=sid,
                loaded_terms=[term for t, term in enumerate(claim.loaded_terms) if t not in unquoted],
                evidence=ev,
                gloss=claim.gloss,
                aspect=claim.aspect,
                position=claim.position if claim.aspect in ("cause", "responsibility") else None,
            )
        )
        claim_events.append(claim.event_id)
    for a, actor in enumerate(draft.actors):
        ev = evidence("actor", a, actor)
        if ev is not None:
            out.actors.append(
                Actor(
                    name=actor.name_as_written,
                    canonical_name=actor.canonical_name,
                    aliases=out.unnamed(check.of("actor", a, "alias_not_named"), actor.aliases, {"actor": actor.name_as_written}, "alias"),
                    actor_type=actor.actor_type,
                    source_id=sid,
                    evidence=ev,
                )
            )
    event_ids: dict[str, str] = {}
    for n, event in enumerate(draft.events):
        if failed := check.of("event", n, "sub_event_type"):
            out.drop(failed[0], event)
            continue
        ev = evidence("event", n, event)
        if ev is None:
            continue
        unnamed = {p.part: p for p in check.of("location", n, "place_not_named")}
        locations = []
        for k, loc in enumerate(event.locations):
            if k in unnamed:
                out.drop(unnamed[k], loc)
            else:
                locations.append(Location(name=loc.name_as_written, admin1=loc.admin1, country=loc.country, precision=loc.precision))
        refs = [fig_ids[r] for r in event.figure_ids if r in fig_ids]
        date = resolve_date(event.date_as_written, source.published, source.published_period)
        event_ids[event.id or f"e{n + 1}"] = f"{sid}:e{n_event + len(out.events) + 1}"
        out.events.append(
            EventRecord(
                id=f"{sid}:e{n_event + len(out.events) + 1}",
                source_ids=[sid],
                disorder_type=DISORDER_TYPE[event.event_type],
                event_type=event.event_type,
                sub_event_type=event.sub_event_type,
                summary=event.summary,
                date_as_written=event.date_as_written,
                date_start=date.start,
                date_end=date.end,
                date_precision=date.precision,
                date_note=date.note,
                granularity=event.granularity,
                status=event.status,
                actors=out.unnamed(check.of("event", n, "actor_not_named"), event.actors, {"event": n}, "actor"),
                locations=locations,
                figure_ids=refs,
                evidence=[ev],
            )
        )
    out.claims = [c.model_copy(update={"event_ids": [event_ids[e]] if e in event_ids else []}) for c, e in zip(out.claims, claim_events, strict=True)]
    return out


def _dump(item: object) -> dict[str, object]:
    if isinstance(item, dict):
        return item
    dump = getattr(item, "model_dump", None)
    return dump() if callable(dump) else {"value": repr(item)}


def _checks(g: _Grounded, reasks: int, salvaged: bool, last_error: str | None) -> list[CheckResult]:
    by_kind: dict[str, int] = {}
    for ev in g.evidence:
        by_kind[ev.alignment] = by_kind.get(ev.alignment, 0) + 1
    unaligned = [d.record for d in g.drops if d.code == "quote_not_found"]
    numbers = [d.record for d in g.drops if d.code in NUMBER_CODES]
    other = [d.record for d in g.drops if d.code not in NUMBER_CODES and d.code not in ("quote_not_found", "injected")]
    total = len(g.evidence) + len(unaligned)
    aligned = ", ".join(f"{by_kind.get(k, 0)} {k}" for k in ("exact", "normalised", "fuzzy"))
    checks = [
        CheckResult(
            name="quotes_grounded",
            passed=not unaligned,
            detail=f"{len(g.evidence)} of {total} quotes aligned to the source ({aligned}); unaligned items dropped",
            failures=[f"{d.kind}: {_quote_of(d)!r}" for d in unaligned],
        ),
        CheckResult(
            name="figure_numbers_in_quotes",
            passed=not numbers,
            detail=f"{len(g.figures)} figures whose numbers appear in their quotes; {len(numbers)} dropped",
            failures=[d.reason for d in numbers],
        ),
        CheckResult(
            name="items_consistent",
            passed=not other,
            detail="event types, places and actors match the source and the ACLED hierarchy",
            failures=[f"{d.kind}: {d.reason}" for d in other],
        ),
    ]
    if salvaged:
        checks.append(
            CheckResult(
                name="reask_budget",
                passed=False,
                detail=f"answer still failed after {counted(reasks, 're-ask')}; failing items were dropped",
                failures=[last_error or ""],
            )
        )
    return checks


def _injection_check(drops: list[_Drop], text: str) -> CheckResult:
    """One check per source (not per chunk): the passages that address the model, and what quoted them."""
    injected = [d.record for d in drops if d.code == "injected"]
    spans = instruction_spans(text)
    found = "; ".join(f"{s}-{e} {_excerpt(text[s:e])!r}" for s, e in spans)
    verb = "addresses" if len(spans) == 1 else "address"
    passages = f"{counted(len(spans), 'passage')} of the source {verb} the model, not the reader: {found}" if spans else "no passage addresses the model"
    return CheckResult(
        name="no_injected_text",
        passed=not injected,
        detail=f"{passages}; {counted(len(injected), 'item')} quoting {'it' if len(spans) == 1 else 'them'} dropped",
        failures=[f"{d.kind}: {_quote_of(d)!r}" for d in injected],
    )


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _quote_of(d: Dropped) -> str:
    item = d.item
    for key in ("quote", "name_as_written"):
        if isinstance(item.get(key), str):
            return str(item[key])[:160]
    return ""


# --- the per-source pipeline -----------------------------------------------------------------


def source_metadata(source: Source) -> str:
    fields = [
        ("Outlet", source.outlet),
        ("Outlet type", source.outlet_type if source.outlet_type != "unknown" else None),
        ("Title", source.title),
        ("Published", source.published.isoformat() if source.published else "unknown"),
    ]
    return "\n".join(f"{k}: {v}" for k, v in fields if v)


def extract_source(source: Source, llm: StructuredModel, settings: Settings, prompt: Prompt | None = None) -> SourceReport:
    prompt = prompt or load_prompt("extract", settings.prompts_dir)
    limit = chunk_chars(source, settings, prompt)  # smaller than --chunk-chars when the context window needs it
    chunks = split_text(source.text, max_chars=limit, overlap=min(settings.chunk_overlap, limit // 4))
    usage = Usage()
    merged = _Grounded()
    checks: list[CheckResult] = []
    checked: list[tuple[ExtractionDraft, DraftCheck]] = []  # the last draft the validator checked, and its check

    def verify(draft: ExtractionDraft) -> list[str]:
        checked[:] = [(draft, check := check_draft(draft, source.text, source_id=source.id))]  # ground_draft reuses it
        return check.messages()

    for chunk in chunks:
        part = f"Part {chunk.index + 1} of {len(chunks)} of a long article (characters {chunk.start}-{chunk.end})." if len(chunks) > 1 else ""
        messages = prompt.render(source_id=source.id, metadata=source_metadata(source), part=part, fenced_text=fence(source.id, chunk.text))
        with verifying(verify):
            label = CallLabel("extract", source.id if len(chunks) == 1 else f"{source.id}#{chunk.index + 1}", prompt.name, prompt.sha256)
            try:
                result = llm.structured(ExtractionDraft, messages, label=label)
            except EndpointError as exc:
                exc.usage = usage.add(exc.usage or Usage())  # earlier chunks were paid for too
                raise
        usage = usage.add(result.usage)
        done = checked[0][1] if checked and checked[0][0] is result.value else None  # None: salvaged, not checked as accepted
        g = ground_draft(result.value, source, numbered=(len(merged.figures), len(merged.claims), len(merged.events)), check=done)
        for name in ("figures", "claims", "events", "actors", "drops", "evidence"):
            getattr(merged, name).extend(getattr(g, name))
        checks = _merge_checks(checks, _checks(g, result.reasks, result.salvaged, result.last_error))
    checks.insert(3, _injection_check(merged.drops, source.text))  # after quotes, numbers and consistency, before the re-ask budget
    figures = dedupe_figures(merged.figures)
    return SourceReport(
        source=source,
        events=_repoint(dedupe_events(merged.events), merged.figures, figures),
        figures=figures,
        claims=dedupe_claims(merged.claims),
        actors=dedupe_actors(merged.actors),
        checks=checks,
        dropped=merged.dropped,
        chunks=len(chunks),
        provenance=provenance(settings, [prompt], usage),
    )


def _figure_key(f: FigureClaim) -> tuple[object, ...]:
    return (f.metric, f.population, (f.party or "").casefold(), f.value, f.low, f.high, f.qualifier, f.attributed_to.casefold())


def _repoint(events: list[EventRecord], before: list[FigureClaim], kept: list[FigureClaim]) -> list[EventRecord]:
    """Overlapping chunks state a figure twice; events that cited the copy removed by
    deduplication must cite the copy that was kept."""
    kept_ids = {f.id for f in kept}
    by_key = {_figure_key(f): f.id for f in kept}
    moved = {f.id: by_key[_figure_key(f)] for f in before if f.id not in kept_ids and _figure_key(f) in by_key}
    out = []
    for e in events:
        ids = list(dict.fromkeys(moved.get(i, i) for i in e.figure_ids))
        out.append(e.model_copy(update={"figure_ids": [i for i in ids if i in kept_ids]}))
    return out


def _merge_checks(a: list[CheckResult], b: list[CheckResult]) -> list[CheckResult]:
    if not a:
        return b
    by_name = {c.name: c for c in a}
    for c in b:
        if c.name in by_name:
            old = by_name[c.name]
            by_name[c.name] = CheckResult(name=c.name, passed=old.passed and c.passed, detail=f"{old.detail}; {c.detail}", failures=old.failures + c.failures)
        else:
            by_name[c.name] = c
    return list(by_name.values())


def provenance(settings: Settings, prompts: Sequence[Prompt], usage: Usage) -> Provenance:
    return Provenance(
        tool_version=__version__,
        model=settings.model,
        endpoint=settings.endpoint_host,
        mode=settings.mode + (" strict" if settings.strict else ""),
        prompts=[p.ref for p in prompts],
        usage=usage,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )


def extract_many(
    sources: Sequence[Source], llm: StructuredModel, settings: Settings, *, on_done: Callable[[str, SourceReport | FailedItem], None] | None = None
) -> tuple[list[SourceReport], list[FailedItem]]:
    """Extract each source; one failing source never stops the others."""
    prompt = load_prompt("extract", settings.prompts_dir)
    reports: list[SourceReport] = []
    failed: list[FailedItem] = []
    for source in sources:
        try:
            report = extract_source(source, llm, settings, prompt)
        except SummarizeError as exc:
            if exc.kind in ("prompt", "config"):
                raise
            item = FailedItem(item=source.path or source.id, stage="extract", error=exc.kind, message=exc.message, attempts=exc.attempts)
            failed.append(item)
            if on_done:
                on_done(source.id, item)
            continue
        reports.append(report)
        if on_done:
            on_done(source.id, report)
    return reports, failed
