"""`summarize export`: ACLED-layout CSV of event records, or JSONL of figure claims, from saved output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from summarize import api
from summarize.aliases import load_aliases
from summarize.cli.paths import refuse_overwriting_inputs
from summarize.errors import EXIT_OK
from summarize.render.export import acled_rows, csv_text, figure_claims_jsonl, write_atomic


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register ``summarize export``. ``common`` (the endpoint options) is not used: exporting calls no model."""
    p = sub.add_parser(
        "export",
        help="export event records as ACLED-layout CSV, or figure claims as JSONL",
        description="Export saved extraction output or a briefing: one CSV row per event record in ACLED's 31 columns plus UCDP-style "
        "columns (fatalities by ACLED's lowest-reported rule, stated in notes), or one JSON line per figure claim with its claimant.",
        epilog="examples:\n  summarize extract examples/aleppo --replay cassettes/aleppo-extract.yaml -o reports.json\n"
        "  summarize export reports.json -o events.csv\n  summarize export reports.json --to figures -o figures.jsonl\n\n"
        "exit codes: 0 written, 2 unreadable input",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="extract output (--format json or jsonl) or a briefing JSON (brief --format json)")
    p.add_argument("--to", choices=("acled", "figures"), default="acled", help="acled: CSV of event records (default); figures: JSONL of figure claims")
    p.add_argument("-o", "--output", metavar="PATH", help="write here (atomically) instead of stdout")
    p.add_argument("--aliases", metavar="FILE|PACK", help="a bundled story pack (e.g. syria) or a TOML file of aliases, merged over the core table")


def run(args: argparse.Namespace) -> int:
    refuse_overwriting_inputs(args.output, [args.input])
    reports = api.reports_from_file(Path(args.input))
    aliases = load_aliases(Path(args.aliases) if args.aliases else None)
    text = figure_claims_jsonl(reports, aliases) if args.to == "figures" else csv_text(acled_rows(reports, aliases))
    if args.output and args.output != "-":
        write_atomic(Path(args.output), text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    if not reports:
        sys.stderr.write(f"summarize: {args.input} holds no source reports; wrote {'nothing' if args.to == 'figures' else 'the header only'}\n")
    return EXIT_OK
