"""The verification cache: one row per email, and single-flight claims.

A verification is paid per email, so the cache is consulted before every call: within
`max_age` an answer (or Hunter's own fresh verification from a Domain Search) is free.
Two jobs reaching the same email at once do not both pay: the first *claims* it for a
lease; the other defers that email and finds the answer in the cache when it comes back.
A claim expires with its lease, so a killed worker's claim does not block forever.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from novahunt.providers.records import Verification
from novahunt.state.base import Database, Row, chunked

FIELDS = ("email", "status", "result", "score", "reason", "source", "first_verified_at",
          "last_verified_at", "asked_count")


@dataclass(frozen=True)
class Cached:
    email: str
    status: str
    result: str | None
    score: int | None
    reason: str | None
    source: str
    first_verified_at: float
    last_verified_at: float
    asked_count: int


def _cached(row: Row) -> Cached:
    return Cached(*(row[f] for f in FIELDS))


def stored(db: Database, email: str) -> Cached | None:
    """The row for `email` as it stands, whatever its age or status (`unknown` too):
    what a job that just answered an address reads back."""
    row = db.one(f"SELECT {', '.join(FIELDS)} FROM verifications WHERE email = ?", (email,))
    return None if row is None else _cached(row)


def fresh(db: Database, email: str, since: float) -> Cached | None:
    """The cached answer for `email` if it is younger than `since`. An `unknown` from
    the Verifier is not an answer worth keeping: Hunter does not bill it and may know
    more next time (HELP, PLUG), so it is asked again instead of served for a month."""
    row = db.one(f"SELECT {', '.join(FIELDS)} FROM verifications WHERE email = ?"
                 " AND last_verified_at >= ? AND status <> 'unknown'", (email, since))
    return None if row is None else _cached(row)


# what Hunter itself already said of an address, and what a verification would answer
_RESULT_OF = {"valid": "deliverable", "invalid": "undeliverable", "accept_all": "risky"}


@dataclass(frozen=True)
class KnownVerdict:
    """A verdict Hunter already gave without the Verifier: a Domain Search or Email
    Finder entry's fresh `verification.status`, or the domain's `accept_all`."""

    status: str
    result: str
    reason: str
    source: str


def known_verdict(db: Database, email: str, since: float) -> KnownVerdict | None:
    """Hunter's own fresh verdict of `email`, so the Verifier need not be paid for it.

    Hunter's tools skip re-verifying an address whose fresh verdict (valid, invalid,
    accept_all) Domain Search or the Finder gave, and addresses on a domain that accepts
    all mail: those re-checks are billed and answer the same (MCP verificationDecision,
    PLUG)."""
    cutoff = datetime.fromtimestamp(since, UTC).date().isoformat()
    row = db.one(
        "SELECT verification_status, verification_date, source FROM contacts"
        " WHERE email = ? AND verification_status IN ('valid', 'invalid', 'accept_all')"
        " AND verification_date >= ? ORDER BY verification_date DESC LIMIT 1",
        (email, cutoff))
    if row is not None:
        status = str(row[0])
        return KnownVerdict(status, _RESULT_OF[status], f"Hunter verified it on {row[1]}",
                            str(row[2]))
    domain = email.rpartition("@")[2]
    if db.scalar("SELECT 1 FROM domains WHERE domain = ? AND accept_all = 1"
                 " AND updated_at >= ?", (domain, since)) is not None:
        return KnownVerdict("accept_all", "risky",
                            f"{domain} accepts all mail (Hunter's Domain Search)",
                            "hunter_domain_search")
    return None


def _upsert(db: Database, email: str, status: str, result: str | None, score: int | None,
            answer: dict[str, Any] | None, reason: str | None, source: str) -> None:
    now = time.time()
    db.execute(
        "INSERT INTO verifications (email, status, result, score, answer, reason, source,"
        " first_verified_at, last_verified_at, asked_count)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
        " ON CONFLICT (email) DO UPDATE SET status = excluded.status,"
        " result = excluded.result, score = excluded.score, answer = excluded.answer,"
        " reason = excluded.reason, source = excluded.source,"
        " last_verified_at = excluded.last_verified_at,"
        " asked_count = verifications.asked_count + 1",
        (email, status, result, score, None if answer is None else json.dumps(answer),
         reason, source, now, now))


def save(db: Database, v: Verification) -> None:
    _upsert(db, v.email, v.status, v.result, v.score, v.answer, None, "hunter_email_verifier")


def save_local(db: Database, email: str, status: str, reason: str, source: str,
               result: str | None = None) -> None:
    _upsert(db, email, status, result, None, None, reason, source)


def save_refused(db: Database, email: str, reason: str) -> None:
    """Hunter refused the address itself (400 invalid_email): it is not one Hunter
    can verify, so it is kept as invalid with Hunter's reason."""
    _upsert(db, email, "invalid", "undeliverable", None, None, reason, "hunter_refused")


def save_claimed(db: Database, email: str, reason: str) -> None:
    """451: the person asked Hunter to stop processing their data. Record that, and
    keep no personal details about the address."""
    _upsert(db, email, "claimed", None, None, None, reason, "hunter_claimed")
    db.execute(
        "UPDATE contacts SET first_name = NULL, last_name = NULL, position = NULL,"
        " position_raw = NULL, department = NULL, seniority = NULL, linkedin = NULL,"
        " twitter = NULL, phone_number = NULL, sources = '[]' WHERE email = ?", (email,))
    # what an Email Finder answer said about the person goes too (m012 keeps it)
    db.execute(
        "UPDATE person_lookups SET position = NULL, linkedin = NULL, twitter = NULL,"
        " phone_number = NULL WHERE email = ?", (email,))


def touch(db: Database, email: str) -> None:
    db.execute("UPDATE verifications SET asked_count = asked_count + 1 WHERE email = ?",
               (email,))


def claim(db: Database, email: str, job_id: int, until: float) -> bool:
    """Take the right to verify `email` now; False if another job holds it."""
    now = time.time()
    with db.atomic():
        row = db.one(
            "INSERT INTO verification_claims (email, job_id, until) VALUES (?, ?, ?)"
            " ON CONFLICT (email) DO UPDATE SET job_id = excluded.job_id,"
            " until = excluded.until WHERE verification_claims.until < ?"
            " OR verification_claims.job_id = excluded.job_id RETURNING job_id",
            (email, job_id, until, now))
    return row is not None


def release(db: Database, email: str, job_id: int) -> None:
    db.execute("DELETE FROM verification_claims WHERE email = ? AND job_id = ?",
               (email, job_id))


def statuses_of_job(db: Database, job_id: int) -> dict[str, int]:
    """How many of a verify job's addresses the cache holds as each status."""
    return {r[0]: r[1] for r in db.query(
        "SELECT v.status, COUNT(*) FROM job_items i JOIN verifications v"
        " ON v.email = i.value WHERE i.job_id = ? GROUP BY v.status", (job_id,))}


def lookup(db: Database, emails: Sequence[str]) -> dict[str, Cached]:
    found: dict[str, Cached] = {}
    for chunk, marks in chunked(emails):
        for row in db.query(
                f"SELECT {', '.join(FIELDS)} FROM verifications WHERE email IN ({marks})",
                chunk):
            found[row["email"]] = _cached(row)
    return found


def listing(db: Database, emails: Sequence[str] = (), status: str | None = None,
            limit: int | None = None) -> Iterator[Cached]:
    """The cache by email (only `emails` when given, of `status` when given)."""
    if not emails:
        yield from _listing(db, [], status, limit)
        return
    # one IN list per chunk, merged: the order and the limit are the whole listing's
    found = sorted((c for chunk, marks in chunked(list(dict.fromkeys(emails)))
                    for c in _listing(db, chunk, status, None, marks)),
                   key=lambda c: c.email)
    yield from found[:limit] if limit else found


def _listing(db: Database, emails: list[str], status: str | None, limit: int | None,
             marks: str = "") -> Iterator[Cached]:
    where: list[str] = []
    params: list[Any] = []
    if emails:
        where.append(f"email IN ({marks})")
        params += emails
    if status:
        where.append("status = ?")
        params.append(status)
    sql = f"SELECT {', '.join(FIELDS)} FROM verifications"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY email"
    if limit:
        sql += f" LIMIT {int(limit)}"
    for row in db.execute(sql, params):
        yield _cached(row)
