"""A job that stores a thousand pages moves its checkpoint on every page but rewrites
its progress only a few times a second, and still ends with the exact figures."""

from __future__ import annotations

import time

import pytest

from helpers import drain
from novahunt import config
from novahunt.queue import dispatch
from novahunt.runners import collect
from novahunt.sandbox import Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

PAGES = 1000


def watch_writes(state: Database) -> None:
    """Log every UPDATE that sets the progress or the checkpoint column, with its time."""
    state.execute("CREATE TABLE column_writes (kind TEXT, at REAL)")
    for kind, column in (("progress", "progress_current"), ("checkpoint", "checkpoint")):
        state.execute(
            f"CREATE TRIGGER count_{kind} AFTER UPDATE OF {column} ON jobs BEGIN"
            f" INSERT INTO column_writes VALUES ('{kind}',"
            " (julianday('now') - 2440587.5) * 86400.0); END")


def test_a_thousand_page_job_writes_its_progress_a_few_times_a_second(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("thousand.example", PAGES)
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "1")
    monkeypatch.setenv("HUNTER_MAX_COLLECT", str(PAGES))
    monkeypatch.setenv("NOVAHUNT_RATE_DOMAIN_SEARCH", "100000/s")
    inline_worker.settings = settings = config.load()
    watch_writes(state)
    [(job, _)] = dispatch.submit(state, collect.plan(
        state, settings, ["thousand.example"], max_results=PAGES))

    started = time.time()
    assert drain(inline_worker) == 1
    took = time.time() - started

    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED
    assert done.result is not None and done.result["pages_fetched"] == PAGES
    # the end of the run writes the last figures, whatever the throttle skipped
    assert (done.progress_current, done.progress_total) == (PAGES, PAGES)
    writes = state.query("SELECT kind, at FROM column_writes ORDER BY at")
    checkpoints = [r["at"] for r in writes if r["kind"] == "checkpoint"]
    progress = [r["at"] for r in writes if r["kind"] == "progress"]
    assert len(checkpoints) >= PAGES  # every page still moves the checkpoint
    # at most every 0.5 s, plus a write for each change of stage and one at the end
    assert len(progress) <= took / 0.5 + 6, (len(progress), took)
    busiest = max(sum(1 for t in progress if start <= t < start + 1) for start in progress)
    assert busiest <= 5, progress
