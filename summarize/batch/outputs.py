"""A batch directory's files, regenerated from the store and written atomically; and its run log.

    DIR/reports.jsonl          one SourceReport per article that was extracted
    DIR/errors.jsonl           one line per item that failed: item, stage, error kind, message, attempts
    DIR/briefings/<story>.md   and .json, one per story (long story names are cut and given a hash: see ``story_file``)
    DIR/summary.json           counts, tokens, cost, wall time
    DIR/run.log                tracebacks of internal errors (bugs), appended by each run
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import traceback
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarize.batch.store import Store
from summarize.fileio import atomic_write
from summarize.models.report import FailedItem
from summarize.render.briefing_md import briefing_markdown

if TYPE_CHECKING:
    from summarize.batch.inputs import BatchItem

RUN_LOG = "run.log"
# File systems allow 255 bytes per name; atomic_write adds ".", ".XXXXXXXX.tmp" and the suffix adds ".json".
MAX_STORY_FILE = 120


def story_file(story: str) -> str:
    """The briefing file name (without suffix) of a story: the story itself, or when longer than
    ``MAX_STORY_FILE`` bytes its start and a hash of the whole, so long names stay distinct."""
    if len(story.encode("utf-8")) <= MAX_STORY_FILE:
        return story
    digest = hashlib.sha256(story.encode("utf-8")).hexdigest()[:12]
    head = story.encode("utf-8")[: MAX_STORY_FILE - len(digest) - 1].decode("utf-8", "ignore").rstrip("-")
    return f"{head}-{digest}"


def log_traceback(out: Path, run_id: str, what: str, exc: BaseException) -> Path:
    """Append ``exc``'s traceback to DIR/run.log; return the log's path."""
    path = out / RUN_LOG
    stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(exc))
    try:
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f"--- {stamp} run {run_id}: internal error in {what}\n{text}\n")
    except OSError:
        pass  # the error is still reported; only its traceback is lost
    return path


def write_files(
    out: Path,
    store: Store,
    items: Sequence[BatchItem],
    *,
    key: Callable[[BatchItem], str],
    brief_key: Callable[[list[str]], str],
    errors: Sequence[FailedItem],
    summary: dict[str, Any],
) -> None:
    """Regenerate every output file from the store, atomically."""
    keys = [key(i) for i in items]  # once each: a key hashes the source's JSON
    story_of = {k: i.story for k, i in zip(keys, items, strict=True)}
    budget_items = {e.item for e in errors if e.error == "budget"}
    skipped = {k for k, i in zip(keys, items, strict=True) if (i.source.path or i.source.id) in budget_items}
    reports: list[str] = []
    lines: list[str] = [json.dumps(e.model_dump(), ensure_ascii=False) for e in errors if e.stage == "read" or e.error == "budget"]
    done_keys: dict[str, list[str]] = defaultdict(list)
    for row in sorted(store.rows(keys), key=lambda r: (story_of[r["key"]], r["source_id"])):
        if row["status"] == "done":
            done_keys[story_of[row["key"]]].append(row["key"])
            # splice the stored JSON rather than parse and re-serialise every report
            reports.append('{"story": ' + json.dumps(story_of[row["key"]], ensure_ascii=False) + ", " + row["report"][1:])
        elif row["key"] not in skipped:
            lines.append(json.dumps(json.loads(row["error"]), ensure_ascii=False))
    atomic_write(out / "reports.jsonl", "".join(line + "\n" for line in reports))
    for story, story_keys in done_keys.items():
        bkey = brief_key(story_keys)
        briefing = store.briefing(bkey)
        if briefing is not None:
            name = story_file(story)
            atomic_write(out / "briefings" / f"{name}.json", briefing.model_dump_json(indent=2) + "\n")
            atomic_write(out / "briefings" / f"{name}.md", briefing_markdown(briefing))
        elif (failure := store.briefing_failure(bkey)) is not None:
            lines.append(json.dumps(failure, ensure_ascii=False))
    atomic_write(out / "errors.jsonl", "".join(line + "\n" for line in lines))
    atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n")
