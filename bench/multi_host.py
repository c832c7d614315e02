"""Several hosts, one account: simulated hosts sharing PostgreSQL and Redis against a
local Hunter sandbox that enforces R requests/s (429 above it).

A "host" is a `novahunt worker --burst --concurrency T` process with its own
NOVAHUNT_HOME and NOVAHUNT_HOSTNAME; all of them share NOVAHUNT_DATABASE_URL and
NOVAHUNT_QUEUE_URL, as machines of one team would. The jobs are queued once, from a
third home. Printed per setup: requests, the ideal time (requests / R), the measured
wall time (workers started to the last one exiting, start-up included), the server-side
span (first to last request), their ratios to the ideal, and 429s. The same work on
SQLite with one host is printed first, for comparison.

PostgreSQL and Redis: NOVAHUNT_TEST_POSTGRES_URL and NOVAHUNT_TEST_REDIS_URL if set,
else the bench starts its own with `.ci/services` (Debian packages) and stops them.

    python bench/multi_host.py [--rate 10] [--requests 200] [--hosts 2] [--threads 4]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from harness import KEY, ROOT, Table, novahunt_env, queue_collect, start_burst_worker

from novahunt.sandbox import Sandbox

PAGE = 10
DOMAINS = 20


@contextlib.contextmanager
def services() -> Iterator[tuple[str, str]]:
    pg, redis = os.environ.get("NOVAHUNT_TEST_POSTGRES_URL"), os.environ.get(
        "NOVAHUNT_TEST_REDIS_URL")
    if pg and redis:
        yield pg, redis
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        script = ROOT / ".ci" / "services"
        out = subprocess.run([str(script), "start", tmp], check=True, capture_output=True,
                             text=True).stdout
        urls = dict(line.removeprefix("export ").split("=", 1) for line in out.splitlines()
                    if line.startswith("export "))
        try:
            yield urls["NOVAHUNT_TEST_POSTGRES_URL"], urls["NOVAHUNT_TEST_REDIS_URL"]
        finally:
            subprocess.run([str(script), "stop", tmp], check=False, capture_output=True)


@contextlib.contextmanager
def fresh_schema(base: str, redis_url: str) -> Iterator[str]:
    """A schema of its own in the database, and an empty Redis database."""
    import psycopg
    import redis

    name = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    redis.Redis.from_url(redis_url).flushdb()
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{name}"
    finally:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def run_case(tmp: Path, box: Sandbox, rate: float, hosts: int, threads: int,
             shared: dict[str, str]) -> dict[str, float]:
    def env_of(name: str) -> dict[str, str]:
        return novahunt_env(tmp / name, box.url, NOVAHUNT_HOSTNAME=name,
                            HUNTER_PAGE_SIZE=str(PAGE),
                            NOVAHUNT_RATE_DOMAIN_SEARCH=f"{rate:g}/s", **shared)

    # on shared servers any machine may queue the work; on SQLite only the host itself
    queue_collect(env_of("submitter" if shared else "host0"), tmp, box.domains())
    started = time.monotonic()
    workers = [start_burst_worker(env_of(f"host{i}"), threads, stderr=subprocess.PIPE,
                                  text=True) for i in range(hosts)]
    for w in workers:
        _, err = w.communicate()
        if w.returncode != 0:
            raise SystemExit(f"a worker exited with {w.returncode}: {err.strip()[-500:]}")
    wall = time.monotonic() - started
    searches = [r for r in box.requests if r.endpoint == "domain-search"]
    ok = [r for r in searches if r.status == 200]
    span = searches[-1].at - searches[0].at if searches else 0.0
    ideal = len(searches) / rate
    return {"requests": len(searches), "pages": len(ok), "ideal": ideal, "wall": wall, "span": span,
            "429": sum(1 for r in searches if r.status == 429)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    per_domain = max(1, args.requests // DOMAINS)
    print(f"{DOMAINS} domains x {per_domain} pages of {PAGE}; server allows {args.rate:g}/s;"
          f" the limiter is set to the same rate")
    table = Table(("setup", 42, "", True), ("requests", 9, ".0f"), ("ideal s", 9, ".2f"),
                  ("wall s", 8, ".2f"), ("wall/ideal", 11, ".3f"), ("span s", 8, ".2f"),
                  ("span/ideal", 11, ".3f"), ("429s", 6, ".0f"), sep="")
    table.header()
    with services() as (pg, redis_url):
        cases: list[tuple[str, int, bool]] = [
            ("SQLite, 1 host", 1, False),
            (f"PostgreSQL + Redis, {args.hosts} hosts", args.hosts, True),
        ]
        for label, hosts, remote in cases:
            with contextlib.ExitStack() as stack:
                tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                shared: dict[str, str] = {}
                if remote:
                    shared = {"NOVAHUNT_DATABASE_URL":
                              stack.enter_context(fresh_schema(pg, redis_url)),
                              "NOVAHUNT_QUEUE_URL": redis_url}
                box = stack.enter_context(Sandbox(KEY, rate_limit_per_second=args.rate))
                for i in range(DOMAINS):
                    box.add_domain(f"host{i}.example", per_domain * PAGE)
                r = run_case(tmp, box, args.rate, hosts, args.threads, shared)
            if r["pages"] != DOMAINS * per_domain:
                raise SystemExit(f"{label}: {r['pages']} pages stored, expected"
                                 f" {DOMAINS * per_domain}")
            name = f"{label} x {args.threads} threads"
            table.row(name, r["requests"], r["ideal"], r["wall"], r["wall"] / r["ideal"],
                      r["span"], r["span"] / r["ideal"], r["429"])


if __name__ == "__main__":
    main()
