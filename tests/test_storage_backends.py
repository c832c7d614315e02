"""The storage layer on both backends: SQLite (the default) and PostgreSQL
(NOVAHUNT_DATABASE_URL). Tests with the `backend` fixture run on each."""

from __future__ import annotations

import threading

import pytest

from helpers import novahunt_env, run_process
from novahunt.errors import IntegrityViolation
from novahunt.state import db, migrations
from novahunt.state.db import Database


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


def domains_in(state: Database) -> list[str]:
    return [r[0] for r in state.query("SELECT domain FROM domains ORDER BY domain")]


def add_domain(state: Database, name: str) -> None:
    state.execute("INSERT INTO domains (domain, updated_at) VALUES (?, 1)", (name,))


def test_on_rollback_runs_when_the_transaction_rolls_back_newest_first(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with pytest.raises(KeyError), state.atomic():
        add_domain(state, "a.example")
        state.on_rollback(lambda: ran.append("first"))
        state.on_rollback(lambda: ran.append("second"))
        raise KeyError("step failed")
    assert ran == ["second", "first"]
    assert domains_in(state) == []


def test_on_rollback_runs_nothing_when_the_transaction_commits(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with state.atomic():
        add_domain(state, "a.example")
        state.on_rollback(lambda: ran.append("transaction"))
        with state.atomic():
            state.on_rollback(lambda: ran.append("savepoint"))
    assert ran == []
    assert domains_in(state) == ["a.example"]
    # the hooks of a committed transaction are gone: a later rollback does not run them
    with pytest.raises(KeyError), state.atomic():
        raise KeyError("next step failed")
    assert ran == []


def test_a_savepoint_that_rolls_back_runs_only_its_own_hooks(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with state.atomic():
        add_domain(state, "kept.example")
        state.on_rollback(lambda: ran.append("transaction"))
        with pytest.raises(KeyError), state.atomic():
            add_domain(state, "undone.example")
            state.on_rollback(lambda: ran.append("savepoint"))
            raise KeyError("inner step failed")
        assert ran == ["savepoint"]
    assert ran == ["savepoint"]
    assert domains_in(state) == ["kept.example"]


def test_hooks_of_a_released_savepoint_run_when_the_enclosing_block_rolls_back(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with state.atomic():
        add_domain(state, "kept.example")
        with pytest.raises(KeyError), state.atomic():
            with state.atomic():
                add_domain(state, "released.example")
                state.on_rollback(lambda: ran.append("released"))
            assert ran == []  # released, not rolled back
            raise KeyError("the enclosing savepoint failed")
        assert ran == ["released"]
    assert ran == ["released"]
    assert domains_in(state) == ["kept.example"]


def test_a_sibling_savepoint_rolling_back_leaves_a_released_savepoints_hooks_alone(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with state.atomic():
        with state.atomic():
            add_domain(state, "released.example")
            state.on_rollback(lambda: ran.append("released"))
        with pytest.raises(KeyError), state.atomic():
            raise KeyError("the next savepoint failed")
    assert domains_in(state) == ["released.example"]
    assert ran == []


def test_on_rollback_outside_atomic_is_refused(backend: str, state: Database) -> None:
    with pytest.raises(RuntimeError, match="outside atomic"):
        state.on_rollback(lambda: None)


def make_deferred_reference(state: Database) -> None:
    """Two tables whose foreign key is checked at COMMIT: a way to make COMMIT fail."""
    state.execute("CREATE TABLE t_parent (id INTEGER PRIMARY KEY)")
    state.execute("CREATE TABLE t_child (parent INTEGER REFERENCES t_parent (id)"
                  " DEFERRABLE INITIALLY DEFERRED)")


def test_a_failing_commit_runs_the_hooks(backend: str, state: Database) -> None:
    make_deferred_reference(state)
    ran: list[str] = []
    with pytest.raises(IntegrityViolation), state.atomic():
        state.execute("INSERT INTO t_child (parent) VALUES (5)")  # no parent 5
        state.on_rollback(lambda: ran.append("transaction"))
        with state.atomic():
            state.on_rollback(lambda: ran.append("savepoint"))
    assert ran == ["savepoint", "transaction"]


def test_a_failing_commit_leaves_no_transaction_open(
        backend: str, state: Database) -> None:
    # SQLite keeps the transaction open when COMMIT fails: atomic() rolls it back
    make_deferred_reference(state)
    with pytest.raises(IntegrityViolation), state.atomic():
        state.execute("INSERT INTO t_child (parent) VALUES (5)")
    with state.atomic():
        add_domain(state, "next.example")
    assert state.scalar("SELECT COUNT(*) FROM t_child") == 0
    assert domains_in(state) == ["next.example"]


def test_a_block_without_savepoint_joins_the_transaction(
        backend: str, state: Database) -> None:
    with state.atomic():
        add_domain(state, "outer.example")
        with state.atomic(savepoint=False):
            add_domain(state, "joined.example")
    assert domains_in(state) == ["joined.example", "outer.example"]
    # an exception that leaves it leaves the transaction too: all of it rolls back
    with pytest.raises(KeyError), state.atomic():
        add_domain(state, "a.example")
        with state.atomic(savepoint=False):
            add_domain(state, "b.example")
            raise KeyError("failed")
    assert domains_in(state) == ["joined.example", "outer.example"]


def test_a_caught_failure_without_savepoint_rolls_the_whole_transaction_back(
        backend: str, state: Database) -> None:
    ran: list[str] = []
    with pytest.raises(RuntimeError, match="failed without a savepoint"), state.atomic():
        add_domain(state, "before.example")
        with pytest.raises(KeyError), state.atomic(savepoint=False):
            add_domain(state, "failed.example")
            state.on_rollback(lambda: ran.append("joined"))
            raise KeyError("failed")
        # no savepoint was taken: what the failed block wrote is still there...
        assert domains_in(state) == ["before.example", "failed.example"]
        add_domain(state, "after.example")
    # ...until the transaction ends: then none of it commits
    assert domains_in(state) == []
    assert ran == ["joined"]
    # the doom was this transaction's only
    with state.atomic():
        add_domain(state, "next.example")
    assert domains_in(state) == ["next.example"]


def test_a_savepoint_rolling_back_past_a_failed_block_lets_the_transaction_commit(
        backend: str, state: Database) -> None:
    with state.atomic():
        add_domain(state, "before.example")
        with pytest.raises(KeyError), state.atomic():
            add_domain(state, "undone.example")
            with state.atomic(savepoint=False):
                add_domain(state, "failed.example")
                raise KeyError("failed")
        add_domain(state, "after.example")
    assert domains_in(state) == ["after.example", "before.example"]


def test_a_caught_failure_outside_the_savepoint_still_dooms_the_transaction(
        backend: str, state: Database) -> None:
    # a savepoint that rolls back after the failed block does not undo that block
    with pytest.raises(RuntimeError, match="failed without a savepoint"), state.atomic():
        with pytest.raises(KeyError), state.atomic(savepoint=False):
            add_domain(state, "failed.example")
            raise KeyError("failed")
        with pytest.raises(KeyError), state.atomic():
            raise KeyError("a later savepoint failed too")
    assert domains_in(state) == []


def test_a_failed_block_in_a_released_savepoint_outlives_a_sibling_rolling_back(
        backend: str, state: Database) -> None:
    with pytest.raises(RuntimeError, match="failed without a savepoint"), state.atomic():
        # a savepoint released with the failure caught inside it
        with state.atomic(), pytest.raises(KeyError), state.atomic(savepoint=False):
            add_domain(state, "failed.example")
            raise KeyError("failed")
        with pytest.raises(KeyError), state.atomic():
            raise KeyError("a sibling savepoint failed")
    assert domains_in(state) == []


def test_without_savepoint_at_depth_zero_is_a_transaction(
        backend: str, state: Database) -> None:
    with state.atomic(savepoint=False):
        add_domain(state, "committed.example")
        with pytest.raises(KeyError), state.atomic():
            add_domain(state, "undone.example")
            raise KeyError("inner step failed")
    assert domains_in(state) == ["committed.example"]
    ran: list[str] = []
    with pytest.raises(KeyError), state.atomic(savepoint=False):
        add_domain(state, "rolled-back.example")
        state.on_rollback(lambda: ran.append("transaction"))
        raise KeyError("failed")
    assert domains_in(state) == ["committed.example"]
    assert ran == ["transaction"]


def test_values_come_back_the_same_on_both(backend: str, state: Database) -> None:
    # ids from identity/rowid columns, sums of integers as ints, flags as 0/1, times and
    # credits (REAL since m013: a verification can cost 0.5) as floats
    state.executemany(
        "INSERT INTO api_calls (at, provider, endpoint, status, credits) VALUES (?, ?, ?, ?, ?)",
        [(1.5, "hunter", "domain-search", 200, 1), (2.25, "hunter", "domain-search", 429, 2)])
    row = state.one("SELECT COUNT(*) AS n, SUM(status) AS s, SUM(credits) AS c,"
                    " MAX(at) AS last FROM api_calls")
    assert row is not None
    assert (row["n"], row["s"], row["c"], row["last"]) == (2, 629, 3, 2.25)
    assert type(row["s"]) is int and type(row["last"]) is float
    assert type(row["c"]) is float
    assert sorted(row.keys()) == ["c", "last", "n", "s"]
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
