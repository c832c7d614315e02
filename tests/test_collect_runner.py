"""The collect runner against a real Hunter-speaking server, one job at a time."""

from __future__ import annotations

import json

import pytest

from helpers import drain, emails_in_db, submit_collect
from novahunt import config
from novahunt.sandbox import (
    QUOTA_402,
    QUOTA_429_BILLING,
    RATE_LIMIT_403,
    RESTRICTED_ACCOUNT,
    SERVER_ERROR_HTML,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    Fault,
    Sandbox,
)
from novahunt.state import contacts, jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (backend: state.db and PostgreSQL)
pytestmark = pytest.mark.usefixtures("backend")


def test_collects_every_page_once_with_results_and_ledger(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("big.example", 250, organization="Big Co", pattern="{first}.{last}")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "100")
    inline_worker.settings = config.load()
    [job] = submit_collect(state, "big.example")
    assert drain(inline_worker) == 1

    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED
    assert sandbox.pages_served("big.example") == [0, 100, 200]
    assert emails_in_db(state, "big.example") == sorted(sandbox.emails_of("big.example"))
    assert done.result == {
        "domain": "big.example", "organization": "Big Co", "pattern": "{first}.{last}",
        "emails_collected": 250, "total_available": 250, "pages_fetched": 3,
        "api_calls": 3, "credits": 25, "complete": True,
    }
    assert (done.progress_current, done.progress_total) == (250, 250)
    ledger = state.query("SELECT endpoint, status, job_id FROM api_calls ORDER BY id")
    assert [tuple(r) for r in ledger] == [("domain-search", 200, job.id)] * 3
    facts = contacts.domain_facts(state, "big.example")
    assert facts is not None and facts["organization"] == "Big Co"
    assert facts["total_available"] == 250
    # every request carried the key in the header only
    assert all(r.key_in_header and not r.key_in_url for r in sandbox.requests)


def test_max_results_and_filters_reach_hunter(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("f.example", 300)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "50")
    inline_worker.settings = config.load()
    [job] = submit_collect(state, "f.example", max_results=120, type="personal",
                   department="sales,it")
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    sent = [r.params for r in sandbox.requests]
    assert [(p["offset"], p["limit"]) for p in sent] == [("0", "50"), ("50", "50"),
                                                         ("100", "20")] or \
        len(sent) < 3  # fewer matching results than asked for
    assert all(p["type"] == "personal" and p["department"] == "sales,it" for p in sent)
    assert done.result is not None and done.result["emails_collected"] <= 120


def test_email_case_and_whitespace_collapse_to_one_row(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    page = {"data": {"domain": "dup.example", "organization": "Dup", "pattern": None,
                     "accept_all": False, "webmail": False, "disposable": False,
                     "emails": [{"value": " Alice@Dup.example ", "type": "personal"},
                                {"value": "alice@dup.example", "type": "personal"},
                                {"value": "bob@dup.example", "type": "generic"}]},
            "meta": {"results": 3, "limit": 100, "offset": 0, "params": {}}}
    sandbox.inject(Fault(body=json.dumps(page)), domain="dup.example")
    [job] = submit_collect(state, "dup.example")
    drain(inline_worker)
    assert jobs.get(state, job.id).status is Status.COMPLETED
    assert emails_in_db(state, "dup.example") == ["alice@dup.example", "bob@dup.example"]


@pytest.mark.parametrize("fault", [TOO_MANY_REQUESTS, RATE_LIMIT_403])
def test_throttling_waits_and_goes_on_from_the_same_offset(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch, fault: Fault) -> None:
    sandbox.add_domain("t.example", 150)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "100")
    inline_worker.settings = config.load()
    [job] = submit_collect(state, "t.example")
    # the first page succeeds, the second is throttled twice
    sandbox.inject(Fault(passthrough=True), fault, fault, domain="t.example")
    drain(inline_worker)
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED
    offsets = [r.params["offset"] for r in sandbox.requests]
    assert offsets == ["0", "100", "100", "100"]
    assert sandbox.pages_served("t.example") == [0, 100]
    assert any(e.kind == "rate_limited" for e in done.events)
    assert len(emails_in_db(state, "t.example")) == 150


def test_retry_after_is_honoured(sandbox: Sandbox, state: Database,
                                 inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("ra.example", 5)
    sandbox.inject(Fault(status=429, error_id="too_many_requests",
                         details="Too many requests, try again later.", retry_after="1"),
                   domain="ra.example")
    [job] = submit_collect(state, "ra.example")
    drain(inline_worker)
    first, second = sandbox.requests
    assert second.at - first.at >= 0.95
    assert jobs.get(state, job.id).status is Status.COMPLETED


@pytest.mark.parametrize("fault", [QUOTA_402, QUOTA_429_BILLING, RESTRICTED_ACCOUNT])
def test_quota_exhausted_pauses_every_job_until_credits_are_back(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        fault: Fault) -> None:
    sandbox.add_domain("q1.example", 5)
    sandbox.add_domain("q2.example", 5)
    sandbox.inject(fault, domain="q1.example")
    j1, j2 = submit_collect(state, "q1.example", "q2.example")
    drain(inline_worker)
    first, second = jobs.get(state, j1.id), jobs.get(state, j2.id)
    for job in (first, second):
        assert job.status is Status.RETRYING and job.waiting_for == "hunter:search"
        assert job.errors == 0  # waiting for credits is not the job's failure
    assert "quota" in (first.error or "").lower() or "subscription" in (first.error or "")
    # the second job never called Hunter: search credits are paused
    assert sandbox.count("domain-search") == 1
    # the worker's account check sees credits (free call) and wakes both jobs
    inline_worker.check_quota()
    drain(inline_worker)
    assert [jobs.get(state, j).status for j in (j1.id, j2.id)] == [Status.COMPLETED] * 2
    assert sandbox.count("domain-search") == 3
    assert sandbox.count("account") == 1


def test_quota_running_out_mid_collection_loses_nothing_and_wastes_nothing(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain("mid.example", 60)
    sandbox.searches_available = 3  # three pages of ten emails
    [job] = submit_collect(state, "mid.example")
    drain(inline_worker)
    waiting = jobs.get(state, job.id)
    assert waiting.status is Status.RETRYING and waiting.waiting_for == "hunter:search"
    assert len(emails_in_db(state, "mid.example")) == 30
    inline_worker.check_quota()  # still no credits: stays paused, no search sent
    assert jobs.get(state, job.id).waiting_for == "hunter:search"
    assert sandbox.count("domain-search") == 4
    sandbox.searches_available = 100  # the user bought credits
    inline_worker.check_quota()
    drain(inline_worker)
    assert jobs.get(state, job.id).status is Status.COMPLETED
    assert sandbox.pages_served("mid.example") == list(range(0, 60, 10))
    assert emails_in_db(state, "mid.example") == sorted(sandbox.emails_of("mid.example"))


def test_free_plan_pagination_error_completes_with_what_it_got(
        state: Database, inline_worker: WorkerRuntime, monkeypatch: pytest.MonkeyPatch,
        home: object) -> None:
    with Sandbox("k" * 20, free_plan=True) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", "k" * 20)
        monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
        inline_worker.settings = config.load()
        box.add_domain("free.example", 45)
        [job] = submit_collect(state, "free.example")
        drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert done.result is not None
    assert done.result["emails_collected"] == 10
    assert done.result["complete"] is False
    # a page size within the plan: the second page is refused (free), and the job
    # ends at the plan's limit saying what a paid plan would add
    assert done.result["plan_limit"] == 10
    assert "35 more on a paid plan" in done.result["stopped_reason"]
    assert box.pages_served("free.example") == [0]
    assert box.searches_used == 1


def test_server_errors_are_retried_then_the_job_backs_off_then_fails(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_STEP_RETRIES", "1")
    monkeypatch.setenv("NOVAHUNT_MAX_ATTEMPTS", "2")
    inline_worker.settings = config.load()
    sandbox.add_domain("down.example", 5)
    # (a 200 that cannot be read is not among them: it may have been billed, see
    # test_odd_hunter_answers_are_never_bought_twice.py)
    sandbox.inject(*[SERVER_ERROR_HTML, Fault(status=503)] * 2, domain="down.example")
    [job] = submit_collect(state, "down.example")
    drain(inline_worker)
    after_first = jobs.get(state, job.id)
    assert after_first.status is Status.RETRYING
    assert after_first.errors == 1 and after_first.run_at > after_first.updated_at - 1
    # the job-level backoff is short in tests; wait for it, then the last attempt fails
    import time
    time.sleep(max(0.0, after_first.run_at - time.time()) + 0.05)
    drain(inline_worker)
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.FAILED
    assert "gave up after 2 attempts" in (done.error or "")
    assert sandbox.count("domain-search") == 4
    assert [e.kind for e in done.events].count("retry") == 2


def test_bad_key_fails_at_once_with_hunters_message(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("auth.example", 5)
    sandbox.inject(UNAUTHORIZED, domain="auth.example")
    [job] = submit_collect(state, "auth.example")
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.FAILED
    assert "No user found for the API key supplied" in (done.error or "")
    assert sandbox.count() == 1


def test_a_fresh_collection_is_served_from_state_without_calls(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("fresh.example", 30)
    [first] = submit_collect(state, "fresh.example")
    drain(inline_worker)
    calls = sandbox.count()
    [again] = submit_collect(state, "fresh.example")
    assert again.status is Status.COMPLETED  # at once, no worker needed
    assert again.result is not None and again.result["cached"] is True
    assert again.result["emails_collected"] == 30 and again.result["api_calls"] == 0
    assert sandbox.count() == calls
    [refreshed] = submit_collect(state, "fresh.example", refresh=True)
    assert refreshed.status is Status.QUEUED
    drain(inline_worker)
    assert sandbox.count() == calls + 1
    assert first.id != again.id != refreshed.id


def test_resume_after_a_crash_fetches_nothing_twice(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("crash.example", 95)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    settings = config.load()
    inline_worker.settings = settings
    [job] = submit_collect(state, "crash.example")
    # a worker claims it and commits three pages, then "dies" (its lease is taken back)
    from novahunt.runners import JobContext
    claimed = jobs.claim(state, job.id, "dead-worker", 0.01)
    assert claimed is not None
    import dataclasses
    import threading
    short = dataclasses.replace(settings, lease=0.01)
    ctx = JobContext(state, short, claimed, "dead-worker", threading.Event())
    client = ctx.hunter()
    for offset in (0, 10, 20):
        page = client.domain_search("crash.example", limit=10, offset=offset)
        with state.atomic():
            contacts.save_contacts(state, "crash.example", page.contacts, source="t",
                                job_id=job.id)
            ctx.commit({"offset": offset + 10, "pages": offset // 10 + 1,
                        "total": page.total, "emails": offset + 10},
                       jobs.Progress(offset + 10, 95, "collecting"))
    ctx.close()
    import time
    time.sleep(0.05)
    inline_worker.take_back_orphans()  # lease expired: back to the queue
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert sandbox.pages_served("crash.example") == list(range(0, 100, 10))
    assert emails_in_db(state, "crash.example") == sorted(sandbox.emails_of("crash.example"))
    assert done.attempts == 2


def test_a_worker_that_lost_its_lease_cannot_write(
        sandbox: Sandbox, state: Database) -> None:
    sandbox.add_domain("fence.example", 5)
    [job] = submit_collect(state, "fence.example")
    claimed = jobs.claim(state, job.id, "w1", 30)
    assert claimed is not None
    jobs.release_of_worker(state, "w1", "test: taken back")
    with pytest.raises(jobs.LostOwnership), state.atomic():
        jobs.save_step(state, claimed, "w1", 30, checkpoint={"offset": 99})
    assert jobs.get(state, job.id).checkpoint is None
    assert not jobs.finish(state, claimed, "w1", Status.COMPLETED)


def test_cancel_stops_a_running_job_within_one_page(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("cancel.example", 100)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    [job] = submit_collect(state, "cancel.example")
    # the cancel arrives while page 2 is being fetched
    original = contacts.save_contacts
    pages = []

    def spy(*args: object, **kw: object) -> int:
        pages.append(1)
        if len(pages) == 2:
            jobs.request_cancel(state, [job.id])
        return original(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(contacts, "save_contacts", spy)
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.CANCELED
    assert sandbox.pages_served("cancel.example") == [0, 10]
    assert len(emails_in_db(state, "cancel.example")) == 20  # what it saved, it keeps
