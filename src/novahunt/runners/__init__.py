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

from novahunt.config import Settings
from novahunt.errors import ConfigError, PermanentError, RetryableError
from novahunt.runners.context import (
    Canceled,
    HandBack,
    JobContext,
    Postpone,
    QuotaPaused,
    backoff,
    summary,
)
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, LostOwnership, Status

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
        if not ctx.ended:  # a runner may end its job in its last step's transaction
            end(Status.COMPLETED, result=result, message=summary(result))
