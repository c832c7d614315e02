"""The servers the backend-parametrised tests run against, and a fresh place in each.

`.ci/run` starts PostgreSQL and Redis (`.ci/services`) and names them in
NOVAHUNT_TEST_POSTGRES_URL and NOVAHUNT_TEST_REDIS_URL. Without them a test that needs
one is skipped on a developer's machine and fails in CI (CI=true): CI never skips the
PostgreSQL half of the suite silently. Each test gets a schema of its own (the URL
carries `options=-csearch_path=...`, so processes the test starts use it too) and an
emptied Redis database.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import pytest

POSTGRES = "NOVAHUNT_TEST_POSTGRES_URL"
REDIS = "NOVAHUNT_TEST_REDIS_URL"
SERVERS = {POSTGRES: "PostgreSQL", REDIS: "Redis"}
START = 'eval "$(.ci/services start DIR)"'


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def missing() -> list[str]:
    """The test server variables that are not set."""
    return [name for name in SERVERS if not os.environ.get(name, "").strip()]


def server_url(variable: str) -> str:
    """The server's URL; without one the test is skipped, or failed under CI=true."""
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    hint = f"{SERVERS[variable]} not started ({variable} is unset): {START}"
    if in_ci():
        pytest.fail(f"CI=true but {hint}", pytrace=False)
    pytest.skip(hint)


def with_schema(url: str, schema: str) -> str:
    """URL whose connections use SCHEMA first; startup options already in it are kept."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    options = [value for key, value in query if key == "options"]
    options.append(f"-csearch_path={schema}")
    query = [(key, value) for key, value in query if key != "options"]
    query.append(("options", " ".join(options)))
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote, safe="")))


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A URL whose connections see only a new, empty schema; dropped afterwards."""
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(base, schema)
    finally:
        from novahunt.state import postgres

        postgres.close_pools()  # this process's connections to the schema
        drop_schema(base, schema)


def drop_schema(base: str, schema: str) -> None:
    """DROP SCHEMA ... CASCADE, ending the sessions that still hold locks in it (a
    process the test left behind, stuck in a transaction) instead of waiting forever."""
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '5s'")
        for attempt in range(3):
            try:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                return
            except psycopg.errors.LockNotAvailable:
                if attempt == 2:
                    raise
            conn.execute(
                "SELECT pg_terminate_backend(l.pid) FROM pg_locks l"
                " JOIN pg_class c ON c.oid = l.relation"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND l.pid <> pg_backend_pid()", (schema,))


def empty_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@dataclass(frozen=True)
class Shared:
    """What machines of one team share: a database and a queue."""

    database_url: str
    queue_url: str
