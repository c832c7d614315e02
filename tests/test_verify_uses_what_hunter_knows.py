"""Nothing is paid for that Hunter already told us.

Hunter's own tools skip the Verifier for an address whose fresh verdict (valid, invalid,
accept_all) came with a Domain Search or Email Finder answer, and for addresses on a
domain that accepts all mail: those re-checks are billed and answer the same (MCP
`verificationDecision`, PLUG). An `unknown` answer is not billed (HELP, PLUG) and may
be asked again for free, so it is not cached for a month.
"""

from __future__ import annotations

import pytest

from helpers import drain, submit_collect, submit_verify
from novahunt.sandbox import Sandbox
from novahunt.state import jobs, verifications
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime

pytestmark = pytest.mark.usefixtures("backend")


submit = submit_verify


def _known_by_search(state: Database, domain: str) -> dict[str, str]:
    return {r[0]: r[1] for r in state.query(
        "SELECT email, verification_status FROM contacts WHERE domain = ?"
        " AND verification_status IS NOT NULL", (domain,))}


def test_verdicts_from_domain_search_are_not_bought_again(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("known.example", 120)
    submit_collect(state, "known.example")
    drain(inline_worker)
    known = _known_by_search(state, "known.example")
    emails = sandbox.emails_of("known.example")
    assert 0 < len(known) < len(emails)
    assert set(known.values()) <= {"valid", "invalid", "accept_all"}
    job = submit(state, emails)
    drain(inline_worker)
    result = jobs.get(state, job.id).result
    assert result is not None
    asked = {r.params["email"] for r in sandbox.requests if r.endpoint == "email-verifier"}
    # the Verifier was asked for exactly the addresses Hunter had no fresh verdict for
    assert asked == set(emails) - set(known)
    assert result["known"] == len(known)
    cache = verifications.lookup(state, list(known))
    for email, status in known.items():
        assert cache[email].status == status
        # the verdict is the one the Verifier would have given for money
        assert sandbox.verdict(email) == status


def test_a_domain_that_accepts_all_mail_needs_no_verification(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("catchall.example", 15, accept_all=True)
    submit_collect(state, "catchall.example")
    drain(inline_worker)
    job = submit(state, sandbox.emails_of("catchall.example"))
    drain(inline_worker)
    assert sandbox.count("email-verifier") == 0
    result = jobs.get(state, job.id).result
    assert result is not None and result["credits"] == 0
    assert result["by_status"] == {"accept_all": 15}


def test_recheck_still_asks_the_verifier(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("catchall.example", 5, accept_all=True)
    submit_collect(state, "catchall.example")
    drain(inline_worker)
    submit(state, sandbox.emails_of("catchall.example"), recheck=True)
    drain(inline_worker)
    assert sandbox.count("email-verifier") == 5


def test_an_unknown_answer_is_asked_again_next_run_and_never_billed(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    emails = [f"u{i}@unsure.example" for i in range(3)] + ["v@unsure.example"]
    for email in emails[:3]:
        sandbox.set_verdict(email, "unknown")
    sandbox.set_verdict("v@unsure.example", "valid")
    first = submit(state, emails)
    drain(inline_worker)
    second = submit(state, emails)
    drain(inline_worker)
    assert [sandbox.verified(e) for e in emails] == [2, 2, 2, 1]
    assert [sandbox.billed_verifications(e) for e in emails] == [0, 0, 0, 1]
    results = [jobs.get(state, j.id).result for j in (first, second)]
    assert [r["cached"] if r else None for r in results] == [0, 1]
    # the ledger bills what Hunter bills: the valid answer once, the unknowns never
    assert [r["credits"] if r else None for r in results] == [1, 0]
