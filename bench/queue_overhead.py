"""Queue overhead benchmark: what novahunt's durable jobs cost over plain huey tasks.

N domains of 5 emails each (one Domain Search page apiece, the page size is 100) on a
local Hunter sandbox running in its own process, the same server for every run. In one
invocation:

- baseline: plain huey tasks on a `SqliteHuey` consumed by `huey_consumer -w 4 -k
  thread`; each task does the same GET to /v2/domain-search with the X-API-KEY header
  (one httpx client per thread), parses the JSON and writes one row per email into a
  contacts table of a separate WAL state file, plus a "done" row stamped with the
  commit time, in one transaction. The queue file runs `synchronous=NORMAL`, as
  novahunt's queue.db does, so both sides pay the same for delivery; the same baseline
  on huey's defaults (`synchronous=FULL`, an fsync per dequeue) is printed too.
- novahunt: `novahunt collect --file domains.txt --yes --json` (timed on its own), then
  `novahunt worker --burst --concurrency 4`; every job is claimed, rate-limited,
  ledgered, checkpointed, finished with its events and webhook check, exactly as in
  real use (the limiter set to 1,000,000/s so it never waits).

The compared time runs, on both sides, from just before the consumer process is
started (so interpreter start-up and imports are in) to the commit of the last job's
rows, read back from the rows' own timestamps (`done.at`, `jobs.finished_at`); the
driver only watches for the end. `worker --burst` also has to notice that the queue is
empty and shut down: that is shown separately ("to exit"). CPU seconds are the consumer
process's own (user + system, from wait4) and the sandbox's over the same run: the
machine has two cores, so CPU per job is what bounds jobs/s. Also: enqueuing 10,000
domains from a file, the whole `novahunt collect` process.

    python bench/queue_overhead.py [--jobs 5000] [--concurrency 4]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

from harness import (
    KEY,
    Table,
    novahunt_env,
    proc_cpu,
    queue_collect,
    sandbox_process,
    start_burst_worker,
    wait_cpu,
)

EMAILS = 5

BASELINE = textwrap.dedent('''
    """Plain huey: one task per domain, the same request and the same rows."""
    import json, os, sqlite3, threading, time
    import httpx
    from huey import SqliteHuey
    from huey.storage import SqliteStorage

    class NormalStorage(SqliteStorage):
        def _create_connection(self):
            conn = super()._create_connection()
            conn.execute("pragma synchronous=NORMAL")
            return conn

    class NormalHuey(SqliteHuey):
        storage_class = NormalStorage

    kind = NormalHuey if os.environ["BASE_SYNC"] == "normal" else SqliteHuey
    huey = kind("baseline", filename=os.environ["BASE_QUEUE"], results=False, utc=True)
    local = threading.local()

    def connection():
        if not hasattr(local, "conn"):
            local.conn = sqlite3.connect(os.environ["BASE_STATE"], timeout=60,
                                         isolation_level=None)
            local.conn.execute("PRAGMA journal_mode = WAL")
            local.conn.execute("PRAGMA synchronous = NORMAL")
            local.client = httpx.Client(timeout=30)
        return local.conn, local.client

    @huey.task()
    def collect(domain):
        conn, client = connection()
        answer = client.get(os.environ["BASE_URL"] + "/domain-search",
                            params={"domain": domain, "limit": 100, "offset": 0},
                            headers={"X-API-KEY": os.environ["BASE_KEY"]})
        answer.raise_for_status()
        data = answer.json()["data"]
        rows = [(domain, e["value"], e.get("first_name"), e.get("last_name"),
                 e.get("position"), e.get("department"), e.get("seniority"), e.get("type"),
                 e.get("confidence"), json.dumps(e.get("sources") or []))
                for e in data["emails"]]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            "INSERT INTO contacts (domain, email, first_name, last_name, position,"
            " department, seniority, type, confidence, sources)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", rows)
        conn.execute("INSERT INTO done (domain, at) VALUES (?, ?)", (domain, time.time()))
        conn.execute("COMMIT")
''')


@dataclass(frozen=True)
class Run:
    seconds: float        # consumer start to the last job's commit
    to_exit: float        # consumer start to its exit (novahunt) or termination
    cpu: float            # the consumer process's user + system seconds
    server_cpu: float     # the sandbox's user + system seconds over the same run


def base_env(tmp: str, url: str) -> dict[str, str]:
    return novahunt_env(tmp, url, HUNTER_PAGE_SIZE="100",
                        NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s")


def run_baseline(server: int, url: str, n: int, threads: int, sync: str) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "baseline_tasks.py").write_text(BASELINE)
        state = Path(tmp) / "state.db"
        with sqlite3.connect(state) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, domain TEXT, email"
                         " TEXT, first_name TEXT, last_name TEXT, position TEXT, department"
                         " TEXT, seniority TEXT, type TEXT, confidence INTEGER, sources TEXT,"
                         " UNIQUE (domain, email))")
            conn.execute("CREATE TABLE done (domain TEXT PRIMARY KEY, at REAL NOT NULL)")
        env = dict(os.environ, BASE_QUEUE=f"{tmp}/queue.db", BASE_STATE=str(state),
                   BASE_URL=url, BASE_KEY=KEY, BASE_SYNC=sync, PYTHONPATH=tmp)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-c", "import baseline_tasks as b\n"
                        f"for i in range({n}): b.collect(f'q{{i}}.example')"],
                       env=env, check=True)
        server_before = proc_cpu(server)
        started_wall = time.time()
        started = time.monotonic()
        consumer = subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "baseline_tasks.huey",
             "-w", str(threads), "-k", "thread", "-d", "0.05", "-m", "0.5", "-q"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        reader = sqlite3.connect(state, timeout=60)
        while reader.execute("SELECT COUNT(*) FROM done").fetchone()[0] < n:
            time.sleep(0.05)
        last = reader.execute("SELECT MAX(at) FROM done").fetchone()[0]
        stored = reader.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        reader.close()
        consumer.terminate()
        _, cpu = wait_cpu(consumer)
        to_exit = time.monotonic() - started
        server_cpu = proc_cpu(server) - server_before
        if stored != n * EMAILS:
            raise SystemExit(f"baseline stored {stored} contacts, expected {n * EMAILS}")
        return Run(last - started_wall, to_exit, cpu, server_cpu)


def enqueue(env: dict[str, str], tmp: str, names: list[str]) -> float:
    started = time.monotonic()
    queue_collect(env, tmp, names)  # writing the list file (under 1 ms) is timed too
    return time.monotonic() - started


def run_novahunt(server: int, url: str, n: int, threads: int) -> tuple[Run, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = base_env(tmp, url)
        queued = enqueue(env, tmp, [f"q{i}.example" for i in range(n)])
        server_before = proc_cpu(server)
        started_wall = time.time()
        started = time.monotonic()
        worker = start_burst_worker(env, threads)
        code, cpu = wait_cpu(worker)
        to_exit = time.monotonic() - started
        server_cpu = proc_cpu(server) - server_before
        if code != 0:
            raise SystemExit(f"novahunt worker exited with {code}")
        with sqlite3.connect(Path(tmp) / "state.db") as conn:
            done, last = conn.execute("SELECT COUNT(*), MAX(finished_at) FROM jobs"
                                      " WHERE status = 'completed'").fetchone()
            stored = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
            calls = conn.execute("SELECT COUNT(*) FROM api_calls"
                                 " WHERE endpoint = 'domain-search'").fetchone()[0]
        if (done, stored, calls) != (n, n * EMAILS, n):
            raise SystemExit(f"novahunt: {done} completed, {stored} contacts, {calls} calls;"
                             f" expected {n}, {n * EMAILS}, {n}")
        return Run(last - started_wall, to_exit, cpu, server_cpu), queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--enqueue", type=int, default=10_000,
                        help="domains in the enqueue-from-a-file figure")
    args = parser.parse_args()
    n, c = args.jobs, args.concurrency
    domains = {f"q{i}.example": EMAILS for i in range(max(n, args.enqueue))}
    with sandbox_process(domains) as (server, url):
        base = run_baseline(server.pid, url, n, c, "normal")
        ours, queued = run_novahunt(server.pid, url, n, c)
        full = run_baseline(server.pid, url, n, c, "full")
        with tempfile.TemporaryDirectory() as tmp:
            big = enqueue(base_env(tmp, url), tmp, [f"q{i}.example" for i in range(args.enqueue)])
    print(f"{n} collect jobs of one page ({EMAILS} emails), {c} threads, local sandbox")
    print("seconds: consumer process start to the last job's commit; to exit: to the"
          " process's end; CPU: ms per job")
    table = Table(("run", 34, "", True), ("seconds", 8, ".2f"), ("jobs/s", 7, ".0f"),
                  ("to exit", 8, ".2f"), ("CPU/job", 8, ".2f"), ("server/job", 10, ".2f"))
    table.header()
    for name, r in (("baseline: plain huey (NORMAL)", base), ("novahunt worker --burst", ours),
                    ("plain huey, defaults (FULL)", full)):
        table.row(name, r.seconds, n / r.seconds, r.to_exit, 1000 * r.cpu / n,
                  1000 * r.server_cpu / n)
    ratio = ours.seconds / base.seconds
    print(f"ratio novahunt/baseline: {ratio:.2f} (target <= 1.5: "
          f"{'PASS' if ratio <= 1.5 else 'FAIL'}); to exit {ours.to_exit / base.seconds:.2f};"
          f" vs huey defaults {ours.seconds / full.seconds:.2f}")
    print(f"CPU per job novahunt/baseline: {ours.cpu / base.cpu:.2f}")
    print(f"enqueue {n} domains from a file: {queued:.2f}s")
    print(f"enqueue {args.enqueue} domains from a file: {big:.2f}s (target < 5: "
          f"{'PASS' if big < 5 else 'FAIL'})")


if __name__ == "__main__":
    main()
