"""Packaging: a wheel built from the checkout, and pipx, install into fresh environments and work from anywhere.

These tests build and install in subprocesses, so they need a package index (PyPI or a mirror
pip is configured for) to fetch the build backend and dependencies; without one they skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from helpers import CASSETTES, EXAMPLES, ROOT

from summarize import __version__
from summarize.cli.main import build_parser
from summarize.models.schemas import DOCUMENTS

pytestmark = pytest.mark.slow

# pip's words for "there is no index to talk to", as opposed to a broken build
_OFFLINE = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable", "ConnectTimeoutError", "ProxyError", "Max retries exceeded")


# Prints "<command>\n<help page>\f" for every subcommand of the installed CLI.
HELP_PAGES = """
import contextlib, io
from summarize.cli.main import build_parser, cli
sub = next(a for a in build_parser()._actions if a.dest == "command")
for name in sorted(sub.choices):
    page = io.StringIO()
    with contextlib.redirect_stdout(page):
        cli([name, "--help"])
    print(name + "\\n" + page.getvalue(), end="\\f")
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["HOME"] = str(tmp_path / "home")  # a fresh machine: no user configuration, no user site
    return env


def _run(
    cmd: list[str], tmp_path: Path, *, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd or tmp_path, env=env or _env(tmp_path), capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0 and any(marker in done.stdout + done.stderr for marker in _OFFLINE):
        pytest.skip(f"no package index reachable for {' '.join(cmd[:4])}")
    assert done.returncode == 0, f"{' '.join(cmd)} exited {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_wheel_installs_into_a_fresh_venv_and_runs_from_another_directory(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], tmp_path)
    (wheel,) = dist.glob("summarize-*.whl")
    # `summarize demo` needs the example story and the cassette the README's main command replays
    shipped = set(zipfile.ZipFile(wheel).namelist())
    demo = {f"summarize/_data/demo/aleppo/{p.name}" for p in (EXAMPLES / "aleppo").iterdir()} | {"summarize/_data/demo/aleppo-brief.yaml"}
    assert demo <= shipped, f"missing from the wheel: {sorted(demo - shipped)}"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    bindir = venv / ("Scripts" if os.name == "nt" else "bin")
    # --no-compile: byte-compiling every dependency up front is a third of the install time
    _run([str(bindir / "python"), "-m", "pip", "install", "-q", "--no-compile", str(wheel)], tmp_path)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    located = _run([str(bindir / "python"), "-c", "import summarize; print(summarize.__file__)"], tmp_path, cwd=elsewhere)
    assert Path(located.stdout.strip()).is_relative_to(venv), "the installed package, not the checkout, is imported"

    summarize = str(bindir / "summarize")
    assert _run([summarize, "--version"], tmp_path, cwd=elsewhere).stdout.strip() == f"summarize {__version__}"
    top = _run([summarize, "--help"], tmp_path, cwd=elsewhere).stdout
    assert "example" in _run([summarize, "brief", "--help"], tmp_path, cwd=elsewhere).stdout
    # every other command's help page in one interpreter: each console-script start costs seconds of imports
    pages = _run([str(bindir / "python"), "-c", HELP_PAGES], tmp_path, cwd=elsewhere).stdout.split("\f")
    helps = dict(page.split("\n", 1) for page in pages if page.strip())
    assert sorted(helps) == _commands(), "the installed wheel has the checkout's commands"
    for command, page in helps.items():
        assert command in top
        assert "example" in page.lower(), f"`summarize {command} --help` shows no example"

    # prompts, lexicons and aliases must come from inside the wheel
    briefed = _run([summarize, "brief", str(EXAMPLES / "aleppo"), "--replay", str(CASSETTES / "aleppo-brief.yaml"), "-q"], tmp_path, cwd=elsewhere)
    assert "SOHR" in briefed.stdout and "## Checks" in briefed.stdout
    # the demo runs from the installed files alone (no checkout, no key) and prints what the README's command prints
    shown = _run([summarize, "demo"], tmp_path, cwd=elsewhere)
    assert shown.stdout == briefed.stdout
    assert str(venv) in shown.stderr and "_data/demo/aleppo" in shown.stderr, "the demo's articles come from inside the installed package"
    _run([summarize, "schema", "--out", "schemas"], tmp_path, cwd=elsewhere)
    assert sorted(p.name for p in (elsewhere / "schemas").glob("*.json")) == sorted(DOCUMENTS)


def test_pipx_installs_the_checkout(tmp_path: Path) -> None:
    probe = subprocess.run([sys.executable, "-m", "pipx", "--version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("pipx is not installed in this environment (pip install pipx)")
    env = _env(tmp_path)
    env.update(PIPX_HOME=str(tmp_path / "pipx"), PIPX_BIN_DIR=str(tmp_path / "bin"), PIPX_MAN_DIR=str(tmp_path / "man"))
    _run([sys.executable, "-m", "pipx", "install", "--pip-args=--no-compile", str(ROOT)], tmp_path, env=env)
    version = _run([str(tmp_path / "bin" / "summarize"), "--version"], tmp_path, env=env)
    assert version.stdout.strip() == f"summarize {__version__}"
