"""queue.db: huey's SqliteHuey, for delivery only.

A message says "run job N" and nothing else; state.db decides whether it still should.
Building SqliteHuey runs its DDL under an exclusive lock, so ordinary commands pass
`create_tables=False` once the file exists. The queue runs `synchronous=NORMAL`: WAL
keeps that safe against process crashes, and a message lost to a power cut is
re-sent by the sweeper from state.db.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.storage import SqliteStorage

from novahunt import paths

NAME = "novahunt"


class _QueueStorage(SqliteStorage):  # type: ignore[misc]
    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class QueueHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = _QueueStorage


_cache: dict[Path, Any] = {}


def open_queue() -> Any:
    """The huey instance for this home, with the `run_job` task registered."""
    path = paths.queue_db()
    huey = _cache.get(path)
    if huey is None:
        paths.private_file(path)
        huey = QueueHuey(NAME, filename=str(path), results=False, utc=True,
                         create_tables=_missing_tables(path), timeout=60)
        from novahunt import tasks

        tasks.register(huey)
        _cache[path] = huey
    return huey


def _missing_tables(path: Path) -> bool:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'task'").fetchone() is None
