"""The state database: the one source of truth, and the only module that opens it.

Two backends speak the same SQL, so no other module knows which one it talks to:

- SQLite (the default): `state.db` under the home folder. Each thread has its own
  sqlite3 connection (WAL, a long busy timeout, foreign keys on).
- PostgreSQL, when `NOVAHUNT_DATABASE_URL` names one (`db_postgres.py`): workers on
  several hosts share one history, limiter, cache and ledger.

Statements are written once, with `?` placeholders, in SQL both accept (`ON CONFLICT`,
`RETURNING`, no dialect-only types or functions). `atomic()` is the unit of work: the
outermost block is a transaction, nested blocks are savepoints, so "store this page and
move the checkpoint" is one `with db.atomic():` whichever function opened it.

SQLite runs one writer at a time (`BEGIN IMMEDIATE`), PostgreSQL many. A unit of work
that reads and then writes what it read names a lock, `db.atomic(lock="rate:x")`: a
no-op on SQLite, a transaction-scoped advisory lock on PostgreSQL. Single rows are
locked with `SELECT ... {db.for_update}` (or `{db.skip_locked}` to take the next row
another worker is not already taking).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from novahunt import paths
from novahunt.state import migrations

# Long enough that a reader or writer never sees "database is locked" while another
# process commits a page; short enough that a truly stuck lock still surfaces.
BUSY_TIMEOUT_MS = 60_000

URL_VARIABLE = "NOVAHUNT_DATABASE_URL"

Params = Sequence[Any] | dict[str, Any]


class Row(Protocol):
    """A result row: by position or by column name, like sqlite3.Row."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


def __getattr__(name: str) -> Any:
    # DB_ERRORS: what a failing database raises, whichever backend; psycopg is in the
    # tuple only once loaded, so commands on SQLite never import it
    if name == "DB_ERRORS":
        errors: list[type[BaseException]] = [sqlite3.Error]
        psycopg = sys.modules.get("psycopg")
        if psycopg is not None:
            errors.append(psycopg.Error)
        return tuple(errors)
    raise AttributeError(name)


class Database:
    """The interface every module uses; a backend fills in the connection details."""

    dialect = ""
    # appended to a SELECT that reads rows the transaction is about to change
    for_update = ""
    # ... and that takes any one of several candidates: others skip the rows it locked
    skip_locked = ""
    location = ""  # a path or a URL (with the password), for `connect()` elsewhere
    shown = ""     # what a person may see: the path, or the URL without its password

    def __init__(self) -> None:
        self._local = threading.local()

    # -- for a backend -------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        raise NotImplementedError

    def _begin(self, lock: str | None) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def vacuum(self) -> None:
        """Give freed space back (not inside a transaction)."""
        self.conn.execute("VACUUM")

    def ddl(self, sql: str) -> None:
        """Run a migration's DDL, written in SQLite's spelling."""
        self.conn.execute(sql)

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        """Plain tuples, streamed: for long listings where per-row work is the cost."""
        raise NotImplementedError

    def integrity(self) -> list[str]:
        """Problems a consistency check finds; ["ok"] when none."""
        return ["ok"]

    # -- for everyone --------------------------------------------------------------------

    @contextmanager
    def atomic(self, lock: str | None = None, *, savepoint: bool = True) -> Iterator[Any]:
        """A transaction, or inside one a savepoint. `savepoint=False` joins the
        enclosing transaction instead (two statements saved): for a block whose failure
        fails the whole unit of work anyway. An exception leaving such a block dooms
        the transaction: it rolls back even if the exception is caught, unless an
        enclosing savepoint rolls back past it."""
        depth: int = getattr(self._local, "depth", 0)
        if depth and not savepoint:
            if lock is not None:
                self._lock(lock)
            self._local.depth = depth + 1
            try:
                yield self.conn
            except BaseException:
                doomed: int | None = getattr(self._local, "doomed", None)
                self._local.doomed = depth if doomed is None else min(doomed, depth)
                raise
            finally:
                self._local.depth = depth
            return
        took = self._hold()
        try:
            conn = self.conn
            name = f"sp{depth}"
            if depth == 0:
                self._begin(lock)
            else:
                conn.execute(f"SAVEPOINT {name}")
                if lock is not None:
                    self._lock(lock)
            self._local.depth = depth + 1
            try:
                yield conn
            except BaseException:
                self._rollback(conn, depth, name)
                raise
            else:
                if depth > 0:
                    conn.execute(f"RELEASE SAVEPOINT {name}")
                    self._released(depth)
                elif getattr(self._local, "doomed", None) is not None:
                    self._rollback(conn, 0, name)
                    raise RuntimeError("a block inside this transaction failed without a"
                                       " savepoint: the transaction was rolled back")
                else:
                    try:
                        conn.execute("COMMIT")
                    except BaseException:
                        try:
                            # SQLite keeps the transaction (and its write lock) open
                            # when COMMIT fails, e.g. on a deferred foreign key;
                            # PostgreSQL has ended it already and only warns here
                            conn.execute("ROLLBACK")
                        except Exception:  # nothing left to roll back
                            pass
                        finally:
                            self._undo(0)
                        raise
                    self._local.undo = []
            finally:
                self._local.depth = depth
        finally:
            if took:
                self._unhold()

    def _rollback(self, conn: Any, depth: int, name: str) -> None:
        """Undo the block opened at `depth` (the transaction when 0)."""
        try:
            if depth == 0:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                conn.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            doomed: int | None = getattr(self._local, "doomed", None)
            if doomed is not None and doomed > depth:  # what failed is undone too
                self._local.doomed = None
            self._undo(depth)

    def _released(self, depth: int) -> None:
        # what the released savepoint held now belongs to the enclosing block: a sibling
        # savepoint rolling back later must not undo it, the enclosing block's must
        undo: list[tuple[int, Callable[[], None]]] = getattr(self._local, "undo", [])
        if undo:
            self._local.undo = [(min(d, depth), fn) for d, fn in undo]
        doomed: int | None = getattr(self._local, "doomed", None)
        if doomed is not None and doomed > depth:
            self._local.doomed = depth

    def on_rollback(self, fn: Callable[[], None]) -> None:
        """Run `fn` if the enclosing `atomic()` block rolls back (or its transaction
        does): for what a unit of work keeps outside the database, such as rows it
        wrote from a list it emptied. Only inside `atomic()`."""
        depth: int = getattr(self._local, "depth", 0)
        if depth == 0:
            raise RuntimeError("on_rollback() outside atomic()")
        undo: list[tuple[int, Callable[[], None]]] = getattr(self._local, "undo", [])
        undo.append((depth, fn))
        self._local.undo = undo

    def _undo(self, depth: int) -> None:
        # the block opened at `depth` rolled back: what was registered inside it is undone,
        # newest first; a released savepoint's hooks stay with the enclosing block
        undo: list[tuple[int, Callable[[], None]]] = getattr(self._local, "undo", [])
        keep = [(d, fn) for d, fn in undo if d <= depth]
        self._local.undo = keep
        for d, fn in reversed(undo):
            if d > depth:
                fn()

    def _hold(self) -> bool:
        """Bind a connection to this thread for a transaction; True if it took one."""
        return False

    def _unhold(self) -> None:
        """Give back what `_hold` took."""

    def _lock(self, name: str) -> None:
        """Hold `name` until the transaction ends (SQLite: its one writer already does)."""

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        cursor: Cursor = self.conn.execute(sql, params)
        return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self.execute(sql, params).fetchall()
        return rows

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]


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
        self._local.conn = conn
        self._local.depth = 0
        with self._lock_migrate:
            if not self._migrated:
                migrations.migrate(self)
                self._migrated = True
        return conn

    def _begin(self, lock: str | None) -> None:
        # the write lock up front, instead of failing to upgrade a read lock later
        self.conn.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        cursor = self.conn.cursor()
        cursor.row_factory = None
        yield from cursor.execute(sql, params)

    def integrity(self) -> list[str]:
        return [str(r[0]) for r in self.query("PRAGMA integrity_check")]


def connect(location: str | Path) -> Database:
    """The database at a path (SQLite) or a postgresql:// URL."""
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        from novahunt.state import db_postgres

        return db_postgres.PostgresDatabase(text)
    if "://" in text:
        from novahunt.errors import ConfigError
        from novahunt.inputs.urls import redact

        raise ConfigError(f"{URL_VARIABLE}: {redact(text)} is not a postgresql:// URL")
    return SqliteDatabase(Path(text))


def open_state() -> Database:
    """The state database: `NOVAHUNT_DATABASE_URL`, else state.db under the home folder
    (created 0600 and migrated if needed)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        return connect(url)
    paths.ensure_home()
    return SqliteDatabase(paths.state_db())
