"""Project rules that keep the layout honest: stage packages, one-way imports, one SDK boundary, one reader of the environment.

Each rule walks the package's syntax trees, so a rule broken in any module, at any depth, fails here.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import ROOT

PACKAGE = ROOT / "summarize"
SDKS = {"openai", "instructor"}
SDK_BOUNDARY = "summarize.llm.client"
ENVIRONMENT_READER = "summarize.config"
STAGES = ("sources", "extract", "ground", "reconcile", "brief", "gate", "render", "batch", "llm", "models", "evaluate", "cli")
MAX_LINES = 420
# Modules allowed past MAX_LINES: each is one job that reads best whole. Keep this short.
WHOLE: dict[str, str] = {
    "summarize.ground.dates": "one resolver: the English rules, and French/Arabic words rewritten into them",
    "summarize.llm.client": "the SDK boundary: every openai/instructor call and the checks on what comes back",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def trees() -> Iterator[tuple[str, ast.Module]]:
    for name, path in MODULES.items():
        yield name, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported(tree: ast.Module) -> Iterator[tuple[str, list[str], int]]:
    """(module, names, line) for every import, top-level or inside a function; relative imports resolved."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module" and node.args:
            arg = node.args[0]
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield arg.value, [], node.lineno


def internal_edges() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, tree in trees():
        for module, names, _ in imported(tree):
            if not module.startswith("summarize"):
                continue
            targets = [f"{module}.{n}" if f"{module}.{n}" in MODULES else module for n in names] or [module]
            graph[name] |= {t for t in targets if t in MODULES and t != name and t != "summarize"}
    return graph


def test_the_tree_reads_as_the_pipeline() -> None:
    packages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    assert packages == sorted(STAGES)
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text(encoding="utf-8")))
        assert doc, f"summarize/{stage}/__init__.py says what the stage owns"


def test_no_import_circles() -> None:
    graph = internal_edges()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert circles == []


def test_the_circle_check_catches_a_circle(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rule above can fail: a graph with a two-module loop is reported."""
    loop = {**{k: set() for k in MODULES}, "summarize.api": {"summarize.config"}, "summarize.config": {"summarize.api"}}
    monkeypatch.setattr(sys.modules[__name__], "internal_edges", lambda: loop)
    with pytest.raises(AssertionError):
        test_no_import_circles()


def test_nothing_outside_the_cli_imports_it() -> None:
    offenders = [
        f"{name}:{line}"
        for name, tree in trees()
        if not name.startswith("summarize.cli") and name != "summarize.__main__"
        for module, names, line in imported(tree)
        if module.startswith("summarize.cli") or (module == "summarize" and "cli" in names)
    ]
    assert offenders == []


def test_only_the_llm_client_imports_the_model_sdks() -> None:
    offenders = [
        f"{name}:{line}"
        for name, tree in trees()
        if name != SDK_BOUNDARY
        for module, _, line in imported(tree)
        if module.split(".")[0] in SDKS
    ]
    assert offenders == []


ENVIRONMENT = ("environ", "getenv", "environb")


def _reads_environment(tree: ast.Module) -> list[int]:
    nodes = list(ast.walk(tree))
    attribute = [n.lineno for n in nodes if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "os" and n.attr in ENVIRONMENT]
    imports = [n.lineno for n in nodes if isinstance(n, ast.ImportFrom) and n.module == "os" and any(a.name in ENVIRONMENT for a in n.names)]
    return attribute + imports


def test_only_config_reads_the_environment() -> None:
    readers = [f"{name}:{line}" for name, tree in trees() if name != ENVIRONMENT_READER for line in _reads_environment(tree)]
    assert readers == []


def test_the_environment_rule_sees_every_spelling() -> None:
    for source in ("import os\nos.environ['X']", "import os\nos.getenv('X')", "from os import environ", "from os import getenv as g"):
        assert _reads_environment(ast.parse(source)), source


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = [
        f"{name}:{line} {module}.{n}"
        for name, tree in trees()
        for module, names, line in imported(tree)
        if module.startswith("summarize")
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert offenders == []


def test_modules_stay_small_unless_one_job_reads_best_whole() -> None:
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in MODULES.items()}
    assert {name: n for name, n in sizes.items() if n > MAX_LINES and name not in WHOLE} == {}
    assert set(WHOLE) <= set(MODULES), "the exception list names only modules that exist"


def test_the_public_api_is_sorted_loads_lazily_and_resolves() -> None:
    import summarize

    assert summarize.__all__ == sorted(summarize.__all__)
    for name in summarize.__all__:
        assert getattr(summarize, name) is not None, name
    code = "import sys, summarize; assert 'openai' not in sys.modules and 'instructor' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()
