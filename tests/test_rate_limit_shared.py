"""One rate limiter for all threads and processes: no 429s, shared Retry-After,
long waits postpone the job instead of holding a thread."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers import drain, run_process, spawn
from novahunt import config
from novahunt.errors import ConfigError
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import jobs, limiter, quotas
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.state.limiter import Window, parse_limit
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (stack: SQLite, and PostgreSQL with Redis)
pytestmark = pytest.mark.usefixtures("stack")


def max_in_any_window(times: list[float], period: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= period:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(("text", "windows"), [
    ("10/s", (Window(10, 1.0),)),
    ("10/s,300/min", (Window(10, 1.0), Window(300, 60.0))),
    ("300/min, 10/sec", (Window(10, 1.0), Window(300, 60.0))),
    ("5/2s", (Window(5, 2.0),)),
    ("1000/hour", (Window(1000, 3600.0),)),
])
def test_limits_parse(text: str, windows: tuple[Window, ...]) -> None:
    assert parse_limit(text) == windows


@pytest.mark.parametrize("text", ["", "ten/s", "10", "10/fortnight", "0/s", "10/s,"])
def test_bad_limits_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="not a rate"):
        parse_limit(text)


def test_defaults_are_hunters_and_env_overrides_each_endpoint(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOVAHUNT_RATE_DOMAIN_SEARCH")
    monkeypatch.delenv("NOVAHUNT_RATE_EMAIL_VERIFIER")
    rates = config.load().rates
    assert rates["domain-search"] == (Window(15, 1.0), Window(500, 60.0))
    assert rates["email-verifier"] == (Window(10, 1.0), Window(300, 60.0))
    monkeypatch.setenv("NOVAHUNT_RATE_EMAIL_VERIFIER", "2/s,100/min")
    assert config.load().rates["email-verifier"] == (Window(2, 1.0), Window(100, 60.0))


def test_reservations_from_many_threads_keep_every_window(state: Database) -> None:
    windows = parse_limit("20/s,50/2s")
    slots: list[float] = []
    lock = threading.Lock()

    def take(n: int) -> None:
        for _ in range(n):
            at = limiter.reserve(state, "t:x", windows, max_wait=60)
            assert at is not None
            with lock:
                slots.append(at)

    threads = [threading.Thread(target=take, args=(15,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(slots) == 90
    assert max_in_any_window(slots, 1.0) <= 20
    assert max_in_any_window(slots, 2.0) <= 50
    # evenly spaced at the per-second rate, and no slower than that
    assert 89 * 0.05 <= max(slots) - min(slots) < 89 * 0.05 + 0.2


def slots_of(state: Database, bucket: str) -> list[float]:
    return [r[0] for r in state.query(
        "SELECT at FROM rate_slots WHERE bucket = ? ORDER BY at", (bucket,))]


def test_reserve_spaces_slots_and_keeps_every_window(state: Database) -> None:
    # 3/s spaces slots 1/3 s apart; the 4th waits for the 1st to leave its second (plus a
    # 0.05 s margin); the 6th for the 1st to leave its ten seconds (plus 0.2 s)
    windows = parse_limit("3/s,5/10s")
    slots = [limiter.reserve(state, "t:two", windows, max_wait=60, now=1000.0)
             for _ in range(7)]
    assert slots == pytest.approx(
        [1000.0, 1000 + 1 / 3, 1000 + 2 / 3, 1001.05, 1001.05 + 1 / 3, 1010.2,
         1010.2 + 1 / 3])
    assert slots_of(state, "t:two") == pytest.approx(slots)
    # a reservation made later than the bucket's last slot is served at once
    assert limiter.reserve(state, "t:two", windows, max_wait=60, now=1100.0) == 1100.0


def test_reserve_beyond_max_wait_returns_none_and_takes_no_slot(state: Database) -> None:
    windows = parse_limit("3/s,5/10s")
    assert limiter.reserve(state, "t:wait", windows, max_wait=60, now=1000.0) == 1000.0
    # the next slot is 1/3 s away
    assert limiter.reserve(state, "t:wait", windows, max_wait=0.3, now=1000.0) is None
    assert slots_of(state, "t:wait") == [1000.0]
    assert limiter.reserve(state, "t:wait", windows, max_wait=0.34,
                           now=1000.0) == pytest.approx(1000 + 1 / 3)


def test_a_rate_block_pushes_the_next_slot_past_it(state: Database) -> None:
    windows = parse_limit("3/s,5/10s")
    assert limiter.reserve(state, "t:block", windows, max_wait=60, now=1000.0) == 1000.0
    limiter.block(state, "t:block", 1030.0, "429 Retry-After: 30")
    assert limiter.reserve(state, "t:block", windows, max_wait=10, now=1000.0) is None
    assert limiter.reserve(state, "t:block", windows, max_wait=60, now=1000.0) == 1030.0
    assert limiter.reserve(state, "t:block", windows, max_wait=60,
                           now=1000.0) == pytest.approx(1030 + 1 / 3)
    # another bucket is not blocked
    assert limiter.reserve(state, "t:other", windows, max_wait=60, now=1000.0) == 1000.0


def test_a_paused_provider_gets_no_slot_until_it_resumes(state: Database) -> None:
    windows = parse_limit("3/s,5/10s")
    quotas.pause_provider(state, "hunter", "quota exhausted (402)", None)
    with pytest.raises(limiter.Paused) as paused:
        limiter.reserve(state, "hunter:t", windows, max_wait=60, now=1000.0,
                        provider="hunter")
    assert paused.value.reason == "quota exhausted (402)"
    assert slots_of(state, "hunter:t") == []
    # a pause is per provider, and a reservation that names no provider ignores it
    assert limiter.reserve(state, "other:t", windows, max_wait=60, now=1000.0,
                           provider="other") == 1000.0
    assert limiter.reserve(state, "hunter:free", windows, max_wait=60, now=1000.0) == 1000.0
    assert quotas.resume_provider(state, "hunter")
    assert limiter.reserve(state, "hunter:t", windows, max_wait=60, now=1000.0,
                           provider="hunter") == 1000.0
    assert slots_of(state, "hunter:t") == [1000.0]


def test_a_pause_met_inside_another_transaction_leaves_it_to_commit(
        state: Database) -> None:
    quotas.pause_provider(state, "hunter", "quota exhausted (402)", None)
    with state.atomic():
        limiter.block(state, "hunter:kept", 1050.0, "written before the pause was met")
        with pytest.raises(limiter.Paused):
            limiter.reserve(state, "hunter:t", parse_limit("3/s"), max_wait=60,
                            now=1000.0, provider="hunter")
    assert state.scalar("SELECT until FROM rate_blocks WHERE bucket = ?",
                        ("hunter:kept",)) == 1050.0
    assert slots_of(state, "hunter:t") == []


def test_two_worker_processes_stay_under_the_servers_limit(
        state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_RATE_DOMAIN_SEARCH", "10/s")
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    with Sandbox("k" * 24, rate_limit_per_second=10) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", "k" * 24)
        for i in range(8):
            box.add_domain(f"r{i}.example", 45)
        queued = run_process("collect", *(f"r{i}.example" for i in range(8)), "--json")
        assert queued.returncode == 0, queued.stderr
        # the server counts every request in one window: let the pre-check's Email Count
        # burst (free, its own bucket here) leave it, so a 429 can only be the workers'
        time.sleep(1.1)
        workers = [spawn("worker", "--concurrency", "4", "--burst") for _ in range(2)]
        for w in workers:
            assert w.wait(timeout=120) == 0
        # the pre-check's Email Count and account requests (free) come before the work
        statuses = [r.status for r in box.requests if r.endpoint == "domain-search"]
    # On a quiet machine this is 0 (bench/rate_limit.py: 0 in 12 runs). On two busy cores
    # a thread can reach the server late enough to share a window with the next slots;
    # one such 429 is waited out and costs nothing, so at most one is tolerated here.
    assert statuses.count(429) <= 1
    served = [r for r in box.requests if r.status == 200 and r.endpoint == "domain-search"]
    assert len(served) == 40 and len(statuses) == 40 + statuses.count(429)
    ids = [item["id"] for item in json.loads(queued.stdout)]
    assert all(jobs.get(state, i).status is Status.COMPLETED for i in ids)


def test_a_retry_after_slows_every_worker_down(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    for i in range(4):
        sandbox.add_domain(f"ra{i}.example", 60)
    sandbox.inject(Fault(status=429, error_id="too_many_requests",
                         details="Too many requests, try again later.", retry_after="2"))
    queued = run_process("collect", *(f"ra{i}.example" for i in range(4)))
    assert queued.returncode == 0
    done = run_process("worker", "--concurrency", "4", "--burst", timeout=60)
    assert done.returncode == 0, done.stderr
    throttled = [r for r in sandbox.requests if r.status == 429]
    assert len(throttled) == 1
    t = throttled[0].at
    # requests already on the wire, or reserved before the block was written, may still
    # arrive just after the 429; once the block is in state.db (well within 0.2 s),
    # nothing arrives before Retry-After has passed
    settling = [r for r in sandbox.requests if t < r.at < t + 0.2]
    early = [r for r in sandbox.requests if t + 0.2 <= r.at < t + 1.95]
    assert len(settling) <= 6 and early == []
    assert any(r.at >= t + 1.95 for r in sandbox.requests)


def test_a_wait_longer_than_the_patience_frees_the_thread(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_PATIENCE", "1s")
    inline_worker.settings = config.load()
    sandbox.add_domain("patient.example", 5)
    sandbox.inject(Fault(status=429, error_id="too_many_requests",
                         details="Too many requests, try again later.", retry_after="3"))
    from novahunt.queue import dispatch
    from novahunt.runners import collect
    specs = collect.plan(state, inline_worker.settings, ["patient.example"], max_results=10)
    [(job, _)] = dispatch.submit(state, specs)
    started = time.monotonic()
    drain(inline_worker)
    assert time.monotonic() - started < 2.0  # the thread did not sleep out the 3 s
    waiting = jobs.get(state, job.id, events=True)
    assert waiting.status is Status.RETRYING and waiting.errors == 0
    assert waiting.run_at - time.time() > 1.0
    time.sleep(max(0.0, waiting.run_at - time.time()) + 0.05)
    drain(inline_worker)
    assert jobs.get(state, job.id).status is Status.COMPLETED
