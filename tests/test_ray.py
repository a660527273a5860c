"""The Ray Data path (summarize.batch.ray_data): a local Ray instance with 2 CPUs against the scripted server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import copying
from scripted_server import Reply, ScriptedServer, fenced_sources

from summarize.batch.ray_data import ExtractBatch, ReportCache, extract_dataset
from summarize.batch.store import WorkKeys
from summarize.config import load_settings
from summarize.models.report import SourceReport

if os.environ.get("CI"):
    import ray  # in CI the test extra installs it: a missing Ray is a failure, not a skip
else:
    ray = pytest.importorskip("ray", reason="the Ray tests need ray[data] (pip install -e '.[test]')")
ROOT = Path(__file__).resolve().parent.parent
# Ray's own modules warn about their own deprecated settings; ours still fail on any warning
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.*", "ignore::FutureWarning:ray.*")


def article(i: int) -> dict[str, str]:
    text = (
        f"title: Clashes near Talvik {chr(65 + i % 26)}\noutlet: Test Wire\npublished: 2024-11-28\n\n"
        f"Officials in Talvik {chr(65 + i % 26)} said {i + 3} people were killed in clashes on Tuesday. "
        f"Rescue teams were still searching buildings in the old town on Wednesday, a council member said.\n"
    )
    return {"name": f"item-{i:03d}", "story": f"story-{i % 3}", "text": text}


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def settings(url: str) -> Any:
    return load_settings({"base_url": url, "mode": "tools"}, env={})


def test_map_batches_on_local_ray_extracts_every_row_caches_it_and_a_rerun_asks_nothing(local_ray: Any, tmp_path: Path) -> None:
    rows = [article(i) for i in range(24)] + [{"name": "empty", "story": "story-0", "text": "   \n"}]

    def respond(body: dict[str, Any]) -> Reply:
        (source_id, _), *_ = fenced_sources(body)
        return Reply.refusal("I can't help with that.") if source_id == "item-007" else copying(body)

    cache = tmp_path / "cache"
    with ScriptedServer(respond) as server:
        ds = local_ray.data.from_items(rows)
        out = extract_dataset(ds, settings(server.url), cache_dir=str(cache), actors=2, concurrency=4, batch_size=5, cpus_per_actor=0.5).take_all()
        first_requests = len(server.requests)
        again = extract_dataset(
            local_ray.data.from_items(rows), settings(server.url), cache_dir=str(cache), actors=2, concurrency=4, batch_size=5, cpus_per_actor=0.5
        ).take_all()
        assert len(server.requests) == first_requests + 1, "only the refused row is asked again"
    by_name = {r["name"]: r for r in out}
    assert len(by_name) == 25
    assert by_name["item-007"]["status"] == "failed" and by_name["item-007"]["error"] == "refusal"
    assert by_name["empty"]["status"] == "input_error" and by_name["empty"]["message"]
    done = [r for r in out if r["status"] == "done"]
    assert len(done) == 23 and all(r["verified"] for r in done)
    report = SourceReport.model_validate_json(by_name["item-004"]["report"])
    assert [f.value for f in report.figures] == [7] and report.source.id == "item-004"
    assert {r["name"]: r["status"] for r in again if r["status"] != "cached"} == {"item-007": "failed", "empty": "input_error"}
    assert len(list(cache.rglob("*.json"))) == 23


def test_the_cache_is_keyed_like_the_batch_store(tmp_path: Path) -> None:
    """A report in the cache sits under the key ``summarize batch`` gives the same article and settings."""
    from summarize.batch.inputs import BatchItem
    from summarize.sources.article import parse_article

    with ScriptedServer(copying) as server:
        actor = ExtractBatch(settings(server.url), str(tmp_path / "cache"), concurrency=2)
        try:
            out = actor({"name": ["item-001"], "story": ["s"], "text": [article(1)["text"]]})
        finally:
            actor.close()
    source = parse_article(article(1)["text"], name="item-001", path=None)
    key = WorkKeys(settings("http://127.0.0.1:9/v1"), "English").key(BatchItem(source, "s"))
    assert out["key"] == [key] and out["status"] == ["done"]
    assert json.loads(ReportCache(tmp_path / "cache").get(key) or "{}")["source"]["id"] == "item-001"


def test_the_example_script_runs_on_local_ray(tmp_path: Path) -> None:
    articles = tmp_path / "articles.jsonl"
    articles.write_text("".join(json.dumps(article(i)) + "\n" for i in range(6)), encoding="utf-8")
    with ScriptedServer(copying) as server:
        proc = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "ray" / "extract_with_ray.py"),
                str(articles),
                "--out",
                str(tmp_path / "out"),
                "--cache",
                str(tmp_path / "cache"),
                "--base-url",
                server.url,
                "--num-cpus",
                "2",
                "--actors",
                "2",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"},
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for f in sorted((tmp_path / "out").glob("*.json*")) for x in f.read_text().splitlines() if x.strip()]
    assert sorted(r["name"] for r in lines) == [f"item-{i:03d}" for i in range(6)] and all(r["status"] == "done" for r in lines)
    assert "6 rows: 6 done" in proc.stderr
