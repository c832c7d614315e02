"""Build a person's likely addresses from the domain's pattern (or the common ones),
and with `verify` check them in order of likelihood, stopping at the first deliverable.

Without `verify` no API call is made at all: the job is complete when it is created.
"""

from __future__ import annotations

from typing import Any

from novahunt.config import Settings
from novahunt.inputs import names
from novahunt.providers.records import Contact
from novahunt.runners.context import JobContext
from novahunt.runners.verify import deliverable, verify_now
from novahunt.state import store, webhooks
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob

TYPE = "generate"
SOURCE = "pattern_verified"


def plan(db: Database, settings: Settings, domain: str, first: str, last: str, *,
         verify: bool = False, priority: int = 3, tags: list[str] | None = None,
         webhook: str | None = None) -> NewJob:
    facts = store.domain_facts(db, domain) or {}
    pattern = facts.get("pattern")
    found = names.candidates(first, last, domain, pattern)
    params: dict[str, Any] = {
        "domain": domain, "first_name": first, "last_name": last, "verify": verify,
        "pattern": pattern, "candidates": found, "max_age": settings.verify_max_age,
        "target": f"{first} {last} at {domain}"}
    if webhook:
        params["webhook"] = webhooks.check_url(webhook)
    result = None
    if not verify:
        result = {"domain": domain, "first_name": first, "last_name": last,
                  "pattern": pattern, "candidates": found, "email": None,
                  "verified": False, "api_calls": 0}
    else:
        settings.require_key()
    return NewJob(type=TYPE, params=params, priority=priority, tags=tags or [],
                  max_attempts=settings.max_attempts, result=result)


def run(ctx: JobContext) -> dict[str, Any]:
    p = ctx.job.params
    found: list[str] = p["candidates"]
    checked: list[dict[str, Any]] = []
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
            store.save_contacts(ctx.db, p["domain"], [Contact(
                email=email, first_name=p["first_name"], last_name=p["last_name"],
                verification_status="valid")], source=SOURCE, job_id=ctx.job.id)
            ctx.commit({"checked": len(checked)}, (len(checked), len(found), "done", None))
    return {"domain": p["domain"], "first_name": p["first_name"],
            "last_name": p["last_name"], "pattern": p["pattern"], "candidates": found,
            "email": email, "verified": True, "checked": checked,
            **ctx.usage()}
