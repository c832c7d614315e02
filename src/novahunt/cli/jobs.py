"""`novahunt jobs`: history, details, follow, cancel, retry, cleanup."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import plain
from novahunt.cli.table import write_table
from novahunt.errors import BadInput

if TYPE_CHECKING:
    from novahunt.state.jobs import Job

app = typer.Typer(help="List, inspect, follow, cancel and retry jobs.", no_args_is_help=True)

# the values of novahunt.jobs.Status, for the --status help: importing novahunt.jobs here
# would load the job core (and webhooks, items, ledger) for every command and --help;
# list_ validates against Status itself
_STATUSES = "queued, scheduled, running, retrying, completed, failed, canceled"


def _ago(ts: float | None) -> str:
    from novahunt.inputs.timeparse import humanize_ago

    return "" if ts is None else humanize_ago(datetime.fromtimestamp(ts, UTC))


def _target(job: Job) -> str:
    from novahunt import runners

    return runners.target(job)


def _progress(job: Job) -> str:
    if job.progress_total:
        return f"{job.progress_current}/{job.progress_total}"
    return ""


@app.command("list")
def list_(
    status: str = typer.Option(None, "--status", "-s", help=f"One of: {_STATUSES}."),
    type_: str = typer.Option(None, "--type", help="Job type, e.g. collect."),
    tag: str = typer.Option(None, "--tag", "-t", help="Only jobs with this tag."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many, newest first."),
    json_: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """Show jobs, newest first. Example: novahunt jobs list --status failed"""
    from novahunt.state import jobs
    from novahunt.state.jobs import Status

    if status is not None and status not in {s.value for s in Status}:
        raise BadInput(f"--status must be one of: {', '.join(s.value for s in Status)}")
    db, _ = state()
    found = jobs.listing(db, status=status, type=type_, tag=tag, limit=limit)
    if json_:
        print_json([jobs.to_dict(j, events=False) for j in found])
        return
    if not found:
        out.print("no jobs")
        return
    write_table(out, ("ID", "TYPE", "TARGET", "STATUS", "PROGRESS", "PRI", "CREATED", "TAGS"),
                ((str(j.id), j.type, _target(j), str(j.status), _progress(j), str(j.priority),
                  _ago(j.created_at), ",".join(j.tags)) for j in found),
                caps=(None, None, 48))


@app.command("show")
def show(
    job_id: int = typer.Argument(..., help="The job's id."),
    json_: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Show one job with its event timeline. Example: novahunt jobs show 12"""
    from novahunt.cli.progress import describe
    from novahunt.state import jobs

    db, _ = state()
    job = jobs.get(db, job_id, events=True)
    if json_:
        print_json(jobs.to_dict(job))
        return
    # targets, errors, results and event messages come from outside: plain text
    out.print(f"[bold]job {job.id}[/] {plain(job.type)} {plain(_target(job))}")
    rows = [
        ("status", f"{job.status} ({describe(job)})"),
        ("priority", str(job.priority)),
        ("attempts", f"{job.attempts} run(s), {job.errors} error(s) of {job.max_attempts}"),
        ("progress", f"{_progress(job)} {job.progress_stage or ''}".strip()),
        ("tags", ", ".join(job.tags)),
        ("created", f"{jobs.iso(job.created_at)} ({_ago(job.created_at)})"),
        ("started", jobs.iso(job.started_at) or ""),
        ("finished", jobs.iso(job.finished_at) or ""),
        ("error", job.error or ""),
    ]
    if job.result:
        rows += [(f"result.{k}", str(v)) for k, v in job.result.items()]
    for key, value in rows:
        if value:
            out.print(f"  {key:<22} {plain(value)}")
    out.print("  events:")
    for e in job.events:
        out.print(plain(f"    {jobs.iso(e.at)}  {e.kind:<12} {e.message}"))


@app.command("follow")
def follow(job_ids: list[int] = typer.Argument(..., help="Job ids.")) -> None:
    """Live progress bars for jobs already queued. Example: novahunt jobs follow 12 13"""
    from novahunt.state import jobs

    db, settings = state()
    jobs.get_many(db, job_ids)
    code = follow_jobs(db, settings, job_ids)
    if code:
        raise typer.Exit(code)


@app.command("cancel")
def cancel(job_ids: list[int] = typer.Argument(..., help="Job ids.")) -> None:
    """Cancel jobs; a running job stops after its current page and keeps what it saved."""
    from novahunt.state import jobs

    db, _ = state()
    for job, outcome in jobs.request_cancel(db, job_ids):
        out.print(plain(f"#{job.id} {_target(job)}: {outcome}"))


@app.command("retry")
def retry(job_ids: list[int] = typer.Argument(..., help="Job ids.")) -> None:
    """Queue failed or canceled jobs again; they resume from their checkpoint."""
    from novahunt.queue import dispatch

    db, _ = state()
    for job in dispatch.retry(db, job_ids):
        out.print(plain(f"#{job.id} {_target(job)}: queued again"))


@app.command("cleanup")
def cleanup(
    older_than: str = typer.Option("30d", "--older-than",
                                   help="Delete finished jobs that ended longer ago."),
) -> None:
    """Delete finished jobs (not their contacts) older than --older-than."""
    from novahunt.inputs.timeparse import parse_duration
    from novahunt.state import jobs

    cutoff = time.time() - parse_duration(older_than).total_seconds()
    db, _ = state()
    removed = jobs.cleanup(db, cutoff)
    out.print(f"removed {removed} finished job(s) older than {older_than}")
