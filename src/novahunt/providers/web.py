"""Reading a company's own web pages, politely, and the addresses published on them.

`WebClient` is one scrape's HTTP client. It keeps to a `Scope` (the domain and its
subdomains, or exactly one origin when a base URL stands in for the domain) and to the
rules of a polite crawler:

- robots.txt is read once per origin, with the same client, and obeyed (urllib's
  `RobotFileParser`, matching our token `novahunt`). As RFC 9309 says, a 4xx answer
  means no rules; a 5xx answer or a failed read means "disallow everything" (for the
  scrape's own origin, `open` makes that an error worth retrying later instead);
- requests to one host are spaced by at least `delay` seconds, or the host's
  Crawl-delay up to `MAX_CRAWL_DELAY`, counted from the end of the previous request;
  waits go through the `pause` callback so a job can heed cancel and shutdown;
- the User-Agent says who we are and where to read about us;
- redirects are followed by hand, only while they stay in scope and allowed;
- only the public web is reached: ports 80 and 443 of the domain and its subdomains,
  on public addresses checked where the connection is made (`providers/reach.py`);
  a base URL is the one explicit way to a local site;
- bodies are streamed: anything but HTML is not read, and a body is abandoned past
  `max_bytes`, counted after decompression (a gzip bomb inflates no further). A whole
  request, slow DNS and trickling headers included, ends `timeout` seconds after it
  started (`providers/http.py`'s deadline: httpx's own timeouts restart with every
  byte, so a page that trickles would otherwise never end).

A page that is not read raises `Skipped` with the reason a user should see;
`Unreachable` (a kind of `Skipped`) means that no connection could be made at all,
`Refused` that none was tried: the address is not public.

What a page says is found by `providers/extract.py`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import httpx

from novahunt import __version__
from novahunt.errors import PermanentError, TransientError
from novahunt.inputs.domains import host_to_ascii
from novahunt.providers import http, reach

USER_AGENT = f"novahunt/{__version__} (+https://github.com/novahunt/novahunt)"
DELAY = 0.5                 # seconds between two requests to one host, at least
TIMEOUT = 10.0              # seconds for one request, body included
MAX_BYTES = 2_000_000       # bytes of one page (or robots.txt) read, at most
MAX_REDIRECTS = 5
MAX_CRAWL_DELAY = 30.0      # a robots.txt Crawl-delay is honoured up to this
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}
_DISALLOW_ALL = ["User-agent: *", "Disallow: /"]
_NOT_IN_HOSTS = frozenset(" %/:?#@[]\\")

# links worth reading first: where companies publish addresses
HOT_WORDS = ("contact", "kontakt", "about", "team", "people", "staff", "imprint",
             "impressum", "legal")
# links that cannot be pages: never requested, so they cost no page of the budget
NOT_PAGES = tuple(f".{ext}" for ext in (
    "pdf", "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "css",
    "js", "mjs", "json", "xml", "rss", "zip", "gz", "tgz", "rar", "7z", "dmg", "exe", "msi", "doc",
    "docx", "xls", "xlsx", "ppt", "pptx", "odt", "csv", "mp3", "mp4", "m4a", "mov", "avi", "webm",
    "woff", "woff2", "ttf", "otf", "eot"
))
# "addresses" whose top-level domain is a file type: logo@2x.png, icon@3x.webp
FILE_TLDS = frozenset((
    "png", "jpg", "jpeg", "gif", "svg", "webp", "avif", "ico", "bmp", "tif", "tiff", "css", "js",
    "mjs", "json", "map", "mp4", "webm", "mp3", "woff", "woff2", "ttf", "otf", "eot", "pdf"
))
BLOCKS = frozenset((
    "address", "article", "aside", "blockquote", "br", "dd", "details", "dialog", "div", "dl",
    "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "li", "main", "nav", "ol", "option", "p", "pre", "section", "summary", "table",
    "tbody", "td", "tfoot", "th", "thead", "title", "tr", "ul"
))


class Skipped(Exception):
    """A page that is not read; `reason` is what the job's events say. `requested`
    tells whether a request was sent for it (then it used a page of the budget)."""

    def __init__(self, reason: str, *, requested: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.requested = requested


class Unreachable(Skipped):
    """No connection could be made to the page's host."""


class Refused(Skipped):
    """The page's host is not on the public internet (or the port is not 80 or 443):
    no connection is made to it (`providers/reach.py`)."""


@dataclass(frozen=True)
class Page:
    url: str                # where the page was found, after redirects
    body: bytes
    charset: str | None     # from the Content-Type header, if it said


@dataclass(frozen=True)
class Link:
    url: str
    hot: bool               # its text or address mentions contact, about, team, ...


@dataclass(frozen=True)
class Extracted:
    emails: list[str]       # normalised, in the order first seen
    links: list[Link]


def normalise_url(url: str) -> str | None:
    """One spelling per page (lower-case scheme and host, no default port, no fragment,
    "/" for an empty path), or None for anything but a plain http(s) URL.

    The host is spelled as `normalise_domain` spells the scrape's domain (IDNA 2008:
    `faß.de` is `xn--fa-hia.de`, never IDNA 2003's `fass.de`, another registrant), so a
    site's own links stay on the site; a trailing dot and percent-escapes in it go."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if "%" in host:  # browsers read http://fa%C3%9F.de/ as faß.de
        host = unquote(host)
        if not host.isprintable() or any(c in _NOT_IN_HOSTS for c in host):
            return None  # "a%2Fb.com" must not turn into the host "a" and a path
    try:
        host = _host(host)
    except UnicodeError:
        return None
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _host(host: str) -> str:
    """A URL's host as `normalise_domain` spells names; IPv6 literals are left alone."""
    if ":" in host:
        return host
    host = host_to_ascii(host)
    # "stripe.com." is stripe.com, ideographic full stops included (host_to_ascii maps them)
    return host[:-1] if host.endswith(".") else host


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"



class Scope:
    """Which URLs belong to a scrape: the domain and its subdomains over http(s), or
    exactly `base` (scheme://host:port) when a base URL stands in for the domain."""

    def __init__(self, domain: str, base: str | None = None) -> None:
        self.domain = domain
        self.base = base.rstrip("/").lower() if base else None

    def origins(self) -> list[str]:
        """Where the scrape may start, best first."""
        if self.base is not None:
            return [self.base]
        return [f"https://{self.domain}", f"http://{self.domain}"]

    def contains(self, url: str) -> bool:
        if self.base is not None:
            return origin_of(url).lower() == self.base
        parts = urlsplit(url)
        try:
            port = parts.port
            # a URL not through normalise_url yet (a checkpoint) is judged by the same host
            host = _host(unquote(parts.hostname or ""))
        except (ValueError, UnicodeError):
            return False
        # another port of the same host is another service (a Docker API, a Redis)
        return parts.scheme in DEFAULT_PORTS and port in (None, *reach.PORTS) and (
            host == self.domain or host.endswith("." + self.domain))


class WebClient:
    def __init__(self, scope: Scope, *, delay: float = DELAY, timeout: float = TIMEOUT,
                 max_bytes: int = MAX_BYTES, pause: Callable[[float], None] = time.sleep,
                 interrupt: Callable[[], None] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        """`interrupt` is asked now and then while a slow request waits; whatever it
        raises (a cancel, a shutdown) abandons the request."""
        self.scope = scope
        self.delay = delay
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._pause = pause
        self._interrupt = interrupt
        # only a base URL, named explicitly, may be a local site
        self._http = httpx.Client(
            headers={"User-Agent": USER_AGENT,
                     "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
                     # what read_capped inflates itself
                     "Accept-Encoding": "gzip, deflate"},
            timeout=timeout, follow_redirects=False,
            transport=transport or reach.transport(public_only=scope.base is None))
        # origin -> (rules, why robots.txt could not be read)
        self._robots: dict[str, tuple[RobotFileParser, str | None]] = {}
        self._last: dict[str, float] = {}   # host -> when its last request ended

    def close(self) -> None:
        self._http.close()

    def open(self, origins: Sequence[str]) -> str:
        """The first of `origins` that answers (https before http), its robots.txt read
        on the way. A site that cannot be reached is worth trying again later; one
        whose name leads off the public internet is not (PermanentError)."""
        problems = []
        for origin in origins:
            try:
                note = self._load_robots(origin)
            except Refused as exc:
                raise PermanentError(
                    f"{origin}: {exc.reason} (NOVAHUNT_SCRAPE_BASE_URL names a local site"
                    " explicitly)") from exc
            except Unreachable as exc:
                problems.append(f"{origin}: {exc.reason}")
                continue
            if note is not None:
                raise TransientError(f"{origin}: {note}")
            return origin
        raise TransientError("; ".join(problems))

    def disallowed(self, url: str) -> str | None:
        """Why `url` may not be fetched (robots.txt), or None."""
        origin = origin_of(url)
        try:
            note = self._load_robots(origin)
        except Refused as exc:
            return exc.reason
        except Unreachable as exc:
            note = f"robots.txt: {exc.reason}"
        if note is not None:
            return note
        if not self._robots[origin][0].can_fetch(USER_AGENT, url):
            return "disallowed by robots.txt"
        return None

    def fetch(self, url: str, *, visited: Callable[[str], bool] = lambda _: False) -> Page:
        """GET one HTML page, following redirects that stay in scope and lead to a page
        not `visited` yet. Raises Skipped (or Unreachable, Refused) with the reason."""
        if not self.scope.contains(url):  # a checkpoint written before a scope rule
            raise Skipped("out of scope", requested=False)
        requested = False
        for _ in range(MAX_REDIRECTS + 1):
            reason = self.disallowed(url)
            if reason is not None:
                raise Skipped(reason, requested=requested)
            requested = True
            with self._get(url) as response:
                location = response.headers.get("location")
                if response.status_code in REDIRECTS and location:
                    target = normalise_url(urljoin(url, location))
                    if target is None or not self.scope.contains(target):
                        raise Skipped(f"redirects off-site to {location}")
                    if visited(target):
                        raise Skipped(f"redirects to {target}, already visited")
                    url = target
                    continue
                if not 200 <= response.status_code < 300:
                    raise Skipped(f"HTTP {response.status_code}")
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                # no Content-Type at all: let the parser judge
                if mime and mime not in HTML_TYPES:
                    raise Skipped(f"not HTML ({mime})")
                return Page(url, self._read(response), response.charset_encoding)
        raise Skipped(f"more than {MAX_REDIRECTS} redirects")

    # -- inside --------------------------------------------------------------------------

    def _load_robots(self, origin: str) -> str | None:
        """Read the rules of `origin` once; returns why they could not be read, if so.
        Raises Unreachable the first time, when no connection could be made."""
        if origin in self._robots:
            return self._robots[origin][1]
        parser = RobotFileParser(f"{origin}/robots.txt")
        note: str | None = None
        rules: list[str] = []   # 4xx, or a redirect we do not follow: no rules
        try:
            status, text = self._robots_txt(f"{origin}/robots.txt")
        except Refused as exc:
            parser.parse(_DISALLOW_ALL)
            self._robots[origin] = (parser, exc.reason)
            raise
        except Unreachable as exc:
            parser.parse(_DISALLOW_ALL)
            self._robots[origin] = (parser, f"robots.txt: {exc.reason}")
            raise
        except Skipped as exc:
            note = f"robots.txt could not be read ({exc.reason})"
        else:
            if status >= 500:
                note = f"robots.txt answered HTTP {status}"
            elif status < 300:
                rules = text.splitlines()
        parser.parse(_DISALLOW_ALL if note else rules)
        self._robots[origin] = (parser, note)
        return note

    def _robots_txt(self, url: str) -> tuple[int, str]:
        for _ in range(MAX_REDIRECTS + 1):
            with self._get(url) as response:
                location = response.headers.get("location")
                target = normalise_url(urljoin(url, location)) if location else None
                if response.status_code in REDIRECTS and target and self.scope.contains(
                        target):
                    url = target
                    continue
                if response.status_code != 200:
                    return response.status_code, ""
                # RFC 9309: parse at least 500 KiB; what is past the cap is ignored
                body = self._read(response, truncate=True)
                return 200, body.decode("utf-8", "replace")
        return 404, ""  # RFC 9309: after too many redirects, treat it as unavailable

    @contextmanager
    def _get(self, url: str) -> Iterator[httpx.Response]:
        """One paced, streamed GET; httpx's failures become Skipped."""
        host = urlsplit(url).netloc
        last = self._last.get(host)
        if last is not None:
            wait = last + self._spacing(url) - time.monotonic()
            if wait > 0:
                self._pause(wait)
        deadline = time.monotonic() + self.timeout
        try:
            # the whole request, headers that trickle included, ends by the deadline
            with http.deadline(self.timeout, self._interrupt), self._http.stream(
                    "GET", url) as response:
                yield response
        except httpx.ConnectError as exc:
            if isinstance(exc.__cause__, reach.NotPublic):
                raise Refused(f"refused: {exc}") from exc
            raise Unreachable(f"cannot connect ({_describe(exc)})") from exc
        except httpx.ConnectTimeout as exc:
            raise Unreachable(f"cannot connect ({_describe(exc)})") from exc
        except httpx.TimeoutException as exc:
            raise Skipped(f"still loading after {self.timeout:g}s: stopped reading"
                          if time.monotonic() >= deadline else
                          f"timed out ({_describe(exc)})") from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Skipped(f"failed ({_describe(exc)})") from exc
        finally:
            self._last[host] = time.monotonic()

    def _spacing(self, url: str) -> float:
        robots = self._robots.get(origin_of(url))
        asked = robots[0].crawl_delay(USER_AGENT) if robots else None
        try:
            crawl_delay = min(float(asked or 0), MAX_CRAWL_DELAY)
        except ValueError:
            crawl_delay = 0.0
        return max(self.delay, crawl_delay)

    def _read(self, response: httpx.Response, *, truncate: bool = False) -> bytes:
        """The body, decoded, at most `max_bytes` of it; called inside `_get`, so a
        body that trickles ends at the request's deadline."""
        declared = response.headers.get("content-length", "")
        if not truncate and declared.isdigit() and int(declared) > self.max_bytes:
            raise Skipped(f"larger than {self.max_bytes:,} bytes ({int(declared):,})")
        if response.is_stream_consumed:  # a transport that hands the body over whole
            content = response.content     # (httpx.MockTransport in tests): no stream
            if len(content) > self.max_bytes and not truncate:
                raise Skipped(f"larger than {self.max_bytes:,} bytes: stopped reading")
            return content[:self.max_bytes]
        try:
            return http.read_capped(response, self.max_bytes, truncate=truncate)
        except http.BodyTooLarge as exc:
            raise Skipped(f"larger than {exc.limit:,} bytes: stopped reading") from exc


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
