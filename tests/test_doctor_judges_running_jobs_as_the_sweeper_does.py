"""`doctor` judges running jobs as the sweeper does, and writes nothing (issue 17).

Before: after a worker was SIGKILLed, doctor said "ok stuck jobs: every running job has
a live lease" until the lease ran out (20 s by default), while the job sat in `running`
with a dead pid; and its key check wrote a ledger row and the account answer, which on
a full disk made doctor crash.
"""

from __future__ import annotations

import json

import pytest

from helpers import Cli, kill, run_process, spawn, wait_for
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database


def test_doctor_names_a_sigkilled_workers_job_at_once(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # a lease far longer than the test: only the dead pid can tell
    monkeypatch.setenv("NOVAHUNT_LEASE", "600")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.latency = 0.05
    sandbox.add_domain("killed.example", 400)
    queued = run_process("collect", "killed.example", "--json")
    assert queued.returncode == 0, queued.stderr
    [job_id] = [item["id"] for item in json.loads(queued.stdout)]
    worker = spawn("worker")
    wait_for(lambda: jobs.get(state, job_id).progress_current >= 20)
    kill(worker)
    done = run_process("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    stuck = checks["stuck jobs"]
    assert stuck["status"] == "warn", stuck
    assert f"#{job_id} collect" in stuck["message"]
    assert f"(pid {worker.pid}) is gone" in stuck["message"]
    assert "start `novahunt worker`" in stuck["message"]  # no live worker is left


def test_doctors_key_check_writes_nothing(sandbox: Sandbox, state: Database, cli: Cli) -> None:
    before = (state.scalar("SELECT COUNT(*) FROM api_calls"),
              state.scalar("SELECT COUNT(*) FROM provider_accounts"))
    code, out, err = cli("doctor", "--json")
    assert code == 0, err
    checks = {c["check"]: c for c in json.loads(out)}
    assert checks["api key"]["status"] == "ok"
    assert "accepted by Hunter" in checks["api key"]["message"]
    after = (state.scalar("SELECT COUNT(*) FROM api_calls"),
             state.scalar("SELECT COUNT(*) FROM provider_accounts"))
    assert after == before
