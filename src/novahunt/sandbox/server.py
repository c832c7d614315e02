"""The HTTP plumbing and the `Sandbox` itself: its lifecycle and its request pipeline.

`http.server.ThreadingHTTPServer` in a daemon thread, HTTP/1.1 with keep-alive, silent on
stderr; `stop()` also closes idle keep-alive connections, so a stopped sandbox really stops
answering. Each request is read into (method, endpoint, params, key), recorded, and put
through the pipeline: injected faults, authentication, the rate limit, the separate quotas,
then the endpoint (endpoints.py).
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from .endpoints import Endpoints
from .faults import Answer, Fault, error, fault_answer, shaped
from .state import RequestRecord
from .verdicts import normal_email


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (timeouts, drops) is normal here, not worth a trace.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each keep-alive answer would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "novahunt-sandbox"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).sandbox._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = cast(_Server, self.server).sandbox._serve(
            self.command,
            self.path,
            self.headers.get("X-API-KEY"),
            self.headers.get("Authorization"),
        )
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer.trickle > 0:
            self._trickle(answer)
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _trickle(self, answer: Answer) -> None:
        """The whole answer one byte at a time (the `trickle` fault shape); stop() cuts it."""
        self.close_connection = True
        head = [f"HTTP/1.1 {answer.status} {self.responses.get(answer.status, ('',))[0]}",
                f"Content-Type: {answer.content_type}", f"Content-Length: {len(answer.body)}",
                *(f"{name}: {value}" for name, value in answer.headers)]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + answer.body
        stopping = cast(_Server, self.server).sandbox._stopping
        try:
            for n in range(len(data)):
                self.wfile.write(data[n:n + 1])
                self.wfile.flush()
                if stopping.wait(answer.trickle):
                    return
        except OSError:
            pass

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch


class Sandbox(Endpoints):
    """A Hunter API v2 look-alike served on a local port; see the `novahunt.sandbox`
    docstring. The constructor (in state.py) takes the plan, its quotas and the knobs."""

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Sandbox.url is only known after start()")
        return f"http://{self.host}:{self.port}/v2"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"novahunt-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        # Idle keep-alive connections would otherwise go on being answered after stop().
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # -- request handling --------------------------------------------------------------------

    def _serve(
        self, method: str, target: str, header_key: str | None, authorization: str | None = None
    ) -> Answer:
        arrived = time.time()
        if self.latency:
            time.sleep(self.latency)
        split = urlsplit(target)
        path = split.path
        endpoint = path[len("/v2/") :].strip("/") if path.startswith("/v2/") else path
        params: dict[str, str] = {}
        url_key: str | None = None
        key_in_url = False
        for name, values in parse_qs(split.query, keep_blank_values=True).items():
            if name == "api_key":
                key_in_url, url_key = True, values[0]
            else:
                params[name] = values[0]
        bearer_key: str | None = None
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                bearer_key = token.strip()
        # Hunter documents the three ways without an order; when several are sent, the header
        # wins over Bearer, and both over the URL.
        via, key = next(
            ((v, k) for v, k in (("header", header_key), ("bearer", bearer_key), ("url", url_key))
             if k is not None),
            (None, None),
        )
        try:
            answer = self._answer(method, endpoint, params, key)
        except Exception as exc:  # a sandbox bug must surface as an answer, not a hang
            answer = error(500, "internal_error", f"sandbox error: {exc!r}")
        record = RequestRecord(
            method=method,
            endpoint=endpoint,
            params=params,
            key_in_header=header_key is not None,
            key_in_url=key_in_url,
            status=0 if answer.drop else answer.status,
            at=arrived,
            key_in_bearer=bearer_key is not None,
            key_via=via,
        )
        with self._lock:
            self.requests.append(record)
        return answer

    def _answer(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str],
        key: str | None,
    ) -> Answer:
        domain_param, email_param = params.get("domain"), params.get("email")
        fault = self._next_fault(
            endpoint,
            domain_param.strip().lower() if domain_param else None,
            normal_email(email_param) if email_param else None,
        )
        return shaped(self._respond(method, endpoint, params, key, fault), fault)

    def _respond(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str],
        key: str | None,
        fault: Fault | None,
    ) -> Answer:
        if fault is not None:
            if fault.delay > 0:
                # Waiting on the stop event lets stop() cut slow answers short.
                self._stopping.wait(fault.delay)
            if fault.drop:
                return Answer(0, drop=True)
            if not fault.answers_normally:
                return fault_answer(fault)

        # Email Count works with or without a key (DOCS, PLUG; Hunter's extension sends none):
        # what it answers to a wrong key is documented nowhere, so no key is looked at
        public = method == "GET" and endpoint == "email-count"
        if key != self.api_key and not public:
            return error(401, "authentication_failed", "No user found for the API key supplied")

        wait = self._rate_limited()
        if wait is not None:
            return error(429, "too_many_requests", "Too many requests, try again later.", wait)

        paid = {"domain-search": "search", "email-finder": "search",
                "email-verifier": "verification"}
        if method == "GET" and endpoint in paid:
            with self._lock:
                refused = self._spent_locked(paid[endpoint])
            if refused is not None:
                return refused
            if endpoint == "domain-search":
                return self._domain_search(params)
            if endpoint == "email-finder":
                return self._email_finder(params)
            return self._email_verifier(params)
        if method == "GET" and endpoint == "account":
            return self._account()
        if public:
            return self._email_count(params)
        shown = endpoint if endpoint.startswith("/") else f"/v2/{endpoint}"
        return error(404, "not_found", f"The endpoint '{method} {shown}' does not exist.")
