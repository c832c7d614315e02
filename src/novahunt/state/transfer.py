"""`novahunt db migrate-to`: move a home's state.db into an empty PostgreSQL database.

A team that outgrows one machine keeps its history: the jobs (ids, events, tags,
items), the contacts and domain facts, the verification cache and the credit ledger
move into the database every host will share. What only coordinates the processes of
one home right now (workers, rate-limit slots and blocks, verification claims) stays
behind: the new workers build their own.

- **All or nothing.** The whole copy is one transaction on the target, so a failure
  half-way (a refused row, a lost connection, Ctrl-C) leaves it as empty as it was.
  The source is read inside one write transaction too: a process that starts in this
  home meanwhile waits, and cannot change what was already copied.
- **Streamed.** Rows go over in batches read from a SQLite cursor (`rows()`), so a
  million contacts never sit in memory at once.
- **By column name.** Each table copies the columns both sides have, as SQLite's
  `table_info` names them: a migration that adds a column needs no change here.
- **Ids kept.** Other rows, the ledger and old messages name job ids, so they are
  copied as they are, and every identity sequence is set past them (and past the ids
  SQLite's AUTOINCREMENT already handed out to jobs since deleted by cleanup).
- **Queued jobs are sent again.** Their messages are in this home's queue, not the
  new one: `enqueued_at` is cleared, which is how a worker's sweeper finds a queued
  job that lost its message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice

from novahunt import paths
from novahunt.errors import BadInput, DatabaseUnavailable, NovahuntError, StorageError
from novahunt.inputs.urls import redact, scrub
from novahunt.state import db, migrations
from novahunt.state.base import Database
from novahunt.state.sqlite import SqliteDatabase

# In an order that satisfies the foreign keys (job_tags, job_events, job_items -> jobs).
COPIED = (
    "jobs", "job_tags", "job_events", "job_items", "contacts", "domains", "collections",
    "verifications", "api_calls", "cache_hits", "person_lookups", "webhook_deliveries",
    "provider_pauses", "provider_accounts",
)
# Coordination between the live processes of one home, and the schema's own bookkeeping
# (the target has its own): nothing in them means anything to another database.
TRANSIENT = ("workers", "rate_slots", "rate_blocks", "verification_claims",
             "schema_migrations")
BATCH = 5000
LOCK = "novahunt:migrate-to"

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in all)
# the ids of the home's workers still at work, asked of its state.db: the caller's check
# (worker/liveness.py's), since whether a process lives is no question for the storage
WorkersAtWork = Callable[[Database], Sequence[str]]


@dataclass(frozen=True)
class Moved:
    target: str              # the URL without its password
    tables: dict[str, int]   # rows copied, per table, in copy order
    seconds: float


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def migrate_to(url: str, at_work: WorkersAtWork, *, progress: Progress | None = None,
               batch: int = BATCH) -> Moved:
    """Copy this home's state.db (whatever NOVAHUNT_DATABASE_URL says) into the empty
    PostgreSQL database at `url`, migrated first; refuse, writing nothing, when the
    target holds data or this home's workers are still at work (`at_work`)."""
    started = time.monotonic()
    shown = redact(url)
    if not is_postgres_url(url):
        raise BadInput(f"{shown} is not a postgresql:// URL: migrate-to moves a home "
                       "into PostgreSQL")
    path = paths.state_db()
    if not path.exists():
        raise BadInput(f"no state.db in {paths.home()}: nothing to move")
    source = SqliteDatabase(path)
    copied: dict[str, int] = {}
    try:
        with source.atomic():
            totals = _check_source(source, at_work)
            target = db.connect(url)
            table = ""
            try:
                with target.atomic(lock=LOCK):
                    _check_empty(target)
                    columns = _target_columns(target)
                    for table in COPIED:
                        copied[table] = _copy(source, target, table, columns[table],
                                              totals[table], progress, batch)
                    table = ""
                    # their messages stay in this home's queue: the sweeper sends them anew
                    target.execute("UPDATE jobs SET enqueued_at = NULL WHERE status = 'queued'")
                    # last: setval is not undone by a rollback (a rerun sets it again)
                    _advance_sequences(source, target)
            except DatabaseUnavailable:
                raise  # its own message and exit code: nothing was written either way
            except StorageError as exc:
                where = f" while copying {table}" if table else ""
                raise NovahuntError(
                    f"migrate-to failed{where}: {scrub(str(exc), url)}; "
                    f"nothing was written to {shown}") from exc
    finally:
        source.close()
    return Moved(shown, copied, time.monotonic() - started)


def _check_source(source: SqliteDatabase, at_work: WorkersAtWork) -> dict[str, int]:
    """Refuse a home still at work or written by a newer novahunt; its row counts."""
    known = {m.__name__ for m in migrations.MIGRATIONS}
    if newer := sorted(migrations.applied(source) - known):
        raise NovahuntError(f"{source.shown} was written by a newer novahunt (migration "
                            f"{newer[-1]}): upgrade novahunt first")
    if live := at_work(source):
        raise NovahuntError(
            f"{len(live)} worker(s) of this home are running ({', '.join(live)}):"
            " stop the workers of this home first")
    running = int(source.scalar("SELECT COUNT(*) FROM jobs WHERE status = 'running'"))
    if running:
        raise NovahuntError(
            f"{running} job(s) of this home are running: stop the workers of this home first"
            " (the jobs of a killed worker run until a worker of this home takes them back)")
    return {t: int(source.scalar(f"SELECT COUNT(*) FROM {t}")) for t in COPIED}


def _check_empty(target: db.Database) -> None:
    for table in COPIED:
        if target.scalar(f"SELECT 1 FROM {table} LIMIT 1") is not None:
            n = int(target.scalar(f"SELECT COUNT(*) FROM {table}"))
            what = table if table in ("jobs", "contacts") else f"rows in {table}"
            raise NovahuntError(
                f"{target.shown} already holds {n} {what}: migrate-to fills an empty database")


def _target_columns(target: db.Database) -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {t: set() for t in COPIED}
    for row in target.query(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema()"):
        if row[0] in columns:
            columns[row[0]].add(row[1])
    return columns


def _copy(source: SqliteDatabase, target: db.Database, table: str, columns: set[str],
          total: int, progress: Progress | None, batch: int) -> int:
    names = [str(r["name"]) for r in source.query(f"PRAGMA table_info({table})")]
    keep = ", ".join(_quote(name) for name in names if name in columns)
    insert = (f"INSERT INTO {table} ({keep})"
              f" VALUES ({', '.join('?' for name in names if name in columns)})")
    rows = source.rows(f"SELECT {keep} FROM {table}")  # plain tuples, as executemany sends
    done = 0
    if progress is not None:
        progress(table, 0, total)
    while chunk := list(islice(rows, batch)):
        target.executemany(insert, chunk)
        done += len(chunk)
        if progress is not None:
            progress(table, done, total)
    return done


def _advance_sequences(source: SqliteDatabase, target: db.Database) -> None:
    """Each identity column's next value past every id copied, and for AUTOINCREMENT
    tables past every id SQLite handed out (rows deleted since are named elsewhere)."""
    handed_out = {str(r[0]): r[1] for r in source.query("SELECT name, seq FROM sqlite_sequence")}
    for row in target.query(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND is_identity = 'YES'"):
        table, column = row[0], row[1]
        highest = int(target.scalar(f"SELECT COALESCE(MAX({_quote(column)}), 0) FROM {table}"))
        highest = max(highest, int(handed_out.get(table) or 0))
        target.execute("SELECT setval(pg_get_serial_sequence(?, ?), ?, false)",
                       (table, column, highest + 1))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'

