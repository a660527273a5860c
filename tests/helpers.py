"""Shared test helpers: scripted model behaviours and CLI runners."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from scripted_server import Reply, fenced_sources

from summarize.cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
CASSETTES = ROOT / "cassettes"

_SENTENCE = re.compile(r"[^.!?\n]+[.!?]")
_NUMBER = re.compile(r"\d[\d,]*(?: \d{3}(?!\d))*")  # "2 000" is two thousand, as the number check reads it


def copying_answer(text: str) -> dict[str, Any]:
    """A schema-valid extraction built only from sentences copied out of ``text``."""
    sentences = [m.group(0).strip() for m in _SENTENCE.finditer(text) if len(m.group(0).strip()) > 20]
    figures = []
    for sentence in sentences:
        match = _NUMBER.search(sentence)
        if match and len(figures) < 4:
            figures.append(
                {
                    "id": f"f{len(figures) + 1}",
                    "metric": "killed",
                    "population": "all",
                    "party": None,
                    "value": int(match.group(0).replace(",", "").replace(" ", "")),
                    "low": None,
                    "high": None,
                    "qualifier": "exact",
                    "vague_word": None,
                    "time_window": None,
                    "place": None,
                    "attributed_to": "the outlet",
                    "quote": sentence,
                    "gloss": None,
                }
            )
    claims = [
        {"text": f"The outlet reported: {s[:80]}", "claim_type": "event", "attributed_to": "the outlet", "quote": s, "gloss": None, "loaded_terms": []}
        for s in sentences[:2]
    ]
    events = [
        {
            "summary": "Fighting was reported.",
            "event_type": "Battles",
            "sub_event_type": "Armed clash",
            "date_as_written": None,
            "granularity": "aggregate",
            "status": "occurred",
            "actors": [],
            "locations": [],
            "figure_ids": [f["id"] for f in figures],
            "quote": sentences[0],
        }
    ]
    return {"events": events, "figures": figures, "claims": claims, "actors": []}


FABRICATED = "Officials said that 10,000 people were killed in the capital overnight."


def fabricating_answer(text: str) -> dict[str, Any]:
    """Like copying_answer, but one figure and one claim quote sentences that are in no source."""
    answer = copying_answer(text)
    answer["figures"].append({**answer["figures"][0], "id": "f99", "value": 10000, "quote": FABRICATED})
    answer["claims"].append({**answer["claims"][0], "quote": "The president declared total victory over every enemy."})
    return answer


def copying(body: dict[str, Any]) -> Reply:
    return Reply.answer(copying_answer(fenced_sources(body)[0][1]))


def fabricating(body: dict[str, Any]) -> Reply:
    return Reply.answer(fabricating_answer(fenced_sources(body)[0][1]))


def run(args: list[str], capsys: Any) -> tuple[int, str, str]:
    code = cli(args)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(args: list[str], capsys: Any) -> tuple[int, dict[str, Any], str]:
    code, out, err = run([*args, "--format", "json"], capsys)
    return code, json.loads(out) if out.strip() else {}, err
