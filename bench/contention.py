"""Contention benchmark: what a CLI following every job costs the workers running them,
and whether any process meets "database is locked".

N collect jobs of P pages each (page size 10) on a local Hunter sandbox (its own process,
no rate limit on either side, no latency unless --latency) are run by 2
`novahunt worker --burst --concurrency 4` processes, on a fresh home each run. Each
round runs the variants in turn:

- none:  no follower (the baseline);
- plain: `novahunt jobs follow ID...` (all N jobs), started once both workers are up,
         stdout to a file (rich prints a plain line per change);
- pty:   the same on a 120x60 pseudo-terminal, so rich draws its live bars.

Printed per run: pages and contacts stored per second (from starting the workers to
both exiting); the CPU seconds of the workers, the sandbox and the follower, and of the
same follower started again once every job ended (start-up and first draw: the rest of
its CPU is polling and redrawing); how busy the CPUs were. Then the medians and the
follower's cost, 1 - follow/none (target < 5 %). Every run also checks: "database is
locked", tracebacks, internal errors, "malformed" in every stderr and log file; every
job completed, each page paid once, every contact stored, every worker row marked
stopped; the follower exited by itself and ran no worker of its own; every process with
state.db open holds SQLite's shared lock on it and the -wal file is never deleted under
two open connections (/proc/locks; a lost lock let a closing process delete the WAL
under live ones before 060f01e). Last, one traced follower: the SQL it runs per poll,
how long a poll takes, and every statement that is not a plain read.

    python bench/contention.py [--jobs 50] [--pages 80] [--rounds 3]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import textwrap
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    Table,
    novahunt_cmd,
    novahunt_env,
    proc_cpu,
    queue_collect,
    sandbox_process,
    start_burst_worker,
)

PAGE = 10
WORKERS = 2
THREADS = 4
VARIANTS = ("none", "plain", "pty")
# "no worker is running": the follower ran a worker of its own, the run is void
PROBLEM = re.compile(r"database is locked|Traceback|internal error|OperationalError"
                     r"|malformed|no worker is running")

# `novahunt ARGS...` with every statement of every state.db connection traced (sqlite3's
# trace callback, so PRAGMAs, migration checks and transactions show too), the Database
# read helpers and progress._poll timed; the summary goes to argv[1] as JSON.
TRACER = textwrap.dedent("""
    import json, re, sqlite3, sys, time
    from novahunt.state import db as ndb
    from novahunt.cli import progress
    from novahunt.cli.main import run

    seen, timed, polls, first_poll = {}, {}, [], []

    def norm(sql):
        sql = " ".join(sql.split())
        return re.sub(r"\\(\\?(?:, ?\\?)*\\)|\\((?:\\d+, ?)*\\d+\\)", "(...)", sql)

    def trace(sql):
        key = norm(sql)
        seen[key] = seen.get(key, 0) + 1

    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    sqlite3.connect = traced_connect

    def timing(name):
        method = getattr(ndb.Database, name)

        def wrapper(self, sql, params=()):
            started = time.perf_counter()
            result = method(self, sql, params)
            took = time.perf_counter() - started
            rows = len(result) if isinstance(result, list) else 1
            entry = timed.setdefault(norm(sql), [0, 0.0, 0.0, 0])
            entry[0] += 1
            entry[1] += took
            entry[2] = max(entry[2], took)
            entry[3] += rows
            return result
        setattr(ndb.Database, name, wrapper)

    for name in ("query", "one", "scalar"):
        timing(name)
    poll = progress._poll

    def timed_poll(db, ids, ended):
        started = time.perf_counter()
        if not first_poll:
            first_poll.append(time.monotonic())
        result = poll(db, ids, ended)
        polls.append((time.monotonic(), time.perf_counter() - started,
                      sum(1 for i in ids if i not in ended)))
        return result

    progress._poll = timed_poll
    code = 1
    try:
        code = run(sys.argv[2:])
    finally:
        with open(sys.argv[1], "w") as fh:
            json.dump({"statements": seen, "timed": timed, "polls": polls}, fh)
    sys.exit(code)
""")


@dataclass
class Run:
    variant: str
    seconds: float             # from starting the workers to the last one exiting
    pages: int
    contacts: int
    worker_cpu: float          # CPU seconds of both workers (wait4)
    sandbox_cpu: float         # CPU seconds the sandbox spent meanwhile
    follower_cpu: float | None
    startup_cpu: float | None  # a follower of the same jobs once they all ended
    drawn: int = 0             # bytes the follower drew on its terminal (pty)
    problems: list[str] = field(default_factory=list)
    locked: int = 0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds

    @property
    def busy(self) -> float:
        """Share of the machine's CPUs the measured processes used."""
        used = self.worker_cpu + self.sandbox_cpu + (self.follower_cpu or 0.0)
        return used / (self.seconds * (os.cpu_count() or 1))


def environment(home: Path, url: str) -> dict[str, str]:
    return novahunt_env(home, url, drop=("NO_COLOR",), HUNTER_PAGE_SIZE=str(PAGE),
                        NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s", COLUMNS="120", LINES="60",
                        TERM="xterm-256color")


def reap(proc: subprocess.Popen[Any], timeout: float | None = None) -> float | None:
    """Wait for a child; its CPU seconds (user + system, from wait4), or None if it is
    still running after `timeout`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if deadline is None else os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return float(usage.ru_utime + usage.ru_stime)
        if deadline is not None and time.monotonic() > deadline:
            return None
        time.sleep(0.02)


SHARED_FIRST = 0x40000002  # the byte range SQLite's shared lock covers (os_unix.c)


class LockProbe:
    """Watches, from /proc only (stat and readlink, never open: closing any descriptor
    of a file drops every POSIX lock its process holds on it), that every process with
    state.db open holds SQLite's shared lock on it, and that state.db-wal is not
    deleted or replaced while two or more processes have the database open. Either
    one means a WAL can be checkpointed and deleted under a live connection, whose
    later commits then go to a deleted file."""

    def __init__(self, state: Path) -> None:
        self.state = os.path.realpath(state)
        self.inode = os.stat(state).st_ino
        self.wal: int | None = -1
        self.suspects: set[int] = set()
        self.problems: list[str] = []

    def _wal(self) -> int | None:
        try:
            return os.stat(f"{self.state}-wal").st_ino
        except FileNotFoundError:
            return None

    def _has_open(self, pid: int) -> bool:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            return False
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == self.state:
                    return True
            except OSError:
                continue
        return False

    def _shared_lockers(self) -> set[int]:
        pids = set()
        with open("/proc/locks") as fh:
            for line in fh:
                f = [w for w in line.split() if w != "->"]
                if (len(f) >= 8 and f[1] == "POSIX" and f[5].endswith(f":{self.inode}")
                        and int(f[6]) <= SHARED_FIRST <= (2**63 if f[7] == "EOF"
                                                          else int(f[7]))):
                    pids.add(int(f[4]))
        return pids

    def sample(self, names: dict[int, str]) -> None:
        """`names`: the live processes to check, pid -> what it is."""
        wal = self._wal()
        holders = {pid for pid in names if self._has_open(pid)}
        locked = self._shared_lockers()
        unlocked = holders - locked
        for pid in unlocked & self.suspects:  # twice in a row: not an open in progress
            text = (f"{names[pid]} (pid {pid}) has state.db open without SQLite's shared "
                    "lock: another process may delete the WAL under it")
            if text not in self.problems:
                self.problems.append(text)
        self.suspects = unlocked
        # a -wal appearing is a first open; one vanishing or replaced under two open
        # databases is a checkpoint-and-delete under a live connection
        if self.wal not in (-1, None) and wal != self.wal and len(holders) >= 2:
            self.problems.append(f"state.db-wal was {'deleted' if wal is None else 'replaced'}"
                                 f" while {len(holders)} processes had state.db open "
                                 "(split WAL)")
        self.wal = wal


class Follower:
    """`novahunt jobs follow` (or the tracer) with stdout to a file, or on a 120x60
    pseudo-terminal that a thread drains, counting the bytes drawn."""

    def __init__(self, cmd: list[str], env: dict[str, str], home: Path, on_pty: bool,
                 name: str) -> None:
        self.err = home / f"{name}.err"
        self.drawn = 0
        self._files = [self.err.open("w")]
        self._drain: threading.Thread | None = None
        if not on_pty:
            self._files.append((home / f"{name}.out").open("w"))
            self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                         stdout=self._files[1], stderr=self._files[0])
            return
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 60, 120, 0, 0))
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=slave,
                                     stderr=self._files[0])
        os.close(slave)

        def drain() -> None:
            while True:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the follower closed the terminal
                    break
                if not chunk:
                    break
                self.drawn += len(chunk)
            os.close(master)

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()

    def finish(self, timeout: float) -> tuple[float, str | None]:
        """Wait for it to exit (killed after `timeout`): its CPU seconds and what went
        wrong, if anything."""
        trouble = None
        cpu = reap(self.proc, timeout)
        if cpu is None:
            self.proc.kill()
            cpu = reap(self.proc) or 0.0
            trouble = (f"the follower did not exit {timeout:g} s after the workers: it "
                       "never saw every job end")
        elif self.proc.returncode:
            trouble = f"the follower exited {self.proc.returncode}"
        if self._drain is not None:
            self._drain.join(5)
        for fh in self._files:
            fh.close()
        return cpu, trouble


def exited(pid: int) -> bool:
    """Whether a child has exited, without reaping it (its rusage is read by wait4)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def wait_ready(workers: Sequence[subprocess.Popen[Any]], logs: Sequence[Path]) -> None:
    """Until every worker printed its start line (it registered in state.db), so the
    follower sees them alive and runs no worker of its own. Watches their stderr
    files: opening state.db here would be one more process on it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if all("threads" in log.read_text() or exited(w.pid)
               for w, log in zip(workers, logs, strict=True)):
            return
        time.sleep(0.01)


def watch(workers: Sequence[subprocess.Popen[Any]], follower: Follower | None,
          state: Path) -> tuple[float, float, list[str]]:
    """Reap the workers, probing the locks on state.db ten times a second meanwhile:
    (the last exit on the monotonic clock, their CPU seconds, problems)."""
    problems: list[str] = []
    alive = {w.pid: w for w in workers}
    cpu = 0.0
    ended = time.monotonic()
    probe = LockProbe(state)
    next_probe = 0.0
    while alive:
        for pid, proc in list(alive.items()):
            got, status, usage = os.wait4(pid, os.WNOHANG)
            if got:
                proc.returncode = os.waitstatus_to_exitcode(status)
                cpu += usage.ru_utime + usage.ru_stime
                ended = time.monotonic()
                del alive[pid]
                if proc.returncode:
                    problems.append(f"worker {pid} exited {proc.returncode}")
        if time.monotonic() >= next_probe:
            next_probe = time.monotonic() + 0.1
            names = {pid: "a worker" for pid in alive}
            if follower is not None:  # once exited, it has no file open
                names[follower.proc.pid] = "the follower"
            probe.sample(names)
        time.sleep(0.01)
    return ended, cpu, problems + probe.problems


def check_state(home: Path, jobs: int, pages: int, logs: Sequence[Path]) -> list[str]:
    """Once every process is gone (nothing here can meet a lock or split the WAL):
    every job completed, each page paid once, every contact stored, every worker row
    stopped, every job a worker logged as completed completed in state.db."""
    emails = pages * PAGE - 1
    conn = sqlite3.connect(home / "state.db")
    try:
        statuses = dict(conn.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status"))
        paid = conn.execute("SELECT COUNT(*) FROM api_calls"
                            " WHERE endpoint = 'domain-search'").fetchone()[0]
        stored = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        running = conn.execute("SELECT COUNT(*) FROM workers WHERE stopped_at IS NULL"
                               ).fetchone()[0]
        done = {str(r[0]) for r in conn.execute(
            "SELECT id FROM jobs WHERE status = 'completed'")}
    finally:
        conn.close()
    problems = []
    if statuses.get("completed", 0) != jobs:
        problems.append(f"jobs by status at the end: {statuses} (want {jobs} completed)")
    if paid != jobs * pages:
        problems.append(f"{paid} pages paid for, {jobs * pages} wanted (fetched twice?)")
    if stored != jobs * emails:
        problems.append(f"{stored} contacts stored, {jobs * emails} served")
    if running:
        problems.append(f"{running} worker row(s) never marked stopped (a lost write)")
    said = set()
    for log in logs:
        said |= set(re.findall(r"job (\d+) collect \S+: completed", log.read_text()))
    if said - done:
        problems.append(f"{len(said - done)} job(s) a worker logged as completed are not "
                        "completed in state.db (lost commits)")
    return problems


def one_run(url: str, server: int, jobs: int, pages: int, variant: str,
            tracer: bool = False) -> tuple[Run, dict[str, Any] | None]:
    with tempfile.TemporaryDirectory(prefix="novahunt-contention-") as tmp:
        home = Path(tmp)
        env = environment(home, url)
        created = queue_collect(env, home, [f"c{i}.example" for i in range(jobs)])
        ids = [str(job["id"]) for job in created]
        follow = [*novahunt_cmd(), "jobs", "follow", *ids]
        logs = [home / f"worker{i}.err" for i in range(WORKERS)]
        files = [log.open("w") for log in logs]
        sandbox_before = proc_cpu(server)
        started = time.monotonic()
        workers = [start_burst_worker(env, THREADS, stdin=subprocess.DEVNULL, stderr=fh)
                   for fh in files]
        follower = None
        trace_out = home / "trace.json"
        if variant != "none":
            wait_ready(workers, logs)
            if tracer:
                follow = [sys.executable, "-c", TRACER, str(trace_out), "jobs", "follow", *ids]
            follower = Follower(follow, env, home, variant == "pty", "follow")
        ended, worker_cpu, problems = watch(workers, follower, home / "state.db")
        sandbox_cpu = proc_cpu(server) - sandbox_before
        for fh in files:
            fh.close()
        follower_cpu = startup_cpu = None
        texts = [log.read_text() for log in logs]
        if follower is not None:
            follower_cpu, trouble = follower.finish(timeout=30)
            problems += [trouble] if trouble else []
            texts.append(follower.err.read_text())
        problems += check_state(home, jobs, pages, logs)
        if follower is not None and not tracer:
            # the same follower once every job ended: start-up, one poll, the first draw
            again = Follower(follow, env, home, variant == "pty", "again")
            startup_cpu, trouble = again.finish(timeout=30)
            problems += [trouble] if trouble else []
            texts.append(again.err.read_text())
        texts += [p.read_text(errors="replace") for p in (home / "logs").glob("*.log*")]
        hits = [line.strip() for text in texts for line in text.splitlines()
                if PROBLEM.search(line)]
        trace = json.loads(trace_out.read_text()) if tracer and trace_out.exists() else None
        run = Run(variant, ended - started, jobs * pages, jobs * (pages * PAGE - 1),
                  worker_cpu, sandbox_cpu, follower_cpu, startup_cpu,
                  follower.drawn if follower is not None else 0, problems + hits,
                  sum("database is locked" in line for line in hits))
        return run, trace


def print_trace(trace: dict[str, Any], jobs: int) -> None:
    polls = trace["polls"]
    if not polls:
        print("traced follower: no poll recorded")
        return
    span = polls[-1][0] - polls[0][0]
    took = sorted(p[1] for p in polls)
    print(f"\ntraced follower (jobs follow of {jobs} jobs, stdout to a file): "
          f"{len(polls)} polls in {span:.1f} s, one per {span / max(1, len(polls) - 1):.3f} s;"
          f" a poll takes median {statistics.median(took) * 1000:.2f} ms, "
          f"max {took[-1] * 1000:.2f} ms; jobs still read per poll: first "
          f"{polls[0][2]}, median {statistics.median(p[2] for p in polls):.0f}")
    print(f"{'count':>6} {'/poll':>6} {'mean ms':>8} {'max ms':>7} {'rows':>6}  statement")
    timed: dict[str, list[float]] = trace["timed"]
    for sql, count in sorted(trace["statements"].items(), key=lambda kv: -kv[1]):
        entry = timed.get(sql)
        mean = f"{entry[1] / entry[0] * 1000:8.3f}" if entry else f"{'-':>8}"
        peak = f"{entry[2] * 1000:7.2f}" if entry else f"{'-':>7}"
        rows = f"{entry[3] / entry[0]:6.1f}" if entry else f"{'-':>6}"
        print(f"{count:>6} {count / len(polls):>6.2f} {mean} {peak} {rows}  {sql[:90]}")
    reads = ("SELECT", "PRAGMA JOURNAL_MODE", "PRAGMA DATABASE_LIST")
    other = {sql: n for sql, n in trace["statements"].items()
             if not sql.upper().startswith(reads)}
    print("statements that are not plain reads: " + (
        "; ".join(f"{sql[:70]} (x{n})" for sql, n in other.items()) or "none"))
    begins = sum(n for sql, n in other.items() if sql.upper().startswith("BEGIN"))
    print(f"transactions opened by the follower: {begins}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--pages", type=int, default=80, help="pages of 10 per job")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the sandbox waits before each answer")
    parser.add_argument("--variants", default=",".join(VARIANTS),
                        help="comma-separated, run in this order each round")
    parser.add_argument("--no-trace", action="store_true", help="skip the traced follower")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    if not set(variants) <= set(VARIANTS) or "none" not in variants:
        parser.error(f"--variants: from {', '.join(VARIANTS)}, with none (the baseline)")
    emails = args.pages * PAGE - 1  # the last page is short: no extra empty page
    runs: list[Run] = []
    trace = None
    domains = {f"c{i}.example": emails for i in range(args.jobs)}
    with sandbox_process(domains, latency=args.latency) as (server, url):
        print(f"{args.jobs} jobs x {args.pages} pages of {PAGE}, {WORKERS} workers x {THREADS}"
              f" threads, sandbox latency {args.latency * 1000:g} ms, {os.cpu_count()} CPUs; "
              "cpu columns are CPU seconds in the run")
        table = Table(("round", 5), ("follower", 8), ("pages", 6), ("seconds", 8, ".2f"),
                      ("pages/s", 8, ".0f"), ("contacts/s", 10, ".0f"), ("workers", 8, ".2f"),
                      ("sandbox", 8, ".2f"), ("follower", 8, ".2f"), ("startup", 8, ".2f"),
                      ("busy", 5), ("problems", 8))
        table.header()
        for r in range(1, args.rounds + 1):
            for variant in variants:
                run, _ = one_run(url, server.pid, args.jobs, args.pages, variant)
                runs.append(run)
                table.row(r, variant, run.pages, run.seconds, run.pages_per_s,
                          run.contacts / run.seconds, run.worker_cpu, run.sandbox_cpu,
                          "-" if run.follower_cpu is None else run.follower_cpu,
                          "-" if run.startup_cpu is None else run.startup_cpu,
                          f"{run.busy * 100:.0f}%", len(run.problems))
        if not args.no_trace:
            _, trace = one_run(url, server.pid, args.jobs, args.pages, "plain", tracer=True)

    base = statistics.median(r.pages_per_s for r in runs if r.variant == "none")
    print(f"\nmedian pages/s without a follower: {base:.0f}")
    for variant in (v for v in variants if v != "none"):
        mine = [r for r in runs if r.variant == variant]
        rate = statistics.median(r.pages_per_s for r in mine)
        cost = (1 - rate / base) * 100
        cpu = statistics.median(r.follower_cpu or 0.0 for r in mine)
        startup = statistics.median(r.startup_cpu or 0.0 for r in mine)
        seconds = statistics.median(r.seconds for r in mine)
        drawn = statistics.median(r.drawn for r in mine) / seconds / 1000
        print(f"with the {variant} follower: median {rate:.0f} pages/s, cost {cost:.1f} % "
              f"(target < 5 %: {'yes' if cost < 5 else 'NO'}); follower CPU {cpu:.2f} s a "
              f"run, of which {startup:.2f} s start-up and first draw, so polling "
              f"{max(0.0, cpu - startup) / seconds * 100:.1f} % of one CPU"
              + (f"; {drawn:.0f} kB/s drawn" if variant == "pty" else ""))
    locked = sum(r.locked for r in runs)
    problems = [(r.variant, p) for r in runs for p in r.problems]
    print(f"'database is locked' lines: {locked}; problems in all runs: {len(problems)}")
    for variant, line in list(dict.fromkeys(problems))[:15]:
        print(f"  [{variant}] {line[:160]}")
    if trace is not None:
        print_trace(trace, args.jobs)


if __name__ == "__main__":
    main()
