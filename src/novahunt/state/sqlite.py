"""The SQLite backend, the embedded default: `state.db` under the home folder.

Each thread has its own sqlite3 connection (WAL, a long busy timeout, foreign keys on),
opened and migrated on first use. sqlite3's errors become novahunt's `StorageError`s
here (`storage_error`) and nowhere else.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from novahunt import paths
from novahunt.errors import DatabaseBusy, IntegrityViolation, StorageError, StorageFull
from novahunt.state import migrations
from novahunt.state.base import Cursor, Database, Params

# Long enough that a reader or writer never sees "database is locked" while another
# process commits a page; short enough that a truly stuck lock still surfaces.
BUSY_TIMEOUT_MS = 60_000


def storage_error(exc: sqlite3.Error) -> StorageError:
    """sqlite3's error as the novahunt error callers catch, by SQLite's result code."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    code = getattr(exc, "sqlite_errorname", None) or ""  # "SQLITE_BUSY", "SQLITE_FULL"...
    if isinstance(exc, sqlite3.IntegrityError) or code.startswith("SQLITE_CONSTRAINT"):
        return IntegrityViolation(text)
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in text:
        return DatabaseBusy(text)
    if code == "SQLITE_FULL" or "disk is full" in text:
        return StorageFull(text)
    return StorageError(text)


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL (it stays so). Switching needs the file to itself and
    SQLite answers "database is locked" at once, without the busy timeout, when another
    connection is opening it too: so look first, and retry the switch."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        try:
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
        if time.monotonic() > deadline:
            raise DatabaseBusy(f"cannot switch {_name(conn)} to WAL mode")
        time.sleep(0.01)


def _name(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2] or "the database") if row else "the database"


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.location = self.shown = str(path)
        self._lock_migrate = threading.Lock()
        self._migrated = False

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def _open(self) -> sqlite3.Connection:
        paths.private_file(self.path)
        try:
            conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            _use_wal(conn)
            # NORMAL is durable against process crashes in WAL mode; only a power cut can
            # lose the last commits, which the sweeper and checkpoints then redo.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        self._local.conn = conn
        self._local.depth = 0
        with self._lock_migrate:
            if not self._migrated:
                migrations.migrate(self)
                self._migrated = True
        return conn

    def _begin(self, lock: str | None) -> None:
        # the write lock up front, instead of failing to upgrade a read lock later
        self.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # A SELECT's first step runs in execute(), where its read lock is taken; a cursor
    # read further steps on, and only an I/O error or a damaged file can fail there.
    def execute(self, sql: str, params: Params = ()) -> Cursor:
        try:
            cursor: Cursor = self.conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc
        return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            yield from cursor.execute(sql, params)
        except sqlite3.Error as exc:
            raise storage_error(exc) from exc

    def integrity(self) -> list[str]:
        return [str(r[0]) for r in self.query("PRAGMA integrity_check")]
