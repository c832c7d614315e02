"""Helpers shared by the command modules: output and the state database."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from novahunt import config, db
from novahunt.config import Settings
from novahunt.db import Database

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def state() -> tuple[Database, Settings]:
    return db.open_state(), config.load()


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False) + "\n")
