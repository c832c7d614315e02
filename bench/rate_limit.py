"""Shared rate limiter benchmark: W worker threads in P `novahunt worker` processes
against a local Hunter sandbox that enforces R requests/s (429 above it).

Prints, per (W, P): requests, the ideal time (requests / R), the measured wall time
(from starting the workers to the last one exiting, process start-up included), the
server-side span (first to last request), their ratios to the ideal, and 429s.

    python bench/rate_limit.py [--rate 10] [--requests 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from novahunt.sandbox import Sandbox  # noqa: E402

KEY = "bench-key-0123456789"
PAGE = 10


def run_case(threads: int, processes: int, rate: float, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(KEY, rate_limit_per_second=rate) as box:
        domains = [f"bench{i}.example" for i in range(10)]
        per_domain = requests // len(domains)
        for domain in domains:
            box.add_domain(domain, per_domain * PAGE)
        env = dict(os.environ, NOVAHUNT_HOME=tmp, NOVAHUNT_CONFIG=f"{tmp}/none.toml",
                   NOVAHUNT_HUNTER_URL=box.url, HUNTER_API_KEY=KEY,
                   HUNTER_PAGE_SIZE=str(PAGE), NOVAHUNT_RATE_DOMAIN_SEARCH=f"{rate:g}/s",
                   PYTHONPATH=str(ROOT / "src"))
        cmd = [sys.executable, "-m", "novahunt"]
        listing = Path(tmp) / "domains.txt"
        listing.write_text("\n".join(domains) + "\n")
        subprocess.run([*cmd, "collect", "--file", str(listing), "--yes", "--json"], env=env,
                       check=True, capture_output=True)
        started = time.monotonic()
        workers = [subprocess.Popen([*cmd, "worker", "--burst", "--concurrency", str(threads)],
                                    env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL) for _ in range(processes)]
        for w in workers:
            w.wait()
        wall = time.monotonic() - started
        done = subprocess.run([*cmd, "jobs", "list", "--json", "--limit", "100"], env=env,
                              check=True, capture_output=True, text=True)
        statuses = {job["status"] for job in json.loads(done.stdout)}
        searches = [r for r in box.requests if r.endpoint == "domain-search"]
        span = searches[-1].at - searches[0].at if searches else 0.0
        ideal = len(searches) / rate
        return {"requests": len(searches), "ideal": ideal, "wall": wall, "span": span,
                "429": sum(1 for r in searches if r.status == 429),
                "all_completed": float(statuses == {"completed"})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=100)
    args = parser.parse_args()
    print(f"server limit {args.rate:g} requests/s, {args.requests} Domain Search pages "
          f"over 10 domains, limiter set to the same rate")
    print(f"{'W':>3} {'P':>2} {'requests':>9} {'ideal s':>8} {'wall s':>7} {'wall/ideal':>10} "
          f"{'span s':>7} {'span/ideal':>10} {'429s':>5} {'done':>5}")
    for processes in (1, 2):
        for threads in (1, 4, 8):
            r = run_case(threads, processes, args.rate, args.requests)
            print(f"{threads:>3} {processes:>2} {r['requests']:>9.0f} {r['ideal']:>8.2f} "
                  f"{r['wall']:>7.2f} {r['wall'] / r['ideal']:>10.3f} {r['span']:>7.2f} "
                  f"{r['span'] / r['ideal']:>10.3f} {r['429']:>5.0f} "
                  f"{'yes' if r['all_completed'] else 'NO':>5}", flush=True)


if __name__ == "__main__":
    main()
