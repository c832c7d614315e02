"""A quota pause is per kind of credit: spent verifications stop verification work only,
spent searches stop searches only, and a pause is lifted only when its kind is back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from helpers import KEY, Cli, drain
from novahunt import config
from novahunt.ops import account, doctor
from novahunt.sandbox import Sandbox
from novahunt.state import jobs, migrations, quotas
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob, Status
from novahunt.worker.runtime import WorkerRuntime

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture()
def plan_box(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
             ) -> Iterator[Sandbox]:
    """A sandbox on the plan a test gives as `plan_box` (Sandbox keyword arguments)."""
    kwargs: dict[str, Any] = getattr(request, "param", {})
    with Sandbox(KEY, **kwargs) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        yield box


@pytest.fixture()
def worker(state: Database, plan_box: Sandbox) -> Iterator[WorkerRuntime]:
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    runtime.learn_plan()  # as `novahunt worker` does at start
    yield runtime
    runtime.deactivate()


def plan(**kwargs: Any) -> pytest.MarkDecorator:
    """Run the test against a sandbox on this plan."""
    return pytest.mark.parametrize("plan_box", [kwargs], indirect=True,
                                   ids=[",".join(f"{k}={v}" for k, v in kwargs.items())])


def queued(cli: Cli, *args: str) -> int:
    code, out, err = cli(*args, "--json")
    assert code == 0, err
    loaded = json.loads(out)
    return int((loaded[0] if isinstance(loaded, list) else loaded)["id"])


def valid_emails(box: Sandbox, domain: str, n: int) -> list[str]:
    box.add_domain(domain, n)
    emails = box.emails_of(domain)
    for email in emails:
        box.set_verdict(email, "valid")
    return emails


@plan(verifications_available=0)
def test_spent_verifications_pause_verification_only_and_collect_goes_on(
        plan_box: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    """HELP: with separate quotas, running out of verifications does not stop searches.
    The verify job waits for the verification kind; the collect job completes."""
    plan_box.add_domain("goes-on.example", 25)
    to_verify = valid_emails(plan_box, "checked.example", 3)
    verify_id = queued(cli, "verify", *to_verify)
    collect_id = queued(cli, "collect", "goes-on.example")
    drain(worker)

    waiting, collected = jobs.get(state, verify_id), jobs.get(state, collect_id)
    assert waiting.status is Status.RETRYING
    assert waiting.waiting_for == "hunter:verification" and waiting.errors == 0
    assert collected.status is Status.COMPLETED
    assert collected.result is not None and collected.result["emails_collected"] == 25
    assert plan_box.count("email-verifier") == 1  # the rest of the list was not asked
    assert quotas.provider_pauses(state).keys() == {"hunter:verification"}
    stats = json.loads(cli("stats", "--json")[1])
    assert list(stats["paused"]) == ["hunter:verification"]
    assert stats["queue_depth"]["waiting_for_credits"] == 1
    check = doctor.check_key(state, config.load())
    assert check.status is doctor.Level.WARN and "verification paused" in check.message

    worker.check_quota()  # still no verifications: nothing is woken, nothing is sent
    assert jobs.get(state, verify_id).waiting_for == "hunter:verification"
    assert plan_box.count("email-verifier") == 1
    plan_box.verifications_available = 10  # the user bought verifications
    worker.check_quota()
    drain(worker)
    done = jobs.get(state, verify_id)
    assert done.status is Status.COMPLETED and done.result is not None
    assert done.result["verified"] == 3 and quotas.provider_pauses(state) == {}


@plan(searches_available=0)
def test_spent_searches_pause_searches_only_and_verify_goes_on(
        plan_box: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    """HELP: the reverse: spent searches leave verifications usable."""
    plan_box.add_domain("stopped.example", 5)
    to_verify = valid_emails(plan_box, "fine.example", 2)
    collect_id = queued(cli, "collect", "stopped.example")
    verify_id = queued(cli, "verify", *to_verify)
    drain(worker)
    assert jobs.get(state, collect_id).waiting_for == "hunter:search"
    assert jobs.get(state, verify_id).status is Status.COMPLETED
    assert quotas.provider_pauses(state).keys() == {"hunter:search"}


@plan(verifications_available=0)
def test_resume_with_none_left_says_until_when_and_wakes_nothing(
        plan_box: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    """`novahunt resume` asks the account (free) before waking anything: jobs woken
    without credits would only meet the same quota error again. --force lifts anyway."""
    verify_id = queued(cli, "verify", *valid_emails(plan_box, "wait.example", 2))
    drain(worker)
    assert jobs.get(state, verify_id).waiting_for == "hunter:verification"
    reset = json.loads(cli("account", "--json")[1])["reset_date"]

    code, out, err = cli("resume")
    assert code == 1
    assert f"no verification credits left until {reset}; jobs stay waiting" in err
    assert jobs.get(state, verify_id).waiting_for == "hunter:verification"
    assert plan_box.count("email-verifier") == 1

    code, out, _ = cli("resume", "--force")
    assert code == 0 and "resumed verification: 1 job(s)" in out
    assert jobs.get(state, verify_id).waiting_for is None
    drain(worker)  # the forced wake-up meets the quota again and waits again
    assert jobs.get(state, verify_id).waiting_for == "hunter:verification"

    plan_box.verifications_available = 5
    code, out, _ = cli("resume")
    assert code == 0 and "resumed verification (5 left): 1 job(s)" in out
    drain(worker)
    assert jobs.get(state, verify_id).status is Status.COMPLETED
    assert cli("resume")[1] == "nothing is paused: no job waits for credits\n"


@plan(single_credit=True, credits_available=0)
def test_a_single_credit_plan_lifts_verification_at_half_a_credit_and_search_at_one(
        plan_box: Sandbox, state: Database, worker: WorkerRuntime, cli: Cli) -> None:
    """HELP, PLUG: one credits bucket read from `remaining`; a verification costs 0.5, a
    search 1: half a credit back wakes the verify job, not the collect job."""
    plan_box.add_domain("later.example", 5)
    [email] = valid_emails(plan_box, "half.example", 1)
    collect_id = queued(cli, "collect", "later.example")
    verify_id = queued(cli, "verify", email)
    drain(worker)
    assert quotas.provider_pauses(state).keys() == {"hunter:search", "hunter:verification"}

    plan_box.credits_available = 0.5
    worker.check_quota()
    drain(worker)
    assert jobs.get(state, verify_id).status is Status.COMPLETED
    assert jobs.get(state, collect_id).waiting_for == "hunter:search"
    assert plan_box.verifications_used == 0.5
    data = json.loads(cli("account", "--json")[1])
    assert data["credits"]["remaining"] == 0 and data["paused"].keys() == {"search"}

    plan_box.credits_available = 1.5
    worker.check_quota()
    drain(worker)
    assert jobs.get(state, collect_id).status is Status.COMPLETED
    assert plan_box.credits_used == 1.5
    stats = json.loads(cli("stats", "--json")[1])
    assert stats["credits"] == {"search": 1, "verification": 0.5} and stats["paused"] == {}


def test_m013_turns_a_provider_pause_into_kinds_and_credits_into_floats(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Migrations append and are tested from the previous schema with rows in it: a
    'hunter' pause hit by a verify job becomes the verification kind, the jobs waiting
    for it follow their kind (a collect job no longer waits), and integer credits keep
    their values in a column that holds halves on SQLite and PostgreSQL alike."""
    from novahunt.state import db as state_db

    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:-1])
    old = state_db.open_state()
    assert "m013_plans_and_quotas_per_kind" not in migrations.applied(old)
    [(verify, _), (collect, _)] = jobs.create(old, [
        NewJob(type="verify", params={"emails": 2}),
        NewJob(type="collect", params={"domain": "old.example"})])
    later = time.time() + 3600
    with old.atomic():
        old.execute("UPDATE jobs SET status = 'retrying', waiting_for = 'hunter', run_at = ?",
                    (later,))
        old.execute("INSERT INTO provider_pauses (provider, reason, job_id, since)"
                    " VALUES ('hunter', 'quota exhausted (402)', ?, 1000.0)", (verify.id,))
        old.execute("INSERT INTO api_calls (at, provider, endpoint, status, job_id, credits,"
                    " credit_kind) VALUES (1.0, 'hunter', 'domain-search', 200, ?, 3,"
                    " 'search')", (collect.id,))
        old.execute("INSERT INTO cache_hits (at, kind, job_id, saved_credits)"
                    " VALUES (1.0, 'collect', NULL, 2)")
    monkeypatch.undo()
    assert migrations.migrate(old) == ["m013_plans_and_quotas_per_kind"]

    assert quotas.provider_pauses(old) == {"hunter:verification": "quota exhausted (402)"}
    assert jobs.get(old, verify.id).waiting_for == "hunter:verification"
    assert jobs.get(old, verify.id).run_at == later
    woken = jobs.get(old, collect.id)
    assert woken.waiting_for is None and woken.run_at <= time.time()
    with old.atomic():
        old.execute("INSERT INTO api_calls (at, provider, endpoint, status, job_id, credits,"
                    " credit_kind) VALUES (2.0, 'hunter', 'email-verifier', 200, ?, 0.5,"
                    " 'verification')", (verify.id,))
    assert [r[0] for r in old.query("SELECT credits FROM api_calls ORDER BY at")] == [3, 0.5]
    assert old.scalar("SELECT saved_credits FROM cache_hits") == 2
    assert account.paused_kinds(old) == {"verification": "quota exhausted (402)"}
