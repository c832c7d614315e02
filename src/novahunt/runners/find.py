"""Find one person's address with Hunter's Email Finder.

The answer (a miss included) is kept per person and domain, so asking again within
the freshness window costs nothing; a found address becomes a contact of the domain.
"""

from __future__ import annotations

import dataclasses
import time
from functools import partial
from typing import Any, NotRequired, TypedDict

from novahunt.config import Settings
from novahunt.errors import BadInput, ItemRefused
from novahunt.inputs import emails
from novahunt.inputs.domains import email_on_domain
from novahunt.providers.records import Contact, FinderResult
from novahunt.runners.context import JobContext
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.state import contacts
from novahunt.state.db import Database
from novahunt.state.jobs import Job, NewJob, Progress

TYPE = "find"
SOURCE = "hunter_email_finder"
# what the Finder says about the person besides the address, in a result and in enrich
PERSON_FIELDS = ("position", "company", "linkedin", "twitter", "phone_number",
                 "verification_status", "verification_date")


class Result(TypedDict):
    """A find job's result: the Finder's answer about one person (a miss included)."""

    domain: str
    first_name: str
    last_name: str
    email: str | None
    score: int | None
    found: bool
    position: str | None     # PERSON_FIELDS: what the Finder said besides the address
    company: str | None
    linkedin: str | None
    twitter: str | None
    phone_number: str | None
    verification_status: str | None
    verification_date: str | None
    cached: bool             # answered from state.db: no request
    api_calls: int
    credits: float
    refused: NotRequired[str]        # Hunter refused this person: why
    note: NotRequired[str]           # the Finder named an address on another domain
    saved_credits: NotRequired[int]  # served from state.db when planned


def person_fields(lookup: contacts.PersonLookup) -> dict[str, Any]:
    return {name: getattr(lookup, name) for name in PERSON_FIELDS}


def elsewhere(email: str, domain: str) -> str:
    return (f"Email Finder's address {email!r} is on another domain than {domain}: "
            "not kept as this person's email")


def remember(db: Database, answer: FinderResult, first: str, last: str,
             job_id: int | None) -> contacts.PersonLookup:
    """Keep a Finder answer, inside the caller's transaction: the lookup (a miss too), and
    the person found as a contact of the domain with all Hunter said, its verdict
    included, so a later verification of the address is not paid for again.

    An address on another domain than the one asked about (even a formula like
    `=hyperlink@x.com`) is nobody's contact here: it is remembered as a miss, so it is
    paid for once, and the caller names it in a note."""
    if answer.email is not None and not email_on_domain(answer.email, answer.domain):
        answer = dataclasses.replace(answer, email=None, score=None)
    lookup = contacts.PersonLookup(
        answer.domain, first, last, answer.email, answer.score, SOURCE, job_id, time.time(),
        position=answer.position, company=answer.company, linkedin=answer.linkedin,
        twitter=answer.twitter, phone_number=answer.phone_number,
        accept_all=answer.accept_all, verification_status=answer.verification_status,
        verification_date=answer.verification_date)
    contacts.save_person_lookup(db, lookup)
    if answer.email is not None:
        # names as used in addresses: what contact_by_name matches on
        contacts.save_contacts(db, answer.domain, [Contact(
            email=answer.email, first_name=first, last_name=last, position=answer.position,
            company=answer.company, confidence=answer.score, linkedin=answer.linkedin,
            twitter=answer.twitter, phone_number=answer.phone_number,
            sources=answer.sources, verification_status=answer.verification_status,
            verification_date=answer.verification_date)], source=SOURCE, job_id=job_id)
    return lookup


def _result(lookup: contacts.PersonLookup, *, cached: bool, api_calls: int = 0,
            credits: float = 0) -> Result:
    return {"domain": lookup.domain, "first_name": lookup.first_name,
            "last_name": lookup.last_name, "email": lookup.email, "score": lookup.score,
            "found": lookup.email is not None, "position": lookup.position,
            "company": lookup.company, "linkedin": lookup.linkedin,
            "twitter": lookup.twitter, "phone_number": lookup.phone_number,
            "verification_status": lookup.verification_status,
            "verification_date": lookup.verification_date,
            "cached": cached, "api_calls": api_calls,
            "credits": credits}


def plan(db: Database, settings: Settings, domain: str, first: str, last: str, *,
         priority: int = 3, tags: list[str] | None = None, refresh: bool = False,
         webhook: str | None = None) -> NewJob:
    special = emails.special_use_problem(domain)
    if special is not None:  # refused before a job exists: the Finder is never paid for it
        raise BadInput(f"special-use domain: {special}; the Email Finder is not asked")
    params: dict[str, Any] = {"domain": domain, "first_name": first, "last_name": last,
                              "refresh": refresh, "target": f"{first} {last} at {domain}"}
    params.update(webhook_param(settings, webhook))
    known = None if refresh else contacts.person_lookup(db, domain, first, last,
                                                     time.time() - settings.freshness)
    if known is None:
        settings.require_key()
    result = None
    if known is not None:
        result = _result(known, cached=True)
        result["saved_credits"] = int(bool(known.email))
    return NewJob(type=TYPE, params=params, priority=priority, tags=tags or [],
                  dedupe_key=f"{TYPE}:{domain}:{first}:{last}",
                  max_attempts=settings.max_attempts,
                  result=None if result is None else dict(result),
                  saved_credits=result["saved_credits"] if result else 0)


def run(ctx: JobContext) -> Result:
    p = ctx.job.params
    domain, first, last = p["domain"], p["first_name"], p["last_name"]
    if not p.get("refresh"):
        known = contacts.person_lookup(ctx.db, domain, first, last, ctx.job.created_at)
        if known is not None:
            return _result(known, cached=True)
    ctx.set_progress(0, 1, "finding", f"{first} {last} at {domain}", force=True)
    try:
        answer = ctx.call(partial(ctx.hunter().email_finder, domain, first, last),
                          endpoint="email-finder")
    except ItemRefused as exc:
        # Hunter refused this person (a bad name, a domain without mail, a 451): an
        # answer about them, not a failure to retry; nothing about them is stored
        refused = _result(contacts.PersonLookup(domain, first, last, None, None, SOURCE,
                                             ctx.job.id, time.time()), cached=False,
                          **ctx.usage())
        refused["refused"] = str(exc)
        return refused
    with ctx.db.atomic():
        lookup = remember(ctx.db, answer, first, last, ctx.job.id)
        ctx.commit({"done": True}, Progress(1, 1, "done"))
    result = _result(lookup, cached=False, **ctx.usage())
    if lookup.email is None and answer.email:
        result["note"] = elsewhere(answer.email, domain)
    return result


# -- what the rest asks about a find job -------------------------------------------------


def summary(result: Result) -> str:
    """Also generate's: "Ada Lovelace at a.example: ada@a.example"."""
    who = f"{result['first_name']} {result['last_name']} at {result['domain']}"
    if result.get("refused"):
        return f"{who}: {result['refused']}"
    return f"{who}: {result.get('email') or result.get('note') or 'no address found'}"


def describe(result: Result) -> str:
    return f"completed: {result.get('email') or 'no address found'}"


def answer(job: Job) -> str | None:
    """What `novahunt find` prints of the person once the job is done: the address, its
    score and what else the Finder said, or why there is none (None: no result)."""
    result = KIND.result(job)
    if result is None:
        return None
    email = result.get("email")
    if email:
        found = f"{email} (score {result.get('score', '-')})"
        about = [str(v) for v in (result["position"], result["company"], result["linkedin"],
                                  result["twitter"], result["phone_number"]) if v]
        if about:
            found += ": " + ", ".join(about)
    else:
        found = result.get("refused") or result.get("note") or "no address found"
    return found + (" (from state.db, no API call)" if result.get("cached") else "")

KIND = JobKind(TYPE, run, summary, describe)
