"""Big domain benchmark: peak memory of a worker collecting a domain of 50,000 emails,
and of `results` writing them out, against the same commands on a 100-email domain
measured in the same run.

The sandbox runs in its own process (its memory is not counted). Each command is a
child process whose peak RSS comes from the kernel (`wait4`'s ru_maxrss), so nothing
is sampled and nothing is missed.

    python bench/big_domain.py [--emails 50000]
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

SERVER = textwrap.dedent("""
    import sys, time
    from novahunt.sandbox import Sandbox
    box = Sandbox(sys.argv[1])
    for spec in sys.argv[2:]:
        name, count = spec.split("=")
        box.add_domain(name, int(count))
    print(box.start(), flush=True)
    time.sleep(86400)
""")


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run `novahunt ARGV`; returns (wall seconds, peak RSS in MB)."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "novahunt", *argv], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise SystemExit(f"novahunt {' '.join(argv)} exited {proc.returncode}: {err}")
    return time.monotonic() - started, usage.ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=50_000)
    args = parser.parse_args()
    sizes = sorted({100, 10_000, args.emails})
    specs = [f"size{n}.example={n}" for n in sizes]
    server = subprocess.Popen([sys.executable, "-c", SERVER, KEY, *specs],
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    rows = []
    try:
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                env = dict(os.environ, NOVAHUNT_HOME=tmp, NOVAHUNT_CONFIG=f"{tmp}/none.toml",
                           NOVAHUNT_HUNTER_URL=url, HUNTER_API_KEY=KEY,
                           HUNTER_PAGE_SIZE="100", HUNTER_MAX_COLLECT=str(max(sizes)),
                           NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s",
                           PYTHONPATH=str(ROOT / "src"))
                domain = f"size{n}.example"
                run(["collect", domain, "--yes", "--json"], env)
                wall, rss = run(["worker", "--burst", "--concurrency", "4"], env)
                with sqlite3.connect(Path(tmp) / "state.db") as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
                    pages = conn.execute("SELECT json_extract(result, '$.pages_fetched')"
                                         " FROM jobs").fetchone()[0]
                out = Path(tmp) / "out"
                csv_wall, csv_rss = run(["results", domain, "--format", "csv", "-o",
                                         f"{out}.csv"], env)
                _, json_rss = run(["results", domain, "--format", "json", "-o",
                                           f"{out}.json"], env)
                _, table_rss = run(["results", domain, "-o", f"{out}.txt"], env)
                lines = Path(f"{out}.csv").read_text(encoding="utf-8").count("\n") - 1
                if stored != n or lines != n:
                    raise SystemExit(f"{domain}: stored {stored}, csv rows {lines}")
                rows.append((n, pages, wall, rss, csv_wall, csv_rss, json_rss,
                             table_rss))
    finally:
        server.terminate()
        server.wait()
    base = rows[0]
    print("peak RSS (MB) of each process; the 100-email domain is the baseline")
    print(f"{'emails':>7} {'pages':>6} {'worker s':>9} {'worker MB':>10} {'vs base':>8} "
          f"{'csv s':>6} {'csv MB':>7} {'json MB':>8} {'table MB':>9}")
    for n, pages, wall, rss, csv_wall, csv_rss, json_rss, table_rss in rows:
        print(f"{n:>7} {pages:>6} {wall:>9.2f} {rss:>10.1f} {rss - base[3]:>+8.1f} "
              f"{csv_wall:>6.2f} {csv_rss:>7.1f} {json_rss:>8.1f} {table_rss:>9.1f}")
    big = rows[-1]
    print(f"worker peak for {big[0]:,} emails: {big[3]:.0f} MB (target < 150); results "
          f"csv grows {big[5] - base[5]:+.1f} MB from {base[0]} to {big[0]:,} rows")


if __name__ == "__main__":
    main()
