"""Verification with real worker processes: single flight across workers, SIGKILL."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from helpers import kill, run_process, spawn
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status

# every test here runs on each backend (stack: SQLite, and PostgreSQL with Redis)
pytestmark = pytest.mark.usefixtures("stack")


def queue_verify(path: Path) -> int:
    done = run_process("verify", "--file", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)[0]["id"])


def verified_counts(sandbox: Sandbox) -> Counter[str]:
    return Counter(r.params["email"] for r in sandbox.requests
                   if r.endpoint == "email-verifier" and r.status == 200)


def test_two_jobs_on_two_workers_over_the_same_emails_pay_once(
        sandbox: Sandbox, state: Database, tmp_path: Path) -> None:
    sandbox.latency = 0.005
    emails = [f"person{i}@twice.example" for i in range(300)]
    for email in emails:  # an `unknown` would rightly be asked again by the second job
        sandbox.set_verdict(email, "valid")
    listing = tmp_path / "leads.txt"
    listing.write_text("\n".join(emails) + "\n")
    first, second = queue_verify(listing), queue_verify(listing)
    workers = [spawn("worker", "--concurrency", "2", "--burst") for _ in range(2)]
    for w in workers:
        assert w.wait(timeout=120) == 0
    counts = verified_counts(sandbox)
    assert sorted(counts) == sorted(emails)
    assert set(counts.values()) == {1}          # 300 calls for 300 emails, not 600
    results = [jobs.get(state, i).result or {} for i in (first, second)]
    assert all(jobs.get(state, i).status is Status.COMPLETED for i in (first, second))
    assert sum(r["verified"] for r in results) == 300
    assert sum(r["cached"] for r in results) == 300


def test_sigkill_mid_verification_loses_nothing_and_pays_at_most_the_email_in_flight(
        sandbox: Sandbox, state: Database, tmp_path: Path) -> None:
    rng = random.Random()
    sandbox.latency = 0.01
    emails = [f"k{i}@kill.example" for i in range(250)]
    listing = tmp_path / "leads.csv"
    listing.write_text("name,email\n" + "".join(f"n{i},{e}\n" for i, e in enumerate(emails)))
    job_id = queue_verify(listing)
    kills = 0
    for _ in range(3):
        worker = spawn("worker", "--concurrency", "2")
        time.sleep(rng.uniform(0.5, 1.2))
        kill(worker)
        kills += 1
    done = run_process("worker", "--burst", timeout=120)
    assert done.returncode == 0, done.stderr
    job = jobs.get(state, job_id)
    assert job.status is Status.COMPLETED
    assert job.result is not None and job.result["verified"] + job.result["cached"] == 250
    counts = verified_counts(sandbox)
    assert sorted(counts) == sorted(emails)
    assert sum(n - 1 for n in counts.values()) <= kills
    assert state.scalar("SELECT COUNT(*) FROM verifications") == 250
