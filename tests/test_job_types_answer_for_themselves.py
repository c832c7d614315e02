"""Each job type's module answers what the rest asks about it (the registry in
novahunt.runners); the queue registers no task and reaches the worker's runtime through
worker/current.py; Hunter's "one credit per started 10 emails" is one function."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from helpers import SRC
from novahunt import runners, tasks
from novahunt.providers.records import search_credits
from novahunt.runners import collect, enrich, find, generate, scrape, verify
from novahunt.state.jobs import Job, Status
from novahunt.worker import current


def job_of(type_: str, result: dict[str, Any] | None, **params: Any) -> Job:
    return Job(id=5, type=type_, status=Status.COMPLETED, priority=3, params=params, tags=[],
               attempts=1, errors=0, max_attempts=3, checkpoint=None, progress_current=1,
               progress_total=1, progress_stage="done", progress_message=None,
               result=result, error=None, cancel_requested=False, worker_id=None,
               created_at=0.0, run_at=0.0, started_at=0.0, finished_at=0.0, updated_at=0.0,
               heartbeat_at=None)


COLLECTED: collect.Result = {
    "domain": "a.example", "organization": "A", "pattern": "{first}", "emails_collected": 23,
    "total_available": 40, "pages_fetched": 3, "api_calls": 3, "credits": 3,
    "complete": False, "stopped_reason": "plan", "plan_limit": 10, "verify_job": 7}


@pytest.mark.pure
def test_every_type_has_its_kind_and_an_unknown_type_none() -> None:
    for type_ in runners.TYPES:
        kind = runners.kind_of(type_)
        assert kind is not None and kind.type == type_
    assert runners.kind_of("teleport") is None
    assert runners.describe(job_of("teleport", {"emails_collected": 3})) == "completed"


@pytest.mark.pure
def test_results_are_summarised_and_described_in_their_own_words() -> None:
    assert collect.summary(COLLECTED) == ("23 emails, 3 pages, 3 API calls; stopped early: plan;"
                                          " verifying them in job 7")
    assert runners.describe(job_of("collect", dict(COLLECTED))) == (
        "completed: 23 of 40 emails (your plan's limit)")
    assert runners.follow_ups(job_of("collect", dict(COLLECTED))) == [7]
    checked: verify.Result = {
        "emails": 4, "verified": 2, "cached": 1, "known": 1, "invalid_syntax": 0, "claimed": 0,
        "refused": 0, "unverified": 0, "by_status": {"valid": 4}, "api_calls": 2, "credits": 2}
    assert verify.summary(checked) == ("4 emails: 2 verified, 1 from the cache, 1 already "
                                       "verified by Hunter, 0 bad syntax, 2 API calls")
    assert verify.describe(checked) == "completed: 2 verified, 2 cached, 0 bad syntax"
    assert runners.target(job_of("verify", None, emails=4, source="file:x.txt")) == (
        "4 emails (file:x.txt)")
    assert runners.target(job_of("enrich", None, target="leads.csv")) == "leads.csv"
    scraped: scrape.Result = {
        "domain": "s.example", "pages_fetched": 4, "pages_skipped": 1, "pages_requested": 5,
        "links_left": 0, "emails_found": 2, "emails": [], "found_on": {}}
    assert scrape.summary(scraped) == "2 emails on 4 pages (1 skipped)"
    assert scrape.describe(scraped) == "completed: 2 emails on 4 pages"
    assert enrich.describe({"rows": 1, "found": 1, "had_email": 0, "not_found": 0,
                            "refused": 0, "skipped": 0, "skipped_rows": [], "output": "o",
                            "api_calls": 1, "credits": 1}) == "completed"
    person = job_of("find", {"domain": "a.example", "first_name": "ada", "last_name": "l",
                             "email": "ada@a.example", "score": 91, "found": True,
                             "position": "CTO", "company": None, "linkedin": None,
                             "twitter": None, "phone_number": None,
                             "verification_status": None, "verification_date": None,
                             "cached": True, "api_calls": 0, "credits": 0})
    assert find.answer(person) == "ada@a.example (score 91): CTO (from state.db, no API call)"
    assert runners.describe(person) == "completed: ada@a.example"
    assert generate.answer(person) is None   # not its type: no answer from it


@pytest.mark.pure
def test_a_search_credit_per_started_ten_emails() -> None:
    assert [search_credits(n) for n in (0, 1, 9, 10, 11, 52, 100)] == [0, 1, 1, 1, 2, 6, 10]
    # a collection pages by the same rule: 52 emails in pages of 25 -> 3 + 3 + 1
    assert collect.collection_cost(52, 5000, 25, free=False) == 7


@pytest.mark.pure
def test_run_job_hands_the_message_to_the_bound_runtime() -> None:
    ran: list[int] = []

    class Runtime:
        def run(self, job_id: int) -> None:
            ran.append(job_id)

    with pytest.raises(RuntimeError, match="no novahunt worker"):
        tasks.run_job(1)
    runtime = Runtime()
    current.bind(runtime)
    try:
        tasks.run_job(5)
    finally:
        current.unbind(runtime)
    assert ran == [5]
    with pytest.raises(RuntimeError):
        current.runtime()


@pytest.mark.storage
def test_opening_the_queue_registers_no_task_and_sending_does(home: object) -> None:
    from novahunt.queue import backends

    huey = backends.open_queue()
    assert "novahunt.tasks.run_job" not in huey._registry._registry
    tasks.register(huey)
    assert "novahunt.tasks.run_job" in huey._registry._registry


@pytest.mark.processes
def test_the_job_types_load_without_http_the_html_parser_or_the_queue() -> None:
    code = ("import sys; from novahunt import runners\n"
            "[runners.kind_of(t) for t in runners.TYPES]\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'httpx', 'bs4', 'huey', 'redis', 'psycopg'}))")
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": SRC},
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
