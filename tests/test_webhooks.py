"""Webhooks: written with the job's final state, delivered signed, retried until a 2xx.

A real receiver on 127.0.0.1 answers 503 for its first requests (or nothing listens at
all) and checks every signature the way docs/webhooks.md tells a receiver to.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers import KEY, SRC, Cli, kill, spawn
from novahunt import config
from novahunt.errors import ConfigError
from novahunt.sandbox import UNAUTHORIZED, Sandbox
from novahunt.state import jobs, outbox
from novahunt.state.db import Database
from novahunt.worker import webhooks
from novahunt.worker.runtime import WorkerRuntime

SECRET = "whsec_test_4f1d2c3b5a6978"


@dataclass
class Hit:
    headers: Message   # looked up case-insensitively
    body: str
    signed_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers `down` 503s, then 200; records every request and checks its signature."""

    down: int = 0
    hits: list[Hit] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/novahunt"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                ok = webhooks.verify_signature(
                    SECRET, self.headers.get("X-Novahunt-Timestamp", ""), body,
                    self.headers.get("X-Novahunt-Signature", ""))
                receiver.hits.append(Hit(self.headers, body, ok))
                failing = len(receiver.hits) <= receiver.down
                self.send_response(503 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@pytest.fixture(autouse=True)
def signing(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A secret and fast retries, set before any worker loads its settings."""
    monkeypatch.setenv("NOVAHUNT_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("NOVAHUNT_WEBHOOK_BACKOFF", "0.05")
    yield
    webhooks.shutdown()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    box = Receiver()
    box.start()
    yield box
    webhooks.shutdown()
    box.stop()


@pytest.fixture()
def dead_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: every attempt is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def collect_job(cli: Cli, *args: str) -> int:
    code, out, err = cli("collect", *args, "--json")
    assert code == 0, err
    job_id: int = json.loads(out)[0]["id"]
    return job_id


def run_all(worker: WorkerRuntime) -> None:
    """Run queued jobs without the upkeep tick, so nothing is delivered yet."""
    while worker.run_once():
        pass


def wait_for(check: Callable[[], bool], worker: WorkerRuntime | None = None,
             timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        if worker is not None:
            worker.tick()
        time.sleep(0.02)


def rows(state: Database) -> list[outbox.Delivery]:
    return outbox.listing(state, limit=1000)


def test_a_completed_collect_job_reaches_the_receiver_signed_after_retries(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, receiver: Receiver,
        state: Database) -> None:
    sandbox.add_domain("hooked.example", 25)
    receiver.down = 2
    job_id = collect_job(cli, "hooked.example", "--webhook", receiver.url)
    run_all(inline_worker)
    assert jobs.get(state, job_id).status is jobs.Status.COMPLETED

    # the worker's upkeep tick hands it to the sender thread: 503, 503, then 200
    wait_for(lambda: rows(state)[0].status == "delivered", inline_worker)
    [row] = rows(state)
    assert (row.attempts, row.last_status, row.last_error) == (3, 200, None)
    assert len(receiver.hits) == 3
    assert all(hit.signed_ok for hit in receiver.hits)
    # every retry carries the same body and delivery id, signed afresh
    assert len({hit.body for hit in receiver.hits}) == 1
    hit = receiver.hits[-1]
    assert hit.headers["X-Novahunt-Event"] == "job.completed"
    assert hit.headers["X-Novahunt-Delivery"] == row.id
    assert hit.headers["X-Novahunt-Signature"].startswith("sha256=")
    body = hit.payload
    assert (body["event"], body["delivery_id"]) == ("job.completed", row.id)
    assert body["job"]["id"] == job_id and body["job"]["status"] == "completed"
    assert body["job"]["result"]["emails_collected"] == 25
    assert body["job"]["params"]["webhook"] == receiver.url
    assert body["job"]["events"][-1]["kind"] == "completed"
    # no secret travels: neither the Hunter key nor the signing secret
    assert KEY not in hit.body and SECRET not in hit.body


def test_failed_and_canceled_jobs_notify_too(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, receiver: Receiver,
        state: Database) -> None:
    sandbox.add_domain("refused.example", 5)
    sandbox.inject(UNAUTHORIZED, domain="refused.example")
    failed = collect_job(cli, "refused.example", "--webhook", receiver.url)
    later = collect_job(cli, "later.example", "--delay", "1h", "--webhook", receiver.url)
    run_all(inline_worker)
    code, _, err = cli("jobs", "cancel", str(later))
    assert code == 0, err
    # canceled while running: its worker went away and the job was taken back canceled
    sandbox.add_domain("running.example", 5)
    running = collect_job(cli, "running.example", "--webhook", receiver.url)
    assert jobs.claim(state, running, "gone-worker", 30) is not None
    jobs.request_cancel(state, [running])
    jobs.release_of_worker(state, "gone-worker", "worker gone")

    assert webhooks.deliver_due(state, config.load()) == 3
    events = {h.payload["job"]["id"]: h.payload["event"] for h in receiver.hits}
    assert events == {failed: "job.failed", later: "job.canceled", running: "job.canceled"}
    assert all(h.signed_ok for h in receiver.hits)
    assert {r.status for r in rows(state)} == {"delivered"}
    failed_body = next(h.payload for h in receiver.hits if h.payload["job"]["id"] == failed)
    assert failed_body["job"]["status"] == "failed" and failed_body["job"]["error"]


def test_the_row_is_written_with_the_final_state_before_any_attempt(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, dead_url: str,
        state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("down.example", 3)
    job_id = collect_job(cli, "down.example", "--webhook", dead_url)
    run_all(inline_worker)  # no upkeep tick: a kill now would leave exactly this
    [row] = outbox.of_job(state, job_id)
    assert (row.status, row.attempts, row.event, row.url) == (
        "pending", 0, "job.completed", dead_url)
    assert json.loads(row.body)["job"]["status"] == "completed"
    assert row.next_at <= time.time()

    # the receiver is down: the row stays, with the reason, and is due again later
    assert webhooks.deliver_due(state, config.load()) == 1
    [row] = outbox.of_job(state, job_id)
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error and "Connect" in row.last_error
    assert row.next_at > time.time() - 0.01


def test_a_killed_worker_loses_no_notification(
        sandbox: Sandbox, cli: Cli, receiver: Receiver, state: Database) -> None:
    sandbox.add_domain("killed.example", 5)
    receiver.down = 10_000
    job_id = collect_job(cli, "killed.example", "--webhook", receiver.url)
    worker = spawn("worker")
    try:
        wait_for(lambda: len(receiver.hits) >= 3, timeout=15)  # a real worker retries
    finally:
        kill(worker)
    [row] = outbox.of_job(state, job_id)
    assert row.status == "pending" and row.attempts >= 3
    assert all(hit.signed_ok for hit in receiver.hits)

    receiver.down = 0
    # had the kill hit a POST in flight, its claim would run out within a minute
    state.execute("UPDATE webhook_deliveries SET next_at = 0")
    worker = spawn("worker")
    try:
        wait_for(lambda: outbox.of_job(state, job_id)[0].status == "delivered",
                 timeout=15)
    finally:
        kill(worker, signal.SIGTERM)
    assert receiver.hits[-1].payload["job"]["status"] == "completed"


def test_a_rolled_back_finish_writes_no_row_and_a_committed_one_writes_both(
        sandbox: Sandbox, cli: Cli, state: Database, receiver: Receiver) -> None:
    job_id = collect_job(cli, "tx.example", "--webhook", receiver.url)
    claimed = jobs.claim(state, job_id, "w1", 30)
    assert claimed is not None
    with pytest.raises(RuntimeError), state.atomic():
        assert jobs.finish(state, claimed, "w1", jobs.Status.FAILED, error="boom")
        assert len(outbox.of_job(state, job_id)) == 1   # visible inside the transaction
        raise RuntimeError("crash before commit")
    assert jobs.get(state, job_id).status is jobs.Status.RUNNING
    assert outbox.of_job(state, job_id) == []
    assert jobs.finish(state, claimed, "w1", jobs.Status.FAILED, error="boom")
    [row] = outbox.of_job(state, job_id)
    assert row.event == "job.failed"


def test_no_webhook_and_no_default_writes_no_row_but_a_default_does(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, state: Database,
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("quiet.example", 3)
    collect_job(cli, "quiet.example")
    run_all(inline_worker)
    assert rows(state) == []

    monkeypatch.setenv("NOVAHUNT_WEBHOOK_URL", receiver.url)
    sandbox.add_domain("loud.example", 3)
    job_id = collect_job(cli, "loud.example")
    run_all(inline_worker)
    [row] = rows(state)
    assert (row.job_id, row.url) == (job_id, receiver.url)
    # the default is resolved when the job is planned, not read as it ends
    assert jobs.get(state, job_id).params["webhook"] == receiver.url


def test_backoff_delays_grow_and_delivery_gives_up(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, dead_url: str,
        state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for attempt in range(1, 16):
        ceiling = min(webhooks.BACKOFF_CAP, 1.0 * 2 ** (attempt - 1))
        assert ceiling / 2 <= webhooks.retry_delay(attempt, 1.0) <= ceiling
    assert webhooks.retry_delay(30, 1.0) <= webhooks.BACKOFF_CAP

    settings = config.load()
    sandbox.add_domain("backoff.example", 3)
    job_id = collect_job(cli, "backoff.example", "--webhook", dead_url)
    run_all(inline_worker)
    waits = []
    for attempt in range(1, 5):
        [row] = outbox.of_job(state, job_id)
        time.sleep(max(0.0, row.next_at - time.time()))
        before = time.time()
        assert webhooks.deliver_due(state, settings) == 1
        [row] = outbox.of_job(state, job_id)
        assert row.attempts == attempt
        waits.append(row.next_at - before)
    assert waits == sorted(waits), waits
    assert waits[-1] > waits[0] * 2

    # the 12th failed attempt is the last
    state.execute("UPDATE webhook_deliveries SET attempts = ?, next_at = 0",
                  (webhooks.MAX_ATTEMPTS - 1,))
    assert webhooks.deliver_due(state, settings) == 1
    [row] = outbox.of_job(state, job_id)
    assert (row.status, row.attempts) == ("failed", webhooks.MAX_ATTEMPTS)
    assert webhooks.deliver_due(state, settings) == 0


def test_a_claimed_delivery_is_not_sent_twice_at_the_same_time(
        sandbox: Sandbox, cli: Cli, state: Database, receiver: Receiver) -> None:
    collect_job(cli, "twice.example", "--delay", "1h", "--webhook", receiver.url)
    jobs.request_cancel(state, [j.id for j in jobs.listing(state)])
    first = webhooks.claim(state)
    assert first is not None and first.attempts == 1
    assert webhooks.claim(state) is None   # its lease holds it
    # racing senders on one due row: one request
    state.execute("UPDATE webhook_deliveries SET next_at = 0, attempts = 0")
    settings = config.load()
    threads = [threading.Thread(target=webhooks.deliver_due, args=(state, settings))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(receiver.hits) == 1
    # a sender whose lease ran out cannot overwrite a newer attempt's outcome
    assert webhooks.record(state, first, webhooks.Answer(500, "late"), 0.05) == "delivered"
    assert rows(state)[0].status == "delivered"


def test_webhooks_list_json_and_filters(
        sandbox: Sandbox, cli: Cli, state: Database, receiver: Receiver,
        dead_url: str) -> None:
    a = collect_job(cli, "a.example", "--delay", "1h", "--webhook", receiver.url)
    b = collect_job(cli, "b.example", "--delay", "1h", "--webhook", dead_url)
    jobs.request_cancel(state, [a, b])
    webhooks.deliver_due(state, config.load())

    code, out, err = cli("webhooks", "list", "--json")
    assert code == 0, err
    listed = {d["job_id"]: d for d in json.loads(out)}
    assert listed[a]["status"] == "delivered" and listed[a]["last_status"] == 200
    assert listed[a]["delivered_at"] and listed[a]["next_at"] is None
    assert listed[b]["status"] == "pending" and listed[b]["attempts"] == 1
    assert listed[b]["next_at"] and listed[b]["last_error"]
    assert {"id", "event", "url", "created_at"} <= listed[a].keys()
    assert "body" not in listed[a]

    code, out, _ = cli("webhooks", "list", "--status", "pending", "--json")
    assert [d["job_id"] for d in json.loads(out)] == [b]
    code, out, _ = cli("webhooks", "list", "--limit", "1", "--json")
    assert len(json.loads(out)) == 1
    code, out, _ = cli("webhooks", "list")
    assert code == 0 and "job.canceled" in out and "delivered" in out
    code, _, err = cli("webhooks", "list", "--status", "lost")
    assert code == 2 and "--status" in err


def test_webhooks_test_pings_the_receiver(
        cli: Cli, receiver: Receiver, dead_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = cli("webhooks", "test", receiver.url)
    assert code == 0, err
    assert "HTTP 200" in out and "signed" in out
    [hit] = receiver.hits
    assert hit.signed_ok and hit.payload["event"] == "ping"
    assert hit.headers["X-Novahunt-Event"] == "ping"

    receiver.down = 10
    code, _, err = cli("webhooks", "test", receiver.url)
    assert code == 1 and "HTTP 503" in err
    code, _, err = cli("webhooks", "test", dead_url)
    assert code == 1 and "Connect" in err
    code, _, err = cli("webhooks", "test", "ftp://example.com/x")
    assert code == 2

    monkeypatch.delenv("NOVAHUNT_WEBHOOK_SECRET")
    monkeypatch.setenv("NOVAHUNT_WEBHOOK_URL", receiver.url)
    receiver.down = 0
    receiver.hits.clear()
    code, out, _ = cli("webhooks", "test")
    assert code == 0 and "unsigned" in out
    assert "X-Novahunt-Signature" not in receiver.hits[0].headers


def test_every_job_command_takes_webhook(
        sandbox: Sandbox, cli: Cli, state: Database, receiver: Receiver,
        tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("first,last,domain\nAda,Lovelace,a.example\n")
    commands = [
        ("collect", "c.example"),
        ("verify", "ada@a.example"),
        ("find", "--domain", "a.example", "--first", "Ada", "--last", "Lovelace"),
        ("generate", "--domain", "a.example", "--first", "Ada", "--last", "Lovelace"),
        ("scrape", "s.example"),
        ("enrich", str(leads)),
    ]
    for command in commands:
        code, _, err = cli(*command, "--webhook", receiver.url)
        assert code == 0, (command, err)
    found = jobs.listing(state)
    assert sorted(j.type for j in found) == sorted(c[0] for c in commands)
    assert {j.params.get("webhook") for j in found} == {receiver.url}
    # generate without --verify is done at once: its notification is already queued
    [gen] = [j for j in found if j.type == "generate"]
    assert [r.event for r in outbox.of_job(state, gen.id)] == ["job.completed"]

    code, _, err = cli("collect", "x.example", "--webhook", "not a url")
    assert code == 2 and "webhook URL" in err
    # a refused URL is echoed without its password
    code, _, err = cli("collect", "x.example", "--webhook", "ftp://hook:s3cr3t@h.example/")
    assert code == 2 and "s3cr3t" not in err and "hook:***@h.example" in err


def test_a_bad_default_url_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_WEBHOOK_URL", "hooks.example.com")
    with pytest.raises(ConfigError, match="NOVAHUNT_WEBHOOK_URL"):
        config.load()


def test_the_secret_is_not_in_the_settings_repr_and_config_toml_works(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.toml").write_text(
        f'webhook_url = "https://hooks.example.com/n"\nwebhook_secret = "{SECRET}"\n')
    settings = config.load()
    assert settings.webhook_url == "https://hooks.example.com/n"
    assert settings.webhook_secret == SECRET
    assert SECRET not in repr(settings)


def test_the_documented_receiver_snippet_accepts_a_delivery_and_refuses_a_replay() -> None:
    page = (Path(SRC).parent / "docs" / "webhooks.md").read_text(encoding="utf-8")
    start = page.index("```python\n", page.index("**Signed.**")) + len("```python\n")
    snippet = page[start:page.index("```", start)]
    scope: dict[str, Any] = {}
    exec(snippet, scope)
    body = '{"event":"ping"}'
    now = int(time.time())
    good = webhooks.headers("ping", "d1", body, SECRET, now)
    assert scope["verify"](SECRET, good, body.encode()) is True
    assert scope["verify"](SECRET, good, b'{"event":"tampered"}') is False
    old = webhooks.headers("ping", "d1", body, SECRET, now - 301)
    assert scope["verify"](SECRET, old, body.encode()) is False
