"""Re-record the bundled cassettes against the scripted server.

The bundled cassettes are *authored*, not recorded from a live model: the scripted server in
tests/scripted_server.py answers each request with the hand-written answer in
tests/fixtures/answers/<source id>.json, in the exact OpenAI wire format, and the real
pipeline (same client, same parsing, same validation) records the exchange with --record.

    python tests/record_cassettes.py            # rewrite cassettes/
    python tests/record_cassettes.py --check    # exit 1 if cassettes/ is out of date

To record against a real endpoint instead, run the CLI with --record (see README).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from scripted_server import Reply, ScriptedServer, answers_by_source  # noqa: E402

from summarize.cli.main import cli  # noqa: E402

ANSWERS = HERE / "fixtures" / "answers"
BRIEFS = HERE / "fixtures" / "briefs"
MODEL = "gpt-4o-mini"
# Recording uses a key shaped like a real one, so the scrubbing is exercised on every re-record.
RECORDING_KEY = "sk-recording-0000000000000000000000000000"


def load_answers() -> dict[str, object]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(ANSWERS.glob("*.json"))}


NEW_STORIES = ("quake-flood", "clinic-blast", "ridge-offensive")
# cassette file -> CLI arguments after `summarize`
CASSETTES: dict[str, list[str]] = {
    "aleppo-extract.yaml": ["extract", "examples/aleppo", "--quiet", "-o", "{out}"],
    "floods-extract.yaml": ["extract", "examples/floods", "--quiet", "-o", "{out}"],
    "aleppo-brief.yaml": ["brief", "examples/aleppo", "--quiet", "-o", "{out}"],
    "floods-brief.yaml": ["brief", "examples/floods", "--quiet", "-o", "{out}"],
    "multilingual-extract.yaml": ["extract", "examples/multilingual", "--quiet", "-o", "{out}"],
    "multilingual-brief.yaml": ["brief", "examples/multilingual", "--quiet", "-o", "{out}"],
    "web-extract.yaml": ["extract", "examples/web", "--quiet", "-o", "{out}"],
    "web-brief.yaml": ["brief", "examples/web", "--quiet", "-o", "{out}"],
    **{f"{story}-{stage}.yaml": [stage, f"examples/{story}", "--quiet", "-o", "{out}"] for story in NEW_STORIES for stage in ("extract", "brief")},
}


def requested_schema(body: dict[str, Any]) -> str | None:
    """The name of the structured output a request asks for (tool name or json_schema name)."""
    for tool in body.get("tools") or []:
        return str(tool.get("function", {}).get("name"))
    fmt = body.get("response_format") or {}
    return str(fmt.get("json_schema", {}).get("name")) if fmt.get("type") == "json_schema" else None


def authored_responder() -> Callable[[dict[str, Any]], Reply]:
    """Extraction requests get the answer for their fenced source; briefing requests get the
    authored briefing of the story whose claim ids the request carries."""
    extract = answers_by_source(load_answers())
    briefs = {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(BRIEFS.glob("*.json"))}

    def respond(body: dict[str, Any]) -> Reply:
        if requested_schema(body) != "BriefDraft":
            return extract(body)
        prompt = json.dumps(body["messages"])
        for brief in briefs.values():
            ids = re.findall(r'"([a-z0-9-]+:[fce]\d+)"', json.dumps(brief))
            if ids and all(i in prompt for i in ids):
                return Reply.answer(brief)
        return Reply.status(500, "no authored briefing matches these claim ids")

    return respond


def record(name: str, target: Path, *, responder: Callable[[dict[str, Any]], Reply] | None = None) -> int:
    """Run the CLI for ``name`` against a fresh scripted server, recording into ``target``."""
    import os

    with ScriptedServer(responder or authored_responder()) as server, tempfile.TemporaryDirectory() as tmp:
        args = [a.replace("{out}", str(Path(tmp) / "out.json")) for a in CASSETTES[name]]
        os.environ["OPENAI_API_KEY"] = RECORDING_KEY
        try:
            code = cli([*args, "--base-url", server.url, "--profile", "openai", "--model", MODEL, "--record", str(target)])
        finally:
            del os.environ["OPENAI_API_KEY"]
        # the server's port is chosen by the OS; a stable name keeps re-recordings byte-identical
        origin = server.url.rsplit("/v1", 1)[0]
        target.write_text(target.read_text(encoding="utf-8").replace(origin, "http://scripted-server"), encoding="utf-8")
        return code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args()
    import os

    os.chdir(ROOT)
    stale = []
    for name in CASSETTES:
        target = ROOT / "cassettes" / name
        if args.check:
            with tempfile.TemporaryDirectory() as tmp:
                fresh = Path(tmp) / name
                record(name, fresh)
                if not target.exists() or fresh.read_text(encoding="utf-8") != target.read_text(encoding="utf-8"):
                    stale.append(name)
        else:
            code = record(name, target)
            print(f"recorded {target.relative_to(ROOT)} (exit {code})")
    for name in stale:
        print(f"stale: cassettes/{name}; run python tests/record_cassettes.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
