"""The API-call ledger and the cache-hit log: what the work cost and what it saved.

Every provider request is a row (endpoint, HTTP status, job, time, credits billed). A
job's requests are written with the step they belong to, in its transaction: a page
and the call that paid for it commit together. A request whose step never commits
(the answer was an error, the step rolled back) is written by the job's next
transaction or, at the latest, when its run ends, so it is still on the bill. Only a
process killed between an answer and that commit loses the row, as it loses the page.
`summary` reads both for `novahunt stats`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, TypedDict

from novahunt.providers.records import CallRecord
from novahunt.state.base import Database

_INSERT_CALL = (
    "INSERT INTO api_calls (at, provider, endpoint, status, error_id, job_id, duration_ms,"
    " detail, credits, credit_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def record_call(db: Database, call: CallRecord, job_id: int | None) -> None:
    """Write one request at once, in its own transaction."""
    with db.atomic():
        record_calls(db, [(time.time(), call)], job_id)


def record_calls(db: Database, calls: Sequence[tuple[float, CallRecord]],
                 job_id: int | None) -> None:
    """Write requests made at the given times; inside the caller's transaction."""
    db.executemany(_INSERT_CALL, [
        (at, c.provider, c.endpoint, c.status, c.error_id, job_id, c.duration_ms, c.detail,
         c.credits, c.credit_kind) for at, c in calls])


class Usage(TypedDict):
    """What a job's requests were and cost, as its result carries it."""

    api_calls: int
    credits: float   # 0.5 steps: a verification on a single-credit plan


def amount(value: float | None) -> float:
    """A credit figure as data: whole numbers as ints (3, not 3.0), halves as 0.5. SQLite
    and PostgreSQL sum REAL columns to floats; JSON and /metrics should not show it."""
    number = round(float(value or 0), 4)
    return int(number) if number.is_integer() else number


def credits_text(value: float | None) -> str:
    """A credit figure for people: "3", "0.5", "1250.5"."""
    return str(amount(value))


def usage_of_job(db: Database, job_id: int) -> Usage:
    """What a job's requests were and cost: `{"api_calls": n, "credits": n}`."""
    row = db.one("SELECT COUNT(*), COALESCE(SUM(credits), 0) FROM api_calls WHERE job_id = ?",
                 (job_id,))
    return {"api_calls": int(row[0]) if row else 0, "credits": amount(row[1]) if row else 0}


def record_cache_hit(db: Database, kind: str, job_id: int | None,
                     saved_credits: float) -> None:
    db.execute("INSERT INTO cache_hits (at, kind, job_id, saved_credits) VALUES (?, ?, ?, ?)",
               (time.time(), kind, job_id, saved_credits))


def summary(db: Database, since: float) -> dict[str, Any]:
    requests = [
        {"provider": r["provider"], "endpoint": r["endpoint"], "status": r["status"],
         "count": r["n"], "credits": amount(r["credits"])}
        for r in db.query(
            "SELECT provider, endpoint, status, COUNT(*) AS n, COALESCE(SUM(credits), 0)"
            " AS credits FROM api_calls WHERE at >= ? GROUP BY provider, endpoint, status"
            " ORDER BY provider, endpoint, status", (since,))
    ]
    credits = {
        r["credit_kind"]: amount(r["n"]) for r in db.query(
            "SELECT credit_kind, SUM(credits) AS n FROM api_calls WHERE at >= ?"
            " AND credit_kind IS NOT NULL GROUP BY credit_kind ORDER BY credit_kind", (since,))
    }
    hits = {
        r["kind"]: {"count": r["n"], "saved_credits": amount(r["saved"])} for r in db.query(
            "SELECT kind, COUNT(*) AS n, COALESCE(SUM(saved_credits), 0) AS saved"
            " FROM cache_hits WHERE at >= ? GROUP BY kind ORDER BY kind", (since,))
    }
    span = db.one("SELECT MIN(at) AS first, MAX(at) AS last FROM api_calls WHERE at >= ?",
                  (since,))
    total = sum(r["count"] for r in requests)
    ok = sum(r["count"] for r in requests if 200 <= r["status"] < 300)
    return {
        "requests": requests,
        "requests_total": total,
        "request_success_rate": round(ok / total, 4) if total else None,
        "throttled": sum(r["count"] for r in requests if r["status"] in (403, 429)),
        "credits": credits,
        "cache_hits": hits,
        "first_request_at": span["first"] if span else None,
        "last_request_at": span["last"] if span else None,
    }
