"""Every answer's body is read with a cap counted after decompression (issue 17: a
Domain Search answer of 800 KB gzip that inflates to 800 MB took the worker to 1.6 GB)."""

from __future__ import annotations

import functools
import gzip
import signal
import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import kill, run_process, spawn, wait_for
from novahunt.providers import http
from novahunt.sandbox import Fault, Sandbox, gzip_bomb
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status

INFLATED = 800 * 1024 * 1024


@functools.cache
def bomb() -> bytes:
    return gzip_bomb(INFLATED)  # about 800 KB


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def test_a_worker_reading_a_gzip_bomb_stays_small_and_buys_the_page_once(
        sandbox: Sandbox, state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("peak RSS is read from /proc")
    assert len(bomb()) < 1024 * 1024
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    sandbox.add_domain("bomb.example", 25)
    # the bomb replaces a page the sandbox bills, as Hunter would have
    sandbox.inject(Fault(gzip=bomb()), domain="bomb.example")
    queued = run_process("collect", "bomb.example", "--json")
    assert queued.returncode == 0, queued.stderr
    worker = spawn("worker")
    try:
        wait_for(lambda: jobs.get(state, 1).status is Status.COMPLETED, timeout=60)
        peak = peak_rss_mb(worker.pid)
    finally:
        kill(worker, signal.SIGTERM)
    job = jobs.get(state, 1, events=True)
    assert peak < 300, f"the worker peaked at {peak:.0f} MB"
    print(f"worker peak RSS with an 800 MB gzip bomb: {peak:.0f} MB")
    # the page is skipped, not bought again; the rest of the domain is collected
    assert [r.params["offset"] for r in sandbox.requests if r.endpoint == "domain-search"] \
        == ["0", "10", "20"]
    assert any("larger than 10,485,760 bytes" in e.message for e in job.events)


class Chunks(httpx.SyncByteStream):
    def __init__(self, data: bytes) -> None:
        self.data = data

    def __iter__(self) -> Iterator[bytes]:
        for n in range(0, len(self.data), 65536):
            yield self.data[n:n + 65536]


def response(data: bytes, encoding: str) -> httpx.Response:
    return httpx.Response(200, headers={"Content-Encoding": encoding}, stream=Chunks(data))


def test_every_encoding_is_capped_after_decompression() -> None:
    text = b"hello world " * 1000
    raw_deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    for data, encoding in [
        (text, "identity"), (gzip.compress(text), "gzip"), (gzip.compress(text), "x-gzip"),
        (zlib.compress(text), "deflate"), (raw_deflate.compress(text) + raw_deflate.flush(),
                                           "deflate"),
        (gzip.compress(zlib.compress(text)), "deflate, gzip"),
    ]:
        assert http.read_capped(response(data, encoding), len(text)) == text, encoding
        with pytest.raises(http.BodyTooLarge):
            http.read_capped(response(data, encoding), len(text) - 1)
    # truncate: the first bytes up to the cap (robots.txt), no error
    small = gzip_bomb(50 * 1024 * 1024)
    assert len(http.read_capped(response(small, "gzip"), 1000, truncate=True)) == 1000
    with pytest.raises(httpx.DecodingError):
        http.read_capped(response(b"not gzip at all", "gzip"))
    with pytest.raises(httpx.DecodingError):
        http.read_capped(response(gzip.compress(text)[:-20], "gzip"))  # cut short
    with pytest.raises(httpx.DecodingError):
        http.read_capped(response(text, "br"))  # never asked for: not read
