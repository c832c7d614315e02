"""Scrape a domain's own web pages for the addresses it publishes, one page per step.

The crawl starts at the home page (over HTTPS, or HTTP when HTTPS does not connect)
and the pages where companies usually publish addresses (`LIKELY_PATHS`), then follows
the links it finds: links that mention contact, about, team, imprint, legal or people
first, the rest after. It stays on the domain and its subdomains, obeys robots.txt and
spaces its requests to each host; see `providers/web.py` for how a page is read.

Checkpoint: `{"origin", "queue", "hot", "seen", "requests", "pages", "skipped",
"emails", "found"}`: the URLs still to visit (the first `hot` of them are the favoured
links), every URL ever queued, the pages requested (the budget `max_pages` counts
these), read and skipped, and each address found with the page it was first found on.
A page's addresses, its skip event and the new checkpoint are committed in one
transaction, so a killed worker resumes with the next page: only the page in flight is
fetched again. robots.txt is read again by each run (it is no page and may change).

Environment, for tests and proxies:

- `NOVAHUNT_SCRAPE_BASE_URL` (e.g. `http://127.0.0.1:8000`) replaces `https://DOMAIN`
  and `http://DOMAIN` as the origin, and then that origin alone is the site;
  addresses are still matched against DOMAIN. It is the one way to scrape a site on a
  private or local address: without it only public addresses are reached;
- `NOVAHUNT_SCRAPE_DELAY`: seconds between requests to one host (default 0.5);
- `NOVAHUNT_SCRAPE_TIMEOUT`: seconds for one request, from the lookup to the body's
  last byte (default 10).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlsplit

from novahunt.config import Settings
from novahunt.errors import BadInput, ConfigError, TransientError
from novahunt.inputs.domains import email_on_domain
from novahunt.providers.records import Contact
from novahunt.runners.context import HandBack, JobContext
from novahunt.runners.kind import JobKind, webhook_param
from novahunt.state.contacts import save_contacts  # `contacts` is a local here
from novahunt.state.jobs import NewJob, Progress

if TYPE_CHECKING:  # httpx and the HTML parser load with the first scrape job, not before
    from novahunt.providers import web

TYPE = "scrape"
SOURCE = "scrape"
STAGE = "scraping"
MAX_PAGES = 100
LIKELY_PATHS = ("/contact", "/contact-us", "/about", "/about-us", "/team", "/imprint",
                "/impressum", "/legal")
# links beyond this many waiting are dropped: a budget of 100 pages never reaches them
MAX_QUEUE = 500

BASE_URL_ENV = "NOVAHUNT_SCRAPE_BASE_URL"
DELAY_ENV = "NOVAHUNT_SCRAPE_DELAY"
TIMEOUT_ENV = "NOVAHUNT_SCRAPE_TIMEOUT"


class Result(TypedDict):
    """A scrape job's result: the addresses the site publishes, and where."""

    domain: str
    pages_fetched: int
    pages_skipped: int
    pages_requested: int
    links_left: int          # queued links the page budget did not reach
    emails_found: int
    emails: list[str]
    found_on: dict[str, str]  # email -> the first page it was found on


def plan(settings: Settings, domain: str, *, max_pages: int = 20, any_domain: bool = False,
         priority: int = 3, tags: list[str] | None = None,
         webhook: str | None = None) -> NewJob:
    """One scrape job; no API key is needed."""
    if not 1 <= max_pages <= MAX_PAGES:
        raise BadInput(f"--max-pages must be between 1 and {MAX_PAGES}, not {max_pages}")
    params: dict[str, Any] = {"domain": domain, "max_pages": max_pages,
                              "any_domain": any_domain}
    params.update(webhook_param(settings, webhook))
    return NewJob(type=TYPE, params=params, priority=priority, tags=tags or [],
                  dedupe_key=f"{TYPE}:{domain}", max_attempts=settings.max_attempts)


@dataclass
class Crawl:
    """Where a scrape stands; `checkpoint()` is what a step commits."""

    origin: str
    queue: list[str]
    hot: int = 0
    seen: set[str] = field(default_factory=set)
    requests: int = 0
    pages: int = 0
    skipped: int = 0
    found: dict[str, str] = field(default_factory=dict)   # email -> first page

    @classmethod
    def start(cls, origin: str) -> Crawl:
        queue = [f"{origin}/"] + [origin + path for path in LIKELY_PATHS]
        return cls(origin, queue, seen=set(queue))

    @classmethod
    def resume(cls, cp: dict[str, Any]) -> Crawl:
        return cls(cp["origin"], list(cp["queue"]), cp["hot"], set(cp["seen"]),
                   cp["requests"], cp["pages"], cp["skipped"], dict(cp["found"]))

    def checkpoint(self) -> dict[str, Any]:
        return {"origin": self.origin, "queue": self.queue, "hot": self.hot,
                "seen": sorted(self.seen), "requests": self.requests, "pages": self.pages,
                "skipped": self.skipped, "emails": len(self.found), "found": self.found}

    def pop(self) -> str:
        self.hot = max(0, self.hot - 1)
        return self.queue.pop(0)

    def visited(self, url: str) -> bool:
        return url in self.seen and url not in self.queue

    def arrived(self, url: str) -> None:
        """A redirect ended on `url`: it is visited now, queued or not."""
        self.seen.add(url)
        if url in self.queue:
            index = self.queue.index(url)
            self.queue.pop(index)
            if index < self.hot:
                self.hot -= 1

    def add(self, links: list[web.Link]) -> None:
        for link in links:
            if link.url in self.seen:
                continue
            if link.hot:   # ahead of the guesses and of every ordinary link
                self.queue.insert(self.hot, link.url)
                self.hot += 1
            elif len(self.queue) < MAX_QUEUE:
                self.queue.append(link.url)
            else:
                continue
            self.seen.add(link.url)
        while len(self.queue) > MAX_QUEUE:
            self.seen.discard(self.queue.pop())

    def progress(self, total: int, stage: str = STAGE) -> Progress:
        return Progress(self.requests, total, stage,
                        f"{self.pages} pages, {len(self.found)} emails")


def run(ctx: JobContext) -> Result:
    from novahunt.providers import web

    params = ctx.job.params
    domain: str = params["domain"]
    scope = web.Scope(domain, _base_url())

    def pause(seconds: float) -> None:
        if seconds > 1.0:   # a long Crawl-delay: show it, and stay cancelable
            ctx.sleep(seconds, "waiting", f"crawl delay: next page in {seconds:.0f}s")
        elif ctx.stop.wait(seconds):
            raise HandBack()

    client = web.WebClient(scope, delay=_seconds(DELAY_ENV, web.DELAY, minimum=0.0),
                           timeout=_seconds(TIMEOUT_ENV, web.TIMEOUT, minimum=0.001),
                           pause=pause, interrupt=ctx.check)  # a slow page: cancel, stop
    try:
        return _scrape(ctx, client, domain, params["max_pages"], params["any_domain"])
    finally:
        client.close()


def _scrape(ctx: JobContext, client: web.WebClient, domain: str, max_pages: int,
            any_domain: bool) -> Result:
    from novahunt.providers import web
    from novahunt.providers.extract import extract

    if ctx.job.checkpoint:
        crawl = Crawl.resume(ctx.job.checkpoint)
        client.open([crawl.origin])
    else:
        crawl = Crawl.start(client.open(client.scope.origins()))
    origin_host = urlsplit(crawl.origin).netloc
    ctx.show(crawl.progress(max_pages), force=True)

    while crawl.queue and crawl.requests < max_pages:
        ctx.check()
        url = crawl.pop()
        contacts: list[Contact] = []
        skipped: str | None = None
        try:
            page = client.fetch(url, visited=crawl.visited)
            found = extract(page)
        except web.Skipped as exc:
            if isinstance(exc, web.Unreachable) and urlsplit(url).netloc == origin_host:
                # the site itself is down (or our network is): not this page's fault
                raise TransientError(f"{url}: {exc.reason}") from exc
            skipped = exc.reason
            crawl.requests += int(exc.requested)
            crawl.skipped += 1
        else:
            crawl.requests += 1
            crawl.pages += 1
            crawl.arrived(page.url)
            crawl.add([link for link in found.links if client.scope.contains(link.url)])
            host = urlsplit(page.url).hostname or ""
            today = dt.datetime.now(dt.UTC).date().isoformat()
            for email in found.emails:
                if email in crawl.found or not (any_domain or email_on_domain(email, domain)):
                    continue
                crawl.found[email] = page.url
                contacts.append(Contact(email=email, sources=[
                    {"uri": page.url, "domain": host, "extracted_on": today}]))
        with ctx.db.atomic():
            if skipped is not None:
                ctx.event("skipped", f"{url}: {skipped}")
            if contacts:
                save_contacts(ctx.db, domain, contacts, source=SOURCE, job_id=ctx.job.id)
            ctx.commit(crawl.checkpoint(), crawl.progress(max_pages))

    with ctx.db.atomic():
        # a site smaller than the budget is done when its links are
        ctx.commit(crawl.checkpoint(), crawl.progress(
            max_pages if crawl.queue else max(1, crawl.requests), "done"))
    return {
        "domain": domain,
        "pages_fetched": crawl.pages,
        "pages_skipped": crawl.skipped,
        "pages_requested": crawl.requests,
        "links_left": len(crawl.queue),
        "emails_found": len(crawl.found),
        "emails": sorted(crawl.found),
        "found_on": dict(sorted(crawl.found.items())),
    }


def _base_url() -> str | None:
    value = os.environ.get(BASE_URL_ENV, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in (
            "", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{BASE_URL_ENV} must be an origin like http://127.0.0.1:8000, "
                          f"not {value!r}")
    return f"{parts.scheme}://{parts.netloc}"


def _seconds(name: str, default: float, *, minimum: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not minimum <= seconds < float("inf"):
        raise ConfigError(f"{name} must be a number of seconds (at least {minimum:g}), "
                          f"not {value!r}")
    return seconds


# -- what the rest asks about a scrape job -----------------------------------------------


def summary(result: Result) -> str:
    return (f"{result['emails_found']} emails on {result['pages_fetched']} pages "
            f"({result['pages_skipped']} skipped)")


def describe(result: Result) -> str:
    return f"completed: {result['emails_found']} emails on {result['pages_fetched']} pages"


KIND = JobKind(TYPE, run, summary, describe)
