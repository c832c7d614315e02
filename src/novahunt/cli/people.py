"""`novahunt find` and `novahunt generate`: one person's address."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import FOLLOW, JSON, PRIORITY, TAG, err, out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import plain
from novahunt.cli.webhooks import WEBHOOK

if TYPE_CHECKING:
    from novahunt.state.jobs import Job, NewJob


def register(app: typer.Typer) -> None:
    app.command("find")(find)
    app.command("generate")(generate)


DOMAIN = typer.Option(..., "--domain", "-d", help="The company's domain, e.g. stripe.com.")
FIRST = typer.Option(None, "--first", help="First name, e.g. Patrick.")
LAST = typer.Option(None, "--last", help="Last name, e.g. Collison.")
FULL = typer.Option(None, "--name", help="Full name instead of --first/--last.")


def _submit(spec: NewJob, answer: Callable[[Job], str | None], follow: bool,
            json_: bool) -> None:
    """Queue the job and print its line; `answer` (the runner's) says what a finished
    job found."""
    from novahunt.queue import dispatch
    from novahunt.state import jobs

    db, settings = state()
    [(job, created)] = dispatch.submit(db, [spec])
    if json_:
        print_json([{"id": job.id, "target": job.params["target"], "status": str(job.status),
                     "created": created, "result": job.result}])
    else:
        out.print(plain(_line(job, created, answer)))
    if follow and not job.finished:
        code = follow_jobs(db, settings, [job.id], err if json_ else out)
        if not json_:
            out.print(plain(_line(jobs.get(db, job.id), True, answer)))
        if code:
            raise typer.Exit(code)


def _line(job: Job, created: bool, answer: Callable[[Job], str | None]) -> str:
    if not created:
        return f"#{job.id} {job.params['target']}: already {job.status}"
    found = answer(job) if job.finished else None
    return f"#{job.id} {job.params['target']}: {job.status if found is None else found}"


def find(
    domain: str = DOMAIN, first: str = FIRST, last: str = LAST, name: str = FULL,
    refresh: bool = typer.Option(False, "--refresh", help="Ask Hunter even if state.db "
                                 "has a fresh answer."),
    priority: int = PRIORITY, tag: list[str] = TAG, follow: bool = FOLLOW,
    json_: bool = JSON, webhook: str = WEBHOOK,
) -> None:
    """Find one person's email address with Hunter's Email Finder.

    Example: novahunt find --domain stripe.com --first Patrick --last Collison --follow
    """
    from novahunt.inputs import names
    from novahunt.inputs.domains import normalise_domain
    from novahunt.runners import find as find_runner

    site = normalise_domain(domain)
    f, l_ = names.person(first, last, name)
    db, settings = state()
    _submit(find_runner.plan(db, settings, site, f, l_, priority=priority, tags=tag or [],
                             refresh=refresh, webhook=webhook), find_runner.answer,
            follow, json_)


def generate(
    domain: str = DOMAIN, first: str = FIRST, last: str = LAST, name: str = FULL,
    verify: bool = typer.Option(False, "--verify", help="Verify the candidates in order "
                                "of likelihood, stopping at the first deliverable one."),
    priority: int = PRIORITY, tag: list[str] = TAG, follow: bool = FOLLOW,
    json_: bool = JSON, webhook: str = WEBHOOK,
) -> None:
    """Build a person's likely addresses from the domain's pattern; no API call unless
    --verify.

    Example: novahunt generate --domain stripe.com --first José --last Núñez --verify -F
    """
    from novahunt.inputs import names
    from novahunt.inputs.domains import normalise_domain
    from novahunt.runners import generate as generate_runner

    site = normalise_domain(domain)
    who = names.parse(first, last, name)  # as written: the candidates spell `ü` two ways
    db, settings = state()
    _submit(generate_runner.plan(db, settings, site, who.first, who.last, verify=verify,
                                 priority=priority, tags=tag or [], webhook=webhook),
            generate_runner.answer, follow, json_)
