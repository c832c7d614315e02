"""Shared fixtures (a private home per test, a Hunter sandbox, the CLI, an inline worker,
the backends) and the markers by scope. The helpers themselves live in helpers.py."""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

import backends
from helpers import KEY, Cli
from novahunt import config
from novahunt.sandbox import Sandbox
from novahunt.state import db
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime

# a test that names one of these (or calls a function or fixture of its module that
# does) starts real processes: marked `processes`, left out of the fast loop
PROCESS_NAMES = frozenset({"spawn", "run_process", "novahunt_env", "subprocess", "Popen",
                           "multiprocessing"})
# fixtures that open state.db (or PostgreSQL, Redis): marked `storage`
STORAGE_FIXTURES = frozenset({"state", "inline_worker", "backend", "queue_backend", "stack",
                              "hosts_backend"})


def pytest_sessionstart(session: pytest.Session) -> None:
    """CI runs every backend: a server missing there stops the run at once, with one
    message, instead of failing each PostgreSQL and Redis test on its own."""
    if backends.in_ci() and (names := backends.missing()):
        pytest.exit(f"CI=true but {' and '.join(names)} unset: start the servers first "
                    f"with {backends.START} (.ci/run does)", returncode=pytest.ExitCode.USAGE_ERROR)


@cache
def _starting_processes(path: Path) -> frozenset[str]:
    """The functions of a test module (`name`, `Class.name`) that start processes,
    directly or through another function of the module."""
    functions: dict[str, ast.FunctionDef] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef):
            functions[node.name] = node
        elif isinstance(node, ast.ClassDef):
            functions.update((f"{node.name}.{f.name}", f) for f in node.body
                             if isinstance(f, ast.FunctionDef))
    uses = {name: {n.id if isinstance(n, ast.Name) else n.attr for n in ast.walk(function)
                   if isinstance(n, ast.Name | ast.Attribute)}
            for name, function in functions.items()}
    starting = {name for name, used in uses.items() if used & PROCESS_NAMES}
    while True:  # and whatever calls one of those, until nothing is added
        called = {name.rpartition(".")[2] for name in starting}
        grown = {name for name, used in uses.items() if name not in starting and used & called}
        if not grown:
            return frozenset(starting)
        starting |= grown


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by what it uses: `processes`, `cli`, `storage` (`pure` is set by
    the files of pure functions themselves)."""
    for item in items:
        if not isinstance(item, pytest.Function) or item.module is None:
            continue
        starting = _starting_processes(Path(item.module.__file__ or ""))
        fixtures = set(item.fixturenames)
        if item.function.__qualname__ in starting or fixtures & starting:
            item.add_marker(pytest.mark.processes)
        if "cli" in fixtures:
            item.add_marker(pytest.mark.cli)
        if fixtures & STORAGE_FIXTURES:
            item.add_marker(pytest.mark.storage)


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
    monkeypatch.setenv("NOVAHUNT_RATE_EMAIL_COUNT", "500/s")
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


@pytest.fixture()
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture()
def inline_worker(state: Database) -> Iterator[WorkerRuntime]:
    """A worker that runs queued jobs one at a time in the test's thread."""
    runtime = WorkerRuntime(state, config.load(), concurrency=1)
    runtime.activate()
    yield runtime
    runtime.deactivate()
