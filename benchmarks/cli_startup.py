"""Start-up time of the command line: the median wall time of `summarize --help` against `python -c pass`.

    python benchmarks/cli_startup.py              # 10 runs of each, interleaved
    python benchmarks/cli_startup.py --runs 30 --command "extract --help"

Both are measured in the same run, alternating, so a busy or slowed machine moves both. Prints the
medians, their ratio, and what `--help` adds over a bare interpreter. Needs no key and no network.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (default 10)")
    parser.add_argument("--command", default="--help", help="arguments after `python -m summarize` (default --help)")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "summarize", *shlex.split(args.command)]
    bare = [sys.executable, "-c", "pass"]
    wall(cli)  # warm the file cache and the byte-code of both, so the first run is not an outlier
    wall(bare)
    cli_times, bare_times = [], []
    for _ in range(args.runs):
        cli_times.append(wall(cli))
        bare_times.append(wall(bare))
    c, b = statistics.median(cli_times), statistics.median(bare_times)
    print(f"python -m summarize {args.command}: median {c * 1000:.0f} ms over {args.runs} runs (min {min(cli_times) * 1000:.0f} ms)")
    print(f"python -c pass: median {b * 1000:.0f} ms over {args.runs} runs")
    print(f"ratio {c / b:.1f}x; the CLI adds {(c - b) * 1000:.0f} ms; target: under 300 ms absolute")


if __name__ == "__main__":
    main()
