"""`novahunt demo`: the whole flow against a local sandbox, no key and no network."""

from __future__ import annotations

import os
import shutil

import typer

from novahunt.cli.common import out, state
from novahunt.cli.follow import follow_jobs


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)


def demo(
    page_size: int = typer.Option(25, "--page-size", min=1, max=100,
                                  help="Emails per Domain Search page (smaller = more pages)."),
    free_plan: bool = typer.Option(False, "--free-plan",
                                   help="Play Hunter's free plan: 10 emails per domain."),
) -> None:
    """Run a collection end to end against a made-up Hunter API on 127.0.0.1.

    Starts the sandbox, points novahunt at it with its own home folder (nothing touches
    your real state), collects its demo domains with live progress and an embedded
    worker, and prints what was found. With --free-plan the sandbox answers as Hunter does
    a free key (a search reads at most 10 emails). Example: novahunt demo --free-plan
    """
    from rich.table import Table

    from novahunt import paths
    from novahunt.queue import dispatch
    from novahunt.runners import collect as collect_runner
    from novahunt.sandbox import demo_sandbox
    from novahunt.state import contacts

    home = paths.home() / "demo"
    shutil.rmtree(home, ignore_errors=True)
    with demo_sandbox(free_plan=free_plan) as sandbox:
        sandbox.latency = 0.1  # a network-like round trip, so the bars can be watched
        os.environ.update({
            "NOVAHUNT_HOME": str(home),
            "NOVAHUNT_HUNTER_URL": sandbox.url,
            "HUNTER_API_KEY": sandbox.api_key,
            "HUNTER_PAGE_SIZE": str(page_size),
        })
        # the demo's made-up contacts never reach a team's shared database or queue
        for shared in ("NOVAHUNT_DATABASE_URL", "NOVAHUNT_QUEUE_URL"):
            os.environ.pop(shared, None)
        out.print(f"[bold]novahunt demo[/]: a made-up Hunter API at {sandbox.url}, "
                  f"state in {home}")
        db, settings = state()
        domains = sandbox.domains()
        specs = collect_runner.plan(db, settings, domains, max_results=settings.max_collect,
                                    tags=["demo"])
        created = dispatch.submit(db, specs)
        code = follow_jobs(db, settings, [job.id for job, _ in created])
        for domain in domains:
            rows = list(contacts.iter_contacts(db, domain))
            facts = contacts.domain_facts(db, domain) or {}
            out.print(f"\n[bold]{domain}[/] ({facts.get('organization') or 'unknown'}, "
                      f"pattern {facts.get('pattern') or '-'}): {len(rows)} emails")
            if rows:
                table = Table(box=None, header_style="bold")
                for col in ("EMAIL", "NAME", "POSITION", "CONF."):
                    table.add_column(col)
                for row in rows[:5]:
                    name = " ".join(x for x in (row["first_name"], row["last_name"]) if x)
                    table.add_row(row["email"], name, row["position"] or "",
                                  str(row["confidence"] or ""))
                out.print(table)
        calls = sandbox.count()
        out.print(f"\n{calls} Domain Search requests, {sandbox.searches_used:g} search "
                  "credits (made up). Look around with:")
        out.print(f"  NOVAHUNT_HOME={home} novahunt jobs list")
        out.print(f"  NOVAHUNT_HOME={home} novahunt results {domains[1]} --format csv")
    if code:
        raise typer.Exit(code)
