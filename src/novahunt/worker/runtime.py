"""The worker: a huey consumer running jobs on N threads, plus the upkeep that makes
at-most-once delivery safe.

huey hands a message out once and forgets it, so the worker keeps the promises itself:

- it registers in state.db (host, pid, process start time) and heartbeats its row and
  the leases of its running jobs;
- its sweeper promotes due scheduled/retrying jobs, takes back running jobs whose
  worker process is gone (at once, when that worker ran on this host) or whose lease
  expired, and re-sends a message for queued jobs that have none;
- it renews the leases of the jobs its threads hold and no others, and releases its own
  rows that no thread holds (a run whose end could not be written: a full disk) as soon
  as state.db takes the write; jobs waiting for disk space are woken when there is room;
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
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from novahunt import runners, tasks
from novahunt.config import Settings
from novahunt.errors import NovahuntError, StorageError
from novahunt.ops import account
from novahunt.queue import backends, dispatch
from novahunt.queue.backends import Consumer
from novahunt.state import jobs, runs, workers
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
        # a run met a full disk: the others wait for room too, until the upkeep sees some
        self.disk_full = threading.Event()
        self._saw_no_room = False  # the upkeep saw the disk without room since it last woke
        self.huey = backends.open_queue()
        tasks.register(self.huey)  # the messages it takes name `run_job`
        self.consumer = _QuietConsumer(
            self.huey, workers=concurrency, periodic=False, initial_delay=0.05,
            backoff=1.5, max_delay=0.5, worker_type="thread", check_worker_health=True,
            health_check_interval=5)
        self._next: dict[str, float] = {}
        self.last_tick: float | None = None  # end of the last upkeep tick without error
        # job ids a thread of this worker is running (a Counter: a duplicate message for
        # a job in hand must not make it look unheld when its thread returns)
        self._held: Counter[int] = Counter()
        self._held_lock = threading.Lock()
        # runs whose end could not be written: job id -> the reason, for their release
        self._unended: dict[int, str] = {}
        self._upkeep_error = ""  # the last upkeep failure logged, not to repeat it a tick
        self.lost: str | None = None  # why state.db is no longer the file it opened

    # -- the thread side: one message -----------------------------------------------------

    def run(self, job_id: int) -> None:
        with self._holding(job_id):
            try:
                job = runners.execute(self.db, self.settings, job_id, self.id,
                                      self.stop_jobs, self.disk_full)
            except StorageError as exc:  # the claim itself: the job stays queued
                log.warning("job %s not started: %s (its message is sent again later)",
                            job_id, exc)
                return
            if job is not None and job.status is jobs.Status.RUNNING:
                # its end could not be written: the upkeep releases it (see `release`)
                self._unended[job.id] = job.error or "its run ended unrecorded"
                return
        if job is None:
            return
        try:
            if job.status is jobs.Status.QUEUED:
                dispatch.send(self.db, [job])
            follow_ups = runners.follow_ups(job)
            if follow_ups:  # created with the result, in its transaction: send them
                dispatch.send(self.db, jobs.get_many(self.db, follow_ups))
        except NovahuntError as exc:  # the sweeper re-sends a queued job without message
            log.warning("job %s: could not send its next message: %s", job.id, exc)

    @contextmanager
    def _holding(self, job_id: int) -> Iterator[None]:
        """A thread works on `job_id` (from before its claim to after its end)."""
        with self._held_lock:
            self._held[job_id] += 1
        try:
            yield
        finally:
            with self._held_lock:
                self._held[job_id] -= 1
                if self._held[job_id] <= 0:
                    del self._held[job_id]

    def held(self) -> set[int]:
        """Ids of the jobs this worker's threads are running now."""
        with self._held_lock:
            return set(self._held)

    # -- lifecycle (start and stop from the same thread) -------------------------------

    def activate(self) -> None:
        """Register this worker and become the process's runtime, without threads."""
        current.bind(self)
        now = time.time()
        workers.register_worker(self.db, workers.WorkerRow(
            self.id, self.hostname, os.getpid(), process_start_time(os.getpid()),
            self.concurrency, now, now))
        self.sweep(startup=True)
        runs.keep_reserve(self.db)  # room for ending runs if the disk fills up

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
        if self.lost is not None:
            self.db.let_go()
        current.unbind(self)
        log.info("worker %s stopped", self.id)

    def serve(self, should_stop: Callable[[], bool], *, burst: bool = False) -> None:
        """Upkeep loop until `should_stop()` or, with burst, until no work is left."""
        idle_since: float | None = None
        while not should_stop() and self.lost is None:
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
        if self.lost is None and (why := self.db.lost()) is not None:
            self.abandon(why)
            return
        try:
            if self._due("heartbeat", max(1.0, self.settings.lease / 4)):
                workers.worker_heartbeat(self.db, self.id)
                # only runs in hand: a row no thread holds must see its lease run out
                runs.renew(self.db, self.id, self.held(), self.settings.lease)
            if self._due("promote", 0.5):
                dispatch.send(self.db, jobs.promote_due(self.db))
            if self._due("orphans", 2.0):
                self.release_unheld()
                self.take_back_orphans()
            if self._due("disk", 2.0):
                self.wake_for_disk()
            if self._due("queue", 2.0):
                self.mend_queue()
            if self._due("unsent", 10.0):
                self.resend_lost(time.time() - 10)
            if self._due("cleanup", 86400.0):
                self.cleanup()
            if self._due("quota", self.settings.quota_recheck):
                self.check_quota()
            webhooks.pump(self.db, self.settings)  # looks once a second; sends on its thread
            self.last_tick = time.time()  # /health: the upkeep loop is alive
            self._upkeep_error = ""
        except StorageError as exc:  # a full disk, say: one line, not a traceback a tick
            if str(exc) != self._upkeep_error:
                log.warning("worker upkeep: %s; trying again", exc)
            self._upkeep_error = str(exc)
        except Exception:
            log.exception("worker upkeep failed; trying again")

    def abandon(self, why: str) -> None:
        """state.db is not the file this worker opened any more: what it would write
        nobody could read. It takes no more jobs, its running ones stop at their next
        step, and `serve` returns."""
        self.lost = why
        self.stop_jobs.set()
        log.error("%s: this worker stops taking jobs; start it again once state.db is "
                  "the file it should be", why)

    def mend_queue(self) -> None:
        """queue.db damaged, or rebuilt by another process: reconnect to a sound one and
        send every queued job again, since the old file's messages are gone."""
        what = backends.repair(self.huey)
        if what is not None:
            log.warning("%s; sending every queued job again", what)
            self.resend_lost(time.time() + 1)

    def sweep(self, *, startup: bool = False) -> None:
        dispatch.send(self.db, jobs.promote_due(self.db))
        self.take_back_orphans()
        self.resend_lost(time.time() + 1 if startup else time.time() - 10)
        workers.forget_stopped_workers(self.db, time.time() - 7 * 86400)

    def release_unheld(self) -> int:
        """This worker's running rows that none of its threads holds (a run whose end
        could not be written) leave `running` now: retried, waiting for disk space,
        canceled or failed. Returns how many did."""
        released = 0
        rows = runs.held_by(self.db, self.id)
        held = self.held()  # read after the rows: a job claimed meanwhile is held already
        # read last: a thread notes why its run is unended before it lets go of the job
        unended = dict(self._unended)
        for job_id in rows:
            if job_id in held:
                continue
            error = unended.get(job_id) or "its worker no longer ran it"
            ended = runners.release(self.db, self.settings, job_id, self.id, error)
            if ended is not None:
                released += 1
                log.info("job %s released: %s%s", job_id, ended.status,
                         f" ({ended.error})" if ended.error else "")
        for job_id in unended:  # released now, or no longer this worker's
            if job_id not in held:
                self._unended.pop(job_id, None)
        return released

    def wake_for_disk(self) -> int:
        """Jobs waiting for disk space run again as soon as there is room for them, and
        not before: each try would buy a page it cannot store. (On a server's disk,
        `has_room` None, they wait out their run_at.)"""
        room = runs.has_room(self.db)
        if room is None:  # nothing to look at: runs meet the full disk again, or not
            self.disk_full.clear()
            return 0
        if not room:
            self._saw_no_room = True
            now = time.time()
            runs.hold_disk_waiting(self.db, now + 5, now + 30)
            return 0
        self.disk_full.clear()
        runs.keep_reserve(self.db)  # given up on a full disk: made again once there is room
        # woken early only when room came back: a "full" disk that had room all along (a
        # file size limit, say) would otherwise have them buy a page every few seconds
        if not self._saw_no_room or not runs.waiting_for_disk(self.db):
            return 0
        self._saw_no_room = False
        woken = runs.wake_disk_waiting(self.db)
        if woken:
            log.info("the disk has room again: %d job(s) waiting for it resume", woken)
            dispatch.send(self.db, jobs.promote_due(self.db))
        return woken

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
