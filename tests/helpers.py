"""Helpers the tests share: run the CLI in this process, start real `novahunt`
processes, drive an inline worker, queue jobs as the commands would, wait for a
condition. Plain functions and classes; the fixtures that hand them out live in
conftest.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from novahunt import config
from novahunt.cli.main import run
from novahunt.state.db import Database
from novahunt.state.jobs import Job
from novahunt.worker.runtime import WorkerRuntime

KEY = "sk_test_0123456789abcdef0123456789abcdef"
SRC = str(Path(__file__).resolve().parents[1] / "src")


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


def drain(runtime: WorkerRuntime, limit: int = 1000) -> int:
    """Run messages until the queue is empty (promoting due jobs); returns how many ran."""
    ran = 0
    while ran < limit:
        runtime.due_now("promote")  # due jobs are queued on every round
        runtime.tick()
        if not runtime.run_once():
            break
        ran += 1
    return ran


def novahunt_env(**extra: str) -> dict[str, str]:
    """This process's environment for a `novahunt` child, with the source on its path."""
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
    """Run `novahunt ARGS` as a real process to its end."""
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
