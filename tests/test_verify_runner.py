"""Verification jobs against a real Hunter-speaking server: each distinct email is paid
for at most once per max-age, however it is asked for."""

from __future__ import annotations

import json

import pytest

from helpers import Cli, drain, submit_verify
from novahunt.sandbox import SMTP_FAILURE_222, Sandbox
from novahunt.state import contacts, jobs, verifications
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (backend: state.db and PostgreSQL)
pytestmark = pytest.mark.usefixtures("backend")


submit = submit_verify


def calls(sandbox: Sandbox) -> int:
    return sandbox.count("email-verifier")


def test_variants_of_one_email_are_verified_once(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    job = submit(state, [" Alice@Stripe.example", "alice@stripe.example", "bob@stripe.example",
                         "ALICE@STRIPE.EXAMPLE ", "bob@stripe.example"])
    assert job.params["emails"] == 2
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert calls(sandbox) == 2
    assert done.result is not None
    # Hunter bills valid, invalid and accept_all answers only (HELP, PLUG)
    billed = sum(sandbox.billed_verifications(e) for e in ("alice@stripe.example",
                                                            "bob@stripe.example"))
    assert (done.result["verified"], done.result["cached"]) == (2, 0)
    assert done.result["credits"] == billed == sandbox.verifications_used
    cached = verifications.lookup(state, ["alice@stripe.example", "bob@stripe.example"])
    assert set(cached) == {"alice@stripe.example", "bob@stripe.example"}
    assert (done.progress_current, done.progress_total) == (2, 2)


def test_a_second_job_is_served_from_the_cache_until_max_age(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    emails = [f"p{i}@cache.example" for i in range(20)]
    for email in emails:  # an unknown is asked again on purpose (test_verify_uses_...)
        sandbox.set_verdict(email, "valid")
    submit(state, emails)
    drain(inline_worker)
    assert calls(sandbox) == 20
    second = submit(state, [e.upper() for e in emails])
    drain(inline_worker)
    result = jobs.get(state, second.id).result
    assert result is not None and (result["cached"], result["api_calls"]) == (20, 0)
    assert calls(sandbox) == 20
    row = verifications.fresh(state, "p0@cache.example", 0)
    assert row is not None and row.asked_count == 2
    stale = submit(state, emails[:5], max_age=0.0)  # everything is too old for this ask
    drain(inline_worker)
    assert calls(sandbox) == 25
    assert jobs.get(state, stale.id).result["verified"] == 5  # type: ignore[index]


def test_cache_row_keeps_status_result_score_and_the_full_answer(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.set_verdict("dana@keep.example", "accept_all")
    submit(state, ["dana@keep.example"])
    drain(inline_worker)
    row = state.one("SELECT * FROM verifications WHERE email = 'dana@keep.example'")
    assert row is not None
    assert (row["status"], row["result"]) == ("accept_all", "risky")
    assert isinstance(row["score"], int)
    answer = json.loads(row["answer"])
    assert answer["email"] == "dana@keep.example" and answer["accept_all"] is True
    assert row["first_verified_at"] <= row["last_verified_at"]


def test_the_legacy_answer_without_status_is_understood(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.legacy_verifier = True
    sandbox.set_verdict("old@legacy.example", "invalid")
    submit(state, ["old@legacy.example"])
    drain(inline_worker)
    row = verifications.fresh(state, "old@legacy.example", 0)
    assert row is not None and (row.status, row.result) == ("invalid", "undeliverable")


def test_bad_syntax_is_never_sent(sandbox: Sandbox, state: Database,
                                  inline_worker: WorkerRuntime) -> None:
    bad = ["no-at-sign", "two@@at.example", "dot.@end.example", "x@nodot", "x@-bad-.example"]
    job = submit(state, [*bad, "fine@ok.example"])
    drain(inline_worker)
    assert calls(sandbox) == 1
    result = jobs.get(state, job.id).result
    assert result is not None and result["invalid_syntax"] == 5
    for email in bad:
        row = verifications.fresh(state, email, 0)
        assert row is not None and row.status == "invalid"
        assert row.reason is not None and row.reason.startswith("bad syntax")


def test_202_and_222_are_asked_again_later_without_blocking_the_rest(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.pending["slow@wait.example"] = 2
    sandbox.inject(SMTP_FAILURE_222, endpoint="email-verifier", email="smtp@wait.example")
    others = [f"o{i}@wait.example" for i in range(5)]
    job = submit(state, ["slow@wait.example", "smtp@wait.example", *others])
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert done.result is not None and done.result["verified"] == 7
    order = [r.params["email"] for r in sandbox.requests]
    # the others were asked before the slow ones were asked again
    assert order.index(others[-1]) < len(order) - 1
    assert order.count("slow@wait.example") == 3 and order.count("smtp@wait.example") == 2
    # the not-final answers cost nothing and were never cached
    billed = state.query("SELECT status, credits FROM api_calls WHERE status IN (202, 222)")
    assert [tuple(r) for r in billed] and all(r["credits"] == 0 for r in billed)
    assert sandbox.verified("slow@wait.example") == 1


def test_451_is_recorded_as_claimed_and_personal_details_are_dropped(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("claim.example", 5)
    assert cli("collect", "claim.example")[0] == 0
    drain(inline_worker)
    email = sandbox.emails_of("claim.example")[0]
    sandbox.claimed.add(email)
    job = submit(state, [email])
    drain(inline_worker)
    assert jobs.get(state, job.id).result["claimed"] == 1  # type: ignore[index]
    row = verifications.fresh(state, email, 0)
    assert row is not None and row.status == "claimed"
    contact = state.one("SELECT * FROM contacts WHERE email = ?", (email,))
    assert contact is not None
    assert all(contact[k] is None for k in ("first_name", "last_name", "position",
                                            "linkedin", "twitter", "phone_number"))


def test_hunters_own_fresh_verification_counts_as_cached_unless_recheck(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("known.example", 40)
    assert cli("collect", "known.example")[0] == 0
    drain(inline_worker)
    emails = contacts.emails_of(state, "known.example")
    fresh = {r["email"] for r in state.query(
        "SELECT email FROM contacts WHERE verification_status IN"
        " ('valid', 'invalid', 'accept_all')")}
    assert 0 < len(fresh) < len(emails)
    assert cli("verify", "--domain", "known.example", "--json")[0] == 0
    drain(inline_worker)
    assert calls(sandbox) == len(emails) - len(fresh)
    assert all(sandbox.verified(e) == 0 for e in fresh)
    assert cli("verify", "--domain", "known.example", "--recheck")[0] == 0
    drain(inline_worker)
    assert calls(sandbox) == 2 * len(emails) - len(fresh)


def test_cancel_stops_within_one_email(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    job = submit(state, [f"c{i}@cancel.example" for i in range(30)])
    original = verifications.save
    seen: list[str] = []

    def spy(db: Database, v: object) -> None:
        seen.append("x")
        if len(seen) == 3:
            jobs.request_cancel(state, [job.id])
        original(db, v)  # type: ignore[arg-type]

    monkeypatch.setattr(verifications, "save", spy)
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.CANCELED
    assert calls(sandbox) == 3
    assert state.scalar("SELECT COUNT(*) FROM verifications") == 3
