"""`novahunt db migrate-to URL`: a home built with real jobs against the Hunter sandbox
moves from state.db into PostgreSQL and gives the same answers there; new ids go on
past the copied ones; queued jobs run on the new database; and what it refuses (a
second run, a home still at work, a URL that is not PostgreSQL) writes nothing, as
does a copy that fails half-way."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

import backends
from helpers import Cli, drain, kill, spawn, wait_for
from novahunt import config, paths
from novahunt.sandbox import UNPROCESSABLE, Sandbox
from novahunt.state import db, jobs, transfer
from novahunt.state.jobs import Status
from novahunt.worker import webhooks
from novahunt.worker.runtime import WorkerRuntime

DOMAINS = {"alpha.example": 37, "beta.example": 12}


@pytest.fixture()
def target() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema (skipped without a server; CI fails)."""
    with backends.fresh_schema(backends.server_url(backends.POSTGRES)) as url:
        yield url
        webhooks.shutdown()  # senders a test's worker started on the target


def ok(cli: Cli, *args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, err
    return out


def ids_of(out: str) -> list[int]:
    return [int(job["id"]) for job in json.loads(out)]


def build_home(sandbox: Sandbox, cli: Cli, worker: WorkerRuntime) -> dict[str, Any]:
    """A home that has done real work: completed collects with contacts, a repeat served
    from the cache, a verify job, a Finder miss, a failed job with a webhook delivery
    due, then a queued job; the worker stopped, as migrate-to asks."""
    for domain, emails in DOMAINS.items():
        sandbox.add_domain(domain, emails)
    sandbox.add_domain("broken.example", 5)
    sandbox.inject(UNPROCESSABLE, domain="broken.example")
    sandbox.add_domain("later.example", 9)
    collected = ids_of(ok(cli, "collect", *DOMAINS, "--tag", "team", "--tag", "q3",
                          "--priority", "2", "--json"))
    failed = ids_of(ok(cli, "collect", "broken.example", "--json", "--webhook",
                       "http://127.0.0.1:9/hook"))
    drain(worker)
    verify = ids_of(ok(cli, "verify", "--domain", "alpha.example", "--json"))
    finder = ids_of(ok(cli, "find", "--domain", "beta.example", "--first", "Nobody",
                       "--last", "Atall", "--json"))
    drain(worker)
    cached = ids_of(ok(cli, "collect", "alpha.example", "--json"))  # fresh: no call
    webhooks.shutdown()
    worker.deactivate()
    queued = ids_of(ok(cli, "collect", "later.example", "--tag", "later", "--json"))
    states = {i: jobs.get(worker.db, i).status for i in
              [*collected, *failed, *verify, *finder, *cached, *queued]}
    assert [states[i] for i in collected] == [Status.COMPLETED] * 2
    assert states[failed[0]] is Status.FAILED
    assert states[verify[0]] is Status.COMPLETED
    assert states[queued[0]] is Status.QUEUED
    return {"ids": sorted(states), "queued": queued[0]}


def answers(cli: Cli, ids: list[int]) -> dict[str, Any]:
    """What a user sees of the home, through the CLI, on whichever database is set."""
    stats = json.loads(ok(cli, "stats", "--json"))
    for moving in ("since", "until"):
        stats.pop(moving)
    return {
        "jobs": json.loads(ok(cli, "jobs", "list", "--json", "--limit", "1000")),
        "shown": [json.loads(ok(cli, "jobs", "show", str(i), "--json")) for i in ids],
        "results": {d: json.loads(ok(cli, "results", d, "--format", "json"))
                    for d in (*DOMAINS, "later.example")},
        "verifications": json.loads(ok(cli, "verifications", "--json")),
        "webhooks": json.loads(ok(cli, "webhooks", "list", "--json")),
        "stats": stats,
    }


def sqlite_rows(table: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(paths.state_db())
    conn.row_factory = sqlite3.Row
    try:
        return sorted((dict(r) for r in conn.execute(f"SELECT * FROM {table}")), key=repr)
    finally:
        conn.close()


def pg_rows(url: str, table: str) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        return sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def pg_tables(url: str) -> dict[str, int]:
    """Rows per table of the target's schema (no tables at all: never touched)."""
    with psycopg.connect(url) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = current_schema()")]
        return {n: int(conn.execute(f"SELECT COUNT(*) FROM {n}").fetchone()[0])  # type: ignore[index]
                for n in names}


def migrate(cli: Cli, url: str, *more: str) -> tuple[int, str, str]:
    return cli("db", "migrate-to", url, *more)


# -- the move ------------------------------------------------------------------------------


def test_a_home_moves_with_its_history_and_answers_the_same_on_postgresql(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli, target: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    home = build_home(sandbox, cli, inline_worker)
    before = answers(cli, home["ids"])
    assert before["stats"]["credits"], "the ledger should show credits spent"
    assert before["verifications"] and before["webhooks"]
    assert len(before["results"]["alpha.example"]) == DOMAINS["alpha.example"]
    source = {t: sqlite_rows(t) for t in transfer.COPIED}

    code, out, err = migrate(cli, target, "--json")
    assert code == 0, err
    moved = json.loads(out)
    assert moved["tables"] == {t: len(rows) for t, rows in source.items()}
    assert moved["tables"]["contacts"] >= sum(DOMAINS.values())
    assert moved["target"] == target  # no password in this URL: nothing to hide

    # every copied row arrived as it was; a queued job's message is to be sent again
    for table, rows in source.items():
        if table == "jobs":
            rows = [{**r, "enqueued_at": None} if r["status"] == "queued" else r
                    for r in rows]
        assert pg_rows(target, table) == rows, table
    # the transient tables stayed behind (the target has its own migrations)
    copied = pg_tables(target)
    assert copied["workers"] == copied["rate_slots"] == copied["verification_claims"] == 0

    monkeypatch.setenv("NOVAHUNT_DATABASE_URL", target)
    after = answers(cli, home["ids"])
    assert after == before
    shown = after["shown"][home["ids"].index(home["queued"])]
    assert shown["tags"] == ["later"] and shown["events"]

    # new ids go on past the copied ones
    [new] = ids_of(ok(cli, "collect", "fresh.example", "--json"))
    assert new == max(home["ids"]) + 1


def test_queued_jobs_run_on_the_new_database_from_another_host(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli, target: str,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = build_home(sandbox, cli, inline_worker)
    assert migrate(cli, target)[0] == 0
    # a new host: its own home (and so its own, empty queue.db), the shared database
    monkeypatch.setenv("NOVAHUNT_HOME", str(tmp_path / "other-host"))
    monkeypatch.setenv("NOVAHUNT_DATABASE_URL", target)
    runtime = WorkerRuntime(db.open_state(), config.load(), concurrency=1)
    runtime.activate()  # its sweeper finds the job that has no message and sends it
    try:
        assert drain(runtime) == 1
    finally:
        runtime.deactivate()
    job = jobs.get(runtime.db, home["queued"])
    assert job.status is Status.COMPLETED
    out = ok(cli, "results", "later.example", "--format", "json")
    assert len(json.loads(out)) == 9


def test_job_ids_cleanup_deleted_are_not_handed_out_again(
        sandbox: Sandbox, cli: Cli, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for domain in ("one.example", "two.example"):  # Hunter has emails for both: queued
        sandbox.add_domain(domain, 3)
    first, second = ids_of(ok(cli, "collect", "one.example", "two.example", "--json"))
    ok(cli, "jobs", "cancel", str(second))
    time.sleep(0.01)
    assert "removed 1" in ok(cli, "jobs", "cleanup", "--older-than", "0s")
    assert migrate(cli, target)[0] == 0
    monkeypatch.setenv("NOVAHUNT_DATABASE_URL", target)
    # the ledger and old messages may still name job 2: the next job is 3, as on SQLite
    assert ids_of(ok(cli, "collect", "three.example", "--json")) == [second + 1]
    assert first < second


def test_the_output_names_the_variables_and_never_the_password(
        sandbox: Sandbox, cli: Cli, target: str) -> None:
    ok(cli, "collect", "one.example")
    parts = urlsplit(target)
    password = parts.password or "pw-never-shown"
    if parts.password is None:  # the test server trusts local connections
        parts = parts._replace(netloc=f"{parts.username}:{password}@{parts.hostname}"
                                      f":{parts.port}")
    code, out, err = migrate(cli, urlunsplit(parts))
    assert code == 0, err
    assert password not in out + err
    lines = out.strip().splitlines()
    assert lines[0].split() == ["TABLE", "ROWS"]
    assert ["jobs", "1"] in [line.split() for line in lines]
    assert "NOVAHUNT_DATABASE_URL='postgresql://" in lines[-1]
    assert ":***@" in lines[-1] and "NOVAHUNT_QUEUE_URL=" in lines[-1]


# -- what it refuses -----------------------------------------------------------------------


def test_a_second_run_refuses_and_changes_nothing(sandbox: Sandbox, cli: Cli, target: str) -> None:
    ids_of(ok(cli, "collect", "one.example", "two.example", "--json"))
    assert migrate(cli, target)[0] == 0
    before = pg_tables(target)
    code, out, err = migrate(cli, target)
    assert code == 1
    assert out == ""
    assert err.strip().endswith("already holds 2 jobs: migrate-to fills an empty database")
    assert err.count("\n") == 1
    assert pg_tables(target) == before


def test_a_failure_half_way_leaves_the_target_empty(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli, target: str) -> None:
    build_home(sandbox, cli, inline_worker)
    # the target, migrated, refuses one contact: jobs, tags, events and items are
    # already in when the copy of contacts meets it
    db.connect(target).scalar("SELECT 1")
    refused = sqlite_rows("contacts")[-1]["email"]
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE contacts ADD CONSTRAINT no_one CHECK (email <> '{refused}')")
    code, out, err = migrate(cli, target)
    assert code == 1
    assert out == ""
    assert "failed while copying contacts" in err and "nothing was written" in err
    assert err.count("\n") == 1
    assert all(n == 0 for t, n in pg_tables(target).items() if t != "schema_migrations")
    # a second attempt starts from scratch
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute("ALTER TABLE contacts DROP CONSTRAINT no_one")
    assert migrate(cli, target)[0] == 0
    assert pg_tables(target)["contacts"] == len(sqlite_rows("contacts"))


def test_a_home_with_a_live_worker_is_refused(sandbox: Sandbox, cli: Cli, target: str) -> None:
    ok(cli, "collect", "one.example")
    worker = spawn("worker", "--concurrency", "1")
    try:
        state = db.open_state()
        wait_for(lambda: state.scalar("SELECT COUNT(*) FROM workers") == 1)
        code, out, err = migrate(cli, target)
    finally:
        kill(worker, signal.SIGTERM)
    assert code == 1
    assert out == ""
    assert "1 worker(s) of this home are running" in err
    assert "stop the workers of this home first" in err and err.count("\n") == 1
    assert pg_tables(target) == {}  # not even migrated


def test_a_home_whose_killed_worker_left_a_job_running_is_refused(
        sandbox: Sandbox, cli: Cli, target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.latency = 0.2
    sandbox.add_domain("slow.example", 400)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    [job_id] = ids_of(ok(cli, "collect", "slow.example", "--json"))
    worker = spawn("worker", "--concurrency", "1")
    state = db.open_state()
    try:
        wait_for(lambda: jobs.get(state, job_id).progress_current >= 10)
    finally:
        kill(worker)  # SIGKILL: the job stays running
    assert jobs.get(state, job_id).status is Status.RUNNING
    code, _, err = migrate(cli, target)
    assert code == 1
    assert "1 job(s) of this home are running: stop the workers of this home first" in err
    assert err.count("\n") == 1
    assert pg_tables(target) == {}


@pytest.mark.parametrize("url", ["mysql://me:hunter2secret@db/novahunt",
                                 "/var/lib/novahunt/state.db", "redis://:hunter2secret@q/0"])
def test_a_url_that_is_not_postgresql_is_refused_without_its_password(
        sandbox: Sandbox, cli: Cli, url: str) -> None:
    ok(cli, "collect", "one.example")
    code, out, err = migrate(cli, url)
    assert code == 2
    assert "is not a postgresql:// URL" in err and err.count("\n") == 1
    assert "hunter2secret" not in out + err


def test_a_home_without_state_db_has_nothing_to_move(cli: Cli, home: Path) -> None:
    code, _, err = migrate(cli, "postgresql://novahunt@127.0.0.1:1/none")
    assert code == 2
    assert "nothing to move" in err
    assert not (home / "state.db").exists()


def test_every_table_is_either_copied_or_left_behind_on_purpose() -> None:
    # a migration that adds a table must say which it is
    state = db.open_state()
    tables = {r[0] for r in state.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
    assert tables == set(transfer.COPIED) | set(transfer.TRANSIENT)
