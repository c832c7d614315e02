"""`novahunt webhooks`: the deliveries of job notifications, and a test ping."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from novahunt.cli.common import err, out, print_json, state
from novahunt.errors import BadInput

# novahunt.state.outbox.STATUSES, for the --status help: importing the outbox here would
# load the storage layer for every command and --help; outbox.listing validates --status
STATUSES = ("pending", "delivered", "failed")

app = typer.Typer(help="Webhook deliveries of job notifications: list them, send a test.",
                  no_args_is_help=True)

# the `--webhook URL` option of every command that queues jobs
WEBHOOK = typer.Option(None, "--webhook", metavar="URL",
                       help="POST job.completed, job.failed or job.canceled here when the "
                       "job ends (default: NOVAHUNT_WEBHOOK_URL, if set).")


def _when(ts: float | None) -> str:
    from novahunt.inputs.timeparse import humanize_ago

    return "" if ts is None else humanize_ago(datetime.fromtimestamp(ts, UTC))


@app.command("list")
def list_(
    status: str = typer.Option(None, "--status", "-s",
                               help=f"One of: {', '.join(STATUSES)}."),
    limit: int = typer.Option(50, "--limit", "-n", min=1, help="How many, newest first."),
    json_: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """Show webhook deliveries, newest first: status, attempts, last answer.

    Example: novahunt webhooks list --status failed --json
    """
    from rich.table import Table

    from novahunt.cli.plain import plain
    from novahunt.inputs.urls import redact
    from novahunt.state import outbox

    db, _ = state()
    found = outbox.listing(db, status=status, limit=limit)
    if json_:  # a receiver's basic-auth password stays out of listings
        print_json([{**outbox.to_dict(d), "url": redact(d.url)} for d in found])
        return
    if not found:
        out.print("no webhook deliveries")
        return
    table = Table(box=None, header_style="bold")
    for col in ("DELIVERY", "JOB", "EVENT", "STATUS", "TRIES", "NEXT", "LAST", "URL"):
        table.add_column(col, no_wrap=col in ("DELIVERY", "EVENT", "STATUS"),
                         overflow="fold")
    for d in found:
        last = str(d.last_status or "") if d.last_error is None else d.last_error
        table.add_row(d.id[:12], str(d.job_id or ""), d.event, d.status, str(d.attempts),
                      _when(d.next_at) if d.status == "pending" else "",
                      plain(last[:60]), plain(redact(d.url)))
    out.print(table)


@app.command("test")
def test(
    url: str = typer.Argument(None, help="The receiver (default: NOVAHUNT_WEBHOOK_URL)."),
) -> None:
    """Send a signed `ping` event to URL now and print the HTTP status.

    Exits 1 unless the receiver answered 2xx. Example: novahunt webhooks test https://hooks.example.com/novahunt
    """
    from novahunt.cli.plain import plain
    from novahunt.inputs.urls import redact, scrub
    from novahunt.worker import webhooks

    _, settings = state()
    target = url or settings.webhook_url
    if not target:
        raise BadInput("give a URL, or set NOVAHUNT_WEBHOOK_URL (or webhook_url in "
                       "config.toml)")
    answer = webhooks.ping(settings, target)
    signed = "signed" if settings.webhook_secret else (
        "unsigned: set NOVAHUNT_WEBHOOK_SECRET to sign")
    if answer.ok:
        out.print(f"HTTP {answer.status} from {plain(redact(target))} ({signed})")
        return
    err.print(f"failed: {plain(scrub(answer.error or '', target))} ({signed})")
    raise typer.Exit(1)
