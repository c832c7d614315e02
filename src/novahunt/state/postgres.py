"""The PostgreSQL backend: the same statements as SQLite, through psycopg 3 and a pool.

One connection pool per process and URL. A connection is taken from the pool for one
statement, or for a whole `atomic()` block (held by that thread until the block ends),
and goes back at once: a worker's threads share a few connections, however many there
are. Connections run in autocommit; `atomic()` opens its own transaction (READ
COMMITTED: each statement sees what others committed before it).

What differs from SQLite is translated here and nowhere else:

- placeholders: `?` becomes `%s` (and a literal `%` becomes `%%`);
- migration DDL: `INTEGER PRIMARY KEY` becomes an identity column, `INTEGER` a
  BIGINT, `REAL` a DOUBLE PRECISION (times are epoch seconds on both);
- values: a SUM or AVG comes back as a number, not a Decimal; a Python bool is sent as
  0 or 1, as SQLite stores it;
- named locks are transaction-scoped advisory locks (SQLite has one writer anyway);
- errors: psycopg's become novahunt's `StorageError`s by SQLSTATE (`storage_error`).

Imported only when NOVAHUNT_DATABASE_URL names a server: psycopg and psycopg-pool are
the `team` extra (`pip install 'novahunt[team]'`).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.rows import RowMaker
from psycopg_pool import ConnectionPool, PoolTimeout

from novahunt.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    IntegrityViolation,
    StorageError,
    StorageFull,
)
from novahunt.inputs.urls import redact
from novahunt.state import migrations
from novahunt.state.base import Database, Params

CONNECT_TIMEOUT = 10      # seconds to reach the server before a command gives up
POOL_MAX = 32             # connections one process holds at most


# SQLSTATE classes and codes (PostgreSQL's appendix A) callers tell apart
_BUSY = {"40001", "40P01", "55P03", "57014"}  # serialization, deadlock, lock wait, timeout
_GONE = {"53300", "57P01", "57P02", "57P03"}  # too many connections, server shutting down


def storage_error(exc: psycopg.Error) -> StorageError:
    """psycopg's error as the novahunt error callers catch, by its SQLSTATE."""
    text = _first_line(exc)
    state = exc.sqlstate or ""
    if state.startswith("23"):
        return IntegrityViolation(text)
    if state in _BUSY:
        return DatabaseBusy(text)
    if state == "53100":
        return StorageFull(text)
    # class 08, a server going away, or no SQLSTATE at all: psycopg's OperationalError
    # when the connection broke under the statement
    if state.startswith("08") or state in _GONE or (
            not state and isinstance(exc, psycopg.OperationalError)):
        return DatabaseUnavailable(text)
    return StorageError(text)


class PgRow:
    """A row by position or by column name, like sqlite3.Row."""

    __slots__ = ("_index", "_values")

    def __init__(self, values: Sequence[Any], index: dict[str, int]) -> None:
        self._values = values
        self._index = index

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self._values[self._index[key]]
        return self._values[key]

    def keys(self) -> list[str]:
        return list(self._index)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"PgRow({dict(zip(self._index, self._values, strict=True))!r})"


def _row_factory(cursor: Any) -> RowMaker[PgRow]:
    names = [c.name for c in cursor.description or ()]
    index = {name: i for i, name in enumerate(names)}

    def make(values: Sequence[Any]) -> PgRow:
        return PgRow(values, index)

    return make


class _NumberLoader(Loader):
    """numeric -> int when whole, else float: SUM(bigint) is numeric in PostgreSQL."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        number = float(text)
        return int(text) if text.lstrip("-").isdigit() else number


class _BoolAsInt(Dumper):
    # flags are integer columns, as in SQLite
    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"


def _configure(conn: psycopg.Connection[Any]) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)
    conn.adapters.register_dumper(bool, _BoolAsInt)


class _BrokenPipeline(logging.Filter):
    """A batch the server refuses breaks psycopg's executemany pipeline, and psycopg
    then warns, now and then by timing, that it could not end the pipeline either. The
    refusal itself is raised to the caller; the warning is noise on a user's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("error ignored terminating")


logging.getLogger("psycopg").addFilter(_BrokenPipeline())


@functools.lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """`?` placeholders to psycopg's `%s`, outside string literals; `%` escaped."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


_DDL = [
    (re.compile(r"\bINTEGER PRIMARY KEY( AUTOINCREMENT)?", re.I),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
]


def ddl(sql: str) -> str:
    """A migration's DDL, written for SQLite, in PostgreSQL's types."""
    for pattern, replacement in _DDL:
        sql = pattern.sub(replacement, sql)
    return sql


class _Result:
    """What a statement returned, fetched: the connection is back in the pool."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount

    def fetchone(self) -> Any:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Any]:
        rest = self._rows[self._next:]
        self._next = len(self._rows)
        return rest

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row


class _Shared:
    """Per process and URL: the pool, and whether migrations ran."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.Lock()
        self.pool: ConnectionPool[Any] | None = None
        self.pid = os.getpid()


_shared: dict[str, _Shared] = {}
_shared_lock = threading.Lock()


def close_pools() -> None:
    """Close every pool this process opened (at exit, and between tests)."""
    with _shared_lock:
        entries = list(_shared.values())
        _shared.clear()
    for entry in entries:
        if entry.pool is not None and entry.pid == os.getpid():
            entry.pool.close(timeout=1)


atexit.register(close_pools)


class PostgresDatabase(Database):
    dialect = "postgresql"
    for_update = " FOR UPDATE"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        super().__init__()
        self.location = url
        self.shown = redact(url)

    # -- connections -----------------------------------------------------------------

    def _pool(self) -> ConnectionPool[Any]:
        with _shared_lock:
            entry = _shared.get(self.location)
            if entry is None or entry.pid != os.getpid():
                entry = _shared[self.location] = _Shared(self.location)
        with entry.lock:
            if entry.pool is None:
                self._first_connect()
                entry.pool = ConnectionPool(
                    self.location, min_size=1, max_size=POOL_MAX, open=True, timeout=60,
                    kwargs={"autocommit": True, "row_factory": _row_factory,
                            "connect_timeout": CONNECT_TIMEOUT},
                    configure=_configure, name="novahunt")
            return entry.pool

    def _first_connect(self) -> None:
        """Reach the server once directly, so a wrong URL or a server that is down is
        one clear line now (a pool would keep retrying), then apply migrations."""
        try:
            conn = psycopg.connect(self.location, autocommit=True, row_factory=_row_factory,
                                   connect_timeout=CONNECT_TIMEOUT)
        except psycopg.Error as exc:
            raise DatabaseUnavailable(f"cannot reach {self.shown}: {_first_line(exc)}") from None
        _configure(conn)
        self._local.conn = conn
        self._local.depth = 0
        try:
            migrations.migrate(self)
        finally:
            self._local.conn = None
            conn.close()

    @property
    def conn(self) -> Any:
        held = getattr(self._local, "conn", None)
        if held is not None:
            return held
        raise RuntimeError("no connection is held outside atomic()")

    def _checkout(self) -> Any:
        try:
            return self._pool().getconn()
        except PoolTimeout as exc:
            raise DatabaseUnavailable(f"cannot reach {self.shown}: {exc}") from None

    def _checkin(self, conn: Any) -> None:
        entry = _shared.get(self.location)
        if entry is not None and entry.pool is not None and entry.pid == os.getpid():
            entry.pool.putconn(conn)
        else:  # its pool was closed meanwhile (at exit, or between tests)
            conn.close()

    # -- the Database interface -------------------------------------------------------

    def _hold(self) -> bool:
        if getattr(self._local, "conn", None) is not None:
            return False
        self._local.conn = self._checkout()
        self._local.depth = 0
        return True

    def _unhold(self) -> None:
        conn = self._local.conn
        self._local.conn = None
        self._checkin(conn)

    def _begin(self, lock: str | None) -> None:
        self.execute("BEGIN")
        if lock is not None:
            self._lock(lock)

    def _lock(self, name: str) -> None:
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (name,))

    def execute(self, sql: str, params: Params = ()) -> _Result:
        held = getattr(self._local, "conn", None)
        conn = held or self._checkout()
        try:
            cur = conn.execute(translate(sql), params)
            rows = cur.fetchall() if cur.description is not None else []
            return _Result(rows, cur.rowcount)
        except psycopg.Error as exc:
            raise storage_error(exc) from exc
        finally:
            if held is None:
                self._checkin(conn)

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        held = getattr(self._local, "conn", None)
        conn = held or self._checkout()
        try:
            with conn.cursor() as cur:
                cur.executemany(translate(sql), rows)
        except psycopg.Error as exc:
            raise storage_error(exc) from exc
        finally:
            if held is None:
                self._checkin(conn)

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        held = getattr(self._local, "conn", None)
        conn = held or self._checkout()
        try:
            with conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
                yield from cur.stream(translate(sql), params)
        except psycopg.Error as exc:
            raise storage_error(exc) from exc
        finally:
            if held is None:
                self._checkin(conn)

    def ddl(self, sql: str) -> None:
        # as written, not through translate(): DDL has no placeholders, and its comments
        # may hold a `?` or an apostrophe
        try:
            self.conn.execute(ddl(sql))
        except psycopg.Error as exc:
            raise storage_error(exc) from exc

    def vacuum(self) -> None:
        """Nothing: PostgreSQL's autovacuum gives freed space back to the tables."""

    def close(self) -> None:
        """Nothing to do per thread: connections go back to the pool after each use."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
