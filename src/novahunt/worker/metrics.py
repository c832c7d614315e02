"""`novahunt worker --metrics-port`: Prometheus metrics and a health check over HTTP.

Nothing is counted in memory. state.db already records every job, every provider
request (the ledger) and every cache hit, so a scrape reads it through its own
connection and turns it into metric families (`StateCollector`): the numbers are the
same whichever worker is scraped, they survive restarts, and a worker that crashed
loses none. Counters are totals over the ledger's whole history; gauges are the state
now; the job-duration histogram covers the jobs that finished in the last 24 hours,
a sliding window, so its buckets can go down as well as up.

`/health` answers 200 while this worker's upkeep loop (heartbeats, sweeper) ticked in
the last 15 seconds and state.db answers `SELECT 1`, and 503 with the reason
otherwise: a worker whose loop hangs still serves HTTP, but it is not healthy.

The server is a `ThreadingHTTPServer` on a daemon thread, bound to 127.0.0.1 unless
told otherwise; `stop()` shuts it down and closes the socket.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from novahunt import runners
from novahunt.config import Settings
from novahunt.errors import BadInput, StorageError
from novahunt.inputs.urls import scrub
from novahunt.ops import account
from novahunt.providers.records import PROVIDER
from novahunt.state import jobs, ledger, quotas, telemetry
from novahunt.state.db import Database
from novahunt.state.db import connect as db_connect
from novahunt.state.jobs import Status
from novahunt.worker.liveness import live_workers

log = logging.getLogger(__name__)

DURATION_WINDOW = 24 * 3600.0
DURATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                    1800.0, 3600.0)
# the upkeep loop ticks every 0.1 s; this much silence means it is stuck
HEALTH_MAX_TICK_AGE = 15.0


class Monitored(Protocol):
    """What the metrics server needs of a worker (WorkerRuntime, or a test's stand-in)."""

    id: str
    settings: Settings
    last_tick: float | None


def _open(location: str | Path) -> Database:
    # a connection of our own: the HTTP threads never share the worker's
    return db_connect(location)


class StateCollector(Collector):
    """Reads state.db at scrape time and yields the metric families."""

    def __init__(self, worker: Monitored, path: str | Path) -> None:
        self.worker = worker
        self.path = path

    def collect(self) -> Iterator[Metric]:
        db = _open(self.path)
        try:
            yield from self._families(db, time.time())
        finally:
            db.close()

    def _families(self, db: Database, now: float) -> Iterator[Metric]:
        by_type_status = telemetry.jobs_by_type_and_status(db)
        jobs_now = GaugeMetricFamily(
            "novahunt_jobs", "Jobs in state.db by type and status, now.",
            labels=["type", "status"])
        # every known type and status, zeros included: a series that vanishes when it
        # reaches 0 breaks alerts and rate() alike
        types = sorted(set(runners.TYPES) | {t for t, _ in by_type_status})
        for job_type in types:
            for status in Status:
                jobs_now.add_metric([job_type, status.value],
                                    by_type_status.get((job_type, status.value), 0))
        yield jobs_now

        depth = GaugeMetricFamily(
            "novahunt_queue_depth", "Jobs waiting for a worker thread, by status.",
            labels=["status"])
        for status in (Status.QUEUED, Status.SCHEDULED, Status.RETRYING):
            depth.add_metric([status.value], sum(
                n for (_, s), n in by_type_status.items() if s == status.value))
        yield depth
        yield GaugeMetricFamily(
            "novahunt_jobs_waiting_for_credits",
            "Retrying jobs that wait for the provider's quota to come back.",
            value=jobs.waiting_for_quota(db))

        histogram = HistogramMetricFamily(
            "novahunt_job_duration_seconds",
            "First start to finish of the jobs that finished in the last 24 hours after "
            "running (a sliding window: counts can go down).",
            labels=["type", "status"])
        bounds = [f"{b:g}" for b in DURATION_BUCKETS]
        for d in telemetry.durations(db, now - DURATION_WINDOW, DURATION_BUCKETS):
            buckets: list[tuple[str, float]] = list(zip(bounds, d.cumulative, strict=True))
            buckets.append(("+Inf", d.count))
            histogram.add_metric([d.type, d.status], buckets, sum_value=d.total_seconds)
        yield histogram

        summary = ledger.summary(db, 0.0)
        requests = CounterMetricFamily(
            "novahunt_provider_requests",
            "Provider requests from the API-call ledger, by endpoint and HTTP status "
            "(0: no answer arrived).", labels=["provider", "endpoint", "status"])
        throttled = CounterMetricFamily(
            "novahunt_provider_throttled",
            "Provider answers with HTTP 429 or 403 (throttling, a quota, or forbidden), "
            "from the API-call ledger.", labels=["provider", "endpoint", "status"])
        for r in summary["requests"]:
            labels = [r["provider"], r["endpoint"], str(r["status"])]
            requests.add_metric(labels, r["count"])
            if r["status"] in (403, 429):
                throttled.add_metric(labels, r["count"])
        yield requests
        yield throttled
        yield CounterMetricFamily(
            "novahunt_jobs_postponed_by_rate_limit",
            "Times a job gave its thread back because the shared rate limiter was busy "
            "for longer than its patience (job events: `jobs cleanup` forgets old ones).",
            value=telemetry.rate_limit_postponements(db))

        credits = CounterMetricFamily(
            "novahunt_credits_spent", "Provider credits billed, by kind (search, "
            "verification), from the API-call ledger: what Hunter bills (0.5 a "
            "verification on single-credit plans).", labels=["kind"])
        for kind, n in sorted(summary["credits"].items()):
            credits.add_metric([kind], n)
        yield credits
        hits = CounterMetricFamily(
            "novahunt_cache_hits", "Answers served from state.db instead of the provider, "
            "by kind.", labels=["kind"])
        saved = CounterMetricFamily(
            "novahunt_cache_saved_credits", "Credits the cache hits would have cost.",
            labels=["kind"])
        for kind, hit in sorted(summary["cache_hits"].items()):
            hits.add_metric([kind], hit["count"])
            saved.add_metric([kind], hit["saved_credits"])
        yield hits
        yield saved

        paused = GaugeMetricFamily(
            "novahunt_provider_paused", "1 while this kind of the provider's credits "
            "(search, verification) is exhausted and jobs wait for it.",
            labels=["provider", "kind"])
        pauses = quotas.provider_pauses(db)
        for kind in account.KINDS:  # both, zeros included
            paused.add_metric([PROVIDER, kind], int(account.pause_key(kind) in pauses))
        yield paused

        heartbeat = GaugeMetricFamily(
            "novahunt_worker_last_heartbeat_timestamp_seconds",
            "Unix time of this worker's last heartbeat in state.db.", labels=["worker"])
        beat = telemetry.worker_heartbeat_at(db, self.worker.id)
        if beat is not None:
            heartbeat.add_metric([self.worker.id], beat)
        yield heartbeat
        upkeep = GaugeMetricFamily(
            "novahunt_worker_last_upkeep_timestamp_seconds",
            "Unix time this worker's upkeep loop (heartbeats, sweeper) last ticked "
            "without an error.", labels=["worker"])
        if self.worker.last_tick is not None:
            upkeep.add_metric([self.worker.id], self.worker.last_tick)
        yield upkeep

        yield GaugeMetricFamily(
            "novahunt_workers_live", "Workers with a fresh heartbeat (and, on this host, "
            "a live process).", value=len(live_workers(db, self.worker.settings)))


def health(worker: Monitored, path: str | Path,
           now: float | None = None) -> tuple[int, dict[str, Any]]:
    """The answer to GET /health: (HTTP status, JSON body)."""
    now = time.time() if now is None else now
    body: dict[str, Any] = {"worker": worker.id}
    problems: list[str] = []
    if worker.last_tick is None:
        problems.append("the upkeep loop has not ticked yet")
        body["last_tick_age_seconds"] = None
    else:
        age = now - worker.last_tick
        body["last_tick_age_seconds"] = round(age, 3)
        if age > HEALTH_MAX_TICK_AGE:
            problems.append(f"the upkeep loop last ticked {age:.0f}s ago "
                            f"(more than {HEALTH_MAX_TICK_AGE:.0f}s)")
    try:
        db = _open(path)
        try:
            telemetry.ping(db)
        finally:
            db.close()
        body["state_db"] = "ok"
    except (StorageError, OSError) as exc:
        body["state_db"] = "error"
        problems.append(f"state.db does not answer: {scrub(str(exc), str(path))}")
    if problems:
        return 503, {"status": "unhealthy", "reason": "; ".join(problems), **body}
    return 200, {"status": "ok", **body}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # a restarted worker can take its port back at once despite TIME_WAIT
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: MetricsServer) -> None:
        if ":" in address[0]:  # --metrics-host ::1
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.app = app


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "novahunt-metrics"

    def do_GET(self) -> None:
        app = self.server.app
        route = self.path.split("?", 1)[0]
        if route == "/metrics":
            # the text format Prometheus asked for (OpenMetrics or 0.0.4), like the
            # library's own handler
            encode, content_type = choose_encoder(self.headers.get("Accept", ""))
            try:
                payload = encode(app.registry)
            except Exception as exc:  # a scrape must not take the worker down
                reason = scrub(str(exc), str(app.path))
                log.warning("metrics scrape failed: %s", reason)
                self._send(500, "text/plain; charset=utf-8",
                           f"cannot read state.db: {reason}\n".encode())
                return
            self._send(200, content_type, payload)
        elif route == "/health":
            status, body = health(app.worker, app.path)
            self._send(status, "application/json",
                       (json.dumps(body) + "\n").encode())
        elif route == "/":
            self._send(200, "text/plain; charset=utf-8",
                       b"novahunt worker: /metrics (Prometheus), /health\n")
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found\n")

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("metrics: " + format, *args)


class MetricsServer:
    """`/metrics` and `/health` for one worker, on a daemon thread."""

    def __init__(self, worker: Monitored, path: str | Path, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.worker = worker
        self.path = path
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StateCollector(worker, path))
        # memory, CPU, open files of this process (Linux only; nothing elsewhere)
        ProcessCollector(registry=self.registry)
        try:
            self._httpd = _Server((host, port), self)
        except OSError as exc:
            raise BadInput(f"--metrics-port: cannot listen on {host}:{port}: "
                           f"{exc.strerror or exc}") from None
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.2},
            name="novahunt-metrics", daemon=True)

    @property
    def url(self) -> str:
        host, port = str(self._httpd.server_address[0]), self._httpd.server_port
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket; requests in flight finish on their own."""
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()
