"""Migrations append, and the newest one is tested from the schema before it: a database
built by every migration but the last, with rows in every table, keeps each row and each
value through the last migration, on SQLite and PostgreSQL.

Written against whatever migration is last, so a new one is checked the day it is
added: the rows are made from the previous schema itself (every column filled, typed by
its declared type), not from a list that would age. What a migration means to change in
old rows is its own test's business (m012 and m013 have theirs); this one checks that
nothing else moves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from helpers import Cli
from novahunt.state import db, jobs, migrations, postgres
from novahunt.state.db import Database

pytestmark = pytest.mark.usefixtures("backend")

ROWS = 2  # per table; job ids 1 and 2 are what the job_id columns point at
# the schema's own bookkeeping changes with every migration, by design
BOOKKEEPING = ("schema_migrations",)
# values the code reads back as JSON or matches on, so the app can read the rows below
MEANT: dict[tuple[str, str], Callable[[int], Any]] = {
    ("jobs", "type"): lambda i: "collect",
    ("jobs", "status"): lambda i: "completed",
    ("jobs", "params"): lambda i: json.dumps({"domain": f"old{i}.example"}),
    ("jobs", "result"): lambda i: json.dumps({"emails": i}),
    ("jobs", "checkpoint"): lambda i: json.dumps({"page": i}),
    ("contacts", "domain"): lambda i: "old.example",
    ("contacts", "email"): lambda i: f"person{i}@old.example",
    ("contacts", "sources"): lambda i: "[]",
    ("domains", "domain"): lambda i: "old.example" if i == 1 else f"old{i}.example",
    ("domains", "linked_domains"): lambda i: "[]",
}


def columns(state: Database, backend: str) -> dict[str, dict[str, type]]:
    """table -> {column: the Python type its declared type holds}, in column order."""
    if backend == "sqlite":
        names = [r[0] for r in state.query(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        found = {t: {r["name"]: r["type"] for r in state.query(f"PRAGMA table_info({t})")}
                 for t in names}
    else:
        found = {}
        for r in state.query(
                "SELECT table_name, column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"):
            found.setdefault(r["table_name"], {})[r["column_name"]] = r["data_type"]
    return {table: {column: _python_type(declared) for column, declared in cols.items()}
            for table, cols in found.items() if table not in BOOKKEEPING}


def _python_type(declared: str) -> type:
    declared = declared.upper()
    if "INT" in declared:
        return int
    if any(word in declared for word in ("REAL", "DOUBLE", "FLOAT", "NUMERIC")):
        return float
    return str


def value(table: str, column: str, kind: type, i: int) -> Any:
    if (table, column) in MEANT:
        return MEANT[table, column](i)
    if column in ("id", "job_id") and kind is int:
        return i  # the primary key, or a job that exists
    if kind is int:
        return 10 + i
    if kind is float:
        return 1000.0 + i + 0.5
    return f"{table}.{column}.{i}"


def test_the_last_migration_keeps_every_row_of_the_previous_schema(
        backend: str, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> None:
    last = migrations.MIGRATIONS[-1].__name__
    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:-1])
        old = db.open_state()
        assert last not in migrations.applied(old)
        schema = columns(old, backend)
        written: dict[str, list[tuple[Any, ...]]] = {}
        with old.atomic():
            # jobs first: the other tables' job_id columns point at them
            for table in sorted(schema, key=lambda t: t != "jobs"):
                cols = schema[table]
                rows = [tuple(value(table, c, kind, i) for c, kind in cols.items())
                        for i in range(1, ROWS + 1)]
                old.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)})"
                    f" VALUES ({', '.join('?' for _ in cols)})", rows)
                written[table] = rows
        old.close()
    assert {"jobs", "contacts", "verifications", "api_calls"} <= set(written)
    if backend == "postgres":
        postgres.close_pools()  # a new pool is what applies pending migrations
    state = db.open_state()
    assert last in migrations.applied(state)

    changed: list[str] = []
    for table, rows in written.items():
        cols = list(schema[table])
        kept = [tuple(r) for r in state.query(f"SELECT {', '.join(cols)} FROM {table}")]
        changed += [f"{table}: {'lost' if row in rows else 'now'} "
                    f"{dict(zip(cols, row, strict=True))}"
                    for row in [*rows, *kept] if (row in rows) != (row in kept)]
    assert changed == [], f"{last} changed rows it was not meant to touch:\n" + "\n".join(
        changed)

    # and the code reads them: the job as `jobs show` would, the contacts as `results`
    job = jobs.get(state, 2)
    assert (job.type, job.status, job.params, job.result) == (
        "collect", jobs.Status.COMPLETED, {"domain": "old2.example"}, {"emails": 2})
    code, out, err = cli("results", "old.example", "--format", "json")
    assert code == 0, err
    assert sorted(r["email"] for r in json.loads(out)) == [
        "person1@old.example", "person2@old.example"]
