"""The workers table: each `novahunt worker` process registers, heartbeats and stops
here, so any host can tell which workers are alive and whose running jobs to take back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from novahunt.state.base import Database


@dataclass(frozen=True)
class WorkerRow:
    id: str
    hostname: str
    pid: int
    pid_started: str | None
    concurrency: int
    started_at: float
    heartbeat_at: float


def register_worker(db: Database, w: WorkerRow) -> None:
    with db.atomic():
        db.execute(
            "INSERT INTO workers (id, hostname, pid, pid_started, concurrency, started_at,"
            " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (w.id, w.hostname, w.pid, w.pid_started, w.concurrency, w.started_at,
             w.heartbeat_at))


def worker_heartbeat(db: Database, worker_id: str) -> None:
    with db.atomic():
        db.execute("UPDATE workers SET heartbeat_at = ? WHERE id = ?", (time.time(), worker_id))


def stop_worker(db: Database, worker_id: str) -> None:
    with db.atomic():
        db.execute("UPDATE workers SET stopped_at = ? WHERE id = ?", (time.time(), worker_id))


def live_workers(db: Database, fresh_since: float) -> list[WorkerRow]:
    rows = db.query(
        "SELECT * FROM workers WHERE stopped_at IS NULL AND heartbeat_at >= ?"
        " ORDER BY started_at", (fresh_since,))
    return [WorkerRow(r["id"], r["hostname"], r["pid"], r["pid_started"], r["concurrency"],
                      r["started_at"], r["heartbeat_at"]) for r in rows]


def workers_with_running_jobs(db: Database) -> list[WorkerRow]:
    rows = db.query(
        "SELECT * FROM workers WHERE id IN"
        " (SELECT DISTINCT worker_id FROM jobs WHERE status = 'running')")
    return [WorkerRow(r["id"], r["hostname"], r["pid"], r["pid_started"], r["concurrency"],
                      r["started_at"], r["heartbeat_at"]) for r in rows]


def forget_stopped_workers(db: Database, before: float) -> None:
    with db.atomic():
        db.execute(
            "DELETE FROM workers WHERE (stopped_at IS NOT NULL OR heartbeat_at < ?)"
            " AND id NOT IN (SELECT worker_id FROM jobs WHERE status = 'running'"
            " AND worker_id IS NOT NULL)", (before,))
