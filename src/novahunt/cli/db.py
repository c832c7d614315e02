"""`novahunt db`: move this home's state into a shared database."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

from novahunt.cli.common import err, out, print_json, progress_console

if TYPE_CHECKING:
    from novahunt.state.transfer import Progress

app = typer.Typer(help="Move this home's state into a shared PostgreSQL database.",
                  no_args_is_help=True)


@app.command("migrate-to")
def migrate_to(
    url: str = typer.Argument(..., metavar="URL",
                              help="postgresql://user@host[:port]/db of an empty database "
                              "(the password from PGPASSWORD or ~/.pgpass, or in the URL)."),
    json_: bool = typer.Option(False, "--json", help="Print the rows copied as JSON."),
) -> None:
    """Copy this home's state.db into an empty PostgreSQL database, in one transaction.

    Jobs (same ids, events, tags, items), contacts, domain facts, the verification cache
    and the credit ledger are copied; if anything fails, the target stays empty. Stop
    the workers of this home first. Then point every host at the database with
    NOVAHUNT_DATABASE_URL; queued jobs are sent again by the first worker there.

    Example: novahunt db migrate-to postgresql://novahunt@db.internal/novahunt
    """
    from novahunt import config
    from novahunt.cli.table import write_table
    from novahunt.inputs.urls import redact
    from novahunt.state import transfer
    from novahunt.worker.liveness import live_workers

    settings = config.load()
    with _bars() as progress:
        moved = transfer.migrate_to(
            url, lambda source: [w.id for w in live_workers(source, settings)],
            progress=progress)
    if json_:
        print_json({"target": moved.target, "tables": moved.tables,
                    "seconds": round(moved.seconds, 1)})
        return
    write_table(out, ("TABLE", "ROWS"), ((t, str(n)) for t, n in moved.tables.items()))
    out.print(f"copied {sum(moved.tables.values())} rows into {moved.target} "
              f"in {moved.seconds:.1f}s", markup=False)
    if "***" in moved.target and "***" not in url:
        out.print("(the password is shown as ***: give it in PGPASSWORD or ~/.pgpass, "
                  "or in the URL)", markup=False)
    queue = os.environ.get("NOVAHUNT_QUEUE_URL", "").strip()
    shown_queue = shlex.quote(redact(queue)) if queue else "redis://HOST:6379/0"
    out.print(f"next, on every host: export NOVAHUNT_DATABASE_URL={shlex.quote(moved.target)}"
              f" NOVAHUNT_QUEUE_URL={shown_queue}", markup=False)


@contextmanager
def _bars() -> Iterator[Progress | None]:
    """A bar per table on a terminal; nothing on a pipe or with --quiet."""
    console = progress_console(err)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    bars = Progress(TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                    console=console, transient=True)
    tasks: dict[str, TaskID] = {}

    def update(table: str, done: int, total: int) -> None:
        if table not in tasks:
            tasks[table] = bars.add_task(table, total=total)
        bars.update(tasks[table], completed=done)

    with bars:
        yield update
