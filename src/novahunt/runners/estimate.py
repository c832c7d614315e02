"""What a `collect` would cost before anything is paid: Hunter's Email Count per domain.

Hunter bills a Domain Search by the emails it returns (HELP), so how many emails a domain
holds gives a collection's exact price, and Email Count tells that for free (DOCS). It is
throttled like every endpoint (15/s, 500/min per key), so each request reserves its slot
in the shared limiter first, the way a job's requests do (`JobContext.call`): this
command, other commands and running workers together stay under Hunter's rate. A few
threads keep the slots filled; the rate, not the threads, sets the pace.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from novahunt.config import Settings
from novahunt.errors import AuthError, PermanentError, QuotaExhausted, RateLimited, TransientError
from novahunt.providers.records import PROVIDER, CallRecord, EmailCount
from novahunt.runners import collect as collect_runner
from novahunt.runners.context import backoff
from novahunt.state import ledger, limiter
from novahunt.state.db import Database
from novahunt.state.jobs import NewJob

if TYPE_CHECKING:
    from novahunt.providers.hunter import HunterClient

__all__ = ["Estimate", "count_emails", "estimate", "matching"]

T = TypeVar("T")
ENDPOINT = "email-count"
THREADS = 4


@dataclass(frozen=True)
class Estimate:
    """One domain of a collect: what Hunter holds for the ask and what it would bill."""

    domain: str
    emails: int | None  # None: served from state.db, or Hunter refused to count it
    credits: int        # search credits the collection would bill
    at_most: bool       # a seniority/department filter: Hunter's breakdown bounds it
    cached: bool        # a fresh collection in state.db serves it: no request at all
    refused: str | None = None  # Hunter's refusal to count it: credits is then the
                                # most --max-results allows


def matching(count: EmailCount, seniority: str | None,
             department: str | None) -> tuple[int, bool]:
    """How many emails a Domain Search with these filters can return, and whether that
    is only an upper bound. Email Count takes `type` but not seniority or department;
    its breakdown by them bounds the answer (an email may have neither). A filter value
    missing from the breakdown (older answers list 10 departments, today's 14) leaves
    the bound to the total, never to 0, which would skip a domain that has emails."""
    emails, bounded = count.total, False
    for chosen, breakdown in ((seniority, count.seniority), (department, count.department)):
        if chosen:
            bounded = True
            names = chosen.split(",")
            if all(name in breakdown for name in names):
                emails = min(emails, sum(breakdown[name] for name in names))
    return emails, bounded


class _Stopped(Exception):
    """The command is interrupted: threads stop waiting for their slot."""


def _wait(stop: threading.Event, seconds: float) -> None:
    if seconds > 0 and stop.wait(seconds):
        raise _Stopped()


def _at_rate(db: Database, settings: Settings, fn: Callable[[], T],
             stop: threading.Event) -> T:
    """One request in its slot of the shared limiter, waiting out throttling and retrying
    transient failures as a job's step does (`JobContext.call`). Email Count is free:
    no quota pause applies to it."""
    bucket = f"{PROVIDER}:{ENDPOINT}"
    windows = settings.rates.get(ENDPOINT, ())
    throttles = transients = 0
    while True:
        at = limiter.reserve(db, bucket, windows, max_wait=settings.patience)
        if at is None:  # the bucket is booked further ahead than our patience: come back
            _wait(stop, min(settings.patience,
                            limiter.earliest(db, bucket, windows) - time.time()))
            continue
        _wait(stop, at - time.time())
        try:
            return fn()
        except RateLimited as exc:
            throttles += 1
            if throttles > settings.step_retries:
                raise
            wait = exc.retry_after
            if wait is None:
                wait = backoff(throttles, settings.backoff_base, settings.backoff_max)
            # another program shares the key: everyone sending to this bucket waits
            limiter.block(db, bucket, time.time() + wait, str(exc))
        except TransientError:
            transients += 1
            if transients > settings.step_retries:
                raise
            _wait(stop, backoff(transients, settings.backoff_base, settings.backoff_max))


def count_emails(db: Database, settings: Settings, domains: Sequence[str], *,
                 type: str | None = None, threads: int = THREADS,
                 on_progress: Callable[[int, int], None] | None = None,
                 ) -> dict[str, EmailCount | PermanentError]:
    """Email Count for each domain (free), or Hunter's refusal of that one domain.
    `on_progress(done, total)` is called from the calling thread after each answer. An
    error about the whole request (the key, the quota) or one that retries do not cure
    stops the rest and is raised; the requests made are in the ledger either way."""
    from novahunt.providers.hunter import HunterClient  # httpx: only when asking Hunter

    calls: list[tuple[float, CallRecord]] = []

    def record(call: CallRecord) -> None:
        calls.append((time.time(), call))  # list.append is atomic across threads

    stop = threading.Event()
    counts: dict[str, EmailCount | PermanentError] = {}
    client: HunterClient = HunterClient(settings.require_key(), settings.hunter_url,
                                        timeout=settings.http_timeout, on_call=record)

    def count(domain: str) -> EmailCount | PermanentError:
        try:
            return _at_rate(db, settings, lambda: client.email_count(domain, type=type), stop)
        except (AuthError, QuotaExhausted):
            raise
        except PermanentError as exc:  # about this domain: the others are still worth it
            return exc

    pool = ThreadPoolExecutor(max_workers=max(1, min(threads, len(domains))),
                              thread_name_prefix="novahunt-email-count")
    try:
        futures: dict[Future[EmailCount | PermanentError], str] = {
            pool.submit(count, domain): domain for domain in domains}
        for future in as_completed(futures):
            counts[futures[future]] = future.result()
            if on_progress is not None:
                on_progress(len(counts), len(domains))
    finally:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        client.close()
        if calls:
            with db.atomic():
                ledger.record_calls(db, calls, None)
    return counts


def estimate(db: Database, settings: Settings, specs: Sequence[NewJob], *, free: bool,
             on_progress: Callable[[int, int], None] | None = None) -> list[Estimate]:
    """The cost of each collect job of `specs` (from `collect.plan`), in their order:
    nothing for one served from state.db, else what Email Count says it would bill."""
    collects = [spec for spec in specs if spec.type == collect_runner.TYPE]
    asked = [spec for spec in collects if spec.result is None]
    counts: dict[str, EmailCount | PermanentError] = {}
    if asked:
        first = asked[0].params  # one command: the same filters on every job
        counts = count_emails(db, settings, [s.params["domain"] for s in asked],
                              type=first.get("type"), on_progress=on_progress)
    out = []
    for spec in collects:
        domain = spec.params["domain"]
        if spec.result is not None:
            out.append(Estimate(domain, None, 0, False, True))
            continue
        count = counts[domain]
        if isinstance(count, PermanentError):
            # not counted: priced at what --max-results (or the free plan) lets it read
            most = collect_runner.collection_cost(spec.params["max_results"],
                                                  spec.params["max_results"],
                                                  settings.page_size, free=free)
            out.append(Estimate(domain, None, most, True, False, refused=str(count)))
            continue
        emails, at_most = matching(count, spec.params.get("seniority"),
                                   spec.params.get("department"))
        credits = collect_runner.collection_cost(emails, spec.params["max_results"],
                                                 settings.page_size, free=free)
        out.append(Estimate(domain, emails, credits, at_most, False))
    return out
