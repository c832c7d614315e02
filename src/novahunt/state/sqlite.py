"""The SQLite backend, the embedded default: `state.db` under the home folder.

Each thread has its own sqlite3 connection (WAL, a long busy timeout, foreign keys on),
opened and migrated on first use. sqlite3's errors become novahunt's `StorageError`s
here (`storage_error`) and nowhere else.

A home that cannot be written is opened read-only (`mode=ro`, or `immutable=1` when no
journal is left to read), so reading commands work there and writing ones are refused in
one line. Before its first connection a process checks that nobody holds state.db's
journal with another file (`sqlite_files`); afterwards it keeps to the file it opened.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from novahunt import paths
from novahunt.errors import (
    DatabaseBusy,
    IntegrityViolation,
    ReadOnlyStorage,
    StateFileLost,
    StorageError,
    StorageFull,
)
from novahunt.state import migrations, sqlite_files
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
    if code.startswith("SQLITE_READONLY") or "readonly database" in text:
        return ReadOnlyStorage(text)
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
    """state.db, opened read-write, or read-only when its home cannot be written (then
    `read_only` says why, and the first write a command tries is refused in one line).

    The file first opened is the one this process keeps: `identity` is its device and
    inode, and a thread that would open another file at the path (state.db removed or
    replaced meanwhile) is refused; `lost()` tells a worker that this happened."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.location = self.shown = str(path)
        self._lock_migrate = threading.Lock()
        self._migrated = False
        self.read_only: str | None = None
        self.identity: tuple[int, int] | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    def _open(self) -> sqlite3.Connection:
        if self.identity is None:  # this process's first connection to the file
            sqlite_files.check_before_open(self.path)
        self.read_only = paths.read_only(self.path)
        if self.read_only is None:
            try:
                paths.private_file(self.path)
            except OSError as exc:
                if exc.errno not in paths.READ_ONLY_ERRNOS:
                    error = StorageFull if exc.errno == errno.ENOSPC else StorageError
                    raise error(f"{self.path}: {exc.strerror}") from exc
                self.read_only = f"{self.path}: {exc.strerror}"
        if self.read_only is not None and not self.path.exists():
            raise ReadOnlyStorage(f"{self.path.name} does not exist and cannot be created "
                                  f"({self.read_only})")
        try:
            conn = self._connect()
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if self.read_only is None:
                _use_wal(conn)
            # NORMAL is durable against process crashes in WAL mode; only a power cut can
            # lose the last commits, which the sweeper and checkpoints then redo.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        self._same_file(conn)
        self._local.conn = conn
        self._local.depth = 0
        with self._lock_migrate:
            if not self._migrated:
                migrations.migrate(self)
                self._migrated = True
        return conn

    def _connect(self) -> sqlite3.Connection:
        if self.read_only is None:
            return sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000,
                                   isolation_level=None, check_same_thread=False)
        uri = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        conn = self._connect_uri(uri)
        try:
            conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            # a WAL file needs its -shm to read, and a read-only folder cannot get one;
            # without a journal (a clean shutdown) nothing but the file itself is to read
            wal = self.path.with_name(self.path.name + "-wal")
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_CANTOPEN":
                raise
            if wal.exists() and wal.stat().st_size > 0:
                raise ReadOnlyStorage(
                    f"{self.path.name} cannot be read ({self.read_only}): its journal "
                    f"{wal.name} needs a {self.path.name}-shm beside it, and none can be "
                    "created here") from None
        # immutable: no locks and no journal to look for, right for a file on a read-only
        # mount; a writer reaching the same file by another path would not be seen
        return self._connect_uri(uri + "&immutable=1")

    def _connect_uri(self, uri: str) -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None, check_same_thread=False)

    def _same_file(self, conn: sqlite3.Connection) -> None:
        """Note the file the first connection opened; refuse another at the path."""
        try:
            st = os.stat(self.path)
        except OSError:
            st = None
        found = None if st is None else (st.st_dev, st.st_ino)
        if self.identity is None:
            self.identity = found
        elif found != self.identity:
            conn.close()
            raise StateFileLost(self.lost() or f"{self.path} changed while open")

    def lost(self) -> str | None:
        if self.identity is None:
            return None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return f"{self.path} was removed while this process had it open"
        except OSError:
            return None
        if (st.st_dev, st.st_ino) != self.identity:
            return f"{self.path} was replaced by another file while this process had it open"
        return None

    def let_go(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or self.read_only is not None:
            return
        try:
            # into the file this process opened, the removed or replaced one; the journal
            # left at the path is then empty, and the next opener replays nothing from it
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> StorageError:
        """`storage_error`, saying why a write was refused on a read-only home, or that
        the file went away when SQLite can only say "disk I/O error"."""
        error = storage_error(exc)
        if isinstance(error, ReadOnlyStorage) and self.read_only is not None:
            return ReadOnlyStorage(
                f"{self.path.name} is read-only ({self.read_only}): this command needs to "
                "write it; reading commands (jobs list, results, stats) still work")
        if type(error) is StorageError and (why := self.lost()) is not None:
            return StateFileLost(f"{why}: {error}")
        return error

    def _begin(self, lock: str | None) -> None:
        # the write lock up front, instead of failing to upgrade a read lock later; a
        # read-only file has none to give: its reads run, its first write is refused
        if self.read_only is not None:
            self.execute("BEGIN")
        else:
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
            raise self._error(exc) from exc
        return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            self.conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None
        try:
            yield from cursor.execute(sql, params)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def integrity(self) -> list[str]:
        return [str(r[0]) for r in self.query("PRAGMA integrity_check")]
