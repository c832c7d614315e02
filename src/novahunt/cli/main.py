"""The `novahunt` command: typer app assembly and the one place errors become exit codes.

Every command is thin: parse flags, make one core call, render. A NovahuntError becomes
one line on stderr and its exit code here; anything else is a bug and is re-raised
under pytest or NOVAHUNT_DEBUG=1 so tests never hide it behind a friendly message.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import typer
import typer.main

from novahunt import __version__
from novahunt.errors import NovahuntError

app = typer.Typer(
    name="novahunt",
    help="Collect and verify B2B contact emails through Hunter.io as durable background jobs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain click help: rich's help panels cost 60 ms of imports
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"novahunt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors and the data asked for."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log what happens to stderr."),
) -> None:
    """Collect and verify B2B contact emails through Hunter.io as durable background jobs.

    Start with `novahunt demo`; then `novahunt collect stripe.com --follow`.
    """
    from novahunt.cli.common import configure

    configure(quiet, verbose)


def _register() -> None:
    from novahunt.cli import (
        collect,
        db,
        demo,
        doctor,
        enrich,
        jobs,
        people,
        results,
        scrape,
        stats,
        verify,
        webhooks,
        worker,
    )

    collect.register(app)
    worker.register(app)
    app.add_typer(jobs.app, name="jobs")
    verify.register(app)
    people.register(app)
    enrich.register(app)
    scrape.register(app)
    results.register(app)
    stats.register(app)
    demo.register(app)
    doctor.register(app)
    app.add_typer(webhooks.app, name="webhooks")
    app.add_typer(db.app, name="db")


_register()


def _debug() -> bool:
    return bool(os.environ.get("NOVAHUNT_DEBUG")) or "PYTEST_CURRENT_TEST" in os.environ


@functools.cache
def _command() -> Callable[..., Any]:
    # typer rebuilds click's command tree on every call (26 ms for our 40 commands):
    # once per process is enough, and the in-process tests call run() a thousand times
    return typer.main.get_command(app)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this in-process)."""
    os.umask(0o077)  # every file novahunt creates is its owner's only
    try:
        # without standalone mode, an Exit(code) raised in a command comes back as the
        # return value instead of an exception
        returned = _command()(args=argv, prog_name="novahunt", standalone_mode=False)
    except NovahuntError as exc:
        from novahunt.inputs.plaintext import clean

        # a message can carry Hunter's or a file's text: no terminal commands in it
        sys.stderr.write(f"novahunt: error: {clean(exc)}\n")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("novahunt: interrupted\n")
        return 130
    except typer.TyperException as exc:  # usage errors: typer prints usage and the reason
        show = getattr(exc, "show", None)
        if show is not None:
            show()
        else:
            sys.stderr.write(f"novahunt: error: {exc.message}\n")
        return int(getattr(exc, "exit_code", 2))
    except Exception:
        if _debug():
            raise
        import traceback

        from novahunt.inputs.plaintext import clean

        sys.stderr.write(
            f"novahunt: internal error (set NOVAHUNT_DEBUG=1 for details): "
            f"{clean(traceback.format_exc(limit=0).strip())}\n"
        )
        return 1
    return returned if isinstance(returned, int) else 0


def main() -> None:
    from novahunt.inputs.timeparse import run_in_utc

    # before anything reads the clock: huey's naive times must mean UTC in every process
    # of every host; --at and the logs keep the user's own zone
    run_in_utc()
    sys.exit(run())
