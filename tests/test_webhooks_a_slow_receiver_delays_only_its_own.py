"""A webhook receiver that never answers holds up only its own deliveries.

Before, one sender thread POSTed every due delivery in turn with a 10 s timeout: three
deliveries to a receiver that accepts the connection and never answers kept a healthy
receiver waiting 30 s for its first one. Now each receiver has a lane of its own; the
slow one still gets its 10 s, one POST at a time, and the healthy one is served at once.
A real `novahunt worker` process does the sending.
"""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from helpers import Cli, kill, spawn, wait_for
from novahunt import config
from novahunt.sandbox import Sandbox
from novahunt.state import jobs, outbox
from novahunt.state.db import Database
from novahunt.worker import webhooks
from novahunt.worker.runtime import WorkerRuntime


class Silent:
    """Accepts connections, reads nothing, never answers; counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        self.closing = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}{path}"

    def _accept(self) -> None:
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        self.closing = True
        self.sock.close()
        for conn in self.held:
            conn.close()


class Trickling:
    """Reads the POST, then sends its answer's headers one byte every 0.5 s for 40 s:
    httpx's 10 s timeout restarts with every byte."""

    def __init__(self) -> None:
        self.stopping = threading.Event()
        box = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
                ends = time.monotonic() + 40
                try:
                    while time.monotonic() < ends and not box.stopping.wait(0.5):
                        self.wfile.write(b"a")
                        self.wfile.flush()
                    self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")
                except OSError:
                    pass  # the sender gave up

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Healthy:
    """Answers 200 at once; records when each delivery arrived."""

    def __init__(self) -> None:
        self.arrived: list[tuple[float, dict[str, Any]]] = []
        box = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                box.arrived.append((time.monotonic(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def silent() -> Iterator[Silent]:
    box = Silent()
    yield box
    box.close()


@pytest.fixture()
def trickling() -> Iterator[Trickling]:
    box = Trickling()
    yield box
    box.close()


@pytest.fixture()
def healthy() -> Iterator[Healthy]:
    box = Healthy()
    yield box
    box.close()


@pytest.fixture(autouse=True)
def _senders(home: Path) -> Iterator[None]:
    yield
    webhooks.shutdown(timeout=1)


def canceled_job(cli: Cli, state: Database, domain: str, url: str) -> int:
    """A job that ends at once (canceled while waiting), notifying `url`."""
    code, out, err = cli("collect", domain, "--delay", "1h", "--webhook", url, "--json")
    assert code == 0, err
    job_id: int = json.loads(out)[0]["id"]
    jobs.request_cancel(state, [job_id])
    return job_id


def test_a_receiver_that_never_answers_does_not_hold_up_the_others(
        sandbox: Sandbox, cli: Cli, state: Database, silent: Silent, trickling: Trickling,
        healthy: Healthy) -> None:
    # the slow receivers' deliveries are the oldest: a single queue would take them first
    stuck = [canceled_job(cli, state, f"slow{n}.example", url) for n, url in enumerate(
        [silent.url("/hook0"), silent.url("/hook1"), silent.url("/hook0"), trickling.url])]
    time.sleep(0.01)
    served = [canceled_job(cli, state, f"fine{n}.example", healthy.url) for n in range(2)]

    worker = spawn("worker")
    started = time.monotonic()
    try:
        # before: the healthy receiver's first delivery came after 30 s (3 x 10 s)
        wait_for(lambda: len(healthy.arrived) == 2, timeout=8)
        assert {body["job"]["id"] for _, body in healthy.arrived} == set(served)
        assert all(at - started < 8 for at, _ in healthy.arrived)
        # each silent URL has one POST in flight, not all of its deliveries at once
        wait_for(lambda: len(silent.held) == 2, timeout=5)
        time.sleep(0.5)
        assert len(silent.held) == 2

        # the 10 s timeout is kept, and it is the whole POST's: a trickled answer too
        # (before, the trickling receiver held its POST for the 40 s it trickled)
        def timed_out() -> bool:
            rows = [outbox.of_job(state, job_id)[0] for job_id in stuck]
            return sum(r.attempts >= 1 and r.status == "pending" and r.last_error is not None
                       for r in rows) >= 3
        wait_for(timed_out, timeout=20)
        assert 8 < time.monotonic() - started < 20
        errors = [outbox.of_job(state, job_id)[0].last_error or "" for job_id in stuck]
        assert sum("Timeout" in error for error in errors) >= 3, errors
        assert "ReadTimeout: no complete answer within 10s" in errors[-1], errors
    finally:
        kill(worker, signal.SIGTERM)
    assert [r.status for job_id in served for r in outbox.of_job(state, job_id)] == [
        "delivered", "delivered"]


def test_lanes_are_bounded_and_each_receiver_is_served_oldest_first(
        sandbox: Sandbox, cli: Cli, state: Database, healthy: Healthy,
        inline_worker: WorkerRuntime) -> None:
    first, second = (canceled_job(cli, state, f"order{n}.example", healthy.url)
                     for n in range(2))
    # the second is older: a receiver gets its deliveries in the order they fell due
    state.execute("UPDATE webhook_deliveries SET next_at = next_at - 60 WHERE job_id = ?",
                  (second,))
    assert outbox.due_urls(state, time.time(), webhooks.MAX_LANES) == [healthy.url]
    webhooks.pump(state, inline_worker.settings)
    wait_for(lambda: len(healthy.arrived) == 2, timeout=5)
    assert [body["job"]["id"] for _, body in healthy.arrived] == [second, first]


def test_a_delivery_still_goes_through_the_proxy_the_environment_names(
        sandbox: Sandbox, cli: Cli, state: Database,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # each receiver now has a client of its own: the proxy is still the environment's
    seen: list[str] = []

    class Proxy(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            seen.append(self.requestline)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    proxy = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, args=(0.05,), daemon=True).start()
    try:
        job_id = canceled_job(cli, state, "proxied.example", "http://hooks.proxied.test/in")
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                     "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        assert webhooks.deliver_due(state, config.load()) == 1
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert seen == ["POST http://hooks.proxied.test/in HTTP/1.1"]
    assert outbox.of_job(state, job_id)[0].status == "delivered"
