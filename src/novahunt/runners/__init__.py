"""Runners advance a job from its checkpoint; `execute` wraps one run of one job.

One module per job type, each exporting its `KIND` (runners/kind.py): the registry below
is how the rest of novahunt asks about a type (`kind_of`, `describe`, `target`,
`follow_ups`) without knowing the types or the keys of their results.

`execute` is what a worker thread does with a message: claim the job row, run its
runner, and write the outcome (completed, retrying with backoff, failed, canceled, or
handed back to the queue on shutdown). It never raises for a job's own failure, nor
when the write of that outcome fails: whatever raises, the job leaves `running` (or, when
state.db takes no write at all, its worker knows it holds the row without running it).
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from dataclasses import dataclass, replace
from typing import Any

from novahunt.config import Settings
from novahunt.errors import ConfigError, PermanentError, RetryableError, StorageError, StorageFull
from novahunt.runners.context import (
    Canceled,
    HandBack,
    JobContext,
    Postpone,
    QuotaPaused,
    backoff,
)
from novahunt.runners.kind import JobKind
from novahunt.state import jobs, runs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, LostOwnership, Progress, Status

log = logging.getLogger(__name__)

__all__ = ["TYPES", "JobContext", "JobKind", "describe", "execute", "follow_ups", "kind_of",
           "release", "target"]

# a job that met a full disk tries again after this long at the latest; the worker wakes
# it sooner when it sees room beside state.db (state/runs.py)
DISK_WAIT = 60.0

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
            stop: threading.Event, disk_full: threading.Event | None = None) -> Job | None:
    """Claim and run one job; returns the job as it ended, or None if not claimed. When
    even the end of the run could not be written (the disk is full), the job comes back
    still `running`, the reason as its `error`: the worker then holds no thread for it
    and releases it (`release`) as soon as state.db takes writes again. `disk_full` is
    the worker's: set when one of its runs meets a full disk, it makes the others stop
    at their next step and wait for room too (see JobContext.check)."""
    job = jobs.claim(db, job_id, worker_id, settings.lease)
    if job is None:
        return None
    ctx = JobContext(db, settings, job, worker_id, stop, disk_full)
    unended: str | None = None
    try:
        try:
            _run(ctx)
        except LostOwnership:
            log.warning("job %s was taken over by another worker; dropping this run", job_id)
        except Exception as exc:  # the run's end raised: the row must not stay running
            unended = _end_anyway(ctx, exc)
    finally:
        try:
            ctx.flush_calls()  # what no transaction of the run wrote is still billed
        except Exception as exc:
            log.error("job %s: %d request(s) could not be written to the ledger: %s",
                      job_id, ctx.unwritten_calls, _line(exc))
        finally:
            ctx.close()
    if unended is not None:
        return replace(job, error=unended)
    try:
        ended = ctx.final or jobs.get(db, job_id)
    except StorageError as exc:  # the run is over either way; only the log line is lost
        log.warning("job %s: could not read how it ended: %s", job_id, _line(exc))
        return ctx.final
    log.info("job %s %s %s: %s%s", ended.id, ended.type, ended.params.get("domain", ""),
             ended.status, f" ({ended.error})" if ended.error else "")
    return ended


def release(db: Database, settings: Settings, job_id: int, worker_id: str,
            error: str) -> Job | None:
    """End a run of this worker's whose end was never written: canceled if the user
    asked, waiting for disk space if `error` is a full disk (no attempt spent), else a
    failed attempt retried with backoff (failed after the last). None if the row is not
    this worker's running job any more."""
    with db.atomic():
        job = jobs.get(db, job_id)
        if job.status is not Status.RUNNING or job.worker_id != worker_id:
            return None
        ending = _after_error(job, settings, error, canceled=job.cancel_requested)
        progress = Progress(job.progress_current, job.progress_total,
                            ending.stage or job.progress_stage or "", job.progress_message)
        return jobs.finish(db, job, worker_id, ending.status, error=ending.error,
                           message=ending.message, run_at=ending.run_at,
                           count_error=ending.count_error, progress=progress)


@dataclass(frozen=True)
class _Ending:
    """How a run that raised ends: the arguments of `jobs.finish`."""

    status: Status
    error: str | None
    message: str
    run_at: float | None = None
    count_error: bool = False
    stage: str | None = None   # the progress stage to show instead of the run's own


def _after_error(job: Job, settings: Settings, error: str, *, canceled: bool) -> _Ending:
    if canceled:  # a cancel lands whatever the run met
        return _Ending(Status.CANCELED, None, "canceled by the user")
    if error.startswith(runs.DISK_FULL):
        # nothing the job did wrong: it waits for room without spending an attempt, and
        # comes back at once when the worker sees room (or at run_at)
        return _Ending(Status.RETRYING, error,
                       f"{error}: waiting for disk space (no attempt spent)",
                       run_at=time.time() + DISK_WAIT, stage="waiting for disk space")
    if job.errors + 1 >= job.max_attempts:
        return _Ending(Status.FAILED, f"{error} (gave up after {job.errors + 1} attempts)",
                       "", count_error=True)
    delay = max(1.0, backoff(job.errors + 1, settings.job_backoff, settings.job_backoff * 32))
    return _Ending(Status.RETRYING, error, f"{error}; attempt {job.errors + 2} in {delay:.0f}s",
                   run_at=time.time() + delay, count_error=True)


def _end_anyway(ctx: JobContext, exc: Exception) -> str | None:
    """Writing the end of the run raised `exc`: end it the plainest way (no result, no
    checkpoint). None once the row left `running`, else why it could not."""
    error = _error_text(exc)
    log.error("job %s: the end of its run could not be written (%s): releasing it",
              ctx.job.id, error)
    if _disk_full(exc):
        ctx.met_full_disk()
    try:
        with ctx.transaction():
            ctx.final = release(ctx.db, ctx.settings, ctx.job.id, ctx.worker_id, error)
    except Exception as again:
        log.error("job %s stays running until state.db takes writes again: %s", ctx.job.id,
                  _line(again))
        return error
    return None


def _disk_full(exc: BaseException) -> bool:
    """Whether a full disk is behind `exc` (raised as it is, or as what a rollback or a
    runner raised while handling it)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, StorageFull):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _error_text(exc: BaseException) -> str:
    """The error a job keeps: a full disk says so first, whatever raised on top of it."""
    text = _line(exc)
    if _disk_full(exc) and not text.startswith(runs.DISK_FULL):
        return f"{runs.DISK_FULL}: {text}"
    return text


def _run(ctx: JobContext) -> None:
    job = ctx.job

    def end(status: Status, stage: str | None = None, **how: Any) -> None:
        # the progress as the run left it: step commits may have skipped writing it
        progress = ctx.progress if stage is None else replace(ctx.progress, stage=stage)
        with ctx.transaction():
            ctx.final = jobs.finish(ctx.db, job, ctx.worker_id, status,
                                    progress=progress, **how)

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
    except Exception as exc:  # retryable errors, bugs, a full disk: none runs unbounded
        if _disk_full(exc):
            ctx.met_full_disk()
        elif not isinstance(exc, RetryableError):
            log.exception("job %s crashed", job.id)
        ending = _after_error(job, ctx.settings, _error_text(exc),
                              canceled=ctx.cancel_seen())
        end(ending.status, ending.stage, error=ending.error, message=ending.message,
            run_at=ending.run_at, count_error=ending.count_error)
    else:
        if not ctx.ended:  # a runner may end its job in its last step's transaction
            end(Status.COMPLETED, result=dict(result), message=kind.summary(result))
