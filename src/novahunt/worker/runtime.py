"""The worker: a huey consumer running jobs on N threads, plus the upkeep that makes
at-most-once delivery safe.

huey hands a message out once and forgets it, so the worker keeps the promises itself:

- it registers in state.db (host, pid, process start time) and heartbeats its row and
  the leases of its running jobs;
- its sweeper promotes due scheduled/retrying jobs, takes back running jobs whose
  worker process is gone (at once, when that worker ran on this host) or whose lease
  expired, and re-sends a message for queued jobs that have none;
- on SIGINT/SIGTERM it stops taking messages, lets each job finish its step and
  commit, hands the job back to the queue, and exits.

`Consumer.run()` would install huey's signal handlers and must own the main thread;
we start the consumer ourselves and call `start()`/`stop()` from one thread, which
also lets `--follow` embed a worker in the CLI process.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable

from novahunt import runners, tasks
from novahunt.config import Settings
from novahunt.errors import NovahuntError
from novahunt.ops import account
from novahunt.queue import backends, dispatch
from novahunt.queue.backends import Consumer
from novahunt.state import jobs, workers
from novahunt.state.db import Database
from novahunt.worker import current, webhooks
from novahunt.worker.liveness import hostname, pid_alive, process_start_time

log = logging.getLogger(__name__)

VACUUM_AFTER = 1000   # finished jobs removed in one cleanup before the file is vacuumed


class _QuietConsumer(Consumer):  # type: ignore[misc]
    def _set_signal_handlers(self) -> None:
        """Signals are the CLI's business; see `serve`."""


class WorkerRuntime:
    def __init__(self, db: Database, settings: Settings, concurrency: int = 4) -> None:
        self.db = db
        self.settings = settings
        self.concurrency = concurrency
        self.hostname = hostname()
        self.id = f"{self.hostname}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.stop_jobs = threading.Event()   # runners hand their job back at the next step
        self.huey = backends.open_queue()
        tasks.register(self.huey)  # the messages it takes name `run_job`
        self.consumer = _QuietConsumer(
            self.huey, workers=concurrency, periodic=False, initial_delay=0.05,
            backoff=1.5, max_delay=0.5, worker_type="thread", check_worker_health=True,
            health_check_interval=5)
        self._next: dict[str, float] = {}
        self.last_tick: float | None = None  # end of the last upkeep tick without error

    # -- the thread side: one message -----------------------------------------------------

    def run(self, job_id: int) -> None:
        job = runners.execute(self.db, self.settings, job_id, self.id, self.stop_jobs)
        if job is None:
            return
        if job.status is jobs.Status.QUEUED:
            dispatch.send(self.db, [job])
        follow_ups = runners.follow_ups(job)
        if follow_ups:  # created with the result, in its transaction: send them
            dispatch.send(self.db, jobs.get_many(self.db, follow_ups))

    # -- lifecycle (start and stop from the same thread) -------------------------------

    def activate(self) -> None:
        """Register this worker and become the process's runtime, without threads."""
        current.bind(self)
        now = time.time()
        workers.register_worker(self.db, workers.WorkerRow(
            self.id, self.hostname, os.getpid(), process_start_time(os.getpid()),
            self.concurrency, now, now))
        self.sweep(startup=True)

    def run_once(self) -> bool:
        """Take one message off the queue and run it in this thread (huey's
        `execute_next` idea: deterministic tests run one job at a time)."""
        task = backends.take(self.huey)
        if task is None:
            return False
        self.huey.execute(task)
        return True

    def deactivate(self) -> None:
        """Undo `activate`: mark this worker stopped and stop being the process's runtime
        (for a runtime driven by `run_once`, which started no threads)."""
        workers.stop_worker(self.db, self.id)
        current.unbind(self)

    def start(self) -> None:
        self.activate()
        self.learn_plan()
        self.consumer.start()
        log.info("worker %s started with %d threads", self.id, self.concurrency)

    def stop(self) -> None:
        self.stop_jobs.set()
        self.consumer.stop(graceful=True)
        self.huey.notify_interrupted_tasks()
        # a thread that died mid-job leaves its job running: hand it back now
        back = jobs.release_of_worker(self.db, self.id,
                                      "worker stopped: handed back to the queue")
        dispatch.send(self.db, back)
        workers.stop_worker(self.db, self.id)
        current.unbind(self)
        log.info("worker %s stopped", self.id)

    def serve(self, should_stop: Callable[[], bool], *, burst: bool = False) -> None:
        """Upkeep loop until `should_stop()` or, with burst, until no work is left."""
        idle_since: float | None = None
        while not should_stop():
            self.tick()
            if burst:
                if jobs.count_pending(self.db) == 0:
                    idle_since = idle_since or time.monotonic()
                    # seen idle on two rounds in a row, not just between two jobs
                    if time.monotonic() - idle_since >= 0.1:
                        return
                else:
                    idle_since = None
            time.sleep(0.1)

    # -- upkeep ------------------------------------------------------------------------

    def _due(self, name: str, every: float) -> bool:
        now = time.monotonic()
        if now >= self._next.get(name, 0.0):
            self._next[name] = now + every
            return True
        return False

    def due_now(self, *names: str) -> None:
        """Make these upkeep tasks ("promote", "cleanup", ...; all without names) due at the
        next `tick` rather than on their timers: tests drive the upkeep round by round."""
        if not names:
            self._next.clear()
        for name in names:
            self._next.pop(name, None)

    def tick(self) -> None:
        try:
            if self._due("heartbeat", max(1.0, self.settings.lease / 4)):
                workers.worker_heartbeat(self.db, self.id)
                jobs.heartbeat(self.db, self.id, self.settings.lease)
            if self._due("promote", 0.5):
                dispatch.send(self.db, jobs.promote_due(self.db))
            if self._due("orphans", 2.0):
                self.take_back_orphans()
            if self._due("unsent", 10.0):
                self.resend_lost(time.time() - 10)
            if self._due("cleanup", 86400.0):
                self.cleanup()
            if self._due("quota", self.settings.quota_recheck):
                self.check_quota()
            webhooks.pump(self.db, self.settings)  # looks once a second; sends on its thread
            self.last_tick = time.time()  # /health: the upkeep loop is alive
        except Exception:
            log.exception("worker upkeep failed; trying again")

    def sweep(self, *, startup: bool = False) -> None:
        dispatch.send(self.db, jobs.promote_due(self.db))
        self.take_back_orphans()
        self.resend_lost(time.time() + 1 if startup else time.time() - 10)
        workers.forget_stopped_workers(self.db, time.time() - 7 * 86400)

    def take_back_orphans(self) -> None:
        for w in workers.workers_with_running_jobs(self.db):
            if w.id != self.id and w.hostname == self.hostname and not pid_alive(
                    w.pid, w.pid_started):
                back = jobs.release_of_worker(
                    self.db, w.id, f"worker {w.id} is gone (pid {w.pid}): taken back")
                dispatch.send(self.db, back)
        expired = jobs.release_expired(self.db, "lease expired: taken back",
                                       keep_worker=self.id)
        dispatch.send(self.db, expired)

    def cleanup(self) -> int:
        """Once a day: `jobs cleanup` with the configured retention, and VACUUM when
        that freed a lot."""
        removed = jobs.cleanup(self.db, time.time() - self.settings.retention)
        if removed:
            log.info("cleanup: removed %d finished jobs older than the retention", removed)
        if removed >= VACUUM_AFTER:
            self.db.vacuum()
            log.info("cleanup: vacuumed state.db")
        return removed

    def learn_plan(self) -> None:
        """Before the first job: ask the (free) account endpoint for the plan, which
        decides what jobs are billed and how collect pages on a free plan (not asked
        again if state.db learned it under a minute ago). Without an answer, jobs use
        the plan state.db last knew."""
        if not self.settings.api_key:
            return
        try:
            plan = account.learn_plan(self.db, self.settings)
        except NovahuntError as exc:
            log.warning("could not ask Hunter for the plan: %s", exc)
            return
        log.info("Hunter plan: %s%s", plan.plan_name or "?",
                 " (single credits bucket)" if plan.single_credit else "")

    def check_quota(self) -> None:
        """A paused kind of credit: ask the (free) account endpoint whether it is back."""
        try:
            woken = account.resume_if_credits(self.db, self.settings)
        except NovahuntError as exc:
            log.warning("could not check the account for credits: %s", exc)
            return
        if woken is not None:
            log.info("credits are back: resumed %d waiting jobs", woken)

    def resend_lost(self, older_than: float) -> None:
        waiting = jobs.unsent(self.db, older_than)
        if not waiting:
            return
        # reading every message costs: only when some queued job has waited a while
        pending = tasks.pending_job_ids(self.huey)
        lost = [i for i in waiting if i not in pending]
        if lost:
            log.info("re-sending %d queued jobs that had no message", len(lost))
            dispatch.send(self.db, jobs.get_many(self.db, lost))
