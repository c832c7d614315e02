"""`novahunt collect`: queue Domain Search collections, one job per domain."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import FOLLOW, PRIORITY, TAG, err, out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.webhooks import WEBHOOK
from novahunt.errors import BadInput, NovahuntError

if TYPE_CHECKING:
    from novahunt.config import Settings
    from novahunt.db import Database
    from novahunt.jobs import Job, NewJob


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)


def collect(
    domains: list[str] = typer.Argument(None, help="Domains or URLs, e.g. stripe.com."),
    file: Path = typer.Option(None, "--file", "-f", help="A file with one domain a line "
                              "(blank lines and # comments skipped)."),
    priority: int = PRIORITY,
    delay: str = typer.Option(None, "--delay", help="Start later, e.g. 10m, 2h."),
    at: str = typer.Option(None, "--at", help="Start at a time, e.g. 2026-12-01T09:00 "
                           "(local time unless it has an offset)."),
    max_results: int = typer.Option(None, "--max-results", min=1,
                                    help="Stop after this many emails "
                                    "[default: HUNTER_MAX_COLLECT or 5000]."),
    type_: str = typer.Option(None, "--type", help="Only personal or generic emails."),
    seniority: str = typer.Option(None, "--seniority",
                                  help="junior, senior, executive (comma-separated)."),
    department: str = typer.Option(None, "--department",
                                   help="e.g. sales,marketing (comma-separated)."),
    tag: list[str] = TAG,
    refresh: bool = typer.Option(False, "--refresh",
                                 help="Ask Hunter again even if state.db has a fresh copy."),
    follow: bool = FOLLOW,
    json_: bool = typer.Option(False, "--json", help="Print the jobs as JSON."),
    verify: bool = typer.Option(False, "--verify", help="Then verify the emails found "
                                "(a verify job, through the verification cache)."),
    yes: bool = typer.Option(False, "--yes", "-y",
                             help="Do not ask when the account may lack credits."),
    webhook: str = WEBHOOK,
) -> None:
    """Collect every email Hunter has for DOMAINS, as background jobs.

    Example: novahunt collect stripe.com --follow
    """
    from novahunt import dispatch
    from novahunt.domains import normalise_domain, read_domain_file
    from novahunt.runners import collect as collect_runner
    from novahunt.timeparse import parse_duration, parse_when

    targets = [(None, d) for d in domains or []]
    pairs: list[tuple[int | None, str]] = []
    for lineno, raw in targets:
        pairs.append((lineno, normalise_domain(raw)))
    if file is not None:
        pairs += list(read_domain_file(file))
    if not pairs:
        raise BadInput("give at least one domain, or --file FILE")
    if type_ is not None and type_ not in ("personal", "generic"):
        raise BadInput(f"--type must be personal or generic, not {type_!r}")
    if delay and at:
        raise BadInput("use --delay or --at, not both")
    run_at = None
    if delay:
        run_at = time.time() + parse_duration(delay).total_seconds()
    elif at:
        run_at = parse_when(at).timestamp()

    db, settings = state()
    specs = collect_runner.plan(
        db, settings, list(dict.fromkeys(d for _, d in pairs)), priority=priority,
        run_at=run_at, max_results=max_results or settings.max_collect, type=type_,
        seniority=seniority, department=department, tags=tag or [], refresh=refresh,
        verify=verify, webhook=webhook)
    needing = [spec for spec in specs if spec.result is None]
    if file is not None and needing:
        _check_credits(db, settings, needing, yes)
    created = dispatch.submit(db, specs)

    if json_:
        print_json([{"id": j.id, "type": j.type,
                     "domain": j.params.get("domain") or j.params["source"].split(":", 1)[-1],
                     "status": str(j.status), "created": new} for j, new in created])
    else:
        _report(created)
    if follow:
        # with --json, stdout is for the JSON: progress goes to stderr
        code = follow_jobs(db, settings, [j.id for j, _ in created], err if json_ else out)
        if code:
            raise typer.Exit(code)


def _report(created: list[tuple[Job, bool]]) -> None:
    lines = []
    counts: dict[str, int] = {}
    for job, new in created:
        if job.type != "collect":
            lines.append(f"#{job.id} verify {job.params['emails']} emails of "
                         f"{job.params['source'].split(':', 1)[-1]}: {job.status}")
            continue
        domain = job.params["domain"]
        if not new:
            key = "already queued or running"
            lines.append(f"#{job.id} {domain}: already {job.status} (not queued twice)")
        elif job.result and job.result.get("cached"):
            key = "served from state.db"
            lines.append(f"#{job.id} {domain}: completed from state.db, "
                         f"{job.result['emails_collected']} emails, no API call "
                         "(--refresh to ask Hunter again)")
        else:
            key = str(job.status)
            lines.append(f"#{job.id} {domain}: {job.status}")
        counts[key] = counts.get(key, 0) + 1
    if len(lines) <= 20:
        for line in lines:
            out.print(line)
    else:
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        out.print(f"{len(lines)} jobs: {summary}")


def _check_credits(db: Database, settings: Settings, needing: list[NewJob], yes: bool) -> None:
    """Before bulk work: say so (and ask) when the account cannot pay for it."""
    from novahunt import account

    try:
        info = account.fetch(db, settings)
    except NovahuntError as exc:
        err.print(f"[yellow]could not check your credits: {exc}[/]")
        return
    left = info.searches_left
    low = len(needing)  # a domain with any email costs at least one search credit
    high = sum(-(-spec.params["max_results"] // 10) for spec in needing)
    if left is None or left >= low:
        if left is not None and left < high:
            err.print(f"[yellow]{left} search credits left; big domains may need up to "
                      f"{high}: jobs wait for credits if they run out[/]")
        return
    message = (f"{len(needing)} domains need at least {low} search credits (up to {high}); "
               f"your Hunter account has {left} left")
    if yes:
        err.print(f"[yellow]{message}: queueing anyway (--yes)[/]")
    elif sys.stdin.isatty():
        if not typer.confirm(f"{message}. Queue them anyway?", default=False, err=True):
            err.print("nothing queued")
            raise typer.Exit(1)
    else:
        err.print(f"[yellow]warning: {message}; queueing anyway (not a terminal; "
                  "--yes silences this)[/]")
