"""Big domain benchmark: the peak memory of `novahunt worker` collecting one domain of
50,000 emails, and whether `novahunt results` streams them out (its peak memory flat in
the row count), against the same commands on a 100-email domain in the same run.

Target: the worker's peak RSS stays under 150 MB for 50,000 emails, and `results DOMAIN
--format csv -o F` does not grow with the rows.

The Hunter sandbox runs in its own process (its memory and CPU are not the driver's)
with no free-plan cap, so all 50,000 addresses are readable; HUNTER_PAGE_SIZE=100,
HUNTER_MAX_COLLECT is raised to the biggest domain and the limiter is set out of the
way. Every size gets a fresh NOVAHUNT_HOME. Each measured command is one child process,
and its peak RSS is taken twice: from the kernel (`wait4`'s ru_maxrss of that child,
exact) and by sampling it with psutil every 50 ms. A last worker row collects four
domains at once (the same total of emails over the worker's four threads).

    python bench/big_domain.py [--emails 50000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from harness import Table, novahunt, novahunt_cmd, novahunt_env, sandbox_process

TARGET_MB = 150.0
BASE = 100            # emails of the baseline domain
MIDDLE = 10_000       # a middle size, to tell a fixed cost from a per-row one
THREADS = 4
SAMPLE_EVERY = 0.05   # seconds between psutil samples


@dataclass(frozen=True)
class Run:
    wall: float       # seconds, process start to exit
    maxrss: float     # MB, the kernel's peak RSS of the process
    sampled: float    # MB, the highest psutil sample


def mb(value: float) -> float:
    return value / (1024 * 1024)


def run(argv: list[str], env: dict[str, str], *, stdout: Path | None = None) -> Run:
    """Run `novahunt ARGV` as a child (stdout to a file, or discarded) and measure it.

    Linux counts in a child's ru_maxrss the peak RSS of the memory it replaced at exec:
    with vfork (what subprocess uses) that is this driver's, so the driver must stay
    smaller than what it measures; `main` prints its own peak next to the figures."""
    with tempfile.TemporaryFile() as errors, \
            (stdout.open("wb") if stdout else open(os.devnull, "wb")) as sink:
        started = time.monotonic()
        proc = subprocess.Popen([*novahunt_cmd(), *argv], env=env, stdout=sink,
                                stderr=errors)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            watched = psutil.Process(proc.pid)
            while not done.is_set():
                try:
                    peak = max(peak, watched.memory_info().rss)
                except psutil.Error:  # exited (a zombie until reaped): nothing to read
                    return
                done.wait(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            text = errors.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"novahunt {' '.join(argv)} exited {proc.returncode}:\n{text}")
    return Run(wall, usage.ru_maxrss / 1024, mb(peak))  # Linux: ru_maxrss is in KiB


@dataclass(frozen=True)
class Collected:
    emails: int
    domains: int
    stored: int
    pages: int
    calls: int
    run: Run


@dataclass(frozen=True)
class Written:
    mode: str
    rows: int
    run: Run
    out_mb: float


# each mode of `results`: its arguments after the domain, and whether stdout is the file
MODES: tuple[tuple[str, list[str], bool], ...] = (
    ("csv -o F", ["--format", "csv", "-o", "{out}"], False),
    ("json > F", ["--format", "json"], True),
    ("jsonl > F", ["--format", "jsonl"], True),
    ("table -o F", ["-o", "{out}"], False),
)


def count_rows(mode: str, path: Path) -> int:
    """Rows in an output file, read a line at a time: the driver must stay small (see
    `run`). JSON is one object a line between "[" and "]"; csv and table have a header."""
    with path.open(encoding="utf-8") as fh:
        lines = sum(1 for _ in fh)
    if mode.startswith("json >"):
        return lines - 2
    return lines if mode.startswith("jsonl") else lines - 1


def environment(home: str, url: str, max_collect: int) -> dict[str, str]:
    return novahunt_env(home, url, HUNTER_PAGE_SIZE="100", HUNTER_MAX_COLLECT=str(max_collect),
                        NOVAHUNT_RATE_DOMAIN_SEARCH="1000000/s")


def collect(domains: dict[str, int], env: dict[str, str], home: Path) -> Collected:
    """Queue one collect job per domain, then time and measure one burst worker."""
    novahunt("collect", *domains, "--yes", "--json", env=env)
    measured = run(["worker", "--burst", "--concurrency", str(THREADS)], env)
    with sqlite3.connect(home / "state.db") as conn:
        stored = conn.execute("SELECT COUNT(*) FROM contacts").fetchone()[0]
        ended = conn.execute("SELECT status, result FROM jobs").fetchall()
    if any(status != "completed" for status, _ in ended):
        raise SystemExit(f"{list(domains)}: jobs ended {[status for status, _ in ended]}")
    results = [json.loads(result) for _, result in ended]
    if stored != sum(domains.values()):
        raise SystemExit(f"{list(domains)}: stored {stored} of {sum(domains.values())}")
    return Collected(sum(domains.values()), len(domains), stored,
                     sum(r["pages_fetched"] for r in results),
                     sum(r["api_calls"] for r in results), measured)


def write_out(domain: str, size: int, env: dict[str, str], home: Path) -> list[Written]:
    """Each mode of `results` on the collected domain; checks the row count."""
    written: list[Written] = []
    for mode, args, to_stdout in MODES:
        out = home / f"out-{len(written)}"
        argv = ["results", domain, *(a.replace("{out}", str(out)) for a in args)]
        measured = run(argv, env, stdout=out if to_stdout else None)
        rows = count_rows(mode, out)
        if rows != size:
            raise SystemExit(f"results {domain} ({mode}): {rows} rows, expected {size}")
        written.append(Written(mode, rows, measured, mb(out.stat().st_size)))
        out.unlink()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--emails", type=int, default=50_000,
                        help="emails of the big domain (default 50,000)")
    args = parser.parse_args()
    big = args.emails
    sizes = sorted({BASE, MIDDLE, big})
    quarter = max(1, big // THREADS)
    specs = {f"size{n}.example": n for n in sizes}
    specs |= {f"part{i}.example": quarter for i in range(THREADS)}
    collected: list[Collected] = []
    written: dict[int, list[Written]] = {}
    with sandbox_process(specs, free_plan=False) as (_, url):
        for n in sizes:
            with tempfile.TemporaryDirectory() as tmp:
                env = environment(tmp, url, big)
                domain = f"size{n}.example"
                collected.append(collect({domain: n}, env, Path(tmp)))
                written[n] = write_out(domain, n, env, Path(tmp))
        with tempfile.TemporaryDirectory() as tmp:
            parts = {f"part{i}.example": quarter for i in range(THREADS)}
            collected.append(collect(parts, environment(tmp, url, big), Path(tmp)))

    base = collected[0].run
    driver = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"sandbox in its own process, no free-plan cap; HUNTER_PAGE_SIZE=100, "
          f"HUNTER_MAX_COLLECT={big}, limiter 1000000/s; this driver's peak RSS "
          f"{driver:.1f} MB (a floor of the maxrss column)")
    print(f"\nnovahunt worker --burst --concurrency {THREADS} (peak RSS in MB: kernel "
          f"ru_maxrss, psutil every {SAMPLE_EVERY * 1000:.0f} ms)")
    workers = Table(("emails", 7), ("domains", 7), ("stored", 7), ("pages", 6), ("calls", 6),
                    ("wall s", 7, ".2f"), ("emails/s", 9, ".0f"), ("maxrss", 7, ".1f"),
                    ("sampled", 8, ".1f"), ("vs base", 8, "+.1f"))
    workers.header()
    for c in collected:
        workers.row(c.emails, c.domains, c.stored, c.pages, c.calls, c.run.wall,
                    c.stored / c.run.wall, c.run.maxrss, c.run.sampled,
                    c.run.maxrss - base.maxrss)

    print("\nnovahunt results DOMAIN (one process per mode; '> F': stdout to a file)")
    outputs = Table(("mode", 11, "", True), ("rows", 7), ("out MB", 7, ".2f"), ("s", 6, ".2f"),
                    ("rows/s", 8, ".0f"), ("maxrss", 7, ".1f"), ("sampled", 8, ".1f"),
                    ("vs base", 8, "+.1f"), ("ratio", 6, ".2f"))
    outputs.header()
    for n in sizes:
        for w, first in zip(written[n], written[BASE], strict=True):
            outputs.row(w.mode, w.rows, w.out_mb, w.run.wall, w.rows / w.run.wall,
                        w.run.maxrss, w.run.sampled, w.run.maxrss - first.run.maxrss,
                        w.run.maxrss / first.run.maxrss)

    one = next(c for c in collected if c.domains == 1 and c.emails == big)
    verdict = "PASS" if one.run.maxrss < TARGET_MB else "FAIL"
    print(f"\nworker peak RSS for {big:,} emails: {one.run.maxrss:.1f} MB (sampled "
          f"{one.run.sampled:.1f}), {one.run.maxrss - base.maxrss:+.1f} MB vs {BASE} emails; "
          f"target < {TARGET_MB:.0f} MB: {verdict}")
    if big > MIDDLE:
        middle = next(c for c in collected if c.domains == 1 and c.emails == MIDDLE)
        slope = (one.run.maxrss - middle.run.maxrss) * 1024 * 1024 / (big - MIDDLE)
        print(f"worker growth from {MIDDLE:,} to {big:,} emails: {slope:.0f} bytes/email")
        for i, (mode, _, _) in enumerate(MODES):
            low, high = written[MIDDLE][i].run.maxrss, written[big][i].run.maxrss
            grown = high - written[BASE][i].run.maxrss
            per_row = (high - low) * 1024 * 1024 / (big - MIDDLE)
            streams = "streams" if grown < 8 and per_row < 64 else "GROWS with the rows"
            print(f"results {mode:<11} {grown:+.1f} MB from {BASE} to {big:,} rows, "
                  f"{per_row:.0f} bytes/row from {MIDDLE:,}: {streams}")


if __name__ == "__main__":
    main()
