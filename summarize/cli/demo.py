"""`summarize demo`: the README's example briefing, offline and with no key, from files shipped inside the package.

The example story (four outlets on the November 2024 offensive in western Aleppo and Idlib, with its
aliases.toml) and the cassette that replays its model calls are copied into the wheel as
``summarize/_data/demo/`` (pyproject.toml, force-include); a checkout uses examples/ and cassettes/.
The demo is ``summarize brief ARTICLES --replay CASSETTE`` on those files, so it prints what that prints.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from summarize.errors import ConfigError
from summarize.render.escape import printable

STORY = "aleppo"


def demo_files() -> tuple[Path, Path]:
    """The demo's article directory and cassette: inside the installed package, else the checkout's."""
    package = Path(__file__).resolve().parents[1]
    for articles, tape in (
        (package / "_data" / "demo" / STORY, package / "_data" / "demo" / f"{STORY}-brief.yaml"),
        (package.parent / "examples" / STORY, package.parent / "cassettes" / f"{STORY}-brief.yaml"),
    ):
        if articles.is_dir() and tape.is_file():
            return articles, tape
    raise ConfigError(f"the demo story is not installed next to {package} (expected _data/demo/{STORY}/); reinstall summarize")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="brief the bundled example story offline: no key, no network",
        description="Brief the example story (four outlets reporting the November 2024 offensive in western Aleppo and Idlib) by "
        "replaying its bundled cassette: the same as `summarize brief examples/aleppo --replay cassettes/aleppo-brief.yaml` "
        "in a checkout, from files installed with the package.",
        epilog="examples:\n  summarize demo\n  summarize demo -o briefing.html      # the format from the name: .md .json .html\n"
        "  summarize demo --format json -o briefing.json && summarize check briefing.json\n\nexit codes: as for `summarize brief`",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout")
    p.add_argument("--format", choices=("md", "json", "html"), help="md (default), json or html; or from -o's extension")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")


def brief_argv(args: argparse.Namespace) -> list[str]:
    """The `summarize brief` command line that is the demo."""
    articles, tape = demo_files()
    if not args.quiet:
        sys.stderr.write(f"demo: briefing the {STORY} example story from {printable(articles)}, replaying {printable(tape)}: no network, no key\n")
    given = [*(["-o", args.output] if args.output else []), *(["--format", args.format] if args.format else []), *(["-q"] if args.quiet else [])]
    return ["brief", str(articles), "--replay", str(tape), *given]
