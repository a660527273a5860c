"""The structured-model protocol: the pipeline runs on a function-backed model, no HTTP; only the client touches the SDKs."""

from __future__ import annotations

import ast
import json
from typing import Any

import pytest
from helpers import EXAMPLES, FABRICATED, ROOT, copying_answer, fabricating_answer
from pydantic import BaseModel

from summarize.config import load_settings
from summarize.errors import ModelOutputError
from summarize.extract.extractor import extract_source
from summarize.llm.client import LLM
from summarize.llm.protocol import FunctionModel
from summarize.models.draft import ExtractionDraft
from summarize.models.report import Usage
from summarize.sources.files import read_path

SDKS = {"openai", "instructor"}


def aleppo(name: str = "regional-wire") -> Any:
    (source,) = read_path(EXAMPLES / "aleppo" / f"{name}.txt")
    return source


def settings(**overrides: Any) -> Any:
    return load_settings({"max_reasks": 1, **overrides}, env={})


def test_a_valid_draft_from_the_function_becomes_a_verified_report() -> None:
    source = aleppo()
    answer = copying_answer(source.text)
    seen: list[tuple[list[dict[str, str]], type[BaseModel]]] = []

    def model(messages: list[dict[str, str]], response_model: type[BaseModel]) -> dict[str, Any]:
        seen.append((messages, response_model))
        return answer

    fn = FunctionModel(model, per_answer=Usage(prompt_tokens=100, completion_tokens=20, total_tokens=120))
    report = extract_source(source, fn, settings())  # type: ignore[arg-type]  # extract_source is annotated with LLM

    assert len(seen) == 1 and seen[0][1] is ExtractionDraft
    assert source.text.splitlines()[-1].strip() in seen[0][0][-1]["content"]  # the fenced article is in the prompt
    assert report.verified, [c for c in report.checks if not c.passed]
    assert report.dropped == []
    assert [f.evidence.quote for f in report.figures] == [f["quote"] for f in answer["figures"]]
    assert all(source.text[f.evidence.start : f.evidence.end] == f.evidence.quote for f in report.figures)
    assert report.provenance.usage.model_dump(include={"requests", "attempts", "total_tokens"}) == {"requests": 1, "attempts": 1, "total_tokens": 120}


def test_an_invented_quote_is_reasked_with_the_error_then_dropped_and_reported() -> None:
    source = aleppo()
    fn = FunctionModel(lambda messages, response_model: fabricating_answer(source.text))
    report = extract_source(source, fn, settings(max_reasks=1))  # type: ignore[arg-type]

    assert len(fn.calls) == 2  # the answer, and one re-ask
    first, second = fn.calls
    assert second[: len(first)] == first
    assert FABRICATED not in json.dumps(first)
    reask = second[-1]["content"]
    assert reask != first[-1]["content"] and "failed verification against the source" in reask and FABRICATED in reask
    assert FABRICATED in second[-2]["content"]  # the failing answer goes back as the assistant's turn

    assert not report.verified
    assert FABRICATED in [d.item.get("quote") for d in report.dropped]
    assert FABRICATED not in [f.evidence.quote for f in report.figures]
    assert report.figures  # the figures that were quoted right are kept
    assert any(not c.passed for c in report.checks)
    assert report.provenance.usage.attempts == 2


def test_an_answer_corrected_on_the_reask_is_verified() -> None:
    source = aleppo()
    answers = iter([fabricating_answer(source.text), copying_answer(source.text)])
    fn = FunctionModel(lambda messages, response_model: next(answers))
    report = extract_source(source, fn, settings(max_reasks=2))  # type: ignore[arg-type]
    assert len(fn.calls) == 2
    assert report.verified and report.dropped == []


def test_an_answer_that_never_fits_the_schema_fails_with_what_it_cost() -> None:
    source = aleppo()
    fn = FunctionModel(lambda messages, response_model: "not json at all", max_reasks=2)
    with pytest.raises(ModelOutputError) as caught:
        extract_source(source, fn, settings())  # type: ignore[arg-type]
    assert len(fn.calls) == 3
    assert caught.value.usage is not None and caught.value.usage.attempts == 3
    assert "did not fit the schema after 3 attempt(s)" in caught.value.message


def test_llm_and_the_double_offer_the_same_call() -> None:
    assert FunctionModel.structured.__code__.co_varnames[:3] == LLM.structured.__code__.co_varnames[:3]
    assert FunctionModel.structured.__kwdefaults__ == LLM.structured.__kwdefaults__ == {"label": None}


def _sdk_uses(path: Any) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__"):
                names = [node.args[0].value]
        elif isinstance(node, ast.Attribute) and node.attr in ("batches", "files", "completions"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.Name) and node.id == "ChatCompletion":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: ChatCompletion")
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {n}" for n in names if n.split(".")[0] in SDKS]
    return found


def test_only_the_client_module_touches_the_sdks() -> None:
    client = ROOT / "summarize" / "llm" / "client.py"
    assert _sdk_uses(client)  # the check sees what it looks for
    offenders = [use for path in sorted((ROOT / "summarize").rglob("*.py")) if path != client for use in _sdk_uses(path)]
    assert offenders == []
