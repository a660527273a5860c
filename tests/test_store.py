"""The batch store's named migrations: applied once, recorded, and safe on stores made before they existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from summarize.batch.store import MIGRATIONS, Store, migrate


def _applied(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY name")]


def test_a_new_store_records_every_migration(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    assert _applied(path) == [name for name, _ in MIGRATIONS]


def test_reopening_runs_nothing_again(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite"
    Store(path).close()
    with sqlite3.connect(path, isolation_level=None) as db:
        assert migrate(db) == []


def test_a_store_from_before_migrations_keeps_its_work(tmp_path: Path) -> None:
    # what earlier releases wrote: the tables, no _migrations table
    path = tmp_path / "store.sqlite"
    with sqlite3.connect(path, isolation_level=None) as db:
        db.executescript(MIGRATIONS[0][1])
        db.execute("INSERT INTO state (name, value) VALUES ('kept', '1')")
    store = Store(path)
    try:
        assert store._read("SELECT value FROM state WHERE name = 'kept'")[0][0] == "1"
    finally:
        store.close()
    assert _applied(path) == ["m001_initial"]
