"""summarize: grounded event records and neutral multi-source briefings from news articles.

The public API is what ``__all__`` lists: the entry points of ``summarize.api``, the settings, and the
models they take and return. Everything else is private by convention and may change between releases.
Names load on first use, so ``import summarize`` (and ``summarize --help``) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "Actor": "summarize.models.report",
    "brief_files": "summarize.api",
    "Briefing": "summarize.models.briefing",
    "briefing_exit_code": "summarize.api",
    "BriefOptions": "summarize.brief.writer",
    "check_briefing": "summarize.api",
    "CheckResult": "summarize.models.report",
    "Claim": "summarize.models.report",
    "ConsensusPoint": "summarize.models.briefing",
    "DerivedTotals": "summarize.models.briefing",
    "Disagreement": "summarize.models.briefing",
    "Dropped": "summarize.models.report",
    "EventRecord": "summarize.models.report",
    "Evidence": "summarize.models.report",
    "exit_code": "summarize.api",
    "extract_files": "summarize.api",
    "ExtractionOutput": "summarize.models.report",
    "FailedItem": "summarize.models.report",
    "FigureClaim": "summarize.models.report",
    "FigureComparison": "summarize.models.briefing",
    "FigureEntry": "summarize.models.briefing",
    "Gap": "summarize.models.briefing",
    "load_briefing": "summarize.api",
    "load_reports": "summarize.api",
    "load_settings": "summarize.config",
    "Location": "summarize.models.report",
    "NotComparable": "summarize.models.briefing",
    "Position": "summarize.models.briefing",
    "PromptRef": "summarize.models.report",
    "Provenance": "summarize.models.report",
    "Reconciled": "summarize.models.briefing",
    "RemovedSentence": "summarize.models.briefing",
    "reports_from_file": "summarize.api",
    "Sentence": "summarize.models.briefing",
    "session": "summarize.api",
    "Settings": "summarize.config",
    "settings_for": "summarize.config",
    "Source": "summarize.models.report",
    "SourceReport": "summarize.models.report",
    "SourceSummary": "summarize.models.briefing",
    "SumCheck": "summarize.models.briefing",
    "SummarizeError": "summarize.errors",
    "TerminologyNote": "summarize.models.briefing",
    "Usage": "summarize.models.report",
}

__all__ = [
    "Actor",
    "BriefOptions",
    "Briefing",
    "CheckResult",
    "Claim",
    "ConsensusPoint",
    "DerivedTotals",
    "Disagreement",
    "Dropped",
    "EventRecord",
    "Evidence",
    "ExtractionOutput",
    "FailedItem",
    "FigureClaim",
    "FigureComparison",
    "FigureEntry",
    "Gap",
    "Location",
    "NotComparable",
    "Position",
    "PromptRef",
    "Provenance",
    "Reconciled",
    "RemovedSentence",
    "Sentence",
    "Settings",
    "Source",
    "SourceReport",
    "SourceSummary",
    "SumCheck",
    "SummarizeError",
    "TerminologyNote",
    "Usage",
    "__version__",
    "brief_files",
    "briefing_exit_code",
    "check_briefing",
    "exit_code",
    "extract_files",
    "load_briefing",
    "load_reports",
    "load_settings",
    "reports_from_file",
    "session",
    "settings_for",
]

if TYPE_CHECKING:
    from summarize.api import brief_files, briefing_exit_code, check_briefing, exit_code, extract_files, load_briefing, load_reports, reports_from_file, session
    from summarize.brief.writer import BriefOptions
    from summarize.config import Settings, load_settings, settings_for
    from summarize.errors import SummarizeError
    from summarize.models.briefing import (
        Briefing,
        ConsensusPoint,
        DerivedTotals,
        Disagreement,
        FigureComparison,
        FigureEntry,
        Gap,
        NotComparable,
        Position,
        Reconciled,
        RemovedSentence,
        Sentence,
        SourceSummary,
        SumCheck,
        TerminologyNote,
    )
    from summarize.models.report import (
        Actor,
        CheckResult,
        Claim,
        Dropped,
        EventRecord,
        Evidence,
        ExtractionOutput,
        FailedItem,
        FigureClaim,
        Location,
        PromptRef,
        Provenance,
        Source,
        SourceReport,
        Usage,
    )


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'summarize' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
