"""queue.db is delivery only: garbage in it is moved aside with a warning and a new one
built, the jobs that were queued run anyway (the sweeper sends them again), a live
worker reconnects to the new file, and `doctor` reports a damaged queue without
touching it. Real `novahunt` processes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from helpers import run_process, spawn, wait_for
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status


def queue(*domains: str) -> list[int]:
    done = run_process("collect", *domains, "--json")
    assert done.returncode == 0, done.stderr
    return [item["id"] for item in json.loads(done.stdout)]


def damage(path: Path) -> None:
    """Garbage over the file's first pages, header included."""
    with path.open("r+b") as f:
        f.write(os.urandom(8192))


def test_a_command_moves_a_damaged_queue_db_aside_and_every_queued_job_runs(
        sandbox: Sandbox, state: Database, home: Path) -> None:
    for name in ("a.example", "b.example", "c.example"):
        sandbox.add_domain(name, 15)
    before = queue("a.example", "b.example")   # their messages are in the file damaged now
    damage(home / "queue.db")
    done = run_process("collect", "c.example", "--json")
    # before: "internal error: file is not a database", and no job ran
    assert done.returncode == 0, done.stderr
    warning = [line for line in done.stderr.splitlines() if "queue.db was damaged" in line]
    assert len(warning) == 1 and "moved aside" in warning[0], done.stderr
    assert "Traceback" not in done.stderr
    [aside] = home.glob("queue.db.damaged-*[0-9]")
    assert aside.read_bytes()[:16] != b"SQLite format 3\x00"   # the garbage, kept to look at
    ids = [*before, json.loads(done.stdout)[0]["id"]]
    worked = run_process("worker", "--burst", timeout=60)
    assert worked.returncode == 0, worked.stderr
    assert [jobs.get(state, i).status for i in ids] == [Status.COMPLETED] * 3
    for name in ("a.example", "b.example", "c.example"):   # each page bought once
        assert sandbox.pages_served(name) == [0]


def test_a_live_worker_reconnects_when_queue_db_is_damaged_under_it(
        sandbox: Sandbox, state: Database, home: Path) -> None:
    sandbox.add_domain("first.example", 15)
    sandbox.add_domain("after.example", 15)
    sandbox.add_domain("again.example", 15)
    worker = spawn("worker", "--concurrency", "2")
    try:
        [first] = queue("first.example")
        wait_for(lambda: jobs.get(state, first).status is Status.COMPLETED, timeout=30)
        damage(home / "queue.db")
        # the worker finds it by itself, moves it aside and builds a new one
        wait_for(lambda: list(home.glob("queue.db.damaged-*[0-9]")), timeout=15)
        started = time.monotonic()
        [after] = queue("after.example")
        wait_for(lambda: jobs.get(state, after).status is Status.COMPLETED, timeout=15)
        took = time.monotonic() - started
        # and again with a command finding it first: the worker follows to the new file
        damage(home / "queue.db")
        [again] = queue("again.example")
        wait_for(lambda: jobs.get(state, again).status is Status.COMPLETED, timeout=15)
    finally:
        worker.terminate()
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert "queue.db was damaged" in err
    assert len(list(home.glob("queue.db.damaged-*[0-9]"))) == 2
    print(f"\na job queued after the damage ran in {took:.1f}s")


def test_doctor_reports_a_damaged_queue_db_and_leaves_it(home: Path, sandbox: Sandbox) -> None:
    sandbox.add_domain("a.example", 5)
    queue("a.example")
    done = run_process("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert checks["queue.db"]["status"] == "ok"
    assert "1 message(s) waiting" in checks["queue.db"]["message"]
    damage(home / "queue.db")
    garbage = (home / "queue.db").read_bytes()
    done = run_process("doctor", "--json")
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    # before: "ok queue.db (36.0 KB)" over a file that was not a database
    assert checks["queue.db"]["status"] == "fail"
    assert "damaged (file is not a database)" in checks["queue.db"]["message"]
    assert done.returncode == 1
    assert (home / "queue.db").read_bytes() == garbage   # doctor reports, never mends
    assert not list(home.glob("queue.db.damaged-*"))


def test_a_live_worker_sends_again_the_jobs_whose_messages_were_in_the_damaged_file(
        sandbox: Sandbox, state: Database, home: Path) -> None:
    sandbox.add_domain("busy.example", 15)
    sandbox.add_domain("waiting.example", 15)
    sandbox.inject(Fault(delay=3.0), domain="busy.example")   # holds the worker's thread
    worker = spawn("worker", "--concurrency", "1")
    try:
        [busy] = queue("busy.example")
        wait_for(lambda: jobs.get(state, busy).status is Status.RUNNING, timeout=30)
        [waiting] = queue("waiting.example")   # its message waits in queue.db...
        damage(home / "queue.db")              # ...and is lost with the file
        wait_for(lambda: jobs.get(state, waiting).status is Status.COMPLETED, timeout=30)
        assert jobs.get(state, busy).status is Status.COMPLETED
    finally:
        worker.terminate()
        try:
            _, err = worker.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            _, err = worker.communicate()
    assert "sending every queued job again" in err
    assert sandbox.pages_served("waiting.example") == [0]
