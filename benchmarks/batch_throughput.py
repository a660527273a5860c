"""Throughput, rate-limit use, warm re-runs and memory of ``summarize batch`` against a local endpoint.

Starts ``benchmarks/limit_server.py`` (an OpenAI-compatible server with a set latency and RPM/TPM
limits) in its own process, so its CPU is not taken from the client being measured, and measures:

a. throughput: ``run_batch`` over small articles at --latency and --concurrency (the median of
   --repeat runs, each timed over the whole call), against a plain sequential loop of
   ``extract_source`` with the same client settings over the first --loop-items of the same items;
b. rpm: the server limits requests per minute below what the workers could send; one run learns
   the limit from the ``x-ratelimit-*`` headers, one is given ``--rpm``. The share of the limit used
   is what the server admitted per minute after the first --skip seconds (the burst and the
   learning), up to its last admission; the whole-run share is recorded too;
c. tpm: the same with a token limit;
d. warm re-run: ``summarize batch`` (the CLI, in a child process) over 1,000 articles, then the same
   command again, which should find every item in the store;
e. memory: the child's RSS after 250, 500, 750 and 1,000 items of the first of those runs, and its peak.

Prints a table of each measured value, its target and PASS/FAIL, writes everything to
``benchmarks/results/batch_throughput.json`` and exits 1 if a target failed.

    python benchmarks/batch_throughput.py
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import logging
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
import tracemalloc
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from summarize import __version__
from summarize.batch.inputs import collect
from summarize.batch.runner import BatchOptions, BatchResult, run_batch
from summarize.config import Settings, load_settings
from summarize.extract.extractor import extract_source
from summarize.llm.client import LLM
from summarize.llm.prompts import load_prompt
from summarize.models.report import SourceReport

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "benchmarks" / "limit_server.py"
RESULTS = ROOT / "benchmarks" / "results" / "batch_throughput.json"
SCENARIOS = ("throughput", "rpm", "tpm", "warm")


@dataclass
class Check:
    name: str
    value: float
    shown: str
    target: str
    passed: bool


# --- the server ---------------------------------------------------------------------------


class LimitServer:
    """limit_server.py in a child process; stops when its stdin closes."""

    def __init__(self, latency: float, rpm: float | None = None, tpm: float | None = None) -> None:
        cmd = [sys.executable, str(SERVER), "--latency", str(latency)]
        cmd += ["--rpm", str(rpm)] if rpm else []
        cmd += ["--tpm", str(tpm)] if tpm else []
        self.process = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.close()
            raise RuntimeError(f"limit_server.py did not start (printed {self.url!r})")

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url.removesuffix("/v1") + "/stats", timeout=10) as response:
            stats: dict[str, Any] = json.loads(response.read())
            return stats

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> LimitServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- inputs and runs ----------------------------------------------------------------------


def write_articles(root: Path, n: int, *, stories: int = 1) -> Path:
    """Small articles, as tests/test_batch.write_articles writes them: one figure, two sentences."""
    for i in range(n):
        story = root / f"story-{i % stories}"
        story.mkdir(parents=True, exist_ok=True)
        (story / f"item-{i:04d}.txt").write_text(
            f"title: Clashes in district {i}\noutlet: Test Wire\npublished: 2024-11-28\n\n"
            f"Officials in the town of Kerem-{i} said {i + 3} people were killed in clashes on Tuesday. "
            f"Rescue teams were still searching collapsed buildings in district {i} on Wednesday, a local council member said.\n",
            encoding="utf-8",
        )
    return root


def settings_for(url: str) -> Settings:
    # An empty environment: a key or base URL set in the shell must not leak into the benchmark.
    return load_settings({"base_url": url}, env={})


@dataclass
class Timed:
    result: BatchResult
    wall: float  # the whole run_batch call: reading inputs, extracting, writing outputs
    cpu: float  # this process's CPU seconds (every thread) over the same call


def batch(in_dir: Path, out: Path, url: str, *, concurrency: int, rpm: float | None = None, tpm: float | None = None) -> Timed:
    options = BatchOptions(out=out, concurrency=concurrency, rpm=rpm, tpm=tpm, brief=False)
    cpu, started = time.process_time(), time.perf_counter()
    result = run_batch([str(in_dir)], settings_for(url), options)
    return Timed(result, time.perf_counter() - started, time.process_time() - cpu)


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (from /proc/stat)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def require_clean(result: BatchResult, expected: int, what: str) -> None:
    """A run that lost items measured nothing; fail loudly instead of reporting a rate."""
    if result.extracted != expected or result.failed or result.partial:
        raise SystemExit(f"{what}: {result.extracted} of {expected} items extracted, {result.failed} failed, {result.partial} partial: {result.errors[:3]}")


# --- a. throughput ------------------------------------------------------------------------


def throughput(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    in_dir = write_articles(tmp / "throughput-in", args.items)
    with LimitServer(args.latency) as server:
        settings = settings_for(server.url)
        items, _ = collect([str(in_dir)], max_bytes=settings.max_bytes)
        loop_items = items[: args.loop_items]
        llm = LLM(settings)
        prompt = load_prompt("extract", settings.prompts_dir)
        try:
            # The process's first call imports the SDK's resources and builds the schema: a one-off
            # cost of starting up, not of throughput. Pay it here, outside both measurements.
            started = time.perf_counter()
            extract_source(items[-1].source, llm, settings, prompt)
            first_call = time.perf_counter() - started
            started = time.perf_counter()
            for item in loop_items:
                report = extract_source(item.source, llm, settings, prompt)
                if not report.verified:
                    raise SystemExit(f"sequential loop: {item.source.id} was not verified")
            loop_seconds = time.perf_counter() - started
        finally:
            llm.close()
        runs = []
        for n in range(args.repeat):
            before, server_cpu, busy = server.stats()["requests"], server.cpu_seconds(), machine_busy_seconds()
            run = batch(in_dir, tmp / f"throughput-out-{n}", server.url, concurrency=args.concurrency)
            busy, server_cpu = machine_busy_seconds() - busy, server.cpu_seconds() - server_cpu
            require_clean(run.result, args.items, "throughput")
            requests = server.stats()["requests"] - before
            runs.append(
                {
                    "wall_s": round(run.wall, 3),
                    "run_s": round(run.result.wall_seconds, 3),
                    "items_per_s": round(args.items / run.wall, 2),
                    "client_cpu_ms_per_item": round(run.cpu / args.items * 1000, 2),
                    "server_cpu_ms_per_request": round(server_cpu / max(requests, 1) * 1000, 2),
                    # CPUs kept busy by everything else (other processes, the kernel): the measurement
                    # assumes this is near zero; on a 2-core machine 0.5 already costs throughput.
                    "other_cpus_busy": round(max(0.0, busy - run.cpu - server_cpu) / run.wall, 2),
                    "requests": requests,
                }
            )
    # The median run: one slow run (another process waking up) neither fails nor flatters the result.
    rate = statistics.median(r["items_per_s"] for r in runs)
    loop_rate = len(loop_items) / loop_seconds
    ideal = args.concurrency / args.latency
    return {
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "items": args.items,
        "items_per_s": round(rate, 2),
        "ideal_items_per_s": ideal,
        "ratio_to_ideal": round(rate / ideal, 4),
        "loop_items": len(loop_items),
        "loop_s": round(loop_seconds, 3),
        "loop_items_per_s": round(loop_rate, 3),
        "speedup_over_loop": round(rate / loop_rate, 2),
        "first_call_s": round(first_call, 3),
        "runs": runs,
    }


# --- b, c. rate limits --------------------------------------------------------------------


def achieved(admissions: list[list[float]], wall: float, skip: float) -> dict[str, float]:
    """Requests and tokens per minute the server admitted: steady state (after the first ``skip``
    seconds, which hold the one-second burst and the learning) and over the whole run."""
    t0, t_end = admissions[0][0], admissions[-1][0]
    steady = [a for a in admissions if a[0] > t0 + skip]
    span = t_end - (t0 + skip)
    if span <= 0:
        raise SystemExit(f"the limited run lasted {t_end - t0:.1f}s: too short to measure a steady state; raise --limit-seconds")
    return {
        "steady_rpm": len(steady) / span * 60,
        "steady_tpm": sum(p + c for _, p, c in steady) / span * 60,
        "whole_rpm": len(admissions) / wall * 60,
        "whole_tpm": sum(p + c for _, p, c in admissions) / wall * 60,
        "steady_window_s": span,
    }


def limited(args: argparse.Namespace, tmp: Path, kind: str, limit: float, items: int, *, given: bool) -> dict[str, Any]:
    name = f"{kind}-{'given' if given else 'learned'}"
    in_dir = write_articles(tmp / f"{name}-in", items)
    limits = {kind: limit}
    with LimitServer(args.latency, **limits) as server:
        client = limits if given else {}
        run = batch(in_dir, tmp / f"{name}-out", server.url, concurrency=args.concurrency, **client)
        stats = server.stats()
    require_clean(run.result, items, name)
    rates = achieved(stats["admissions"], run.wall, args.skip)
    used = rates[f"steady_{kind}"] / limit
    return {
        "limit": {kind: limit},
        "client_given": client or None,
        "items": items,
        "wall_s": round(run.wall, 3),
        "server_requests": stats["requests"],
        "server_429": stats["rate_limited"],
        "share_429": round(stats["rate_limited"] / stats["requests"], 4),
        "client_saw_429": run.result.rate_limited,
        "steady_window_s": round(rates["steady_window_s"], 2),
        "steady_rpm": round(rates["steady_rpm"], 1),
        "steady_tpm": round(rates["steady_tpm"]),
        "whole_run_rpm": round(rates["whole_rpm"], 1),
        "whole_run_tpm": round(rates["whole_tpm"]),
        "share_of_limit_steady": round(used, 4),
        "share_of_limit_whole_run": round(rates[f"whole_{kind}"] / limit, 4),
        "tokens_per_request": round(stats["admitted_tokens"] / max(stats["admitted"], 1)),
    }


def probe_tokens(tmp: Path) -> float:
    """Tokens the server counts for one of our articles, to size the tpm runs when no rpm run measured it."""
    in_dir = write_articles(tmp / "probe-in", 1)
    with LimitServer(0.0) as server:
        run = batch(in_dir, tmp / "probe-out", server.url, concurrency=1)
        require_clean(run.result, 1, "probe")
        stats = server.stats()
    return float(stats["admitted_tokens"])


# --- d, e. warm re-run and memory of the CLI ----------------------------------------------


def _rss_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


_PROGRESS = re.compile(r"^\[(\d+)/(\d+)\]")


def cli_batch(in_dir: Path, out: Path, url: str, concurrency: int, marks: list[int]) -> dict[str, Any]:
    """Run ``summarize batch`` in a child process; RSS at each mark (items finished), sampled RSS, peak RSS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI_", "SUMMARIZE_"))}
    cmd = [sys.executable, "-m", "summarize", "batch", str(in_dir), "--out", str(out), "--base-url", url, "--no-brief", "--concurrency", str(concurrency)]
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    at_marks: dict[int, int | None] = {}
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            if (kb := _rss_kb(process.pid)) is not None:
                samples.append((round(time.perf_counter() - started, 2), kb))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    tail: list[str] = []
    assert process.stderr is not None
    for line in process.stderr:
        tail = [*tail[-5:], line.rstrip()]
        if (match := _PROGRESS.match(line)) and int(match.group(1)) in marks:
            # The child prints this line as the item is stored, so this is the RSS at the mark, give or take
            # the few items that finish while we read it.
            at_marks[int(match.group(1))] = _rss_kb(process.pid)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"summarize batch exited {process.returncode}: {' | '.join(tail)}")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return {"wall_s": wall, "summary": summary, "rss_at_items_kb": at_marks, "rss_samples_kb": samples, "peak_rss_kb": usage.ru_maxrss, "tail": tail[-1:]}


def report_kb(store: Path, sample: int = 200) -> float:
    """Memory one SourceReport takes as Python objects: what keeping every item's result would cost per item."""
    with contextlib.closing(sqlite3.connect(store)) as db:
        rows = [r[0] for r in db.execute("SELECT report FROM items WHERE status = 'done' LIMIT ?", (sample,))]
    gc.collect()
    tracemalloc.start()
    try:
        kept = [SourceReport.model_validate_json(row) for row in rows]
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return size / len(kept) / 1024


def warm_rerun(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    n = args.warm_items
    in_dir = write_articles(tmp / "warm-in", n, stories=max(1, n // 20))
    out = tmp / "warm-out"
    marks = [n * k // 4 for k in (1, 2, 3, 4)]
    with LimitServer(0.0) as server:
        first = cli_batch(in_dir, out, server.url, args.concurrency, marks)
        calls_first = server.stats()["requests"]
        again = cli_batch(in_dir, out, server.url, args.concurrency, [])
        calls_again = server.stats()["requests"] - calls_first
    if first["summary"]["extracted"] != n:
        raise SystemExit(f"warm: the first run extracted {first['summary']['extracted']} of {n}")
    rss = {str(k): round(v / 1024, 1) if v else None for k, v in sorted(first["rss_at_items_kb"].items())}
    known = [v for v in rss.values() if v is not None]
    retained_mb = (marks[-1] - marks[0]) * report_kb(out / "store.sqlite") / 1024
    return {
        "items": n,
        "first_run_s": round(first["wall_s"], 2),
        "first_run_requests": calls_first,
        "rerun_s": round(again["wall_s"], 2),
        "rerun_requests": calls_again,
        "rerun_cached": again["summary"]["cached"],
        "rerun_summary_wall_s": again["summary"]["wall_seconds"],
        "rss_mb_at_items": rss,
        "rss_growth_mb_first_to_last_mark": round(known[-1] - known[0], 1) if len(known) == len(marks) else None,
        "retaining_reports_would_add_mb": round(retained_mb, 1),
        "peak_rss_mb": round(first["peak_rss_kb"] / 1024, 1),
        "peak_above_last_mark_mb": round(first["peak_rss_kb"] / 1024 - known[-1], 1) if known else None,
        "rerun_peak_rss_mb": round(again["peak_rss_kb"] / 1024, 1),
        "rss_samples_mb": [(t, round(kb / 1024, 1)) for t, kb in first["rss_samples_kb"][:: max(1, len(first["rss_samples_kb"]) // 40)]],
    }


# --- report -------------------------------------------------------------------------------


def checks_for(res: dict[str, Any]) -> list[Check]:
    checks: list[Check] = []
    if t := res.get("throughput"):
        ratio, speedup = t["ratio_to_ideal"], t["speedup_over_loop"]
        shown = f"{ratio:.3f} ({t['items_per_s']:.1f}/{t['ideal_items_per_s']:.0f} items/s)"
        checks.append(Check("throughput ÷ (concurrency ÷ latency)", ratio, shown, "≥ 0.9", ratio >= 0.9))
        checks.append(Check("speed-up over the sequential loop", speedup, f"{speedup:.1f}×", "≥ 12", speedup >= 12))
    for name in ("rpm-learned", "rpm-given", "tpm-learned", "tpm-given"):
        if r := res.get(name):
            used, share = r["share_of_limit_steady"], r["share_429"]
            shown = f"{used:.3f} (whole run {r['share_of_limit_whole_run']:.3f})"
            checks.append(Check(f"{name}: share of the limit used", used, shown, "≥ 0.85", used >= 0.85))
            shown = f"{share:.2%} ({r['server_429']}/{r['server_requests']})"
            checks.append(Check(f"{name}: share of requests answered 429", share, shown, "≤ 2%", share <= 0.02))
    if w := res.get("warm"):
        target = res["options"]["warm_target"]
        checks.append(Check(f"warm re-run of {w['items']} items (CLI, wall)", w["rerun_s"], f"{w['rerun_s']:.2f} s", f"≤ {target:g} s", w["rerun_s"] <= target))
        checks.append(Check("warm re-run: model calls", w["rerun_requests"], str(w["rerun_requests"]), "0", w["rerun_requests"] == 0))
        growth, bound = w["rss_growth_mb_first_to_last_mark"], w["retaining_reports_would_add_mb"] / 2
        shown = f"{growth} MB (peak {w['peak_rss_mb']} MB)" if growth is not None else "not measured: no progress lines at the marks"
        name = f"RSS growth from item {w['items'] // 4} to {w['items']}"
        checks.append(Check(name, growth if growth is not None else float("nan"), shown, f"≤ {bound:.1f} MB", growth is not None and growth <= bound))
    return checks


def table(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    shown = max(len(c.shown) for c in checks)
    lines = [f"{'measure':<{width}}  {'measured':<{shown}}  {'target':<8}  result"]
    lines += [f"{c.name:<{width}}  {c.shown:<{shown}}  {c.target:<8}  {'PASS' if c.passed else 'FAIL'}" for c in checks]
    return "\n".join(lines)


def cpu_speed_ms() -> float:
    """Milliseconds for a fixed pure-Python loop. Throughput here depends on CPU per item (the GIL is
    shared by every worker), and a shared VM's speed drifts; this puts a number on the drift."""
    return round(min(timeit.repeat(lambda: sum(i * i for i in range(1_000_000)), number=1, repeat=3)) * 1000, 1)


def machine() -> dict[str, Any]:
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpu": next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), platform.processor()
        ),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "summarize": __version__,
    }


def stage(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    print(f"-- {name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    out = run()
    print(
        f"   {name}: {time.perf_counter() - started:.1f}s {json.dumps({k: v for k, v in out.items() if not isinstance(v, (list, dict))})}",
        file=sys.stderr,
        flush=True,
    )
    return out


@contextlib.contextmanager
def workdir(keep: Path | None) -> Iterator[Path]:
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="summarize-bench-") as tmp:
        yield Path(tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--latency", type=float, default=0.2, help="server latency in seconds (default 0.2)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight: BatchOptions.concurrency (default 16)")
    parser.add_argument("--items", type=int, default=400, help="articles in the throughput run (default 400)")
    parser.add_argument("--loop-items", type=int, default=40, help="articles in the sequential loop (default 40)")
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs; the median counts (default 3)")
    parser.add_argument("--rpm", type=float, default=1200, help="server request limit in the rpm runs (default 1200)")
    parser.add_argument("--tpm", type=float, default=3_000_000, help="server token limit in the tpm runs (default 3,000,000)")
    parser.add_argument("--limit-seconds", type=float, default=20, help="how long each limited run should last at the limit (default 20)")
    parser.add_argument("--skip", type=float, default=1.0, help="seconds at the start of a limited run left out of the steady state (default 1)")
    parser.add_argument("--warm-items", type=int, default=1000, help="articles in the warm re-run and memory runs (default 1000)")
    parser.add_argument("--warm-target", type=float, default=10.0, help="seconds the warm re-run may take (default 10)")
    parser.add_argument("--only", action="append", choices=SCENARIOS, help="run only this scenario (repeatable; default: all)")
    parser.add_argument("--keep", type=Path, help="keep inputs and outputs in this directory instead of a temporary one")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    chosen = args.only or SCENARIOS

    # Each 429 is retried and counted; a warning line per retry would bury the table.
    logging.getLogger("summarize").setLevel(logging.ERROR)
    started = time.perf_counter()
    res: dict[str, Any] = {"machine": machine(), "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}}
    res["machine"]["loadavg_before"] = [round(x, 2) for x in os.getloadavg()]
    res["machine"]["cpu_speed_ms_before"] = cpu_speed_ms()
    if os.getloadavg()[0] > 0.5:
        print(f"warning: load average {os.getloadavg()[0]:.2f}: other processes share the CPUs and will lower the throughput measured", file=sys.stderr)
    with workdir(args.keep) as tmp:
        if "throughput" in chosen:
            res["throughput"] = stage("throughput", lambda: throughput(args, tmp))
        tokens_per_item: float | None = None
        if "rpm" in chosen:
            rpm_items = round(args.rpm / 60 * args.limit_seconds)
            for given in (False, True):
                name = f"rpm-{'given' if given else 'learned'}"
                res[name] = stage(name, lambda given=given: limited(args, tmp, "rpm", args.rpm, rpm_items, given=given))  # type: ignore[misc]
                tokens_per_item = res[name]["tokens_per_request"]
        if "tpm" in chosen:
            tpm_items = round(args.tpm / 60 * args.limit_seconds / (tokens_per_item or probe_tokens(tmp)))
            for given in (False, True):
                name = f"tpm-{'given' if given else 'learned'}"
                res[name] = stage(name, lambda given=given: limited(args, tmp, "tpm", args.tpm, tpm_items, given=given))  # type: ignore[misc]
        if "warm" in chosen:
            res["warm"] = stage("warm re-run and memory", lambda: warm_rerun(args, tmp))
    res["machine"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    res["machine"]["cpu_speed_ms_after"] = cpu_speed_ms()
    res["benchmark_self_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    res["total_s"] = round(time.perf_counter() - started, 1)
    checks = checks_for(res)
    res["checks"] = [asdict(c) for c in checks]
    res["passed"] = all(c.passed for c in checks)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(res, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    m = res["machine"]
    print(
        f"batch_throughput: {m['cpu_count']} CPUs, Python {m['python']}, load average {m['loadavg_before'][0]} before, "
        f"CPU speed {m['cpu_speed_ms_before']}/{m['cpu_speed_ms_after']} ms (before/after, lower is faster); {res['total_s']}s in all"
    )
    if t := res.get("throughput"):
        cpu = statistics.median(r["client_cpu_ms_per_item"] for r in t["runs"])
        others = statistics.median(r["other_cpus_busy"] for r in t["runs"])
        print(
            f"throughput: latency {args.latency}s, concurrency {args.concurrency}: {t['items_per_s']:.1f} items/s (ideal {t['ideal_items_per_s']:.0f}), "
            f"loop {t['loop_items_per_s']:.2f} items/s; client CPU {cpu} ms/item; other processes kept {others} CPUs busy"
        )
    print(table(checks))
    print(f"written to {args.out}")
    return 0 if res["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
