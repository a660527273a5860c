"""summarize batch against a bare instructor async loop, side by side, on real-sized articles.

For each scenario (requests in flight, server latency) this starts ``benchmarks/limit_server.py``
in its own process and measures, against that same server in the same run:

* the anchor: a bare ``instructor`` + ``openai.AsyncOpenAI`` loop, ``asyncio.Semaphore(concurrency)``,
  the same rendered extraction prompt and ``response_model=ExtractionDraft``, no retries, no
  grounding, no store: what a user would write by hand;
* ``summarize.batch.run_batch`` over the same articles (reading inputs, extracting, grounding,
  storing, writing the outputs: the whole call is timed), with ``--workers`` processes.

Each prints items/s ÷ ideal, ideal = concurrency ÷ latency (every slot always busy). The articles
are written to look like scraped news (header lines, a dateline, 3,000-6,000 characters, figures in
reported speech); a few short ones are mixed in. The client's CPU per item and per 1,000
characters is measured from the CPU time of the run (this process and its children), and the
prompt tokens per article are the server's count (request bytes ÷ 4) next to the article's own.

    python benchmarks/scale.py                        # the three scenarios of the targets, ~2 minutes
    python benchmarks/scale.py --only 64x0.2 --workers 1 --workers 2
    python benchmarks/scale.py --profile              # cProfile of one in-process run, top functions

Exit status 1 if a target failed. Results go to ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import io
import json
import os
import platform
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from batch_throughput import LimitServer, cpu_speed_ms, require_clean, settings_for

from summarize import __version__
from summarize.batch.inputs import collect
from summarize.batch.runner import BatchOptions, run_batch
from summarize.batch.workers import cpu_count
from summarize.extract.extractor import source_metadata
from summarize.llm.prompts import fence, load_prompt
from summarize.models.draft import ExtractionDraft

RESULTS = Path(__file__).resolve().parent / "results" / "scale.json"
# (concurrency, latency, articles, target): articles are whole waves of `concurrency`, so a perfect run could reach 1.0
SCENARIOS = {"16x0.2": (16, 0.2, 480, 0.95), "64x0.2": (64, 0.2, 1280, 0.85), "256x2": (256, 2.0, 1280, 0.9)}

# --- articles that look scraped ------------------------------------------------------------

PLACES = ["Kerem", "Talvik", "Oru", "Mesra", "Dalbey", "Hanu", "Sirop", "Vale Nor", "Ambit", "Qasr Lune"]
BODIES = [
    "the regional health ministry",
    "a local monitoring group",
    "the civil defence service",
    "a hospital director",
    "the provincial governor",
    "a UN humanitarian spokesperson",
    "residents reached by phone",
    "the interior ministry",
    "an aid coordinator",
    "the army's press office",
]
VERBS = ["said", "told reporters", "said in a statement", "wrote on social media", "said on Tuesday", "said late on Wednesday"]
NOUNS = ["people were killed", "people were injured", "families were displaced", "buildings were destroyed", "people remain missing"]


def _paragraph(rng: random.Random, place: str) -> str:
    n = rng.randint(2, 900)
    body, verb, noun = rng.choice(BODIES), rng.choice(VERBS), rng.choice(NOUNS)
    forms = [
        f"At least {n} {noun} in and around {place}, {body} {verb}.",
        f"{body.capitalize()} {verb} that {n} {noun}, though the figure could not be independently verified.",
        f'"We have counted {n} so far, and the number is rising," {body} {verb}, asking not to be named further.',
        f"Earlier reports had put the number at {max(1, n - rng.randint(1, 40))}; {body} later revised it.",
        f"Roads into {place} were cut for a second day and convoys waited at the checkpoint north of the town.",
        "The violence followed weeks of rising tension over control of the district, according to local officials.",
        "Aid groups warned that shortages of fuel and medicine would worsen if the crossings stayed closed.",
        "Neither side's account of how the fighting began could be confirmed, and both blamed the other.",
    ]
    return " ".join(rng.sample(forms, rng.randint(3, 5)))


def write_real_articles(root: Path, n: int, *, seed: int = 7) -> tuple[Path, int]:
    """``n`` articles, 3,000-6,000 characters each but every tenth a short wire item; returns the folder and total characters."""
    rng = random.Random(seed)
    total = 0
    for i in range(n):
        place = f"{rng.choice(PLACES)}-{i}"
        story = root / f"story-{i % 40:02d}"
        story.mkdir(parents=True, exist_ok=True)
        target = 600 if i % 10 == 9 else rng.randint(3000, 6000)
        paragraphs = [f"{place.upper()}, Nov {1 + i % 28} (Test Wire) - {_paragraph(rng, place)}"]
        while sum(len(p) + 2 for p in paragraphs) < target:
            paragraphs.append(_paragraph(rng, place))
        header = f"title: Deadly clashes reported in {place}\noutlet: Test Wire {i % 7}\npublished: 2024-11-{1 + i % 28:02d}\n\n"
        text = header + "\n\n".join(paragraphs) + "\n\nRelated: More coverage | Subscribe to our newsletter\n"
        (story / f"item-{i:05d}.txt").write_text(text, encoding="utf-8")
        total += len(text)
    return root, total


# --- the anchor: a bare instructor loop --------------------------------------------------------


async def _bare(url: str, messages: list[list[dict[str, str]]], concurrency: int, model: str) -> None:
    import instructor
    from openai import AsyncOpenAI

    client = instructor.from_openai(AsyncOpenAI(base_url=url, api_key="benchmark", max_retries=0), mode=instructor.Mode.TOOLS)
    gate = asyncio.Semaphore(concurrency)

    async def one(m: list[dict[str, str]]) -> ExtractionDraft:
        async with gate:
            draft: ExtractionDraft = await client.chat.completions.create(model=model, messages=m, response_model=ExtractionDraft, max_retries=0)  # type: ignore[arg-type]
            return draft

    await asyncio.gather(*(one(m) for m in messages))
    await client.client.close()


def bare_loop(url: str, in_dir: Path, concurrency: int) -> dict[str, Any]:
    settings = settings_for(url)
    items, _ = collect([str(in_dir)], max_bytes=settings.max_bytes)
    prompt = load_prompt("extract", settings.prompts_dir)
    messages = [prompt.render(source_id=i.source.id, metadata=source_metadata(i.source), part="", fenced_text=fence(i.source.id, i.source.text)) for i in items]
    cpu, started = _cpu(), time.perf_counter()
    asyncio.run(_bare(url, messages, concurrency, settings.model))
    return {"wall_s": time.perf_counter() - started, "cpu_s": _cpu() - cpu, "items": len(items)}


# --- summarize ----------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds of this process and every child it has waited for (the worker processes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def summarize_run(url: str, in_dir: Path, out: Path, concurrency: int, workers: int) -> dict[str, Any]:
    options = BatchOptions(out=out, concurrency=concurrency, brief=False, workers=workers)
    cpu, started = _cpu(), time.perf_counter()
    result = run_batch([str(in_dir)], settings_for(url), options)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "cpu_s": _cpu() - cpu, "result": result}


def wave_shape(admitted: list[float], concurrency: int, latency: float, wall: float) -> dict[str, Any]:
    """Where a run's time went, from the server's admission times (its own clock): each wave of ``concurrency`` requests
    should go out at once, ``latency`` apart. ``spread_ms`` is how long each wave took to go out (first to last request);
    ``outside_s`` is the wall time outside [first request, last request + latency]: reading the inputs and starting, then
    grounding the last answers and writing the outputs."""
    waves = [admitted[i : i + concurrency] for i in range(0, len(admitted), concurrency)]
    span = admitted[-1] - admitted[0] if admitted else 0.0
    return {
        "spread_ms": [round((w[-1] - w[0]) * 1000) for w in waves],
        "span_s": round(span, 3),
        "outside_s": round(wall - span - latency, 3),
    }


def scenario(name: str, args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    concurrency, latency, n, target = SCENARIOS[name]
    n = args.items or n
    in_dir, chars = write_real_articles(tmp / f"{name}-in", n)
    ideal = concurrency / latency
    rows: dict[str, Any] = {"concurrency": concurrency, "latency_s": latency, "articles": n, "chars_per_article": round(chars / n), "ideal_items_per_s": ideal}
    with LimitServer(latency) as server:
        before = server.stats()
        bare = bare_loop(server.url, in_dir, concurrency)
        rows["bare"] = {
            "items_per_s": round(n / bare["wall_s"], 1),
            "ratio": round(n / bare["wall_s"] / ideal, 3),
            "cpu_ms_per_item": round(bare["cpu_s"] / n * 1000, 2),
            "wall_s": round(bare["wall_s"], 2),
        }
        after = server.stats()
        rows["prompt_tokens_per_article"] = round((after["admitted_tokens"] - before["admitted_tokens"]) / max(1, after["admitted"] - before["admitted"]))
        for workers in args.workers:
            runs = []
            for r in range(args.repeat):
                seen = len(server.stats()["admissions"])
                run = summarize_run(server.url, in_dir, tmp / f"{name}-out-{workers}-{r}", concurrency, workers)
                require_clean(run["result"], n, f"{name} workers={workers}")
                run["waves"] = wave_shape([a[0] for a in server.stats()["admissions"][seen:]], concurrency, latency, run["wall_s"])
                runs.append(run)
            wall = statistics.median(x["wall_s"] for x in runs)
            cpu = statistics.median(x["cpu_s"] for x in runs)
            rows[f"summarize_w{workers}"] = {
                "items_per_s": round(n / wall, 1),
                "ratio": round(n / wall / ideal, 3),
                "walls_s": [round(x["wall_s"], 2) for x in runs],
                "cpu_ms_per_item": round(cpu / n * 1000, 2),
                "cpu_ms_per_1000_chars": round(cpu / chars * 1e6, 3),
                "waves": [x["waves"] for x in runs],
            }
    rows["target"] = target
    return rows


def profile(args: argparse.Namespace, tmp: Path) -> None:
    """Where an item's CPU goes: ``extract_source`` over real-sized articles in one thread, cProfile on the CPU clock
    (time spent waiting for the server is not counted), the top functions by their own time and by cumulative time."""
    from summarize.extract.extractor import extract_source
    from summarize.llm.client import LLM

    in_dir, chars = write_real_articles(tmp / "profile-in", 200)
    with LimitServer(0.0) as server:
        settings = settings_for(server.url)
        items, _ = collect([str(in_dir)], max_bytes=settings.max_bytes)
        llm = LLM(settings)
        prompt = load_prompt("extract", settings.prompts_dir)
        extract_source(items[0].source, llm, settings, prompt)  # imports and first-call costs, outside the profile
        prof = cProfile.Profile(time.process_time)
        cpu = time.process_time()
        prof.enable()
        for item in items:
            extract_source(item.source, llm, settings, prompt)
        prof.disable()
        cpu = time.process_time() - cpu
        llm.close()
    print(f"{len(items)} items: {cpu / len(items) * 1000:.2f} ms CPU per item, {cpu / chars * 1e6:.3f} ms per 1,000 characters (profiler overhead included)")
    for key in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats(key).print_stats(args.top)
        print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only this scenario (repeatable)")
    parser.add_argument("--workers", action="append", type=int, help="summarize --workers to measure (repeatable; default: 1 and the CPU count)")
    parser.add_argument("--items", type=int, help="articles per scenario (default: the scenario's)")
    parser.add_argument("--repeat", type=int, default=1, help="summarize runs per setting; the median is reported")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one item's CPU (extract_source over 200 articles) and exit")
    parser.add_argument("--top", type=int, default=30, help="functions to show with --profile")
    args = parser.parse_args(argv)
    args.workers = args.workers or sorted({1, max(2, cpu_count())})
    with tempfile.TemporaryDirectory(prefix="summarize-scale-") as tmp_name:
        tmp = Path(tmp_name)
        if args.profile:
            profile(args, tmp)
            return 0
        results: dict[str, Any] = {
            "version": __version__,
            "python": platform.python_version(),
            "cpus": cpu_count(),
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "load_average_before": round(os.getloadavg()[0], 2),
            "cpu_speed_ms_before": cpu_speed_ms(),  # a fixed loop: a shared VM's speed drifts, and every ratio here is CPU-bound in part
            "scenarios": {},
        }
        failed = False
        print(f"{'scenario':>9} | {'bare instructor loop':>21} | " + " | ".join(f"{'summarize --workers ' + str(w):>22}" for w in args.workers) + " | target")
        for name in args.only or list(SCENARIOS):
            row = scenario(name, args, tmp)
            results["scenarios"][name] = row
            best = max(row[f"summarize_w{w}"]["ratio"] for w in args.workers)
            ok = best >= row["target"]
            failed |= not ok
            cells = [f"{row['bare']['ratio']:.3f} ({row['bare']['cpu_ms_per_item']:.1f} ms/item)".rjust(21)]
            cells += [f"{row[f'summarize_w{w}']['ratio']:.3f} ({row[f'summarize_w{w}']['cpu_ms_per_item']:.1f} ms/item)".rjust(22) for w in args.workers]
            print(f"{name:>9} | " + " | ".join(cells) + f" | ≥ {row['target']} {'PASS' if ok else 'FAIL'}", flush=True)
        for name, row in results["scenarios"].items():
            w = max(args.workers)
            s = row[f"summarize_w{w}"]
            print(
                f"{name}: {row['articles']} articles of {row['chars_per_article']:,} characters on average, "
                f"{row['prompt_tokens_per_article']:,} prompt tokens each "
                f"(server count); summarize --workers {w}: {s['cpu_ms_per_item']} ms CPU per item, {s['cpu_ms_per_1000_chars']} ms per 1,000 characters"
            )
        for name, row in results["scenarios"].items():
            for w in args.workers:
                shapes = row[f"summarize_w{w}"]["waves"]
                spreads = " ".join(f"{x['spread_ms'][0]}->{x['spread_ms'][-1]}" for x in shapes)
                outside = " ".join(f"{x['outside_s']:.2f}" for x in shapes)
                print(f"{name} --workers {w}: waves went out over {spreads} ms (first -> last wave); outside the requests' span {outside} s")
        results["cpu_speed_ms_after"] = cpu_speed_ms()
        print(
            f"machine: {results['cpus']} CPUs, load average {results['load_average_before']} before; "
            f"CPU speed {results['cpu_speed_ms_before']}/{results['cpu_speed_ms_after']} ms (a fixed loop before/after, lower is faster)"
        )
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {RESULTS.relative_to(Path.cwd()) if RESULTS.is_relative_to(Path.cwd()) else RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.pop("OPENAI_API_KEY", None)
    raise SystemExit(main())
