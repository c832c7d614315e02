"""A full disk under a live worker (issue 17): jobs wait, doctor says so, and they
finish once space is back, with every email once and only the unstored pages bought
again. The home is a small tmpfs that the test fills to the last byte; the test is
skipped where the machine cannot mount one.

Before: the two collections stopped at 700 of 6,000 emails, stayed `running` under the
live worker for good (its heartbeat renewed their leases), the worker printed a
traceback for each failed write, and doctor crashed, since its key check wrote the
ledger.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import run_process, spawn, wait_for
from novahunt.sandbox import Sandbox
from novahunt.state import db, jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status

SIZE = 3000   # emails in each of the two domains: 30 pages of 100


@pytest.fixture()
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A 48 MB tmpfs holding NOVAHUNT_HOME (state.db and queue.db)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    try:
        monkeypatch.setenv("NOVAHUNT_HOME", str(where / "home"))
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(where: Path) -> Path:
    """Write a file until the disk has not one byte left; returns it."""
    filler = where / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 1 << 12, 1):
            block = b"\0" * size
            try:
                while True:
                    os.write(fd, block)
            except OSError:
                pass
    finally:
        os.close(fd)
    return filler


def checks_of(done: subprocess.CompletedProcess[str]) -> dict[str, dict[str, str]]:
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    return {c["check"]: c for c in json.loads(done.stdout)}


def test_jobs_wait_for_disk_space_and_finish_when_it_is_back(
        small_disk: Path, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "100")
    sandbox.latency = 0.1
    domains = ["full-a.example", "full-b.example"]
    for domain in domains:
        sandbox.add_domain(domain, SIZE)
    queued = run_process("collect", *domains, "--json")
    assert queued.returncode == 0, queued.stderr
    ids = [item["id"] for item in json.loads(queued.stdout)]
    state: Database = db.open_state()
    worker = spawn("worker", "--concurrency", "2")
    try:
        wait_for(lambda: all(jobs.get(state, i).progress_current >= 700 for i in ids), 60)
        filler = fill(small_disk)

        def waiting() -> bool:
            rows = [jobs.get(state, i) for i in ids]
            return all(r.status is Status.RETRYING and (r.error or "").startswith("disk full")
                       for r in rows)

        try:
            wait_for(waiting, 30)
        except AssertionError:
            raise AssertionError([(r.status, r.error, r.heartbeat_at) for r in
                                  (jobs.get(state, i) for i in ids)]) from None
        paid_while_full = len(sandbox.pages_served(domains[0]) + sandbox.pages_served(domains[1]))
        checks = checks_of(run_process("doctor", "--json"))
        assert checks["disk space"]["status"] == "fail"
        assert checks["disk waits"]["status"] == "warn"
        assert all(f"#{i}" in checks["disk waits"]["message"] for i in ids)
        assert checks["api key"]["status"] == "ok"  # asked Hunter, wrote nothing
        time.sleep(3)  # the jobs wait: no page is bought while the disk is full
        served = sandbox.pages_served(domains[0]) + sandbox.pages_served(domains[1])
        assert len(served) == paid_while_full

        filler.unlink()
        took = wait_for(lambda: all(jobs.get(state, i).status is Status.COMPLETED
                                    for i in ids), 60)
        assert took < 20  # woken when the worker sees room, not at their run_at (60 s)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    for job_id in ids:
        assert jobs.get(state, job_id).errors == 0  # waiting spent no attempt
    for domain in domains:
        rows = [r[0] for r in state.query("SELECT email FROM contacts WHERE domain = ?",
                                          (domain,))]
        assert len(rows) == len(set(rows)) == SIZE
        served = Counter(sandbox.pages_served(domain))
        assert set(served) == set(range(0, SIZE, 100))
        # the page whose store the full disk refused is bought again, no other
        assert sum(n - 1 for n in served.values()) <= 1, served
    assert "Traceback" not in err, err[-3000:]
    minimum = 2 * SIZE // 100
    bought = sum(len(sandbox.pages_served(d)) for d in domains)
    print(f"\nfull disk: {bought} pages bought against a minimum of {minimum}; done "
          f"{took:.1f}s after space was back; {err.count('Traceback')} tracebacks")


def test_doctor_on_a_full_disk_reports_and_writes_nothing(
        small_disk: Path, sandbox: Sandbox) -> None:
    # this connection stays open through the test, as a live worker's would: SQLite can
    # then open state.db on the full disk (a first connection must create state.db-shm)
    state = db.open_state()
    calls = state.scalar("SELECT COUNT(*) FROM api_calls")
    fill(small_disk)
    done = run_process("doctor", "--json")
    checks = checks_of(done)
    assert done.returncode == 1  # the disk check fails; nothing crashed
    assert checks["api key"]["status"] == "ok", checks
    assert checks["integrity"]["status"] == "ok", checks
    assert checks["disk space"]["status"] == "fail"
    assert state.scalar("SELECT COUNT(*) FROM api_calls") == calls
