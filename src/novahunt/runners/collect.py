"""Collect a domain's emails through Hunter's Domain Search, one page per step.

Checkpoint: `{"offset", "pages", "total", "emails"}`. Each page's contacts, the domain
facts and the next offset are committed in one transaction, so a killed worker resumes
at the first page it did not commit: at most the page in flight is fetched (and billed)
again, and no email is stored twice.

A page Hunter answered 200 is paid for, so it is never bought again because it could
not be read: its good entries are stored and the bad ones skipped with a note, and a
page that cannot be read at all is skipped (`skipped` in the checkpoint) and the
collection goes on, marked incomplete, until UNREADABLE_IN_A_ROW such pages in a row.
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any, Literal, NotRequired, TypedDict

from novahunt.config import Settings
from novahunt.errors import PaginationLimit, UnreadableAnswer
from novahunt.ops import account
from novahunt.providers.records import search_credits
from novahunt.runners import verify as verify_runner
from novahunt.runners.context import JobContext
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.state import contacts, jobs, ledger
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob, Progress

TYPE = "collect"
SOURCE = "hunter_domain_search"
# Hunter's free plan answers 400 pagination_error whenever limit + offset > 10 (DOCS;
# ISSUE recon-ng-marketplace #159): a free key reads the first 10 emails of a domain
FREE_PLAN_CAP = 10
# pages in a row that cannot be read before a collection stops: each may have been billed
UNREADABLE_IN_A_ROW = 3


class Result(TypedDict):
    """A collect job's result, as stored and shown: a run's, one served from state.db
    (`cached`), or one Email Count showed to be empty (`note`)."""

    domain: str
    organization: str | None
    pattern: str | None
    emails_collected: int
    total_available: int
    pages_fetched: int
    api_calls: int
    credits: NotRequired[float]
    complete: NotRequired[bool]
    stopped_reason: NotRequired[str]     # a plan limit or a refusal ended it early
    pages_skipped: NotRequired[int]      # paid pages that could not be read: not re-bought
    plan_limit: NotRequired[int]         # the emails the plan lets a search read
    verify_job: NotRequired[int]         # --verify: the job verifying what it collected
    cached: NotRequired[bool]            # served from a fresh collection in state.db
    cached_from_job: NotRequired[int | None]
    saved_credits: NotRequired[int]
    note: NotRequired[str]               # why nothing was paid for (no emails at Hunter)


def filters_key(params: dict[str, Any]) -> str:
    """The query filters as a stable string: collections are fresh per filter set."""
    return json.dumps({k: params.get(k) for k in ("type", "seniority", "department")},
                      sort_keys=True)


def dedupe_key(params: dict[str, Any]) -> str:
    return f"{TYPE}:{params['domain']}:{filters_key(params)}"


def cached_result(db: Database, params: dict[str, Any], since: float) -> Result | None:
    """A result served from state.db when a collection finished since `since` covers
    the ask."""
    if params.get("refresh"):
        return None
    found = contacts.fresh_collection(db, params["domain"], filters_key(params),
                                   params["max_results"], since)
    if found is None:
        return None
    facts = contacts.domain_facts(db, params["domain"]) or {}
    return {
        "domain": params["domain"],
        "organization": facts.get("organization"),
        "pattern": facts.get("pattern"),
        "emails_collected": found.emails,
        "total_available": found.total_available,
        "pages_fetched": 0,
        "api_calls": 0,
        "cached": True,
        "cached_from_job": found.job_id,
        "saved_credits": search_credits(found.emails),
    }


def page_limit(offset: int, max_results: int, page_size: int, cap: int | None) -> int:
    """How many emails the page at `offset` asks for: a page size's worth, no further
    than --max-results, and no further than a capped plan lets a search read."""
    return min(page_size, max_results - offset, *(() if cap is None else (cap - offset,)))


def collection_cost(emails: int, max_results: int, page_size: int, *, free: bool) -> int:
    """The search credits a collection of a domain holding `emails` (for its filters)
    bills, paged as `run()` pages it: 1 credit per started 10 emails a page returns
    (HELP: "52 emails -> 6 credits", `search_credits`), ceil(min(emails, max_results) / 10)
    with pages of a multiple of 10. A free plan reads the first 10 emails: 1 credit at
    most (DOCS)."""
    target = min(emails, max_results, *((FREE_PLAN_CAP,) if free else ()))
    credits = offset = 0
    while offset < target:
        limit = page_limit(offset, max_results, page_size, FREE_PLAN_CAP if free else None)
        credits += search_credits(min(limit, target - offset))
        offset += limit
    return credits


NO_EMAILS = "Hunter has no emails for this domain"


def _empty_result(domain: str) -> Result:
    """A collection Hunter's Email Count (free) showed to be empty: nothing to pay for."""
    return {
        "domain": domain, "organization": None, "pattern": None, "emails_collected": 0,
        "total_available": 0, "pages_fetched": 0, "api_calls": 0, "credits": 0,
        "complete": True, "note": NO_EMAILS,
    }


def plan(db: Database, settings: Settings, domains: list[str], *, priority: int = 3,
         run_at: float | None = None, max_results: int, type: str | None = None,
         seniority: str | None = None, department: str | None = None,
         tags: list[str] | None = None, refresh: bool = False,
         verify: bool = False, webhook: str | None = None,
         counts: dict[str, int] | None = None) -> list[NewJob]:
    """One job per domain; a domain with a fresh collection in state.db gets a job that
    is completed at once with zero API calls (unless refresh), and so does a domain
    whose count in `counts` (emails Hunter has for the filters, from Email Count) is 0."""
    specs = []
    counts = counts or {}
    since = time.time() - settings.freshness
    # one query for the whole list: most domains of a big file were never collected
    collected = set() if refresh else contacts.collected_since(db, domains, since)
    for domain in domains:
        params: dict[str, Any] = {
            "domain": domain, "max_results": max_results, "type": type,
            "seniority": seniority, "department": department, "refresh": refresh,
        }
        if verify:
            params.update(verify=True, verify_max_age=settings.verify_max_age)
        params.update(webhook_param(settings, webhook))
        result = cached_result(db, params, since) if domain in collected else None
        empty = result is None and counts.get(domain) == 0
        done = _empty_result(domain) if empty else result
        specs.append(NewJob(
            type=TYPE, params=params, priority=priority, tags=tags or [], run_at=run_at,
            dedupe_key=dedupe_key(params), max_attempts=settings.max_attempts,
            result=None if done is None else dict(done),
            completed_because=f"{NO_EMAILS} (Email Count): no search" if empty else None,
            saved_credits=result["saved_credits"] if result else 0,
        ))
    if any(spec.result is None for spec in specs):
        settings.require_key()  # refuse now rather than queue jobs that cannot run
    if verify:  # a collection served from state.db is verified straight away
        specs += [
            verify_runner.plan(settings, contacts.emails_of(db, spec.params["domain"]),
                               source=f"domain:{spec.params['domain']}",
                               max_age=settings.verify_max_age, priority=priority,
                               tags=tags or [], run_at=run_at, webhook=webhook)
            for spec in list(specs)
            if spec.result is not None and spec.result["emails_collected"]
        ]
    return specs


def run(ctx: JobContext) -> Result:
    params = ctx.job.params
    domain: str = params["domain"]
    max_results: int = params["max_results"]
    page_size = ctx.settings.page_size
    cp: dict[str, Any] = ctx.job.checkpoint or {
        "offset": 0, "pages": 0, "total": None, "emails": 0}

    if cp["pages"] == 0:
        # queued behind another collection of the same domain: one that finished after
        # this job was queued serves it (an older one was judged stale when it queued)
        cached = cached_result(ctx.db, params, ctx.job.created_at)
        if cached is not None:
            with ctx.db.atomic():
                ledger.record_cache_hit(ctx.db, TYPE, ctx.job.id, cached["saved_credits"])
            ctx.event("cached", "a fresh collection is in state.db: no API call")
            return cached

    stopped: str | None = None
    client = ctx.hunter()
    # how deep the plan lets a search read: known from the account, or learnt from a
    # first refusal (kept in the checkpoint, so a resumed job does not ask again)
    cap: int | None = cp.get("plan_cap")
    if cap is None and _free_plan(ctx):
        cap = FREE_PLAN_CAP
    ctx.set_progress(cp["offset"], _target(cp, max_results), "collecting")
    while True:
        offset = cp["offset"]
        if _done(cp, max_results):
            break
        if cap is not None and offset >= cap:
            stopped = _plan_stop(cp, cap)
            break
        limit = page_limit(offset, max_results, page_size, cap)
        try:
            page = ctx.call(partial(
                client.domain_search, domain, limit=limit, offset=offset,
                type=params.get("type"), seniority=params.get("seniority"),
                department=params.get("department")), endpoint="domain-search")
        except UnreadableAnswer as exc:
            # paid for, maybe: skip it rather than buy it again; --refresh asks again
            skipped = cp.get("skipped", 0) + 1
            in_a_row = cp.get("unreadable_in_a_row", 0) + 1
            with ctx.db.atomic():
                cp = {**cp, "offset": offset + limit, "skipped": skipped,
                      "unreadable_in_a_row": in_a_row}
                jobs.add_event(ctx.db, ctx.job.id, "skipped",
                               f"page at offset {offset}: {exc}")
                ctx.commit(cp, Progress(offset + limit, _target(cp, max_results),
                                        "collecting", f"skipped the page at offset {offset}"))
            if in_a_row >= UNREADABLE_IN_A_ROW:
                stopped = f"{in_a_row} pages in a row could not be read: {exc}"
                break
            ctx.check()
            continue
        except PaginationLimit as exc:
            if cap is None and offset + limit > FREE_PLAN_CAP:
                # Hunter's free plan refuses limit + offset > 10 (DOCS); the refusal is
                # not billed: ask again for what the plan lets through, if anything
                cap = FREE_PLAN_CAP
                cp = {**cp, "plan_cap": cap}
                ctx.event("plan_limit", f"{exc}; the plan lets a search read {cap} emails")
                continue
            stopped = str(exc)
            ctx.event("stopped", f"{stopped}; keeping the {cp['emails']} emails collected")
            break
        total = page.total if page.total is not None else cp["total"]
        if total is None and page.returned < limit:
            total = offset + page.returned  # a short page: Hunter has no more
        with ctx.db.atomic():
            contacts.save_contacts(ctx.db, domain, page.contacts, source=SOURCE,
                                   job_id=ctx.job.id)
            contacts.save_domain_facts(ctx.db, page.facts, total)
            for note in page.notes:
                jobs.add_event(ctx.db, ctx.job.id, "skipped", f"page at offset {offset}: {note}")
            cp = {
                "offset": offset + limit,
                "pages": cp["pages"] + 1,
                "total": total,
                "emails": cp["emails"] + len({c.email for c in page.contacts}),
                "organization": page.facts.organization,
                "pattern": page.facts.pattern,
                **({} if cap is None else {"plan_cap": cap}),
                **({"skipped": cp["skipped"]} if cp.get("skipped") else {}),
            }
            if not page.returned or _done(cp, max_results):
                # the last page and the job's end commit together
                return _finish(ctx, cp, None)
            if cap is not None and cp["offset"] >= cap:
                return _finish(ctx, cp, _plan_stop(cp, cap))
            target = _target(cp, max_results)
            ctx.commit(cp, Progress(min(cp["offset"], target or 0), target, "collecting",
                                    f"page {cp['pages']}: {cp['emails']} emails"))
        ctx.check()
    with ctx.db.atomic():
        return _finish(ctx, cp, stopped)


def _free_plan(ctx: JobContext) -> bool:
    plan = account.known_plan(ctx.db)
    return plan is not None and plan.is_free


def _plan_stop(cp: dict[str, Any], cap: int) -> str:
    """Why a collection on a capped plan ends here, and what a paid plan would add."""
    total = cp["total"] or 0
    return (f"your Hunter plan lets a search read {cap} emails per domain; Hunter has "
            f"{total} for this one ({max(0, total - cap)} more on a paid plan)")


def _finish(ctx: JobContext, cp: dict[str, Any], stopped: str | None) -> Result:
    """Inside the last step's transaction: the result, the collection's record, the
    verify follow-up if asked, and the job's end with its last checkpoint."""
    params = ctx.job.params
    domain: str = params["domain"]
    max_results: int = params["max_results"]
    target = _target(cp, max_results) or 0
    skipped = cp.get("skipped", 0)
    complete = stopped is None and not skipped and cp["offset"] >= (cp["total"] or 0)
    usage = ctx.usage()
    result: Result = {
        "domain": domain,
        "organization": cp.get("organization"),
        "pattern": cp.get("pattern"),
        "emails_collected": cp["emails"],
        "total_available": cp["total"] or 0,
        "pages_fetched": cp["pages"],
        "api_calls": usage["api_calls"],
        "credits": usage["credits"],
        "complete": complete,
    }
    if stopped:
        result["stopped_reason"] = stopped
    if skipped:
        result["pages_skipped"] = skipped
    if cp.get("plan_cap") is not None:
        result["plan_limit"] = cp["plan_cap"]
    if params.get("verify") and cp["emails"]:
        # the follow-up job is created with the result, so it cannot be lost
        spec = verify_runner.plan(ctx.settings, contacts.emails_of(ctx.db, domain),
                                  source=f"domain:{domain}", max_age=params["verify_max_age"],
                                  priority=ctx.job.priority, tags=ctx.job.tags,
                                  webhook=params.get("webhook"))
        [(follow_up, _)] = jobs.create(ctx.db, [spec])
        result["verify_job"] = follow_up.id
    contacts.record_collection(ctx.db, contacts.Collection(
        domain, filters_key(params),
        # a plan limit covers only what it let through, a skipped page only what was read
        cp["emails"] if stopped or skipped else max_results,
        cp["emails"], cp["total"] or 0, complete, ctx.job.id, time.time()))
    ctx.complete(result, summary(result), checkpoint=cp,
                 progress=Progress(cp["emails"] if stopped else target, target, "done"))
    return result


def _done(cp: dict[str, Any], max_results: int) -> bool:
    """Every page the ask covers is fetched."""
    target = _target(cp, max_results)
    return cp["offset"] >= max_results or (target is not None and cp["offset"] >= target)


def _target(cp: dict[str, Any], max_results: int) -> int | None:
    return None if cp["total"] is None else min(cp["total"], max_results)


# -- what the rest asks about a collect job ----------------------------------------------


def summary(result: Result) -> str:
    text = (f"{result['emails_collected']} emails, {result.get('pages_fetched', 0)} pages,"
            f" {result.get('api_calls', 0)} API calls")
    if result.get("cached"):
        text += " (served from state.db)"
    skipped = result.get("pages_skipped", 0)
    if skipped:
        text += (f"; {skipped} paid page{'s' if skipped > 1 else ''} could not be read:"
                 " skipped, not bought again (--refresh asks again)")
    if result.get("stopped_reason"):
        text += f"; stopped early: {result['stopped_reason']}"
    if result.get("verify_job"):
        text += f"; verifying them in job {result['verify_job']}"
    return text


def describe(result: Result) -> str:
    n = result.get("emails_collected")
    if result.get("plan_limit") and not result.get("complete", True):
        return f"completed: {n} of {result.get('total_available')} emails (your plan's limit)"
    cached = " (from state.db)" if result.get("cached") else ""
    if result.get("pages_skipped"):
        cached = f" ({result['pages_skipped']} unreadable paid pages skipped)"
    return f"completed: {n} emails{cached}" if n is not None else "completed"


def follow_ups(result: Result) -> list[int]:
    follow_up = result.get("verify_job")
    return [] if follow_up is None else [int(follow_up)]


def served(result: Result | None) -> Literal["state.db", "email count"] | None:
    """How a collect job was completed when it was planned, paying nothing: from a fresh
    collection in state.db, or because Email Count showed Hunter has no emails; None for
    a job that runs (or ran)."""
    if result and result.get("cached"):
        return "state.db"
    if result and result.get("note"):
        return "email count"
    return None


KIND = JobKind(TYPE, run, summary, describe, follow_ups=follow_ups)
