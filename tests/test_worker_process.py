"""Real `novahunt worker` processes: burst, graceful stop, SIGKILL and restart."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from helpers import kill, novahunt_env, run_process, spawn, wait_for
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status

# every test here runs on each backend (stack: SQLite, and PostgreSQL with Redis)
pytestmark = pytest.mark.usefixtures("stack")


def queue_domains(*domains: str) -> list[int]:
    done = run_process("collect", *domains, "--json")
    assert done.returncode == 0, done.stderr
    return [item["id"] for item in json.loads(done.stdout)]




def test_burst_worker_runs_everything_and_exits_0(sandbox: Sandbox, state: Database) -> None:
    for i in range(5):
        sandbox.add_domain(f"b{i}.example", 30 + i)
    ids = queue_domains(*(f"b{i}.example" for i in range(5)))
    done = run_process("worker", "--burst", "--concurrency", "3", timeout=60)
    assert done.returncode == 0, done.stderr
    assert [jobs.get(state, i).status for i in ids] == [Status.COMPLETED] * 5
    for i in range(5):
        count = state.scalar("SELECT COUNT(*) FROM contacts WHERE domain = ?",
                             (f"b{i}.example",))
        assert count == 30 + i


def test_sigterm_hands_running_jobs_back_and_exits_0(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.latency = 0.2
    sandbox.add_domain("slow.example", 400)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    [job_id] = queue_domains("slow.example")
    worker = spawn("worker", "--concurrency", "2")
    wait_for(lambda: jobs.get(state, job_id).progress_current >= 20)
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=15) == 0
    assert time.monotonic() - started < 5
    job = jobs.get(state, job_id, events=True)
    assert job.status is Status.QUEUED
    assert job.checkpoint is not None
    stored = state.scalar("SELECT COUNT(*) FROM contacts WHERE domain = 'slow.example'")
    # the step in flight finished and committed: checkpoint and rows agree
    assert job.checkpoint["offset"] == stored
    assert any("handed back" in e.message for e in job.events)
    # a later worker resumes from there and fetches no page twice
    sandbox.latency = 0.0
    done = run_process("worker", "--burst", timeout=60)
    assert done.returncode == 0, done.stderr
    assert jobs.get(state, job_id).status is Status.COMPLETED
    served = sandbox.pages_served("slow.example")
    assert sorted(served) == list(range(0, 400, 10))


def test_a_restarted_worker_takes_a_killed_workers_jobs_back_at_once(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # a lease far longer than the test: only noticing the dead pid can recover the job
    monkeypatch.setenv("NOVAHUNT_LEASE", "600")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.latency = 0.05
    sandbox.add_domain("dead.example", 200)
    [job_id] = queue_domains("dead.example")
    worker = spawn("worker")
    wait_for(lambda: jobs.get(state, job_id).progress_current >= 30)
    kill(worker)
    assert jobs.get(state, job_id).status is Status.RUNNING
    started = time.monotonic()
    done = run_process("worker", "--burst", timeout=60)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    job = jobs.get(state, job_id, events=True)
    assert job.status is Status.COMPLETED
    assert any("is gone" in e.message for e in job.events)


def test_sigkill_at_random_points_loses_nothing_and_pays_at_most_the_page_in_flight(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    seed = int(os.environ.get("NOVAHUNT_TEST_SEED") or random.randrange(1 << 30))
    print(f"\nSIGKILL test seed {seed} (NOVAHUNT_TEST_SEED={seed} repeats this run)")
    rng = random.Random(seed)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.latency = 0.02
    sizes = {f"k{i}.example": rng.randint(150, 400) for i in range(6)}
    for domain, size in sizes.items():
        sandbox.add_domain(domain, size)
    ids = queue_domains(*sizes)
    kills = 0
    for _ in range(5):
        worker = spawn("worker", "--concurrency", "3")
        time.sleep(rng.uniform(0.4, 1.5))
        kill(worker)
        kills += 1
    done = run_process("worker", "--burst", "--concurrency", "3", timeout=120)
    assert done.returncode == 0, done.stderr

    assert [jobs.get(state, i).status for i in ids] == [Status.COMPLETED] * len(ids)
    refetched = 0
    for domain, size in sizes.items():
        rows = [r[0] for r in state.query(
            "SELECT email FROM contacts WHERE domain = ?", (domain,))]
        assert len(rows) == len(set(rows)) == size          # no email lost or doubled
        assert set(rows) == set(sandbox.emails_of(domain))
        served = Counter(sandbox.pages_served(domain))
        assert set(served) == set(range(0, size, 10))       # every page fetched
        extra = sum(n - 1 for n in served.values())
        assert extra <= kills                               # one page in flight per kill
        refetched += extra
    minimum = sum((size + 9) // 10 for size in sizes.values())
    print(f"\nSIGKILL test: {kills} kills, {len(ids)} jobs, {sum(sizes.values())} emails, "
          f"{minimum + refetched} pages fetched against a minimum of {minimum}")


def test_follow_runs_an_embedded_worker_and_prints_plain_lines_on_a_pipe(
        sandbox: Sandbox, state: Database) -> None:
    sandbox.add_domain("follow.example", 42)
    done = run_process("collect", "follow.example", "--follow", timeout=60)
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout
    assert "completed" in done.stdout and "42 emails" in done.stdout
    assert "no worker is running" in done.stderr
    assert state.scalar("SELECT COUNT(*) FROM contacts") == 42


def test_follow_exits_1_when_a_job_fails(sandbox: Sandbox) -> None:
    from novahunt.sandbox import UNAUTHORIZED

    sandbox.add_domain("fail.example", 5)
    sandbox.inject(UNAUTHORIZED, domain="fail.example")
    done = run_process("collect", "fail.example", "--follow", timeout=60)
    assert done.returncode == 1
    assert "failed" in done.stdout + done.stderr


def test_ctrl_c_detaches_follow_and_leaves_the_job_for_a_worker(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.latency = 0.1
    sandbox.add_domain("detach.example", 300)
    # as from a terminal: SIGINT handled even when this suite runs in the background,
    # where a shell starts its children with SIGINT ignored
    follower = spawn("collect", "detach.example", "--follow",
                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: state.scalar(
        "SELECT progress_current FROM jobs WHERE id = 1") not in (None, 0), 30)
    follower.send_signal(signal.SIGINT)
    assert follower.wait(timeout=15) == 130
    job = jobs.get(state, 1)
    assert job.status is Status.QUEUED          # handed back, not lost, not canceled
    sandbox.latency = 0.0
    done = run_process("worker", "--burst", timeout=60)
    assert done.returncode == 0
    assert jobs.get(state, 1).status is Status.COMPLETED
    assert Counter(sandbox.pages_served("detach.example")).most_common(1)[0][1] == 1


def test_python_dash_m_works() -> None:
    done = subprocess.run([sys.executable, "-m", "novahunt", "--version"],
                          env=novahunt_env(), capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("novahunt ")
