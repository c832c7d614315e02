"""`novahunt stats`: what the work did and cost over a time window, as plain data.

Throughput is measured over the span in which jobs of the window actually ran (first
start to last finish), not over the whole window: a 10-minute run inside a 24-hour
window is 10 minutes of work.
"""

from __future__ import annotations

import time
from typing import Any

from novahunt.config import Settings
from novahunt.state import contacts, jobs, ledger, quotas
from novahunt.state.db import Database
from novahunt.state.jobs import Status, iso
from novahunt.worker.liveness import live_workers


def gather(db: Database, settings: Settings, since: float) -> dict[str, Any]:
    now = time.time()
    out: dict[str, Any] = {"since": iso(since), "until": iso(now)}
    out.update(ledger.summary(db, since))
    for key in ("first_request_at", "last_request_at"):
        out[key] = iso(out[key])
    finished = jobs.finished_since(db, since)
    by_status = finished["by_status"]
    completed = by_status.get(Status.COMPLETED, 0)
    failed = by_status.get(Status.FAILED, 0)
    first, last = finished["first_started_at"], finished["last_finished_at"]
    span = max(1.0, last - first) if first is not None and last is not None else None
    new_emails = contacts.count_new_contacts(db, since)
    current = jobs.count_by_status(db)
    out["jobs_finished"] = by_status
    out["jobs_now"] = current
    out["job_success_rate"] = (
        round(completed / (completed + failed), 4) if completed + failed else None)
    out["throughput"] = {
        "active_seconds": None if span is None else round(span, 1),
        "jobs_per_hour": None if span is None else round(completed / span * 3600, 1),
        "emails_per_minute": None if span is None else round(new_emails / span * 60, 1),
        "new_emails": new_emails,
    }
    out["queue_depth"] = {
        "queued": current.get(Status.QUEUED, 0),
        "scheduled": current.get(Status.SCHEDULED, 0),
        "retrying": current.get(Status.RETRYING, 0),
        "waiting_for_credits": jobs.waiting_for_quota(db),
        "running": current.get(Status.RUNNING, 0),
    }
    running = jobs.listing(db, status=Status.RUNNING, limit=1000)
    out["workers"] = [
        {"id": w.id, "host": w.hostname, "pid": w.pid, "threads": w.concurrency,
         "started_at": iso(w.started_at), "heartbeat_at": iso(w.heartbeat_at),
         "running": [{"id": j.id, "type": j.type, "target": j.params.get("domain"),
                      "progress": [j.progress_current, j.progress_total]}
                     for j in running if j.worker_id == w.id]}
        for w in live_workers(db, settings)
    ]
    # by pause key ("hunter:search"): with separate quotas one kind can run out alone
    out["paused"] = quotas.provider_pauses(db)
    return out
