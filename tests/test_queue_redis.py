"""The queue on Redis (`NOVAHUNT_QUEUE_URL`): the same delivery as queue.db, priorities
first, lost messages re-sent, workers that start a job the moment it is queued, and
URLs that never show their password.

Runs against a real redis-server: NOVAHUNT_TEST_REDIS_URL (CI's instance; CI=true
without it is a failure, not a skip), else one started here on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from helpers import Cli, drain, novahunt_env, run_process, spawn, wait_for
from novahunt import config, tasks
from novahunt.inputs.urls import redact
from novahunt.queue import backends as queue
from novahunt.queue import dispatch
from novahunt.runners import collect
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker import liveness as processes
from novahunt.worker.runtime import WorkerRuntime

PASSWORD = "hunter2-not-for-print"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis for this session (a db of its own to flush)."""
    given = os.environ.get("NOVAHUNT_TEST_REDIS_URL", "").strip()
    if given:
        yield given
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but NOVAHUNT_TEST_REDIS_URL is not set: the Redis queue "
                    "tests must run in CI")
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on PATH and NOVAHUNT_TEST_REDIS_URL is not set")
    port = _free_port()
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


# the queue alone on each backend; conftest's `stack` switches state and queue together
@pytest.fixture(params=["sqlite", "redis"])
def queue_backend(request: pytest.FixtureRequest, home: object,
                  monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test on queue.db and on Redis (NOVAHUNT_QUEUE_URL set, its db flushed)."""
    if request.param == "sqlite":
        monkeypatch.delenv("NOVAHUNT_QUEUE_URL", raising=False)
        return "sqlite"
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", url)
    return "redis"


@pytest.fixture()
def on_redis(home: object, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", redis_url)
    return redis_url


def with_password(url: str, password: str = PASSWORD, port: int | None = None) -> str:
    parts = urlsplit(url)
    host = f"{parts.hostname}:{port or parts.port or 6379}"
    return urlunsplit((parts.scheme, f":{password}@{host}", parts.path, "", ""))


def submit(state: Database, domain: str, **kw: object) -> int:
    settings = config.load()
    [spec] = collect.plan(state, settings, [domain], max_results=100, **kw)  # type: ignore[arg-type]
    [(job, _)] = dispatch.submit(state, [spec])
    return job.id




# -- delivery, on both queues ----------------------------------------------------------


def test_the_redis_queue_is_huey_priority_redis(on_redis: str) -> None:
    from huey import PriorityRedisHuey

    huey = queue.open_queue()
    assert isinstance(huey, PriorityRedisHuey)
    assert huey.name == queue.NAME and huey.utc and not huey.results
    assert queue.open_queue() is huey  # one instance per URL, like one per queue.db


def test_priority_1_runs_before_priority_5(queue_backend: str, sandbox: Sandbox,
                                           state: Database,
                                           inline_worker: WorkerRuntime) -> None:
    for name, priority in (("low.example", 5), ("mid.example", 3), ("high.example", 1),
                           ("mid2.example", 3)):
        sandbox.add_domain(name, 3)
        submit(state, name, priority=priority)
    drain(inline_worker)
    assert [r.params["domain"] for r in sandbox.requests] == [
        "high.example", "mid.example", "mid2.example", "low.example"]


def test_pending_job_ids_sees_every_waiting_message(queue_backend: str,
                                                    state: Database) -> None:
    huey = queue.open_queue()
    for job_id, priority in ((11, 5), (12, 1), (13, 3)):
        tasks.send(huey, job_id, priority)
    assert tasks.pending_job_ids(huey) == {11, 12, 13}
    task = queue.take(huey)
    assert task is not None and task.args == (12,)   # the highest priority comes out first
    assert tasks.pending_job_ids(huey) == {11, 13}


def test_taking_from_an_empty_queue_does_not_wait(queue_backend: str) -> None:
    huey = queue.open_queue()
    started = time.monotonic()
    assert queue.take(huey) is None
    assert time.monotonic() - started < 0.2   # huey's own dequeue blocks on Redis


def test_a_worker_process_starts_a_queued_job_at_once_and_stops_promptly(
        queue_backend: str, sandbox: Sandbox, state: Database) -> None:
    sandbox.add_domain("prompt.example", 3)
    worker = spawn("worker", "--concurrency", "2")
    try:
        wait_for(lambda: len(processes.live_workers(state, config.load())) == 1)
        time.sleep(1.5)  # idle long enough for a polling worker to reach its longest wait
        done = run_process("collect", "prompt.example", "--json")
        assert done.returncode == 0, done.stderr
        [job_id] = [item["id"] for item in json.loads(done.stdout)]
        wait_for(lambda: jobs.get(state, job_id).status is Status.COMPLETED)
        job = jobs.get(state, job_id)
        assert job.started_at is not None
        waited = job.started_at - job.created_at
        # Redis: BZPOPMIN hands the message over as it arrives; queue.db: polled every
        # 0.5 s at most (the worker's max_delay)
        assert waited < (0.3 if queue_backend == "redis" else 0.9), waited
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
        # a thread blocked on Redis returns within queue.READ_TIMEOUT
        assert time.monotonic() - started < 3.0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_workers_on_redis_run_a_burst_of_jobs_once_each(
        on_redis: str, sandbox: Sandbox, state: Database) -> None:
    for i in range(12):
        sandbox.add_domain(f"burst{i}.example", 5)
    done = run_process("collect", *(f"burst{i}.example" for i in range(12)), "--json")
    assert done.returncode == 0, done.stderr
    ids = [item["id"] for item in json.loads(done.stdout)]
    workers = [spawn("worker", "--burst", "--concurrency", "3",
                     env=novahunt_env(NOVAHUNT_HOSTNAME=f"host-{n}")) for n in "ab"]
    for w in workers:
        assert w.wait(timeout=60) == 0, w.stderr.read() if w.stderr else ""
    finished = [jobs.get(state, i) for i in ids]
    assert all(j.status is Status.COMPLETED and j.attempts == 1 for j in finished)
    assert sandbox.count() == 12     # one request a job: no job ran twice
    assert tasks.pending_job_ids(queue.open_queue()) == set()


# -- URLs: checked, and never shown with their password ----------------------------------


@pytest.mark.parametrize("url", [
    f"http://u:{PASSWORD}@queue.internal:6379/0",          # not Redis
    f"postgresql://u:{PASSWORD}@db.internal/novahunt",     # the other variable's URL
    f"redis://:{PASSWORD}@queue.internal:notaport/0",      # a port that is no number
    f"redis://:{PASSWORD}@/0",                             # no host
    f"redis://:{PASSWORD}@queue.internal:6379/zero",       # a database that is no number
    f"redis://:{PASSWORD}@[::1/0",                         # unparsable
    "queue.internal:6379",                                 # no scheme at all
])
def test_a_bad_queue_url_is_a_one_line_config_error_without_the_password(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", url)
    code, out, err = cli("jobs", "list")
    assert code == 3
    assert err.startswith("novahunt: error: NOVAHUNT_QUEUE_URL") and err.count("\n") == 1
    assert PASSWORD not in out + err
    assert "redis://" in err   # it says what it wants


def test_a_password_with_unescaped_slashes_is_hidden_too(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", "redis://:pa/ss#wo?rd@queue.internal:x/0")
    code, out, err = cli("jobs", "list")
    assert code == 3
    assert not any(part in out + err for part in ("pa/ss", "ss#wo", "wo?rd"))


def test_an_unreachable_queue_is_exit_4_and_the_job_is_sent_later(
        on_redis: str, cli: Cli, sandbox: Sandbox, state: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("later.example", 3)
    down = with_password(on_redis, port=_free_port())   # nothing listens there
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", down)
    code, out, err = cli("collect", "later.example")
    assert code == 4
    assert err.startswith("novahunt: error: cannot reach the queue at redis://:***@")
    assert err.count("\n") == 1 and PASSWORD not in out + err
    [job] = jobs.listing(state)
    assert job.status is Status.QUEUED   # the row waits for a message
    done = run_process("worker", "--burst", env=novahunt_env(NOVAHUNT_QUEUE_URL=on_redis))
    assert done.returncode == 0, done.stderr
    assert jobs.get(state, job.id).status is Status.COMPLETED


def test_a_wrong_redis_password_is_not_printed(on_redis: str, cli: Cli,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    server = redis.Redis.from_url(on_redis)
    server.acl_setuser("nh-test", enabled=True, passwords=["+right-password"],
                       commands=["+@all"], keys=["*"])
    try:
        url = _acl_user_url(on_redis, "nh-test", PASSWORD)
        monkeypatch.setenv("NOVAHUNT_QUEUE_URL", url)
        code, out, err = cli("doctor", "--json")
        assert code == 1 and PASSWORD not in out + err
        [line] = [c for c in json.loads(out) if c["check"] == "queue"]
        assert line["status"] == "fail" and "nh-test:***@" in line["message"]
    finally:
        server.acl_deluser("nh-test")


def test_help_and_reading_commands_import_neither_huey_nor_redis(
        monkeypatch: pytest.MonkeyPatch) -> None:
    env = novahunt_env(NOVAHUNT_QUEUE_URL=f"redis://:{PASSWORD}@127.0.0.1:1/0")
    for args in (["--help"], ["jobs", "list"]):
        done = subprocess.run([sys.executable, "-X", "importtime", "-m", "novahunt", *args],
                              env=env, capture_output=True, text=True, timeout=60,
                              check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                    if line.startswith("import time:")}
        assert not {m for m in imported if m.split(".")[0] in ("redis", "huey")}, args


def test_a_worker_on_queue_db_loads_huey_without_the_redis_and_postgresql_drivers() -> None:
    # huey's storage module imports both whenever installed: ~250 ms for nothing here
    code = ("import sys, novahunt.worker\n"
            "print(sorted(m for m in ('redis', 'psycopg') if m in sys.modules))")
    env = novahunt_env()
    env.pop("NOVAHUNT_QUEUE_URL", None)
    env.pop("NOVAHUNT_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
    # ... and they stay importable for whoever needs them later
    later = code.replace("print(", "import redis, psycopg; print(")
    done = subprocess.run([sys.executable, "-c", later], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.strip() == "['psycopg', 'redis']"


def _acl_user_url(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, f"{user}:{password}@{parts.netloc.split('@')[-1]}",
                       parts.path, "", ""))


def test_doctor_shows_a_redis_queue_that_answers_without_its_password(
        on_redis: str, cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    server = redis.Redis.from_url(on_redis)
    server.acl_setuser("nh-doctor", enabled=True, passwords=[f"+{PASSWORD}"],
                       commands=["+@all"], keys=["*"])
    try:
        url = _acl_user_url(on_redis, "nh-doctor", PASSWORD)
        monkeypatch.setenv("NOVAHUNT_QUEUE_URL", url)
        tasks.send(queue.open_queue(), 7, 3)
        code, out, err = cli("doctor")
        json_code, json_out, json_err = cli("doctor", "--json")
        assert code == json_code == 0
        assert PASSWORD not in out + err + json_out + json_err
        [line] = [c for c in json.loads(json_out) if c["check"] == "queue"]
        assert line["status"] == "ok"
        assert line["message"] == f"{redact(url)} answers: 1 message(s) waiting"
        assert line["message"].startswith("redis://nh-doctor:***@")
    finally:
        server.acl_deluser("nh-doctor")
