"""`novahunt collect`: queue Domain Search collections, one job per domain."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import (
    FOLLOW,
    PRIORITY,
    TAG,
    err,
    out,
    print_json,
    progress_console,
    state,
)
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import clean, plain
from novahunt.cli.webhooks import WEBHOOK
from novahunt.errors import BadInput, ProviderError

if TYPE_CHECKING:
    from novahunt.config import Settings
    from novahunt.providers.records import Account
    from novahunt.runners.estimate import Estimate
    from novahunt.state.db import Database
    from novahunt.state.jobs import Job, NewJob


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
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Print what each domain would cost (Hunter's Email "
                                 "Count, free) and queue nothing."),
    webhook: str = WEBHOOK,
) -> None:
    """Collect every email Hunter has for DOMAINS, as background jobs.

    Before queueing several domains, novahunt asks Hunter's Email Count (free) what each
    would cost, compares the total with your credits left, and completes at once the
    domains Hunter has no emails for.

    Example: novahunt collect stripe.com --follow
    Example: novahunt collect --file domains.txt --dry-run
    """
    from novahunt.inputs.domains import normalise_domain, read_domain_file
    from novahunt.inputs.hunter_filters import check_filters
    from novahunt.inputs.timeparse import parse_duration, parse_when
    from novahunt.queue import dispatch
    from novahunt.runners import collect as collect_runner

    targets = [(None, d) for d in domains or []]
    pairs: list[tuple[int | None, str]] = []
    for lineno, raw in targets:
        pairs.append((lineno, normalise_domain(raw)))
    if file is not None:
        pairs += list(read_domain_file(file))
    if not pairs:
        raise BadInput("give at least one domain, or --file FILE")
    # a value Hunter would refuse with a 400 fails here, before anything is queued
    kind, seniorities, departments = check_filters(type_, seniority, department)
    if delay and at:
        raise BadInput("use --delay or --at, not both")
    run_at = None
    if delay:
        run_at = time.time() + parse_duration(delay).total_seconds()
    elif at:
        run_at = parse_when(at).timestamp()

    db, settings = state()
    unique = list(dict.fromkeys(d for _, d in pairs))
    planned = partial(
        collect_runner.plan, db, settings, unique, priority=priority,
        run_at=run_at, max_results=max_results or settings.max_collect, type=kind,
        seniority=seniorities, department=departments, tags=tag or [], refresh=refresh,
        verify=verify, webhook=webhook)
    specs = planned()
    if dry_run:
        _dry_run(db, settings, specs, json_)
        return
    needing = [spec for spec in specs if spec.result is None]
    if needing and (file is not None or len(unique) > 1):
        counts = _check_credits(db, settings, needing, yes)
        if counts:  # the domains Hunter has no emails for complete at once
            specs = planned(counts=counts)
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
    """One line per job (a summary past 20): the collections, and the verify jobs that
    follow the collections served from state.db."""
    from novahunt.runners import collect as collect_runner

    lines = []
    counts: dict[str, int] = {}
    for job, new in created:
        if not collect_runner.KIND.owns(job):
            lines.append(f"#{job.id} verify {job.params['emails']} emails of "
                         f"{job.params['source'].split(':', 1)[-1]}: {job.status}")
            continue
        domain = job.params["domain"]
        result = collect_runner.KIND.result(job)
        how = collect_runner.served(result)
        if not new:
            key = "already queued or running"
            lines.append(f"#{job.id} {domain}: already {job.status} (not queued twice)")
        elif result is not None and how == "state.db":
            key = "served from state.db"
            lines.append(f"#{job.id} {domain}: completed from state.db, "
                         f"{result['emails_collected']} emails, no API call "
                         "(--refresh to ask Hunter again)")
        elif result is not None and how == "email count":
            key = "with no emails at Hunter"
            lines.append(f"#{job.id} {domain}: completed, {plain(result['note'])} "
                         "(Email Count, free): no search paid")
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


def _account(db: Database, settings: Settings) -> Account | None:
    """The plan and its credits left (free to ask), or None with a warning."""
    from novahunt.ops import account

    try:
        return account.fetch(db, settings)
    except ProviderError as exc:  # Hunter's answer, not our own database
        err.print(f"[yellow]could not check your credits: {plain(exc)}[/]")
        return None


def _left(info: Account | None) -> tuple[float | None, str]:
    """Search credits left, and what they are called: a single-credit plan's one bucket
    (`credits.remaining`, never available - used), else the search quota."""
    if info is None:
        return None, "search credits"
    if info.credits_remaining is not None:
        return info.credits_remaining, "credits"
    return info.searches_left, "search credits"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _many(count: float, noun: str) -> str:
    """"1 domain", "3 domains", "1 search credit", "0.5 credits"."""
    return f"{_num(count)} {noun[:-1] if count == 1 else noun}"


@contextmanager
def _counting() -> Iterator[Callable[[int, int], None]]:
    """Progress of the email counts on stderr, once they have taken over a second (a
    long list at Hunter's 15/s, 500/min): a bar on a terminal, else a line every 5 s."""
    console = progress_console(err)
    started = last = time.monotonic()
    bar = None
    task = None

    def update(done: int, total: int) -> None:
        nonlocal bar, task, last
        now = time.monotonic()
        if now - started < 1.0:
            return
        if console.is_terminal:
            if bar is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

                bar = Progress(TextColumn("counting emails at Hunter (free)"), BarColumn(),
                               MofNCompleteColumn(), console=console, transient=True)
                task = bar.add_task("count", total=total)
                bar.start()
            if task is not None:
                bar.update(task, completed=done)
        elif now - last >= 5.0 or done == total:
            last = now
            console.print(f"counting emails at Hunter (free): {done}/{total} domains")

    try:
        yield update
    finally:
        if bar is not None:
            bar.stop()


def _estimate(db: Database, settings: Settings, specs: list[NewJob],
              info: Account | None) -> list[Estimate]:
    from novahunt.runners import estimate

    with _counting() as progress:
        return estimate.estimate(db, settings, specs, free=info is not None and info.is_free,
                                 on_progress=progress)


def _costs(estimates: list[Estimate], info: Account | None) -> str:
    """"3 domains need 17 search credits (Email Count, free)" with the caveats."""
    total = sum(e.credits for e in estimates)
    at_most = "at most " if any(e.at_most for e in estimates) else ""
    _, unit = _left(info)
    text = (f"{_many(len(estimates), 'domains')} need {at_most}{_many(total, unit)} "
            "(Email Count, free")
    if info is not None and info.is_free:
        text += "; free plan: at most 1 a domain"
    text += ")"
    empty = sum(1 for e in estimates if e.emails == 0)
    if empty:
        text += f"; {empty} with no emails at Hunter complete now"
    return text


# a list longer than this is counted only when the credits left might not cover it
# and the user did not say --yes
COUNT_AT_ONCE = 500


def _bound(settings: Settings, spec: NewJob, info: Account | None) -> int:
    """The most one collection can cost: every page up to --max-results."""
    from novahunt.runners import collect as collect_runner

    most = int(spec.params["max_results"])
    return collect_runner.collection_cost(most, most, settings.page_size,
                                          free=info is not None and info.is_free)


def _check_credits(db: Database, settings: Settings, needing: list[NewJob],
                   yes: bool) -> dict[str, int] | None:
    """Before bulk work: the exact cost from Email Count, and a question when the account
    cannot pay it. Returns the counts (emails per domain, for the filters), so `plan`
    completes the empty domains; None when Hunter could not be asked."""
    info = _account(db, settings)
    left, unit = _left(info)
    high = sum(_bound(settings, spec, info) for spec in needing)
    fits = left is not None and left >= high
    if len(needing) > COUNT_AT_ONCE and (fits or yes):
        # counting takes a minute per 500 domains (Hunter's 500/min): not worth the wait
        # when even every domain at --max-results fits the credits left, or when --yes
        # queues them whatever they cost
        message = f"{_many(len(needing), 'domains')} need at most {_many(high, unit)} " \
                  "(--max-results)"
        if left is not None:
            message += f"; your Hunter account has {_num(left)} left"
        if fits:
            err.print(message)
        else:
            _ask(message, yes)
        return None
    try:
        estimates = _estimate(db, settings, needing, info)
    except ProviderError as exc:  # Hunter's answer, not our own database
        err.print(f"[yellow]could not count the emails at Hunter: {plain(exc)}[/]")
        if info is not None:
            _check_bound(settings, info, needing, yes)
        return None
    counts = {e.domain: e.emails for e in estimates if e.emails is not None}
    for e in estimates:
        if e.refused:
            err.print(plain(f"{e.domain}: Hunter would not count it ({e.refused})"),
                      style="yellow")
    total = sum(e.credits for e in estimates)
    message = _costs(estimates, info)
    if left is not None:
        message += f"; your Hunter account has {_num(left)} left"
    if left is None or left >= total:
        err.print(message)
        return counts
    _ask(message, yes)
    return counts


def _check_bound(settings: Settings, info: Account, needing: list[NewJob],
                 yes: bool) -> None:
    """Without Email Count: what --max-results allows (a domain with any email costs at
    least one search credit)."""
    left, unit = _left(info)
    low = len(needing)
    high = sum(_bound(settings, spec, info) for spec in needing)
    if left is None or left >= low:
        if left is not None and left < high:
            err.print(f"[yellow]{_num(left)} {unit} left; big domains may need up to "
                      f"{high}: jobs wait for credits if they run out[/]")
        return
    _ask(f"{len(needing)} domains need at least {low} {unit} (up to {high}); "
         f"your Hunter account has {_num(left)} left", yes)


def _ask(message: str, yes: bool) -> None:
    """The account cannot pay: --yes goes on, a terminal is asked, a pipe is warned."""
    if yes:
        err.print(f"[yellow]{message}: queueing anyway (--yes)[/]")
    elif sys.stdin.isatty():
        if not typer.confirm(f"{message}. Queue them anyway?", default=False, err=True):
            err.print("nothing queued")
            raise typer.Exit(1)
    else:
        err.print(f"[yellow]warning: {message}; queueing anyway (not a terminal; "
                  "--yes silences this)[/]")


def _dry_run(db: Database, settings: Settings, specs: list[NewJob], as_json: bool) -> None:
    """`--dry-run`: each domain's cost and the total, against the credits left."""
    info = _account(db, settings)
    estimates = _estimate(db, settings, specs, info)
    left, unit = _left(info)
    total = sum(e.credits for e in estimates)
    at_most = any(e.at_most for e in estimates)
    if as_json:
        print_json({
            "domains": [{"domain": e.domain, "emails": e.emails, "credits": e.credits,
                         "at_most": e.at_most, "served_from_state_db": e.cached,
                         **({"not_counted": e.refused} if e.refused else {})}
                        for e in estimates],
            "credits": total, "at_most": at_most, "credits_left": left,
            "credit_unit": unit, "free_plan": info is not None and info.is_free,
            "queued": 0,
        })
        return
    for e in estimates:
        bound = "at most " if e.at_most else ""
        if e.cached:
            line = f"{e.domain}: served from state.db, 0 {unit}"
        elif e.refused:
            line = clean(f"{e.domain}: not counted ({e.refused}), "
                         f"at most {_many(e.credits, unit)}")
        elif e.emails == 0:
            line = (f"{e.domain}: {'no matching' if e.at_most else 'no'} emails at Hunter, "
                    f"0 {unit}")
        else:
            line = (f"{e.domain}: {bound}{_many(e.emails or 0, 'emails')} at Hunter, "
                    f"{bound}{_many(e.credits, unit)}")
        out.print(line, markup=False)
    line = (f"total: {_many(len(estimates), 'domains')}, {'at most ' if at_most else ''}"
            f"{_many(total, unit)}")
    if info is not None and info.is_free:
        line += " (free plan: at most 1 a domain)"
    if left is not None:
        line += f"; your Hunter account has {_num(left)} left"
        if left < total:
            line += f", {_num(total - left)} short"
    out.print(line, markup=False)
    out.print("nothing queued (--dry-run)")
