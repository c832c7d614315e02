"""state.db: the one source of truth, and the only module that opens it.

`Database` hands each thread its own sqlite3 connection (WAL, a long busy timeout,
foreign keys on) and applies pending migrations the first time a file is opened.
`atomic()` is the unit of work: the outermost block is a `BEGIN IMMEDIATE` transaction
(a writer takes the write lock up front instead of failing to upgrade a read lock
later), nested blocks are savepoints, so "store this page and move the checkpoint" is
one `with db.atomic():` whichever function opened it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from novahunt import migrations, paths

# Long enough that a reader or writer never sees "database is locked" while another
# process commits a page; short enough that a truly stuck lock still surfaces.
BUSY_TIMEOUT_MS = 60_000

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


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
            raise sqlite3.OperationalError(f"cannot switch {_name(conn)} to WAL mode")
        time.sleep(0.01)


def _name(conn: sqlite3.Connection) -> str:
    row = conn.execute("PRAGMA database_list").fetchone()
    return str(row[2] or "the database") if row else "the database"


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
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
        with self._lock:
            if not self._migrated:
                migrations.migrate(conn)
                self._migrated = True
        return conn

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        depth: int = self._local.depth
        name = f"sp{depth}"
        conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {name}")
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException:
            if depth == 0:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        else:
            conn.execute("COMMIT" if depth == 0 else f"RELEASE {name}")
        finally:
            self._local.depth = depth

    def vacuum(self) -> None:
        """Give freed pages back to the file system (not inside a transaction)."""
        self.conn.execute("VACUUM")

    def execute(self, sql: str, params: Params = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]


def open_state() -> Database:
    """The state database under the home folder, created (0600) and migrated if needed."""
    paths.ensure_home()
    return Database(paths.state_db())
