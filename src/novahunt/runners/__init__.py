"""Runners advance a job from its checkpoint; `execute` wraps one run of one job.

`execute` is what a worker thread does with a message: claim the job row, run its
runner, and write the outcome (completed, retrying with backoff, failed, canceled, or
handed back to the queue on shutdown). It never raises for a job's own failure.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from novahunt import jobs
from novahunt.config import Settings
from novahunt.db import Database
from novahunt.errors import ConfigError, PermanentError, RetryableError
from novahunt.jobs import Job, LostOwnership, Status
from novahunt.runners.context import (
    Canceled,
    HandBack,
    JobContext,
    Postpone,
    QuotaPaused,
    backoff,
)

log = logging.getLogger(__name__)

Runner = Callable[[JobContext], dict[str, Any]]
# job type -> the module whose run(ctx) does it; a module loads with its first job, so
# a command that only reads state.db never pays for httpx or the HTML parser
RUNNERS: dict[str, str] = {
    kind: f"novahunt.runners.{kind}"
    for kind in ("collect", "verify", "find", "generate", "enrich", "scrape")
}


def runner_for(kind: str) -> Runner | None:
    module = RUNNERS.get(kind)
    if module is None:
        return None
    run: Runner = importlib.import_module(module).run
    return run


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
        ctx.close()
    ended = jobs.get(db, job_id)
    log.info("job %s %s %s: %s%s", ended.id, ended.type, ended.params.get("domain", ""),
             ended.status, f" ({ended.error})" if ended.error else "")
    return ended


def _run(ctx: JobContext) -> None:
    job = ctx.job

    def end(status: Status, **how: Any) -> None:
        # the progress as the run left it: step commits may have skipped writing it
        jobs.finish(ctx.db, job.id, ctx.worker_id, status, progress=ctx.progress, **how)

    runner = runner_for(job.type)
    if runner is None:
        end(Status.FAILED, error=f"unknown job type {job.type!r}")
        return
    try:
        result = runner(ctx)
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
        end(Status.COMPLETED, result=result, message=_summary(result))


def _summary(result: dict[str, Any]) -> str:
    if "emails_collected" in result:
        text = (f"{result['emails_collected']} emails, {result.get('pages_fetched', 0)} pages,"
                f" {result.get('api_calls', 0)} API calls")
        if result.get("cached"):
            text += " (served from state.db)"
        if result.get("stopped_reason"):
            text += f"; stopped early: {result['stopped_reason']}"
        if result.get("verify_job"):
            text += f"; verifying them in job {result['verify_job']}"
        return text
    if "emails_found" in result:
        return (f"{result['emails_found']} emails on {result['pages_fetched']} pages "
                f"({result['pages_skipped']} skipped)")
    if "rows" in result:
        return (f"{result['rows']} rows: {result['found']} found, {result['not_found']} not "
                f"found, {result['skipped']} skipped; wrote {result['output']}")
    if "candidates" in result or "found" in result:
        who = f"{result['first_name']} {result['last_name']} at {result['domain']}"
        return f"{who}: {result.get('email') or 'no address found'}"
    if "verified" in result:
        return (f"{result['emails']} emails: {result['verified']} verified, "
                f"{result['cached']} from the cache, {result['invalid_syntax']} bad syntax, "
                f"{result['api_calls']} API calls")
    return "completed"
