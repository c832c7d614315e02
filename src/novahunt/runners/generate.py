"""Build a person's likely addresses from the domain's pattern (or the common ones),
and with `verify` check them in order of likelihood, stopping at the first deliverable.

Without `verify` no API call is made at all: the job is complete when it is created.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from novahunt.config import Settings
from novahunt.inputs import names
from novahunt.providers.records import Contact
from novahunt.runners.context import JobContext
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.runners.verify import deliverable, verify_now
from novahunt.state import contacts
from novahunt.state.db import Database
from novahunt.state.jobs import Job, NewJob, Progress

TYPE = "generate"
SOURCE = "pattern_verified"


class Checked(TypedDict):
    email: str
    status: str | None   # the verdict, None when Hunter had no final answer


class Result(TypedDict):
    """A generate job's result: the candidates, and with --verify the first deliverable."""

    domain: str
    first_name: str
    last_name: str
    pattern: str | None
    candidates: list[str]
    email: str | None
    verified: bool                    # the candidates were checked (--verify)
    api_calls: int
    checked: NotRequired[list[Checked]]
    credits: NotRequired[float]


def plan(db: Database, settings: Settings, domain: str, first: str, last: str, *,
         verify: bool = False, priority: int = 3, tags: list[str] | None = None,
         webhook: str | None = None) -> NewJob:
    """`first` and `last` as written (`Jürgen`, `Müller`): the candidates then try every
    spelling of them (`juergen.mueller` too); the job keeps the address parts."""
    facts = contacts.domain_facts(db, domain) or {}
    pattern = facts.get("pattern")
    found = names.candidates(first, last, domain, pattern)
    first, last = names.person(first, last)
    params: dict[str, Any] = {
        "domain": domain, "first_name": first, "last_name": last, "verify": verify,
        "pattern": pattern, "candidates": found, "max_age": settings.verify_max_age,
        "target": f"{first} {last} at {domain}"}
    params.update(webhook_param(settings, webhook))
    result: Result | None = None
    if not verify:
        result = {"domain": domain, "first_name": first, "last_name": last,
                  "pattern": pattern, "candidates": found, "email": None,
                  "verified": False, "api_calls": 0}
    else:
        settings.require_key()
    return NewJob(type=TYPE, params=params, priority=priority, tags=tags or [],
                  max_attempts=settings.max_attempts,
                  result=None if result is None else dict(result))


def run(ctx: JobContext) -> Result:
    p = ctx.job.params
    found: list[str] = p["candidates"]
    checked: list[Checked] = []
    email = None
    for n, candidate in enumerate(found):
        ctx.check()
        ctx.set_progress(n, len(found), "verifying", candidate)
        row = verify_now(ctx, candidate, max_age=p["max_age"])
        checked.append({"email": candidate, "status": None if row is None else row.status})
        if deliverable(row):
            email = candidate
            break
        if row is not None and row.status == "accept_all":
            # the server says yes to everything: no candidate can be told apart
            ctx.event("accept_all", f"{p['domain']} accepts every address: stopping")
            break
    if email is not None:
        with ctx.db.atomic():
            contacts.save_contacts(ctx.db, p["domain"], [Contact(
                email=email, first_name=p["first_name"], last_name=p["last_name"],
                verification_status="valid")], source=SOURCE, job_id=ctx.job.id)
            ctx.commit({"checked": len(checked)}, Progress(len(checked), len(found), "done"))
    usage = ctx.usage()
    return {"domain": p["domain"], "first_name": p["first_name"],
            "last_name": p["last_name"], "pattern": p["pattern"], "candidates": found,
            "email": email, "verified": True, "checked": checked,
            "api_calls": usage["api_calls"], "credits": usage["credits"]}


# -- what the rest asks about a generate job ---------------------------------------------


def summary(result: Result) -> str:
    who = f"{result['first_name']} {result['last_name']} at {result['domain']}"
    return f"{who}: {result.get('email') or 'no address found'}"


def answer(job: Job) -> str | None:
    """What `novahunt generate` prints once the job is done: the address verified, else
    the candidates (without --verify), else that none was deliverable (None: no result)."""
    result = KIND.result(job)
    if result is None:
        return None
    if result.get("email"):
        return str(result["email"])
    if not result.get("verified"):
        shown = result["candidates"]
        return "candidates: " + ", ".join(shown[:6]) + (" ..." if len(shown) > 6 else "")
    return "no address found"


def describe(result: Result) -> str:
    return f"completed: {result.get('email') or 'no address found'}"


KIND = JobKind(TYPE, run, summary, describe)
