"""Command line: parse, call one function from api.py, write the output, return an exit code.

Only light modules load at start, so ``summarize --help`` is quick: each command imports what it needs
when it runs, and the commands whose modules load the model SDKs (eval, doctor, the Batch API flags)
are built only when chosen (``_Commands``)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from summarize import __version__
from summarize.cli import demo, export, render
from summarize.cli.paths import output_format, refuse_overwriting_inputs, write_output
from summarize.cli.progress import batch_closing, progress_lines, quiet_libraries
from summarize.config import MODES, PROFILES, settings_for
from summarize.errors import EXIT_ENDPOINT, EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_PARTIAL, EXIT_SIGINT, SummarizeError, UsageError
from summarize.render.escape import printable

if TYPE_CHECKING:
    from summarize.brief.writer import BriefOptions

    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction  # generic only to the type checker

EXIT_CODES = """exit codes:
  0    success: every item extracted and every check passed
  1    output written, but some verification failed (items dropped; see "checks")
  2    usage or input error (bad flags, unreadable files; other files are still processed)
  3    endpoint error (unreachable, refused, truncated, invalid answers, malformed or mismatched cassette)
  4    output error: cannot write (disk full, read-only directory) or the batch store is damaged
  5    the batch directory is in use by another run
  6    internal error (a bug): please report it with the traceback
  130  batch stopped by Ctrl-C (SIGINT), 143 by SIGTERM: finished work is kept; the same command resumes
"""

ENV_HELP = """environment:
  OPENAI_API_KEY     key for the endpoint (not needed for --replay or local servers)
  OPENAI_BASE_URL    any OpenAI-compatible endpoint: Azure, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter
  SUMMARIZE_MODEL    model or deployment name (default gpt-4o-mini)
  SUMMARIZE_PROFILE / SUMMARIZE_MODE   endpoint family and structured-output mode (default: detected)
  SUMMARIZE_PRICE_INPUT / SUMMARIZE_PRICE_OUTPUT   USD per million tokens, to report cost
"""


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("endpoint and run options")
    g.add_argument("--model", help="model or deployment name")
    g.add_argument("--base-url", help="OpenAI-compatible base URL (default: OPENAI_BASE_URL or OpenAI)")
    g.add_argument("--profile", choices=sorted(PROFILES), help="endpoint family (default: detected from the URL)")
    g.add_argument("--mode", choices=MODES, help="structured-output mode (default: the profile's)")
    g.add_argument("--record", metavar="FILE", help="save this run's HTTP exchanges to a cassette")
    g.add_argument("--replay", metavar="FILE", help="replay a cassette: no network, no key")
    g.add_argument("--prompts", dest="prompts_dir", metavar="DIR", help="use prompt templates from DIR first")
    g.add_argument("--timeout", type=float, help="seconds per request (default 120)")
    g.add_argument("--max-reasks", type=int, help="validation re-asks per call (default 2)")
    g.add_argument("--chunk-chars", type=int, help="split articles longer than this (default 12000)")
    g.add_argument("--context-tokens", type=int, metavar="N", help="the model's context window: chunks are sized so prompt, schema and answer fit")
    g.add_argument("--local", metavar="MODEL.gguf", help="run a llama.cpp server for this GGUF model on 127.0.0.1 (needs summarize[local])")
    g.add_argument("--max-bytes", type=int, help="refuse input files larger than this (default 5000000)")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr (errors and failures still print)")
    return p


class _Commands(Subparsers):
    """The subcommands; one whose module loads the model SDKs is built only when it is chosen, so ``--help`` stays fast."""

    deferred: dict[str, Callable[[], object]]

    def elsewhere(self, name: str, help: str, module: str, common: argparse.ArgumentParser) -> None:
        """A command ``module`` registers: listed now with ``help`` (a test keeps it equal to the module's), built when chosen."""
        self.add_parser(name, help=help)

        def build() -> None:
            scratch = Subparsers(option_strings=[], prog=self._prog_prefix, parser_class=self._parser_class)
            _module(module).add_parser(scratch, common)
            self._name_parser_map[name] = scratch._name_parser_map[name]

        self.deferred[name] = build

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:
        if (build := self.deferred.pop(values[0], None)) is not None:
            build()
        super().__call__(parser, namespace, values, option_string)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="summarize",
        description="Grounded event records and neutral briefings from news articles.",
        epilog=EXIT_CODES + "\n" + ENV_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"summarize {__version__}")
    sub = cast(_Commands, parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=_Commands))
    sub.deferred = {}
    common = _common()

    ex = sub.add_parser(
        "extract",
        parents=[common],
        help="extract grounded source reports from articles",
        description="Extract events, figures (with who said them), claims and actors from each article; every quote is aligned to the source text.",
        epilog="example:\n  summarize extract examples/aleppo/ --replay cassettes/aleppo-extract.yaml --format md\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ex.add_argument(
        "inputs", nargs="+", metavar="FILE", help="article files (.txt .md .json .jsonl .html .htm), directories, URLs (with --allow-network), or - for stdin"
    )
    ex.add_argument("--allow-network", action="store_true", help="fetch http:// and https:// inputs (without it they are refused)")
    ex.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout; its extension (.json .jsonl .md .html) sets the format")
    ex.add_argument("--format", choices=("json", "jsonl", "md", "html"), help="json (default), jsonl, md or html; must agree with -o's extension")

    br = sub.add_parser(
        "brief",
        parents=[common],
        help="write one neutral, cited briefing from several articles about one story",
        description="Extract each article, reconcile figures by scope in code, have the model write from the numbered claims, then gate every sentence.",
        epilog="examples:\n  summarize brief examples/aleppo/ --replay cassettes/aleppo-brief.yaml\n"
        "  summarize extract examples/aleppo/ -o reports.json && summarize brief --reports reports.json -o briefing.json --format json\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    br.add_argument(
        "inputs", nargs="*", metavar="FILE", help="article files (.txt .md .json .jsonl .html .htm), directories, URLs (with --allow-network), or - for stdin"
    )
    br.add_argument("--allow-network", action="store_true", help="fetch http:// and https:// inputs (without it they are refused)")
    br.add_argument("--reports", metavar="FILE", help="brief from saved reports (extract output, a batch's reports.jsonl, a briefing), not extracting again")
    br.add_argument("--story", metavar="NAME", help="with --reports of a batch: the story to brief (a reports.jsonl holds several)")
    br.add_argument("-o", "--output", metavar="PATH", help="write here instead of stdout; its extension (.md .json .html) sets the format")
    br.add_argument("--format", choices=("md", "json", "html"), help="md (default), json or html; must agree with -o's extension")
    br.add_argument("--language", default="English", help="language of the briefing (default English)")
    br.add_argument("--terms", action="append", default=[], metavar="FILE", help="extra loaded-term list (pattern | neutral rendering per line); repeatable")
    br.add_argument("--aliases", metavar="FILE|PACK", help="a bundled story pack (e.g. syria) or a TOML file of aliases, merged over the core table")

    ck = sub.add_parser(
        "check",
        help="re-run every check on a saved briefing, offline",
        description="Re-verify a briefing JSON: its quotes against the sources it carries, its figure tables, and every gate on its sentences. No model call.",
        epilog="example:\n  summarize check briefing.json\n\nexit codes: 0 every check passed, 1 a check failed, 2 unreadable input",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ck.add_argument("briefing", metavar="BRIEFING.json", help="brief -o FILE.json, or a batch's briefings/STORY.json")
    ck.add_argument("--terms", action="append", default=[], metavar="FILE")
    ck.add_argument("--aliases", metavar="FILE|PACK")

    ba = sub.add_parser(
        "batch",
        parents=[common],
        help="extract and brief many articles, grouped into stories, concurrently and resumably",
        description="Run many articles: group them into stories, extract concurrently within rate limits, brief each story. "
        "Finished work is kept in DIR/store.sqlite: re-running the same command skips it, and a killed run resumes.",
        epilog="examples:\n  summarize batch collected/ --out runs/week48 --concurrency 16 --rpm 500\n"
        "  summarize batch manifest.jsonl --out runs/m --group auto --max-cost 5\n  summarize logs runs/week48\n"
        "  summarize batch collected/ --out runs/w49 --batch-api   then: summarize batch status runs/w49; summarize batch collect runs/w49\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ba.add_argument(
        "inputs", nargs="+", metavar="INPUT", help="directories, globs, article files, or JSONL manifests (records with path or text, optional story)"
    )
    ba.add_argument("--out", metavar="DIR", help="output directory (reports.jsonl, briefings/, errors.jsonl, summary.json, store.sqlite)")
    ba.add_argument("--concurrency", type=int, default=8, help="requests in flight at once (default 8)")
    ba.add_argument("--rpm", type=float, help="client-side limit of requests per minute (default: learned from the server's headers)")
    ba.add_argument("--tpm", type=float, help="client-side limit of tokens per minute")
    ba.add_argument("--max-cost", type=float, metavar="USD", help="stop starting new calls before this cost would be exceeded (needs prices)")
    ba.add_argument(
        "--group", choices=("dirs", "auto", "none"), default="dirs", help="stories by sub-directory (default), by content and date (auto), or one story"
    )
    ba.add_argument(
        "--workers", type=int, metavar="N",
        help="processes for the CPU part of extraction (request building, validation, grounding); default: from the CPU count; 1: all in this process",
    )  # fmt: skip
    ba.add_argument("--no-brief", action="store_true", help="extract only")
    ba.add_argument("--html", action="store_true", help="also write briefings/STORY.html beside each briefing's .md and .json")
    ba.add_argument("--language", default="English", help="language of the briefings")
    sub.deferred["batch"] = lambda: _module("batch_api").add_batch_api_arguments(ba)

    render.add_logs_parser(sub)
    for name, module, what in (
        ("eval", "evaluate", "measure extractions and briefings against gold annotations, or compare two runs"),
        ("doctor", "doctor", "show the configuration in use and check that the endpoint answers and honours the JSON schema"),
    ):
        sub.elsewhere(name, what, module, common)
    export.add_parser(sub, common)
    render.add_parser(sub)
    demo.add_parser(sub)

    sc = sub.add_parser(
        "schema",
        help="write the JSON Schema files generated from the models",
        description="Write JSON Schemas for the model-facing draft and the outputs; --check fails when files differ.",
        epilog="example:\n  summarize schema --out schemas/ --check",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("--out", default="schemas", metavar="DIR")
    sc.add_argument("--check", action="store_true", help="exit 1 if the files in DIR differ from the models")
    return parser


def _module(name: str) -> Any:
    """A command module that loads the SDKs, imported when its command runs."""
    import importlib

    return importlib.import_module(f"summarize.cli.{name}")


def _cmd_extract(args: argparse.Namespace) -> int:
    from summarize import api
    from summarize.render import html, reports

    refuse_overwriting_inputs(args.output, args.inputs)  # first: of all that can be wrong with -o, this one destroys data
    fmt = output_format(args.output, args.format, ("json", "jsonl", "md", "html"), "json")
    settings = settings_for(vars(args))  # the endpoint is asked for once a readable article needs it
    out = api.extract_files(
        args.inputs, settings, stdin=sys.stdin.buffer if "-" in args.inputs else None, progress=progress_lines(sys.stderr, quiet=args.quiet),
        allow_network=args.allow_network,
    )  # fmt: skip
    text = {"json": reports.extraction_json, "jsonl": reports.extraction_jsonl, "md": reports.extraction_markdown, "html": html.reports_html}[fmt](out)
    write_output(text, args.output)
    return api.exit_code(out)


def _options(args: argparse.Namespace) -> BriefOptions:
    from summarize.aliases import load_aliases
    from summarize.brief.writer import BriefOptions
    from summarize.gate.lexicon import load_lexicon

    options = BriefOptions(
        language=getattr(args, "language", "English"),
        terms=tuple(Path(t) for t in args.terms),
        aliases=Path(args.aliases) if args.aliases else None,
    )
    # read the user's lists now, so a typo fails before any model call is paid for
    try:
        load_lexicon(["en"], options.terms)
        load_aliases(options.aliases)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--terms/--aliases: {exc}") from None
    return options


def _cmd_brief(args: argparse.Namespace) -> int:
    from summarize import api
    from summarize.fileio import Saved

    if not args.inputs and not args.reports:
        raise UsageError("give article files to brief, or --reports FILE with saved extraction output")
    if args.story and not args.reports:
        raise UsageError("--story picks one story of --reports FILE (a batch's reports.jsonl)")
    refuse_overwriting_inputs(args.output, [*args.inputs, *([args.reports] if args.reports else [])])
    fmt = output_format(args.output, args.format, ("md", "json", "html"), "md")
    settings = settings_for(vars(args))  # the endpoint is asked for once the inputs have been read and there is something to send
    briefing, out = api.brief_files(
        args.inputs, settings, _options(args), reports_file=Path(args.reports) if args.reports else None, story=args.story,
        stdin=sys.stdin.buffer if "-" in args.inputs else None, progress=progress_lines(sys.stderr, quiet=args.quiet), allow_network=args.allow_network,
    )  # fmt: skip
    if briefing is not None:
        write_output(render.rendered(Saved(Path(args.output or "-"), briefing.reports, briefing=briefing), fmt), args.output)
        failed = [c.name for c in briefing.checks if not c.passed]
        if failed or not args.quiet:
            sys.stderr.write(
                f"briefing: {len(briefing.sentences())} sentences, {len(briefing.removed)} removed; "
                + (f"checks failed: {', '.join(failed)}\n" if failed else "all checks passed\n")
            )
    for item in out.failed:
        if item.stage == "brief":
            sys.stderr.write(f"✗ briefing failed ({item.error}): {printable(item.message)}\n")
    if briefing is None and not out.reports:
        sys.stderr.write("summarize: nothing to brief: no article could be read or extracted\n")
    return api.briefing_exit_code(briefing, out)


def _cmd_check(args: argparse.Namespace) -> int:
    from summarize import api

    checks = api.check_briefing(api.load_briefing(Path(args.briefing)), _options(args))
    for c in checks:
        sys.stdout.write(f"{'✓' if c.passed else '✗'} {c.name}: {printable(c.detail)}\n" + "".join(f"    - {printable(f)}\n" for f in c.failures))
    return EXIT_OK if all(c.passed for c in checks) else EXIT_PARTIAL


def _cmd_batch(args: argparse.Namespace) -> int:
    from summarize.batch.inputs import collect
    from summarize.batch.runner import BatchOptions, early_pool, run_batch
    from summarize.batch.stop import Stop
    from summarize.brief.writer import BriefOptions
    from summarize.cli.progress import BatchProgress
    from summarize.cli.signals import stopping_on_signals
    from summarize.sources.files import Skipped

    if (code := _module("batch_api").dispatch(args)) is not None:  # --batch-api, `batch status DIR`, `batch collect DIR`
        return int(code)
    if not args.out:
        raise UsageError("summarize batch needs --out DIR")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.workers is not None and args.workers < 1:
        raise UsageError("--workers must be at least 1 (1: everything in this process)")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise UsageError(f"--out {args.out} is a file; give a directory")
    settings = settings_for(vars(args))  # no endpoint check here: a re-run of finished work makes no call and needs no key
    options = BatchOptions(
        out=Path(args.out),
        concurrency=args.concurrency,
        rpm=args.rpm,
        tpm=args.tpm,
        max_cost=args.max_cost,
        group=args.group,
        brief=not args.no_brief,
        brief_options=BriefOptions(language=args.language),
        workers=args.workers,
    )
    skipped: list[Skipped] = []  # files in input directories that are not articles: warned now, listed in summary.json
    workers = early_pool(settings, args.workers, concurrency=args.concurrency, rpm=args.rpm, tpm=args.tpm)  # they warm up as we read
    items, failures = collect(args.inputs, group=args.group, max_bytes=settings.max_bytes, exclude=options.out, skipped=skipped)
    progress = BatchProgress(len(items) + len(failures), quiet=args.quiet)
    for failure in failures:  # unreadable inputs: said at once, under -q too, and counted towards the total
        progress("failed", failure.item, {"message": failure.message})
    try:
        with stopping_on_signals(Stop()) as stop:
            result = run_batch(args.inputs, settings, options, on_event=progress, collected=(items, failures), stop=stop, skipped=skipped, workers=workers)
    finally:
        progress.close()
    sys.stderr.write(batch_closing(result, options.out, args.argv))
    if args.html:
        render.say_html(render.briefings_html(options.out / "briefings"), options.out / "briefings")
    return result.exit_code


def _cmd_schema(args: argparse.Namespace) -> int:
    from summarize.models import schemas

    out = Path(args.out)
    if args.check:
        stale = schemas.drift(out)
        for name in stale:
            sys.stderr.write(f"schema drift: {printable(out / name)} differs from the models; run `summarize schema --out {printable(out)}`\n")
        return 1 if stale else EXIT_OK
    for path in schemas.write(out):
        sys.stderr.write(f"wrote {printable(path)}\n")
    return EXIT_OK


def cli(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 for --help
        return int(exc.code or 0)
    args.argv = argv
    quiet_libraries(logging.WARNING - 10 * min(getattr(args, "verbose", 0), 2))
    try:
        commands: dict[str, Callable[[argparse.Namespace], int]] = {
            "extract": _cmd_extract,
            "brief": _cmd_brief,
            "check": _cmd_check,
            "batch": _cmd_batch,
            "logs": render.run_logs,
            "schema": _cmd_schema,
            "eval": lambda a: int(_module("evaluate").run(a)),
            "doctor": lambda a: int(_module("doctor").run(a)),
            "export": export.run,
            "render": render.run,
            "demo": lambda a: cli(demo.brief_argv(a)),
        }
        if getattr(args, "local", None):
            return _with_local(args, commands[args.command])
        return commands[args.command](args)
    except SummarizeError as exc:
        sys.stderr.write(f"summarize: {printable(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        from summarize.cli.signals import resume_command

        resume = f"; finished work is kept in the store; resume with: {resume_command(argv)}" if args.command == "batch" else ""
        sys.stderr.write(f"summarize: interrupted{resume}\n")
        return EXIT_SIGINT
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug: say so, with the traceback, and never exit as if the run were merely partial
        sys.stderr.write("".join(traceback.format_exception(exc)))
        sys.stderr.write(f"summarize: internal error (a bug): {printable(f'{type(exc).__name__}: {exc}')}; please report it, with the traceback above\n")
        return EXIT_INTERNAL


def _with_local(args: argparse.Namespace, command: Callable[[argparse.Namespace], int]) -> int:
    """Run ``command`` against a llama.cpp server started for ``--local MODEL.gguf``, stopped afterwards."""
    from summarize.llm.local import local_server

    if args.replay or args.base_url:
        raise UsageError("--local starts its own server: leave out --replay and --base-url")
    say = None if args.quiet else (lambda line: print(f"summarize: {line}", file=sys.stderr, flush=True))
    with local_server(Path(args.local), context_tokens=args.context_tokens, say=say) as server:
        args.base_url, args.profile = server.url, "llamacpp-python"
        args.model = args.model or server.model
        args.context_tokens = server.context_tokens
        args.timeout = args.timeout or 1800.0  # a small model on a laptop CPU takes minutes per article
        return command(args)


def main() -> None:
    code = cli()
    if code >= 128 and threading.active_count() > 1:  # a second Ctrl-C left calls in flight: do not wait for them
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


__all__ = ["EXIT_ENDPOINT", "EXIT_INPUT", "build_parser", "cli", "main"]
