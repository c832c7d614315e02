"""Webhooks that are never lost: an outbox in state.db, delivered by the worker.

When a job ends (completed, failed, canceled) and has a webhook URL (its `webhook`
param, else `webhook_url` from the config), `job_ended` writes a delivery row IN THE
TRANSACTION that writes the job's final state: jobs.py calls it from `create`,
`finish`, `request_cancel` and `release_running`. Either both are committed or neither,
so a crash right after a job ends cannot lose its notification.

The worker's upkeep calls `pump` every tick; at most once a second it looks for due
rows and hands them to one background thread per state.db in the process, so a slow or
dead receiver never holds up heartbeats. A delivery is claimed with a conditional
UPDATE that pushes its `next_at` out by a lease (two workers never send it at the same
time; a worker killed mid-POST leaves it to be sent again once the lease runs out),
then POSTed with a short timeout:

    pending ──2xx──> delivered
       │ └─other status / no answer──> pending, next_at = now + backoff (1 s doubling
       │                               to 10 min, jittered)
       └──12th failed attempt, or 24 h old──> failed

Delivery is at least once: receivers dedupe on `delivery_id`. Each attempt is signed
afresh (`X-Novahunt-Timestamp`, `X-Novahunt-Signature: sha256=HMAC(secret,
"{timestamp}.{body}")`) with the secret configured where it is sent; the secret is never
stored, and without one deliveries go out unsigned.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from novahunt import __version__, config, paths
from novahunt.config import Settings
from novahunt.errors import BadInput, ConfigError, JobNotFound
from novahunt.inputs.timeparse import iso_ts
from novahunt.state import jobs
from novahunt.state.db import Database, Row

if TYPE_CHECKING:  # httpx loads when a delivery is sent, not with every job write
    import httpx

log = logging.getLogger(__name__)

EVENTS = {"completed": "job.completed", "failed": "job.failed", "canceled": "job.canceled"}
STATUSES = ("pending", "delivered", "failed")

TIMEOUT = 10.0            # seconds one POST may take
CLAIM_LEASE = 60.0        # a claimed delivery is due again after this (its sender died)
BACKOFF_CAP = 600.0       # the longest wait between two attempts
MAX_ATTEMPTS = 12
MAX_AGE = 24 * 3600.0     # a delivery older than this is not retried any more
TOLERANCE = 300.0         # receivers refuse signatures older than this (replays)
LOOK_EVERY = 1.0          # how often the upkeep tick looks for due deliveries
IDLE_EXIT = 5.0           # the sender thread ends when nothing is due this soon


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


@dataclass(frozen=True)
class Answer:
    """What one POST got: an HTTP status, or none and the reason."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"], job_id=row["job_id"], event=row["event"], url=row["url"],
        body=row["body"], status=row["status"], attempts=row["attempts"],
        next_at=row["next_at"], last_error=row["last_error"], last_status=row["last_status"],
        created_at=row["created_at"], delivered_at=row["delivered_at"])


def check_url(url: str) -> str:
    """A webhook URL as given, or BadInput: http(s) with a host."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        usable = False
    if not usable:
        from novahunt.inputs.urls import redact

        raise BadInput("a webhook URL must be http:// or https:// with a host, not "
                       f"{redact(url)!r}")
    return url


# -- the outbox: written with the job's final state -------------------------------------


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


_default_seen: tuple[tuple[object, ...], str | None] | None = None
_file_looked: tuple[str, float, object] = ("", 0.0, None)   # path, when, its mtime
LOOK_AT_FILE_EVERY = 1.0


def _default_url() -> str | None:
    """NOVAHUNT_WEBHOOK_URL or config.toml's webhook_url, read again only when the
    variable or the file changed (this runs as every job ends, so the file is looked
    at once a second at most)."""
    global _default_seen, _file_looked
    path = str(paths.config_file())
    now = time.monotonic()
    looked_path, looked_at, stamp = _file_looked
    if looked_path != path or now - looked_at >= LOOK_AT_FILE_EVERY:
        try:
            stamp = os.stat(path).st_mtime_ns
        except OSError:
            stamp = None
        _file_looked = (path, now, stamp)
    key = (os.environ.get("NOVAHUNT_WEBHOOK_URL"), path, stamp)
    if _default_seen is not None and _default_seen[0] == key:
        return _default_seen[1]
    try:
        url = config.load().webhook_url
    except ConfigError as exc:
        # a broken config.toml must not roll back the job's end with it
        log.warning("no default webhook: %s", exc)
        return None
    _default_seen = (key, url)
    return url


def _params_and_status(db: Database, job_id: int) -> tuple[dict[str, Any], str]:
    row = db.one("SELECT params, status FROM jobs WHERE id = ?", (job_id,))
    if row is None:
        raise JobNotFound(f"no job with id {job_id}")
    return json.loads(row["params"]), str(row["status"])


def job_ended(db: Database, job_id: int, now: float | None = None, *,
              known: tuple[dict[str, Any], str] | None = None) -> str | None:
    """The jobs.py hook: inside the transaction that wrote a job's final state, queue
    its notification. Returns the delivery id, or None (not final, or no URL).
    `known`: the job's params and status, when the caller has just read them."""
    # runs in the transaction that ends every job: read only what decides
    params, status = known or _params_and_status(db, job_id)
    event = EVENTS.get(status)
    if event is None:
        return None
    url = params.get("webhook") or _default_url()
    if not url:
        return None
    now = time.time() if now is None else now
    delivery_id = uuid.uuid4().hex
    body = _dumps({"event": event, "delivery_id": delivery_id, "created_at": iso_ts(now),
                   "job": jobs.to_dict(jobs.get(db, job_id, events=True))})
    db.execute(
        "INSERT INTO webhook_deliveries (id, job_id, event, url, body, status, attempts,"
        " next_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
        (delivery_id, job_id, event, url, body, now, now))
    return delivery_id


# -- signing ----------------------------------------------------------------------------


def sign(secret: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify_signature(secret: str, timestamp: str, body: str, signature: str, *,
                     now: float | None = None, tolerance: float = TOLERANCE) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - stamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, stamp, body), signature)


def headers(event: str, delivery_id: str, body: str, secret: str | None,
            now: float | None = None) -> dict[str, str]:
    stamp = int(time.time() if now is None else now)
    out = {"Content-Type": "application/json", "User-Agent": f"novahunt/{__version__}",
           "X-Novahunt-Event": event, "X-Novahunt-Delivery": delivery_id,
           "X-Novahunt-Timestamp": str(stamp)}
    if secret:
        out["X-Novahunt-Signature"] = sign(secret, stamp, body)
    return out


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def post(client: httpx.Client, url: str, event: str, delivery_id: str, body: str,
         secret: str | None) -> Answer:
    import httpx

    try:
        response = client.post(url, content=body.encode(),
                               headers=headers(event, delivery_id, body, secret))
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        return Answer(None, _scrub(f"{type(exc).__name__}: {reason}", secret)[:300])
    if 200 <= response.status_code < 300:
        return Answer(response.status_code, None)
    text = " ".join(response.text.split())[:200]
    return Answer(response.status_code,
                  _scrub(f"HTTP {response.status_code}" + (f": {text}" if text else ""),
                         secret))


def ping(settings: Settings, url: str) -> Answer:
    """`webhooks test`: a signed `ping` event now, no outbox row."""
    delivery_id = uuid.uuid4().hex
    body = _dumps({"event": "ping", "delivery_id": delivery_id,
                   "created_at": iso_ts(time.time()), "job": None})
    import httpx

    with httpx.Client(timeout=TIMEOUT) as client:
        return post(client, check_url(url), "ping", delivery_id, body,
                    settings.webhook_secret)


# -- delivering -------------------------------------------------------------------------


def retry_delay(attempt: int, base: float, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2^(n-1)),
    so waits grow while workers retrying together spread out."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def claim(db: Database, now: float | None = None) -> Delivery | None:
    """Take the most overdue pending delivery; None if none is due. The conditional
    UPDATE moves `next_at` out by the lease, so no other sender takes it meanwhile."""
    now = time.time() if now is None else now
    due = "status = 'pending' AND next_at <= ?"
    if db.scalar(f"SELECT 1 FROM webhook_deliveries WHERE {due} LIMIT 1", (now,)) is None:
        return None
    with db.atomic():
        row = db.one(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, next_at = ?"
            f" WHERE id = (SELECT id FROM webhook_deliveries WHERE {due}"
            f" ORDER BY next_at LIMIT 1{db.skip_locked}) AND {due} RETURNING *",
            (now + CLAIM_LEASE, now, now))
    return None if row is None else _delivery(row)


def record(db: Database, claimed: Delivery, answer: Answer, base: float,
           now: float | None = None) -> str:
    """Write what an attempt got; returns the delivery's status now. Keyed on the
    attempt number, so a sender whose lease ran out cannot overwrite a newer attempt."""
    now = time.time() if now is None else now
    if answer.ok:
        status, next_at, delivered = "delivered", claimed.next_at, now
    elif claimed.attempts >= MAX_ATTEMPTS or now - claimed.created_at >= MAX_AGE:
        status, next_at, delivered = "failed", claimed.next_at, None
    else:
        status, next_at, delivered = "pending", now + retry_delay(claimed.attempts, base), None
    with db.atomic():
        cur = db.execute(
            "UPDATE webhook_deliveries SET status = ?, next_at = ?, delivered_at = ?,"
            " last_status = ?, last_error = ? WHERE id = ? AND attempts = ?"
            " AND status = 'pending'",
            (status, next_at, delivered, answer.status, answer.error, claimed.id,
             claimed.attempts))
        if cur.rowcount == 0:  # another sender's attempt decides
            return str(db.scalar("SELECT status FROM webhook_deliveries WHERE id = ?",
                                 (claimed.id,)))
    return status


def deliver_due(db: Database, settings: Settings, *, limit: int = 10) -> int:
    """Send up to `limit` due deliveries, one at a time; returns how many were tried."""
    import httpx

    tried = 0
    with httpx.Client(timeout=TIMEOUT) as client:
        while tried < limit:
            claimed = claim(db)
            if claimed is None:
                break
            answer = post(client, claimed.url, claimed.event, claimed.id, claimed.body,
                          settings.webhook_secret)
            status = record(db, claimed, answer, settings.webhook_backoff)
            tried += 1
            if status == "failed":
                log.warning("webhook %s for job %s gave up after %d attempts: %s",
                            claimed.id, claimed.job_id, claimed.attempts, answer.error)
    return tried


def next_due_at(db: Database) -> float | None:
    value = db.scalar("SELECT MIN(next_at) FROM webhook_deliveries WHERE status = 'pending'")
    return None if value is None else float(value)


class _Sender:
    """The background thread that delivers for one state.db in this process."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.thread: threading.Thread | None = None
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.next_look = 0.0

    def alive(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="novahunt-webhooks",
                                       daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                if deliver_due(self.db, self.settings):
                    continue
                due = next_due_at(self.db)
                wait = None if due is None else due - time.time()
                if wait is None or wait > IDLE_EXIT:
                    return   # the next pump that finds something due starts a new one
                self.wake.wait(max(0.01, min(wait, LOOK_EVERY)))
                self.wake.clear()
        except Exception:
            log.exception("webhook delivery failed; the next upkeep tick tries again")
        finally:
            self.db.close()  # this thread's connection


_senders: dict[str, _Sender] = {}
_senders_lock = threading.Lock()


def pump(db: Database, settings: Settings) -> None:
    """Called from the worker's upkeep tick: at most once a second, look for due
    deliveries and make sure a sender thread is on them. Never blocks on the network."""
    with _senders_lock:
        sender = _senders.get(db.location)
        if sender is None:
            sender = _senders[db.location] = _Sender(db, settings)
        sender.settings = settings
        now = time.monotonic()
        if now < sender.next_look:
            return
        sender.next_look = now + LOOK_EVERY
        if sender.alive():
            sender.wake.set()
            return
    due = next_due_at(db)
    if due is None or due > time.time():
        return
    with _senders_lock:
        if not sender.alive():
            sender.stop.clear()
            sender.start()


def shutdown(timeout: float = TIMEOUT + 1) -> None:
    """Stop this process's sender threads (after the POST in flight)."""
    with _senders_lock:
        senders = list(_senders.values())
        _senders.clear()
    for sender in senders:
        sender.stop.set()
        sender.wake.set()
        if sender.thread is not None:
            sender.thread.join(timeout)


# -- reading ----------------------------------------------------------------------------


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
