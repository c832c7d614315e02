"""Helpers shared by the command modules: output and the state database."""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from novahunt.cli.plain import PlainConsole, to_json

if TYPE_CHECKING:
    from novahunt.config import Settings
    from novahunt.state.db import Database

# rich honours NO_COLOR and draws no colours or live bars when not on a terminal; no
# :emoji: codes, and no control characters in anything printed (see cli/plain.py)
out = PlainConsole(highlight=False, soft_wrap=True, emoji=False)
err = PlainConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
quiet_console = Console(quiet=True)
verbosity = {"quiet": False, "verbose": False}


def configure(quiet: bool, verbose: bool) -> None:
    """--quiet: only errors and the data asked for; --verbose: info logs on stderr."""
    from novahunt import logs

    verbosity.update(quiet=quiet, verbose=verbose)
    err.quiet = quiet
    logs.setup(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


def progress_console(default: Console) -> Console:
    return quiet_console if verbosity["quiet"] else default


# options every job-creating command shares
PRIORITY = typer.Option(3, "--priority", "-p", min=1, max=5, help="1 runs first, 5 last.")
TAG = typer.Option(None, "--tag", "-t", help="Label the job (repeatable).")
FOLLOW = typer.Option(False, "--follow", "-F", help="Show live progress until the job ends.")
JSON = typer.Option(False, "--json", help="Print the job as JSON.")


def state() -> tuple[Database, Settings]:
    from novahunt import config
    from novahunt.state import db

    return db.open_state(), config.load()


def print_json(value: Any) -> None:
    sys.stdout.write(to_json(value) + "\n")
