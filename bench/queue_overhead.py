"""Queue overhead benchmark: what novahunt's durable jobs cost over plain huey tasks.

N domains of 5 emails each (one Domain Search page apiece) on a local Hunter sandbox in
its own process. In the same run:

- baseline: plain huey tasks (a default `SqliteHuey`, a consumer of 4 threads), each
  doing the same GET with the key header, parsing the JSON and writing the same contact
  rows into a WAL SQLite file in one transaction;
- novahunt: `novahunt collect --file` (timed on its own), then `novahunt worker --burst
  --concurrency 4` from start to exit; every job is claimed, checkpointed, ledgered,
  finished with its events, exactly as in real use (the rate limiter set out of reach).

Both times run from starting the consumer process to the last row stored (the baseline
is watched from outside every 10 ms; `worker --burst` notices the empty queue itself
and exits, so its time includes that and its shutdown). Also: enqueuing 10,000 domains
from a file, whole process.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789"
EMAILS = 5

SERVER = textwrap.dedent("""
    import sys, time
    from novahunt.sandbox import Sandbox
    box = Sandbox(sys.argv[1])
    for i in range(int(sys.argv[2])):
        box.add_domain(f"q{i}.example", int(sys.argv[3]))
    print(box.start(), flush=True)
    time.sleep(86400)
""")

BASELINE = textwrap.dedent('''
    """Plain huey: one task per domain, the same request and the same rows."""
    import json, os, sqlite3, threading
    import httpx
    from huey import SqliteHuey

    huey = SqliteHuey("baseline", filename=os.environ["BASE_QUEUE"], results=False)
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
        conn.execute("INSERT INTO done (domain) VALUES (?)", (domain,))
        conn.execute("COMMIT")
''')


def base_env(tmp: str, url: str) -> dict[str, str]:
    env = dict(os.environ, NOVAHUNT_HOME=tmp, NOVAHUNT_CONFIG=f"{tmp}/none.toml",
               NOVAHUNT_HUNTER_URL=url, HUNTER_API_KEY=KEY, HUNTER_PAGE_SIZE="100",
               NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s", PYTHONPATH=str(ROOT / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
    return env


def start_server(domains: int) -> tuple[subprocess.Popen[str], str]:
    server = subprocess.Popen([sys.executable, "-c", SERVER, KEY, str(domains), str(EMAILS)],
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert server.stdout is not None
    return server, server.stdout.readline().strip()


def run_baseline(url: str, n: int, threads: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "baseline_tasks.py"
        module.write_text(BASELINE)
        state = Path(tmp) / "state.db"
        with sqlite3.connect(state) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, domain TEXT, email"
                         " TEXT, first_name TEXT, last_name TEXT, position TEXT, department"
                         " TEXT, seniority TEXT, type TEXT, confidence INTEGER, sources TEXT,"
                         " UNIQUE (domain, email))")
            conn.execute("CREATE TABLE done (domain TEXT PRIMARY KEY)")
        env = dict(os.environ, BASE_QUEUE=f"{tmp}/queue.db", BASE_STATE=str(state),
                   BASE_URL=url, BASE_KEY=KEY, PYTHONPATH=tmp)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-c", "import baseline_tasks as b\n"
                        f"for i in range({n}): b.collect(f'q{{i}}.example')"],
                       env=env, check=True)
        started = time.monotonic()
        consumer = subprocess.Popen(
            [sys.executable, "-m", "huey.bin.huey_consumer", "baseline_tasks.huey",
             "-w", str(threads), "-k", "thread", "-d", "0.01", "-q"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
        reader = sqlite3.connect(state, timeout=60)
        while reader.execute("SELECT COUNT(*) FROM done").fetchone()[0] < n:
            time.sleep(0.01)
        took = time.monotonic() - started
        stored = reader.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        reader.close()
        consumer.terminate()
        consumer.wait()
        if stored != n * EMAILS:
            raise SystemExit(f"baseline stored {stored} contacts, expected {n * EMAILS}")
        return took


def novahunt_cmd() -> list[str]:
    return [sys.executable, "-m", "novahunt"]


def enqueue(env: dict[str, str], tmp: str, names: list[str]) -> float:
    listing = Path(tmp) / "domains.txt"
    listing.write_text("".join(f"{d}\n" for d in names))
    started = time.monotonic()
    subprocess.run([*novahunt_cmd(), "collect", "--file", str(listing), "--yes", "--json"],
                   env=env, check=True, capture_output=True)
    return time.monotonic() - started


def run_novahunt(url: str, n: int, threads: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = base_env(tmp, url)
        queued = enqueue(env, tmp, [f"q{i}.example" for i in range(n)])
        started = time.monotonic()
        subprocess.run([*novahunt_cmd(), "worker", "--burst", "--concurrency", str(threads)],
                       env=env, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        took = time.monotonic() - started
        with sqlite3.connect(Path(tmp) / "state.db") as conn:
            done = conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'completed'"
                                ).fetchone()[0]
            stored = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
            calls = conn.execute("SELECT COUNT(*) FROM api_calls"
                                 " WHERE endpoint = 'domain-search'").fetchone()[0]
        if (done, stored, calls) != (n, n * EMAILS, n):
            raise SystemExit(f"novahunt: {done} completed, {stored} contacts, {calls} calls;"
                             f" expected {n}, {n * EMAILS}, {n}")
        return took, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--enqueue", type=int, default=10_000,
                        help="domains in the enqueue-from-a-file figure")
    args = parser.parse_args()
    server, url = start_server(max(args.jobs, args.enqueue))
    try:
        base = run_baseline(url, args.jobs, args.concurrency)
        ours, queued = run_novahunt(url, args.jobs, args.concurrency)
        with tempfile.TemporaryDirectory() as tmp:
            big = enqueue(base_env(tmp, url), tmp, [f"q{i}.example" for i in range(args.enqueue)])
    finally:
        server.terminate()
        server.wait()
    n, c = args.jobs, args.concurrency
    print(f"{n} collect jobs of one page ({EMAILS} emails), {c} threads, local sandbox")
    print(f"{'run':<28} {'seconds':>8} {'jobs/s':>8}")
    print(f"{'baseline: plain huey':<28} {base:>8.2f} {n / base:>8.0f}")
    print(f"{'novahunt worker --burst':<28} {ours:>8.2f} {n / ours:>8.0f}")
    print(f"ratio novahunt/baseline: {ours / base:.2f} (target <= 1.5)")
    print(f"enqueue {n} domains from a file: {queued:.2f}s")
    print(f"enqueue {args.enqueue} domains from a file: {big:.2f}s (target < 5)")


if __name__ == "__main__":
    main()
