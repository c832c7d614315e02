"""The webhook sender: delivers the outbox's rows (state/outbox.py), signed, with retries.

When a job ends (completed, failed, canceled) and has a webhook URL (its `webhook` param:
`--webhook`, else the default in NOVAHUNT_WEBHOOK_URL or config.toml's `webhook_url`, read
when the job was planned), a delivery row is written with the job's final state. The
worker's upkeep calls `pump` every tick; at most once a second it looks for due rows and
hands each receiver (a webhook URL) with rows due to a lane of its own: a background
thread that POSTs that receiver's rows one at a time, oldest first. A slow or dead
receiver holds up only its own deliveries, never another receiver's nor the heartbeats;
up to MAX_LANES receivers are sent to at once. Each claimed row is POSTed with a short
timeout:

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

TIMEOUT = 10.0            # seconds one POST may take, the answer included
MAX_ANSWER = 4096         # bytes of a refusal's body read, for its error message
CLAIM_LEASE = 60.0        # a claimed delivery is due again after this (its sender died)
BACKOFF_CAP = 600.0       # the longest wait between two attempts
MAX_ATTEMPTS = 12
MAX_AGE = 24 * 3600.0     # a delivery older than this is not retried any more
TOLERANCE = 300.0         # receivers refuse signatures older than this (replays)
LOOK_EVERY = 1.0          # how often the upkeep tick looks for due deliveries
IDLE_EXIT = 5.0           # a lane's thread ends when nothing is due this soon
MAX_LANES = 16            # receivers sent to at once, each with one POST in flight


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


def client_for(url: str) -> httpx.Client:
    """A client for one receiver: through the proxy the environment names for it, as
    before, and with the whole-request deadline of providers/http.py."""
    import httpx

    from novahunt.providers.http import proxy_for, tls_context, with_deadlines

    try:
        proxy = proxy_for(httpx.URL(url))
    except httpx.InvalidURL:
        proxy = None  # the POST says what is wrong with it
    transport = httpx.HTTPTransport(proxy=proxy, verify=tls_context())
    return httpx.Client(timeout=TIMEOUT, transport=with_deadlines(transport))


def post(client: httpx.Client, url: str, event: str, delivery_id: str, body: str,
         secret: str | None) -> Answer:
    import httpx

    from novahunt.providers.http import deadline, read_capped

    try:
        # httpx's timeout restarts with every byte: a receiver that trickles its answer
        # would hold the POST (and its lane) for ever; the deadline is the whole POST's
        with deadline(TIMEOUT), client.stream(
                "POST", url, content=body.encode(),
                headers=headers(event, delivery_id, body, secret)) as response:
            status = response.status_code
            if 200 <= status < 300:
                return Answer(status, None)
            try:
                raw = read_capped(response, MAX_ANSWER, truncate=True)
            except httpx.HTTPError:  # the status says enough
                raw = b""
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = str(exc) or type(exc).__name__
        return Answer(None, _scrub(f"{type(exc).__name__}: {reason}", secret)[:300])
    text = " ".join(raw.decode("utf-8", "replace").split())[:200]
    return Answer(status, _scrub(f"HTTP {status}" + (f": {text}" if text else ""), secret))


def ping(settings: Settings, url: str) -> Answer:
    """`webhooks test`: a signed `ping` event now, no outbox row."""
    delivery_id = uuid.uuid4().hex
    body = json.dumps({"event": "ping", "delivery_id": delivery_id,
                       "created_at": iso_ts(time.time()), "job": None},
                      separators=(",", ":"), sort_keys=True)
    url = check_webhook_url(url)
    with client_for(url) as client:
        return post(client, url, "ping", delivery_id, body, settings.webhook_secret)


# -- delivering -------------------------------------------------------------------------


def retry_delay(attempt: int, base: float, cap: float = BACKOFF_CAP) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2^(n-1)),
    so waits grow while workers retrying together spread out."""
    ceiling = min(cap, base * 2 ** max(0, attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def claim(db: Database, now: float | None = None, *, url: str | None = None
          ) -> outbox.Delivery | None:
    """Take the most overdue pending delivery (to `url`, if given) for CLAIM_LEASE;
    None if none is due."""
    return outbox.claim(db, CLAIM_LEASE, time.time() if now is None else now, url=url)


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


def _send(client: httpx.Client, db: Database, claimed: outbox.Delivery,
          settings: Settings) -> None:
    answer = post(client, claimed.url, claimed.event, claimed.id, claimed.body,
                  settings.webhook_secret)
    if record(db, claimed, answer, settings.webhook_backoff) == "failed":
        log.warning("webhook %s for job %s gave up after %d attempts: %s",
                    claimed.id, claimed.job_id, claimed.attempts, answer.error)


def deliver_due(db: Database, settings: Settings, *, limit: int = 10,
                url: str | None = None) -> int:
    """Send up to `limit` due deliveries (to `url`, if given), one at a time; returns
    how many were tried."""
    clients: dict[str, httpx.Client] = {}
    tried = 0
    try:
        while tried < limit:
            claimed = claim(db, url=url)
            if claimed is None:
                break
            client = clients.get(claimed.url)
            if client is None:
                client = clients[claimed.url] = client_for(claimed.url)
            _send(client, db, claimed, settings)
            tried += 1
    finally:
        for client in clients.values():
            client.close()
    return tried


class _Sender:
    """Delivers for one state.db in this process: one lane (a thread) per receiver
    with deliveries due."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.lanes: dict[str, threading.Thread] = {}   # url -> its thread
        self.stop = threading.Event()
        self.next_look = 0.0

    def busy(self) -> set[str]:
        """The receivers a lane is on; forgets the lanes that ended."""
        for url in [u for u, thread in self.lanes.items() if not thread.is_alive()]:
            del self.lanes[url]
        return set(self.lanes)

    def start(self, url: str) -> None:
        thread = threading.Thread(target=self._lane, args=(url,), daemon=True,
                                  name=f"novahunt-webhooks-{len(self.lanes) + 1}")
        self.lanes[url] = thread
        thread.start()

    def _lane(self, url: str) -> None:
        try:
            with client_for(url) as client:
                while not self.stop.is_set():
                    claimed = claim(self.db, url=url)
                    if claimed is not None:
                        _send(client, self.db, claimed, self.settings)
                        continue
                    due = outbox.next_due_at(self.db, url=url)
                    wait = None if due is None else due - time.time()
                    if wait is None or wait > IDLE_EXIT:
                        return   # the next pump that finds one due starts a new lane
                    self.stop.wait(max(0.01, min(wait, LOOK_EVERY)))
        except Exception:
            log.exception("webhook delivery failed; the next upkeep tick tries again")
        finally:
            self.db.close()  # this thread's connection


_senders: dict[str, _Sender] = {}
_senders_lock = threading.Lock()


def pump(db: Database, settings: Settings) -> None:
    """Called from the worker's upkeep tick: at most once a second, look for receivers
    with deliveries due and put a lane on each that has none. Never blocks on the
    network."""
    with _senders_lock:
        sender = _senders.get(db.location)
        if sender is None:
            sender = _senders[db.location] = _Sender(db, settings)
        sender.settings = settings
        now = time.monotonic()
        if now < sender.next_look:
            return
        sender.next_look = now + LOOK_EVERY
        busy = sender.busy()
    if len(busy) >= MAX_LANES:
        return
    due = outbox.due_urls(db, time.time(), MAX_LANES + len(busy))
    with _senders_lock:
        if _senders.get(db.location) is not sender:  # shut down meanwhile
            return
        for url in due:
            if len(sender.busy()) >= MAX_LANES:
                break
            if url not in sender.lanes:
                sender.start(url)


def shutdown(timeout: float = TIMEOUT + 1) -> None:
    """Stop this process's lanes (after the POSTs in flight, waiting `timeout` at most
    for all of them together)."""
    with _senders_lock:
        senders = list(_senders.values())
        _senders.clear()
        threads = [t for sender in senders for t in sender.lanes.values()]
    for sender in senders:
        sender.stop.set()
    ends = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, ends - time.monotonic()))
