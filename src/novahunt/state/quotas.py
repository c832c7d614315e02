"""Quota pauses and the provider's plan: which kinds of credit must not be spent now,
and the provider's last account answer, which tells when they may be again.

A pause is keyed by provider and kind of credit ("hunter:search"): with separate quotas,
one kind running out leaves the other usable. The column keeps its old name, `provider`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from novahunt.state.base import Database


def pause_provider(db: Database, provider: str, reason: str, job_id: int | None) -> None:
    """Pause `provider` (a pause key: "hunter:search", "hunter:verification")."""
    db.execute(
        "INSERT INTO provider_pauses (provider, reason, job_id, since) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (provider) DO NOTHING", (provider, reason, job_id, time.time()))


def provider_pause(db: Database, provider: str) -> str | None:
    reason = db.scalar("SELECT reason FROM provider_pauses WHERE provider = ?", (provider,))
    return None if reason is None else str(reason)


def provider_pauses(db: Database) -> dict[str, str]:
    """Every pause now: {pause key: reason}."""
    return {str(r[0]): str(r[1]) for r in db.query(
        "SELECT provider, reason FROM provider_pauses ORDER BY provider")}


def save_account(db: Database, provider: str, answer: dict[str, Any], at: float) -> None:
    """Keep the provider's last account answer (its `data`), the newest one winning."""
    with db.atomic():
        db.execute(
            "INSERT INTO provider_accounts (provider, answer, fetched_at) VALUES (?, ?, ?)"
            " ON CONFLICT (provider) DO UPDATE SET answer = excluded.answer,"
            " fetched_at = excluded.fetched_at"
            " WHERE excluded.fetched_at >= provider_accounts.fetched_at",
            (provider, json.dumps(answer), at))


def saved_account(db: Database, provider: str) -> tuple[dict[str, Any], float] | None:
    """The provider's last account answer and when it was fetched, if any."""
    row = db.one("SELECT answer, fetched_at FROM provider_accounts WHERE provider = ?",
                 (provider,))
    return None if row is None else (json.loads(row[0]), float(row[1]))


def resume_provider(db: Database, provider: str) -> bool:
    with db.atomic():
        cur = db.execute("DELETE FROM provider_pauses WHERE provider = ?", (provider,))
    return cur.rowcount > 0
