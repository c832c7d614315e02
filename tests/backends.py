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

import pytest

POSTGRES = "NOVAHUNT_TEST_POSTGRES_URL"
REDIS = "NOVAHUNT_TEST_REDIS_URL"


def server_url(variable: str) -> str:
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    hint = f'{variable} is not set: start the servers with eval "$(.ci/services start DIR)"'
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {hint}", pytrace=False)
    pytest.skip(hint)


def with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


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
        from novahunt import db_postgres

        db_postgres.close_pools()  # this process's connections to the schema
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def empty_redis(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@dataclass(frozen=True)
class Shared:
    """What machines of one team share: a database and a queue."""

    database_url: str
    queue_url: str
