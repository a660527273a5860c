"""`summarize batch --batch-api`, `summarize batch status DIR`, `summarize batch collect DIR`: the Batch API's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from summarize.batch.batch_api import REQUESTS_FILE, batch_status, collect_batch, read_state, submit
from summarize.batch.runner import BatchOptions
from summarize.batch.stop import Stop
from summarize.brief.writer import BriefOptions
from summarize.cli.progress import BatchProgress
from summarize.cli.signals import resume_command, stopping_on_signals
from summarize.config import settings_for
from summarize.errors import EXIT_INPUT, EXIT_OK, UsageError


def add_batch_api_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("OpenAI Batch API (half price, answers within 24 hours)")
    g.add_argument("--batch-api", action="store_true", help="write DIR/batch_requests.jsonl, upload it, create a batch (then: batch status|collect DIR)")
    g.add_argument("--no-upload", action="store_true", help="with --batch-api: only write the request file (for vLLM's offline runner)")
    g.add_argument("--results", metavar="FILE", help="collect: read this results file (vLLM run_batch output) instead of downloading")
    g.add_argument("--wait", action="store_true", help="collect: poll until the batch has finished")
    g.add_argument("--poll-interval", type=float, default=60.0, metavar="SECONDS", help="collect --wait: seconds between polls (default 60)")


def dispatch(args: argparse.Namespace) -> int | None:
    """Run the Batch API forms of `summarize batch`; None when the arguments ask for an ordinary batch run."""
    if len(args.inputs) == 2 and args.inputs[0] in ("status", "collect") and not Path(args.inputs[0]).exists():
        return cmd_status(args) if args.inputs[0] == "status" else cmd_collect(args)
    if args.batch_api:
        return cmd_submit(args)
    if args.no_upload or args.results or args.wait:
        raise UsageError("--no-upload goes with --batch-api; --results and --wait with `summarize batch collect DIR`")
    return None


def _options(args: argparse.Namespace, out: Path) -> BatchOptions:
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    return BatchOptions(
        out=out, concurrency=args.concurrency, rpm=args.rpm, tpm=args.tpm, max_cost=args.max_cost, group=args.group,
        brief=not args.no_brief, brief_options=BriefOptions(language=args.language),
    )


def cmd_submit(args: argparse.Namespace) -> int:
    if not args.out:
        raise UsageError("--batch-api needs --out DIR")
    settings = settings_for(vars(args))
    if not args.no_upload:
        settings.require_endpoint()
    state = submit(args.inputs, settings, _options(args, Path(args.out)), upload=not args.no_upload)
    sent = [e["sent"] for e in state["items"].values()]
    where = f"batch {state['batch_id']}" if state["batch_id"] else f"not uploaded: {Path(args.out) / REQUESTS_FILE}"
    sys.stderr.write(
        f"batch-api: {state['requests']} requests ({where}); {sent.count('sync')} long article(s) will be sent synchronously at collect, "
        f"{sent.count('done')} already done, {state['read_failures']} unreadable\n"
    )
    return EXIT_INPUT if state["read_failures"] else EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    out = Path(args.inputs[1])
    read_state(out)  # says plainly when DIR holds no submission, before any endpoint check
    info = batch_status(out, settings_for(vars(args)))
    counts = info.get("request_counts") or {}
    line = f"batch {info.get('id')}: {info['status']}"
    if counts:
        line += f"; {counts['completed']} of {counts['total']} requests completed, {counts['failed']} failed"
    if info["status"] == "not_uploaded":
        line = f"not uploaded: {info['requests']} requests in {out / REQUESTS_FILE}; run them, then `summarize batch collect {out} --results FILE`"
    sys.stdout.write(line + "\n")
    for err in (info.get("errors") or {}).get("data") or []:
        sys.stdout.write(f"  error: {err.get('message')}" + (f" (line {err['line']})" if err.get("line") else "") + "\n")
    return EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    out = Path(args.inputs[1])
    state = read_state(out)
    settings = settings_for(vars(args))
    progress = BatchProgress(len(state["items"]) + state["read_failures"], quiet=args.quiet)
    try:
        with stopping_on_signals(Stop()) as stop:
            result, asked = collect_batch(
                out, settings, _options(args, out), results=Path(args.results) if args.results else None, wait=args.wait, poll=args.poll_interval,
                on_event=progress, stop=stop,
            )
    finally:
        progress.close()
    s = result.summary()
    for label, why in [] if args.quiet else asked.items():
        sys.stderr.write(f"↻ {label}: asked again synchronously: {why[:300]}\n")
    sys.stderr.write(
        f"batch collect: {s['items']} items: {s['extracted']} extracted ({len(asked)} asked again synchronously), {s['cached']} cached, {s['failed']} failed; "
        f"{s['briefings']} briefings ({s['briefings_failed']} failed); {s['usage']['total_tokens']:,} tokens -> {out}\n"
    )
    if result.stopped_by:
        resume = resume_command(getattr(args, "argv", []))
        sys.stderr.write(f"summarize: stopped by {result.stopped_by}: finished work is kept in {out / 'store.sqlite'}; resume with: {resume}\n")
    return result.exit_code
