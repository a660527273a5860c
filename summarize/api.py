"""Entry points that tie the stages together; the CLI and library users call these."""

from __future__ import annotations

import logging

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

from .cassette import cassette, unplayed
from .config import Settings
from .errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_OK, EXIT_PARTIAL
from .extract import extract_many
from .llm import LLM
from .models import ExtractionOutput, FailedItem, SourceReport
from .sources import read_sources

log = logging.getLogger("summarize")

Progress = Callable[[str, "SourceReport | FailedItem"], None]


@contextmanager
def session(settings: Settings) -> Iterator[LLM]:
    """An LLM client inside the record/replay cassette, if one was asked for."""
    with cassette(record=settings.record, replay=settings.replay, secrets=[settings.api_key or ""]) as cas:
        llm = LLM(settings)
        try:
            yield llm
        finally:
            llm.close()
        left = unplayed(cas)
        if left:
            log.warning("%d recorded interaction(s) in %s were not used: the inputs differ from the recording", left, settings.replay)


def extract_files(paths: Sequence[str], settings: Settings, *, stdin: BinaryIO | None = None, progress: Progress | None = None) -> ExtractionOutput:
    sources, failed = read_sources(paths, max_bytes=settings.max_bytes, stdin=stdin)
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
