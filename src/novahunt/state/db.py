"""The state database: the one source of truth, and the only way to open it.

The factory above both backends: `open_state()` and `connect()` pick SQLite
(`sqlite.py`, `state.db` under the home folder, the default) or PostgreSQL
(`postgres.py`, when `NOVAHUNT_DATABASE_URL` names a server: workers on several hosts
then share one history, limiter, cache and ledger). The backends import the interface
(`base.py`) and never this module, so nothing here is imported in a circle.

Modules outside `state/` import `Database` and `Row` from here, the room's front door;
the table-family modules inside it import them from `base.py`.
"""

from __future__ import annotations

import os
from pathlib import Path

from novahunt import paths
from novahunt.errors import ConfigError, ReadOnlyStorage, StorageError
from novahunt.state.base import Cursor, Database, Params, Row, chunked
from novahunt.state.sqlite import SqliteDatabase

__all__ = ["URL_VARIABLE", "Cursor", "Database", "Params", "Row", "SqliteDatabase", "chunked",
           "connect", "open_state"]

URL_VARIABLE = "NOVAHUNT_DATABASE_URL"
TEAM_EXTRA = "pip install 'novahunt[team]'"


def connect(location: str | Path) -> Database:
    """The database at a path (SQLite) or a postgresql:// URL."""
    text = str(location)
    if "://" not in text:
        return SqliteDatabase(Path(text))
    from novahunt.inputs.urls import redact

    if text.startswith(("postgresql://", "postgres://")):
        try:
            from novahunt.state import postgres
        except ModuleNotFoundError as exc:  # the embedded default installs no driver
            if (exc.name or "").split(".")[0] not in ("psycopg", "psycopg_pool"):
                raise
            raise ConfigError(f"{redact(text)}: the PostgreSQL driver is not installed (no "
                              f"module named {exc.name!r}): {TEAM_EXTRA}") from None
        return postgres.PostgresDatabase(text)
    raise ConfigError(f"{URL_VARIABLE}: {redact(text)} is not a postgresql:// URL")


def open_state() -> Database:
    """The state database: `NOVAHUNT_DATABASE_URL`, else state.db under the home folder
    (created 0600 and migrated if needed)."""
    url = os.environ.get(URL_VARIABLE, "").strip()
    if url:
        return connect(url)
    try:
        paths.ensure_home()
    except OSError as exc:  # under a read-only parent, say: one line, not a traceback
        error = ReadOnlyStorage if exc.errno in paths.READ_ONLY_ERRNOS else StorageError
        raise error(f"cannot create the home folder {paths.home()}: {exc.strerror}") from None
    return SqliteDatabase(paths.state_db())
