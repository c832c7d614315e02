"""Shared fixtures: a private home per test, a Hunter sandbox, CLI and worker helpers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import backends
from novahunt import config
from novahunt.cli.main import run
from novahunt.sandbox import Sandbox
from novahunt.state import db
from novahunt.state.db import Database
from novahunt.state.jobs import Job
from novahunt.worker.runtime import WorkerRuntime

KEY = "sk_test_0123456789abcdef0123456789abcdef"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI runs every backend: a server missing there stops the run at once, with one
    message, instead of failing each PostgreSQL and Redis test on its own."""
    if backends.in_ci() and (names := backends.missing()):
        pytest.exit(f"CI=true but {' and '.join(names)} unset: start the servers first "
                    f"with {backends.START} (.ci/run does)", returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own NOVAHUNT_HOME and config; nothing touches real user dirs."""
    path = tmp_path / "home"
    monkeypatch.setenv("NOVAHUNT_HOME", str(path))
    monkeypatch.setenv("NOVAHUNT_CONFIG", str(tmp_path / "config.toml"))
    for name in list(os.environ):
        if name.startswith(("HUNTER_", "NOVAHUNT_")) and name not in (
                "NOVAHUNT_HOME", "NOVAHUNT_CONFIG", backends.POSTGRES, backends.REDIS):
            monkeypatch.delenv(name)
    # fast waits: tests measure behaviour, not patience
    monkeypatch.setenv("NOVAHUNT_BACKOFF_BASE", "0.05")
    monkeypatch.setenv("NOVAHUNT_JOB_BACKOFF", "0.2")
    # Hunter's real limits (15/s, 500/min) would make bulk tests slow; rate tests set theirs
    monkeypatch.setenv("NOVAHUNT_RATE_DOMAIN_SEARCH", "500/s")
    monkeypatch.setenv("NOVAHUNT_RATE_EMAIL_VERIFIER", "500/s")
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, home: Path,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each state backend: state.db, and PostgreSQL
    (NOVAHUNT_DATABASE_URL, a schema of its own; processes the test starts inherit it)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    with backends.fresh_schema(backends.server_url(backends.POSTGRES)) as url:
        monkeypatch.setenv("NOVAHUNT_DATABASE_URL", url)
        yield "postgres"


@pytest.fixture(params=["sqlite", "redis"])
def queue_backend(request: pytest.FixtureRequest, home: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each queue: queue.db, and Redis (NOVAHUNT_QUEUE_URL, its database
    emptied before and after; processes the test starts inherit it)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    url = backends.empty_redis(backends.server_url(backends.REDIS))
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", url)
    yield "redis"
    backends.empty_redis(url)


@pytest.fixture(params=["sqlite", "postgres+redis"])
def stack(request: pytest.FixtureRequest, home: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each whole configuration: the embedded default (state.db and
    queue.db), and PostgreSQL with Redis, as several machines would share them."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    redis_url = backends.empty_redis(backends.server_url(backends.REDIS))
    with backends.fresh_schema(backends.server_url(backends.POSTGRES)) as url:
        monkeypatch.setenv("NOVAHUNT_DATABASE_URL", url)
        monkeypatch.setenv("NOVAHUNT_QUEUE_URL", redis_url)
        yield request.param
    backends.empty_redis(redis_url)


@pytest.fixture()
def hosts_backend(home: Path) -> Iterator[backends.Shared]:
    """A fresh PostgreSQL schema and an empty Redis, for tests that build each
    simulated host's environment themselves (nothing is set in this process)."""
    redis_url = backends.empty_redis(backends.server_url(backends.REDIS))
    with backends.fresh_schema(backends.server_url(backends.POSTGRES)) as url:
        yield backends.Shared(url, redis_url)
    backends.empty_redis(redis_url)


@pytest.fixture()
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A Hunter-speaking server on 127.0.0.1, with novahunt pointed at it."""
    box = Sandbox(KEY)
    box.start()
    monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
    monkeypatch.setenv("HUNTER_API_KEY", KEY)
    yield box
    box.stop()


@pytest.fixture()
def state() -> Database:
    return db.open_state()


class Cli:
    """Run `novahunt ...` in this process and capture what it prints."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = run(list(args))
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err


def shown(cli: Cli, job_id: int) -> dict[str, Any]:
    """`jobs show ID --json`, which must succeed."""
    code, out, err = cli("jobs", "show", str(job_id), "--json")
    assert code == 0, err
    job = json.loads(out)
    assert isinstance(job, dict)
    return job


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture()
def inline_worker(state: Database) -> Iterator[WorkerRuntime]:
    """A worker that runs queued jobs one at a time in the test's thread."""
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    yield runtime
    store_stop(runtime)


def store_stop(runtime: WorkerRuntime) -> None:
    from novahunt.state import store
    from novahunt.worker import runtime as worker

    store.stop_worker(runtime.db, runtime.id)
    worker._current = None


def drain(runtime: WorkerRuntime, limit: int = 1000) -> int:
    """Run messages until the queue is empty (promoting due jobs); returns how many ran."""
    ran = 0
    while ran < limit:
        runtime._next.pop("promote", None)  # due jobs are queued on every round
        runtime.tick()
        if not runtime.run_once():
            break
        ran += 1
    return ran


def novahunt_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_CURRENT_TEST", None)
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def spawn(*args: str, env: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
    """Start `novahunt ARGS` as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "novahunt", *args], env=env or novahunt_env(),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def run_process(*args: str, timeout: float = 60,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "novahunt", *args], env=env or novahunt_env(),
        capture_output=True, text=True, timeout=timeout, check=False)


def wait_for(predicate: Callable[[], object], timeout: float = 60.0) -> float:
    """Poll until `predicate()` is true; the seconds it took. Fails after `timeout`."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def kill(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    proc.send_signal(sig)
    proc.wait(timeout=30)


def submit_collect(state: Database, *domains: str, **kw: object) -> list[Job]:
    """Queue collect jobs as `novahunt collect` would (plan, create, send)."""
    from novahunt.queue import dispatch
    from novahunt.runners import collect

    settings = config.load()
    kw.setdefault("max_results", settings.max_collect)
    specs = collect.plan(state, settings, list(domains), **kw)  # type: ignore[arg-type]
    return [job for job, _ in dispatch.submit(state, specs)]


def submit_verify(state: Database, values: list[str], **kw: object) -> Job:
    """Queue one verify job as `novahunt verify` would (plan, create, send)."""
    from novahunt.queue import dispatch
    from novahunt.runners import verify

    settings = config.load()
    kw.setdefault("max_age", settings.verify_max_age)
    spec = verify.plan(settings, values, source="test", **kw)  # type: ignore[arg-type]
    [(job, _)] = dispatch.submit(state, [spec])
    return job


def emails_in_db(state: Database, domain: str) -> list[str]:
    return [r["email"] for r in state.query(
        "SELECT email FROM contacts WHERE domain = ? ORDER BY email", (domain,))]
