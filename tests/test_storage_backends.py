"""The storage layer on both backends: SQLite (the default) and PostgreSQL
(NOVAHUNT_DATABASE_URL). Tests with the `backend` fixture run on each."""

from __future__ import annotations

import threading

import pytest

from conftest import novahunt_env, run_process
from novahunt import db, migrations
from novahunt.db import Database


def test_migrations_apply_once_from_a_blank_database(backend: str) -> None:
    state = db.open_state()
    assert state.dialect == backend.replace("postgres", "postgresql")
    assert migrations.schema_version(state) == len(migrations.MIGRATIONS)
    assert migrations.migrate(state) == []            # nothing left to apply
    state.execute("INSERT INTO jobs (type, status, params, created_at, run_at, updated_at)"
                  " VALUES ('collect', 'queued', '{}', 1, 1, 1)")
    again = db.open_state()                           # a second process would see this
    assert again.scalar("SELECT COUNT(*) FROM jobs") == 1


def test_two_openers_of_a_blank_database_apply_each_migration_once(backend: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def open_one() -> None:
        try:
            barrier.wait()
            db.open_state().scalar("SELECT COUNT(*) FROM jobs")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    state = db.open_state()
    names = [r[0] for r in state.query("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(m.__name__ for m in migrations.MIGRATIONS)


def test_atomic_commits_rolls_back_and_nests_as_savepoints(backend: str) -> None:
    state = db.open_state()
    with pytest.raises(RuntimeError), state.atomic():
        state.execute("INSERT INTO domains (domain, updated_at) VALUES ('a.example', 1)")
        raise RuntimeError("step failed")
    assert state.scalar("SELECT COUNT(*) FROM domains") == 0
    with state.atomic():
        state.execute("INSERT INTO domains (domain, updated_at) VALUES ('b.example', 1)")
        with pytest.raises(RuntimeError), state.atomic():
            state.execute("INSERT INTO domains (domain, updated_at) VALUES ('c.example', 1)")
            raise RuntimeError("inner step failed")
    assert [r[0] for r in state.query("SELECT domain FROM domains")] == ["b.example"]


def test_values_come_back_the_same_on_both(backend: str, state: Database) -> None:
    # ids from identity/rowid columns, sums as ints, flags as 0/1, times as floats
    state.executemany(
        "INSERT INTO api_calls (at, provider, endpoint, status, credits) VALUES (?, ?, ?, ?, ?)",
        [(1.5, "hunter", "domain-search", 200, 1), (2.25, "hunter", "domain-search", 200, 2)])
    row = state.one("SELECT COUNT(*) AS n, SUM(credits) AS c, MAX(at) AS last FROM api_calls")
    assert row is not None
    assert (row["n"], row["c"], row["last"]) == (2, 3, 2.25)
    assert type(row["c"]) is int and type(row["last"]) is float
    assert sorted(row.keys()) == ["c", "last", "n"]
    state.execute("INSERT INTO domains (domain, accept_all, updated_at) VALUES (?, ?, ?)",
                  ("flag.example", True, 0))
    assert state.scalar("SELECT accept_all FROM domains") == 1
    # a literal ? or % in SQL text is left alone; only placeholders are bound
    assert state.scalar("SELECT 'why?' || ? || '100%'", (" ",)) == "why? 100%"
    assert list(state.rows("SELECT endpoint, credits FROM api_calls ORDER BY id")) == [
        ("domain-search", 1), ("domain-search", 2)]


def test_a_named_lock_serialises_read_then_write(backend: str, state: Database) -> None:
    """Eight threads each read a counter and write it back plus one, under one lock:
    no update is lost (on PostgreSQL only the lock makes this hold)."""
    state.execute("INSERT INTO domains (domain, total_available, updated_at)"
                  " VALUES ('count.example', 0, 0)")

    def bump() -> None:
        own = db.open_state()
        for _ in range(10):
            with own.atomic(lock="test:counter"):
                n = own.scalar("SELECT total_available FROM domains WHERE domain = ?",
                               ("count.example",))
                own.execute("UPDATE domains SET total_available = ? WHERE domain = ?",
                            (n + 1, "count.example"))
        own.close()

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.scalar("SELECT total_available FROM domains") == 80


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    url = "postgresql://novahunt:hunter2secret@127.0.0.1:1/novahunt"
    done = run_process("jobs", "list", env=novahunt_env(NOVAHUNT_DATABASE_URL=url))
    assert done.returncode == 4
    assert done.stderr.count("\n") == 1 and "cannot reach" in done.stderr
    assert "hunter2secret" not in done.stderr + done.stdout
    assert "postgresql://novahunt:***@127.0.0.1:1/novahunt" in done.stderr
    wrong = run_process("jobs", "list", env=novahunt_env(
        NOVAHUNT_DATABASE_URL="mysql://root:hunter2secret@db/x"))
    assert wrong.returncode == 3 and "hunter2secret" not in wrong.stderr
