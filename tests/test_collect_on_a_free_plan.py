"""A free Hunter key collects the 10 emails its plan lets it read, pays for them once, and
the job says where the plan stopped it.

Hunter's free plan answers `400 pagination_error` whenever `limit + offset > 10` (DOCS
error table; bodies users pasted in recon-ng-marketplace #159 and SpecterOps/ghost_scout
#13): a client asking `limit=100` first, as novahunt did, got 0 emails and a "completed".
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import KEY, drain, emails_in_db, submit_collect
from novahunt import config
from novahunt.cli import progress
from novahunt.ops import account
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture()
def free(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(KEY, free_plan=True) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        box.add_domain("big.example", 42)
        box.add_domain("small.example", 7)
        box.add_domain("empty.example", 0)
        yield box


def _searches(box: Sandbox, domain: str) -> list[tuple[int, str, str]]:
    return [(r.status, r.params.get("limit", ""), r.params.get("offset", ""))
            for r in box.requests if r.endpoint == "domain-search"
            and r.params.get("domain") == domain]


def test_a_free_key_gets_the_ten_emails_hunter_lets_it_read(
        free: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    """With the plan unknown, the first 400 is a free refusal: the job asks again within
    the plan's limit, pays 1 search credit for 10 emails, and stops saying how many more
    Hunter has. No page is paid twice."""
    [job] = submit_collect(state, "big.example")
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED, done.error
    assert done.result is not None
    assert done.result["emails_collected"] == 10
    assert len(emails_in_db(state, "big.example")) == 10
    assert done.result["total_available"] == 42
    assert done.result["complete"] is False
    assert done.result["plan_limit"] == 10
    assert "32 more on a paid plan" in done.result["stopped_reason"]
    assert progress.describe(done) == "completed: 10 of 42 emails (your plan's limit)"
    # one refusal (limit=100 on a free plan), then the one page the plan allows
    assert _searches(free, "big.example") == [(400, "100", "0"), (200, "10", "0")]
    assert free.pages_served("big.example") == [0]
    assert free.searches_used == 1
    assert done.result["credits"] == 1


def test_a_known_free_plan_never_asks_beyond_its_limit(
        free: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    """Once the account says the plan is free (GET /v2/account, free of charge), a
    collection asks `limit=10&offset=0`, as Hunter's own extension does (EXT)."""
    settings = config.load()
    assert account.fetch(state, settings).is_free
    assert account.known_plan(state) is not None
    submit_collect(state, "big.example", "small.example", "empty.example")
    drain(inline_worker)
    assert _searches(free, "big.example") == [(200, "10", "0")]
    assert _searches(free, "small.example") == [(200, "10", "0")]
    assert sorted(len(emails_in_db(state, d)) for d in
                  ("big.example", "small.example", "empty.example")) == [0, 7, 10]
    # 1 credit for each started 10 emails returned, nothing for an empty answer (HELP)
    assert free.searches_used == 2


def test_a_domain_within_the_free_limit_is_complete(
        free: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    [job] = submit_collect(state, "small.example")
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.result is not None
    assert (done.result["emails_collected"], done.result["complete"]) == (7, True)
    assert "stopped_reason" not in done.result
    assert free.searches_used == 1


def test_a_paid_plan_reads_every_page(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same domain on a paid plan: every email, at Hunter's page size, 1 credit per
    started 10 emails returned (HELP: "52 emails -> 6 credits")."""
    sandbox.add_domain("big.example", 52)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "100")
    [job] = submit_collect(state, "big.example")
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.result is not None
    assert (done.result["emails_collected"], done.result["complete"]) == (52, True)
    assert "plan_limit" not in done.result
    assert sandbox.searches_used == 6
    assert done.result["credits"] == 6
