"""A scraped page never outlives NOVAHUNT_SCRAPE_TIMEOUT nor grows past the byte cap.

A hostile site on 127.0.0.1 (reached through NOVAHUNT_SCRAPE_BASE_URL) answers every
page in one of two ways: headers that trickle one byte every 0.2 s, which restarts
httpx's read timeout with every byte (before, a page took as long as the server kept
trickling), or a gzip bomb whose 2 MB cap was counted before, but only after httpx had
inflated a whole network chunk (64 KiB of gzip is 64 MB of page) at once.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import pytest

from helpers import Cli, drain, kill, spawn, wait_for
from novahunt import config
from novahunt.queue import dispatch
from novahunt.runners import scrape
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Status
from novahunt.worker.runtime import WorkerRuntime

DOMAIN = "hostile-site.test"
TRICKLE_FOR = 40.0      # seconds a trickling answer would go on
BOMB_BYTES = 300_000_000


def gzip_bomb(size: int) -> bytes:
    """`size` bytes of an HTML page, gzipped (about 1/1000 of it), built a piece at a
    time so the test process never holds the page itself."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(b"<html><body><p>bomb@hostile-site.test</p>")]
    piece = b" " * 1_000_000
    for _ in range(size // len(piece)):
        parts.append(packer.compress(piece))
    parts.append(packer.flush())
    return b"".join(parts)


class Hostile(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.stopping = threading.Event()
        self.pages: list[str] = []
        self.bomb = gzip_bomb(BOMB_BYTES) if mode == "bomb" else b""
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the scraper hung up: that is the point

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server = cast(Hostile, self.server)
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        server.pages.append(self.path)
        if server.mode == "bomb":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(server.bomb)))
            self.end_headers()
            self.wfile.write(server.bomb)
            return
        self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
        ends = time.monotonic() + TRICKLE_FOR
        while time.monotonic() < ends and not server.stopping.wait(0.2):
            self.wfile.write(b"a")
            self.wfile.flush()
        self.wfile.write(b"\r\nContent-Type: text/html\r\n\r\n<p>late@hostile-site.test</p>")


@pytest.fixture()
def trickle(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hostile]:
    server = Hostile("trickle")
    monkeypatch.setenv(scrape.BASE_URL_ENV, server.url)
    monkeypatch.setenv(scrape.DELAY_ENV, "0.01")
    yield server
    server.stop()


def submit(state: Database, max_pages: int) -> Job:
    spec = scrape.plan(config.load(), DOMAIN, max_pages=max_pages)
    [(job, _)] = dispatch.submit(state, [spec])
    return job


def skipped(job: Job) -> list[str]:
    return [e.message for e in job.events if e.kind == "skipped"]


def test_a_page_whose_headers_trickle_is_abandoned_at_the_timeout(
        trickle: Hostile, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scrape.TIMEOUT_ENV, "1")
    job = submit(state, max_pages=2)
    started = time.monotonic()
    drain(inline_worker)
    took = time.monotonic() - started
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED, done.error
    # before: each page took TRICKLE_FOR (40 s); now the timeout, 1 s, for each
    assert took < 10, took
    assert trickle.pages == ["/", "/contact"]
    reasons = skipped(done)
    assert len(reasons) == 2 and all("still loading after 1s" in r for r in reasons), reasons


@pytest.fixture()
def slow_site(home: Path, trickle: Hostile, monkeypatch: pytest.MonkeyPatch) -> Hostile:
    """A real worker scraping the trickling site with a long timeout."""
    monkeypatch.setenv(scrape.TIMEOUT_ENV, "60")
    return trickle


def test_cancel_lands_within_seconds_while_a_page_trickles(
        slow_site: Hostile, state: Database, cli: Cli) -> None:
    job = submit(state, max_pages=5)
    worker = spawn("worker")
    try:
        wait_for(lambda: slow_site.pages, timeout=20)
        code, _, err = cli("jobs", "cancel", str(job.id))
        assert code == 0, err
        asked = time.monotonic()
        # before: the cancel waited for the page to end, TRICKLE_FOR (40 s) later
        wait_for(lambda: jobs.get(state, job.id).status is Status.CANCELED, timeout=10)
        assert time.monotonic() - asked < 10
        assert slow_site.pages == ["/"]
    finally:
        kill(worker)


def test_sigterm_stops_the_worker_within_seconds_while_a_page_trickles(
        slow_site: Hostile, state: Database) -> None:
    job = submit(state, max_pages=5)
    worker = spawn("worker")
    try:
        wait_for(lambda: slow_site.pages, timeout=20)
        worker.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        # before: the worker waited for the page to end, TRICKLE_FOR (40 s) later
        worker.wait(timeout=15)
        assert time.monotonic() - asked < 10
    finally:
        if worker.poll() is None:
            kill(worker)
    # handed back as it stood: the next worker starts again at the page in flight
    back = jobs.get(state, job.id)
    assert back.status in (Status.QUEUED, Status.RETRYING), back.status


def vm_hwm_mb(pid: int) -> float:
    """The process's peak resident memory so far, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_gzip_bomb_page_is_cut_at_the_cap_after_inflating(
        state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    server = Hostile("bomb")
    try:
        monkeypatch.setenv(scrape.BASE_URL_ENV, server.url)
        monkeypatch.setenv(scrape.DELAY_ENV, "0.01")
        monkeypatch.setenv(scrape.TIMEOUT_ENV, "20")
        worker = spawn("worker")
        try:
            time.sleep(3)  # started and idle: what it needs without a page
            before = vm_hwm_mb(worker.pid)
            job = submit(state, max_pages=3)
            wait_for(lambda: jobs.get(state, job.id).status is Status.COMPLETED, timeout=60)
            grew = vm_hwm_mb(worker.pid) - before
        finally:
            kill(worker)
    finally:
        server.stop()
    done = jobs.get(state, job.id, events=True)
    assert len(server.pages) == 3 and len(server.bomb) < 1_000_000
    reasons = skipped(done)
    assert len(reasons) == 3
    assert all("larger than 2,000,000 bytes" in r for r in reasons), reasons
    # before: each 64 KiB network chunk was inflated whole (64 MB); now a piece at a time
    print(json.dumps({"peak_rss_growth_mb": round(grew, 1)}))
    assert grew < 40, grew
