"""The storage interface: what every table-family module calls, whichever backend.

Two backends fill it in (`sqlite.py`, the default, and `postgres.py`); the factory
above both (`db.py`: `open_state`, `connect`) picks one, so no other module knows which
it talks to. Each backend turns its driver's errors into `StorageError`s
(errors.py) in one place, so nobody above catches `sqlite3` or `psycopg` exceptions.

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

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

Params = Sequence[Any] | dict[str, Any]

T = TypeVar("T")

# Values per `IN (...)` list: far below SQLite's 32,766 bound parameters (999 before
# 3.32) and PostgreSQL's 65,535, with room for a statement's other parameters.
IN_LIST_MAX = 500


def chunked(values: Sequence[T], size: int = IN_LIST_MAX) -> Iterator[tuple[list[T], str]]:
    """`values` in pieces of at most `size`, each with its placeholders ("?,?,?") for one
    `IN (...)` list: `for chunk, marks in chunked(ids): db.query(f"... IN ({marks})", chunk)`."""
    for start in range(0, len(values), size):
        chunk = list(values[start:start + size])
        yield chunk, ",".join("?" * len(chunk))


class Row(Protocol):
    """A result row: by position or by column name, like sqlite3.Row."""

    def __getitem__(self, key: Any, /) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What `execute()` returns: rows still to fetch, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


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
        self.execute("VACUUM")

    def ddl(self, sql: str) -> None:
        """Run a migration's DDL, written in SQLite's spelling."""
        self.execute(sql)

    def rows(self, sql: str, params: Params = ()) -> Iterator[tuple[Any, ...]]:
        """Plain tuples, streamed: for long listings where per-row work is the cost."""
        raise NotImplementedError

    def integrity(self) -> list[str]:
        """Problems a consistency check finds; ["ok"] when none."""
        return ["ok"]

    def lost(self) -> str | None:
        """Why the database this process opened is no longer the one others open (a
        state.db removed or replaced under it), or None: a worker stops on it."""
        return None

    def let_go(self) -> None:
        """After `lost()`: leave nothing at the path that the next opener would take for
        its own (SQLite: the journal, written back into the file it belongs to)."""

    # -- for everyone --------------------------------------------------------------------

    @contextmanager
    def atomic(self, lock: str | None = None, *,
               savepoint: bool = True) -> Iterator[Database]:
        """A transaction, or inside one a savepoint; it yields this database (no driver
        connection leaves its backend). `savepoint=False` joins the enclosing
        transaction instead (two statements saved): for a block whose failure fails the
        whole unit of work anyway. An exception leaving such a block dooms the
        transaction: it rolls back even if the exception is caught, unless an enclosing
        savepoint rolls back past it."""
        depth: int = getattr(self._local, "depth", 0)
        if depth and not savepoint:
            if lock is not None:
                self._lock(lock)
            self._local.depth = depth + 1
            try:
                yield self
            except BaseException:
                doomed: int | None = getattr(self._local, "doomed", None)
                self._local.doomed = depth if doomed is None else min(doomed, depth)
                raise
            finally:
                self._local.depth = depth
            return
        took = self._hold()
        try:
            name = f"sp{depth}"
            if depth == 0:
                self._begin(lock)
            else:
                self.execute(f"SAVEPOINT {name}")
                if lock is not None:
                    self._lock(lock)
            self._local.depth = depth + 1
            try:
                yield self
            except BaseException:
                self._rollback(depth, name)
                raise
            else:
                if depth > 0:
                    self.execute(f"RELEASE SAVEPOINT {name}")
                    self._released(depth)
                elif getattr(self._local, "doomed", None) is not None:
                    self._rollback(0, name)
                    raise RuntimeError("a block inside this transaction failed without a"
                                       " savepoint: the transaction was rolled back")
                else:
                    try:
                        self.execute("COMMIT")
                    except BaseException:
                        try:
                            # SQLite keeps the transaction (and its write lock) open
                            # when COMMIT fails, e.g. on a deferred foreign key;
                            # PostgreSQL has ended it already and only warns here
                            self.execute("ROLLBACK")
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

    def _rollback(self, depth: int, name: str) -> None:
        """Undo the block opened at `depth` (the transaction when 0)."""
        try:
            if depth == 0:
                self.execute("ROLLBACK")
            else:
                self.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.execute(f"RELEASE SAVEPOINT {name}")
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
        """Run one statement; a driver error comes out as a `StorageError`."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        raise NotImplementedError

    def query(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self.execute(sql, params).fetchall()
        return rows

    def one(self, sql: str, params: Params = ()) -> Row | None:
        row: Row | None = self.execute(sql, params).fetchone()
        return row

    def scalar(self, sql: str, params: Params = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        return None if row is None else row[0]
