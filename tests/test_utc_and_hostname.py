"""Processes that disagree about the clock or the host: every novahunt process runs in
UTC whatever its TZ, while `--at` and the logs keep the user's zone; and a worker judges
another's pid only when both go by the same host name (NOVAHUNT_HOSTNAME, else the
machine's).
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpers import novahunt_env, run_process, spawn, wait_for
from novahunt import config
from novahunt.inputs import timeparse
from novahunt.sandbox import Sandbox
from novahunt.state import jobs, workers
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker import liveness as processes
from novahunt.worker.runtime import WorkerRuntime

BERLIN = ZoneInfo("Europe/Berlin")




def queued(done: subprocess.CompletedProcess[str]) -> int:
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)
    return int(item["id"])


@pytest.fixture()
def stop_after() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes to stop when the test ends, however it ends."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- UTC inside, the user's zone outside ---------------------------------------------------


def _switched(env: dict[str, str]) -> list[str]:
    code = ("import os, time; from novahunt.inputs import timeparse; timeparse.run_in_utc(); "
            "print(time.timezone, time.altzone, os.environ['TZ'], "
            "os.environ['NOVAHUNT_USER_TZ'])")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=30, check=True)
    return done.stdout.split()


def test_a_process_switches_to_utc_and_remembers_the_users_zone() -> None:
    assert _switched(novahunt_env(TZ="Europe/Berlin")) == ["0", "0", "UTC", "Europe/Berlin"]
    # a process started by a switched one keeps the first user's zone
    assert _switched(novahunt_env(TZ="UTC", NOVAHUNT_USER_TZ="Asia/Tokyo"))[3] == "Asia/Tokyo"
    without_tz = novahunt_env()
    without_tz.pop("TZ", None)
    target = os.path.realpath("/etc/localtime")
    expected = target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else None
    if expected is not None:
        assert _switched(without_tz)[3] == expected


@pytest.fixture()
def c_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize("spec", ["EST5EDT,M3.2.0,M11.1.0", "CET-1CEST,M3.5.0,M10.5.0/3",
                                  "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_the_users_zone_reads_times_as_the_c_library_did(
        spec: str, monkeypatch: pytest.MonkeyPatch, c_zone: None) -> None:
    texts = [f"2026-{m:02d}-{d:02d}T{h:02d}:{mi:02d}" for m in (1, 3, 7, 10, 11)
             for d in (1, 8, 29) for h in (0, 1, 4, 9, 23) for mi in (0, 30)]
    texts += ["2026-12-01", "2026-07-01 09:00:00"]
    reference = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    monkeypatch.delenv(timeparse.USER_TZ_VARIABLE, raising=False)
    monkeypatch.setenv("TZ", spec)
    time.tzset()
    by_c_library = [timeparse.parse_when(t) for t in texts]
    of_day = [timeparse.parse_when(t, now=reference) for t in ("09:00", "23:45")]
    iso = timeparse.to_iso(datetime(2026, 12, 1, 9, 0))
    monkeypatch.setenv(timeparse.USER_TZ_VARIABLE, spec)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    assert [timeparse.parse_when(t) for t in texts] == by_c_library
    assert [timeparse.parse_when(t, now=reference) for t in ("09:00", "23:45")] == of_day
    assert timeparse.to_iso(datetime(2026, 12, 1, 9, 0)) == iso


def _next_0900(zone: ZoneInfo) -> float:
    now = datetime.now(zone)
    candidate = now.replace(hour=9, minute=0, second=0, microsecond=0)
    if candidate < now:
        candidate = (candidate + timedelta(days=1)).replace(hour=9, minute=0)
    return candidate.timestamp()


@pytest.mark.parametrize(("tz", "user_tz", "zone"), [
    ("Europe/Berlin", None, "Europe/Berlin"),
    ("CET-1CEST,M3.5.0,M10.5.0/3", None, "Europe/Berlin"),   # a POSIX rule, no tz database
    ("UTC", "Asia/Tokyo", "Asia/Tokyo"),                      # NOVAHUNT_USER_TZ wins
])
def test_at_0900_means_0900_where_the_user_types_it(
        sandbox: Sandbox, state: Database, tz: str, user_tz: str | None, zone: str) -> None:
    extra = {"TZ": tz, **({"NOVAHUNT_USER_TZ": user_tz} if user_tz else {})}
    env = novahunt_env(**extra)
    local = ZoneInfo(zone)
    year = datetime.now(UTC).year + 1
    for at, expected in (
            (f"{year}-12-01T09:00", datetime(year, 12, 1, 9, tzinfo=local).timestamp()),
            (f"{year}-07-01T09:00", datetime(year, 7, 1, 9, tzinfo=local).timestamp())):
        job_id = queued(run_process("collect", f"at{len(at)}.example", "--at", at, "--json",
                                    "--priority", "2", env=env))
        assert jobs.get(state, job_id).run_at == expected, at
        jobs.request_cancel(state, [job_id])   # the next domain is new; keep the list short
    before = _next_0900(local)
    job_id = queued(run_process("collect", "nine.example", "--at", "09:00", "--json", env=env))
    after = _next_0900(local)
    assert jobs.get(state, job_id).run_at in (before, after)   # 09:00 there, not 09:00 UTC


def test_a_new_york_worker_runs_a_berlin_users_jobs_on_time(
        sandbox: Sandbox, state: Database,
        stop_after: list[subprocess.Popen[str]]) -> None:
    sandbox.add_domain("soon.example", 3)
    sandbox.add_domain("delay.example", 3)
    worker = spawn("worker", "--concurrency", "2",
                   env=novahunt_env(TZ="America/New_York"))
    stop_after.append(worker)
    wait_for(lambda: len(processes.live_workers(state, config.load())) == 1)
    user = novahunt_env(TZ="Europe/Berlin")
    target = math.ceil(time.time()) + 2   # whole seconds: --at has no fractions
    at = datetime.fromtimestamp(target, BERLIN).strftime("%Y-%m-%dT%H:%M:%S")  # naive, Berlin
    soon = queued(run_process("collect", "soon.example", "--at", at, "--json", env=user))
    later = queued(run_process("collect", "delay.example", "--delay", "2s", "--json", env=user))
    wait_for(lambda: all(jobs.get(state, i).status is Status.COMPLETED for i in (soon, later)))
    job = jobs.get(state, soon)
    assert job.run_at == target and job.started_at is not None
    assert 0 <= job.started_at - target < 1.5, job.started_at - target
    job = jobs.get(state, later)
    assert job.started_at is not None
    assert 2.0 <= job.started_at - job.created_at < 3.5, job.started_at - job.created_at
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0


def test_log_lines_keep_the_users_clock(sandbox: Sandbox, home: object) -> None:
    done = run_process("worker", "--burst", env=novahunt_env(TZ="Europe/Berlin"))
    assert done.returncode == 0, done.stderr
    with open(f"{home}/logs/novahunt.log", encoding="utf-8") as fh:
        stamp = fh.readline()[:19]
    written = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BERLIN)
    assert abs((datetime.now(UTC) - written).total_seconds()) < 120


# -- host names ----------------------------------------------------------------------------


def test_hostname_is_NOVAHUNT_HOSTNAME_else_the_machines(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert processes.hostname() == socket.gethostname()
    monkeypatch.setenv("NOVAHUNT_HOSTNAME", "  ")
    assert processes.hostname() == socket.gethostname()
    monkeypatch.setenv("NOVAHUNT_HOSTNAME", "container-7")
    assert processes.hostname() == "container-7"


def test_a_worker_goes_by_NOVAHUNT_HOSTNAME(state: Database,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_HOSTNAME", "queue-host-1")
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    try:
        assert runtime.id.startswith("queue-host-1-")
        [row] = [w for w in workers.live_workers(state, 0.0) if w.id == runtime.id]
        assert row.hostname == "queue-host-1"
    finally:
        runtime.deactivate()


def test_a_dead_pid_counts_only_on_its_own_host(state: Database,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    now = time.time()
    workers.register_worker(state, workers.WorkerRow("host-b-1-abc", "host-b", gone.pid, None, 1,
                                                 now, now))
    monkeypatch.setenv("NOVAHUNT_HOSTNAME", "host-a")   # can't see host-b's processes
    assert [w.id for w in processes.live_workers(state, config.load())] == ["host-b-1-abc"]
    monkeypatch.setenv("NOVAHUNT_HOSTNAME", "host-b")   # can, and the pid is gone
    assert processes.live_workers(state, config.load()) == []


@pytest.mark.parametrize("second_host", ["host-a", "host-b"])
def test_a_killed_workers_job_comes_back_at_once_on_its_host_else_after_its_lease(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch,
        stop_after: list[subprocess.Popen[str]], second_host: str) -> None:
    monkeypatch.setenv("NOVAHUNT_LEASE", "8s")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.latency = 0.05
    sandbox.add_domain("orphan.example", 300)
    job_id = queued(run_process("collect", "orphan.example", "--json"))
    first = spawn("worker", env=novahunt_env(NOVAHUNT_HOSTNAME="host-a"))
    stop_after.append(first)
    wait_for(lambda: jobs.get(state, job_id).progress_current >= 20)
    first.kill()
    first.wait()
    killed = time.time()
    assert jobs.get(state, job_id).status is Status.RUNNING
    second = spawn("worker", env=novahunt_env(NOVAHUNT_HOSTNAME=second_host))
    stop_after.append(second)
    wait_for(lambda: jobs.get(state, job_id).status is Status.COMPLETED)
    [back] = [e for e in jobs.get(state, job_id, events=True).events
              if "taken back" in e.message]
    if second_host == "host-a":   # the same machine: the pid is gone, take it at once
        assert "is gone" in back.message
        assert back.at - killed < 5.0
    else:   # another machine cannot see that pid: wait for the lease (8 s) to run out
        assert back.message == "lease expired: taken back"
        assert back.at - killed > 5.0
    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=30) == 0
