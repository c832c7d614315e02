"""The webhook outbox: one row per notification, written with the job's final state.

state/jobs.py builds a notification's body and calls `add` IN THE TRANSACTION that writes
the job's final state (`create`, `finish`, `request_cancel`, the hand-backs): either both
are committed or neither, so a crash right after a job ends cannot lose it. This module
only stores and reads the rows; worker/webhooks.py sends them.

A delivery is claimed with a conditional UPDATE that pushes its `next_at` out by a lease
(two senders never POST it at the same time; a sender killed mid-POST leaves it to be sent
again once the lease runs out), and its outcome is written keyed on the attempt number:

    pending ──2xx──> delivered
       │ └─other status / no answer──> pending, next_at later
       └──the last attempt, or too old──> failed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from novahunt.errors import BadInput
from novahunt.inputs.timeparse import iso_ts
from novahunt.state.base import Database, Row

STATUSES = ("pending", "delivered", "failed")


@dataclass(frozen=True)
class Delivery:
    id: str
    job_id: int | None
    event: str
    url: str
    body: str
    status: str
    attempts: int
    next_at: float
    last_error: str | None
    last_status: int | None
    created_at: float
    delivered_at: float | None


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"], job_id=row["job_id"], event=row["event"], url=row["url"],
        body=row["body"], status=row["status"], attempts=row["attempts"],
        next_at=row["next_at"], last_error=row["last_error"], last_status=row["last_status"],
        created_at=row["created_at"], delivered_at=row["delivered_at"])


def add(db: Database, delivery_id: str, job_id: int, event: str, url: str, body: str,
        now: float) -> None:
    """Store a notification, due at once; call inside the transaction that ends its job."""
    db.execute(
        "INSERT INTO webhook_deliveries (id, job_id, event, url, body, status, attempts,"
        " next_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (delivery_id, job_id, event, url, body, now, now))


def claim(db: Database, lease: float, now: float, *, url: str | None = None
          ) -> Delivery | None:
    """Take the most overdue pending delivery (to `url`, if given); None if none is
    due. The conditional UPDATE moves `next_at` out by `lease`, so no other sender
    takes it meanwhile."""
    due = "status = 'pending' AND next_at <= ?"
    due_params: tuple[Any, ...] = (now,)
    if url is not None:
        due, due_params = due + " AND url = ?", (now, url)
    if db.scalar(f"SELECT 1 FROM webhook_deliveries WHERE {due} LIMIT 1",
                 due_params) is None:
        return None
    with db.atomic():
        row = db.one(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = ?"
            f" WHERE id = (SELECT id FROM webhook_deliveries WHERE {due}"
            f" ORDER BY next_at LIMIT 1{db.skip_locked}) AND {due} RETURNING *",
            (now + lease, *due_params, *due_params))
    return None if row is None else _delivery(row)


def settle(db: Database, claimed: Delivery, status: str, next_at: float,
           delivered_at: float | None, last_status: int | None,
           last_error: str | None) -> str:
    """Write what an attempt got; returns the delivery's status now. Keyed on the
    attempt number, so a sender whose lease ran out cannot overwrite a newer attempt."""
    with db.atomic():
        cur = db.execute(
            "UPDATE webhook_deliveries SET status = ?, next_at = ?, delivered_at = ?,"
            " last_status = ?, last_error = ? WHERE id = ? AND attempts = ?"
            " AND status = 'pending'",
            (status, next_at, delivered_at, last_status, last_error, claimed.id,
             claimed.attempts))
        if cur.rowcount == 0:  # another sender's attempt decides
            return str(db.scalar("SELECT status FROM webhook_deliveries WHERE id = ?",
                                 (claimed.id,)))
    return status


def next_due_at(db: Database, *, url: str | None = None) -> float | None:
    if url is None:
        value = db.scalar(
            "SELECT MIN(next_at) FROM webhook_deliveries WHERE status = 'pending'")
    else:
        value = db.scalar("SELECT MIN(next_at) FROM webhook_deliveries"
                          " WHERE status = 'pending' AND url = ?", (url,))
    return None if value is None else float(value)


def due_urls(db: Database, now: float, limit: int) -> list[str]:
    """The receivers with a delivery due, the longest waiting first."""
    rows = db.query(
        "SELECT url FROM webhook_deliveries WHERE status = 'pending' AND next_at <= ?"
        " GROUP BY url ORDER BY MIN(next_at) LIMIT ?", (now, limit))
    return [str(r["url"]) for r in rows]


def listing(db: Database, *, status: str | None = None, limit: int = 50) -> list[Delivery]:
    if status is not None and status not in STATUSES:
        raise BadInput(f"--status must be one of: {', '.join(STATUSES)}")
    where = " WHERE status = ?" if status else ""
    params: list[Any] = [status] if status else []
    rows = db.query(
        f"SELECT * FROM webhook_deliveries{where} ORDER BY created_at DESC, id LIMIT ?",
        (*params, limit))
    return [_delivery(r) for r in rows]


def of_job(db: Database, job_id: int) -> list[Delivery]:
    rows = db.query(
        "SELECT * FROM webhook_deliveries WHERE job_id = ? ORDER BY created_at", (job_id,))
    return [_delivery(r) for r in rows]


def to_dict(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id, "job_id": delivery.job_id, "event": delivery.event,
        "url": delivery.url, "status": delivery.status, "attempts": delivery.attempts,
        "last_status": delivery.last_status, "last_error": delivery.last_error,
        "next_at": iso_ts(delivery.next_at) if delivery.status == "pending" else None,
        "created_at": iso_ts(delivery.created_at),
        "delivered_at": iso_ts(delivery.delivered_at),
    }
