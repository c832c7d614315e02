"""huey is delivery only: priorities, schedules, lost and duplicate messages."""

from __future__ import annotations

import time

import pytest

from helpers import drain
from novahunt import config, tasks
from novahunt.queue import dispatch
from novahunt.runners import collect
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (stack: SQLite, and PostgreSQL with Redis)
pytestmark = pytest.mark.usefixtures("stack")


def submit(state: Database, domain: str, **kw: object) -> int:
    settings = config.load()
    [spec] = collect.plan(state, settings, [domain], max_results=100, **kw)  # type: ignore[arg-type]
    [(job, _)] = dispatch.submit(state, [spec])
    return job.id


def order_served(sandbox: Sandbox) -> list[str]:
    return [r.params["domain"] for r in sandbox.requests]


def test_priority_1_runs_before_priority_5(sandbox: Sandbox, state: Database,
                                           inline_worker: WorkerRuntime) -> None:
    for name, priority in (("low.example", 5), ("mid.example", 3), ("high.example", 1)):
        sandbox.add_domain(name, 3)
        submit(state, name, priority=priority)
    drain(inline_worker)
    assert order_served(sandbox) == ["high.example", "mid.example", "low.example"]


def test_a_scheduled_job_waits_for_its_time(sandbox: Sandbox, state: Database,
                                            inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("later.example", 3)
    job_id = submit(state, "later.example", run_at=time.time() + 1.0)
    assert jobs.get(state, job_id).status is Status.SCHEDULED
    assert drain(inline_worker) == 0
    assert sandbox.count() == 0
    time.sleep(1.1)
    inline_worker.due_now()  # let the upkeep run now rather than on its timer
    assert drain(inline_worker) == 1
    assert jobs.get(state, job_id).status is Status.COMPLETED


def test_a_lost_message_is_sent_again_by_the_sweeper(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("lost.example", 3)
    job_id = submit(state, "lost.example")
    inline_worker.huey.flush()  # the message vanished (a crash between dequeue and claim)
    assert drain(inline_worker) == 0
    assert jobs.get(state, job_id).status is Status.QUEUED
    inline_worker.sweep(startup=True)
    assert drain(inline_worker) == 1
    assert jobs.get(state, job_id).status is Status.COMPLETED


def test_duplicate_messages_run_a_job_once(sandbox: Sandbox, state: Database,
                                           inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("twice.example", 3)
    job_id = submit(state, "twice.example")
    tasks.send(inline_worker.huey, job_id, 3)
    tasks.send(inline_worker.huey, job_id, 3)
    assert drain(inline_worker) == 3
    job = jobs.get(state, job_id)
    assert job.status is Status.COMPLETED and job.attempts == 1
    assert sandbox.count() == 1
