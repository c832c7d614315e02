"""A failing state database raises novahunt's StorageError family on both backends: the
drivers' exceptions are mapped in the backends and nowhere else, and no module above
them catches a `sqlite3` or `psycopg` exception. Also: one helper chunks IN-lists."""

from __future__ import annotations

import ast
import sqlite3
import threading
from pathlib import Path

import pytest

from novahunt import paths
from novahunt.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    IntegrityViolation,
    NovahuntError,
    StorageError,
    StorageFull,
)
from novahunt.state import db, sqlite, verifications
from novahunt.state.base import IN_LIST_MAX, chunked
from novahunt.state.db import Database

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "novahunt"
# where a driver's exceptions may be named: the two state backends, and the queue's own
DRIVER_HOMES = {"state/sqlite.py", "state/postgres.py", "queue/backends.py"}


def test_storage_errors_are_novahunt_errors() -> None:
    for kind in (DatabaseBusy, DatabaseUnavailable, IntegrityViolation, StorageFull):
        assert issubclass(kind, StorageError)
    assert issubclass(StorageError, NovahuntError)
    assert StorageError.exit_code == 1 and DatabaseUnavailable.exit_code == 4


def test_a_refused_constraint_is_an_integrity_violation(backend: str, state: Database) -> None:
    state.execute("INSERT INTO domains (domain, updated_at) VALUES ('a.example', 1)")
    with pytest.raises(IntegrityViolation) as caught:
        state.execute("INSERT INTO domains (domain, updated_at) VALUES ('a.example', 2)")
    assert "\n" not in str(caught.value)
    with pytest.raises(IntegrityViolation):  # in executemany, and NOT NULL
        state.executemany("INSERT INTO domains (domain, updated_at) VALUES (?, ?)",
                          [("b.example", 1), ("c.example", None)])
    with pytest.raises(IntegrityViolation), state.atomic():
        state.execute("INSERT INTO domains (domain, updated_at) VALUES ('a.example', 3)")
    assert state.scalar("SELECT COUNT(*) FROM domains WHERE domain = 'a.example'") == 1


def test_a_statement_the_database_refuses_is_a_storage_error(
        backend: str, state: Database) -> None:
    with pytest.raises(StorageError) as caught:
        state.query("SELECT no_such_column FROM jobs")
    assert not isinstance(caught.value, IntegrityViolation | DatabaseBusy)
    with pytest.raises(StorageError):
        list(state.rows("SELECT * FROM no_such_table"))
    assert state.scalar("SELECT 1") == 1  # and the database goes on answering


def test_a_write_lock_held_past_the_busy_timeout_is_database_busy(
        monkeypatch: pytest.MonkeyPatch) -> None:
    paths.ensure_home()
    first = db.open_state()
    first.scalar("SELECT 1")  # created and migrated before the timeout is shortened
    monkeypatch.setattr(sqlite, "BUSY_TIMEOUT_MS", 200)
    second = db.open_state()
    second.scalar("SELECT 1")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with first.atomic():
            first.execute("INSERT INTO domains (domain, updated_at) VALUES ('x.example', 1)")
            held.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        held.wait(10)
        with pytest.raises(DatabaseBusy), second.atomic():  # BEGIN IMMEDIATE waits 0.2 s
            pass
    finally:
        release.set()
        thread.join()
    with second.atomic():
        second.execute("INSERT INTO domains (domain, updated_at) VALUES ('y.example', 1)")


def test_sqlite_errors_map_by_result_code() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a INTEGER PRIMARY KEY)")
    conn.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError) as unique:
        conn.execute("INSERT INTO t VALUES (1)")
    assert isinstance(sqlite.storage_error(unique.value), IntegrityViolation)
    full = sqlite3.OperationalError("database or disk is full")
    assert isinstance(sqlite.storage_error(full), StorageFull)
    locked = sqlite3.OperationalError("database is locked")
    assert isinstance(sqlite.storage_error(locked), DatabaseBusy)
    other = sqlite.storage_error(sqlite3.OperationalError("no such table: x\nmore"))
    assert type(other) is StorageError and str(other) == "no such table: x"


def test_postgresql_errors_map_by_sqlstate() -> None:
    psycopg = pytest.importorskip("psycopg", reason="the team extra is not installed")
    from novahunt.state import postgres

    cases = {
        psycopg.errors.UniqueViolation: IntegrityViolation,
        psycopg.errors.ForeignKeyViolation: IntegrityViolation,
        psycopg.errors.NotNullViolation: IntegrityViolation,
        psycopg.errors.DeadlockDetected: DatabaseBusy,
        psycopg.errors.SerializationFailure: DatabaseBusy,
        psycopg.errors.LockNotAvailable: DatabaseBusy,
        psycopg.errors.DiskFull: StorageFull,
        psycopg.errors.AdminShutdown: DatabaseUnavailable,
        psycopg.errors.TooManyConnections: DatabaseUnavailable,
        psycopg.errors.UndefinedColumn: StorageError,
    }
    for error, mapped in cases.items():
        assert type(postgres.storage_error(error("refused\nDETAIL: ..."))) is mapped, error
    # no SQLSTATE at all: the connection broke under the statement
    lost = postgres.storage_error(psycopg.OperationalError("server closed the connection"))
    assert type(lost) is DatabaseUnavailable and str(lost) == "server closed the connection"


def test_no_module_above_the_backends_catches_a_driver_exception() -> None:
    caught: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        if rel in DRIVER_HOMES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler) and node.type is not None:
                named = ast.unparse(node.type)
                if "sqlite3" in named or "psycopg" in named or "DB_ERRORS" in named:
                    caught.append(f"{rel}:{node.lineno}: except {named}")
    assert caught == []


def test_in_lists_are_chunked_by_one_helper() -> None:
    assert list(chunked([], 3)) == []
    assert list(chunked([1, 2, 3, 4], 3)) == [([1, 2, 3], "?,?,?"), ([4], "?")]
    assert IN_LIST_MAX <= 999  # under SQLite's oldest bound-parameter limit
    state_dir = PACKAGE / "state"
    by_hand = [f"{p.name}:{n}" for p in sorted(state_dir.glob("*.py")) if p.name != "base.py"
               for n, line in enumerate(p.read_text().splitlines(), 1)
               if "range(0, len(" in line
               or (("'?' * len(" in line or '"?" * len(' in line) and "VALUES" not in line)]
    assert by_hand == []


def test_a_listing_of_more_addresses_than_one_in_list_holds(
        backend: str, state: Database) -> None:
    emails = [f"p{i:04d}@example.com" for i in range(IN_LIST_MAX + 20)]
    with state.atomic():
        for email in emails[::7]:
            verifications.save_local(state, email, "valid", "test", "test")
    asked = [*reversed(emails), emails[0]]  # any order, one twice
    listed = [c.email for c in verifications.listing(state, asked)]
    assert listed == sorted(emails[::7])
    assert [c.email for c in verifications.listing(state, asked, limit=3)] == listed[:3]
    assert set(verifications.lookup(state, emails)) == set(emails[::7])
