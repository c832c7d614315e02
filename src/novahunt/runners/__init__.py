"""Runners advance a job from its checkpoint; `execute` wraps one run of one job.

One module per job type, each exporting its `KIND` (runners/kind.py): the registry below
is how the rest of novahunt asks about a type (`kind_of`, `describe`, `target`,
`follow_ups`) without knowing the types or the keys of their results.

`execute` is what a worker thread does with a message: claim the job row, run its
runner, and write the outcome (completed, retrying with backoff, failed, canceled, or
handed back to the queue on shutdown). It never raises for a job's own failure.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from typing import Any

from novahunt.config import Settings
from novahunt.errors import ConfigError, PermanentError, RetryableError
from novahunt.runners.context import (
    Canceled,
    HandBack,
    JobContext,
    Postpone,
    QuotaPaused,
    backoff,
)
from novahunt.runners.kind import JobKind
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, LostOwnership, Status

log = logging.getLogger(__name__)

__all__ = ["TYPES", "JobContext", "JobKind", "describe", "execute", "follow_ups", "kind_of",
           "target"]

# the job types, each the name of its module here; a module loads when its type is first
# asked about, and none imports httpx or the HTML parser before its job runs, so a
# command that only reads state.db never pays for them
TYPES = ("collect", "verify", "find", "generate", "enrich", "scrape")


def kind_of(type_: str) -> JobKind[Any] | None:
    """What a job type's module exports about it, or None for a type this novahunt does
    not know (a job written by a newer one)."""
    if type_ not in TYPES:
        return None
    kind: JobKind[Any] = importlib.import_module(f"{__name__}.{type_}").KIND
    return kind


def describe(job: Job) -> str:
    """A completed job in a few words, as following it shows: "completed: 12 emails"."""
    kind = kind_of(job.type)
    return "completed" if kind is None or not job.result else kind.describe(job.result)


def target(job: Job) -> str:
    """What a job works on, for tables and bars: its domain, or its type's own words."""
    kind = kind_of(job.type)
    return kind.target(job.params) if kind is not None else str(job.params.get("domain") or "")


def follow_ups(job: Job) -> list[int]:
    """Ids of the jobs a job's result created (collect --verify's verify job)."""
    kind = kind_of(job.type)
    return kind.follow_ups(job.result) if kind is not None and job.result else []


def execute(db: Database, settings: Settings, job_id: int, worker_id: str,
            stop: threading.Event) -> Job | None:
    """Claim and run one job; returns the job as it ended, or None if not claimed."""
    job = jobs.claim(db, job_id, worker_id, settings.lease)
    if job is None:
        return None
    ctx = JobContext(db, settings, job, worker_id, stop)
    try:
        _run(ctx)
    except LostOwnership:
        log.warning("job %s was taken over by another worker; dropping this run", job_id)
    finally:
        try:
            ctx.flush_calls()  # what no transaction of the run wrote is still billed
        finally:
            ctx.close()
    ended = ctx.final or jobs.get(db, job_id)
    log.info("job %s %s %s: %s%s", ended.id, ended.type, ended.params.get("domain", ""),
             ended.status, f" ({ended.error})" if ended.error else "")
    return ended


def _run(ctx: JobContext) -> None:
    job = ctx.job

    def end(status: Status, **how: Any) -> None:
        # the progress as the run left it: step commits may have skipped writing it
        with ctx.transaction():
            ctx.final = jobs.finish(ctx.db, job, ctx.worker_id, status,
                                    progress=ctx.progress, **how)

    kind = kind_of(job.type)
    if kind is None:
        end(Status.FAILED, error=f"unknown job type {job.type!r}")
        return
    try:
        result = kind.run(ctx)
    except Canceled:
        end(Status.CANCELED, message="canceled by the user")
    except HandBack:
        end(Status.QUEUED, message="worker shutting down: handed back to the queue")
    except Postpone as exc:
        end(Status.RETRYING, run_at=time.time() + exc.delay,
            message=f"{exc.reason}: back in {exc.delay:.0f}s (the thread is freed)")
    except QuotaPaused as exc:
        end(Status.RETRYING, waiting_for=exc.provider,
            run_at=time.time() + ctx.settings.quota_recheck, error=exc.reason,
            message=f"waiting for {exc.provider} credits: {exc.reason}")
    except (PermanentError, ConfigError) as exc:
        end(Status.FAILED, error=str(exc), count_error=True)
    except LostOwnership:
        raise
    except Exception as exc:  # retryable errors, and bugs: both get bounded attempts
        if not isinstance(exc, RetryableError):
            log.exception("job %s crashed", job.id)
        error = str(exc) or type(exc).__name__
        if job.errors + 1 >= job.max_attempts:
            end(Status.FAILED, count_error=True,
                error=f"{error} (gave up after {job.errors + 1} attempts)")
        else:
            delay = max(1.0, backoff(job.errors + 1, ctx.settings.job_backoff,
                                     ctx.settings.job_backoff * 32))
            end(Status.RETRYING, error=error, count_error=True, run_at=time.time() + delay,
                message=f"{error}; attempt {job.errors + 2} in {delay:.0f}s")
    else:
        if not ctx.ended:  # a runner may end its job in its last step's transaction
            end(Status.COMPLETED, result=dict(result), message=kind.summary(result))
