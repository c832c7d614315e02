"""What jobs collect, per domain: contacts, domain facts, collections, and the Email
Finder's person lookups. All of it SQL, all of it here.

Writes that belong to a job step take the caller's transaction (call them inside
`db.atomic()`); reads are plain queries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from novahunt.inputs.timeparse import iso_ts as iso
from novahunt.providers.records import Contact, DomainFacts
from novahunt.state.base import Database, chunked

CONTACT_FIELDS = (
    "email", "first_name", "last_name", "position", "position_raw", "company", "department",
    "seniority", "type", "confidence", "linkedin", "twitter", "phone_number",
    "verification_status", "verification_date",
)


_UPSERT_CONTACT = (
    "INSERT INTO contacts (domain, email, first_name, last_name, position, position_raw,"
    " company, department, seniority, type, confidence, linkedin, twitter, phone_number,"
    " sources, verification_status, verification_date, source, job_id,"
    " first_seen_at, last_seen_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (domain, email) DO UPDATE SET"
    " first_name = COALESCE(excluded.first_name, contacts.first_name),"
    " last_name = COALESCE(excluded.last_name, contacts.last_name),"
    " position = COALESCE(excluded.position, contacts.position),"
    " position_raw = COALESCE(excluded.position_raw, contacts.position_raw),"
    " company = COALESCE(excluded.company, contacts.company),"
    " department = COALESCE(excluded.department, contacts.department),"
    " seniority = COALESCE(excluded.seniority, contacts.seniority),"
    " type = COALESCE(excluded.type, contacts.type),"
    " confidence = COALESCE(excluded.confidence, contacts.confidence),"
    " linkedin = COALESCE(excluded.linkedin, contacts.linkedin),"
    " twitter = COALESCE(excluded.twitter, contacts.twitter),"
    " phone_number = COALESCE(excluded.phone_number, contacts.phone_number),"
    " sources = excluded.sources,"
    " verification_status = COALESCE(excluded.verification_status,"
    " contacts.verification_status),"
    " verification_date = COALESCE(excluded.verification_date,"
    " contacts.verification_date),"
    " last_seen_at = excluded.last_seen_at"
)


def save_contacts(db: Database, domain: str, contacts: Sequence[Contact], *,
                  source: str, job_id: int | None) -> int:
    """Upsert contacts of a domain (one row per email); returns how many were new."""
    now = time.time()
    emails = list(dict.fromkeys(c.email for c in contacts))
    known = {
        row[0]: json.loads(row[1] or "[]")
        for chunk, marks in chunked(emails) for row in db.query(
            f"SELECT email, sources FROM contacts WHERE domain = ? AND email IN ({marks})",
            (domain, *chunk))
    }
    rows = []
    for c in contacts:
        sources = c.sources
        before = known.get(c.email)
        if before:
            # sources accumulate: a page that mentions an address adds to what Hunter
            # listed
            seen = {json.dumps(x, sort_keys=True) for x in before}
            sources = before + [x for x in c.sources
                                if json.dumps(x, sort_keys=True) not in seen]
        rows.append((domain, c.email, c.first_name, c.last_name, c.position, c.position_raw,
                     c.company, c.department, c.seniority, c.type, c.confidence, c.linkedin,
                     c.twitter, c.phone_number,
                     json.dumps(sources), c.verification_status, c.verification_date, source,
                     job_id, now, now))
    db.executemany(_UPSERT_CONTACT, rows)
    return len(set(emails) - set(known))


def count_contacts(db: Database, domain: str) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM contacts WHERE domain = ?", (domain,)))


def count_new_contacts(db: Database, since: float) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM contacts WHERE first_seen_at >= ?", (since,)))


def emails_of(db: Database, domain: str) -> list[str]:
    return [r[0] for r in db.query(
        "SELECT email FROM contacts WHERE domain = ? ORDER BY id", (domain,))]


_LISTED = (*CONTACT_FIELDS, "source", "verify_status", "verify_result", "verify_score",
           "verified_at", "verify_reason")


def iter_contacts(db: Database, domain: str) -> Iterator[dict[str, Any]]:
    """Contacts of a domain with our own verification of each, best first, streamed.
    Rows are read as plain tuples: at 5,000 rows the per-row work is the cost.

    Each row also carries the domain's `linked_domains` (a list), and `company` is the
    Finder's company for the person, else Hunter's organization for the domain."""
    facts = db.one("SELECT organization, linked_domains FROM domains WHERE domain = ?",
                   (domain,))
    organization = facts["organization"] if facts else None
    linked = linked_domains_of(facts["linked_domains"] if facts else None)
    columns = ", ".join(f"c.{f}" for f in CONTACT_FIELDS)
    rows = db.rows(
        f"SELECT {columns}, c.source, v.status, v.result, v.score, v.last_verified_at,"
        " v.reason FROM contacts c LEFT JOIN verifications v ON v.email = c.email"
        " WHERE c.domain = ? ORDER BY c.confidence IS NULL, c.confidence DESC, c.email",
        (domain,))
    for row in rows:
        item = dict(zip(_LISTED, row, strict=True))
        if item["verified_at"] is not None:
            item["verified_at"] = iso(item["verified_at"])
        if item["company"] is None:
            item["company"] = organization
        item["linked_domains"] = linked
        yield item


def linked_domains_of(stored: str | None) -> list[str]:
    """domains.linked_domains (JSON text) as a list; [] when Hunter never said."""
    value = json.loads(stored) if stored else []
    return [str(v) for v in value] if isinstance(value, list) else []


def save_domain_facts(db: Database, facts: DomainFacts, total: int | None) -> None:
    def flag(v: bool | None) -> int | None:
        return None if v is None else int(v)

    linked = None if facts.linked_domains is None else json.dumps(list(facts.linked_domains))
    db.execute(
        "INSERT INTO domains (domain, organization, pattern, accept_all, webmail, disposable,"
        " linked_domains, total_available, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (domain) DO UPDATE SET"
        " organization = COALESCE(excluded.organization, domains.organization),"
        " pattern = COALESCE(excluded.pattern, domains.pattern),"
        " accept_all = COALESCE(excluded.accept_all, domains.accept_all),"
        " webmail = COALESCE(excluded.webmail, domains.webmail),"
        " disposable = COALESCE(excluded.disposable, domains.disposable),"
        " linked_domains = COALESCE(excluded.linked_domains, domains.linked_domains),"
        " total_available = COALESCE(excluded.total_available, domains.total_available),"
        " updated_at = excluded.updated_at",
        (facts.domain, facts.organization, facts.pattern, flag(facts.accept_all),
         flag(facts.webmail), flag(facts.disposable), linked, total, time.time()),
    )


def domain_facts(db: Database, domain: str) -> dict[str, Any] | None:
    row = db.one("SELECT * FROM domains WHERE domain = ?", (domain,))
    return None if row is None else dict(row)


@dataclass(frozen=True)
class Collection:
    domain: str
    filters: str
    max_results: int
    emails: int
    total_available: int
    complete: bool
    job_id: int | None
    finished_at: float


def record_collection(db: Database, c: Collection) -> None:
    db.execute(
        "INSERT INTO collections (domain, filters, max_results, emails, total_available,"
        " complete, job_id, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (c.domain, c.filters, c.max_results, c.emails, c.total_available, int(c.complete),
         c.job_id, c.finished_at),
    )


def collected_since(db: Database, domains: Sequence[str], since: float) -> set[str]:
    """Which of `domains` have a collection finished since `since` (of any filters)."""
    found: set[str] = set()
    for chunk, marks in chunked(domains):
        found.update(r[0] for r in db.query(
            "SELECT DISTINCT domain FROM collections WHERE finished_at >= ? AND domain IN"
            f" ({marks})", (since, *chunk)))
    return found


def fresh_collection(db: Database, domain: str, filters: str, max_results: int,
                     since: float) -> Collection | None:
    """The newest collection since `since` that covers what is asked now."""
    row = db.one(
        "SELECT * FROM collections WHERE domain = ? AND filters = ? AND finished_at >= ?"
        " AND (complete = 1 OR max_results >= ?) ORDER BY finished_at DESC LIMIT 1",
        (domain, filters, since, max_results))
    if row is None:
        return None
    return Collection(row["domain"], row["filters"], row["max_results"], row["emails"],
                      row["total_available"], bool(row["complete"]), row["job_id"],
                      row["finished_at"])


# -- people (Email Finder) ------------------------------------------------------------

@dataclass(frozen=True)
class PersonLookup:
    domain: str
    first_name: str
    last_name: str
    email: str | None
    score: int | None
    source: str
    job_id: int | None
    looked_up_at: float
    # what else the Finder said about the person, so an answer served from state.db
    # is the whole answer (None on lookups stored before m012)
    position: str | None = None
    company: str | None = None
    linkedin: str | None = None
    twitter: str | None = None
    phone_number: str | None = None
    accept_all: bool | None = None
    verification_status: str | None = None
    verification_date: str | None = None


_LOOKUP_FIELDS = ("domain", "first_name", "last_name", "email", "score", "source", "job_id",
                  "looked_up_at", "position", "company", "linkedin", "twitter",
                  "phone_number", "accept_all", "verification_status", "verification_date")
# the newest answer replaces the whole row: a miss now forgets what a hit once said
_SAVE_LOOKUP = (
    f"INSERT INTO person_lookups ({', '.join(_LOOKUP_FIELDS)})"
    f" VALUES ({', '.join('?' * len(_LOOKUP_FIELDS))})"
    " ON CONFLICT (domain, first_name, last_name) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _LOOKUP_FIELDS[3:]))
_READ_LOOKUP = (
    f"SELECT {', '.join(_LOOKUP_FIELDS)} FROM person_lookups"
    " WHERE domain = ? AND first_name = ? AND last_name = ? AND looked_up_at >= ?")


def save_person_lookup(db: Database, p: PersonLookup) -> None:
    db.execute(
        _SAVE_LOOKUP,
        (p.domain, p.first_name, p.last_name, p.email, p.score, p.source, p.job_id,
         p.looked_up_at, p.position, p.company, p.linkedin, p.twitter, p.phone_number,
         None if p.accept_all is None else int(p.accept_all), p.verification_status,
         p.verification_date))


def person_lookup(db: Database, domain: str, first: str, last: str,
                  since: float) -> PersonLookup | None:
    row = db.one(_READ_LOOKUP, (domain, first, last, since))
    if row is None:
        return None
    values = {f: row[f] for f in _LOOKUP_FIELDS}
    if values["accept_all"] is not None:
        values["accept_all"] = bool(values["accept_all"])
    return PersonLookup(**values)


def contact_by_name(db: Database, domain: str, first: str, last: str) -> dict[str, Any] | None:
    """A stored contact of the domain with this (address-form) name, best first, with
    what Hunter said about the person; `company` falls back to the domain's organization."""
    for row in db.query(
            "SELECT c.email, c.first_name, c.last_name, c.confidence, c.source, c.position,"
            " c.position_raw, COALESCE(c.company, d.organization) AS company, c.linkedin,"
            " c.twitter, c.phone_number, c.verification_status, c.verification_date"
            " FROM contacts c LEFT JOIN domains d ON d.domain = c.domain"
            " WHERE c.domain = ? AND c.first_name IS NOT NULL AND c.last_name IS NOT NULL"
            " AND lower(c.first_name) = ? AND lower(c.last_name) = ?"
            " ORDER BY c.confidence IS NULL, c.confidence DESC", (domain, first, last)):
        return dict(row)
    return None
