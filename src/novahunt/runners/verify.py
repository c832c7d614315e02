"""Verify a list of emails through Hunter's Email Verifier, paying once per email.

For each item, cheapest first: a bad syntax or a special-use domain (`.test`,
`.local`, ...) is decided locally; a cached answer within
`max_age` is free, and so is what Hunter already said of the address (a fresh verdict
from a Domain Search or the Email Finder, or a domain that accepts all mail); otherwise
the job claims the email (single flight across jobs), asks Hunter, and stores the answer
and the item's state in one transaction. 202 and 222 are not answers: the item is
deferred and asked again later while the rest of the list goes on; it is never cached.
Hunter refusing one address (400 invalid_email, 451) is recorded on that item with
Hunter's reason, and the list goes on; so is a 200 that cannot be read (it may have been
billed): the item is left unverified, never asked again within the job.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial
from typing import Any, TypedDict

from novahunt.config import Settings
from novahunt.errors import DataClaimed, ItemRefused, NotReady, UnreadableAnswer
from novahunt.inputs import emails
from novahunt.ops import account
from novahunt.runners.context import JobContext, Postpone, backoff
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.state import items, jobs, ledger, verifications
from novahunt.state.jobs import NewJob, Progress

TYPE = "verify"
ENDPOINT = "email-verifier"
NOT_READY_TRIES = 6          # 202/222 answers before an email is left unverified
CLAIM_RETRY = 1.0            # seconds before looking again at an email another job holds


class Result(TypedDict):
    """A verify job's result: how each email of the list was answered."""

    emails: int
    verified: int            # asked Hunter (and paid)
    cached: int              # answered from the verification cache
    known: int               # answered by what Hunter had already said (Domain Search,
                             # Finder, accept_all)
    invalid_syntax: int
    claimed: int             # 451: the person asked not to be processed
    refused: int             # Hunter refused the address
    unverified: int          # no final answer after NOT_READY_TRIES
    by_status: dict[str, int]
    api_calls: int
    credits: float


def plan(settings: Settings, values: list[str], *, source: str, max_age: float,
         recheck: bool = False, priority: int = 3, tags: list[str] | None = None,
         run_at: float | None = None, webhook: str | None = None) -> NewJob:
    """One verify job over the distinct normalised emails, in input order."""
    distinct = list(dict.fromkeys(emails.normalise(v) for v in values if v.strip()))
    settings.require_key()
    params: dict[str, Any] = {"source": source, "emails": len(distinct), "max_age": max_age,
                              "recheck": recheck, "target": source}
    params.update(webhook_param(settings, webhook))
    return NewJob(
        type=TYPE, priority=priority, tags=tags or [], run_at=run_at,
        max_attempts=settings.max_attempts, items=distinct, params=params,
    )


def run(ctx: JobContext) -> Result:
    params = ctx.job.params
    max_age: float = params["max_age"]
    recheck: bool = params.get("recheck", False)
    total: int = params["emails"]
    client = ctx.hunter()
    # counted once, then kept in step with each item's commit (the checkpoint)
    counts = items.outcomes(ctx.db, ctx.job.id)
    done, text = _summary(counts, total)
    ctx.set_progress(done, total, "verifying", text, force=True)
    while True:
        item = items.next_item(ctx.db, ctx.job.id, time.time())
        if item is None:
            due = items.next_deferred_at(ctx.db, ctx.job.id)
            if due is None:
                break
            wait = due - time.time()
            if wait > ctx.settings.patience:
                raise Postpone(wait, "waiting for answers Hunter has not finished")
            if wait > 0:
                ctx.sleep(wait, "waiting", "waiting for answers Hunter has not finished")
            continue
        ctx.check()
        email = item.value
        since = time.time() - max_age
        refused = emails.refusal(email)
        cached = None if recheck else verifications.fresh(ctx.db, email, since)
        known = None if recheck or cached else verifications.known_verdict(
            ctx.db, email, since)
        if refused is not None:  # bad syntax or a special-use domain: never sent, never paid
            with ctx.db.atomic():
                verifications.save_local(ctx.db, email, "invalid", refused.reason,
                                         refused.source, "undeliverable")
                items.done(ctx.db, item, "invalid_syntax")
                _commit(ctx, total, counts, "invalid_syntax")
            continue
        if cached is not None or known is not None:
            _serve_cached(ctx, item, total, counts, known)
            continue
        if not verifications.claim(ctx.db, email, ctx.job.id,
                                   time.time() + ctx.settings.lease):
            with ctx.db.atomic():  # another job is asking right now: its answer will do
                items.defer(ctx.db, item, time.time() + CLAIM_RETRY, count_try=False)
            continue
        if not recheck and verifications.fresh(ctx.db, email, since) is not None:
            # another job answered it between our cache look-up and our claim
            _serve_cached(ctx, item, total, counts, None)
            continue
        try:
            answer = ctx.call(partial(client.email_verifier, email), endpoint=ENDPOINT)
        except NotReady as exc:
            with ctx.db.atomic():
                verifications.release(ctx.db, email, ctx.job.id)
                if item.tries + 1 >= NOT_READY_TRIES:
                    items.done(ctx.db, item, "unverified")
                    jobs.add_event(ctx.db, ctx.job.id, "unverified",
                                   f"{email}: {exc}; gave up after {NOT_READY_TRIES} tries")
                    _commit(ctx, total, counts, "unverified")
                else:
                    base = ctx.settings.backoff_base
                    wait = max(base, backoff(item.tries + 1, 2 * base, 120.0))
                    items.defer(ctx.db, item, time.time() + wait, count_try=True)
            continue
        except UnreadableAnswer as exc:
            # Hunter may have billed it: not asked again, and no verdict is cached
            with ctx.db.atomic():
                verifications.release(ctx.db, email, ctx.job.id)
                items.done(ctx.db, item, "unverified", {"reason": str(exc)})
                jobs.add_event(ctx.db, ctx.job.id, "unverified", f"{email}: {exc}")
                _commit(ctx, total, counts, "unverified")
            continue
        except ItemRefused as exc:
            outcome = "claimed" if isinstance(exc, DataClaimed) else "refused"
            with ctx.db.atomic():
                _save_refusal(ctx, email, exc)
                verifications.release(ctx.db, email, ctx.job.id)
                items.done(ctx.db, item, outcome, {"reason": str(exc)})
                _commit(ctx, total, counts, outcome)
            continue
        with ctx.db.atomic():
            verifications.save(ctx.db, answer)
            verifications.release(ctx.db, email, ctx.job.id)
            items.done(ctx.db, item, "verified")
            _commit(ctx, total, counts, "verified")

    counts = items.outcomes(ctx.db, ctx.job.id)
    statuses = verifications.statuses_of_job(ctx.db, ctx.job.id)
    usage = ctx.usage()
    return {
        "emails": total,
        "verified": counts.get("verified", 0),
        "cached": counts.get("cached", 0),
        # answered by what Hunter had already said (Domain Search, Finder, accept_all)
        "known": counts.get("known", 0),
        "invalid_syntax": counts.get("invalid_syntax", 0),
        "claimed": counts.get("claimed", 0),
        "refused": counts.get("refused", 0),
        "unverified": counts.get("unverified", 0),
        "by_status": statuses,
        "api_calls": usage["api_calls"],
        "credits": usage["credits"],
    }


def _saved(ctx: JobContext) -> float:
    """What a verification not bought saved: 1 credit, or 0.5 on a single-credit plan."""
    return account.price(account.known_plan(ctx.db), account.VERIFICATION)


def _save_refusal(ctx: JobContext, email: str, exc: ItemRefused) -> None:
    if isinstance(exc, DataClaimed):
        verifications.save_claimed(ctx.db, email, str(exc))
    else:
        verifications.save_refused(ctx.db, email, str(exc))


def _save_known(ctx: JobContext, email: str, known: verifications.KnownVerdict) -> None:
    verifications.save_local(ctx.db, email, known.status, known.reason, known.source,
                             known.result)


def _serve_cached(ctx: JobContext, item: items.Item, total: int, counts: dict[str, int],
                  known: verifications.KnownVerdict | None) -> None:
    """Answer an item from the cache (or from what Hunter already said of it)."""
    with ctx.db.atomic():
        verifications.release(ctx.db, item.value, ctx.job.id)
        if known is None:
            verifications.touch(ctx.db, item.value)
        else:
            _save_known(ctx, item.value, known)
        ledger.record_cache_hit(ctx.db, TYPE, ctx.job.id, _saved(ctx))
        items.done(ctx.db, item, "cached" if known is None else "known")
        _commit(ctx, total, counts, "cached" if known is None else "known")


def _summary(counts: dict[str, int], total: int) -> tuple[int, str]:
    done = sum(n for k, n in counts.items() if k != "remaining")
    text = (f"{counts.get('verified', 0)} verified, "
            f"{counts.get('cached', 0) + counts.get('known', 0)} cached, "
            f"{total - done} remaining")
    return done, text


def _commit(ctx: JobContext, total: int, counts: dict[str, int], outcome: str) -> None:
    """Inside the item's transaction: count the outcome, move checkpoint and progress."""
    counts[outcome] = counts.get(outcome, 0) + 1
    done, text = _summary(counts, total)
    ctx.commit({"done": done}, Progress(done, total, "verifying", text))


def verify_now(ctx: JobContext, email: str, *, max_age: float,
               recheck: bool = False) -> verifications.Cached | None:
    """Verify one address now, through the cache and single flight, for jobs that need
    an answer before they go on (generate, enrich). Returns the cache row, or None when
    Hunter had no final answer after a few tries or its answer could not be read."""
    email = emails.normalise(email)
    since = time.time() - max_age
    refused = emails.refusal(email)
    if refused is not None:
        with ctx.db.atomic():
            verifications.save_local(ctx.db, email, "invalid", refused.reason,
                                     refused.source, "undeliverable")
        return verifications.stored(ctx.db, email)
    tries = 0
    while True:
        cached = None if recheck else verifications.fresh(ctx.db, email, since)
        if cached is not None:
            with ctx.db.atomic():
                verifications.touch(ctx.db, email)
                ledger.record_cache_hit(ctx.db, TYPE, ctx.job.id, _saved(ctx))
            return cached
        known = None if recheck else verifications.known_verdict(ctx.db, email, since)
        if known is not None:
            with ctx.db.atomic():
                _save_known(ctx, email, known)
                ledger.record_cache_hit(ctx.db, TYPE, ctx.job.id, _saved(ctx))
            return verifications.stored(ctx.db, email)
        if not verifications.claim(ctx.db, email, ctx.job.id,
                                   time.time() + ctx.settings.lease):
            ctx.sleep(CLAIM_RETRY, "waiting", f"another job is verifying {email}")
            continue
        try:
            answer = ctx.call(partial(ctx.hunter().email_verifier, email), endpoint=ENDPOINT)
        except NotReady as exc:
            with ctx.db.atomic():
                verifications.release(ctx.db, email, ctx.job.id)
            tries += 1
            if tries >= NOT_READY_TRIES:
                ctx.event("unverified", f"{email}: {exc}; gave up after {tries} tries")
                return None
            base = ctx.settings.backoff_base
            ctx.sleep(max(base, backoff(tries, 2 * base, 120.0)), "waiting", str(exc))
            continue
        except UnreadableAnswer as exc:
            with ctx.db.atomic():
                verifications.release(ctx.db, email, ctx.job.id)
            ctx.event("unverified", f"{email}: {exc}")
            return None
        except ItemRefused as exc:
            with ctx.db.atomic():
                _save_refusal(ctx, email, exc)
                verifications.release(ctx.db, email, ctx.job.id)
            return verifications.stored(ctx.db, email)
        with ctx.db.atomic():
            verifications.save(ctx.db, answer)
            verifications.release(ctx.db, email, ctx.job.id)
        # an `unknown` is read back too: the cache will not serve it later, but this
        # caller asked now
        return verifications.stored(ctx.db, email)


def deliverable(row: verifications.Cached | None) -> bool:
    return row is not None and (row.status == "valid" or row.result == "deliverable")


# -- what the rest asks about a verify job -----------------------------------------------


def summary(result: Result) -> str:
    text = (f"{result['emails']} emails: {result['verified']} verified, "
            f"{result['cached']} from the cache, ")
    if result.get("known"):
        text += f"{result['known']} already verified by Hunter, "
    if result.get("refused"):
        text += f"{result['refused']} refused by Hunter, "
    return text + (f"{result['invalid_syntax']} bad syntax, "
                   f"{result['api_calls']} API calls")


def describe(result: Result) -> str:
    text = (f"completed: {result['verified']} verified, "
            f"{result['cached'] + result.get('known', 0)} cached, "
            f"{result['invalid_syntax']} bad syntax")
    return text + (f", {result['refused']} refused by Hunter" if result.get("refused") else "")


def target(params: Mapping[str, Any]) -> str:
    return f"{params.get('emails')} emails ({params.get('source')})"


KIND = JobKind(TYPE, run, summary, describe, target=target)
