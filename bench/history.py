"""History benchmark: the read commands a user types against a long history, each timed
as a whole process (interpreter start, imports, queries, output), next to the same
commands on an empty home and the interpreter's own floor, all in the same run.

Target: with 100,000 finished jobs and 1,000,000 contacts in state.db, `jobs list
--limit 50`, `jobs list --status failed`, `jobs show ID` and `results DOMAIN` each answer
in under 0.3 s wall time, and `novahunt --help` in under 0.25 s.

The state.db is made by novahunt's own migrations, then filled in big transactions with
what the runners write: collect jobs (96 % completed, 2 % failed, 2 % canceled) and 2 %
verify jobs with their items, three to seven events a job, tags on some, the API-call
ledger, collections and domain facts, 1,000,000 contacts (one domain of 5,000 whose pages
arrive among the others', the rest 100 a domain) and the verifications of 200,000 of
them. No ANALYZE: novahunt never runs one, so the planner sees what a user's file shows
it (`--analyze` adds one, to measure what statistics would change).

Printed: seeding time; each command's median and best wall time, its time spent
importing (`-X importtime`), its in-process time once imported, the ratio to the empty
home and the target; then, per command, every SELECT it runs with SQLite's query plan and
its own time on the big file; then a pyinstrument profile of the slowest commands.

    python bench/history.py [--jobs 100000] [--contacts 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import harness

BIG = "big.example"
BIG_SIZE = 5000
PER_DOMAIN = 100
VERIFY_EVERY = 50          # every 50th job verifies a domain's contacts: 2 %
WORKER = "bench-host-4242-a1b2c3"
SHOW_TIMEOUT = 60.0


def dumps(value: Any) -> str:
    """As jobs._dumps writes job params, results and checkpoints."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def novahunt_cmd() -> list[str]:
    """The console script users run; `python -m novahunt` if it is not installed."""
    return harness.novahunt_cmd(installed=True)


def env_for(home: Path) -> dict[str, str]:
    """A home of its own, no key, no colours."""
    return harness.novahunt_env(home, drop=("NO_COLOR",))


# -- seeding ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Picks:
    """What the timed commands ask for in the seeded home."""
    failed_id: int      # a failed job that was retried: seven events
    done_id: int        # a completed collect job: three events
    small: str          # a 100-contact domain, partly verified
    tag: str            # a tag on 100 jobs
    wide_tag: str       # a tag on 5 % of the jobs


def _status(i: int) -> str:
    r = (i * 7919) % 100   # spread evenly, not in runs
    return "completed" if r < 96 else "failed" if r < 98 else "canceled"


def _email(domain: str, k: int) -> str:
    return f"first{k}.last{k}@{domain}"


def seed(home: Path, n_jobs: int, n_contacts: int, analyze: bool) -> Picks:
    """Fill `home`/state.db through novahunt's migrations, then in bulk."""
    os.environ.update(env_for(home))
    from novahunt.runners.collect import dedupe_key, filters_key
    from novahunt.state import db

    database = db.open_state()
    conn = database.conn
    n_domains = max(1, (n_contacts - BIG_SIZE) // PER_DOMAIN)
    now = time.time()
    start = now - n_jobs * 20.0    # a job every 20 s: 100,000 jobs over 23 days
    facts = {"organization": "Org", "pattern": "{first}.{last}"}
    jobs_rows: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    tags: list[tuple[int, str]] = []
    items: list[tuple[Any, ...]] = []
    calls: list[tuple[Any, ...]] = []
    collections: list[tuple[Any, ...]] = []
    verified: dict[str, float] = {}
    picks: dict[str, int] = {}
    for i in range(1, n_jobs + 1):
        status = _status(i)
        created = start + i * 20.0
        began = created + 1.0
        ended = created + 3.0
        verify = i % VERIFY_EVERY == 1
        domain = BIG if i % 10_000 == 7 else f"d{i % n_domains}.example"
        size = BIG_SIZE if domain == BIG else PER_DOMAIN
        if verify:
            domain = BIG if i == 1 else f"d{(i // VERIFY_EVERY) % n_domains}.example"
            size = BIG_SIZE if domain == BIG else PER_DOMAIN
            kind = "verify"
            params: dict[str, Any] = {
                "emails": size, "max_age": 30 * 86400.0, "recheck": False,
                "source": f"domain:{domain}", "target": f"domain:{domain}"}
            key = None
            result: dict[str, Any] | None = {
                "emails": size, "verified": size * 4 // 5, "cached": size // 5,
                "invalid_syntax": 0, "claimed": 0, "unverified": 0,
                "by_status": {"valid": size * 3 // 5, "invalid": size // 5,
                              "accept_all": size // 5},
                "api_calls": size * 4 // 5, "credits": size * 4 // 5}
            checkpoint: dict[str, Any] | None = {"done": size}
            message = (f"{size} emails: {size * 4 // 5} verified, {size // 5} from the "
                       f"cache, 0 bad syntax, {size * 4 // 5} API calls")
        else:
            kind = "collect"
            params = {"department": None, "domain": domain, "max_results": 5000,
                      "refresh": False, "seniority": None, "type": None}
            key = dedupe_key(params)
            pages = -(-size // 100)
            result = {"domain": domain, **facts, "emails_collected": size,
                      "total_available": size, "pages_fetched": pages, "api_calls": pages,
                      "credits": pages, "complete": True}
            checkpoint = {"offset": size, "pages": pages, "total": size, "emails": size,
                          **facts}
            message = f"{size} emails, {pages} pages, {pages} API calls"
        events.append((i, created, "queued", "created"))
        error = None
        attempts = errors = 1
        if status == "completed":
            events += [(i, began, "running", f"claimed by worker {WORKER}"),
                       (i, ended, "completed", message)]
            done = size
        elif status == "canceled":
            events.append((i, created + 2.0, "canceled", "canceled before it ran"))
            result = checkpoint = None
            attempts = errors = done = 0
        elif i % 4 == 0:   # a permanent error
            error = "Hunter refused the request (400 invalid_domain): check the domain"
            events += [(i, began, "running", f"claimed by worker {WORKER}"),
                       (i, ended, "failed", error)]
            result = checkpoint = None
            done = 0
        else:              # retryable errors until the last attempt
            boom = "Hunter answered 503 (service unavailable)"
            error = f"{boom} (gave up after 3 attempts)"
            events += [(i, began, "running", f"claimed by worker {WORKER}"),
                       (i, began + 1, "retrying", f"{boom}; attempt 2 in 4s"),
                       (i, began + 6, "running", f"claimed by worker {WORKER}"),
                       (i, began + 7, "retrying", f"{boom}; attempt 3 in 9s"),
                       (i, began + 17, "running", f"claimed by worker {WORKER}"),
                       (i, began + 18, "failed", error)]
            ended = began + 18
            attempts = errors = 3
            result = checkpoint = None
            done = 0
            if i > n_jobs // 2:
                picks.setdefault("failed_id", i)
        if status == "completed" and not verify and domain != BIG and i > n_jobs // 2:
            picks.setdefault("done_id", i)
        ran = status != "canceled"
        jobs_rows.append((
            i, kind, status, 3, dumps(params), key, attempts, errors,
            None if checkpoint is None else dumps(checkpoint), done, size, status, None,
            None if result is None else dumps(result), error, began + 0.5 if ran else None,
            created, created, created, began if ran else None, ended if ran else None,
            ended if ran else created + 2.0))
        if i % 10 == 0:
            tags.append((i, f"batch-{i // 1000}"))
        if i % 20 == 0:
            tags.append((i, "crm-sync"))
        if verify:   # a verify job's input list, stored when it was created
            outcome = "done" if status == "completed" else "pending"
            items += [(i, k, _email(domain, k), outcome,
                       ("cached" if k % 5 == 0 else "verified") if outcome == "done" else None,
                       0) for k in range(size)]
        if status == "canceled":
            continue
        endpoint = "email-verifier" if verify else "domain-search"
        if status == "failed":
            for n in range(attempts):
                code = 400 if attempts == 1 else 503
                calls.append((began + 6 * n, "hunter", endpoint, code, None, i, 210.0,
                              f"domain={domain}", 0, None))
            continue
        if verify:
            for k in range(size):
                email = _email(domain, k)
                if k % 5 != 0:
                    calls.append((began, "hunter", endpoint, 200, None, i, 640.0,
                                  f"email={email}", 1, "verification"))
                verified.setdefault(email, began)
        else:
            for n in range(-(-size // 100)):
                calls.append((began + n * 0.2, "hunter", endpoint, 200, None, i, 380.0,
                              f"domain={domain} offset={n * 100} limit=100", 1, "search"))
            collections.append((domain, filters_key(params), 5000, size, size, 1, i, ended))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO jobs (id, type, status, priority, params, dedupe_key, attempts, errors,"
        " checkpoint, progress_current, progress_total, progress_stage, progress_message,"
        " result, error, heartbeat_at, created_at, run_at, enqueued_at, started_at,"
        " finished_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        jobs_rows)
    conn.executemany("INSERT INTO job_events (job_id, at, kind, message) VALUES (?, ?, ?, ?)",
                     events)
    conn.executemany("INSERT INTO job_tags (job_id, tag) VALUES (?, ?)", tags)
    conn.executemany(
        "INSERT INTO job_items (job_id, seq, value, state, outcome, tries)"
        " VALUES (?, ?, ?, ?, ?, ?)", items)
    conn.executemany(
        "INSERT INTO api_calls (at, provider, endpoint, status, error_id, job_id,"
        " duration_ms, detail, credits, credit_kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        calls)
    conn.executemany(
        "INSERT INTO collections (domain, filters, max_results, emails, total_available,"
        " complete, job_id, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", collections)
    del jobs_rows, events, items, calls, collections
    conn.executemany(
        "INSERT INTO domains (domain, organization, pattern, accept_all, webmail, disposable,"
        " total_available, updated_at) VALUES (?, 'Org', '{first}.{last}', 0, 0, 0, ?, ?)",
        [(BIG, BIG_SIZE, now)] + [(f"d{k}.example", PER_DOMAIN, now)
                                  for k in range(n_domains)])
    conn.executemany(
        "INSERT INTO contacts (domain, email, first_name, last_name, position, department,"
        " seniority, type, confidence, linkedin, twitter, phone_number, sources,"
        " verification_status, verification_date, source, job_id, first_seen_at,"
        " last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _contacts(n_contacts, n_domains, start))
    conn.executemany(
        "INSERT INTO verifications (email, status, result, score, answer, reason, source,"
        " first_verified_at, last_verified_at, asked_count)"
        " VALUES (?, ?, ?, ?, ?, NULL, 'hunter', ?, ?, 1)",
        ((email, *_verdict(n), at, at) for n, (email, at) in enumerate(verified.items())))
    conn.execute("COMMIT")
    if analyze:
        conn.execute("ANALYZE")
    database.close()
    small = next(f"d{k}.example" for k in range(n_domains)
                 if _email(f"d{k}.example", 1) in verified)
    return Picks(picks.get("failed_id", 2), picks.get("done_id", 3), small,
                 f"batch-{n_jobs // 2000}", "crm-sync")


def _verdict(n: int) -> tuple[str, str, int, str]:
    status, result, score = [("valid", "deliverable", 96), ("valid", "deliverable", 91),
                             ("invalid", "undeliverable", 12),
                             ("accept_all", "risky", 70)][n % 4]
    answer = {"status": status, "result": result, "score": score, "regexp": True,
              "gibberish": False, "disposable": False, "webmail": False, "mx_records": True,
              "smtp_server": True, "smtp_check": status == "valid", "accept_all":
              status == "accept_all", "block": False, "sources": []}
    return status, result, score, json.dumps(answer)


def _contacts(n_contacts: int, n_domains: int, start: float) -> Iterator[tuple[Any, ...]]:
    """Rows as contacts.save_contacts writes them, a domain's page at a time; the big
    domain's 50 pages come spread among the other domains' pages, as a long collection
    running next to short ones does."""
    big_pages = -(-min(BIG_SIZE, n_contacts) // PER_DOMAIN)
    every = max(1, n_domains // big_pages)
    page = 0
    for k in range(n_domains):
        if k % every == 0 and page < big_pages:
            yield from _page(BIG, page * PER_DOMAIN, min(BIG_SIZE, n_contacts), 7, start)
            page += 1
        yield from _page(f"d{k}.example", 0, PER_DOMAIN, k or n_domains, start)
    while page < big_pages:
        yield from _page(BIG, page * PER_DOMAIN, min(BIG_SIZE, n_contacts), 7, start)
        page += 1


def _page(domain: str, first: int, limit: int, job_id: int,
          start: float) -> Iterator[tuple[Any, ...]]:
    seen = start + job_id * 20.0
    for k in range(first, min(first + PER_DOMAIN, limit)):
        yield (domain, _email(domain, k), f"First{k}", f"Last{k}", "Account Executive",
               "sales", "senior", "personal", 99 - k % 60,
               f"https://www.linkedin.com/in/first{k}-last{k}" if k % 3 == 0 else None,
               None, "+1 415 555 0100" if k % 7 == 0 else None,
               json.dumps([{"domain": domain, "uri": f"https://{domain}/team",
                            "extracted_on": "2026-01-02", "last_seen_on": "2026-11-01",
                            "still_on_page": True}]),
               "valid" if k % 2 else "accept_all", "2026-11-01", "hunter_domain_search",
               job_id, seen, seen)


# -- timing -------------------------------------------------------------------------------

def wall(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          timeout=SHOW_TIMEOUT)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {done.stderr.decode().strip()}")
    return took


def import_seconds(argv: list[str], env: dict[str, str]) -> float:
    """What the whole process spends importing (the top-level entries of -X importtime),
    `python -m novahunt` standing in for the console script."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "novahunt", *argv],
                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, timeout=SHOW_TIMEOUT, check=False)
    total = 0
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and not m.group(2):
            total += int(m.group(1))
    return total / 1e6


def top_imports(module: str, n: int) -> list[tuple[str, float]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                          env=env_for(Path(tempfile.gettempdir()) / "novahunt-bench-none"),
                          capture_output=True, text=True, check=True)
    found: dict[str, float] = {}
    for line in done.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if m and len(m.group(2)) <= 2:
            found[m.group(3)] = int(m.group(1)) / 1e6
    return sorted(found.items(), key=lambda kv: -kv[1])[:n]


@contextlib.contextmanager
def traced_sql(into: list[str] | None) -> Iterator[None]:
    """Every statement novahunt's connections run, expanded with its parameters."""
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn: sqlite3.Connection = real(*args, **kwargs)
        if into is not None:
            conn.set_trace_callback(into.append)
        return conn

    sqlite3.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = real


def in_process(home: Path, argv: list[str], statements: list[str] | None = None) -> float:
    """Run the command inside this process (imports already paid); its seconds."""
    os.environ.update(env_for(home))
    from novahunt.cli.main import run

    sink = io.StringIO()
    with traced_sql(statements), contextlib.redirect_stdout(sink), \
            contextlib.redirect_stderr(sink):
        started = time.perf_counter()
        code = run(argv)
        took = time.perf_counter() - started
    if code != 0:
        raise SystemExit(f"in-process {argv} exited {code}: {sink.getvalue()[-400:]}")
    return took


def best(fn: Callable[[], float], runs: int) -> float:
    return min(fn() for _ in range(runs))


def explain(home: Path, label: str, argv: list[str]) -> None:
    """Every SELECT the command runs: its own time on the big file and its plan."""
    statements: list[str] = []
    in_process(home, argv, statements)
    conn = sqlite3.connect(f"file:{home / 'state.db'}?mode=ro", uri=True)
    print(f"\n$ novahunt {' '.join(argv)}   ({label})")
    other = [sql for sql in statements if not sql.lstrip().upper().startswith("SELECT")]
    print(f"  and {len(other)} other statements: "
          + "; ".join(dict.fromkeys(sql.split("(")[0].strip()[:40] for sql in other)))
    for sql in dict.fromkeys(statements):
        if sql in other:
            continue

        def run_it(sql: str = sql) -> float:
            started = time.perf_counter()
            conn.execute(sql).fetchall()
            return time.perf_counter() - started

        took = best(run_it, 3)
        short = sql if len(sql) < 150 else sql[:110] + " ... " + sql[-35:]
        print(f"  {took * 1000:7.2f} ms  {short}")
        for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"):
            print(f"             plan: {row[3]}")
    conn.close()


def profile(home: Path, argv: list[str], lines: int = 45) -> None:
    """pyinstrument over the whole process; frames of 5 ms and more."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        subprocess.run([sys.executable, "-m", "pyinstrument", "-i", "0.0005", "-r", "text",
                        "-o", report.name, "-m", "novahunt", *argv], env=env_for(home),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        text = report.read().splitlines()
    print(f"\n$ novahunt {' '.join(argv)}  (pyinstrument, frames of 5 ms and more)")
    shown = 0
    for ln in text:
        m = re.match(r"^[\s│├└─]*(\d+\.\d+) ", ln)
        if m and float(m.group(1)) >= 0.005 and shown < lines:
            print(f"  {ln.rstrip()[:130]}")
            shown += 1


# -- main ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    empty_argv: list[str] | None   # what to run on the empty home, if not the same
    target: float | None


def cases(p: Picks) -> list[Case]:
    show_empty = ["jobs", "show", "1"]
    return [
        Case("--help", ["--help"], None, 0.25),
        Case("jobs list --limit 50", ["jobs", "list", "--limit", "50"], None, 0.3),
        Case("jobs list --limit 50 --json", ["jobs", "list", "--limit", "50", "--json"],
             None, 0.3),
        Case("jobs list --status failed", ["jobs", "list", "--status", "failed"], None, 0.3),
        Case("jobs list --status failed --json",
             ["jobs", "list", "--status", "failed", "--json"], None, 0.3),
        Case("jobs list --status completed", ["jobs", "list", "--status", "completed"],
             None, None),
        Case("jobs list --status canceled", ["jobs", "list", "--status", "canceled"],
             None, None),
        Case("jobs list --type verify", ["jobs", "list", "--type", "verify"], None, None),
        Case("jobs list --type collect", ["jobs", "list", "--type", "collect"], None, None),
        Case(f"jobs list --tag {p.tag} (100 jobs)", ["jobs", "list", "--tag", p.tag], None,
             None),
        Case(f"jobs list --tag {p.wide_tag} (5 %)", ["jobs", "list", "--tag", p.wide_tag],
             None, None),
        Case("jobs show ID (failed, 7 events)", ["jobs", "show", str(p.failed_id)],
             show_empty, 0.3),
        Case("jobs show ID --json (failed)", ["jobs", "show", str(p.failed_id), "--json"],
             [*show_empty, "--json"], 0.3),
        Case("jobs show ID (completed)", ["jobs", "show", str(p.done_id)], show_empty, 0.3),
        Case(f"results {p.small} ({PER_DOMAIN})", ["results", p.small], None, 0.3),
        Case(f"results {p.small} --format json", ["results", p.small, "--format", "json"],
             None, 0.3),
        Case(f"results {BIG} ({BIG_SIZE:,})", ["results", BIG], None, 0.3),
        Case(f"results {BIG} --format json", ["results", BIG, "--format", "json"], None,
             0.3),
        Case(f"results {BIG} --format csv", ["results", BIG, "--format", "csv"], None, 0.3),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE after seeding (novahunt itself never does)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="seed into this folder and leave it there; a folder that "
                             "already holds one is reused as it is")
    parser.add_argument("--no-explain", action="store_true")
    parser.add_argument("--profile", type=int, default=2,
                        help="profile the N slowest commands with pyinstrument")
    args = parser.parse_args()
    nh = novahunt_cmd()
    scratch = Path(tempfile.mkdtemp(prefix="novahunt-history-"))
    try:
        full = args.keep or scratch / "full"
        empty = scratch / "empty"
        full.mkdir(parents=True, exist_ok=True)
        empty.mkdir()
        picks_file = full / "picks.json"
        if (full / "state.db").exists() and picks_file.exists():
            picks = Picks(**json.loads(picks_file.read_text()))
            print(f"reusing {full / 'state.db'}")
        else:
            started = time.perf_counter()
            picks = seed(full, args.jobs, args.contacts, args.analyze)
            picks_file.write_text(json.dumps(picks.__dict__))
            size = (full / "state.db").stat().st_size / 1e6
            print(f"seeded {args.jobs:,} jobs and {args.contacts:,} contacts in "
                  f"{time.perf_counter() - started:.1f}s (state.db {size:.0f} MB"
                  f"{', analyzed' if args.analyze else ', no ANALYZE'})")
        with contextlib.closing(sqlite3.connect(full / "state.db")) as conn:
            counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                      for t in ("jobs", "job_events", "job_tags", "job_items", "contacts",
                                "verifications", "api_calls")}
        print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
        # the empty home gets one job of its own, so `jobs show 1` has something to show
        subprocess.run([*nh, "generate", "--domain", "example.com", "--name", "Ada Lovelace",
                        "--json"], env=env_for(empty), check=True, capture_output=True)
        print(f"command: {' '.join(nh)}; {args.runs} runs each, alternating homes; "
              f"{os.cpu_count()} CPUs, SQLite {sqlite3.sqlite_version}, "
              f"Python {sys.version.split()[0]}")
        plain = env_for(empty)
        for label, cmd in [("python -c pass", [sys.executable, "-c", "pass"]),
                           ("python -c 'import typer'", [sys.executable, "-c", "import typer"]),
                           ("python -c 'import novahunt.cli.main'",
                            [sys.executable, "-c", "import novahunt.cli.main"])]:
            walls = [wall(cmd, plain) for _ in range(args.runs)]
            print(f"floor: {label:<38} median {statistics.median(walls):.3f}s  "
                  f"best {min(walls):.3f}s")
        print("imports of novahunt.cli.main, biggest: " + ", ".join(
            f"{name} {s * 1000:.0f} ms" for name, s in top_imports("novahunt.cli.main", 8)))

        print(f"\n{'command':<38} {'empty s':>7} {'hist s':>7} {'best s':>7} "
              f"{'ratio':>5} {'import':>6} {'inproc':>7} {'target':>6}  ok")
        table: list[tuple[Case, float]] = []
        for case in cases(picks):
            base_argv = case.empty_argv or case.argv
            base, hist = [], []
            for _ in range(args.runs):
                base.append(wall([*nh, *base_argv], env_for(empty)))
                hist.append(wall([*nh, *case.argv], env_for(full)))
            median = statistics.median(hist)
            imports = import_seconds(case.argv, env_for(full))
            work = best(partial(in_process, full, case.argv), 3) \
                if case.argv != ["--help"] else 0.0
            ok = "" if case.target is None else "yes" if median < case.target else "NO"
            goal = "-" if case.target is None else f"<{case.target}"
            print(f"{case.label:<38} {statistics.median(base):>7.3f} {median:>7.3f} "
                  f"{min(hist):>7.3f} {median / statistics.median(base):>5.2f} "
                  f"{imports:>6.3f} {work:>7.3f} {goal:>6}  {ok}", flush=True)
            table.append((case, median))
        judged = [(c, m) for c, m in table if c.target is not None]
        missed = [c.label for c, m in judged if m >= (c.target or 0.0)]
        print(f"\ntargets met: {len(judged) - len(missed)} of {len(judged)}"
              + (f"; missed: {', '.join(missed)}" if missed else ""))
        print("import: seconds importing in that process (-X importtime, -m novahunt);"
              "\ninproc: the command run again inside this process, imports already paid"
              " (best of 3)")

        if not args.no_explain:
            print("\n-- SQL each command runs, best of 3 on the big file, and SQLite's plan --")
            seen: set[str] = set()
            for case, _ in table:
                # the output format changes no SQL: one listing per query
                key = " ".join(case.argv).replace(" --json", "").split(" --format")[0]
                if case.argv != ["--help"] and key not in seen:
                    seen.add(key)
                    explain(full, case.label, case.argv)
        slowest = sorted(table, key=lambda t: -t[1])[:args.profile]
        for case, _ in slowest:
            profile(full, case.argv)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
