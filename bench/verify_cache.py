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
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from novahunt.sandbox import Sandbox  # noqa: E402

KEY = "bench-key-0123456789"


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
        env = dict(os.environ, NOVAHUNT_HOME=tmp, NOVAHUNT_CONFIG=f"{tmp}/none.toml",
                   NOVAHUNT_HUNTER_URL=box.url, HUNTER_API_KEY=KEY,
                   NOVAHUNT_RATE_EMAIL_VERIFIER="100000/s", PYTHONPATH=str(ROOT / "src"))
        cmd = [sys.executable, "-m", "novahunt"]
        print(f"{'run':>4} {'rows':>7} {'distinct':>9} {'calls':>7} {'wall s':>8} {'rows/s':>8}")
        for run in (1, 2):
            before = box.count("email-verifier")
            started = time.monotonic()
            subprocess.run([*cmd, "verify", "--file", str(listing), "--json"], env=env,
                           check=True, capture_output=True)
            subprocess.run([*cmd, "worker", "--burst", "--concurrency", str(args.threads)],
                           env=env, check=True, capture_output=True)
            wall = time.monotonic() - started
            calls = box.count("email-verifier") - before
            print(f"{run:>4} {len(rows):>7} {len(distinct):>9} {calls:>7} {wall:>8.2f} "
                  f"{len(rows) / wall:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
