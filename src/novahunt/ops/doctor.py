"""`novahunt doctor`: is this installation able to work? Checks as plain data.

Each check says `ok`, `warn` (works, but look) or `fail` (something will not work) with
a one-line message. The checks go on past a failure, so one run shows everything; a
check whose input is missing (no key, no database) says so instead of guessing.
Failures that the user fixes in their configuration (a bad config.toml, a missing or
refused API key) are marked `config`, so the CLI can exit 3 when they are all there is.
The API key is never part of a message: at most its first 3 and last 4 characters. Nor
is a password in NOVAHUNT_DATABASE_URL or NOVAHUNT_QUEUE_URL: the URLs are shown with
`***` in its place, and every message is scrubbed of them in case a driver echoed one.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from novahunt import config, paths
from novahunt.config import Settings
from novahunt.errors import (
    AuthError,
    ConfigError,
    ProviderError,
    QueueUnavailable,
    StorageError,
)
from novahunt.inputs.urls import redact, scrub
from novahunt.ops import account
from novahunt.state import db, ledger, migrations, runs, telemetry
from novahunt.state.db import Database
from novahunt.worker.liveness import hostname, live_workers, pid_alive

DISK_WARN = 1024 ** 3          # under 1 GB free: warn
DISK_FAIL = 100 * 1024 ** 2    # under 100 MB free: SQLite writes will soon fail


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    check: str
    status: Level
    message: str
    config: bool = False   # a configuration or authentication problem

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "status": str(self.status), "message": self.message}


def mask_key(key: str) -> str:
    """`sk_…a1b2`: enough to tell two keys apart, never enough to use one."""
    key = key.strip()
    if len(key) >= 16:
        return f"{key[:3]}…{key[-4:]}"
    if len(key) >= 8:
        return f"…{key[-4:]}"
    return "…"


def exit_code(checks: list[Check]) -> int:
    failed = [c for c in checks if c.status is Level.FAIL]
    if not failed:
        return 0
    return 3 if all(c.config for c in failed) else 1


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # unreachable; keeps mypy sure of a return


def _file(name: str, path: Path) -> Check:
    if path.exists():
        return Check(name, Level.OK, f"{path} ({_size(path.stat().st_size)})")
    return Check(name, Level.OK, f"{path} (not created yet)")


def check_queue() -> Check:
    """queue.db's file, or the Redis server: does it answer, and how much waits in it."""
    try:
        url = config.queue_url()
    except ConfigError as exc:
        return Check("queue", Level.FAIL, _line(exc), config=True)
    if url is None:
        return check_queue_file(paths.queue_db())
    # huey and the Redis client: only for a Redis queue
    from novahunt.queue import backends

    try:
        with backends.reachable():
            huey = backends.open_queue()
            waiting, scheduled = huey.pending_count(), huey.scheduled_count()
    except QueueUnavailable as exc:
        return Check("queue", Level.FAIL, _line(exc))
    later = f", {scheduled} scheduled" if scheduled else ""
    return Check("queue", Level.OK, f"{redact(url)} answers: {waiting} message(s) "
                                    f"waiting{later}")


def check_queue_file(path: Path) -> Check:
    """queue.db: a database, and how many messages wait in it (read, never mended)."""
    found = _file("queue.db", path)
    if not path.exists():
        return found
    from novahunt.queue import backends  # the queue's SQL lives there

    why = backends.damage(path)
    if why is not None:
        return Check("queue.db", Level.FAIL,
                     f"{path} is damaged ({why}): the next command or worker moves it aside "
                     "and builds a new one, and a worker sends the queued jobs again")
    waiting = backends.messages(path)
    tail = "" if waiting is None else f": {waiting} message(s) waiting"
    return Check("queue.db", Level.OK, f"{found.message}{tail}")


def check_home(home: Path) -> Check:
    """The home folder, and whether novahunt can write there."""
    shown = f"{home}{'' if home.exists() else ' (not created yet)'}"
    why = paths.read_only(paths.state_db())
    if why is None:
        return Check("home", Level.OK, shown)
    return Check("home", Level.FAIL,
                 f"read-only: {why}; reading commands work, commands that write "
                 "(collect, verify, jobs cancel, worker...) refuse")


def disk_level(free: int) -> Level:
    if free < DISK_FAIL:
        return Level.FAIL
    return Level.WARN if free < DISK_WARN else Level.OK


def check_disk(home: Path) -> Check:
    where = home
    while not where.exists() and where != where.parent:  # a home not created yet
        where = where.parent
    free = shutil.disk_usage(where).free
    level = disk_level(free)
    advice = {Level.OK: "", Level.WARN: ": under 1 GB, state.db grows with every job",
              Level.FAIL: ": under 100 MB, writes to state.db will fail"}[level]
    return Check("disk space", level, f"{_size(free)} free under {where}{advice}")


def check_key(database: Database | None, settings: Settings | None) -> Check:
    if settings is None:
        return Check("api key", Level.WARN, "not checked: the configuration did not load")
    if not settings.api_key:
        return Check("api key", Level.WARN,
                     "not set: export HUNTER_API_KEY or set hunter_api_key in "
                     f"{paths.config_file()} (`novahunt demo` runs without one)")
    source = ("HUNTER_API_KEY" if os.environ.get("HUNTER_API_KEY", "").strip()
              else paths.config_file().name)
    shown = f"{mask_key(settings.api_key)} (from {source})"
    if database is None:
        return Check("api key", Level.WARN,
                     f"{shown}: not checked: the state database is unavailable")
    try:
        # free, and written nowhere: doctor reports, also where state.db takes no write
        info = account.fetch(database, settings, keep=False)
    except AuthError as exc:
        return Check("api key", Level.FAIL, f"{shown}: {_line(exc)}", config=True)
    except ProviderError as exc:
        return Check("api key", Level.FAIL, f"{shown}: could not ask Hunter: {_line(exc)}")
    left = []
    if info.single_credit:  # one bucket: its `remaining`, never available - used
        if info.credits_remaining is not None:
            left.append(f"{ledger.credits_text(info.credits_remaining)} credits")
    else:
        if info.searches_left is not None:
            left.append(f"{info.searches_left} searches")
        if info.verifications_left is not None:
            left.append(f"{info.verifications_left} verifications")
    plan = f"plan {info.plan_name}" if info.plan_name else "accepted"
    tail = f", {' and '.join(left)} left" if left else ""
    paused = account.paused_kinds(database)
    if paused:
        kinds = " and ".join(paused)
        return Check("api key", Level.WARN,
                     f"{shown} accepted by Hunter: {plan}{tail}; {kinds} paused for the "
                     "quota: jobs wait until the worker sees credits (or `novahunt resume`)")
    return Check("api key", Level.OK, f"{shown} accepted by Hunter: {plan}{tail}")


def _line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_integrity(database: Database) -> Check:
    if database.dialect != "sqlite":
        # PostgreSQL guards its own pages; the check here is that it answers (above)
        return Check("integrity", Level.OK, f"{database.shown} answers")
    problems = telemetry.integrity_problems(database)
    if not problems:
        return Check("integrity", Level.OK, "state.db passes PRAGMA integrity_check")
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return Check("integrity", Level.FAIL,
                 f"state.db is damaged: {'; '.join(problems[:3])}{more}")


def check_schema(database: Database) -> Check:
    applied = migrations.applied(database)
    version = migrations.schema_version(database)
    known = [m.__name__ for m in migrations.MIGRATIONS]
    unknown = applied - set(known)
    if unknown:
        return Check("schema", Level.FAIL,
                     f"state.db has {version} migrations, {len(unknown)} of them unknown to "
                     f"this novahunt ({len(known)} known): it was written by a newer "
                     "version; upgrade novahunt")
    if version < len(known):
        return Check("schema", Level.FAIL,
                     f"{len(known) - version} of {len(known)} migrations are not applied")
    return Check("schema", Level.OK, f"version {version} ({version} of {len(known)} "
                                     "migrations applied)")


def check_workers(database: Database, settings: Settings) -> tuple[Check, int]:
    live = live_workers(database, settings)
    if live:
        names = ", ".join(f"{w.id} ({w.concurrency} threads)" for w in live)
        return Check("workers", Level.OK, f"{len(live)} live: {names}"), len(live)
    waiting = telemetry.pending_jobs(database)
    if waiting:
        return Check("workers", Level.WARN,
                     f"none live and {waiting} job(s) waiting: start `novahunt worker`"), 0
    return Check("workers", Level.OK, "none live (no job is waiting)"), 0


def _why_stuck(job: runs.Running, host: str, now: float) -> str | None:
    """Why no live worker runs this running job, or None while one does. On this host
    the worker's process is looked at as the sweeper does (pid and start time), so a
    SIGKILLed worker's jobs show at once, not when their lease runs out."""
    worker = f"worker {job.worker_id or '?'}"
    if job.hostname == host and job.pid is not None and not pid_alive(job.pid,
                                                                        job.pid_started):
        return f"{worker}: its process (pid {job.pid}) is gone"
    if job.worker_stopped:
        return f"{worker} has stopped"
    if job.lease_until is None:
        return f"{worker}, no lease"
    if job.lease_until < now:
        # a live worker renews the leases of the jobs its threads run, and no others
        return f"{worker}, lease ran out {now - job.lease_until:.0f}s ago: no thread runs it"
    return None


def check_stuck(database: Database, live: int, now: float) -> Check:
    host = hostname()
    stuck = [(j, why) for j in runs.running(database)
             if (why := _why_stuck(j, host, now)) is not None]
    if not stuck:
        return Check("stuck jobs", Level.OK,
                     "none: every running job has a live worker and lease")
    shown = ", ".join(f"#{j.id} {j.type} ({why})" for j, why in stuck[:5])
    more = f" and {len(stuck) - 5} more" if len(stuck) > 5 else ""
    fix = ("a live worker takes them back within seconds once state.db takes writes"
           if live else "start `novahunt worker` to take them back")
    return Check("stuck jobs", Level.WARN,
                 f"{len(stuck)} running job(s) that no live worker runs: {shown}{more}; {fix}")


def check_disk_waits(database: Database) -> Check | None:
    """Jobs that met a full disk wait in `retrying` without spending attempts."""
    waiting = runs.waiting_for_disk(database)
    if not waiting:
        return None
    shown = ", ".join(f"#{i}" for i in waiting[:10])
    more = f" and {len(waiting) - 10} more" if len(waiting) > 10 else ""
    return Check("disk waits", Level.WARN,
                 f"{len(waiting)} job(s) waiting for disk space ({shown}{more}): they "
                 "resume by themselves when the disk under state.db has room")


def run() -> list[Check]:
    """Every check, in the order a person would look."""
    checks: list[Check] = []
    home = paths.home()
    checks.append(check_home(home))
    database_url = os.environ.get(db.URL_VARIABLE, "").strip()
    if database_url:
        checks.append(Check("database", Level.OK, redact(database_url)))
    else:
        checks.append(_file("state.db", paths.state_db()))
    checks.append(check_queue())

    settings: Settings | None = None
    where = paths.config_file()
    try:
        settings = config.load()
        shown = f"{where}" if where.exists() else f"{where} (absent: environment and defaults)"
        checks.append(Check("config", Level.OK, shown))
    except ConfigError as exc:
        checks.append(Check("config", Level.FAIL, _line(exc), config=True))

    database: Database | None = None
    open_error, open_config = "", False
    try:
        database = db.open_state()   # created and migrated if missing, as any command does
        telemetry.ping(database)
    except (StorageError, OSError, ConfigError) as exc:
        open_error = _line(exc)
        open_config = isinstance(exc, ConfigError)   # a bad NOVAHUNT_DATABASE_URL
        database = None

    checks.append(check_key(database, settings))
    if database is None:
        shown = redact(database_url) if database_url else "state.db"
        message = open_error if shown in open_error else f"cannot open {shown}: {open_error}"
        checks.append(Check("integrity", Level.FAIL, message, config=open_config))
    else:
        try:
            checks.append(check_integrity(database))
            checks.append(check_schema(database))
            workers, live = check_workers(database, settings or Settings())
            checks.append(workers)
            checks.append(check_stuck(database, live, time.time()))
            if (waits := check_disk_waits(database)) is not None:
                checks.append(waits)
        except StorageError as exc:
            checks.append(Check("integrity", Level.FAIL, f"{database.shown}: {_line(exc)}"))
        finally:
            database.close()
    checks.append(check_disk(home))
    return [_scrubbed(c) for c in checks]


def _scrubbed(check: Check) -> Check:
    """The check without a password from either URL, whatever raised its message."""
    message = check.message
    for variable in (db.URL_VARIABLE, config.QUEUE_URL_VARIABLE):
        url = os.environ.get(variable, "").strip()
        if url:
            message = scrub(message, url)
    return Check(check.check, check.status, message, check.config)
