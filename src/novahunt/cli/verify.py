"""`novahunt verify` and `novahunt verifications`: verify emails once, read the cache."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import FOLLOW, JSON, PRIORITY, TAG, err, out, print_json, state
from novahunt.cli.follow import follow_jobs
from novahunt.cli.plain import plain, to_json
from novahunt.cli.webhooks import WEBHOOK
from novahunt.errors import BadInput

if TYPE_CHECKING:
    from novahunt.inputs.leads import EmailList
    from novahunt.state.db import Database

# verify_reason: why, when the status was not the Verifier's own answer (Hunter refused
# the address, its Domain Search already knew it, a bad syntax)
COLUMNS = ["verify_status", "verify_result", "verify_score", "verified_at", "verify_reason"]
COLUMNS_CACHE = ["email", "status", "result", "score", "reason", "source",
                 "first_verified_at", "last_verified_at", "asked_count"]
STATUSES = ("valid", "invalid", "accept_all", "webmail", "disposable", "unknown", "claimed")


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)
    app.command("verifications")(list_verifications)


def verify(
    addresses: list[str] = typer.Argument(None, help="Email addresses."),
    file: Path = typer.Option(None, "--file", "-f", help="A CSV with a header (the email "
                              "column is found by name) or one address a line."),
    column: str = typer.Option(None, "--column", help="The CSV column holding the emails."),
    domain: str = typer.Option(None, "--domain", help="The emails collected for a domain."),
    max_age: str = typer.Option(None, "--max-age", help="Cache entries older than this are "
                                "verified again [default: NOVAHUNT_VERIFY_MAX_AGE or 30d]."),
    recheck: bool = typer.Option(False, "--recheck", help="Ask Hunter even for cached "
                                 "answers and Hunter's own fresh verifications."),
    output: Path = typer.Option(None, "--output", "-o", help="Write the input again with "
                                "verification columns once the job is done (follows it)."),
    priority: int = PRIORITY,
    tag: list[str] = TAG,
    follow: bool = FOLLOW,
    json_: bool = JSON,
    webhook: str = WEBHOOK,
) -> None:
    """Verify email addresses through Hunter, at most once per address per --max-age.

    Example: novahunt verify --file leads.csv --follow -o leads.verified.csv
    """
    from novahunt.inputs.domains import normalise_domain
    from novahunt.inputs.exports import check_writable
    from novahunt.inputs.leads import read_emails
    from novahunt.inputs.timeparse import parse_duration
    from novahunt.queue import dispatch
    from novahunt.runners import verify as verify_runner
    from novahunt.state import contacts

    if output is not None:
        check_writable(output)
    values = list(addresses or [])
    source = "arguments"
    listing: EmailList | None = None
    if file is not None:
        listing = read_emails(file, column)
        values += listing.emails
        source = f"file:{file.name}"
    elif column is not None:
        raise BadInput("--column goes with --file")
    db, settings = state()
    if domain is not None:
        name = normalise_domain(domain)
        found = contacts.emails_of(db, name)
        if not found:
            raise BadInput(f"no emails collected for {name}: `novahunt collect {name}` first")
        values += found
        source = f"domain:{name}"
    if not values:
        raise BadInput("give email addresses, --file FILE or --domain DOMAIN")
    age = settings.verify_max_age if max_age is None else (
        parse_duration(max_age).total_seconds())
    spec = verify_runner.plan(settings, values, source=source, max_age=age, recheck=recheck,
                              priority=priority, tags=tag or [], webhook=webhook)
    [(job, _)] = dispatch.submit(db, [spec])
    if json_:
        print_json([{"id": job.id, "emails": job.params["emails"], "status": str(job.status)}])
    else:
        out.print(f"#{job.id} verify {job.params['emails']} distinct emails: {job.status}")
    if follow or output is not None:
        code = follow_jobs(db, settings, [job.id], err if json_ else out)
        if output is not None and code == 0:
            _write_output(db, listing, values, output)
        if code:
            raise typer.Exit(code)


def _write_output(db: Database, listing: EmailList | None, values: list[str],
                  output: Path) -> None:
    from novahunt.inputs import emails
    from novahunt.inputs.leads import EmailList, write_with_columns
    from novahunt.inputs.timeparse import iso_ts
    from novahunt.state import verifications

    if listing is None:  # addresses or a domain: one row per address
        distinct = dict.fromkeys(v.strip().lower() for v in values)
        listing = EmailList(output, ["email"], 0, ",", [[v] for v in distinct])
    # the job stored each address under its one spelling (an IDN domain as A-labels)
    found = verifications.lookup(db, [emails.normalise(e) for e in listing.emails])

    def columns(email: str) -> list[object]:
        v = found.get(emails.normalise(email))
        if v is None:
            return ["", "", "", "", ""]
        return [v.status, v.result or "", "" if v.score is None else v.score,
                iso_ts(v.last_verified_at), v.reason or ""]

    rows = write_with_columns(listing, output, COLUMNS, columns)
    err.print(plain(f"wrote {rows} rows to {output}"))


def list_verifications(
    addresses: list[str] = typer.Argument(None, help="Only these addresses."),
    status: str = typer.Option(None, "--status", "-s", help=f"One of: {', '.join(STATUSES)}."),
    format_: str = typer.Option("table", "--format", help="table, csv or json."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to a file."),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="At most this many."),
    json_: bool = typer.Option(False, "--json", help="Same as --format json."),
) -> None:
    """Show the verification cache: what each address verified as, and when.

    CSV cells that a spreadsheet would run as a formula get a leading '; -o replaces FILE
    only once it is written whole.

    Example: novahunt verifications --status invalid --format csv -o invalid.csv
    """
    from novahunt.inputs import emails
    from novahunt.inputs.exports import DictCsvWriter, atomic_output, check_writable
    from novahunt.inputs.timeparse import iso_ts
    from novahunt.state import verifications

    if status is not None and status not in STATUSES:
        raise BadInput(f"--status must be one of: {', '.join(STATUSES)}")
    fmt = "json" if json_ else format_
    if fmt not in ("table", "csv", "json"):
        raise BadInput("--format must be table, csv or json")
    if output is not None:
        check_writable(output)
    db, _ = state()
    wanted = [emails.normalise(a) for a in addresses or []]
    rows = [
        {"email": v.email, "status": v.status, "result": v.result, "score": v.score,
         "reason": v.reason, "source": v.source,
         "first_verified_at": iso_ts(v.first_verified_at),
         "last_verified_at": iso_ts(v.last_verified_at), "asked_count": v.asked_count}
        for v in verifications.listing(db, wanted, status, limit)
    ]
    with ExitStack() as stack:
        fh = sys.stdout if output is None else stack.enter_context(atomic_output(output))
        if fmt == "json":
            fh.write(to_json(rows) + "\n")
        elif fmt == "csv":
            writer = DictCsvWriter(fh, COLUMNS_CACHE)
            writer.writeheader()
            writer.writerows(rows)
        else:
            from rich.table import Table

            table = Table(box=None, header_style="bold")
            for col in ("EMAIL", "STATUS", "RESULT", "SCORE", "VERIFIED", "ASKED", "WHY"):
                table.add_column(col, overflow="fold")
            for r in rows:  # rich reads a str cell as markup: every cell plain
                table.add_row(*(plain(cell) for cell in (
                    r["email"], r["status"], r["result"] or "",
                    "" if r["score"] is None else r["score"], r["last_verified_at"] or "",
                    r["asked_count"], r["reason"] or "")))
            if rows:
                out.print(table)
            else:
                err.print("no verifications yet: `novahunt verify EMAIL` verifies one")
    if output is not None:
        err.print(plain(f"wrote {len(rows)} verifications to {output}"))

