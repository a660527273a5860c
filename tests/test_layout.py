"""Project rules that keep the layout honest."""

from __future__ import annotations

import ast

from helpers import ROOT

SDKS = {"openai", "instructor"}


def test_only_llm_py_imports_the_model_sdks() -> None:
    offenders = []
    for path in sorted((ROOT / "summarize").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                names = []
            if any(n.split(".")[0] in SDKS for n in names) and path.name != "llm.py":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


def test_nothing_else_reads_the_environment() -> None:
    readers = [p.name for p in sorted((ROOT / "summarize").glob("*.py")) if "os.environ" in p.read_text(encoding="utf-8") and p.name != "config.py"]
    assert readers == []
