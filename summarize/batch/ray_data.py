"""Extraction over millions of articles with Ray Data: ``Dataset.map_batches`` calling ``extract_source``.

Ray does the scheduling, the spreading over machines, the back-pressure and the retries of lost
workers; this module only says what one actor does with a batch of rows. Each actor (a
``ExtractBatch`` instance, one per Ray worker process) holds one model client with its own share
of the rate limits (``rpm / actors``, ``tpm / actors``, and of a limit learned from the server's
headers) and extracts ``concurrency`` rows at a time in threads. Finished reports go to a
``ReportCache``: a directory (local, or shared between machines: NFS, a mounted bucket) of one
JSON file per report, named by the same work key as the SQLite store of ``summarize batch``, so a
re-run, or a second job over overlapping articles, asks the model nothing for what is there.

Rows in: ``text`` (an article as a file holds it, header lines allowed), ``name`` (its id, e.g.
the file name), and optionally ``story``. Rows out: ``name``, ``story``, ``key``, ``status``
(``done``, ``cached``, ``failed``, ``input_error``), ``verified``, ``report`` (the SourceReport
JSON, or ``""``), ``error`` and ``message``. One bad row never fails the batch.

    import ray
    from summarize.batch.ray_data import extract_dataset
    ds = ray.data.read_json("articles.jsonl")          # rows with text, name, story
    out = extract_dataset(ds, settings, cache_dir="/shared/summarize-cache", actors=8, concurrency=16, rpm=10_000)
    out.write_json("reports/")

``ray`` itself is imported only by ``extract_dataset``; ``ExtractBatch`` and ``ReportCache`` run
anywhere (the tests also call them directly).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarize.batch.inputs import BatchItem
from summarize.config import Settings
from summarize.errors import SummarizeError

if TYPE_CHECKING:
    from summarize.llm.client import LLM

COLUMNS = ("name", "story", "key", "status", "verified", "report", "error", "message")


class ReportCache:
    """One file per report, ``DIR/ab/<key>.json``, written by rename so a reader never sees half of one.

    Safe for many writers on many machines: two actors finishing the same key write the same bytes
    (the key fixes the input, prompt, model and settings), and the last rename wins."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        name = hashlib.sha256(key.encode()).hexdigest() if len(key) > 120 or "/" in key else key
        return self.root / name[:2] / f"{name}.json"

    def get(self, key: str) -> str | None:
        try:
            return self._path(key).read_text(encoding="utf-8")
        except FileNotFoundError:
            return None

    def put(self, key: str, report_json: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(report_json, encoding="utf-8")
        os.replace(tmp, path)


class ExtractBatch:
    """A Ray Data actor: ``map_batches(ExtractBatch, fn_constructor_kwargs=..., batch_format="numpy")``."""

    def __init__(
        self,
        settings: Settings,
        cache_dir: str,
        *,
        concurrency: int = 8,
        rpm: float | None = None,
        tpm: float | None = None,
        share: float = 1.0,
        language: str = "English",
    ) -> None:
        from summarize.batch.store import WorkKeys
        from summarize.llm.client import LLM
        from summarize.llm.prompts import load_prompt
        from summarize.llm.ratelimit import Limiter

        settings.require_endpoint()
        self.settings = settings
        self.cache = ReportCache(cache_dir)
        self.keys = WorkKeys(settings, language)
        self.limiter = Limiter(rpm, tpm, max_pause=settings.max_retry_wait, concurrency=concurrency, learned_share=share)
        self.llm: LLM = LLM(settings, limiter=self.limiter)
        self.prompt = load_prompt("extract", settings.prompts_dir)
        self.pool = ThreadPoolExecutor(max_workers=2 * concurrency, thread_name_prefix="summarize-ray")

    def close(self) -> None:
        """Close the HTTP client and the threads (Ray ends its actors with the process; a caller that built one directly closes it)."""
        self.pool.shutdown(wait=True)
        self.llm.close()

    def __call__(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        names = [str(n) for n in batch["name"]]
        stories = [str(s) for s in batch["story"]] if "story" in batch else ["" for _ in names]
        rows = list(self.pool.map(self._one, [str(t) for t in batch["text"]], names, stories))
        return {column: [row[column] for row in rows] for column in COLUMNS}

    def _one(self, text: str, name: str, story: str) -> dict[str, Any]:
        from summarize.extract.extractor import extract_source
        from summarize.sources.article import parse_article

        row: dict[str, Any] = {"name": name, "story": story, "key": "", "status": "", "verified": False, "report": "", "error": "", "message": ""}
        try:
            source = parse_article(text, name=name, path=None)
        except SummarizeError as exc:
            return {**row, "status": "input_error", "error": exc.kind, "message": exc.message}
        row["key"] = key = self.keys.key(BatchItem(source, story))
        if (cached := self.cache.get(key)) is not None:
            from summarize.models.report import SourceReport

            return {**row, "status": "cached", "verified": SourceReport.model_validate_json(cached).verified, "report": cached}
        try:
            report = extract_source(source, self.llm, self.settings, self.prompt)
        except SummarizeError as exc:
            return {**row, "status": "failed", "error": exc.kind, "message": exc.message}
        report_json = report.model_dump_json()
        self.cache.put(key, report_json)
        return {**row, "status": "done", "verified": report.verified, "report": report_json}

    def __del__(self) -> None:
        pool = getattr(self, "pool", None)
        if pool is not None:
            pool.shutdown(wait=False)


def extract_dataset(
    ds: Any,
    settings: Settings,
    *,
    cache_dir: str,
    actors: int = 2,
    concurrency: int = 8,
    batch_size: int = 32,
    rpm: float | None = None,
    tpm: float | None = None,
    language: str = "English",
    cpus_per_actor: float = 1.0,
) -> Any:
    """``ds`` (rows with ``text``, ``name``, optional ``story``) mapped to report rows by ``actors`` actors,
    each with ``concurrency`` requests in flight and ``1/actors`` of ``rpm``/``tpm``."""
    kwargs = {
        "settings": settings,
        "cache_dir": cache_dir,
        "concurrency": concurrency,
        "language": language,
        "share": 1 / actors,
        "rpm": rpm / actors if rpm else None,
        "tpm": tpm / actors if tpm else None,
    }
    from ray.data import ActorPoolStrategy

    return ds.map_batches(
        ExtractBatch,
        fn_constructor_kwargs=kwargs,
        batch_size=batch_size,
        batch_format="numpy",
        compute=ActorPoolStrategy(size=actors),
        num_cpus=cpus_per_actor,
    )
