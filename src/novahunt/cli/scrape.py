"""`novahunt scrape`: find the addresses a domain publishes on its own web pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import FOLLOW, JSON, PRIORITY, TAG, err, out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import plain
from novahunt.cli.webhooks import WEBHOOK

if TYPE_CHECKING:
    from novahunt.state.jobs import Job


def register(app: typer.Typer) -> None:
    app.command("scrape")(scrape)


def scrape(
    domain: str = typer.Argument(..., help="The company's domain or a URL on it, "
                                 "e.g. stripe.com."),
    max_pages: int = typer.Option(20, "--max-pages", min=1,
                                  help="Request at most this many pages."),
    any_domain: bool = typer.Option(False, "--any-domain", help="Keep addresses on other "
                                    "domains too (by default only DOMAIN and its "
                                    "subdomains)."),
    priority: int = PRIORITY,
    tag: list[str] = TAG,
    follow: bool = FOLLOW,
    json_: bool = JSON,
    webhook: str = WEBHOOK,
) -> None:
    """Find the email addresses DOMAIN publishes on its own web pages, as a background
    job (no API key needed).

    Reads the home page, the usual contact, about, team and imprint pages and the links
    they lead to, staying on DOMAIN and its subdomains, obeying robots.txt and pausing
    between requests. The addresses land in `novahunt results DOMAIN`.

    Example: novahunt scrape stripe.com --max-pages 30 --follow
    """
    from novahunt.inputs.domains import normalise_domain
    from novahunt.queue import dispatch
    from novahunt.runners import scrape as scrape_runner
    from novahunt.state import jobs

    site = normalise_domain(domain)
    db, settings = state()
    spec = scrape_runner.plan(settings, site, max_pages=max_pages, any_domain=any_domain,
                              priority=priority, tags=tag or [], webhook=webhook)
    [(job, created)] = dispatch.submit(db, [spec])
    if json_:
        print_json([{"id": job.id, "domain": site, "status": str(job.status)}])
    elif created:
        out.print(f"#{job.id} {site}: {job.status}")
    else:
        out.print(f"#{job.id} {site}: already {job.status} (not queued twice)")
    if follow and not job.finished:
        # with --json, stdout is for the JSON: progress goes to stderr
        code = follow_jobs(db, settings, [job.id], err if json_ else out)
        if not json_:
            _report(jobs.get(db, job.id))
        if code:
            raise typer.Exit(code)


def _report(job: Job) -> None:
    from novahunt.runners import scrape as scrape_runner

    result = scrape_runner.KIND.result(job)
    if result is None:
        return
    out.print(plain(f"#{job.id} {result['domain']}: {scrape_runner.summary(result)}"))
    for email, page in result["found_on"].items():  # a web site's own text: plain
        out.print(f"  {plain(email)}  [dim]{plain(page)}[/]")
