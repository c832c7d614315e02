"""The job record: create, claim, checkpoint, finish, list (leases: state/runs.py).

A job row in state.db is the truth about a job; the huey message only says "look at
job N". Every transition is a conditional UPDATE, so two workers holding duplicate
messages cannot both run a job, and a worker whose lease was taken over cannot write
results for it any more (`LostOwnership`): its step rolls back.

    queued ──claim──> running ──> completed
      ^  scheduled ──due──┘  │──> retrying ──due──> queued ...   (errors < max_attempts)
      │                      │──> failed      (permanent error, or the last attempt)
      └── hand back / sweep ─┘──> canceled    (cancel between steps)
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from novahunt.errors import BadInput, JobNotFound
from novahunt.inputs.timeparse import iso_ts
from novahunt.state import items, ledger, outbox
from novahunt.state.base import Database, Row, chunked

iso = iso_ts  # jobs.iso: the timestamp format of every job field


class Status(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RUNNING = "running"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


LIVE = (Status.QUEUED, Status.SCHEDULED, Status.RUNNING, Status.RETRYING)
FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELED)
_LIVE_SQL = "('queued', 'scheduled', 'running', 'retrying')"


class LostOwnership(Exception):
    """This worker no longer owns the job (its lease expired and another took over)."""


@dataclass(frozen=True)
class Event:
    at: float
    kind: str
    message: str


@dataclass(frozen=True)
class Progress:
    """Where a job stands, as the progress columns of its row hold it."""

    current: int
    total: int | None
    stage: str
    message: str | None = None


@dataclass(frozen=True)
class Job:
    id: int
    type: str
    status: Status
    priority: int
    params: dict[str, Any]
    tags: list[str]
    attempts: int
    errors: int
    max_attempts: int
    checkpoint: dict[str, Any] | None
    progress_current: int
    progress_total: int | None
    progress_stage: str | None
    progress_message: str | None
    result: dict[str, Any] | None
    error: str | None
    cancel_requested: bool
    worker_id: str | None
    created_at: float
    run_at: float
    started_at: float | None
    finished_at: float | None
    updated_at: float
    heartbeat_at: float | None
    events: list[Event] = field(default_factory=list)
    waiting_for: str | None = None   # a provider whose quota this job waits out

    @property
    def finished(self) -> bool:
        return self.status in FINAL


@dataclass(frozen=True)
class NewJob:
    type: str
    params: dict[str, Any]
    priority: int = 3
    tags: Sequence[str] = ()
    run_at: float | None = None
    dedupe_key: str | None = None
    max_attempts: int = 3
    # set to complete the job at creation (a fresh result served from state.db)
    result: dict[str, Any] | None = None
    # with `result`: why no request was needed, when it is not a copy served from
    # state.db (Hunter has no emails): the event says so and no cache hit is counted
    completed_because: str | None = None
    # the input list of a list job (verify's emails), stored as job items
    items: Sequence[str] = ()
    # with `result` served from state.db: what the requests it saved would have cost
    saved_credits: float = 0


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), sort_keys=True)


def _job(row: Row, tags: list[str], events: list[Event] | None = None) -> Job:
    return Job(
        id=row["id"], type=row["type"], status=Status(row["status"]),
        priority=row["priority"], params=json.loads(row["params"]), tags=tags,
        attempts=row["attempts"], errors=row["errors"], max_attempts=row["max_attempts"],
        checkpoint=_loads(row["checkpoint"]), progress_current=row["progress_current"],
        progress_total=row["progress_total"], progress_stage=row["progress_stage"],
        progress_message=row["progress_message"], result=_loads(row["result"]),
        error=row["error"], cancel_requested=bool(row["cancel_requested"]),
        worker_id=row["worker_id"], created_at=row["created_at"], run_at=row["run_at"],
        started_at=row["started_at"], finished_at=row["finished_at"],
        updated_at=row["updated_at"], heartbeat_at=row["heartbeat_at"],
        events=events or [], waiting_for=row["waiting_for"],
    )


def _tags_of(db: Database, ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in ids}
    for chunk, marks in chunked(ids):
        for row in db.query(
            f"SELECT job_id, tag FROM job_tags WHERE job_id IN ({marks}) ORDER BY tag", chunk
        ):
            found[row["job_id"]].append(row["tag"])
    return found


def _jobs(db: Database, rows: list[Row]) -> list[Job]:
    tags = _tags_of(db, [r["id"] for r in rows])
    return [_job(r, tags[r["id"]]) for r in rows]


def add_event(db: Database, job_id: int, kind: str, message: str,
              now: float | None = None) -> None:
    db.execute(
        "INSERT INTO job_events (job_id, at, kind, message) VALUES (?, ?, ?, ?)",
        (job_id, time.time() if now is None else now, kind, message),
    )


def get(db: Database, job_id: int, *, events: bool = False) -> Job:
    row = db.one("SELECT * FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        raise JobNotFound(f"no job with id {job_id}")
    timeline = None
    if events:
        timeline = [
            Event(r["at"], r["kind"], r["message"])
            for r in db.query(
                "SELECT at, kind, message FROM job_events WHERE job_id = ? ORDER BY id",
                (job_id,),
            )
        ]
    return _job(row, _tags_of(db, [job_id])[job_id], timeline)


def get_many(db: Database, ids: Sequence[int]) -> list[Job]:
    rows: list[Row] = []
    for chunk, marks in chunked(ids):
        rows += db.query(f"SELECT * FROM jobs WHERE id IN ({marks})", chunk)
    by_id = {j.id: j for j in _jobs(db, rows)}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise JobNotFound(f"no job with id {missing[0]}")
    return [by_id[i] for i in ids]


def create(db: Database, specs: Iterable[NewJob],
           now: float | None = None) -> list[tuple[Job, bool]]:
    """Insert jobs in one transaction; a live job with the same dedupe key is returned
    instead of a new one, with `False` as its second element."""
    now = time.time() if now is None else now
    out: list[tuple[int, bool]] = []
    events: list[tuple[int, float, str, str]] = []
    tags: list[tuple[int, str]] = []
    with db.atomic():
        for spec in specs:
            run_at = now if spec.run_at is None else spec.run_at
            if spec.result is not None:
                status = Status.COMPLETED
            else:
                status = Status.SCHEDULED if run_at > now else Status.QUEUED
            done = now if status is Status.COMPLETED else None
            row = db.one(
                "INSERT INTO jobs (type, status, priority, params, dedupe_key, max_attempts,"
                " result, created_at, run_at, started_at, finished_at, updated_at,"
                " progress_current, progress_total, progress_stage)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                f" ON CONFLICT (dedupe_key) WHERE status IN {_LIVE_SQL} DO NOTHING"
                " RETURNING id",
                (spec.type, status, spec.priority, _dumps(spec.params), spec.dedupe_key,
                 spec.max_attempts, _dumps(spec.result), now, run_at, done, done, now,
                 0, None, "done" if done else None),
            )
            if row is None:
                existing = db.scalar(
                    f"SELECT id FROM jobs WHERE dedupe_key = ? AND status IN {_LIVE_SQL}",
                    (spec.dedupe_key,),
                )
                out.append((int(existing), False))
                continue
            job_id = int(row["id"])
            if spec.items:
                items.add(db, job_id, spec.items)
            tags += [(job_id, tag) for tag in dict.fromkeys(spec.tags)]
            if status is Status.COMPLETED:
                if tags:  # the webhook's body shows them
                    db.executemany("INSERT INTO job_tags (job_id, tag) VALUES (?, ?)", tags)
                    tags = []
                add_event(db, job_id, "completed",
                          spec.completed_because or "served from state.db: no API call", now)
                _notify(db, job_id, spec.params, Status.COMPLETED, now)
                if spec.completed_because is None:
                    ledger.record_cache_hit(db, spec.type, job_id, spec.saved_credits)
            else:
                events.append((job_id, now, str(status), "created"))
            out.append((job_id, True))
        # in bulk: one round trip each on PostgreSQL, not one per job
        db.executemany("INSERT INTO job_tags (job_id, tag) VALUES (?, ?)", tags)
        db.executemany("INSERT INTO job_events (job_id, at, kind, message) VALUES (?, ?, ?, ?)",
                       events)
    jobs = {j.id: j for j in get_many(db, [i for i, _ in out])}
    return [(jobs[i], created) for i, created in out]


def mark_enqueued(db: Database, ids: Sequence[int], now: float | None = None) -> None:
    now = time.time() if now is None else now
    with db.atomic():
        for chunk, marks in chunked(ids):
            db.execute(f"UPDATE jobs SET enqueued_at = ? WHERE id IN ({marks})", (now, *chunk))


def claim(db: Database, job_id: int, worker_id: str, lease: float) -> Job | None:
    """Take a queued job for this worker; None if it is not queued (any more)."""
    now = time.time()
    with db.atomic():
        row = db.one(
            "UPDATE jobs SET status = 'running', worker_id = ?, attempts = attempts + 1,"
            " lease_until = ?, heartbeat_at = ?, started_at = COALESCE(started_at, ?),"
            " updated_at = ? WHERE id = ? AND status = 'queued' RETURNING *,"
            # most jobs have no tags: look them up only when there are some
            " EXISTS (SELECT 1 FROM job_tags WHERE job_id = jobs.id) AS tagged",
            (worker_id, now + lease, now, now, now, job_id),
        )
        if row is None:
            return None
        add_event(db, job_id, "running", f"claimed by worker {worker_id}", now)
    return _job(row, _tags_of(db, [job_id])[job_id] if row["tagged"] else [])


def save_step(
    db: Database, job: Job, worker_id: str, lease: float, *,
    checkpoint: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> bool:
    """Move the checkpoint and/or progress of a job this worker owns; call inside the
    step's transaction. Returns whether a cancel was requested. Raises LostOwnership."""
    now = time.time()
    sets = ["heartbeat_at = ?", "lease_until = ?", "updated_at = ?"]
    params: list[Any] = [now, now + lease, now]
    if checkpoint is not None:
        sets.append("checkpoint = ?")
        params.append(_dumps(checkpoint))
    if progress is not None:
        sets += ["progress_current = ?", "progress_total = ?", "progress_stage = ?",
                 "progress_message = ?"]
        params += [progress.current, progress.total, progress.stage, progress.message]
    row = db.one(
        f"UPDATE jobs SET {', '.join(sets)} WHERE id = ? AND worker_id = ?"
        " AND status = 'running' RETURNING cancel_requested",
        (*params, job.id, worker_id),
    )
    if row is None:
        raise LostOwnership(f"job {job.id} is no longer owned by worker {worker_id}")
    return bool(row["cancel_requested"])


def finish(
    db: Database, job: Job, worker_id: str, status: Status, *,
    result: dict[str, Any] | None = None, error: str | None = None,
    run_at: float | None = None, count_error: bool = False, message: str = "",
    waiting_for: str | None = None,
    progress: Progress | None = None,
    checkpoint: dict[str, Any] | None = None,
) -> Job | None:
    """End a run of a job this worker owns (`job` as it was claimed): a final status,
    `retrying` (with run_at), or `queued` (handed back). Returns the job as it ended,
    or None if the worker lost the job meanwhile. `progress` is the run's last
    progress, which throttled step commits may not have written; `checkpoint`, the last
    step's, when the run ends in that step's transaction."""
    now = time.time()
    final = status in FINAL
    if final or waiting_for is not None:
        stage: str | None = "waiting for credits" if waiting_for else str(status)
    else:
        stage = progress.stage if progress is not None else None
    sets = ["status = ?", "worker_id = NULL", "lease_until = NULL",
            "result = COALESCE(?, result)", "error = ?", "errors = errors + ?",
            "run_at = COALESCE(?, run_at)", "finished_at = ?", "updated_at = ?",
            "waiting_for = ?", "progress_stage = COALESCE(?, progress_stage)"]
    params: list[Any] = [status, _dumps(result), error, int(count_error), run_at,
                         now if final else None, now, waiting_for, stage]
    if progress is not None:
        sets += ["progress_current = ?", "progress_total = ?", "progress_message = ?"]
        params += [progress.current, progress.total, progress.message]
    if checkpoint is not None:
        sets.append("checkpoint = ?")
        params.append(_dumps(checkpoint))
    # inside a step's transaction, a failure here fails the step: no savepoint needed
    with db.atomic(savepoint=False):
        # what the run did not write is as claimed: only these are read back
        row = db.one(
            f"UPDATE jobs SET {', '.join(sets)}"
            " WHERE id = ? AND worker_id = ? AND status = 'running'"
            " RETURNING errors, run_at, cancel_requested, progress_current, progress_total,"
            " progress_stage, progress_message, checkpoint",
            (*params, job.id, worker_id),
        )
        if row is None:
            return None
        add_event(db, job.id, str(status), message or error or str(status), now)
        if final:
            _notify(db, job.id, job.params, status, now)
    return replace(
        job, status=status, worker_id=None, result=job.result if result is None else result,
        error=error, errors=row["errors"], run_at=row["run_at"],
        cancel_requested=bool(row["cancel_requested"]),
        finished_at=now if final else None, updated_at=now, waiting_for=waiting_for,
        progress_current=row["progress_current"], progress_total=row["progress_total"],
        progress_stage=row["progress_stage"], progress_message=row["progress_message"],
        checkpoint=_loads(row["checkpoint"]) if checkpoint is None else checkpoint, events=[])


def cancel_requested(db: Database, job_id: int) -> bool:
    return bool(db.scalar("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)))


def request_cancel(db: Database, ids: Sequence[int]) -> list[tuple[Job, str]]:
    """Cancel jobs: waiting ones at once, running ones between two steps."""
    out: list[tuple[int, str]] = []
    now = time.time()
    with db.atomic():
        for job_id in ids:
            row = db.one(f"SELECT status, params FROM jobs WHERE id = ?{db.for_update}",
                         (job_id,))
            if row is None:
                raise JobNotFound(f"no job with id {job_id}")
            status = row["status"]
            if status in (Status.QUEUED, Status.SCHEDULED, Status.RETRYING):
                db.execute(
                    "UPDATE jobs SET status = 'canceled', finished_at = ?, updated_at = ?,"
                    " progress_stage = 'canceled' WHERE id = ?", (now, now, job_id))
                add_event(db, job_id, "canceled", "canceled before it ran", now)
                _notify(db, job_id, json.loads(row["params"]), Status.CANCELED, now)
                out.append((job_id, "canceled"))
            elif status == Status.RUNNING:
                db.execute("UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?",
                           (now, job_id))
                add_event(db, job_id, "cancel", "cancel requested: stops after this step", now)
                out.append((job_id, "canceling"))
            else:
                out.append((job_id, f"already {status}"))
    jobs = {j.id: j for j in get_many(db, [i for i, _ in out])}
    return [(jobs[i], outcome) for i, outcome in out]


def revive(db: Database, ids: Sequence[int]) -> list[Job]:
    """`jobs retry`: a failed or canceled job goes back to the queue, keeping its
    checkpoint so nothing already paid for is fetched again."""
    now = time.time()
    with db.atomic():
        for job_id in ids:
            row = db.one(f"SELECT status, dedupe_key FROM jobs WHERE id = ?{db.for_update}",
                         (job_id,))
            if row is None:
                raise JobNotFound(f"no job with id {job_id}")
            if row["status"] not in (Status.FAILED, Status.CANCELED):
                raise BadInput(f"job {job_id} is {row['status']}: only failed or canceled "
                               "jobs can be retried")
            other = db.scalar(
                f"SELECT id FROM jobs WHERE dedupe_key = ? AND status IN {_LIVE_SQL}",
                (row["dedupe_key"],),
            ) if row["dedupe_key"] else None
            if other is not None:
                raise BadInput(f"job {job_id} cannot be retried: job {other} is already "
                               "working on the same thing")
            db.execute(
                "UPDATE jobs SET status = 'queued', errors = 0, error = NULL,"
                " cancel_requested = 0, finished_at = NULL, run_at = ?, updated_at = ?,"
                " progress_stage = 'queued' WHERE id = ?", (now, now, job_id))
            add_event(db, job_id, "queued", "retried by the user", now)
    return get_many(db, ids)


def promote_due(db: Database, now: float | None = None) -> list[Job]:
    """Scheduled and retrying jobs whose time has come become queued."""
    now = time.time() if now is None else now
    due = "status IN ('scheduled', 'retrying') AND run_at <= ?"
    # a read first: the upkeep loop asks twice a second, and a write lock each time
    # would compete with the workers' page commits for nothing
    if db.scalar(f"SELECT 1 FROM jobs WHERE {due} LIMIT 1", (now,)) is None:
        return []
    with db.atomic():
        rows = db.query(
            "UPDATE jobs SET status = 'queued', updated_at = ? WHERE status IN"
            " ('scheduled', 'retrying') AND run_at <= ? RETURNING *", (now, now))
        for row in rows:
            add_event(db, row["id"], "queued", "due", now)
    return _jobs(db, rows)


def release_of_worker(db: Database, worker_id: str, reason: str) -> list[Job]:
    """Hand a stopped or gone worker's running jobs back (canceled if asked to)."""
    return _release(db, "worker_id = ?", (worker_id,), reason)


def release_expired(db: Database, reason: str, *, keep_worker: str,
                    now: float | None = None) -> list[Job]:
    """Take back running jobs whose lease ran out, but for `keep_worker`'s (the asker)."""
    return _release(db, "lease_until < ? AND worker_id != ?",
                    (time.time() if now is None else now, keep_worker), reason)


def _release(db: Database, where: str, params: Sequence[Any], reason: str) -> list[Job]:
    now = time.time()  # `where`: one of the two conditions above, never from input
    if db.scalar(f"SELECT 1 FROM jobs WHERE status = 'running' AND ({where}) LIMIT 1",
                 params) is None:
        return []
    with db.atomic():
        rows = db.query(
            "UPDATE jobs SET status = CASE WHEN cancel_requested = 1 THEN 'canceled'"
            " ELSE 'queued' END, worker_id = NULL, lease_until = NULL, updated_at = ?,"
            " finished_at = CASE WHEN cancel_requested = 1 THEN ? ELSE NULL END"
            f" WHERE status = 'running' AND ({where}) RETURNING *", (now, now, *params))
        for row in rows:
            add_event(db, row["id"], row["status"], reason, now)
            if row["status"] == Status.CANCELED:
                _notify(db, row["id"], json.loads(row["params"]), Status.CANCELED, now)
    return _jobs(db, rows)


def wake_waiting(db: Database, provider: str) -> int:
    """Credits are back: jobs waiting out the provider's quota become due now."""
    now = time.time()
    with db.atomic():
        cur = db.execute(
            "UPDATE jobs SET run_at = ?, waiting_for = NULL, updated_at = ?"
            " WHERE status = 'retrying' AND waiting_for = ?", (now, now, provider))
    return cur.rowcount


def unsent(db: Database, older_than: float) -> list[int]:
    """Ids of queued jobs whose last message went out before `older_than` (or never),
    in the order they should run."""
    return [r["id"] for r in db.query(
        "SELECT id FROM jobs WHERE status = 'queued' AND"
        " (enqueued_at IS NULL OR enqueued_at < ?) ORDER BY priority, id", (older_than,))]


def count_pending(db: Database, now: float | None = None) -> int:
    """Jobs a burst worker still has to wait for: queued, running, or due."""
    now = time.time() if now is None else now
    # two counts, each served by an index (jobs_status_id, jobs_due)
    return int(db.scalar(
        "SELECT (SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'running'))"
        " + (SELECT COUNT(*) FROM jobs WHERE status IN ('scheduled', 'retrying')"
        " AND run_at <= ?)", (now,)))


def listing(db: Database, *, status: str | None = None, type: str | None = None,
            tag: str | None = None, limit: int = 50) -> list[Job]:
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if type:
        where.append("type = ?")
        params.append(type)
    if tag:
        where.append("id IN (SELECT job_id FROM job_tags WHERE tag = ?)")
        params.append(tag)
    sql = "SELECT * FROM jobs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ?"
    return _jobs(db, db.query(sql, (*params, limit)))


def count_by_status(db: Database) -> dict[str, int]:
    return {r["status"]: r["n"] for r in db.query(
        "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")}


def finished_since(db: Database, since: float) -> dict[str, Any]:
    """Jobs that ended in the window: counts by status and the span they ran over."""
    rows = db.query(
        "SELECT status, COUNT(*) AS n, MIN(started_at) AS first, MAX(finished_at) AS last"
        " FROM jobs WHERE finished_at >= ? GROUP BY status", (since,))
    starts = [r["first"] for r in rows if r["first"] is not None]
    ends = [r["last"] for r in rows if r["last"] is not None]
    return {
        "by_status": {r["status"]: r["n"] for r in rows},
        "first_started_at": min(starts) if starts else None,
        "last_finished_at": max(ends) if ends else None,
    }


def waiting_for_quota(db: Database) -> int:
    return int(db.scalar(
        "SELECT COUNT(*) FROM jobs WHERE status = 'retrying' AND waiting_for IS NOT NULL"))


def cleanup(db: Database, older_than: float) -> int:
    """Delete finished jobs (and their events and tags) that ended before the cutoff."""
    with db.atomic():
        cur = db.execute(
            "DELETE FROM jobs WHERE status IN ('completed', 'failed', 'canceled')"
            " AND finished_at < ?", (older_than,))
    return cur.rowcount


# -- webhooks: the notification of a job's end ------------------------------------------

WEBHOOK_EVENTS = {Status.COMPLETED: "job.completed", Status.FAILED: "job.failed",
                  Status.CANCELED: "job.canceled"}


def _notify(db: Database, job_id: int, params: dict[str, Any], status: Status,
            now: float) -> None:
    """In the transaction that writes a job's final state, its notification goes in the
    outbox (when its `webhook` param, resolved at plan time, has a URL): both or neither."""
    url = params.get("webhook")
    event = WEBHOOK_EVENTS.get(status)
    if not url or event is None:
        return
    delivery_id = uuid.uuid4().hex
    body = _dumps({"event": event, "delivery_id": delivery_id, "created_at": iso(now),
                   "job": to_dict(get(db, job_id, events=True))})
    outbox.add(db, delivery_id, job_id, event, url, str(body), now)


def to_dict(job: Job, *, events: bool = True) -> dict[str, Any]:

    out: dict[str, Any] = {
        "id": job.id, "type": job.type, "status": str(job.status),
        "priority": job.priority, "params": job.params, "tags": job.tags,
        "attempts": job.attempts, "errors": job.errors, "max_attempts": job.max_attempts,
        "progress": {"current": job.progress_current, "total": job.progress_total,
                     "stage": job.progress_stage, "message": job.progress_message},
        "checkpoint": job.checkpoint, "result": job.result, "error": job.error,
        "cancel_requested": job.cancel_requested, "worker_id": job.worker_id,
        "waiting_for": job.waiting_for,
        "created_at": iso(job.created_at), "run_at": iso(job.run_at),
        "started_at": iso(job.started_at), "finished_at": iso(job.finished_at),
        "updated_at": iso(job.updated_at),
    }
    if events:
        out["events"] = [{"at": iso(e.at), "kind": e.kind, "message": e.message}
                         for e in job.events]
    return out

