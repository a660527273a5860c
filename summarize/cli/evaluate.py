"""`summarize eval`: score saved or freshly briefed runs against gold annotations, or compare two runs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from summarize import api
from summarize.aliases import load_aliases
from summarize.brief.writer import BriefOptions
from summarize.cli.progress import progress_lines
from summarize.config import settings_for
from summarize.errors import EndpointError, InputError, UsageError
from summarize.evaluate.gold import EvalRun, GoldStory, compare_markdown, eval_markdown, load_eval, load_gold, overall, unpaired_stories
from summarize.evaluate.scores import Run, evaluate_story
from summarize.fileio import atomic_write


def _saved(golds: Sequence[GoldStory], args: argparse.Namespace) -> list[Run | None]:
    """Each story's saved run: the briefing sharing most of its sources, or the reports of its sources.

    A story no saved file covers is None (the caller names it and scores the rest); when none is
    covered, that is an input error.
    """
    files: list[str] = args.briefing or args.reports
    if args.briefing:
        candidates: list[Run] = [(b.reports, b) for b in (api.load_briefing(Path(f)) for f in files)]
    else:
        candidates = [([r for f in files for r in api.load_reports(Path(f))], None)]
    runs: list[Run | None] = []
    for gold in golds:
        reports, briefing = max(candidates, key=lambda run: sum(r.source.id in gold.source_ids for r in run[0]))
        mine = reports if briefing else [r for r in reports if r.source.id in gold.source_ids]
        runs.append((mine, briefing) if any(r.source.id in gold.source_ids for r in mine) else None)
    if all(run is None for run in runs):
        held = sorted({r.source.id for run in candidates for r in run[0]})
        wanted = "; ".join(f"{g.story!r} (sources {', '.join(g.source_ids)})" for g in golds)
        raise InputError(
            f"nothing here covers {'story' if len(golds) == 1 else 'any of the stories'} {wanted}; it holds sources {', '.join(held) or 'none'}",
            item=", ".join(files),
        )
    return runs


def _live(golds: Sequence[GoldStory], paths: Sequence[Path], args: argparse.Namespace, options: BriefOptions) -> list[Run]:
    if args.cassettes and args.replay:
        raise UsageError("give --cassettes DIR (one cassette per story) or --replay FILE, not both")
    if (args.record or args.replay) and len(golds) > 1:
        raise UsageError("--record and --replay take one story; for several, use --cassettes DIR")
    runs: list[Run] = []
    for gold, path in zip(golds, paths, strict=True):
        if gold.inputs is None:
            raise UsageError("gold file names no 'inputs' directory for a live run; use --reports or --briefing, or add 'inputs'", item=str(path))
        replay = str(Path(args.cassettes) / f"{gold.story}-brief.yaml") if args.cassettes else args.replay
        settings = settings_for({**vars(args), "replay": replay})
        settings.require_endpoint()
        progress = None if args.quiet else progress_lines(sys.stderr)
        briefing, out = api.brief_files([str(path.parent / gold.inputs)], settings, options, progress=progress)
        if briefing is None:
            why = "; ".join(f"{f.error}: {f.message}" for f in out.failed if f.stage == "brief") or "no source produced a report"
            raise EndpointError(f"no briefing to evaluate ({why})", item=gold.story)
        runs.append((briefing.reports, briefing))
    return runs


def _require_utf8(path: Path, what: str) -> None:
    """A file that is not UTF-8 is refused in one line naming it (reading it is left to the loaders, with their messages)."""
    try:
        path.read_bytes().decode("utf-8")
    except OSError:
        return
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 ({exc.reason} at byte {exc.start}), so not {what}", item=str(path)) from None


def evaluate(args: argparse.Namespace) -> EvalRun:
    paths = [Path(g) for g in args.gold]
    for path in paths:
        _require_utf8(path, "a gold file")
    golds = [load_gold(p) for p in paths]
    options = BriefOptions(terms=tuple(Path(t) for t in args.terms), aliases=Path(args.aliases) if args.aliases else None)
    aliases = load_aliases(options.aliases)
    runs: Sequence[Run | None] = _saved(golds, args) if args.reports or args.briefing else _live(golds, paths, args, options)
    stories = [evaluate_story(gold, run[0], aliases, options, run[1]) for gold, run in zip(golds, runs, strict=True) if run is not None]
    skipped = [gold for gold, run in zip(golds, runs, strict=True) if run is None]
    if skipped:
        names = ", ".join(g.story for g in skipped)
        sys.stderr.write(f"summarize: warning: not scored, as no saved run holds their sources: {names}; scored {', '.join(s.story for s in stories)}\n")
    return EvalRun(stories=stories, overall=overall(stories), not_covered=[g.story for g in skipped])


EPILOG = """examples (run in order from the repository root, they work offline as written):
  summarize eval examples/gold/*.json --cassettes cassettes/ --out a/   # brief each story offline, then score it
  summarize brief examples/aleppo --replay cassettes/aleppo-brief.yaml -o b.json
  summarize eval examples/gold/aleppo.json --briefing b.json --out b/   # a saved briefing; writes b/eval.json, b/eval.md
  summarize extract examples/floods --replay cassettes/floods-extract.yaml -o reports.json
  summarize eval examples/gold/*.json --reports reports.json            # extraction only; stories it lacks are named, not scored
  summarize eval --compare a/eval.json b/eval.json                      # per metric: A, B, B - A; warns when the story sets differ

Without --reports or --briefing, each story is briefed from the gold file's 'inputs' directory
with the endpoint options below (live), or offline from a cassette (--replay FILE, --cassettes DIR).
exit codes: 0 metrics written, 2 usage or input error, 3 endpoint error"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    ev = sub.add_parser(
        "eval",
        parents=[common],
        help="measure extractions and briefings against gold annotations, or compare two runs",
        description="Score a run against gold annotations of each story: figures, disagreements, quotes, numbers, loaded terms, coverage, order invariance.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ev.add_argument("gold", nargs="*", metavar="GOLD", help="gold annotation files (JSON, schemas/gold.schema.json), one per story")
    source = ev.add_mutually_exclusive_group()
    source.add_argument("--reports", action="append", metavar="FILE", help="saved `extract` output (json or jsonl); repeatable")
    source.add_argument("--briefing", action="append", metavar="FILE", help="saved `brief --format json` output; repeatable")
    source.add_argument("--cassettes", metavar="DIR", help="brief each story offline, replaying DIR/<story>-brief.yaml")
    source.add_argument("--compare", nargs=2, metavar=("A", "B"), help="compare two eval.json files written by --out")
    ev.add_argument("--out", metavar="DIR", help="also write eval.json and eval.md (compare.md with --compare) here")
    ev.add_argument("--terms", action="append", default=[], metavar="FILE", help="extra loaded-term list; repeatable")
    ev.add_argument("--aliases", metavar="FILE|PACK", help="a bundled story pack (e.g. syria) or a TOML file of aliases")


def run(args: argparse.Namespace) -> int:
    if args.compare:
        if args.gold:
            raise UsageError("--compare takes two eval.json files and no GOLD files")
        a, b = args.compare
        for path in (a, b):
            _require_utf8(Path(path), "an eval.json written by summarize eval --out")
        run_a, run_b = load_eval(Path(a)), load_eval(Path(b))
        only_a, only_b = unpaired_stories(run_a, run_b)
        if only_a or only_b:
            sides = "; ".join(f"only in {label} ({path}): {', '.join(names)}" for label, path, names in (("A", a, only_a), ("B", b, only_b)) if names)
            sys.stderr.write(f"summarize: warning: the runs cover different stories ({sides}); overall compares only the stories in both\n")
        files = {"compare.md": compare_markdown(run_a, run_b, a, b)}
    else:
        if not args.gold:
            raise UsageError("give one or more GOLD files, or --compare A.json B.json")
        result = evaluate(args)
        files = {"eval.json": result.model_dump_json(indent=2) + "\n", "eval.md": eval_markdown(result)}
    sys.stdout.write(next(text for name, text in files.items() if name.endswith(".md")))
    if args.out:
        for name, text in files.items():
            atomic_write(Path(args.out) / name, text)
    return 0
