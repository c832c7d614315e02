"""A request never outlives its deadline: httpx's timeouts restart with every byte, so a
Hunter answer trickling one byte a second was never abandoned, `jobs cancel` did nothing
and SIGTERM did not stop the worker within 20 s (issue 17)."""

from __future__ import annotations

import signal
import threading
import time

import pytest

from helpers import KEY, kill, novahunt_env, run_process, spawn, wait_for
from novahunt.errors import TransientError
from novahunt.providers.hunter import HunterClient
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status

TRICKLE = Fault(trickle=1.0)   # a normal answer, one byte a second, headers included


def test_a_trickling_answer_is_abandoned_at_the_timeout(sandbox: Sandbox) -> None:
    sandbox.add_domain("slow.example", 25)
    caught: list[BaseException] = []

    def ask() -> None:
        with HunterClient(KEY, sandbox.url, timeout=2.0) as client:
            try:
                client.domain_search("slow.example", limit=10, offset=0)
            except BaseException as exc:  # what the thread saw is the test
                caught.append(exc)

    sandbox.inject(TRICKLE, domain="slow.example")
    started = time.monotonic()
    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout=20)  # the old code would read the whole answer: hours
    took = time.monotonic() - started
    assert not asker.is_alive(), "the request outlived its deadline by far"
    [error] = caught
    assert isinstance(error, TransientError)
    assert "no complete answer within 2s" in str(error)
    assert 1.9 < took < 6


@pytest.fixture()
def trickling(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    # a deadline far longer than the test: cancel and SIGTERM must not wait for it
    monkeypatch.setenv("NOVAHUNT_HTTP_TIMEOUT", "120")
    for domain in ("cancel.example", "term.example"):
        sandbox.add_domain(domain, 25)
        sandbox.inject(*[TRICKLE] * 20, domain=domain)
    return sandbox


def test_cancel_lands_within_seconds_while_an_answer_trickles(
        trickling: Sandbox, state: Database) -> None:
    queued = run_process("collect", "cancel.example", "--json")
    assert queued.returncode == 0, queued.stderr
    worker = spawn("worker", env=novahunt_env())
    try:
        wait_for(lambda: trickling.count("domain-search") >= 1, timeout=30)
        assert jobs.get(state, 1).status is Status.RUNNING
        started = time.monotonic()
        canceled = run_process("jobs", "cancel", "1")
        assert canceled.returncode == 0, canceled.stderr
        wait_for(lambda: jobs.get(state, 1).status is Status.CANCELED, timeout=30)
        took = time.monotonic() - started
    finally:
        kill(worker, signal.SIGTERM)
    print(f"canceled {took:.1f}s after `jobs cancel`, the answer still trickling")
    assert took < 10
    assert trickling.count("domain-search") == 1


def test_sigterm_stops_the_worker_within_seconds_while_an_answer_trickles(
        trickling: Sandbox, state: Database) -> None:
    queued = run_process("collect", "term.example", "--json")
    assert queued.returncode == 0, queued.stderr
    worker = spawn("worker", env=novahunt_env())
    wait_for(lambda: trickling.count("domain-search") >= 1, timeout=30)
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    try:
        code = worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            kill(worker)
    took = time.monotonic() - started
    print(f"the worker stopped {took:.1f}s after SIGTERM, the answer still trickling")
    assert code == 0 and took < 10
    # handed back to the queue as it stood, for the next worker
    assert jobs.get(state, 1).status is Status.QUEUED
