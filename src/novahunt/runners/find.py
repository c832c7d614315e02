"""Find one person's address with Hunter's Email Finder.

The answer (a miss included) is kept per person and domain, so asking again within
the freshness window costs nothing; a found address becomes a contact of the domain.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Any

from novahunt.config import Settings
from novahunt.errors import ItemRefused
from novahunt.providers.records import Contact, FinderResult
from novahunt.runners.context import JobContext
from novahunt.state import store, webhooks
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob

TYPE = "find"
SOURCE = "hunter_email_finder"
# what the Finder says about the person besides the address, in a result and in enrich
PERSON_FIELDS = ("position", "company", "linkedin", "twitter", "phone_number",
                 "verification_status", "verification_date")


def person_fields(lookup: store.PersonLookup) -> dict[str, Any]:
    return {name: getattr(lookup, name) for name in PERSON_FIELDS}


def remember(db: Database, answer: FinderResult, first: str, last: str,
             job_id: int | None) -> store.PersonLookup:
    """Keep a Finder answer, inside the caller's transaction: the lookup (a miss too), and
    the person found as a contact of the domain with all Hunter said, its verdict
    included, so a later verification of the address is not paid for again."""
    lookup = store.PersonLookup(
        answer.domain, first, last, answer.email, answer.score, SOURCE, job_id, time.time(),
        position=answer.position, company=answer.company, linkedin=answer.linkedin,
        twitter=answer.twitter, phone_number=answer.phone_number,
        accept_all=answer.accept_all, verification_status=answer.verification_status,
        verification_date=answer.verification_date)
    store.save_person_lookup(db, lookup)
    if answer.email is not None:
        # names as used in addresses: what contact_by_name matches on
        store.save_contacts(db, answer.domain, [Contact(
            email=answer.email, first_name=first, last_name=last, position=answer.position,
            company=answer.company, confidence=answer.score, linkedin=answer.linkedin,
            twitter=answer.twitter, phone_number=answer.phone_number,
            sources=answer.sources, verification_status=answer.verification_status,
            verification_date=answer.verification_date)], source=SOURCE, job_id=job_id)
    return lookup


def _result(lookup: store.PersonLookup, *, cached: bool, api_calls: int = 0,
            credits: float = 0) -> dict[str, Any]:
    return {"domain": lookup.domain, "first_name": lookup.first_name,
            "last_name": lookup.last_name, "email": lookup.email, "score": lookup.score,
            "found": lookup.email is not None, **person_fields(lookup),
            "cached": cached, "api_calls": api_calls,
            "credits": credits}


def plan(db: Database, settings: Settings, domain: str, first: str, last: str, *,
         priority: int = 3, tags: list[str] | None = None, refresh: bool = False,
         webhook: str | None = None) -> NewJob:
    params: dict[str, Any] = {"domain": domain, "first_name": first, "last_name": last,
                              "refresh": refresh, "target": f"{first} {last} at {domain}"}
    if webhook:
        params["webhook"] = webhooks.check_url(webhook)
    known = None if refresh else store.person_lookup(db, domain, first, last,
                                                     time.time() - settings.freshness)
    if known is None:
        settings.require_key()
    return NewJob(type=TYPE, params=params, priority=priority, tags=tags or [],
                  dedupe_key=f"{TYPE}:{domain}:{first}:{last}",
                  max_attempts=settings.max_attempts,
                  result=None if known is None else {
                      **_result(known, cached=True), "saved_credits": int(bool(known.email))})


def run(ctx: JobContext) -> dict[str, Any]:
    p = ctx.job.params
    domain, first, last = p["domain"], p["first_name"], p["last_name"]
    if not p.get("refresh"):
        known = store.person_lookup(ctx.db, domain, first, last, ctx.job.created_at)
        if known is not None:
            return _result(known, cached=True)
    ctx.set_progress(0, 1, "finding", f"{first} {last} at {domain}", force=True)
    try:
        answer = ctx.call(partial(ctx.hunter().email_finder, domain, first, last),
                          endpoint="email-finder")
    except ItemRefused as exc:
        # Hunter refused this person (a bad name, a domain without mail, a 451): an
        # answer about them, not a failure to retry; nothing about them is stored
        return {**_result(store.PersonLookup(domain, first, last, None, None, SOURCE,
                                             ctx.job.id, time.time()), cached=False),
                "refused": str(exc), **ctx.usage()}
    with ctx.db.atomic():
        lookup = remember(ctx.db, answer, first, last, ctx.job.id)
        ctx.commit({"done": True}, (1, 1, "done", None))
    return _result(lookup, cached=False, **ctx.usage())
