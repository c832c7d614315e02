"""The queue, for delivery only: huey's SqliteHuey in queue.db, or Redis.

A message says "run job N" and nothing else; the state database decides whether it
still should. Both backends hand a message out once and forget it, so the job row, its
lease and the worker's sweeper carry the promises, whichever delivers.

- SQLite (the default): queue.db under the home folder. Building SqliteHuey runs its
  DDL under an exclusive lock, so ordinary commands pass `create_tables=False` once the
  file exists. The queue runs `synchronous=NORMAL`: WAL keeps that safe against process
  crashes, and a message lost to a power cut is re-sent by the sweeper. For the same
  reason a damaged queue.db (not a database any more) is moved aside with a warning and
  built anew, by whichever process opens it first; a live worker notices the new file
  (`repair`), reconnects, and its sweeper sends every queued job again.
- Redis, when `NOVAHUNT_QUEUE_URL` names one: huey's PriorityRedisHuey (plain RedisHuey
  refuses priorities), shared by workers on several hosts. A sorted set scored by
  minus the priority, so the highest huey priority is popped first, as on SQLite. An
  idle worker thread blocks on BZPOPMIN for up to `READ_TIMEOUT` instead of polling:
  a message starts the moment it arrives.

Both record huey's times as naive UTC (`utc=True`); see `timeparse.run_in_utc`.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from novahunt import config, paths
from novahunt.errors import QueueUnavailable, ReadOnlyStorage
from novahunt.inputs.urls import redact

log = logging.getLogger(__name__)


def _import_huey() -> None:
    """Import huey without the drivers of backends this process does not use.

    huey's storage module imports redis and psycopg whenever they are installed (for
    its Redis and PostgreSQL queues): about 250 ms on every `collect` and worker start,
    for nothing when the queue is queue.db. While huey loads, they are made to look
    absent, then made importable again; `_open_redis` hands huey the Redis names if a
    process turns to Redis later."""
    lean = [name for name in ("redis", "psycopg") if name not in sys.modules]
    if os.environ.get("NOVAHUNT_QUEUE_URL", "").strip() and "redis" in lean:
        lean.remove("redis")
    for name in lean:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import huey.storage  # noqa: F401
    finally:
        for name in lean:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


if "huey.storage" not in sys.modules:
    _import_huey()

from huey import PriorityRedisHuey, SqliteHuey  # noqa: E402
from huey.consumer import Consumer as Consumer  # noqa: E402  (worker.py's, loaded lean)
from huey.storage import PriorityRedisStorage, SqliteStorage  # noqa: E402

NAME = "novahunt"
# How long an idle worker thread blocks on Redis before asking again: a stopping worker
# waits up to this long for its threads. Whole seconds: Redis before 6.0 refuses a
# fractional BZPOPMIN timeout.
READ_TIMEOUT = 1
# Without these a host that drops packets would hang a command or a worker thread for
# minutes; URL options (`?socket_timeout=...`) override them.
REDIS_OPTIONS: dict[str, Any] = {"socket_connect_timeout": 5.0, "socket_timeout": 10.0,
                                 "socket_keepalive": True, "health_check_interval": 30}


class _QueueStorage(SqliteStorage):  # type: ignore[misc]
    identity: tuple[int, int] | None = None   # the file its connection opened

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        self.identity = _identity(Path(self.filename))
        return conn


class QueueHuey(SqliteHuey):  # type: ignore[misc]
    storage_class = _QueueStorage


class _RedisStorage(PriorityRedisStorage):  # type: ignore[misc]
    def take(self) -> bytes | None:
        """The next message without blocking: PriorityRedisStorage's non-blocking
        `dequeue`, for one-at-a-time runs that must not wait READ_TIMEOUT when idle."""
        items = self.conn.zpopmin(self.queue_key, count=1)
        return bytes(items[0][0][8:]) if items else None  # 8 bytes of enqueue time first


class RedisQueueHuey(PriorityRedisHuey):  # type: ignore[misc]
    storage_class = _RedisStorage


_cache: dict[str, Any] = {}   # by queue.db path or by Redis URL


def open_queue() -> Any:
    """The huey instance for this home (or for `NOVAHUNT_QUEUE_URL`). It knows no task:
    whoever sends or runs `run_job` registers it (`tasks.register`)."""
    url = config.queue_url()
    key = url if url is not None else str(paths.queue_db())
    huey = _cache.get(key)
    if huey is None:
        huey = _open_sqlite(paths.queue_db()) if url is None else _open_redis(url)
        _cache[key] = huey
    return huey


def shown() -> str:
    """Where messages go, as a person may see it: queue.db's path, or the Redis URL
    with its password replaced by `***`."""
    url = config.queue_url()
    return str(paths.queue_db()) if url is None else redact(url)


def take(huey: Any) -> Any | None:
    """The next message, or None at once when there is none (`huey.dequeue` would wait
    on Redis)."""
    storage = huey.storage
    data = storage.take() if isinstance(storage, _RedisStorage) else storage.dequeue()
    return None if data is None else huey.deserialize_task(data)


@contextmanager
def reachable() -> Iterator[None]:
    """Turn the Redis client's errors into QueueUnavailable (exit 4), its URL redacted."""
    url = config.queue_url()
    if url is None:
        yield
        return
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as exc:
        text = str(exc).strip().splitlines()
        raise QueueUnavailable(f"cannot reach the queue at {redact(url)}: "
                               f"{text[0] if text else type(exc).__name__}") from None


def _open_sqlite(path: Path) -> Any:
    try:
        paths.private_file(path)
    except OSError as exc:
        if exc.errno not in paths.READ_ONLY_ERRNOS:
            raise
        raise ReadOnlyStorage(f"{path.name} is read-only ({paths.read_only(path) or exc.strerror})"
                              ": this command needs to write it; reading commands "
                              "still work") from None
    return QueueHuey(NAME, filename=str(path), results=False, utc=True,
                     create_tables=_missing_tables(path), timeout=60)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _is_damage(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorname", "") or ""
    return code == "SQLITE_NOTADB" or code.startswith("SQLITE_CORRUPT")


def _read_only_uri(path: Path) -> str:
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def damage(path: Path) -> str | None:
    """Why queue.db is not a usable queue (garbage in the file: "file is not a
    database", "database disk image is malformed"), or None. Not a busy file: that
    waits, as every reader does."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=60)
    except sqlite3.Error:
        return None   # cannot even open it read-only: not a damage moving would mend
    try:
        conn.execute("SELECT name FROM sqlite_master").fetchall()
    except sqlite3.DatabaseError as exc:
        if _is_damage(exc):
            lines = str(exc).strip().splitlines()
            return lines[0] if lines else "damaged"
        return None
    finally:
        conn.close()
    return None


def messages(path: Path) -> int | None:
    """Messages waiting in queue.db, read without writing; None when it cannot say."""
    try:
        conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'task'").fetchone() is None:
            return 0
        return int(conn.execute("SELECT COUNT(*) FROM task").fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _move_aside(path: Path, why: str) -> Path | None:
    """Rename a damaged queue.db (and its journal) out of the way; None when another
    process did it first."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path.with_name(f"{path.name}.damaged-{stamp}-{os.getpid()}")
    try:
        os.replace(path, aside)
    except FileNotFoundError:
        return None
    for suffix in ("-wal", "-shm"):  # the damaged file's, meaningless to a new one
        with suppress(FileNotFoundError):
            os.replace(path.with_name(path.name + suffix), Path(f"{aside}{suffix}"))
    log.warning("%s was damaged (%s): moved aside to %s and built anew; a worker sends "
                "every queued job again", path, why, aside.name)
    return aside


def _mend(path: Path) -> bool:
    """Move queue.db aside if it is damaged; True if this process did."""
    before = _identity(path)
    why = damage(path) if before is not None else None
    # another process may have mended it while this one looked: move only what it read
    if why is None or _identity(path) != before:
        return False
    try:
        return _move_aside(path, why) is not None
    except OSError as exc:   # a read-only home: say it, leave the file as it is
        log.warning("%s is damaged (%s) and cannot be moved aside: %s", path, why,
                    exc.strerror)
        return False


def repair(huey: Any) -> str | None:
    """For a live worker, now and then: if queue.db was damaged, or moved aside and
    rebuilt by another process, since this huey's connection opened it, mend it and
    reconnect. Returns what happened (the worker then re-sends every queued job), or
    None when the queue is fine or not queue.db."""
    storage = huey.storage
    if not isinstance(storage, _QueueStorage):
        return None
    path = Path(storage.filename)
    mended = _mend(path)
    if not mended and storage.identity in (None, _identity(path)):
        return None
    storage.close()   # the next statement connects to the file now at the path
    try:
        paths.private_file(path)
        storage.initialize_schema()
    except (OSError, sqlite3.Error) as exc:
        log.warning("%s cannot be rebuilt yet: %s", path, exc)
    return f"{path.name} was {'damaged' if mended else 'replaced'}: reconnected to a new one"


def _open_redis(url: str) -> Any:
    import huey.storage
    import redis
    from redis import ConnectionPool
    from redis.exceptions import ConnectionError, TimeoutError

    if huey.storage.Redis is None:  # loaded lean by `_import_huey`: give it the driver
        huey.storage.ConnectionPool, huey.storage.Redis = ConnectionPool, redis.Redis
        huey.storage.ConnectionError, huey.storage.TimeoutError = ConnectionError, TimeoutError
        huey.storage.RedisStorage.redis_client = redis.Redis

    # no connection yet: the pool connects on the first command
    pool = ConnectionPool.from_url(url, **REDIS_OPTIONS)
    return RedisQueueHuey(NAME, results=False, utc=True, connection_pool=pool,
                          read_timeout=READ_TIMEOUT)


def _missing_tables(path: Path) -> bool:
    for attempt in (1, 2):
        conn = sqlite3.connect(path)
        try:
            return conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'task'").fetchone() is None
        except sqlite3.DatabaseError as exc:
            if attempt == 2 or not _is_damage(exc):
                raise
            # moved aside (by this process, or another one first), then a new file, 0600
            _mend(path)
            paths.private_file(path)
        finally:
            conn.close()
    return True  # unreachable: the second attempt returns or raises
