"""The runs a worker has in hand, and the jobs that wait for disk space.

A row in `running` names its worker, but only that worker knows whether one of its threads
still works on the job. When the write that ends a run fails (a full disk, a statement the
database refuses), the thread gives up and the row stays `running`. So a worker renews the
leases of the jobs its threads hold and of no other (`renew`): a run nobody holds sees its
lease run out, and doctor and every sweeper can tell. The worker itself takes such rows
back (`held_by` finds them) as soon as state.db takes the write again.

A job that met a full disk waits in `retrying` with an error starting with `DISK_FULL`,
without spending an attempt; the worker wakes it as soon as the disk has room again
(`has_room`, `wake_disk_waiting`), or its `run_at` comes, and while there is no room it
keeps those jobs from coming due (`hold_disk_waiting`): each try would buy a page that
cannot be stored.

On a full disk even the small write that ends a run fails. A worker on SQLite therefore
keeps a reserve beside state.db (`state.db-reserve`, `RESERVE` bytes, made while there is
room): the first run that meets a full disk gives it up (`free_reserve`) and the
worker's other runs stop at their next step, so the ends of the runs in flight still find
a few pages to write.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from novahunt.state.base import Database, chunked

DISK_FULL = "disk full"
# free bytes beside state.db that let a waiting job run again: many pages of contacts
# (a page of 100 is ~50 KB in state.db), far from the first failed write
DISK_ROOM = 16 * 1024 ** 2
_WAITING_FOR_DISK = f"status = 'retrying' AND error LIKE '{DISK_FULL}%'"
RESERVE = 2 * 1024 ** 2   # what ending a few runs writes, many times over


def renew(db: Database, worker_id: str, job_ids: Collection[int], lease: float) -> None:
    """Heartbeat the leases of the jobs this worker's threads hold (others run out)."""
    if not job_ids:
        return
    now = time.time()
    with db.atomic():
        for chunk, marks in chunked(sorted(job_ids)):
            db.execute(
                "UPDATE jobs SET heartbeat_at = ?, lease_until = ? WHERE worker_id = ?"
                f" AND status = 'running' AND id IN ({marks})",
                (now, now + lease, worker_id, *chunk))


def held_by(db: Database, worker_id: str) -> list[int]:
    """Ids of the running jobs whose row names this worker."""
    return [int(r["id"]) for r in db.query(
        "SELECT id FROM jobs WHERE status = 'running' AND worker_id = ? ORDER BY id",
        (worker_id,))]


def waiting_for_disk(db: Database) -> list[int]:
    """Ids of the jobs waiting in `retrying` for disk space."""
    return [int(r["id"]) for r in db.query(
        f"SELECT id FROM jobs WHERE {_WAITING_FOR_DISK} ORDER BY id")]


def wake_disk_waiting(db: Database) -> int:
    """The disk has room again: jobs waiting for it become due now."""
    now = time.time()
    with db.atomic():
        cur = db.execute(f"UPDATE jobs SET run_at = ?, updated_at = ? WHERE {_WAITING_FOR_DISK}"
                         " AND run_at > ?", (now, now, now))
    return cur.rowcount


def hold_disk_waiting(db: Database, due_before: float, until: float) -> int:
    """No room yet: jobs waiting for disk space that would come due before `due_before`
    wait until `until` instead."""
    if db.scalar(f"SELECT 1 FROM jobs WHERE {_WAITING_FOR_DISK} AND run_at < ? LIMIT 1",
                 (due_before,)) is None:
        return 0  # a read first: nothing to write on most ticks (nor room to write it)
    with db.atomic():
        cur = db.execute(f"UPDATE jobs SET run_at = ? WHERE {_WAITING_FOR_DISK}"
                         " AND run_at < ?", (until, due_before))
    return cur.rowcount


def _state_file(db: Database) -> Path | None:
    # a server's disk is not ours to look at, nor to keep a reserve on
    return Path(db.location) if db.dialect == "sqlite" else None


def has_room(db: Database) -> bool | None:
    """Whether the disk under state.db has `DISK_ROOM` free; None when the database is a
    server's (jobs waiting for its disk wait out their `run_at`)."""
    path = _state_file(db)
    if path is None:
        return None
    try:
        return shutil.disk_usage(path.parent).free >= DISK_ROOM
    except OSError:
        return None


def _reserve_file(path: Path) -> Path:
    return path.with_name(f"{path.name}-reserve")


def keep_reserve(db: Database) -> bool:
    """Make the reserve beside state.db if it is missing and the disk has room for it
    and more; True when it is there."""
    path = _state_file(db)
    if path is None or not path.exists():
        return False
    reserve = _reserve_file(path)
    try:
        if reserve.exists() and reserve.stat().st_size >= RESERVE:
            return True
        if shutil.disk_usage(path.parent).free < DISK_ROOM + RESERVE:
            return False
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            # written, not sparse: the blocks must really be taken to be given back
            os.write(fd, b"\0" * RESERVE)
        finally:
            os.close(fd)
    except OSError:
        reserve.unlink(missing_ok=True)
        return False
    return True


def free_reserve(db: Database) -> bool:
    """The disk is full: give the reserve back for the writes that end runs. True if it
    was there."""
    path = _state_file(db)
    if path is None:
        return False
    try:
        _reserve_file(path).unlink()
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Running:
    """A running job and the worker its row names, as doctor judges them (the worker
    fields are None when no worker row has that id)."""

    id: int
    type: str
    worker_id: str | None
    lease_until: float | None
    hostname: str | None
    pid: int | None
    pid_started: str | None
    worker_stopped: bool
    worker_heartbeat_at: float | None


def running(db: Database) -> list[Running]:
    """Every running job with its worker's registration."""
    rows = db.query(
        "SELECT j.id, j.type, j.worker_id, j.lease_until, w.id AS wid, w.hostname, w.pid,"
        " w.pid_started, w.stopped_at, w.heartbeat_at AS worker_heartbeat_at"
        " FROM jobs j LEFT JOIN workers w ON w.id = j.worker_id"
        " WHERE j.status = 'running' ORDER BY j.id")
    return [Running(int(r["id"]), r["type"], r["worker_id"], r["lease_until"],
                    r["hostname"], r["pid"], r["pid_started"],
                    r["wid"] is not None and r["stopped_at"] is not None,
                    r["worker_heartbeat_at"]) for r in rows]
