"""What a runner gets to do its work: the job, its provider clients, and the rules of a
step (commit results with the checkpoint, stop for cancel or shutdown between steps,
wait out throttling without blocking either).

A runner is a plain function `run(ctx) -> result`; it never sees huey. Raising
`Canceled` or `HandBack` ends the run early; everything committed so far stays.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from novahunt.config import Settings
from novahunt.errors import QuotaExhausted, RateLimited, StorageFull, TransientError
from novahunt.ops import account
from novahunt.providers.records import PROVIDER, CallRecord
from novahunt.state import jobs, ledger, limiter, quotas, runs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Progress

if TYPE_CHECKING:
    from novahunt.providers.hunter import HunterClient

T = TypeVar("T")

# the progress columns are rewritten at most this often, or when the stage changes: a
# job storing hundreds of pages a second moves its checkpoint every step but its
# progress a couple of times a second (the row as it ended gets the last figures)
PROGRESS_EVERY = 0.5
# the cancel flag comes back with every write of the row; between writes it is read at
# most this often, so a cancel stops a running job within this long after a step
CANCEL_EVERY = 0.5


class Canceled(Exception):
    """The user canceled the job; it stops after the step in flight."""


class HandBack(Exception):
    """The worker is shutting down; the job goes back to the queue as it stands."""


class Postpone(Exception):
    """Waiting would take longer than the job's patience: free the thread and come
    back in `delay` seconds (not an error: the attempt is not counted)."""

    def __init__(self, delay: float, reason: str) -> None:
        super().__init__(reason)
        self.delay = delay
        self.reason = reason


class QuotaPaused(Exception):
    """A kind of credit is exhausted: the job waits in `retrying` until that kind is
    back (the worker checks the account) or the user resumes it. `provider` is the
    pause key the job waits for ("hunter:search", "hunter:verification")."""

    def __init__(self, provider: str, reason: str) -> None:
        super().__init__(reason)
        self.provider = provider
        self.reason = reason


def backoff(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(n-1))]."""
    return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))


class JobContext:
    def __init__(self, db: Database, settings: Settings, job: Job, worker_id: str,
                 stop: threading.Event, disk_full: threading.Event | None = None) -> None:
        self.db = db
        self.settings = settings
        self.job = job
        self.worker_id = worker_id
        self.stop = stop
        # shared by the worker's runs: one that met a full disk stops the others too
        self.disk_full = disk_full or threading.Event()
        self._hunter: HunterClient | None = None
        self._progress_at = time.monotonic()  # the claim just wrote the row
        # a step commit saw cancel_requested: stop at the next check without asking again
        self._cancel_pending = False
        self._flag_read_at = time.monotonic()  # the claim read it
        self.final: Job | None = None  # the job as this run ended it
        self._progress = Progress(job.progress_current, job.progress_total,
                                  job.progress_stage or "starting")
        self._written_stage = job.progress_stage
        self.ended = False  # complete() ended the job inside the runner's last step
        # requests answered and not yet in the ledger: written by this job's next
        # transaction (the step they paid for, as a rule), or by `flush_calls` at the end
        self._calls: list[tuple[float, CallRecord]] = []

    @property
    def progress(self) -> Progress:
        """The latest progress, written or not (the run's end writes it)."""
        return self._progress

    def _progress_due(self, stage: str, force: bool) -> bool:
        now = time.monotonic()
        if force or now - self._progress_at >= PROGRESS_EVERY:
            self._progress_at = now
            self._written_stage = stage
            return True
        return False

    # -- providers ---------------------------------------------------------------------

    def hunter(self) -> HunterClient:
        if self._hunter is None:
            from novahunt.providers.hunter import HunterClient

            # the plan decides what a verification costs; known_plan reads state.db at
            # most once a minute per process, not once a job. `interrupt`: an answer
            # still coming after a few seconds does not hold up a cancel or a shutdown
            self._hunter = HunterClient(
                self.settings.require_key(), self.settings.hunter_url,
                timeout=self.settings.http_timeout, on_call=self.record_call,
                shared=True, plan=account.known_plan(self.db), interrupt=self.check)
        return self._hunter

    def record_call(self, call: CallRecord) -> None:
        self._calls.append((time.time(), call))

    def _write_calls(self) -> None:
        """Inside a transaction: put the pending requests in the ledger with it (and
        back in the list if it rolls back, for the next one to write)."""
        if not self._calls:
            return
        written, self._calls = self._calls, []
        ledger.record_calls(self.db, written, self.job.id)
        self.db.on_rollback(lambda: self._calls.__setitem__(slice(0, 0), written))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction of this job's own: the pending requests go in with it."""
        with self.db.atomic():
            self._write_calls()
            yield

    def flush_calls(self) -> None:
        """The run is over: requests no step wrote go in the ledger now."""
        if self._calls:
            with self.db.atomic(savepoint=False):
                self._write_calls()

    @property
    def unwritten_calls(self) -> int:
        """Requests answered that no transaction has put in the ledger yet."""
        return len(self._calls)

    def usage(self) -> ledger.Usage:
        """What this job's requests were and cost so far (the ledger: all its runs)."""
        self.flush_calls()
        return ledger.usage_of_job(self.db, self.job.id)

    def close(self) -> None:
        if self._hunter is not None:
            self._hunter.close()

    def call(self, fn: Callable[[], T], *, endpoint: str, provider: str = PROVIDER) -> T:
        """Run one provider request at the shared rate, waiting out throttling and
        retrying transient failures within this step. A wait longer than the job's
        patience postpones the job instead of holding a worker thread. A paid endpoint
        waits while its kind of credit is paused; a quota error pauses that kind only."""
        bucket = f"{provider}:{endpoint}"
        kind = account.KIND_OF_ENDPOINT.get(endpoint)
        pause = None if kind is None else account.pause_key(kind, provider)
        windows = self.settings.rates.get(endpoint, ())
        started = time.monotonic()
        throttles = transients = 0
        while True:
            self.check()
            self._wait_for_slot(bucket, windows, started, pause)
            try:
                return fn()
            except RateLimited as exc:
                throttles += 1
                wait = exc.retry_after
                if wait is None:
                    wait = backoff(throttles, self.settings.backoff_base,
                                   self.settings.backoff_max)
                # everyone sending to this bucket waits, not just this job
                with self.transaction():
                    limiter.block(self.db, bucket, time.time() + wait, str(exc))
                if throttles == 1 or throttles % 10 == 0:
                    self.event("rate_limited", f"{exc} (waiting {wait:.1f}s, #{throttles})")
            except TransientError as exc:
                transients += 1
                if transients > self.settings.step_retries:
                    raise
                wait = backoff(transients, self.settings.backoff_base,
                               self.settings.backoff_max)
                self.event("retry", f"{exc} (retry {transients} in {wait:.1f}s)")
                self.sleep(wait, "retrying", str(exc))
            except QuotaExhausted as exc:
                if pause is None:  # a free endpoint has no quota to wait for
                    raise
                with self.transaction():
                    quotas.pause_provider(self.db, pause, str(exc), self.job.id)
                raise QuotaPaused(pause, str(exc)) from None

    def _wait_for_slot(self, bucket: str, windows: tuple[limiter.Window, ...],
                       started: float, pause: str | None) -> None:
        left = self.settings.patience - (time.monotonic() - started)
        try:
            at = limiter.reserve(self.db, bucket, windows, max_wait=max(0.0, left),
                                 provider=pause)
        except limiter.Paused as exc:  # another job found this kind of credit exhausted
            raise QuotaPaused(str(pause), exc.reason) from None
        if at is None:
            wait = limiter.earliest(self.db, bucket, windows) - time.time()
            raise Postpone(max(1.0, wait), f"{bucket} is busy for {wait:.0f}s")
        wait = at - time.time()
        if wait > 1.0:
            self.sleep(wait, "rate_limited", f"waiting {wait:.0f}s for the rate limit")
        elif wait > 0 and self.stop.wait(wait):
            raise HandBack()

    # -- steps -------------------------------------------------------------------------

    def commit(self, checkpoint: dict[str, Any], progress: Progress) -> None:
        """Move the checkpoint; call inside the step's `db.atomic()` block. A cancel the
        user asked for is noted here and raised by the next `check()`, after the block
        has committed."""
        self._progress = progress
        self._write_calls()
        # a step writes the row anyway: a new stage costs nothing extra to show at once
        due = self._progress_due(progress.stage, force=progress.stage != self._written_stage)
        if jobs.save_step(self.db, self.job, self.worker_id, self.settings.lease,
                          checkpoint=checkpoint, progress=progress if due else None):
            self._cancel_pending = True
        self._flag_read_at = time.monotonic()

    def complete(self, result: Mapping[str, Any], message: str, *,
                 checkpoint: dict[str, Any] | None = None,
                 progress: Progress | None = None) -> None:
        """End the job as completed, `message` its last event (the type's summary); call
        inside the last step's `db.atomic()` block, so the last checkpoint and the job's
        end are one transaction (pass the step's checkpoint and progress here instead of
        to `commit`)."""
        if progress is not None:
            self._progress = progress
        self._write_calls()
        self.final = jobs.finish(
            self.db, self.job, self.worker_id, jobs.Status.COMPLETED, result=dict(result),
            message=message, progress=self._progress, checkpoint=checkpoint)
        if self.final is None:
            raise jobs.LostOwnership(f"job {self.job.id} is no longer owned by "
                                     f"worker {self.worker_id}")
        self.ended = True

    def check(self) -> None:
        """Between steps: stop for cancel, for the worker's shutdown, or for a full disk
        another run met (before this one buys a page it could not store)."""
        if not self._cancel_pending and time.monotonic() - self._flag_read_at >= CANCEL_EVERY:
            self._cancel_pending = jobs.cancel_requested(self.db, self.job.id)
            self._flag_read_at = time.monotonic()
        if self._cancel_pending:
            raise Canceled()
        if self.stop.is_set():
            raise HandBack()
        if self.disk_full.is_set():
            raise StorageFull("another job of this worker met a full disk")

    def met_full_disk(self) -> None:
        """This run met a full disk: the worker's other runs stop at their next step, and
        the reserve beside state.db is given up so that their ends can be written."""
        self.disk_full.set()
        runs.free_reserve(self.db)

    def cancel_seen(self) -> bool:
        """Whether the user asked to cancel this job (read afresh unless a step saw it)."""
        return self._cancel_pending or jobs.cancel_requested(self.db, self.job.id)

    def set_progress(self, current: int, total: int | None, stage: str,
                     message: str | None = None, *, force: bool = False) -> None:
        self.show(Progress(current, total, stage, message), force=force)

    def show(self, progress: Progress, *, force: bool = False) -> None:
        """Progress between commits: written to the row when due (or forced)."""
        self._progress = progress
        if self._progress_due(progress.stage, force):
            with self.transaction():
                if jobs.save_step(self.db, self.job, self.worker_id, self.settings.lease,
                                  progress=self._progress):
                    self._cancel_pending = True
            self._flag_read_at = time.monotonic()

    def sleep(self, seconds: float, stage: str, message: str) -> None:
        """Wait without holding up cancel or shutdown; the stage shows why."""
        current, total, before = (self._progress.current, self._progress.total,
                                  self._progress.stage)
        self.set_progress(current, total, stage, message, force=True)
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(left, 0.5)):
                break
            self.check()
        self.check()
        self.set_progress(current, total, before, None, force=True)

    def event(self, kind: str, message: str) -> None:
        with self.transaction():
            jobs.add_event(self.db, self.job.id, kind, message)

