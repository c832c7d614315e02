"""Contention benchmark: what a CLI following every job costs the workers running them.

50 collect jobs of 20 pages each on a local Hunter sandbox (its own process, no rate
limit on either side), run by 2 `novahunt worker --burst --concurrency 4` processes.
Run A has no follower; run B has `novahunt jobs follow ID...` (all 50) polling state.db
from start to end. The two alternate, R rounds each. Printed: pages stored per second
of each run, the medians, the follower's cost (1 - B/A), and every "database is locked"
or traceback found in any process's stderr or in the log file.

    python bench/contention.py [--jobs 50] [--pages 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789"
PAGE = 10

SERVER = textwrap.dedent("""
    import sys, time
    from novahunt.sandbox import Sandbox
    box = Sandbox(sys.argv[1])
    for i in range(int(sys.argv[2])):
        box.add_domain(f"c{i}.example", int(sys.argv[3]))
    print(box.start(), flush=True)
    time.sleep(86400)
""")


def live_workers(state: Path) -> int:
    try:
        with sqlite3.connect(state, timeout=60) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM workers WHERE stopped_at IS NULL"
                                    ).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def one_run(url: str, jobs: int, follow: bool) -> tuple[float, int, list[str]]:
    """Returns (seconds, pages stored, problems seen)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, NOVAHUNT_HOME=tmp, NOVAHUNT_CONFIG=f"{tmp}/none.toml",
                   NOVAHUNT_HUNTER_URL=url, HUNTER_API_KEY=KEY, HUNTER_PAGE_SIZE=str(PAGE),
                   NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s", PYTHONPATH=str(ROOT / "src"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        cmd = [sys.executable, "-m", "novahunt"]
        listing = Path(tmp) / "domains.txt"
        listing.write_text("".join(f"c{i}.example\n" for i in range(jobs)))
        subprocess.run([*cmd, "collect", "--file", str(listing), "--yes", "--json"],
                       env=env, check=True, capture_output=True)
        state = Path(tmp) / "state.db"
        logs = [Path(tmp) / f"worker{i}.err" for i in range(2)]
        started = time.monotonic()
        workers = [subprocess.Popen([*cmd, "worker", "--burst", "--concurrency", "4"],
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=log.open("w")) for log in logs]
        follower = None
        follow_log = Path(tmp) / "follow.err"
        if follow:
            # the workers must be seen alive, or the follower would run one of its own
            while live_workers(state) < 2:
                time.sleep(0.01)
            follower = subprocess.Popen(
                [*cmd, "jobs", "follow", *map(str, range(1, jobs + 1))], env=env,
                stdout=subprocess.DEVNULL, stderr=follow_log.open("w"))
        for w in workers:
            w.wait()
        took = time.monotonic() - started
        problems = []
        if follower is not None:
            try:
                follower.wait(timeout=30)
            except subprocess.TimeoutExpired:
                follower.kill()
                problems.append("the follower did not exit 30 s after the workers")
        with sqlite3.connect(state) as conn:
            done = conn.execute("SELECT COUNT(*) FROM jobs WHERE status = 'completed'"
                                ).fetchone()[0]
            pages = conn.execute("SELECT COUNT(*) FROM api_calls"
                                 " WHERE endpoint = 'domain-search'").fetchone()[0]
            if done != jobs:
                problems += [f"job {i} ended {s}" for i, s in conn.execute(
                    "SELECT id, status FROM jobs WHERE status != 'completed'")]
        texts = [log.read_text() for log in logs]
        texts += [follow_log.read_text()] if follow else []
        texts += [p.read_text() for p in (Path(tmp) / "logs").glob("*.log*")]
        for text in texts:
            problems += [line for line in text.splitlines()
                         if "database is locked" in line or "Traceback" in line]
        if done != jobs:
            problems.append(f"only {done} of {jobs} jobs completed")
        return took, pages, problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    emails = args.pages * PAGE - 1  # the last page is short: no extra empty page
    server = subprocess.Popen([sys.executable, "-c", SERVER, KEY, str(args.jobs),
                               str(emails)], stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    rates: dict[bool, list[float]] = {False: [], True: []}
    problems: list[str] = []
    try:
        print(f"{args.jobs} jobs x {args.pages} pages, 2 workers x 4 threads")
        print(f"{'round':>5} {'follower':>9} {'pages':>6} {'seconds':>8} {'pages/s':>8}")
        for r in range(1, args.rounds + 1):
            for follow in (False, True):
                took, pages, seen = one_run(url, args.jobs, follow)
                rates[follow].append(pages / took)
                problems += seen
                print(f"{r:>5} {'yes' if follow else 'no':>9} {pages:>6} {took:>8.2f} "
                      f"{pages / took:>8.0f}")
    finally:
        server.terminate()
        server.wait()
    a, b = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"median pages/s: {a:.0f} without, {b:.0f} with the follower; "
          f"cost {(1 - b / a) * 100:.1f} % (target < 5 %)")
    print(f"'database is locked' or tracebacks: {len(problems)}")
    for line in problems[:10]:
        print("  " + line)


if __name__ == "__main__":
    main()
