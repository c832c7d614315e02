"""History benchmark: the commands a user types against a long history, timed as whole
processes (interpreter start, imports, query, output), against the same commands on an
empty home measured in the same run.

Seeds a state.db through novahunt's own migrations with N finished jobs (96 % completed,
2 % failed, 2 % canceled; three events each; a tag on every tenth) and M contacts (one
domain of 5,000, the rest 100 a domain), then runs each command R times and prints the
median and best wall time, the ratio to the empty home, and the target.

    python bench/history.py [--jobs 100000] [--contacts 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIG = "big.example"
BIG_SIZE = 5000
PER_DOMAIN = 100


def novahunt_cmd() -> list[str]:
    script = Path(sys.executable).with_name("novahunt")
    return [str(script)] if script.exists() else [sys.executable, "-m", "novahunt"]


def env_for(home: str) -> dict[str, str]:
    env = dict(os.environ, NOVAHUNT_HOME=home, NOVAHUNT_CONFIG=f"{home}/none.toml",
               PYTHONPATH=str(ROOT / "src"))
    # an installed package has its bytecode compiled; let a source checkout cache it too
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def seed(home: str, n_jobs: int, n_contacts: int) -> tuple[int, int, str]:
    """Fill state.db in `home`; returns (a job id with events, a failed job id, a
    100-contact domain)."""
    os.environ.update(env_for(home))
    sys.path.insert(0, str(ROOT / "src"))
    from novahunt import db

    database = db.open_state()
    conn = database.conn
    now = time.time()
    statuses = ["completed"] * 96 + ["failed"] * 2 + ["canceled"] * 2
    conn.execute("BEGIN")
    job_rows, events, tags = [], [], []
    for i in range(1, n_jobs + 1):
        status = statuses[i % 100]
        domain = f"d{i % 10000}.example"
        created = now - (n_jobs - i) * 20.0
        result = None if status != "completed" else json.dumps({
            "domain": domain, "organization": f"Org {i}", "pattern": "{first}.{last}",
            "emails_collected": PER_DOMAIN, "total_available": PER_DOMAIN,
            "pages_fetched": 1, "api_calls": 1, "credits": 10, "complete": True})
        error = "Hunter says the domain is invalid (400 invalid_domain)" \
            if status == "failed" else None
        params = json.dumps({"domain": domain, "max_results": 5000, "filters": {},
                             "refresh": False, "verify": False})
        job_rows.append((i, "collect", status, 3, params, f"collect:{domain}", 1,
                         int(status == "failed"), json.dumps({"offset": PER_DOMAIN}),
                         PER_DOMAIN, PER_DOMAIN, status, result, error, created, created,
                         created, created + 1, created + 3, created + 3))
        events += [(i, created, "queued", "created"),
                    (i, created + 1, "running", "claimed by worker bench-1-abc"),
                    (i, created + 3, status, error or "100 emails, 1 pages, 1 API calls")]
        if i % 10 == 0:
            tags.append((i, f"batch-{i // 1000}"))
    conn.executemany(
        "INSERT INTO jobs (id, type, status, priority, params, dedupe_key, attempts, errors,"
        " checkpoint, progress_current, progress_total, progress_stage, result, error,"
        " created_at, run_at, enqueued_at, started_at, finished_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", job_rows)
    conn.executemany("INSERT INTO job_events (job_id, at, kind, message) VALUES (?, ?, ?, ?)",
                     events)
    conn.executemany("INSERT INTO job_tags (job_id, tag) VALUES (?, ?)", tags)

    def contacts() -> object:
        for n in range(n_contacts):
            if n < BIG_SIZE:
                domain, k = BIG, n
            else:
                domain, k = f"d{(n - BIG_SIZE) // PER_DOMAIN}.example", n % PER_DOMAIN
            yield (domain, f"first{k}.last{k}@{domain}", f"First{k}", f"Last{k}",
                   "Account Executive", "sales", "senior", "personal", 90 - k % 50,
                   None, None, None,
                   json.dumps([{"domain": domain, "uri": f"https://{domain}/team",
                                "extracted_on": "2026-01-02", "last_seen_on": "2026-11-01",
                                "still_on_page": True}]),
                   "valid", "2026-11-01", "hunter", 1, now, now)

    conn.executemany(
        "INSERT INTO contacts (domain, email, first_name, last_name, position, department,"
        " seniority, type, confidence, linkedin, twitter, phone_number, sources,"
        " verification_status, verification_date, source, job_id, first_seen_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        contacts())  # type: ignore[arg-type]
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    database.close()
    return n_jobs // 2 + 3, 1 + 98 % 100 + 100 * (n_jobs // 200), "d42.example"


def timed(cmd: list[str], env: dict[str, str], runs: int) -> list[float]:
    walls = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode().strip()}")
    return walls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    nh = novahunt_cmd()
    with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as full:
        started = time.perf_counter()
        show_id, failed_id, small = seed(full, args.jobs, args.contacts)
        size = (Path(full) / "state.db").stat().st_size / 1e6
        print(f"seeded {args.jobs:,} jobs and {args.contacts:,} contacts in "
              f"{time.perf_counter() - started:.1f}s (state.db {size:.0f} MB)")
        # the empty home gets one job of its own, so `jobs show` has something to show
        subprocess.run([*nh, "generate", "--domain", "example.com", "--name", "Ada Lovelace",
                        "--json"], env=env_for(empty), check=True, capture_output=True)
        floors = [("python -c pass", [sys.executable, "-c", "pass"]),
                  ("python -c 'import typer'", [sys.executable, "-c", "import typer"])]
        for label, cmd in floors:
            print(f"interpreter floor: {label:<28} "
                  f"{statistics.median(timed(cmd, os.environ.copy(), args.runs)):.3f}s")
        cases = [
            ("--help", ["--help"], ["--help"], 0.25),
            ("jobs list --limit 50", ["jobs", "list", "--limit", "50"], None, 0.3),
            ("jobs list --limit 50 --json", ["jobs", "list", "--limit", "50", "--json"],
             None, 0.3),
            ("jobs list --status failed", ["jobs", "list", "--status", "failed"], None, 0.3),
            ("jobs list --tag batch-7", ["jobs", "list", "--tag", "batch-7"], None, 0.3),
            ("jobs list --type collect", ["jobs", "list", "--type", "collect"], None, 0.3),
            ("jobs show ID", ["jobs", "show", str(show_id)], ["jobs", "show", "1"], 0.3),
            ("jobs show ID --json", ["jobs", "show", str(failed_id), "--json"],
             ["jobs", "show", "1", "--json"], 0.3),
            (f"results DOMAIN ({PER_DOMAIN} rows)", ["results", small], None, 0.3),
            (f"results DOMAIN --format csv ({PER_DOMAIN})",
             ["results", small, "--format", "csv"], None, 0.3),
            (f"results {BIG} ({BIG_SIZE:,} rows)", ["results", BIG], None, None),
            (f"results {BIG} --format csv",
             ["results", BIG, "--format", "csv"], None, None),
        ]
        print(f"\n{'command':<36} {'empty s':>8} {'history s':>10} {'best s':>7} "
              f"{'ratio':>6} {'target':>7}  ok")
        for label, argv, empty_argv, target in cases:
            base = statistics.median(timed([*nh, *(empty_argv or argv)], env_for(empty),
                                           args.runs))
            walls = timed([*nh, *argv], env_for(full), args.runs)
            median = statistics.median(walls)
            verdict = "" if target is None else ("yes" if median < target else "NO")
            goal = "-" if target is None else f"<{target}"
            print(f"{label:<36} {base:>8.3f} {median:>10.3f} {min(walls):>7.3f} "
                  f"{median / base:>6.2f} {goal:>7}  {verdict}")


if __name__ == "__main__":
    main()
