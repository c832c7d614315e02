"""The test infrastructure itself: each PostgreSQL test gets a fresh schema that its
processes inherit and that is dropped after it, each Redis test an empty database, and
a missing server is a skip on a laptop but a failure in CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import backends

ROOT = Path(__file__).resolve().parents[1]
seen_schemas: list[str] = []
seen_redis: list[str] = []


def current_schema(url: str) -> str:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_schema()").fetchone()
    assert row is not None
    return str(row[0])


def schema_exists(schema: str) -> bool:
    import psycopg

    with psycopg.connect(os.environ[backends.POSTGRES]) as conn:
        query = "SELECT 1 FROM pg_namespace WHERE nspname = %s"
        return conn.execute(query, (schema,)).fetchone() is not None


def test_sqlite_leaves_the_default_state_db(backend: str) -> None:
    if backend == "sqlite":
        assert "NOVAHUNT_DATABASE_URL" not in os.environ
    else:
        assert os.environ["NOVAHUNT_DATABASE_URL"].startswith("postgresql://")


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_a_process_the_test_starts_sees_the_fresh_empty_schema(backend: str) -> None:
    url = os.environ["NOVAHUNT_DATABASE_URL"]
    [options] = parse_qs(urlsplit(url).query)["options"]
    schema = options.removeprefix("-csearch_path=")
    assert schema.startswith("t_") and current_schema(url) == schema
    code = ("import os, psycopg; c = psycopg.connect(os.environ['NOVAHUNT_DATABASE_URL']);"
            "print(c.execute('SELECT current_schema(), count(*) FROM pg_tables"
            " WHERE schemaname = current_schema()').fetchone())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert out.strip() == f"('{schema}', 0)"


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
@pytest.mark.parametrize("turn", [1, 2])
def test_each_test_gets_its_own_schema_dropped_after_it(backend: str, turn: int) -> None:
    schema = current_schema(os.environ["NOVAHUNT_DATABASE_URL"])
    assert schema not in seen_schemas
    assert not any(schema_exists(earlier) for earlier in seen_schemas)  # torn down
    seen_schemas.append(schema)


@pytest.mark.parametrize("queue_backend", ["redis"], indirect=True)
@pytest.mark.parametrize("turn", [1, 2])
def test_redis_answers_and_starts_empty(queue_backend: str, turn: int) -> None:
    import redis

    client = redis.Redis.from_url(os.environ["NOVAHUNT_QUEUE_URL"])
    assert client.ping()
    assert client.dbsize() == 0  # the other turn's key is gone
    client.set(f"left-by-turn-{turn}", "x")
    client.close()


def test_hosts_backend_names_both_servers_without_setting_them(
        hosts_backend: backends.Shared) -> None:
    import redis

    assert "NOVAHUNT_DATABASE_URL" not in os.environ
    assert "NOVAHUNT_QUEUE_URL" not in os.environ
    assert current_schema(hosts_backend.database_url).startswith("t_")
    client = redis.Redis.from_url(hosts_backend.queue_url)
    assert client.ping() and client.dbsize() == 0
    client.close()


def test_the_schema_joins_a_query_string_and_startup_options() -> None:
    assert (backends.with_schema("postgresql://u@h:5/d", "t_1")
            == "postgresql://u@h:5/d?options=-csearch_path%3Dt_1")
    assert (backends.with_schema("postgresql://u@h:5/d?sslmode=disable", "t_1")
            == "postgresql://u@h:5/d?sslmode=disable&options=-csearch_path%3Dt_1")
    merged = backends.with_schema("postgresql://u@h/d?options=-cstatement_timeout%3D5s", "t_1")
    assert parse_qs(urlsplit(merged).query)["options"] == [
        "-cstatement_timeout=5s -csearch_path=t_1"]


def test_a_missing_server_skips_locally_and_fails_in_ci(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backends.POSTGRES, raising=False)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"PostgreSQL not started"):
        backends.server_url(backends.POSTGRES)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true but PostgreSQL not started"):
        backends.server_url(backends.POSTGRES)


def test_ci_without_the_servers_stops_the_run_with_one_message() -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in (backends.POSTGRES, backends.REDIS, "PYTEST_CURRENT_TEST")}
    env["CI"] = "true"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_backends_fixture.py::test_the_schema_joins_a_query_string_and_startup_options"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout + proc.stderr
    assert proc.stderr.count("CI=true but") == 1, proc.stderr
    assert f"{backends.POSTGRES} and {backends.REDIS} unset" in proc.stderr
