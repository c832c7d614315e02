"""The webhook sender: delivers the outbox's rows (state/outbox.py), signed, with retries.

When a job ends (completed, failed, canceled) and has a webhook URL (its `webhook` param:
`--webhook`, else the default in NOVAHUNT_WEBHOOK_URL or config.toml's `webhook_url`, read
when the job was planned), a delivery row is written with the job's final state. The
worker's upkeep calls `pump` every tick; at most once a second it looks for due rows and
hands them to one background thread per state.db in the process, so a slow or dead
receiver never holds up heartbeats. Each claimed row is POSTed with a short timeout:

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
import random
import threading
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from novahunt import __version__
from novahunt.config import Settings
from novahunt.inputs.timeparse import iso_ts
from novahunt.inputs.urls import check_webhook_url
from novahunt.state import outbox
from novahunt.state.base import Database

if TYPE_CHECKING:  # httpx loads when a delivery is sent, not with the worker
    import httpx


log = logging.getLogger(__name__)

TIMEOUT = 10.0            # seconds one POST may take
CLAIM_LEASE = 60.0        # a claimed delivery is due again after this (its sender died)
BACKOFF_CAP = 600.0       # the longest wait between two attempts
MAX_ATTEMPTS = 12
MAX_AGE = 24 * 3600.0     # a delivery older than this is not retried any more
TOLERANCE = 300.0         # receivers refuse signatures older than this (replays)
LOOK_EVERY = 1.0          # how often the upkeep tick looks for due deliveries
IDLE_EXIT = 5.0           # the sender thread ends when nothing is due this soon


@dataclass(frozen=True)
class Answer:
    """What one POST got: an HTTP status, or none and the reason."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


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
    body = json.dumps({"event": "ping", "delivery_id": delivery_id,
                       "created_at": iso_ts(time.time()), "job": None},
                      separators=(",", ":"), sort_keys=True)
    import httpx

    from novahunt.providers.http import tls_context

    with httpx.Client(timeout=TIMEOUT, verify=tls_context()) as client:
        return post(client, check_webhook_url(url), "ping", delivery_id, body,
                    settings.webhook_secret)


# -- delivering -------------------------------------------------------------------------


def retry_delay(attempt: int, base: float, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2^(n-1)),
    so waits grow while workers retrying together spread out."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def claim(db: Database, now: float | None = None) -> outbox.Delivery | None:
    """Take the most overdue pending delivery for CLAIM_LEASE; None if none is due."""
    return outbox.claim(db, CLAIM_LEASE, time.time() if now is None else now)


def record(db: Database, claimed: outbox.Delivery, answer: Answer, base: float,
           now: float | None = None) -> str:
    """Write what an attempt got: delivered, due again after a backoff, or failed after
    the last attempt; returns the delivery's status now (a newer attempt's, if the lease
    of this one ran out meanwhile)."""
    now = time.time() if now is None else now
    if answer.ok:
        status, next_at, delivered = "delivered", claimed.next_at, now
    elif claimed.attempts >= MAX_ATTEMPTS or now - claimed.created_at >= MAX_AGE:
        status, next_at, delivered = "failed", claimed.next_at, None
    else:
        status, next_at, delivered = "pending", now + retry_delay(claimed.attempts, base), None
    return outbox.settle(db, claimed, status, next_at, delivered, answer.status, answer.error)


def deliver_due(db: Database, settings: Settings, *, limit: int = 10) -> int:
    """Send up to `limit` due deliveries, one at a time; returns how many were tried."""
    import httpx

    from novahunt.providers.http import tls_context

    tried = 0
    with httpx.Client(timeout=TIMEOUT, verify=tls_context()) as client:
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
                due = outbox.next_due_at(self.db)
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
    due = outbox.next_due_at(db)
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
