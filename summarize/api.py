"""Entry points that tie the stages together; the CLI and library users call these."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from summarize import fileio
from summarize.brief.writer import BriefOptions, brief_reports
from summarize.config import Settings
from summarize.errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, InputError, SummarizeError, UsageError
from summarize.extract.extractor import extract_many
from summarize.gate.check import recheck
from summarize.llm.cassette import cassette, unplayed
from summarize.llm.client import LLM, CallRecord
from summarize.llm.ratelimit import Limiter
from summarize.models.briefing import Briefing
from summarize.models.report import CheckResult, ExtractionOutput, FailedItem, Source, SourceReport
from summarize.sources.files import read_sources

log = logging.getLogger("summarize")

Progress = Callable[[str, "SourceReport | FailedItem"], None]


@contextmanager
def session(settings: Settings, *, limiter: Limiter | None = None, observer: Callable[[CallRecord], None] | None = None) -> Iterator[LLM]:
    """An LLM client inside the record/replay cassette, if one was asked for."""
    with cassette(record=settings.record, replay=settings.replay, secrets=[settings.api_key or ""]) as cas:
        llm = LLM(settings, limiter=limiter, observer=observer)
        try:
            yield llm
        finally:
            llm.close()
        left = unplayed(cas)
        if left:
            log.warning("%d recorded interaction(s) in %s were not used: the inputs differ from the recording", left, settings.replay)


def extract_files(
    paths: Sequence[str], settings: Settings, *, stdin: BinaryIO | None = None, progress: Progress | None = None, allow_network: bool = False
) -> ExtractionOutput:
    sources, failed = read_sources(paths, max_bytes=settings.max_bytes, stdin=stdin, allow_network=allow_network)
    if progress:
        for item in failed:
            progress(item.item, item)
    reports: list[SourceReport] = []
    if sources:
        with session(settings) as llm:
            reports, extract_failed = extract_many(sources, llm, settings, on_done=progress)
        failed += extract_failed
    return ExtractionOutput(reports=reports, failed=failed)


def exit_code(out: ExtractionOutput) -> int:
    """The most severe outcome wins: endpoint error (3), input error (2), partial (1), ok (0)."""
    if any(f.stage != "read" for f in out.failed):
        return EXIT_ENDPOINT
    if out.failed:
        return EXIT_INPUT
    if any(not r.verified for r in out.reports):
        return EXIT_PARTIAL
    return EXIT_OK


read_saved = fileio.read_saved


def load_reports(path: Path, *, story: str | None = None) -> list[SourceReport]:
    """Source reports from any saved output: ``extract`` JSON or JSONL, a batch's reports.jsonl (``story``: only that
    story's), or a briefing (the reports it was written from)."""
    return fileio.load_saved(path).reports_of(story)


def story_reports(path: Path, story: str | None) -> list[SourceReport]:
    """The reports of one story: a file holding several (a batch's reports.jsonl) needs ``story`` to say which."""
    saved = fileio.load_saved(path)
    names = saved.story_names()
    if story is None and len(names) > 1:
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        raise UsageError(f"{path} holds {len(names)} stories ({shown}): a briefing covers one; pick it with --story NAME")
    return saved.reports_of(story)


def brief_files(
    paths: Sequence[str],
    settings: Settings,
    options: BriefOptions | None = None,
    *,
    reports_file: Path | None = None,
    story: str | None = None,
    stdin: BinaryIO | None = None,
    progress: Progress | None = None,
    allow_network: bool = False,
) -> tuple[Briefing | None, ExtractionOutput]:
    """Extract (unless saved reports are given: ``story`` picks one of a batch's) and brief one story. Returns the
    extraction too, for its failures. The endpoint is asked for only once there is something to send it."""
    reports: list[SourceReport] = story_reports(reports_file, story) if reports_file else []
    failed: list[FailedItem] = []
    sources: list[Source] = []
    if paths:
        sources, failed = read_sources(paths, max_bytes=settings.max_bytes, stdin=stdin, allow_network=allow_network)
        if progress:
            for item in failed:
                progress(item.item, item)
    briefing = None
    if not sources and not reports:
        return None, ExtractionOutput(reports=[], failed=failed)
    with session(settings) as llm:
        if sources:
            extracted, extract_failed = extract_many(sources, llm, settings, on_done=progress)
            reports += extracted
            failed += extract_failed
        if reports:
            try:
                briefing = brief_reports(reports, llm, settings, options)
            except SummarizeError as exc:
                if exc.kind in ("prompt", "config"):
                    raise
                failed.append(FailedItem(item="briefing", stage="brief", error=exc.kind, message=exc.message, attempts=exc.attempts))
    return briefing, ExtractionOutput(reports=reports, failed=failed)


def briefing_exit_code(briefing: Briefing | None, out: ExtractionOutput) -> int:
    if briefing is None and not out.reports and all(f.stage == "read" for f in out.failed):
        return EXIT_INPUT  # nothing readable to brief: an input problem, not the endpoint's
    if briefing is None or any(f.stage != "read" for f in out.failed):
        return EXIT_ENDPOINT
    if out.failed:
        return EXIT_INPUT
    if not briefing.verified or any(not r.verified for r in out.reports):
        return EXIT_PARTIAL
    return EXIT_OK


def load_briefing(path: Path) -> Briefing:
    """A saved briefing (``brief --format json``, a batch's briefings/*.json)."""
    saved = fileio.load_saved(path)
    if saved.briefing is None:
        raise InputError(
            "not a briefing: it holds source reports (extract or batch output); brief them with `summarize brief --reports FILE`, "
            "or show them with `summarize render FILE`",
            item=str(path),
        )
    return saved.briefing


def check_briefing(briefing: Briefing, options: BriefOptions | None = None) -> list[CheckResult]:
    """Re-run every check on a saved briefing, from the sources it carries."""
    return recheck(briefing, options or BriefOptions())


def reports_from_file(path: Path) -> list[SourceReport]:
    """Source reports from saved ``extract`` output (JSON or JSONL), a batch's reports.jsonl, or a briefing JSON."""
    return load_reports(path)
