"""Read-only queries for monitoring: what `/metrics` and `novahunt doctor` read from
state.db that the job, ledger and worker modules do not already answer.

Like every module that holds SQL, this one writes SQL that SQLite and PostgreSQL both
accept, except `integrity_problems`, which asks SQLite's own checker (a PostgreSQL
state store would answer "nothing to check").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from novahunt.state.base import Database

# The event a runner writes when the shared rate limiter cannot serve a request within
# the job's patience and the job gives its thread back (runners/context.py
# `_wait_for_slot` -> Postpone "<bucket> is busy for Ns", written by runners.execute).
_RATE_POSTPONED = "kind = 'retrying' AND message LIKE '% is busy for %(the thread is freed)'"


def ping(db: Database) -> None:
    """Raise if state.db cannot answer a trivial query."""
    db.scalar("SELECT 1")


def jobs_by_type_and_status(db: Database) -> dict[tuple[str, str], int]:
    return {(r["type"], r["status"]): int(r["n"]) for r in db.query(
        "SELECT type, status, COUNT(*) AS n FROM jobs GROUP BY type, status")}


@dataclass(frozen=True)
class Durations:
    """Run times of finished jobs of one type and status, as cumulative bucket counts
    (one per bound, each counting the jobs that took at most that long)."""
    type: str
    status: str
    cumulative: list[int]
    count: int
    total_seconds: float


def durations(db: Database, since: float, bounds: Sequence[float]) -> list[Durations]:
    """Jobs that finished since `since` after really running (claimed at least once:
    a result served from state.db at creation took no time), first start to finish."""
    # one CASE column per bucket: the database counts, whatever the number of jobs
    cases = ", ".join(
        f"SUM(CASE WHEN finished_at - started_at <= ? THEN 1 ELSE 0 END) AS b{i}"
        for i in range(len(bounds)))
    rows = db.query(
        f"SELECT type, status, COUNT(*) AS n, SUM(finished_at - started_at) AS total, {cases}"
        " FROM jobs WHERE finished_at >= ? AND started_at IS NOT NULL AND attempts > 0"
        " AND status IN ('completed', 'failed', 'canceled')"
        " GROUP BY type, status ORDER BY type, status", (*bounds, since))
    return [Durations(r["type"], r["status"], [int(r[f"b{i}"]) for i in range(len(bounds))],
                      int(r["n"]), float(r["total"] or 0.0)) for r in rows]


def rate_limit_postponements(db: Database) -> int:
    """How often a job gave its thread back because the rate limiter was busy for
    longer than its patience (job events, so `jobs cleanup` forgets old ones)."""
    return int(db.scalar(f"SELECT COUNT(*) FROM job_events WHERE {_RATE_POSTPONED}"))


def worker_heartbeat_at(db: Database, worker_id: str) -> float | None:
    value = db.scalar("SELECT heartbeat_at FROM workers WHERE id = ?", (worker_id,))
    return None if value is None else float(value)


def pending_jobs(db: Database) -> int:
    """Jobs waiting for a worker: queued, scheduled or retrying."""
    return int(db.scalar(
        "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'scheduled', 'retrying')"))


def integrity_problems(db: Database) -> list[str]:
    """SQLite's full integrity check: an empty list when the file is sound."""
    rows = db.integrity()
    return [] if rows == ["ok"] else rows
