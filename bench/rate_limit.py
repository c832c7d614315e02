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
import tempfile
import time

from harness import KEY, Table, novahunt, novahunt_env, queue_collect, start_burst_worker

from novahunt.sandbox import Sandbox

PAGE = 10


def run_case(threads: int, processes: int, rate: float, requests: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, Sandbox(KEY, rate_limit_per_second=rate) as box:
        domains = [f"bench{i}.example" for i in range(10)]
        per_domain = requests // len(domains)
        for domain in domains:
            box.add_domain(domain, per_domain * PAGE)
        env = novahunt_env(tmp, box.url, HUNTER_PAGE_SIZE=str(PAGE),
                           NOVAHUNT_RATE_DOMAIN_SEARCH=f"{rate:g}/s")
        queue_collect(env, tmp, domains)
        started = time.monotonic()
        workers = [start_burst_worker(env, threads) for _ in range(processes)]
        for w in workers:
            w.wait()
        wall = time.monotonic() - started
        done = novahunt("jobs", "list", "--json", "--limit", "100", env=env)
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
    table = Table(("W", 3), ("P", 2), ("requests", 9, ".0f"), ("ideal s", 8, ".2f"),
                  ("wall s", 7, ".2f"), ("wall/ideal", 10, ".3f"), ("span s", 7, ".2f"),
                  ("span/ideal", 10, ".3f"), ("429s", 5, ".0f"), ("done", 5))
    table.header()
    for processes in (1, 2):
        for threads in (1, 4, 8):
            r = run_case(threads, processes, args.rate, args.requests)
            table.row(threads, processes, r["requests"], r["ideal"], r["wall"],
                      r["wall"] / r["ideal"], r["span"], r["span"] / r["ideal"], r["429"],
                      "yes" if r["all_completed"] else "NO")


if __name__ == "__main__":
    main()
