"""Helpers shared by the command modules: output and the state database."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from rich.console import Console

from novahunt import config, db, logs
from novahunt.config import Settings
from novahunt.db import Database

# rich honours NO_COLOR and draws no colours or live bars when not on a terminal
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)
quiet_console = Console(quiet=True)
verbosity = {"quiet": False, "verbose": False}


def configure(quiet: bool, verbose: bool) -> None:
    """--quiet: only errors and the data asked for; --verbose: info logs on stderr."""
    verbosity.update(quiet=quiet, verbose=verbose)
    err.quiet = quiet
    logs.setup(logging.ERROR if quiet else logging.INFO if verbose else logging.WARNING)


def progress_console(default: Console) -> Console:
    return quiet_console if verbosity["quiet"] else default


def state() -> tuple[Database, Settings]:
    return db.open_state(), config.load()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
