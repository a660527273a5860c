"""Extract event records from a JSONL of articles with Ray Data, then print what happened to each row.

    python examples/ray/extract_with_ray.py articles.jsonl --out reports/ --cache cache/ \\
        --base-url http://127.0.0.1:8080/v1 --actors 4 --concurrency 16 --rpm 10000

Each input line is {"name": ..., "text": ..., "story": ...} (``text`` as an article file holds it,
header lines allowed). On a cluster, start it with ``ray job submit`` and point --cache at storage
every node mounts; on one machine it starts a local Ray instance with --num-cpus CPUs.
Reports go to --out as JSON lines (one file per block, Ray's layout), with each row's status.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

from summarize.batch.ray_data import extract_dataset
from summarize.config import load_settings


def cpus_per_actor(cpus: float, actors: int) -> float:
    """Ray's CPU reservation per actor, leaving one CPU for the read tasks: reserve more than the cluster has and
    the read waits for CPUs the actors hold while the actors wait for rows (a deadlock on a small machine). The
    reservation only schedules; an actor's threads spend most of their time waiting on the endpoint anyway."""
    return max(0.1, min(1.0, (cpus - 1.0) / max(1, actors)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("articles", help="JSONL file (or directory of them) with name, text and story per line")
    parser.add_argument("--out", required=True, help="directory for the report rows (JSON lines)")
    parser.add_argument("--cache", required=True, help="report cache directory (shared storage on a cluster)")
    parser.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL, or OpenAI with OPENAI_API_KEY)")
    parser.add_argument("--model")
    parser.add_argument("--actors", type=int, default=2, help="extraction actors (one model client each)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per actor")
    parser.add_argument("--rpm", type=float, help="requests per minute for the whole job, split between the actors")
    parser.add_argument("--tpm", type=float, help="tokens per minute for the whole job, split between the actors")
    parser.add_argument("--num-cpus", type=int, help="start a local Ray instance with this many CPUs (default: join RAY_ADDRESS or start one)")
    args = parser.parse_args(argv)

    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        settings = load_settings({"base_url": args.base_url, "model": args.model})
        settings.require_endpoint()
        cpus = float(ray.cluster_resources().get("CPU", 1))
        rows = extract_dataset(
            ray.data.read_json(args.articles),
            settings,
            cache_dir=os.path.abspath(args.cache),
            actors=args.actors,
            concurrency=args.concurrency,
            rpm=args.rpm,
            tpm=args.tpm,
            cpus_per_actor=cpus_per_actor(cpus, args.actors),
        )
        rows = rows.materialize()
        rows.write_json(os.path.abspath(args.out))
        counts = collections.Counter(r["status"] for r in rows.select_columns(["status"]).iter_rows())
        failed = [r for r in rows.filter(lambda r: r["status"] in ("failed", "input_error")).select_columns(["name", "error", "message"]).iter_rows()]
    finally:
        ray.shutdown()
    total = sum(counts.values())
    print(
        f"{total} rows: " + ", ".join(f"{counts[s]} {s}" for s in ("done", "cached", "failed", "input_error") if counts[s]) + f" -> {args.out}", file=sys.stderr
    )
    for r in failed:
        print(f"  {r['name']}: {r['error']}: {r['message']}", file=sys.stderr)
    return 3 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
