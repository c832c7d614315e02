"""state.db removed or replaced under a live `novahunt worker`: the worker notices (the
inode it opened is gone from the path), stops taking jobs and says why; while it still
holds the old file, commands refuse in one line instead of "disk I/O error"; once it has
stopped, the file at the path is used as it is, without the old file's journal in it."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import novahunt_env, run_process, spawn, wait_for
from novahunt.errors import StateFileLost
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database


def start_a_slow_step(sandbox: Sandbox, state: Database, domain: str) -> tuple[
        subprocess.Popen[str], int]:
    """A worker in the middle of a collect whose second page takes 8 s to arrive, with
    every connection of this process to state.db closed. The tests freeze it (SIGSTOP)
    while they remove or replace state.db: a command then meets a process that surely
    still holds the old file; the worker notices once it runs again (SIGCONT)."""
    sandbox.add_domain(domain, 60)
    sandbox.inject(Fault(), Fault(delay=8.0), domain=domain)
    done = run_process("collect", domain, "--json")
    assert done.returncode == 0, done.stderr
    [job] = json.loads(done.stdout)
    worker = spawn("worker", "--concurrency", "1")
    wait_for(lambda: jobs.get(state, job["id"]).progress_current >= 10, timeout=30)
    state.close()   # the test itself must not be one of the processes holding the file
    time.sleep(0.5)  # the slow page is in flight
    return worker, int(job["id"])


def other_home_with_a_job(tmp_path: Path, domain: str) -> Path:
    """A state.db of another home, holding one queued collect of `domain`."""
    other = tmp_path / "other-home"
    done = run_process("collect", domain, env=novahunt_env(NOVAHUNT_HOME=str(other)))
    assert done.returncode == 0, done.stderr
    return other / "state.db"


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


@pytest.mark.parametrize("removed", [("state.db",), ("state.db", "state.db-wal", "state.db-shm")],
                         ids=["file", "file-and-journal"])
def test_a_worker_stops_when_state_db_is_removed_and_commands_say_so(
        sandbox: Sandbox, state: Database, home: Path, monkeypatch: pytest.MonkeyPatch,
        removed: tuple[str, ...]) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    worker, _ = start_a_slow_step(sandbox, state, "gone.example")
    try:
        worker.send_signal(signal.SIGSTOP)  # frozen: it holds the old file for sure
        for name in removed:
            (home / name).unlink(missing_ok=True)
        if len(removed) == 1:   # its journal is still at the path: reading it would lie
            listed = run_process("jobs", "list")
            assert listed.returncode == 1
            line = one_line(listed.stderr)
            assert "state.db was removed while process" in line, line
            assert "disk I/O error" not in line and "internal error" not in line
        gone_at = time.monotonic()
        worker.send_signal(signal.SIGCONT)
        # the worker finishes the page in flight and stops on its own: before, it went on
        # "completing" jobs into a file nobody could read, for as long as it ran
        code = worker.wait(timeout=30)
        stopped_after = time.monotonic() - gone_at
        _, err = worker.communicate()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert code == 1, err
    assert "state.db was removed while this process had it open" in err
    assert "stopped taking jobs" in err.splitlines()[-1]
    assert stopped_after < 15   # at most the 8 s page in flight, then at once
    print(f"\nworker stopped {stopped_after:.1f}s after state.db was removed")
    # a new, empty state.db: nothing of the removed file's journal replayed into it
    listed = run_process("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert not list(home.glob("state.db-wal.orphaned-*"))  # its journal was emptied first


def test_a_worker_stops_when_state_db_is_replaced_and_the_new_file_stays_whole(
        sandbox: Sandbox, state: Database, home: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    replacement = other_home_with_a_job(tmp_path, "restored.example")
    worker, _ = start_a_slow_step(sandbox, state, "old.example")
    try:
        worker.send_signal(signal.SIGSTOP)
        os.replace(replacement, home / "state.db")   # `mv backup.db state.db`
        listed = run_process("jobs", "list")
        assert listed.returncode == 1
        line = one_line(listed.stderr)
        assert "state.db was replaced by another file while process" in line, line
        assert "disk I/O error" not in line and "internal error" not in line
        replaced_at = time.monotonic()
        worker.send_signal(signal.SIGCONT)
        code = worker.wait(timeout=30)
        stopped_after = time.monotonic() - replaced_at
        _, err = worker.communicate()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert code == 1, err
    assert "state.db was replaced by another file" in err
    assert stopped_after < 15
    print(f"\nworker stopped {stopped_after:.1f}s after state.db was replaced")
    # the file put there is what commands see now, whole: the old file's journal was
    # written back into the old file, not replayed into this one
    listed = run_process("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert [j["params"]["domain"] for j in json.loads(listed.stdout)] == ["restored.example"]
    doctor = run_process("doctor")
    assert "ok   integrity" in doctor.stdout, doctor.stdout
    # and a worker started now runs the new file's job
    done = run_process("worker", "--burst", timeout=60)
    assert done.returncode == 0, done.stderr
    listed = run_process("jobs", "list", "--json")
    assert [j["status"] for j in json.loads(listed.stdout)] == ["completed"]


def test_a_journal_left_by_a_removed_state_db_is_moved_aside_not_replayed(
        sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    # a state.db with work in its journal, then "killed": its -wal and -shm stay behind
    source = other_home_with_a_job(tmp_path, "left.example")
    home.mkdir(exist_ok=True)
    script = ("import sqlite3, os, sys\n"
              f"c = sqlite3.connect({str(home / 'state.db')!r}, isolation_level=None)\n"
              "c.execute('PRAGMA journal_mode=WAL'); c.execute('PRAGMA wal_autocheckpoint=0')\n"
              f"c.execute(\"ATTACH {str(source)!r} AS src\")\n"
              "c.execute('CREATE TABLE leftover AS SELECT * FROM src.jobs')\n"
              "os._exit(0)\n")
    subprocess.run([sys.executable, "-c", script], check=True)
    assert (home / "state.db-wal").stat().st_size > 0
    (home / "state.db").unlink()
    listed = run_process("jobs", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    assert "was removed but its journal was left behind" in listed.stderr
    assert list(home.glob("state.db-wal.orphaned-*"))
    assert "ok   integrity" in run_process("doctor").stdout


def test_a_thread_never_opens_another_file_than_the_one_its_process_opened(
        state: Database, home: Path, tmp_path: Path) -> None:
    state.scalar("SELECT COUNT(*) FROM jobs")   # this thread's connection: the first file
    assert state.lost() is None
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, home / "state.db")
    assert "was replaced by another file" in (state.lost() or "")
    failed: list[BaseException] = []

    def read() -> None:
        try:
            state.scalar("SELECT COUNT(*) FROM jobs")
        except BaseException as exc:  # looked at below, on the test's thread
            failed.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert len(failed) == 1 and isinstance(failed[0], StateFileLost), failed
    assert "replaced" in str(failed[0])
    (home / "state.db").unlink()
    assert "was removed" in (state.lost() or "")
