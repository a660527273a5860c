"""`summarize render` and `summarize logs`: what was saved, shown again; no model, no key.

``render`` reads whatever the other commands wrote as JSON (``brief -o FILE.json``, ``extract -o FILE.json``
or ``.jsonl``, a batch's reports.jsonl and briefings/*.json) and renders it with the renderers they use;
``logs`` lists a batch store's run log.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from summarize.cli.paths import output_format, refuse_overwriting_inputs, write_output
from summarize.errors import EXIT_OK, InputError, UsageError
from summarize.render.escape import printable

if TYPE_CHECKING:
    from summarize.fileio import Saved

FORMATS = ("html", "md", "json", "jsonl")

EPILOG = """examples:
  summarize render briefing.json -o briefing.html       # the format from the name: .html .md .json .jsonl
  summarize render runs/week48/briefings/aleppo.json -o aleppo.html
  summarize render reports.json --format md              # extract output: the source reports as Markdown
  summarize render runs/week48/reports.jsonl --story aleppo -o aleppo-reports.html

exit codes: 0 written, 2 unreadable input or usage error"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "render",
        help="render a saved briefing or saved source reports as HTML, Markdown or JSON, offline",
        description="Render what another command wrote as JSON (a briefing, extract output, a batch's reports.jsonl or briefings/*.json) "
        "as HTML, Markdown or JSON again. No model call, no key.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="FILE", help="a briefing JSON, extract output (.json or .jsonl), or a batch's reports.jsonl or briefings/*.json")
    p.add_argument("-o", "--output", metavar="PATH", help="write here (atomically) instead of stdout; its extension sets the format")
    p.add_argument("--format", choices=FORMATS, help="html, md (default), json; jsonl for source reports only")
    p.add_argument("--story", metavar="NAME", help="of a batch's reports.jsonl: only this story's reports")


def rendered(saved: Saved, fmt: str, story: str | None = None) -> str:
    """``saved`` as ``fmt``, by the renderers the writing commands use."""
    from summarize.models.report import ExtractionOutput
    from summarize.render import html, reports
    from summarize.render.briefing_md import briefing_markdown

    if saved.briefing is not None:
        if story is not None:
            raise UsageError(f"--story picks a story of a batch's reports.jsonl; {printable(saved.path)} is one briefing")
        if fmt == "jsonl":
            raise UsageError("a briefing renders as html, md or json; jsonl is for source reports")
        b = saved.briefing
        return html.briefing_html(b) if fmt == "html" else briefing_markdown(b) if fmt == "md" else b.model_dump_json(indent=2) + "\n"
    picked = saved.reports_of(story)
    if fmt == "jsonl":  # as a batch wrote it: each line keeps its story
        pairs = [(r, s) for r, s in zip(saved.reports, saved.stories, strict=True) if story is None or s == story]
        return "".join(json.dumps(({"story": s} if s else {}) | r.model_dump(mode="json"), ensure_ascii=False) + "\n" for r, s in pairs)
    out = ExtractionOutput(reports=picked, failed=saved.failed if story is None else [])
    return {"html": html.reports_html, "md": reports.extraction_markdown, "json": reports.extraction_json}[fmt](out)


def run(args: argparse.Namespace) -> int:
    from summarize.fileio import load_saved

    refuse_overwriting_inputs(args.output, [args.input])
    fmt = output_format(args.output, args.format, FORMATS, "md")
    write_output(rendered(load_saved(Path(args.input)), fmt, args.story), args.output)
    return EXIT_OK


def briefings_html(directory: Path) -> list[Path]:
    """Each briefing JSON in a batch's briefings/ rendered beside it as HTML (atomically); the files written."""
    from summarize.fileio import atomic_write, load_saved

    written = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        target = path.with_suffix(".html")
        atomic_write(target, rendered(load_saved(path), "html"))
        written.append(target)
    return written


def say_html(written: list[Path], directory: Path) -> None:
    if written:
        sys.stderr.write(f"wrote {len(written)} HTML briefing{'s' if len(written) != 1 else ''} in {printable(directory)}\n")


def add_logs_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lg = sub.add_parser(
        "logs",
        help="list or export the run log of a batch directory",
        description="Every model call of every run in DIR: time, stage, item, prompt and hash, model, tokens, latency, outcome.",
        epilog="examples:\n  summarize logs runs/week48\n  summarize logs runs/week48 -o calls.jsonl     # the format from the name: .jsonl .csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    lg.add_argument("dir", metavar="DIR")
    lg.add_argument("--format", choices=("table", "jsonl", "csv"), help="table (default), jsonl or csv; or from -o's extension (.jsonl .csv)")
    lg.add_argument("--run", metavar="RUN_ID", help="only this run (default: all runs)")
    lg.add_argument("-o", "--output", metavar="PATH")


def run_logs(args: argparse.Namespace) -> int:
    from summarize.batch.store import Store
    from summarize.render.reports import calls_text

    fmt = output_format(args.output, args.format, ("table", "jsonl", "csv"), "table")
    path = Path(args.dir) / "store.sqlite"
    if not path.is_file():
        raise InputError(f"no batch store in {args.dir} (expected {path})")
    store = Store(path)
    try:
        calls = store.calls(args.run)
    finally:
        store.close()
    write_output(calls_text(calls, fmt), args.output)
    return EXIT_OK
