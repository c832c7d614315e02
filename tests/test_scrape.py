"""The scrape runner against a real website on 127.0.0.1, one job at a time."""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from helpers import Cli, drain
from novahunt import __version__, config
from novahunt.cli import main
from novahunt.cli import scrape as scrape_cli
from novahunt.errors import BadInput, TransientError
from novahunt.providers import web
from novahunt.providers.extract import extract
from novahunt.queue import dispatch
from novahunt.runners import scrape
from novahunt.runners.context import JobContext
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Status
from novahunt.worker.runtime import WorkerRuntime
from website import DOMAIN, Website

DELAY = 0.01
TIMEOUT = 1.0

# what the site publishes on its own domain, and where
EXPECTED = {
    "hello@example-site.test": "/",
    "hr@example-site.test": "/people",
    "sales@example-site.test": "/contact",
    "press@example-site.test": "/contact",
    "info@example-site.test": "/contact",
    "jobs@example-site.test": "/about",
    "ada.lovelace@example-site.test": "/team",
    "grace@eu.example-site.test": "/team",
}


@pytest.fixture()
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Website]:
    with Website() as website:
        monkeypatch.setenv(scrape.BASE_URL_ENV, website.url)
        monkeypatch.setenv(scrape.DELAY_ENV, str(DELAY))
        monkeypatch.setenv(scrape.TIMEOUT_ENV, str(TIMEOUT))
        yield website


def submit(state: Database, **kw: object) -> Job:
    spec = scrape.plan(config.load(), DOMAIN, **kw)  # type: ignore[arg-type]
    [(job, _)] = dispatch.submit(state, [spec])
    return job


def emails_in_db(state: Database) -> dict[str, str]:
    rows = state.query("SELECT email, sources, source, job_id FROM contacts"
                       " WHERE domain = ? ORDER BY email", (DOMAIN,))
    assert {r["source"] for r in rows} <= {"scrape"}
    return {r["email"]: json.loads(r["sources"])[0]["uri"] for r in rows}


def skipped(job: Job) -> dict[str, str]:
    """page path -> why it was skipped, from the job's events."""
    found = {}
    for event in job.events:
        if event.kind == "skipped":
            url, _, reason = event.message.partition(": ")
            found[urlsplit(url).path] = reason
    return found


@pytest.fixture()
def scrape_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """`novahunt scrape` in the app for this test only (until main.py registers it)."""
    monkeypatch.setattr(main.app, "registered_commands", list(main.app.registered_commands))
    if "scrape" not in {c.name for c in main.app.registered_commands}:
        scrape_cli.register(main.app)


def test_finds_the_published_addresses_and_skips_what_it_must(
        site: Website, state: Database, inline_worker: WorkerRuntime) -> None:
    job = submit(state)
    started = time.monotonic()
    assert drain(inline_worker) == 1
    # the page that never ends was cut off, not waited for
    assert time.monotonic() - started < 10

    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED, done.error
    assert emails_in_db(state) == {e: site.url + p for e, p in EXPECTED.items()}
    assert done.result is not None
    assert done.result["emails"] == sorted(EXPECTED)
    assert done.result["found_on"] == {e: site.url + p for e, p in sorted(EXPECTED.items())}
    assert (done.result["pages_fetched"], done.result["pages_skipped"]) == (10, 11)
    assert done.result["emails_found"] == len(EXPECTED)

    reasons = skipped(done)
    assert reasons["/private/"] == "disallowed by robots.txt"
    assert reasons["/away"] == "redirects off-site to https://elsewhere.test/landing"
    assert reasons["/brochure"] == "not HTML (application/pdf)"
    assert reasons["/broken"] == "HTTP 500"
    assert reasons["/contact-us"] == "HTTP 404"
    assert "larger than 2,000,000 bytes" in reasons["/huge"]
    assert "still loading after 1s" in reasons["/endless"]

    paths = site.paths()
    assert not any(p.startswith("/private") for p in paths)     # robots.txt obeyed
    assert [r.path for r in site.requests].count("/robots.txt") == 1
    assert "/logo.png" not in paths                              # not a page
    # the page budget: 20 pages (the in-site redirect and its target are one page)
    assert len(paths) - paths.count("/moved") == 20
    assert done.result["links_left"] > 0
    assert (done.progress_current, done.progress_total) == (20, 20)
    # favoured links and likely pages come before ordinary links
    assert paths[:4] == ["/", "/moved", "/people", "/contact"]
    assert paths.index("/team") < paths.index("/links") < paths.index("/p/0")
    # an honest User-Agent on every request
    assert {r.user_agent for r in site.requests} == {web.USER_AGENT}
    assert f"novahunt/{__version__} (+https://github.com/novahunt/novahunt)" == web.USER_AGENT


def test_any_domain_keeps_addresses_of_other_domains(
        site: Website, state: Database, inline_worker: WorkerRuntime, cli: Cli,
        scrape_command: None) -> None:
    code, out, _ = cli("scrape", f"https://www.{DOMAIN}/about", "--any-domain",
                       "--max-pages", "4", "--json")
    assert code == 0
    [shown] = json.loads(out)
    assert shown["domain"] == DOMAIN and shown["status"] == "queued"
    drain(inline_worker)
    done = jobs.get(state, shown["id"])
    assert done.result is not None
    assert "other@elsewhere.test" in done.result["emails"]
    assert emails_in_db(state)["other@elsewhere.test"] == site.url + "/contact"
    assert done.params == {"domain": DOMAIN, "max_pages": 4, "any_domain": True}


def test_max_pages_counts_requests(site: Website, state: Database,
                                   inline_worker: WorkerRuntime) -> None:
    job = submit(state, max_pages=3)
    drain(inline_worker)
    assert site.paths() == ["/", "/moved", "/people", "/contact"]
    done = jobs.get(state, job.id)
    assert done.result is not None and done.result["pages_fetched"] == 3


def test_requests_to_a_host_are_paced(site: Website, state: Database,
                                      inline_worker: WorkerRuntime,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(scrape.DELAY_ENV, "0.2")
    submit(state, max_pages=4)
    drain(inline_worker)
    times = [r.at for r in site.requests]
    assert len(times) == 6  # robots.txt and 4 pages, one of them redirected
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 0.2, gaps


def test_resume_after_a_crash_fetches_no_page_twice(
        site: Website, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    job = submit(state, max_pages=9)
    # a worker claims it, commits two pages, and dies while the third is in flight
    settings = dataclasses.replace(config.load(), lease=0.01)
    claimed = jobs.claim(state, job.id, "dead-worker", settings.lease)
    assert claimed is not None
    ctx = JobContext(state, settings, claimed, "dead-worker", threading.Event())

    class Crash(Exception):
        pass

    commit = ctx.commit
    commits = []

    def dying(checkpoint: dict[str, object], progress: tuple[int, int | None, str,
                                                             str | None]) -> None:
        commits.append(checkpoint)
        if len(commits) == 3:
            raise Crash()
        commit(checkpoint, progress)

    monkeypatch.setattr(ctx, "commit", dying)
    with pytest.raises(Crash):
        scrape.run(ctx)
    assert site.paths() == ["/", "/moved", "/people", "/contact"]
    assert jobs.get(state, job.id).checkpoint["requests"] == 2  # type: ignore[index]

    time.sleep(0.05)
    inline_worker.take_back_orphans()  # lease expired: back to the queue
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED and done.attempts == 2
    twice = {path for path, n in Counter(site.paths()).items() if n > 1}
    assert twice == {"/contact"}  # the page in flight, and only it
    assert len(site.paths()) == 10 + 1  # nine pages, one redirected, one again
    assert set(emails_in_db(state)) == {e for e, p in EXPECTED.items()
                                        if p in ("/", "/people", "/contact", "/about",
                                                 "/team")}


def test_cancel_stops_within_one_page(site: Website, state: Database,
                                      inline_worker: WorkerRuntime) -> None:
    job = submit(state)

    def cancel_on_contact(path: str) -> None:
        if path == "/contact":
            jobs.request_cancel(state, [job.id])

    site.on_request = cancel_on_contact
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.CANCELED
    # the page in flight was finished and saved; nothing after it was requested
    assert site.paths() == ["/", "/moved", "/people", "/contact"]
    assert set(emails_in_db(state)) == {e for e, p in EXPECTED.items()
                                        if p in ("/", "/people", "/contact")}


def test_https_that_does_not_connect_falls_back_to_http(site: Website) -> None:
    port = site.url.rsplit(":", 1)[1]
    # a local site only as a base URL: the one explicit way past the public-address rule
    client = web.WebClient(web.Scope(DOMAIN, f"http://127.0.0.1:{port}"), delay=0)
    try:
        origin = client.open([f"https://127.0.0.1:{port}", f"http://127.0.0.1:{port}"])
        assert origin == f"http://127.0.0.1:{port}"
        page = client.fetch(f"{origin}/contact")
    finally:
        client.close()
    assert "sales@example-site.test" in extract(page).emails


def test_a_site_that_cannot_be_reached_is_retried(
        state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    with Website() as gone:
        url = gone.url
    monkeypatch.setenv(scrape.BASE_URL_ENV, url)
    job = submit(state)
    drain(inline_worker)
    waiting = jobs.get(state, job.id)
    assert waiting.status is Status.RETRYING
    assert "cannot connect" in (waiting.error or "")


def test_extraction_of_obfuscated_and_hidden_addresses() -> None:
    protected = "1a" + bytes(b ^ 0x1A for b in b"g@example-site.test").hex()
    html = f"""<html><head><base href="https://example-site.test/en/">
    <script type="application/ld+json">{{"email": "ld@example-site.test"}}</script>
    <script>var x = "js@example-site.test";</script><style>@media x {{}}</style></head>
    <body><p>a (at) example-site (dot) test, b [at] example-site.test,
    c at example-site dot test, d [AT] example-site [DOT] test.</p>
    <p>icon@3x.webp <a href="mailto:%20E@Example-Site.test,f@example-site.test?cc=x">mail</a>
    <a href="/cdn-cgi/l/email-protection#{protected}">[email protected]</a></p>
    <div>first</div><div>h@example-site.test</div>
    <a href="kontakt">Kontakt</a> <a href="news.html">News</a> <a href="file.pdf">PDF</a>
    <a href="javascript:void(0)">js</a> <a href="https://other.test/#x">out</a></body></html>"""
    found = extract(web.Page("https://example-site.test/", html.encode(), "utf-8"))
    # links and Cloudflare first, then the text in the order it is written
    assert found.emails == [
        "e@example-site.test", "f@example-site.test", "g@example-site.test",
        "a@example-site.test", "b@example-site.test", "d@example-site.test",
        "h@example-site.test", "ld@example-site.test"]
    assert [(link.url, link.hot) for link in found.links] == [
        ("https://example-site.test/en/kontakt", True),
        ("https://example-site.test/en/news.html", False),
        ("https://other.test/", False)]


def test_plan_refuses_a_budget_out_of_range() -> None:
    with pytest.raises(BadInput):
        scrape.plan(config.load(), DOMAIN, max_pages=101)
    spec = scrape.plan(config.load(), DOMAIN, max_pages=5, tags=["x"])
    assert spec.type == "scrape" and spec.dedupe_key == f"scrape:{DOMAIN}"


def test_robots_txt_that_fails_makes_the_site_wait_and_a_missing_one_allows_all() -> None:
    robots_status = 503

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(robots_status)
        return httpx.Response(200, html="<p>x@example-site.test</p>")

    scope = web.Scope(DOMAIN)
    with pytest.raises(TransientError, match=r"robots\.txt answered HTTP 503"):
        web.WebClient(scope, delay=0, transport=httpx.MockTransport(answer)).open(
            scope.origins())
    robots_status = 404
    client = web.WebClient(scope, delay=0, transport=httpx.MockTransport(answer))
    assert client.open(scope.origins()) == f"https://{DOMAIN}"
    page = client.fetch(f"https://{DOMAIN}/anything")
    assert extract(page).emails == ["x@example-site.test"]


def test_follow_runs_the_job_and_lists_what_it_found(
        site: Website, state: Database, cli: Cli, scrape_command: None) -> None:
    # no inline worker: --follow runs an embedded one while it follows
    code, out, _ = cli("scrape", DOMAIN, "--max-pages", "3", "--follow")
    assert code == 0, out
    assert "5 emails on 3 pages (0 skipped)" in out
    assert f"sales@example-site.test  {site.url}/contact" in out


def test_the_website_stops_the_page_that_never_ends() -> None:
    website = Website()
    website.start()
    with httpx.stream("GET", f"{website.url}/endless", timeout=5) as response:
        assert next(response.iter_bytes())
        started = time.monotonic()
        website.stop()  # joins every handler thread
    assert time.monotonic() - started < 2


def test_a_crawl_delay_in_robots_txt_spaces_requests_further() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(200, text="User-agent: *\nCrawl-delay: 3\n")
        return httpx.Response(200, html="<p>hi</p>")

    waits: list[float] = []
    scope = web.Scope(DOMAIN)
    client = web.WebClient(scope, delay=0.5, pause=waits.append,
                           transport=httpx.MockTransport(answer))
    origin = client.open(scope.origins())
    client.fetch(f"{origin}/a")
    client.fetch(f"{origin}/b")
    assert len(waits) == 2 and all(2.9 < w <= 3 for w in waits)
