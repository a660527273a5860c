"""The batch store: one SQLite file in the output directory holding finished work and the run log.

Keys are content hashes (source text, prompt, schema version, model, mode), so re-running the
same command finds its work done and a changed prompt or model redoes it. Each result is
committed in its own transaction in WAL mode, so a process killed at any moment leaves the
store consistent: work is either recorded whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarize.config import Settings
from summarize.errors import BusyError, InputError, OutputError, StoreCorruptError, SummarizeError
from summarize.fileio import output_error
from summarize.llm.client import CallRecord
from summarize.llm.prompts import load_prompt
from summarize.models.base import SCHEMA_VERSION
from summarize.models.briefing import Briefing
from summarize.models.report import Source, SourceReport

if TYPE_CHECKING:
    from summarize.batch.inputs import BatchItem

# Named migrations, applied once each in order and recorded in the store's _migrations table
# (the pattern of simonw/llm). Never edit one that has shipped: add the next. The first uses
# IF NOT EXISTS because stores written before migrations existed already hold its tables.
MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "m001_initial",
        """
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY, story TEXT NOT NULL, source_id TEXT NOT NULL, item TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')), verified INTEGER, report TEXT, error TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS briefings (
    key TEXT PRIMARY KEY, story TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    briefing TEXT, error TEXT, updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, time TEXT NOT NULL, stage TEXT NOT NULL, item TEXT NOT NULL,
    prompt TEXT, prompt_sha TEXT, model TEXT, prompt_tokens INTEGER, completion_tokens INTEGER, latency_ms REAL,
    outcome TEXT NOT NULL, status INTEGER
);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, command TEXT, summary TEXT);
CREATE TABLE IF NOT EXISTS state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
""",
    ),
)


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations this store lacks, each in its own transaction; return their names."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    applied = {row[0] for row in db.execute("SELECT name FROM _migrations")}
    ran = []
    for name, sql in MIGRATIONS:
        if name in applied:
            continue
        db.executescript(f"BEGIN;\n{sql}\nINSERT INTO _migrations (name, applied_at) VALUES ('{name}', '{_now()}');\nCOMMIT;")
        ran.append(name)
    return ran


def work_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join((SCHEMA_VERSION, *parts)).encode("utf-8")).hexdigest()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class WorkKeys:
    """The store keys of a configuration's work: what must be redone when the prompt, model or settings change."""

    def __init__(self, settings: Settings, language: str) -> None:
        extract_prompt = load_prompt("extract", settings.prompts_dir)
        brief_prompt = load_prompt("brief", settings.prompts_dir)
        config = "\x1f".join(
            (settings.model, settings.mode, str(settings.strict), str(settings.chunk_chars), str(settings.chunk_overlap), str(settings.max_reasks))
        )
        self._extract_key = "\x1f".join((extract_prompt.sha256, config))
        self._brief_key = "\x1f".join((brief_prompt.sha256, config, language))
        self._known: dict[int, tuple[Source, str]] = {}  # by the source object: a run asks again when it writes its outputs

    def key(self, item: BatchItem) -> str:
        # the text and the header fields that shape the report (id, outlet, publication date...), not where the file lives
        source = item.source
        known = self._known.get(id(source))
        if known is not None and known[0] is source:  # the entry holds the object, so its id cannot be another's
            return known[1]
        key = work_key("extract", source.model_dump_json(exclude={"path"}), self._extract_key)
        self._known[id(source)] = (source, key)
        return key

    def brief_key(self, report_keys: Sequence[str]) -> str:
        return work_key("brief", *sorted(report_keys), self._brief_key)


KEPT = "the work already in the store is kept"


def store_error(exc: sqlite3.Error, path: Path) -> SummarizeError:
    """One line for an SQLite failure, by its result code: disk full, read-only, damaged, not a store, busy."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    where = path.parent
    if name.startswith("SQLITE_FULL"):
        return OutputError(f"disk full: cannot write {path} ({exc}); free some space and run the same command again: {KEPT}")
    if name.startswith(("SQLITE_READONLY", "SQLITE_PERM", "SQLITE_AUTH")) or (name.startswith("SQLITE_CANTOPEN") and not os.access(where, os.W_OK)):
        return OutputError(
            f"{path} is read-only ({exc}): the work in it is intact and nothing was changed; make {where} and its files writable "
            f"to resume, or pass another --out (`summarize logs {where}` reads it as it is)",
        )
    if name.startswith("SQLITE_CORRUPT"):
        return StoreCorruptError(
            f"{path} is damaged ({exc}); keep the file, it holds finished work: `sqlite3 {path} .recover | sqlite3 recovered.sqlite` "
            "saves what can be read (then put recovered.sqlite in its place), or pass another --out to start afresh",
        )
    if name.startswith("SQLITE_NOTADB"):
        return InputError(f"{path} is not a batch store ({exc}): pass another --out, or move that file away if it is not summarize's")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return BusyError(f"{path} is in use by another process ({exc}); wait for it to finish or pass another --out")
    return OutputError(f"cannot use {path} ({exc})")


class Store:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(exc, path.parent) from None
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as exc:
            raise store_error(exc, path) from None
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            migrate(self._db)
        except sqlite3.Error as exc:
            self._db.close()
            raise store_error(exc, path) from None
        self.run_id = ""

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: Sequence[Any]) -> None:
        with self._lock:
            try:
                self._db.execute(sql, args)
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cur = self._db.execute(sql, args)
                cur.row_factory = sqlite3.Row
                return cur.fetchall()
            except sqlite3.Error as exc:
                raise store_error(exc, self.path) from None

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, command: str) -> str:
        self.run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
        self._write("INSERT INTO runs (run_id, started_at, command) VALUES (?, ?, ?)", (self.run_id, _now(), command))
        return self.run_id

    def finish_run(self, summary: dict[str, Any]) -> None:
        self._write("UPDATE runs SET finished_at = ?, summary = ? WHERE run_id = ?", (_now(), json.dumps(summary), self.run_id))

    def runs(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self._read("SELECT * FROM runs ORDER BY started_at")]

    # -- extraction results ------------------------------------------------------------------

    def report(self, key: str) -> SourceReport | None:
        rows = self._read("SELECT report FROM items WHERE key = ? AND status = 'done'", (key,))
        return SourceReport.model_validate_json(rows[0]["report"]) if rows else None

    def done_keys(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            found |= {r["key"] for r in self._read(f"SELECT key FROM items WHERE status = 'done' AND key IN ({marks})", chunk)}
        return found

    def put_report(self, key: str, story: str, item: str, report: SourceReport) -> None:
        self._write(
            "INSERT OR REPLACE INTO items (key, story, source_id, item, status, verified, report, error, updated_at)"
            " VALUES (?, ?, ?, ?, 'done', ?, ?, NULL, ?)",
            (key, story, report.source.id, item, int(report.verified), report.model_dump_json(), _now()),
        )

    def put_report_json(self, key: str, story: str, source_id: str, item: str, report_json: str, verified: bool) -> None:
        """A report a worker process serialised (``SourceReport.model_dump_json``): stored as it is, not parsed again."""
        self._write(
            "INSERT OR REPLACE INTO items (key, story, source_id, item, status, verified, report, error, updated_at)"
            " VALUES (?, ?, ?, ?, 'done', ?, ?, NULL, ?)",
            (key, story, source_id, item, int(verified), report_json, _now()),
        )

    def unverified(self, keys: Sequence[str]) -> int:
        """How many of these finished items were only partly verified."""
        total = 0
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            total += int(self._read(f"SELECT count(*) FROM items WHERE status = 'done' AND verified = 0 AND key IN ({marks})", chunk)[0][0])
        return total

    def put_failure(self, key: str, story: str, source_id: str, item: str, error: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO items (key, story, source_id, item, status, report, error, updated_at) VALUES (?, ?, ?, ?, 'failed', NULL, ?, ?)",
            (key, story, source_id, item, json.dumps(error), _now()),
        )

    def rows(self, keys: Sequence[str]) -> Iterator[sqlite3.Row]:
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            marks = ",".join("?" * len(chunk))
            yield from self._read(f"SELECT * FROM items WHERE key IN ({marks})", chunk)

    # -- briefings ---------------------------------------------------------------------------

    def briefing(self, key: str) -> Briefing | None:
        rows = self._read("SELECT briefing FROM briefings WHERE key = ? AND status = 'done'", (key,))
        return Briefing.model_validate_json(rows[0]["briefing"]) if rows else None

    def put_briefing(self, key: str, story: str, briefing: Briefing) -> None:
        self._write(
            "INSERT OR REPLACE INTO briefings (key, story, status, briefing, error, updated_at) VALUES (?, ?, 'done', ?, NULL, ?)",
            (key, story, briefing.model_dump_json(), _now()),
        )

    def briefing_failure(self, key: str) -> dict[str, Any] | None:
        rows = self._read("SELECT error FROM briefings WHERE key = ? AND status = 'failed'", (key,))
        return json.loads(rows[0]["error"]) if rows else None

    def put_briefing_failure(self, key: str, story: str, error: dict[str, Any]) -> None:
        self._write(
            "INSERT OR REPLACE INTO briefings (key, story, status, briefing, error, updated_at) VALUES (?, ?, 'failed', NULL, ?, ?)",
            (key, story, json.dumps(error), _now()),
        )

    # -- run log and state -------------------------------------------------------------------

    def log_call(self, record: CallRecord) -> None:
        row = asdict(record)
        self._write(
            "INSERT INTO calls (run_id, time, stage, item, prompt, prompt_sha, model, prompt_tokens, completion_tokens, latency_ms, outcome, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                *(
                    row[k]
                    for k in ("time", "stage", "item", "prompt", "prompt_sha", "model", "prompt_tokens", "completion_tokens", "latency_ms", "outcome", "status")
                ),
            ),
        )

    def calls(self, run_id: str | None = None) -> list[dict[str, Any]]:
        if run_id:
            return [dict(r) for r in self._read("SELECT * FROM calls WHERE run_id = ? ORDER BY id", (run_id,))]
        return [dict(r) for r in self._read("SELECT * FROM calls ORDER BY id")]

    def count_calls(self, run_id: str) -> int:
        return int(self._read("SELECT count(*) FROM calls WHERE run_id = ?", (run_id,))[0][0])

    def get_state(self, name: str) -> str | None:
        rows = self._read("SELECT value FROM state WHERE name = ?", (name,))
        return str(rows[0]["value"]) if rows else None

    def set_state(self, name: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO state (name, value) VALUES (?, ?)", (name, value))

    def integrity(self) -> str:
        return str(self._read("PRAGMA integrity_check")[0][0])
