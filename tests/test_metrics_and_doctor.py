"""`novahunt worker --metrics-port` (/metrics, /health) and `novahunt doctor`."""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from helpers import KEY, Cli, drain, run_process, spawn
from novahunt import config
from novahunt.config import Settings
from novahunt.ops import doctor
from novahunt.sandbox import TOO_MANY_REQUESTS, Sandbox
from novahunt.state import jobs, migrations
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob, Status
from novahunt.worker import metrics
from novahunt.worker.runtime import WorkerRuntime

Samples = dict[tuple[tuple[str, str], ...], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def parse(text: str) -> dict[str, Samples]:
    """{sample name: {sorted labels: value}} of a Prometheus text page."""
    found: dict[str, Samples] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            found.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return found


def value(page: dict[str, Samples], name: str, **labels: str) -> float:
    return page[name][tuple(sorted(labels.items()))]


def queue(cli: Cli, *domains: str) -> list[int]:
    code, out, err = cli("collect", *domains, "--json")
    assert code == 0, err
    return [j["id"] for j in json.loads(out)]


def test_worker_serves_metrics_and_health_and_stops_serving_with_it(
        sandbox: Sandbox, cli: Cli, state: Database) -> None:
    sandbox.add_domain("m1.example", 25)
    sandbox.add_domain("m2.example", 5)
    sandbox.inject(TOO_MANY_REQUESTS, domain="m1.example")
    ids = queue(cli, "m1.example", "m2.example")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    worker = spawn("worker", "--metrics-port", str(port))
    try:
        wait_for(lambda: all(jobs.get(state, i).status is Status.COMPLETED for i in ids))

        def healthy() -> httpx.Response | None:
            try:
                answer = httpx.get(f"{base}/health", timeout=5)
            except httpx.TransportError:
                return None
            return answer if answer.status_code == 200 else None

        health = wait_for(healthy).json()
        assert health["status"] == "ok" and health["state_db"] == "ok"
        assert health["last_tick_age_seconds"] < 15
        answer = httpx.get(f"{base}/metrics", timeout=5)
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        page = parse(answer.text)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=15) == 0, worker.stderr.read() if worker.stderr else ""

    assert value(page, "novahunt_jobs", type="collect", status="completed") == 2
    assert value(page, "novahunt_jobs", type="collect", status="queued") == 0
    assert value(page, "novahunt_jobs", type="verify", status="failed") == 0
    # the pre-check's Email Count requests (free) are counted too; `account` is left out
    assert {labels: v for labels, v in page["novahunt_provider_requests_total"].items()
            if ("endpoint", "account") not in labels} == {
        (("endpoint", "domain-search"), ("provider", "hunter"), ("status", "200")): 2,
        (("endpoint", "domain-search"), ("provider", "hunter"), ("status", "429")): 1,
        (("endpoint", "email-count"), ("provider", "hunter"), ("status", "200")): 2,
    }
    assert value(page, "novahunt_provider_throttled_total", provider="hunter",
                 endpoint="domain-search", status="429") == 1
    assert value(page, "novahunt_credits_spent_total", kind="search") == 4  # 3 + 1 blocks of 10
    assert value(page, "novahunt_job_duration_seconds_count",
                 type="collect", status="completed") == 2
    assert value(page, "novahunt_job_duration_seconds_bucket",
                 type="collect", status="completed", le="+Inf") == 2
    for status in ("queued", "scheduled", "retrying"):
        assert value(page, "novahunt_queue_depth", status=status) == 0
    assert value(page, "novahunt_workers_live") == 1
    beat = value(page, "novahunt_worker_last_heartbeat_timestamp_seconds",
                 worker=health["worker"])
    assert time.time() - 60 < beat <= time.time()
    for kind in ("search", "verification"):
        assert value(page, "novahunt_provider_paused", provider="hunter", kind=kind) == 0
    assert KEY not in answer.text
    # the server went away with the worker
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/health", timeout=2)


def test_a_taken_metrics_port_stops_the_worker_before_it_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_process("worker", "--burst", "--metrics-port", str(port), timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr


def test_rate_limit_postponements_and_cache_hits_are_counted(
        sandbox: Sandbox, cli: Cli, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # one request a minute and no patience: the second collection gives its thread back
    monkeypatch.setenv("NOVAHUNT_RATE_DOMAIN_SEARCH", "1/min")
    monkeypatch.setenv("NOVAHUNT_PATIENCE", "0")
    sandbox.add_domain("p1.example", 5)
    sandbox.add_domain("p2.example", 5)
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    try:
        queue(cli, "p1.example", "p2.example")
        drain(runtime)
        queue(cli, "p1.example")  # fresh: served from state.db
        runtime.tick()
        page = parse(_scrape(runtime, state.location))
    finally:
        runtime.deactivate()
    assert value(page, "novahunt_jobs_postponed_by_rate_limit_total") == 1
    assert value(page, "novahunt_queue_depth", status="retrying") == 1
    assert value(page, "novahunt_cache_hits_total", kind="collect") == 1
    assert value(page, "novahunt_cache_saved_credits_total", kind="collect") == 1
    # served from the cache at creation, it never ran: not in the duration histogram
    assert value(page, "novahunt_job_duration_seconds_count",
                 type="collect", status="completed") == 1
    assert value(page, "novahunt_worker_last_upkeep_timestamp_seconds",
                 worker=runtime.id) == runtime.last_tick


def _scrape(runtime: WorkerRuntime, path: Path) -> str:
    server = metrics.MetricsServer(runtime, path, port=0)
    server.start()
    try:
        return httpx.get(f"{server.url}/metrics", timeout=5).text
    finally:
        server.stop()


@dataclass
class FakeWorker:
    last_tick: float | None
    id: str = "fake-worker"
    settings: Settings = field(default_factory=Settings)


def test_health_is_503_when_the_upkeep_is_stale_or_the_database_is_gone(
        state: Database, tmp_path: Path) -> None:
    now = time.time()
    status, body = metrics.health(FakeWorker(now - 1), state.location, now)
    assert status == 200 and body["status"] == "ok"
    status, body = metrics.health(FakeWorker(now - 60), state.location, now)
    assert status == 503
    assert "last ticked 60s ago" in body["reason"] and body["state_db"] == "ok"
    status, body = metrics.health(FakeWorker(None), state.location, now)
    assert status == 503 and "has not ticked yet" in body["reason"]
    # a directory where state.db should be: SELECT 1 cannot run
    status, body = metrics.health(FakeWorker(now), tmp_path, now)
    assert status == 503 and body["state_db"] == "error"
    assert "state.db does not answer" in body["reason"]


def test_health_over_http_follows_the_upkeep(state: Database) -> None:
    fake = FakeWorker(time.time())
    server = metrics.MetricsServer(fake, state.location, port=0)
    server.start()
    try:
        assert httpx.get(f"{server.url}/health", timeout=5).status_code == 200
        fake.last_tick = time.time() - 30
        answer = httpx.get(f"{server.url}/health", timeout=5)
        assert answer.status_code == 503 and answer.json()["status"] == "unhealthy"
        assert httpx.get(f"{server.url}/nope", timeout=5).status_code == 404
    finally:
        server.stop()


# -- doctor --------------------------------------------------------------------------------

def run_doctor(cli: Cli) -> tuple[int, dict[str, dict[str, str]], str]:
    code, out, err = cli("doctor", "--json")
    checks = json.loads(out)
    assert all(set(c) == {"check", "status", "message"} for c in checks)
    return code, {c["check"]: c for c in checks}, out + err


def test_doctor_with_an_accepted_key(sandbox: Sandbox, cli: Cli, home: Path) -> None:
    code, checks, text = run_doctor(cli)
    assert code == 0, text
    assert checks["api key"]["status"] == "ok"
    assert "sk_…cdef" in checks["api key"]["message"]
    assert "accepted" in checks["api key"]["message"]
    assert checks["home"]["message"].startswith(str(home))
    assert str(home / "state.db") in checks["state.db"]["message"]
    assert str(home / "queue.db") in checks["queue.db"]["message"]
    assert checks["integrity"]["status"] == "ok"
    n = len(migrations.MIGRATIONS)
    assert checks["schema"]["status"] == "ok" and f"{n} of {n}" in checks["schema"]["message"]
    assert checks["stuck jobs"]["status"] == "ok"
    assert checks["disk space"]["status"] in ("ok", "warn")
    assert KEY not in text
    code, out, _ = cli("doctor")
    assert code == 0 and "sk_…cdef" in out and KEY not in out


def test_doctor_with_a_refused_key_fails_with_exit_3(
        sandbox: Sandbox, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "sk_wrong_00000000000000000000000000beef"
    monkeypatch.setenv("HUNTER_API_KEY", wrong)
    code, checks, text = run_doctor(cli)
    assert code == 3
    check = checks["api key"]
    assert check["status"] == "fail" and "401" in check["message"]
    assert "sk_…beef" in check["message"]
    assert wrong not in text
    assert [c for c in checks.values() if c["status"] == "fail"] == [check]


def test_doctor_without_a_key_warns(cli: Cli) -> None:
    code, checks, _ = run_doctor(cli)
    assert code == 0
    assert checks["api key"]["status"] == "warn"
    assert "HUNTER_API_KEY" in checks["api key"]["message"]


def test_doctor_with_a_broken_config_file_exits_3(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text("hunter_api_key = \n")
    code, checks, _ = run_doctor(cli)
    assert code == 3
    assert checks["config"]["status"] == "fail" and "config.toml" in checks["config"]["message"]


def test_doctor_reports_a_stuck_job(cli: Cli, state: Database) -> None:
    [(job, _)] = jobs.create(state, [NewJob("collect", {"domain": "stuck.example"})])
    assert jobs.claim(state, job.id, "ghost-worker", lease=0.01) is not None
    time.sleep(0.05)
    code, checks, _ = run_doctor(cli)
    assert code == 0
    stuck = checks["stuck jobs"]
    assert stuck["status"] == "warn"
    assert f"#{job.id} collect" in stuck["message"] and "ghost-worker" in stuck["message"]
    assert "start `novahunt worker`" in stuck["message"]


def test_doctor_disk_thresholds_and_key_masking() -> None:
    assert doctor.disk_level(5 * 1024 ** 3) is doctor.Level.OK
    assert doctor.disk_level(500 * 1024 ** 2) is doctor.Level.WARN
    assert doctor.disk_level(50 * 1024 ** 2) is doctor.Level.FAIL
    assert doctor.mask_key(KEY) == "sk_…cdef"
    assert doctor.mask_key("0123456789") == "…6789"
    assert doctor.mask_key("short") == "…"
    checks = [doctor.Check("a", doctor.Level.FAIL, "x", config=True),
              doctor.Check("b", doctor.Level.WARN, "y")]
    assert doctor.exit_code(checks) == 3
    assert doctor.exit_code([*checks, doctor.Check("c", doctor.Level.FAIL, "z")]) == 1
    assert doctor.exit_code(checks[1:]) == 0
