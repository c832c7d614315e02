"""Schema migrations: an append-only list of small functions, applied in order at open.

Each migration runs in its own transaction together with its bookkeeping row, under
a named lock, so two processes opening a fresh database at once apply it exactly once,
and a crash leaves either the whole step or none of it. Never change what a shipped
migration does: add the next one. DDL is written in SQLite's spelling and run through
`db.ddl()`, which gives PostgreSQL its own types (identity columns, BIGINT, DOUBLE
PRECISION). Times are stored as Unix epoch seconds, which sort, compare and move
between the two without time-zone surprises.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from novahunt.errors import StorageError

if TYPE_CHECKING:
    from novahunt.state.base import Database

Migration = Callable[["Database"], None]


def m001_create_jobs(db: Database) -> None:
    db.ddl(
        """
        CREATE TABLE jobs (
            -- never reused after cleanup: the ledger and old messages name job ids
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            type TEXT NOT NULL,
            status TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 3,
            params TEXT NOT NULL,
            -- one live job per key: "collect:stripe.com" is not queued twice
            dedupe_key TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,     -- runs started (claims)
            errors INTEGER NOT NULL DEFAULT 0,       -- runs that ended in an error
            max_attempts INTEGER NOT NULL DEFAULT 3,
            checkpoint TEXT,
            progress_current INTEGER NOT NULL DEFAULT 0,
            progress_total INTEGER,
            progress_stage TEXT,
            progress_message TEXT,
            result TEXT,
            error TEXT,
            -- a running job is canceled by its own worker between steps
            cancel_requested INTEGER NOT NULL DEFAULT 0,
            worker_id TEXT,
            lease_until REAL,
            heartbeat_at REAL,
            created_at REAL NOT NULL,
            run_at REAL NOT NULL,
            enqueued_at REAL,
            started_at REAL,
            finished_at REAL,
            updated_at REAL NOT NULL
        )
        """
    )
    db.ddl(
        "CREATE UNIQUE INDEX jobs_live_dedupe ON jobs (dedupe_key) "
        "WHERE status IN ('queued', 'scheduled', 'running', 'retrying')"
    )
    db.ddl("CREATE INDEX jobs_status_run_at ON jobs (status, run_at)")
    db.ddl("CREATE INDEX jobs_type_created ON jobs (type, created_at)")
    db.ddl("CREATE INDEX jobs_worker ON jobs (worker_id) WHERE status = 'running'")
    db.ddl(
        "CREATE TABLE job_tags (job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,"
        " tag TEXT NOT NULL, PRIMARY KEY (job_id, tag))"
    )
    db.ddl("CREATE INDEX job_tags_tag ON job_tags (tag)")
    db.ddl(
        """
        CREATE TABLE job_events (
            id INTEGER PRIMARY KEY,
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            at REAL NOT NULL,
            kind TEXT NOT NULL,
            message TEXT NOT NULL
        )
        """
    )
    db.ddl("CREATE INDEX job_events_job ON job_events (job_id, id)")


def m002_create_contacts(db: Database) -> None:
    db.ddl(
        """
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            domain TEXT NOT NULL,
            email TEXT NOT NULL,
            first_name TEXT,
            last_name TEXT,
            position TEXT,
            department TEXT,
            seniority TEXT,
            type TEXT,
            confidence INTEGER,
            linkedin TEXT,
            twitter TEXT,
            phone_number TEXT,
            sources TEXT,
            -- Hunter's own verification of the address, as Domain Search reports it
            verification_status TEXT,
            verification_date TEXT,
            source TEXT NOT NULL,
            job_id INTEGER,
            first_seen_at REAL NOT NULL,
            last_seen_at REAL NOT NULL,
            UNIQUE (domain, email)
        )
        """
    )
    db.ddl(
        """
        CREATE TABLE domains (
            domain TEXT PRIMARY KEY,
            organization TEXT,
            pattern TEXT,
            accept_all INTEGER,
            webmail INTEGER,
            disposable INTEGER,
            total_available INTEGER,
            updated_at REAL NOT NULL
        )
        """
    )
    # One row per finished collection: what makes a repeat within the freshness window free.
    db.ddl(
        """
        CREATE TABLE collections (
            id INTEGER PRIMARY KEY,
            domain TEXT NOT NULL,
            filters TEXT NOT NULL,
            max_results INTEGER NOT NULL,
            emails INTEGER NOT NULL,
            total_available INTEGER NOT NULL,
            complete INTEGER NOT NULL,
            job_id INTEGER,
            finished_at REAL NOT NULL
        )
        """
    )
    db.ddl("CREATE INDEX collections_lookup ON collections (domain, filters, finished_at)")


def m003_create_ledger_and_workers(db: Database) -> None:
    db.ddl(
        """
        CREATE TABLE api_calls (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            provider TEXT NOT NULL,
            endpoint TEXT NOT NULL,
            status INTEGER NOT NULL,          -- 0 when no HTTP answer arrived
            error_id TEXT,
            job_id INTEGER,
            duration_ms REAL,
            detail TEXT                        -- what was asked (never the key)
        )
        """
    )
    db.ddl("CREATE INDEX api_calls_at ON api_calls (at)")
    db.ddl("CREATE INDEX api_calls_job ON api_calls (job_id)")
    db.ddl(
        """
        CREATE TABLE workers (
            id TEXT PRIMARY KEY,
            hostname TEXT NOT NULL,
            pid INTEGER NOT NULL,
            -- the process start time, so a recycled pid is not mistaken for a live worker
            pid_started TEXT,
            concurrency INTEGER NOT NULL,
            started_at REAL NOT NULL,
            heartbeat_at REAL NOT NULL,
            stopped_at REAL
        )
        """
    )
    # Quota exhausted for a provider: no job calls it until the pause is lifted.
    db.ddl(
        """
        CREATE TABLE provider_pauses (
            provider TEXT PRIMARY KEY,
            reason TEXT NOT NULL,
            job_id INTEGER,
            since REAL NOT NULL
        )
        """
    )


def m004_rate_limits_and_credits(db: Database) -> None:
    # the shared limiter's reservations (a sliding-window log) and Retry-After blocks
    db.ddl("CREATE TABLE rate_slots (bucket TEXT NOT NULL, at REAL NOT NULL)")
    db.ddl("CREATE INDEX rate_slots_bucket_at ON rate_slots (bucket, at)")
    db.ddl(
        "CREATE TABLE rate_blocks (bucket TEXT PRIMARY KEY, until REAL NOT NULL, reason TEXT)")
    # what a request cost: Hunter bills searches and verifications, not requests
    db.ddl("ALTER TABLE api_calls ADD COLUMN credits INTEGER NOT NULL DEFAULT 0")
    db.ddl("ALTER TABLE api_calls ADD COLUMN credit_kind TEXT")
    # the provider whose exhausted quota a retrying job waits out
    db.ddl("ALTER TABLE jobs ADD COLUMN waiting_for TEXT")
    # answers served from state.db instead of the provider
    db.ddl(
        "CREATE TABLE cache_hits (id INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL,"
        " job_id INTEGER, saved_credits INTEGER NOT NULL DEFAULT 0)")
    db.ddl("CREATE INDEX cache_hits_at ON cache_hits (at)")


def m005_verification_cache_and_job_items(db: Database) -> None:
    # one row per email ever verified: a second verification within --max-age is free
    db.ddl(
        """
        CREATE TABLE verifications (
            email TEXT PRIMARY KEY,
            -- valid, invalid, accept_all, webmail, disposable, unknown, or claimed (451)
            status TEXT NOT NULL,
            result TEXT,               -- deliverable undeliverable risky
            score INTEGER,
            answer TEXT,               -- the provider's full answer (JSON)
            reason TEXT,               -- why, when decided without the provider
            source TEXT NOT NULL,      -- who decided: the verifier, a syntax check, ...
            first_verified_at REAL NOT NULL,
            last_verified_at REAL NOT NULL,
            asked_count INTEGER NOT NULL DEFAULT 0   -- how often jobs asked for it
        )
        """
    )
    db.ddl("CREATE INDEX verifications_status ON verifications (status)")
    # single flight: the job verifying an email right now; others wait for its answer
    db.ddl(
        "CREATE TABLE verification_claims (email TEXT PRIMARY KEY, job_id INTEGER NOT NULL,"
        " until REAL NOT NULL)")
    # the input of list jobs (verify): each item's state is the job's checkpoint
    db.ddl(
        """
        CREATE TABLE job_items (
            job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            seq INTEGER NOT NULL,
            value TEXT NOT NULL,
            state TEXT NOT NULL DEFAULT 'pending',   -- pending, deferred, done
            outcome TEXT,
            tries INTEGER NOT NULL DEFAULT 0,
            next_at REAL,
            PRIMARY KEY (job_id, seq)
        )
        """
    )
    db.ddl("CREATE INDEX job_items_state ON job_items (job_id, state, seq)")


def m006_person_lookups(db: Database) -> None:
    # Email Finder answers per person and domain, misses included: asking again within
    # the freshness window is free
    db.ddl(
        """
        CREATE TABLE person_lookups (
            domain TEXT NOT NULL,
            first_name TEXT NOT NULL,    -- as used in addresses: ascii, lower-case
            last_name TEXT NOT NULL,
            email TEXT,                  -- NULL: Hunter found nobody
            score INTEGER,
            source TEXT NOT NULL,
            job_id INTEGER,
            looked_up_at REAL NOT NULL,
            PRIMARY KEY (domain, first_name, last_name)
        )
        """
    )


def m007_job_item_output(db: Database) -> None:
    # what an item produced (enrich: the address found, from where), as JSON
    db.ddl("ALTER TABLE job_items ADD COLUMN output TEXT")


def m008_webhook_deliveries(db: Database) -> None:
    # the webhook outbox: a row is written in the transaction that ends its job
    db.ddl(
        """
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,          -- the delivery_id receivers dedupe on
            -- no foreign key: `jobs cleanup` must not drop a notification still due
            job_id INTEGER,
            event TEXT NOT NULL,          -- job.completed, job.failed, job.canceled
            url TEXT NOT NULL,
            body TEXT NOT NULL,           -- the exact JSON signed and sent, frozen at the end
            status TEXT NOT NULL DEFAULT 'pending',   -- pending, delivered, failed
            attempts INTEGER NOT NULL DEFAULT 0,
            -- when it is due; a claim pushes it out as a lease against double sends
            next_at REAL NOT NULL,
            last_error TEXT,              -- never holds the secret
            last_status INTEGER,          -- the last HTTP status; NULL when none came
            created_at REAL NOT NULL,
            delivered_at REAL
        )
        """
    )
    db.ddl("CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_at)")
    db.ddl("CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id)")


def m009_listing_indexes(db: Database) -> None:
    # `jobs list --status/--type` shows the newest 50: an index ending in id serves
    # ORDER BY id DESC LIMIT 50 without sorting every matching job (289 ms -> 0.4 ms
    # for --status completed among 100,000 jobs)
    db.ddl("CREATE INDEX jobs_status_id ON jobs (status, id)")
    db.ddl("CREATE INDEX jobs_type_id ON jobs (type, id)")
    db.ddl("DROP INDEX jobs_type_created")  # no query reads it
    # `stats` counts the contacts first seen in its window (a full scan before)
    db.ddl("CREATE INDEX contacts_first_seen ON contacts (first_seen_at)")


def m010_contacts_by_email(db: Database) -> None:
    # verify looks up Hunter's own verdict of an address by email alone: without this,
    # each lookup scanned every contact (8 ms at 50,000), so verifying a big domain
    # took time in the square of its size
    db.ddl("CREATE INDEX contacts_email ON contacts (email)")


def m011_due_jobs_index(db: Database) -> None:
    # only scheduled and retrying jobs are looked up by run_at (to promote the due
    # ones), but (status, run_at) was written twice on every job's way from queued to
    # running to completed: 3.7 of the 39 pages a one-page collect job wrote
    db.ddl("CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('scheduled', 'retrying')")
    db.ddl("DROP INDEX jobs_status_run_at")


def m012_keep_what_hunter_returns(db: Database) -> None:
    # Everything Hunter answers was paid for; these columns keep what was dropped before.
    # Domain Search's title as the page wrote it ("VP of Sales"), beside the cleaned one
    db.ddl("ALTER TABLE contacts ADD COLUMN position_raw TEXT")
    # the company the Email Finder names for a person it found
    db.ddl("ALTER TABLE contacts ADD COLUMN company TEXT")
    # the organisation's other domains (a JSON list of names), from Domain Search
    db.ddl("ALTER TABLE domains ADD COLUMN linked_domains TEXT")
    # an Email Finder answer served again from state.db carries what Hunter said with it:
    # the person's title, company and profiles, and Hunter's own verification of the
    # address, which spares a paid Email Verifier call later
    for column in ("position TEXT", "company TEXT", "linkedin TEXT", "twitter TEXT",
                   "phone_number TEXT", "accept_all INTEGER", "verification_status TEXT",
                   "verification_date TEXT"):
        db.ddl(f"ALTER TABLE person_lookups ADD COLUMN {column}")


def m013_plans_and_quotas_per_kind(db: Database) -> None:
    # Hunter bills half a credit per verification on single-credit plans, so credits are
    # REAL (DOUBLE PRECISION on PostgreSQL, where the INTEGER columns were BIGINT and
    # would round 0.5 away). Only PostgreSQL can ALTER a column's type: each column is
    # rebuilt instead (add, copy, drop, rename), which SQLite (3.35+) accepts as well.
    for table, column in (("api_calls", "credits"), ("cache_hits", "saved_credits")):
        db.ddl(f"ALTER TABLE {table} ADD COLUMN {column}_real REAL NOT NULL DEFAULT 0")
        db.execute(f"UPDATE {table} SET {column}_real = {column} WHERE {column} <> 0")
        db.ddl(f"ALTER TABLE {table} DROP COLUMN {column}")
        db.ddl(f"ALTER TABLE {table} RENAME COLUMN {column}_real TO {column}")
    # the provider's plan as its account endpoint last described it (the JSON of its
    # `data`): billing and collect must know a single-credit or a free plan without
    # asking Hunter before every job
    db.ddl(
        """
        CREATE TABLE provider_accounts (
            provider TEXT PRIMARY KEY,
            answer TEXT NOT NULL,
            fetched_at REAL NOT NULL
        )
        """
    )
    # A quota pause is per kind of credit now ("hunter:search", "hunter:verification"):
    # with separate quotas, spent verifications must not stop searches (HELP). A pause of
    # the whole provider becomes the kind the job that hit it asked for; when that is
    # unclear (enrich asks for both, or the job is gone), both kinds: the worker's next
    # account check lifts the one that has credits.
    kinds = {"verify": ("verification",), "generate": ("verification",),
             "collect": ("search",), "find": ("search",)}
    for row in db.query(
            "SELECT p.reason, p.job_id, p.since, j.type FROM provider_pauses p"
            " LEFT JOIN jobs j ON j.id = p.job_id WHERE p.provider = 'hunter'"):
        for kind in kinds.get(row["type"], ("search", "verification")):
            db.execute("INSERT INTO provider_pauses (provider, reason, job_id, since)"
                       " VALUES (?, ?, ?, ?)",
                       (f"hunter:{kind}", row["reason"], row["job_id"], row["since"]))
    db.execute("DELETE FROM provider_pauses WHERE provider = 'hunter'")
    db.execute(
        "UPDATE jobs SET waiting_for = CASE WHEN type IN ('verify', 'generate')"
        " THEN 'hunter:verification' ELSE 'hunter:search' END WHERE waiting_for = 'hunter'")
    # a job now waiting for a kind that is not paused has nothing to wait for
    now = time.time()
    db.execute(
        "UPDATE jobs SET waiting_for = NULL, run_at = ?, updated_at = ?"
        " WHERE status = 'retrying' AND waiting_for IN ('hunter:search', 'hunter:verification')"
        " AND waiting_for NOT IN (SELECT provider FROM provider_pauses)", (now, now))


MIGRATIONS: list[Migration] = [
    m001_create_jobs,
    m002_create_contacts,
    m003_create_ledger_and_workers,
    m004_rate_limits_and_credits,
    m005_verification_cache_and_job_items,
    m006_person_lookups,
    m007_job_item_output,
    m008_webhook_deliveries,
    m009_listing_indexes,
    m010_contacts_by_email,
    m011_due_jobs_index,
    m012_keep_what_hunter_returns,
    m013_plans_and_quotas_per_kind,
]


LOCK = "novahunt:migrations"


def applied(db: Database) -> set[str]:
    return {row[0] for row in db.query("SELECT name FROM schema_migrations")}


def _up_to_date(db: Database) -> bool:
    try:
        done = applied(db)
    except StorageError:  # no schema_migrations yet: a blank database
        return False
    return all(migration.__name__ in done for migration in MIGRATIONS)


def migrate(db: Database) -> list[str]:
    """Apply every pending migration; return the names applied now."""
    # every command opens state.db: a read decides, and the write lock below is taken
    # only when something is pending (it cost 8 ms per open, most of it the fsync)
    if _up_to_date(db):
        return []
    with db.atomic(lock=LOCK):
        db.ddl("CREATE TABLE IF NOT EXISTS schema_migrations"
               " (name TEXT PRIMARY KEY, applied_at REAL)")
    done = applied(db)
    ran: list[str] = []
    for migration in MIGRATIONS:
        name = migration.__name__
        if name in done:
            continue
        with db.atomic(lock=LOCK):
            # Another process may have applied it while we waited for the lock.
            if db.one("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)) is None:
                migration(db)
                db.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                           (name, time.time()))
                ran.append(name)
    return ran


def schema_version(db: Database) -> int:
    return len(applied(db))
