"""`summarize export`: ACLED-layout CSV of event records, or JSONL of figure claims, from saved output."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from summarize.cli.paths import output_format, refuse_overwriting_inputs, write_output
from summarize.errors import EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser) -> None:
    """Register ``summarize export``. ``common`` (the endpoint options) is not used: exporting calls no model."""
    p = sub.add_parser(
        "export",
        help="export event records as ACLED-layout CSV, or figure claims as JSONL",
        description="Export saved extraction output or a briefing: one CSV row per event record in ACLED's 31 columns plus UCDP-style "
        "columns (fatalities by ACLED's lowest-reported rule, stated in notes), or one JSON line per figure claim with its claimant.",
        epilog="examples:\n  summarize extract examples/aleppo --replay cassettes/aleppo-extract.yaml -o reports.json\n"
        "  summarize export reports.json -o events.csv\n  summarize export reports.json -o figures.jsonl   (--to figures, from the name)\n"
        "  summarize export runs/week48/reports.jsonl -o events.csv\n\n"
        "exit codes: 0 written, 2 unreadable input",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", metavar="INPUT", help="extract output (-o FILE.json or .jsonl), a batch's reports.jsonl, or a briefing JSON (brief -o FILE.json)")
    p.add_argument(
        "--to", choices=("acled", "figures"), help="acled: CSV of event records (default; -o FILE.csv); figures: JSONL of figure claims (-o FILE.jsonl)"
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write here (atomically) instead of stdout")
    p.add_argument("--aliases", metavar="FILE|PACK", help="a bundled story pack (e.g. syria) or a TOML file of aliases, merged over the core table")


def run(args: argparse.Namespace) -> int:
    from summarize.aliases import load_aliases
    from summarize.fileio import load_saved
    from summarize.render.export import acled_rows, csv_text, figure_claims_jsonl

    refuse_overwriting_inputs(args.output, [args.input])  # first: of all that can be wrong with -o, this one destroys data
    to = output_format(args.output, args.to, ("acled", "figures"), "acled", flag="--to", kinds={"csv": "acled", "jsonl": "figures"})
    reports = load_saved(Path(args.input)).reports
    aliases = load_aliases(Path(args.aliases) if args.aliases else None)
    write_output(figure_claims_jsonl(reports, aliases) if to == "figures" else csv_text(acled_rows(reports, aliases)), args.output)
    if not reports:
        sys.stderr.write(f"summarize: {args.input} holds no source reports; wrote {'nothing' if to == 'figures' else 'the header only'}\n")
    return EXIT_OK
