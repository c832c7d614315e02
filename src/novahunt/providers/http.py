"""What every HTTP client of novahunt shares: one TLS context, a whole-request deadline,
and a body read with a cap counted after decompression.

Building an httpx transport builds a TLS context, which loads the CA bundle: about 45 ms
each time. A worker makes a client per job and a command makes a few, so the process
keeps one context (an `ssl.SSLContext` is safe to share between threads and
connections). It honours SSL_CERT_FILE and SSL_CERT_DIR as httpx would.

httpx's timeouts are per socket operation: a server that sends one byte a second, in its
headers or its body, restarts the read timeout with every byte and is never abandoned.
`deadline()` gives the requests of one thread an end in time instead: a transport passed
through `with_deadlines` wraps its network backend, so every connect, TLS handshake,
read and write is given at most the time left, and none starts once it is spent. The
deadline lives in a context variable, so one transport serves many threads, each with its
own deadline (and none when it sets none).

httpx decodes gzip in one `decompress()` call per network chunk: a 64 KB chunk of a gzip
bomb becomes 64 MB at once, an 800 KB answer 800 MB. `read_capped` reads the raw stream and
inflates it itself, a bounded piece at a time, counting what comes out.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import ssl
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

# the default cap of one answer's body, after decompression: Hunter's pages are ~100 KB
BODY_LIMIT = 10 * 1024 * 1024
# once a request is this old, `interrupt` is asked every POLL seconds whether to give up:
# a normal answer comes in well under a second, and one cut short may have been billed
INTERRUPT_AFTER = 3.0
POLL = 0.5
# what one inflate step may produce: memory stays bounded whatever the ratio
_PIECE = 64 * 1024


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()


class BodyTooLarge(Exception):
    """An answer's body passed `limit` bytes (after decompression) and was abandoned."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit:,} bytes")
        self.limit = limit


# -- the whole-request deadline ----------------------------------------------------------


@dataclass
class _Budget:
    seconds: float
    started: float
    ends: float
    interrupt: Callable[[], None] | None
    polled: float = 0.0

    def left(self) -> float:
        return self.ends - time.monotonic()

    def poll(self) -> None:
        """Ask `interrupt`, at most every POLL seconds, once the request is old enough:
        between reads too, since a trickle never lets a read time out."""
        now = time.monotonic()
        if (self.interrupt is not None and now - self.started >= INTERRUPT_AFTER
                and now - self.polled >= POLL):
            self.polled = now
            self.interrupt()

    def spent(self) -> str:
        return f"no complete answer within {self.seconds:g}s"


_budget: contextvars.ContextVar[_Budget | None] = contextvars.ContextVar(
    "novahunt_http_budget", default=None)


@contextlib.contextmanager
def deadline(seconds: float, interrupt: Callable[[], None] | None = None) -> Iterator[None]:
    """Every connect, read and write of this thread on a `with_deadlines` transport ends
    within `seconds` from now (httpx then raises one of its TimeoutExceptions).
    `interrupt`, if given, is called about every POLL seconds while the answer is
    awaited or read, once the request is INTERRUPT_AFTER seconds old: whatever it raises
    abandons the request and propagates (a job's cancel or a worker's shutdown). Name
    resolution and waiting for a free pooled connection are not covered."""
    now = time.monotonic()
    token = _budget.set(_Budget(seconds, now, now + seconds, interrupt))
    try:
        yield
    finally:
        _budget.reset(token)


def _limited(timeout: float | None, budget: _Budget | None,
             error: type[Exception]) -> float | None:
    """The timeout of one socket operation: its own, no longer than the time left."""
    if budget is None:
        return timeout
    left = budget.left()
    if left <= 0:
        raise error(budget.spent())
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose operations end by this thread's `deadline()`, if any."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        budget = _budget.get()
        if budget is None:
            return self._inner.read(max_bytes, timeout)
        own_end = None if timeout is None else time.monotonic() + timeout
        while True:
            budget.poll()
            now = time.monotonic()
            end = budget.ends if own_end is None else min(own_end, budget.ends)
            if end <= now:
                raise httpcore.ReadTimeout(budget.spent() if end == budget.ends
                                           else "timed out")
            wait = end - now
            if budget.interrupt is not None:
                # a read that times out has consumed nothing, so it can be resumed
                wait = min(wait, POLL)
            try:
                return self._inner.read(max_bytes, wait)
            except httpcore.ReadTimeout:
                now = time.monotonic()
                if now >= budget.ends:
                    raise httpcore.ReadTimeout(budget.spent()) from None
                if budget.interrupt is None or (own_end is not None and now >= own_end):
                    raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # never resumed after a timeout: part of the buffer may have gone out
        self._inner.write(buffer, _limited(timeout, _budget.get(), httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.start_tls(
            ssl_context, server_hostname,
            _limited(timeout, _budget.get(), httpcore.ConnectTimeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Wraps a network backend (httpcore's own, or one that checks addresses) so its
    streams honour `deadline()`; without a deadline set it changes nothing."""

    def __init__(self, inner: httpcore.NetworkBackend | None = None) -> None:
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.connect_tcp(
            host, port, _limited(timeout, _budget.get(), httpcore.ConnectTimeout),
            local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        return DeadlineStream(self._inner.connect_unix_socket(
            path, _limited(timeout, _budget.get(), httpcore.ConnectTimeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def with_deadlines(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """`transport`, its requests bounded by `deadline()`. httpx builds its httpcore pool
    without a way to pass a network backend, so the pool's is wrapped in place (every
    pool kind, proxies included, keeps it as `_network_backend`); a transport of another
    shape is refused rather than left without deadlines."""
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if not isinstance(inner, httpcore.NetworkBackend):
        raise TypeError("this httpx transport has no httpcore network backend to wrap")
    if not isinstance(inner, DeadlineBackend):
        pool._network_backend = DeadlineBackend(inner)  # type: ignore[union-attr]
    return transport


# -- the body, capped after decompression ------------------------------------------------


def _inflate(chunks: Iterable[bytes], wbits: int, *, fallback: int | None = None,
             lenient: bool = False) -> Iterator[bytes]:
    """zlib-inflate a stream of chunks, at most _PIECE bytes out per step. `fallback`:
    the wbits to retry with when the first chunk does not decode (deflate is sent both
    zlib-wrapped and raw, as httpx's own decoder allows). `lenient`: a stream cut short
    (a truncated read) ends without an error."""
    inflater = zlib.decompressobj(wbits)
    first = True
    try:
        for chunk in chunks:
            data = chunk
            while data and not inflater.eof:
                try:
                    piece = inflater.decompress(data, _PIECE)
                except zlib.error:
                    if not (first and fallback is not None):
                        raise
                    inflater, fallback = zlib.decompressobj(fallback), None
                    continue
                first = False
                data = inflater.unconsumed_tail
                if piece:
                    yield piece
        if not inflater.eof and not lenient and not first:
            raise zlib.error("the compressed stream ends early")
        tail = inflater.flush()
        if tail:
            yield tail
    except zlib.error as exc:
        raise httpx.DecodingError(f"the answer's compressed body is broken ({exc})") from None


def _decoded(chunks: Iterable[bytes], encoding: str, *, lenient: bool) -> Iterable[bytes]:
    if encoding in ("", "identity"):
        return chunks
    if encoding in ("gzip", "x-gzip"):
        return _inflate(chunks, zlib.MAX_WBITS | 16, lenient=lenient)
    if encoding == "deflate":
        return _inflate(chunks, zlib.MAX_WBITS, fallback=-zlib.MAX_WBITS, lenient=lenient)
    raise httpx.DecodingError(f"the answer uses an encoding novahunt does not read: "
                              f"{encoding[:40]!r}")


def read_capped(response: httpx.Response, limit: int = BODY_LIMIT, *,
                truncate: bool = False) -> bytes:
    """The body of a streamed `response`, decoded (Content-Encoding identity, gzip,
    deflate, chained), refused with `BodyTooLarge` past `limit` bytes before or after
    decompression: memory stays about `limit` whatever the server sends. `truncate`:
    the first `limit` decoded bytes instead (robots.txt: what is past a limit is
    ignored), reading no further."""
    raw_seen = 0

    def raw() -> Iterator[bytes]:
        nonlocal raw_seen
        for chunk in response.iter_raw():
            raw_seen += len(chunk)
            if raw_seen > limit:
                if not truncate:
                    raise BodyTooLarge(limit)
                yield chunk[:len(chunk) - (raw_seen - limit)]
                return
            yield chunk

    body: Iterable[bytes] = raw()
    encodings = [e.strip().lower()
                 for e in response.headers.get_list("content-encoding", split_commas=True)]
    for encoding in reversed(encodings):  # the last one named was applied last
        body = _decoded(body, encoding, lenient=truncate)
    parts: list[bytes] = []
    size = 0
    for piece in body:
        size += len(piece)
        if size > limit:
            if not truncate:
                raise BodyTooLarge(limit)
            parts.append(piece[:len(piece) - (size - limit)])
            break
        parts.append(piece)
    return b"".join(parts)


def proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, ALL_PROXY, NO_PROXY and
    their lower-case forms), as an httpx.Client would pick it."""
    proxies = urllib.request.getproxies_environment()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
    if not proxies or bypass(url.host, proxies):
        return None
    return proxies.get(url.scheme) or proxies.get("all")
