"""JSON Schema documents generated from the models; ``summarize schema`` writes them to schemas/."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from summarize.errors import UsageError
from summarize.evaluate.gold import GoldStory
from summarize.models.briefing import BriefDraft, Briefing
from summarize.models.draft import ExtractionDraft
from summarize.models.report import ExtractionOutput, SourceReport

# file name -> model; the draft is what the LLM is asked to fill, the others are our outputs
DOCUMENTS: dict[str, type[BaseModel]] = {
    "extraction-draft.schema.json": ExtractionDraft,
    "source-report.schema.json": SourceReport,
    "extraction-output.schema.json": ExtractionOutput,
    "brief-draft.schema.json": BriefDraft,
    "briefing.schema.json": Briefing,
    "gold.schema.json": GoldStory,
}
MODEL_FACING = (ExtractionDraft, BriefDraft)


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="validation" if model in MODEL_FACING else "serialization")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def write(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in DOCUMENTS.items():
        path = out_dir / name
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written


def drift(out_dir: Path) -> list[str]:
    """Names of schema files that are missing or differ from the models."""
    if not out_dir.is_dir():
        raise UsageError(f"schema directory not found: {out_dir}")
    return [name for name, model in DOCUMENTS.items() if not (out_dir / name).is_file() or (out_dir / name).read_text(encoding="utf-8") != render(model)]
