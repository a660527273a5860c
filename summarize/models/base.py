"""Base classes shared by every model: strict drafts the LLM fills, verified answers, output records; the schema version."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

SCHEMA_VERSION = "1.0"
_SCHEMA_CACHE: dict[tuple[type, str], str] = {}


def _strip_titles(node: Any, *, keep: bool = True) -> Any:
    """Drop the "title" pydantic puts on every property (it repeats the key: ~370 prompt tokens per extraction call).

    Object titles stay: SDKs name the tool or response format after the root one."""
    if isinstance(node, dict):
        return {
            k: {name: _strip_titles(prop, keep=False) for name, prop in v.items()} if k == "properties" and isinstance(v, dict) else _strip_titles(v)
            for k, v in node.items()
            if keep or k != "title"
        }
    if isinstance(node, list):
        return [_strip_titles(v, keep=keep) for v in node]
    return node


def _all_required(schema: dict[str, Any]) -> dict[str, Any]:
    """Mark every property of every object required and drop defaults, as strict structured outputs demand; no titles."""
    schema = _strip_titles(schema)
    for node in [schema, *schema.get("$defs", {}).values()]:
        if "properties" in node:
            node["required"] = list(node["properties"])
            for prop in node["properties"].values():
                prop.pop("default", None)
    return schema


class StrictModel(BaseModel):
    """Base for LLM-facing models: every key required in the schema, no extras (strict structured outputs).

    Fields added after 1.0 carry defaults in Python, so an endpoint without strict outputs that
    leaves one out still gives a usable answer; the schema sent to the model requires them all.
    """

    model_config = ConfigDict(extra="forbid")

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # instructor regenerates the schema on every request (~10 ms of CPU, a third of a call's
        # overhead); the models never change at run time, so generate once and hand out copies.
        key = (cls, repr((args, sorted(kwargs.items()))))
        if key not in _SCHEMA_CACHE:
            _SCHEMA_CACHE[key] = json.dumps(_all_required(super().model_json_schema(*args, **kwargs)))
        return dict(json.loads(_SCHEMA_CACHE[key]))


# What a model answer is checked against. Set by the pipeline around a call (llm.verifying);
# kept out of instructor's ``context=`` because instructor renders messages as Jinja templates
# whenever a context is given, and article text is untrusted.
VERIFY: ContextVar[Callable[[Any], list[str]] | None] = ContextVar("summarize_verify", default=None)
# Set once the re-ask budget is spent: validators let the answer through so the pipeline can
# drop the failing items and report them, instead of losing the whole answer.
LENIENT: ContextVar[bool] = ContextVar("summarize_lenient", default=False)


class VerifiedModel(StrictModel):
    """An LLM answer that the pipeline verifies against its sources before accepting it."""

    @model_validator(mode="after")
    def _verify(self) -> VerifiedModel:
        check = VERIFY.get()
        if check is None or LENIENT.get():
            return self
        problems = check(self)
        if problems:
            listed = "\n".join(f"- {p}" for p in problems)
            raise ValueError(f"{len(problems)} item(s) failed verification against the source:\n{listed}\nFix these items and answer again.")
        return self


class Record(BaseModel):
    """Base for validated output records."""

    model_config = ConfigDict(extra="forbid")
