"""Quiet and verbose, the log file, and the worker's daily cleanup."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from helpers import Cli, drain, run_process
from novahunt import config
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.worker import runtime as worker
from novahunt.worker.runtime import WorkerRuntime


def test_quiet_keeps_the_data_and_drops_the_chatter(sandbox: Sandbox, cli: Cli) -> None:
    code, out, err = cli("results", "nothing.example")
    assert code == 0 and "no contacts" in err
    code, out, err = cli("-q", "results", "nothing.example")
    assert code == 0 and err == "" and out == ""
    sandbox.add_domain("quiet.example", 5)
    done = run_process("-q", "collect", "quiet.example", "--follow")
    assert done.returncode == 0
    assert done.stderr == ""
    assert "quiet.example: completed" not in done.stdout  # no progress lines
    code, out, _ = cli("-q", "results", "quiet.example", "--format", "jsonl")
    assert code == 0 and len(out.splitlines()) == 5


def test_errors_still_show_when_quiet(cli: Cli) -> None:
    code, _, err = cli("-q", "collect", "not a domain")
    assert code == 2 and "not a usable domain" in err


def test_workers_log_to_a_rotating_file_under_the_home(sandbox: Sandbox, home: Path) -> None:
    sandbox.add_domain("logged.example", 5)
    assert run_process("collect", "logged.example").returncode == 0
    done = run_process("worker", "--burst")
    assert done.returncode == 0
    assert "logged.example: completed" in done.stderr
    log = home / "logs" / "novahunt.log"
    text = log.read_text()
    assert "logged.example: completed" in text and "started with" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert sandbox.requests and all(r.key_in_header for r in sandbox.requests)
    from helpers import KEY

    assert KEY not in text


def test_verbose_shows_info_on_stderr(sandbox: Sandbox) -> None:
    sandbox.add_domain("loud.example", 3)
    done = run_process("-v", "collect", "loud.example", "--follow")
    assert done.returncode == 0
    assert "INFO" in done.stderr and "loud.example" in done.stderr


def test_the_worker_cleans_up_old_jobs_daily_and_vacuums_after_a_big_one(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(3):
        sandbox.add_domain(f"old{i}.example", 2)
        assert cli("collect", f"old{i}.example")[0] == 0
    drain(inline_worker)
    assert cli("collect", "later.example")[0] == 0  # still queued: never cleaned
    monkeypatch.setenv("NOVAHUNT_RETENTION", "0s")
    inline_worker.settings = config.load()
    monkeypatch.setattr(worker, "VACUUM_AFTER", 2)
    vacuums: list[int] = []
    original = inline_worker.db.vacuum
    monkeypatch.setattr(inline_worker.db, "vacuum", lambda: (vacuums.append(1), original()))
    inline_worker.due_now("cleanup")
    inline_worker.tick()
    assert [j.status for j in jobs.listing(inline_worker.db)] == [jobs.Status.QUEUED]
    assert vacuums == [1]
    # and not again the same day: a job finished now stays
    assert cli("collect", "old0.example", "--refresh")[0] == 0
    drain(inline_worker)
    inline_worker.tick()
    assert jobs.Status.COMPLETED in [j.status for j in jobs.listing(inline_worker.db)]
