"""Entry points that tie the stages together; the CLI and library users call these."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from summarize.brief.writer import BriefOptions, brief_reports
from summarize.config import Settings
from summarize.errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, InputError, SummarizeError
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


def read_saved(path: Path, what: str) -> str:
    """The text of a file this tool wrote (reports, a briefing): UTF-8, or an ``InputError`` naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read {what}: {exc.strerror}", item=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 ({exc.reason} at byte {exc.start}), so not {what} written by summarize", item=str(path)) from None


def load_reports(path: Path) -> list[SourceReport]:
    """Saved extraction output: ``extract --format json`` or ``--format jsonl``."""
    text = read_saved(path, "reports")
    try:
        if text.lstrip().startswith("{") and '"reports"' in text[:2000]:
            return ExtractionOutput.model_validate_json(text).reports
        return [SourceReport.model_validate_json(line) for line in text.splitlines() if line.strip()]
    except ValidationError as exc:
        raise InputError(f"not saved extraction output (extract --format json or jsonl): {exc.errors()[0]['msg']}", item=str(path)) from None


def brief_files(
    paths: Sequence[str],
    settings: Settings,
    options: BriefOptions | None = None,
    *,
    reports_file: Path | None = None,
    stdin: BinaryIO | None = None,
    progress: Progress | None = None,
    allow_network: bool = False,
) -> tuple[Briefing | None, ExtractionOutput]:
    """Extract (unless saved reports are given) and brief one story. Returns the extraction too, for its failures."""
    reports: list[SourceReport] = load_reports(reports_file) if reports_file else []
    failed: list[FailedItem] = []
    sources: list[Source] = []
    if paths:
        sources, failed = read_sources(paths, max_bytes=settings.max_bytes, stdin=stdin, allow_network=allow_network)
        if progress:
            for item in failed:
                progress(item.item, item)
    briefing = None
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
    text = read_saved(path, "a briefing")
    try:
        return Briefing.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(f"not a briefing JSON (brief --format json): {exc.errors()[0]['msg']}", item=str(path)) from None


def check_briefing(briefing: Briefing, options: BriefOptions | None = None) -> list[CheckResult]:
    """Re-run every check on a saved briefing, from the sources it carries."""
    return recheck(briefing, options or BriefOptions())


def reports_from_file(path: Path) -> list[SourceReport]:
    """Source reports from saved ``extract`` output (JSON or JSONL) or from a briefing JSON."""
    try:
        value = json.loads(read_saved(path, "saved output"))
    except json.JSONDecodeError:
        value = None  # JSONL holds one document per line; load_reports reads it
    if isinstance(value, dict) and "reconciled" in value and "headline" in value:
        return load_briefing(path).reports
    return load_reports(path)
