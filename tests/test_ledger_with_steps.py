"""A job's API calls go in the ledger with the step they paid for: every request is one
row with the job's id, whether its step committed, failed, rolled back or was throttled.
Against the Hunter sandbox, one job at a time, on each backend."""

from __future__ import annotations

import json
import threading

import pytest

from helpers import drain, emails_in_db, submit_collect, wait_for
from novahunt import config, runners
from novahunt.sandbox import QUOTA_402, UNAUTHORIZED, Fault, Sandbox
from novahunt.state import contacts, jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Status
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (backend: state.db and PostgreSQL)
pytestmark = pytest.mark.usefixtures("backend")


def ledger_of(state: Database, job_id: int) -> list[tuple[int, str | None]]:
    """The job's rows in the ledger, in the order they were written: (status, error id)."""
    return [(r["status"], r["error_id"]) for r in state.query(
        "SELECT status, error_id FROM api_calls WHERE job_id = ? ORDER BY id", (job_id,))]


def test_each_page_request_is_one_row_of_its_own_job(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain("four.example", 35)
    sandbox.add_domain("one.example", 4)
    four, one = submit_collect(state, "four.example", "one.example")
    assert drain(inline_worker) == 2

    assert sandbox.pages_served("four.example") == [0, 10, 20, 30]
    assert sandbox.pages_served("one.example") == [0]
    assert ledger_of(state, four.id) == [(200, None)] * 4
    assert ledger_of(state, one.id) == [(200, None)]
    assert state.scalar("SELECT COUNT(*) FROM api_calls") == 5  # none without its job
    for job, calls in ((four, 4), (one, 1)):
        done = jobs.get(state, job.id)
        assert done.status is Status.COMPLETED
        assert done.result is not None
        assert done.result["api_calls"] == calls
        assert done.result["credits"] == state.scalar(
            "SELECT SUM(credits) FROM api_calls WHERE job_id = ?", (job.id,))
    assert state.scalar("SELECT SUM(credits) FROM api_calls") == sandbox.searches_used


def test_a_request_answered_with_an_error_is_billed_once_after_the_job_failed(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain("revoked.example", 25)
    # the key is revoked between the first page and the second
    sandbox.inject(Fault(passthrough=True), UNAUTHORIZED, domain="revoked.example")
    [job] = submit_collect(state, "revoked.example")
    drain(inline_worker)

    done = jobs.get(state, job.id)
    assert done.status is Status.FAILED
    assert "No user found for the API key supplied" in (done.error or "")
    assert sandbox.count() == 2
    assert ledger_of(state, job.id) == [(200, None), (401, "authentication_failed")]
    assert len(emails_in_db(state, "revoked.example")) == 10  # the first page committed


def test_a_page_the_database_refuses_rolls_its_step_back_and_is_billed_once(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    monkeypatch.setenv("NOVAHUNT_MAX_ATTEMPTS", "1")
    inline_worker.settings = config.load()
    # the database refuses the page's contact: saving the page fails inside its step.
    # (Hunter's values cannot do that any more: a confidence no INTEGER column holds,
    # the old way, now reads as no confidence.)
    with state.atomic():
        if backend == "sqlite":
            state.execute("CREATE TRIGGER refuse_ann BEFORE INSERT ON contacts"
                          " WHEN NEW.email = 'ann@huge.example'"
                          " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
        else:
            state.execute("ALTER TABLE contacts ADD CONSTRAINT refuse_ann"
                          " CHECK (email <> 'ann@huge.example')")
    page = {"data": {"domain": "huge.example", "organization": "Huge", "pattern": None,
                     "accept_all": False, "webmail": False, "disposable": False,
                     "emails": [{"value": "ann@huge.example", "type": "personal",
                                 "confidence": 10**30}]},
            "meta": {"results": 1, "limit": 100, "offset": 0, "params": {}}}
    sandbox.inject(Fault(body=json.dumps(page)), domain="huge.example")
    [job] = submit_collect(state, "huge.example")
    drain(inline_worker)

    done = jobs.get(state, job.id)
    assert done.status is Status.FAILED
    assert sandbox.count() == 1
    assert ledger_of(state, job.id) == [(200, None)]
    assert emails_in_db(state, "huge.example") == []
    assert contacts.domain_facts(state, "huge.example") is None


@pytest.mark.parametrize("emails", [5, 15], ids=["the-last-step", "a-middle-step"])
def test_a_step_whose_job_was_taken_back_rolls_back_and_its_call_is_billed_once(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch,
        emails: int) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.add_domain("taken.example", emails)
    # the first answer takes its time: meanwhile the job is taken back from its worker,
    # so the step that stores the page (and writes its call) finds it lost and rolls back
    sandbox.inject(Fault(delay=1.5, passthrough=True), domain="taken.example")
    [job] = submit_collect(state, "taken.example")
    ended: list[Job | None] = []
    worker = threading.Thread(target=lambda: ended.append(runners.execute(
        state, config.load(), job.id, "slow-worker", threading.Event())))
    worker.start()
    # its rate slot is taken just before the request goes out
    wait_for(lambda: state.scalar("SELECT COUNT(*) FROM rate_slots") == 1)
    [taken] = jobs.release_of_worker(state, "slow-worker", "test: lease expired")
    worker.join(timeout=30)

    assert not worker.is_alive()
    assert taken.status is Status.QUEUED
    [last] = ended
    assert last is not None and last.status is Status.QUEUED and last.checkpoint is None
    assert sandbox.pages_served("taken.example") == [0]
    assert ledger_of(state, job.id) == [(200, None)]
    assert emails_in_db(state, "taken.example") == []


def test_throttled_requests_are_each_in_the_ledger_once(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain("busy.example", 15)
    throttled = Fault(status=429, error_id="too_many_requests",
                      details="Too many requests, try again later.", retry_after="0.2")
    sandbox.inject(Fault(passthrough=True), throttled, throttled, domain="busy.example")
    [job] = submit_collect(state, "busy.example")
    drain(inline_worker)

    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    statuses = [r.status for r in sandbox.requests]
    assert statuses == [200, 429, 429, 200]
    assert ledger_of(state, job.id) == [
        (200, None), (429, "too_many_requests"), (429, "too_many_requests"), (200, None)]
    assert done.result is not None and done.result["api_calls"] == 4
    # the Retry-After was waited out between the two 429s
    assert sandbox.requests[2].at - sandbox.requests[1].at >= 0.19


def test_a_request_that_ran_out_of_quota_is_billed_once_across_runs(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("broke.example", 5)
    sandbox.inject(QUOTA_402, domain="broke.example")
    [job] = submit_collect(state, "broke.example")
    drain(inline_worker)
    paused = jobs.get(state, job.id)
    assert paused.status is Status.RETRYING and paused.waiting_for == "hunter:search"
    assert ledger_of(state, job.id) == [(402, "payment_required")]

    inline_worker.check_quota()  # the sandbox has credits: the job is due again
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert ledger_of(state, job.id) == [(402, "payment_required"), (200, None)]
    assert done.result is not None and done.result["api_calls"] == 2
