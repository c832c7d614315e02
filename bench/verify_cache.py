"""Verification cache benchmark: verify N emails (30 % of the rows duplicates) against a
local Hunter sandbox, then the same file again.

Prints, for both runs: rows, distinct emails, Email Verifier calls, wall time (queueing
plus a `novahunt worker --burst` process draining the job) and rows per second. The
second run should make zero calls. The limiter is set far above the sandbox's speed so
that the figures show novahunt's own cost, not Hunter's rate limit.

    python bench/verify_cache.py [--rows 10000] [--threads 4]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from harness import KEY, Table, burst, novahunt, novahunt_env

from novahunt.sandbox import Sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(7)
    distinct = [f"person{i}@bench{i % 50}.example" for i in range(int(args.rows * 0.7))]
    rows = distinct + [rng.choice(distinct).upper() for _ in range(args.rows - len(distinct))]
    rng.shuffle(rows)
    with tempfile.TemporaryDirectory() as tmp, Sandbox(KEY) as box:
        listing = Path(tmp) / "leads.csv"
        listing.write_text("id,email\n" + "".join(f"{i},{e}\n" for i, e in enumerate(rows)))
        env = novahunt_env(tmp, box.url, NOVAHUNT_RATE_EMAIL_VERIFIER="100000/s")
        table = Table(("run", 4), ("rows", 7), ("distinct", 9), ("calls", 7),
                      ("wall s", 8, ".2f"), ("rows/s", 8, ".0f"))
        table.header()
        for run in (1, 2):
            before = box.count("email-verifier")
            started = time.monotonic()
            novahunt("verify", "--file", str(listing), "--json", env=env)
            burst(env, args.threads)
            wall = time.monotonic() - started
            calls = box.count("email-verifier") - before
            table.row(run, len(rows), len(distinct), calls, wall, len(rows) / wall)


if __name__ == "__main__":
    main()
