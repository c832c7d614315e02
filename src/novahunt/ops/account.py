"""The provider account: the plan, what is left of each kind of credit, and lifting a
quota pause when that kind of credit is back. Asking Hunter's account endpoint costs no
credit.

Hunter bills two kinds of credit: searches (Domain Search, Email Finder) and
verifications (Email Verifier). With separate quotas each runs out on its own (HELP), so
a quota error pauses its kind only (pause keys "hunter:search", "hunter:verification"):
collect jobs go on while verifications are spent. On a single-credit plan both draw on
one bucket, read from `credits.remaining` (never available - used): a search needs one
credit left, a verification half of one.

The last account answer is kept in state.db (`known_plan`) and written whenever anything
asks Hunter for it (`fetch`: `novahunt account`, doctor, collect's credit check, the
worker at start and in its quota check). Every job's bill depends on the plan, so a
process reads it from state.db at most once a minute, not once a job.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from novahunt.config import Settings
from novahunt.errors import NovahuntError, ProviderError
from novahunt.providers.records import PROVIDER, Account, CallRecord
from novahunt.queue import dispatch
from novahunt.state import ledger, quotas
from novahunt.state.db import Database

SEARCH = "search"
VERIFICATION = "verification"
KINDS = (SEARCH, VERIFICATION)
# the kind of credit each paid endpoint spends; account and email-count are free and
# never paused
KIND_OF_ENDPOINT = {"domain-search": SEARCH, "email-finder": SEARCH,
                    "email-verifier": VERIFICATION}
# how long a process trusts its copy of the known plan before reading state.db again
PLAN_TTL = 60.0

_plans: dict[str, tuple[float, Account | None]] = {}   # db location -> (read at, plan)
_plans_lock = threading.Lock()


def pause_key(kind: str, provider: str = PROVIDER) -> str:
    """What a quota pause is kept under: "hunter:search", "hunter:verification"."""
    return f"{provider}:{kind}"


def kind_of(key: str) -> str:
    """"hunter:search" -> "search"."""
    return key.partition(":")[2]


def price(plan: Account | None, kind: str) -> float:
    """What one billed request of `kind` costs on `plan` (unknown: as with separate
    quotas)."""
    return 0.5 if kind == VERIFICATION and plan is not None and plan.single_credit else 1.0


def fetch(db: Database, settings: Settings, *, keep: bool = True) -> Account:
    """Ask Hunter for the account (free) and keep the answer as the known plan; with
    `keep=False` nothing is written (doctor only reports, also on a full disk)."""
    from novahunt.providers.hunter import HunterClient  # httpx: only when asking Hunter

    def record(call: CallRecord) -> None:
        if keep:
            ledger.record_call(db, call, None)

    with HunterClient(settings.require_key(), settings.hunter_url,
                      timeout=settings.http_timeout, on_call=record) as client:
        info = client.account()
    if keep:
        remember(db, info)
    return info


def remember(db: Database, info: Account) -> None:
    quotas.save_account(db, PROVIDER, info.raw, time.time())
    with _plans_lock:
        _plans[db.location] = (time.monotonic(), info)


def known_plan(db: Database) -> Account | None:
    """The last account answer this installation saw (any process, any host sharing
    the database), or None if Hunter was never asked. Read from state.db at most once
    every PLAN_TTL seconds per process."""
    now = time.monotonic()
    with _plans_lock:
        cached = _plans.get(db.location)
    if cached is not None and now - cached[0] < PLAN_TTL:
        return cached[1]
    saved = quotas.saved_account(db, PROVIDER)
    plan = None
    if saved is not None:
        from novahunt.providers.hunter import parse_account

        plan = parse_account(saved[0])
    with _plans_lock:
        _plans[db.location] = (now, plan)
    return plan


def learn_plan(db: Database, settings: Settings) -> Account:
    """The plan for a worker about to start: the kept answer when it is under PLAN_TTL
    old (`collect` has just asked, say), else a fresh one from Hunter (free)."""
    saved = quotas.saved_account(db, PROVIDER)
    if saved is not None and time.time() - saved[1] < PLAN_TTL:
        plan = known_plan(db)
        if plan is not None:
            return plan
    return fetch(db, settings)


def credits_left(info: Account, kind: str) -> float | None:
    """Credits of `kind` left: the one bucket's `remaining` on a single-credit plan,
    else that kind's quota; None when the account does not say."""
    if info.single_credit:
        return info.credits_remaining
    left = info.searches_left if kind == SEARCH else info.verifications_left
    return None if left is None else float(left)


def has_credits(info: Account, kind: str = SEARCH) -> bool:
    """Enough left for one more billed request of `kind` (unknown counts as yes: the
    next request will tell)."""
    left = credits_left(info, kind)
    return left is None or left >= price(info, kind)


def paused_kinds(db: Database) -> dict[str, str]:
    """The provider's paused kinds of credit: {kind: reason}."""
    prefix = pause_key("")
    return {kind_of(key): reason for key, reason in quotas.provider_pauses(db).items()
            if key.startswith(prefix)}


def resume_if_credits(db: Database, settings: Settings,
                      info: Account | None = None) -> int | None:
    """Lift each paused kind whose credits the account shows again. Returns how many
    waiting jobs were woken, or None if nothing was paused or no paused kind has
    credits yet. Asks Hunter (free) only when something is paused."""
    paused = paused_kinds(db)
    if not paused:
        return None
    info = info or fetch(db, settings)
    woken: int | None = None
    for kind in paused:
        if has_credits(info, kind):
            woken = (woken or 0) + dispatch.resume(db, pause_key(kind))
    return woken


@dataclass(frozen=True)
class Resumed:
    """`novahunt resume`, per paused kind: lifted (and how many jobs woke), or not."""

    kind: str
    lifted: bool
    woken: int
    left: float | None     # credits of this kind the account shows (None: not asked)
    reset_date: str | None


def resume(db: Database, settings: Settings, *, force: bool = False) -> list[Resumed]:
    """Lift the paused kinds that have credits again; with `force`, every paused kind
    without asking. A kind with none left stays paused: its jobs would meet the same
    402 again."""
    paused = paused_kinds(db)
    if not paused:
        return []
    info = None
    if not force:
        try:
            info = fetch(db, settings)
        except ProviderError as exc:  # Hunter's answer, not our own database
            raise NovahuntError(f"could not ask Hunter whether credits are back ({exc}); "
                                "`novahunt resume --force` lifts the pause anyway") from exc
    done = []
    for kind in paused:
        left = None if info is None else credits_left(info, kind)
        if info is None or has_credits(info, kind):
            done.append(Resumed(kind, True, dispatch.resume(db, pause_key(kind)), left,
                                None if info is None else info.reset_date))
        else:
            done.append(Resumed(kind, False, 0, left, info.reset_date))
    return done
