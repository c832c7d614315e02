"""The provider account: plan and credits left, and lifting a quota pause when
credits are back. Asking Hunter's account endpoint costs no credit."""

from __future__ import annotations

from novahunt import dispatch, ledger, store
from novahunt.config import Settings
from novahunt.db import Database
from novahunt.providers.records import PROVIDER, Account, CallRecord


def fetch(db: Database, settings: Settings) -> Account:
    from novahunt.providers.hunter import HunterClient  # httpx: only when asking Hunter

    def record(call: CallRecord) -> None:
        ledger.record_call(db, call, None)

    with HunterClient(settings.require_key(), settings.hunter_url,
                      timeout=settings.http_timeout, on_call=record) as client:
        return client.account()


def has_credits(account: Account) -> bool:
    left = account.searches_left
    return left is None or left > 0


def resume_if_credits(db: Database, settings: Settings,
                      account: Account | None = None) -> int | None:
    """If the provider is paused and the account shows credits, lift the pause.
    Returns how many waiting jobs were woken, or None if nothing was paused or no
    credits are there yet."""
    if store.provider_pause(db, PROVIDER) is None:
        return None
    account = account or fetch(db, settings)
    if not has_credits(account):
        return None
    return dispatch.resume(db, PROVIDER)
