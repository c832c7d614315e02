"""`novahunt enrich`: fill in the emails of a CSV of leads."""

from __future__ import annotations

from pathlib import Path

import typer

from novahunt.cli.common import FOLLOW, JSON, PRIORITY, TAG, err, out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import plain
from novahunt.cli.webhooks import WEBHOOK


def register(app: typer.Typer) -> None:
    app.command("enrich")(enrich)


def enrich(
    file: Path = typer.Argument(..., help="A CSV of leads with a header."),
    output: Path = typer.Option(None, "--output", "-o", help="Where to write the result "
                                "[default: FILE with .enriched.csv]."),
    verify: bool = typer.Option(False, "--verify", help="Try the domain's pattern, "
                                "verified through the cache, before the Email Finder."),
    first_column: str = typer.Option(None, "--first-column", help="First name column."),
    last_column: str = typer.Option(None, "--last-column", help="Last name column."),
    name_column: str = typer.Option(None, "--name-column", help="Full name column."),
    domain_column: str = typer.Option(None, "--domain-column",
                                      help="Domain or company website column."),
    email_column: str = typer.Option(None, "--email-column",
                                     help="Existing email column (rows with one are kept)."),
    priority: int = PRIORITY,
    tag: list[str] = TAG,
    follow: bool = FOLLOW,
    json_: bool = JSON,
    webhook: str = WEBHOOK,
) -> None:
    """Find the missing emails of a CSV of leads (at most 10,000 rows), cheapest first:
    state.db, then the pattern (with --verify), then Hunter's Email Finder.

    The output has the input's rows and columns, in order, plus enriched_email,
    enriched_confidence, enriched_source, verify_status, verify_result and enrich_note
    (why a row was skipped, by row number). An address the Email Finder gives on another
    domain than the lead's is only named in enrich_note. CSV cells that a spreadsheet
    would run as a formula get a leading '. Example:
    novahunt enrich leads.csv -o leads.enriched.csv --verify --follow
    """
    from novahunt.inputs.exports import check_writable
    from novahunt.inputs.leads import read_leads
    from novahunt.queue import dispatch
    from novahunt.runners import enrich as enrich_runner
    from novahunt.state import jobs

    leads = read_leads(file, {"first": first_column, "last": last_column,
                              "name": name_column, "domain": domain_column,
                              "email": email_column})
    target = output or file.with_name(f"{file.stem}.enriched.csv")
    check_writable(target)  # before the first Email Finder call is paid for
    db, settings = state()
    spec = enrich_runner.plan(settings, leads, target, verify=verify, priority=priority,
                              tags=tag or [], webhook=webhook)
    [(job, _)] = dispatch.submit(db, [spec])
    if json_:
        print_json([{"id": job.id, "rows": job.params["rows"], "output": str(target),
                     "status": str(job.status)}])
    else:
        out.print(plain(f"#{job.id} enrich {job.params['rows']} rows of {file} -> {target}: "
                        f"{job.status}"))
    if follow:
        code = follow_jobs(db, settings, [job.id], err if json_ else out)
        result = enrich_runner.KIND.result(jobs.get(db, job.id))
        if result and not json_:
            out.print(plain(enrich_runner.report(result)))
            for note in result["skipped_rows"][:10]:
                err.print(plain(f"  skipped {note}"))
        if code:
            raise typer.Exit(code)
