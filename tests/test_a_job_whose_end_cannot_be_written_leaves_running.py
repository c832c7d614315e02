"""A job whose end cannot be written is not stuck forever (issue 17).

When state.db refuses the write that ends a run (here a trigger refuses every move of a
row out of `running`, as a full disk refuses every write), the worker must not keep the
row alive: it stops renewing the lease of a job no thread runs, doctor says no thread
runs it, and once the write goes through again the job leaves `running` by itself:
retried with its attempt counted, or canceled when the user asked meanwhile. Before,
the exception went to huey ("Unhandled exception in task"), the worker's heartbeat kept
the lease fresh, doctor said "none stuck", `jobs cancel` did nothing and only a worker
restart freed the job.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import Cli, drain, emails_in_db, submit_collect
from novahunt import config
from novahunt.queue import dispatch
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

REFUSE_END = (
    "CREATE TRIGGER refuse_end BEFORE UPDATE OF status ON jobs"
    " WHEN OLD.status = 'running' AND NEW.status != 'running'"
    " BEGIN SELECT RAISE(ABORT, 'the test refuses to let a job leave running'); END")


@pytest.fixture()
def worker(state: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[WorkerRuntime]:
    """An inline worker with a short lease (2 s, the least allowed) and pages of 10."""
    monkeypatch.setenv("NOVAHUNT_LEASE", "2")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    yield runtime
    runtime.deactivate()


def _stuck_run(sandbox: Sandbox, state: Database, worker: WorkerRuntime) -> int:
    """A collection of 30 emails (3 pages) whose end state.db refuses to write."""
    sandbox.add_domain("stuck.example", 30)
    [job] = submit_collect(state, "stuck.example")
    state.execute(REFUSE_END)
    drain(worker)  # before: the run's exception escaped to huey here
    assert jobs.get(state, job.id).status is Status.RUNNING
    return job.id


def _doctor(cli: Cli) -> dict[str, dict[str, str]]:
    _, out, _ = cli("doctor", "--json")
    return {c["check"]: c for c in json.loads(out)}


def test_the_worker_lets_the_lease_of_a_job_it_no_longer_runs_run_out(
        sandbox: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    job_id = _stuck_run(sandbox, state, worker)
    time.sleep(2.5)  # past the lease; the worker's heartbeats go on meanwhile
    worker.due_now("heartbeat")
    worker.tick()
    row = jobs.get(state, job_id)
    assert row.status is Status.RUNNING
    assert row.heartbeat_at is not None and time.time() - row.heartbeat_at > 2
    stuck = _doctor(cli)["stuck jobs"]
    assert stuck["status"] == "warn", stuck
    assert f"#{job_id} collect" in stuck["message"] and "no thread runs it" in stuck["message"]


def test_a_job_whose_end_was_refused_is_retried_once_state_db_takes_writes(
        sandbox: Sandbox, state: Database, worker: WorkerRuntime) -> None:
    job_id = _stuck_run(sandbox, state, worker)
    state.execute("DROP TRIGGER refuse_end")
    worker.due_now()
    worker.tick()  # no restart: the worker's own upkeep releases the row
    row = jobs.get(state, job_id, events=True)
    assert row.status is Status.RETRYING
    assert row.errors == 1  # an attempt, counted
    assert "refuses to let a job leave running" in (row.error or "")
    dispatch.send(state, jobs.promote_due(state, now=time.time() + 3600))  # skip the backoff
    drain(worker)
    row = jobs.get(state, job_id)
    assert row.status is Status.COMPLETED, row.error
    assert len(emails_in_db(state, "stuck.example")) == 30
    # the last page was stored with the end that was refused: only it is bought again
    served = Counter(sandbox.pages_served("stuck.example"))
    assert served == Counter({0: 1, 10: 1, 20: 2})


def test_a_cancel_lands_on_a_job_whose_end_was_refused(
        sandbox: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    job_id = _stuck_run(sandbox, state, worker)
    code, _, err = cli("jobs", "cancel", str(job_id))
    assert code == 0, err
    state.execute("DROP TRIGGER refuse_end")
    worker.due_now()
    worker.tick()
    row = jobs.get(state, job_id)
    assert row.status is Status.CANCELED
    assert len(emails_in_db(state, "stuck.example")) == 20  # what it had committed stays
    # and the same domain can be collected again: nothing holds its dedupe key
    code, _, err = cli("collect", "stuck.example", "--json")
    assert code == 0, err


def test_a_config_toml_broken_while_a_job_runs_does_not_hold_its_end(
        sandbox: Sandbox, state: Database, worker: WorkerRuntime, tmp_path: Path) -> None:
    # the default webhook is resolved when the job is planned, so the end of the run
    # reads no settings: a config.toml saved meanwhile with a Latin-1 byte changes nothing
    config_file = tmp_path / "config.toml"
    config_file.write_text('webhook_url = "http://127.0.0.1:9/hook"\n', encoding="utf-8")
    sandbox.add_domain("latin.example", 30)
    [job] = submit_collect(state, "latin.example")
    config_file.write_bytes('webhook_url = "http://127.0.0.1:9/caf\u00e9"\n'.encode("latin-1"))
    drain(worker)
    row = jobs.get(state, job.id)
    assert row.status is Status.COMPLETED, row.error
    assert row.params["webhook"] == "http://127.0.0.1:9/hook"
