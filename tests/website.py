"""A small company website on 127.0.0.1 for the scrape tests.

`example-site.test` publishes addresses the way real sites do (plain text, `mailto:`
links with a subject, bracketed obfuscations, HTML entities, an `@` split by tags or by
a comment, a subdomain) and has every kind of page a scraper must not get stuck on: an
off-site redirect, a PDF, a 500, a page larger than the byte cap, a page that never
ends, a robots.txt-protected folder and a sitemap of 60 pages for the page budget.

Each request is logged (`requests`: path, arrival time, User-Agent) before it is
answered, and `on_request(path)` lets a test act at that moment. The server speaks
HTTP/1.0, so every answer ends with its connection; `stop()` also ends the page that
never ends and waits for every handler thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

DOMAIN = "example-site.test"
HUGE_BYTES = 3_000_000          # more than the scraper's 2 MB cap
ROBOTS = "User-agent: *\nDisallow: /private\n"
SITEMAP_PAGES = 60

HOME = """<!doctype html><html><head><title>Example Site</title></head><body>
<nav><a href="/about">About us</a> <a href="/team">Our team</a> <a href="/moved">People</a>
 <a href="https://elsewhere.test/">Our partner</a> <a href="#top">Top</a></nav>
<main><h1>Welcome</h1><p>We make examples.</p>
<ul><li><a href="/away">Jobs board</a></li><li><a href="/private/">Members</a></li>
<li><a href="/brochure">Brochure</a></li><li><a href="/broken">Status</a></li>
<li><a href="/huge">Archive</a></li><li><a href="/endless">Live feed</a></li>
<li><a href="/links">Sitemap</a></li><li><a href="/logo.png">Our logo</a></li>
<li><a href="tel:+15550100">Call us</a></li></ul></main>
<footer><p>Write to hello@example-site.test</p><p>&copy; Example Site</p></footer>
</body></html>"""

ABOUT = """<html><body><h1>About</h1>
<p>Careers: jobs (at) example-site (dot) test</p>
<img src="/img/logo@2x.png" alt="logo"><p>Our logo file is logo@2x.png.</p>
<p><a href="/contact">Contact us</a></p></body></html>"""

TEAM = """<html><body><h1>Our team</h1><ul>
<li>Ada Lovelace, CTO</li><li>ada.lovelace<span>@</span><b>example-site.test</b></li>
<li>Grace Hopper, EU office: grace<!-- no bots -->@eu.example-site.test</li>
</ul></body></html>"""

CONTACT = """<html><body><h1>Contact</h1>
<p><a href="mailto:Sales@Example-Site.test?subject=hi">Write to sales</a></p>
<p>Press: press [at] example-site [dot] test</p>
<p>General questions: info&#64;example-site.test</p>
<p>Our agency: other@elsewhere.test</p></body></html>"""

PEOPLE = "<html><body><p>Human resources: hr&#x40;example-site.test</p></body></html>"
PRIVATE = "<html><body><p>Members only: secret@example-site.test</p></body></html>"
BROKEN = "<html><body><p>Something broke; tell error@example-site.test</p></body></html>"
PDF = b"%PDF-1.4\n% pdf@example-site.test\n%%EOF\n"

# page -> where it sends the client
REDIRECTS = {"/moved": "/people", "/away": "https://elsewhere.test/landing"}
PAGES = {"/": HOME, "/about": ABOUT, "/team": TEAM, "/contact": CONTACT, "/people": PEOPLE}


@dataclass(frozen=True)
class Request:
    path: str
    at: float           # time.monotonic() when it arrived
    user_agent: str


class _Server(ThreadingHTTPServer):
    # handler threads are joined by server_close(): stop() proves they all ended
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, site: Website) -> None:
        self.site = site
        super().__init__(("127.0.0.1", site.port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up mid-answer is what several pages are for


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = 5  # a connection that never sends a request cannot hold stop() up

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        site = cast(_Server, self.server).site
        path = urlsplit(self.path).path
        site.log(Request(self.path, time.monotonic(), self.headers.get("User-Agent", "")))
        if site.on_request is not None:
            site.on_request(path)
        if path == "/robots.txt":
            self._send(200, ROBOTS.encode(), "text/plain")
        elif path in PAGES:
            self._send(200, PAGES[path].encode(), "text/html; charset=utf-8")
        elif path in REDIRECTS or path in site.redirects:
            self.send_response(301 if path == "/moved" else 302)
            self.send_header("Location", site.redirects.get(path) or REDIRECTS[path])
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path.startswith("/private"):
            self._send(200, PRIVATE.encode(), "text/html")
        elif path == "/brochure":
            self._send(200, PDF, "application/pdf")
        elif path == "/broken":
            self._send(500, BROKEN.encode(), "text/html")
        elif path == "/huge":
            self._huge()
        elif path == "/endless":
            self._endless(site)
        elif path == "/links":
            items = "".join(f'<li><a href="/p/{n}">Page {n}</a></li>'
                            for n in range(SITEMAP_PAGES))
            self._send(200, f"<html><body><ul>{items}</ul></body></html>".encode(),
                       "text/html")
        elif path.startswith("/p/"):
            self._send(200, f"<html><body><p>Page {path[3:]}</p></body></html>".encode(),
                       "text/html")
        else:
            self._send(404, b"<html><body>Not found</body></html>", "text/html")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _huge(self) -> None:
        # no Content-Length: the reader has to stop by counting
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        chunk = b"<p>" + b"filler " * 9000 + b"</p>\n"
        try:
            for _ in range(HUGE_BYTES // len(chunk) + 1):
                self.wfile.write(chunk)
            self.wfile.write(b"<p>huge@example-site.test</p>")
        except OSError:
            pass

    def _endless(self, site: Website) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        try:
            self.wfile.write(b"<html><body>")
            while not site.stopping.wait(0.05):
                self.wfile.write(b"<p>still going: tick@example-site.test</p>\n")
        except OSError:
            pass  # the reader gave up


class Website:
    """`port` 0 takes a free one; `redirects` adds pages that send the client on."""

    def __init__(self, port: int = 0, redirects: dict[str, str] | None = None) -> None:
        self.port = port
        self.redirects = dict(redirects or {})
        self.requests: list[Request] = []
        self.on_request: Callable[[str], None] | None = None
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Website.url is only known after start()")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self.stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
            name="test-website", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()  # joins the handler threads, the endless one included
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Website:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def log(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def paths(self) -> list[str]:
        """The pages requested, in order (robots.txt left out)."""
        with self._lock:
            return [r.path for r in self.requests if r.path != "/robots.txt"]
