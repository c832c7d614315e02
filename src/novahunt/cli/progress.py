"""Following jobs: poll state.db and draw one rich progress bar per job.

On a terminal the bars redraw in place; on a pipe (a CI log, `| tee`) each job prints a
plain line when its stage changes and every few seconds while it moves, so logs stay
readable. Following never changes a job: Ctrl-C just stops watching.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from novahunt import runners
from novahunt.cli.plain import plain
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Status

POLL = 0.25
PLAIN_EVERY = 5.0

_STYLE = {
    Status.COMPLETED: "green", Status.FAILED: "red", Status.CANCELED: "yellow",
    Status.RETRYING: "yellow", Status.RUNNING: "cyan",
}


def label(job: Job) -> str:
    target = runners.target(job) or job.params.get("target") or ""
    return f"#{job.id} {job.type} {target}".strip()


def describe(job: Job) -> str:
    stage = job.progress_stage or str(job.status)
    if job.status is Status.FAILED:
        return f"failed: {job.error}"
    if job.status is Status.COMPLETED and job.result:
        return runners.describe(job)  # the job's type says what its result was
    if job.status is Status.RUNNING and job.progress_message and stage == "verifying":
        return job.progress_message
    if job.status is Status.RUNNING and job.progress_message and stage != "collecting":
        return f"{stage}: {job.progress_message}"[:70]
    if job.status is not Status.RUNNING:
        return str(job.status)
    return stage


def _follow_ups(ids: list[int], current: list[Job]) -> bool:
    """Add jobs that followed jobs created (collect --verify); True if any was added."""
    added = False
    for job in current:
        for follow_up in runners.follow_ups(job):
            if follow_up not in ids:
                ids.append(follow_up)
                added = True
    return added


def _poll(db: Database, ids: list[int], ended: dict[int, Job]) -> list[Job]:
    """The jobs as they are now. An ended job is not read again: following 50 jobs,
    each poll reads only those still going."""
    fresh = {j.id: j for j in jobs.get_many(db, [i for i in ids if i not in ended])}
    ended.update((i, j) for i, j in fresh.items() if j.finished)
    return [ended.get(i) or fresh[i] for i in ids]


def follow(db: Database, ids: Sequence[int], console: Console,
           tick: Callable[[], None] | None = None) -> list[Job]:
    """Watch jobs, and the follow-up jobs they create, until all are finished;
    returns them as they ended."""
    ids = list(ids)
    if console.is_terminal:
        return _follow_bars(db, ids, console, tick)
    return _follow_plain(db, ids, console, tick)


def _follow_bars(db: Database, ids: list[int], console: Console,
                 tick: Callable[[], None] | None) -> list[Job]:
    columns = (
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
    )
    # drawn once per poll, when the figures can have changed: rich's own 10 redraws a
    # second of 50 bars took a quarter of a CPU next to the workers, and adding bars to
    # a live display redrew all of them for each one added
    bars = Progress(*columns, console=console, transient=False, auto_refresh=False)
    tasks: dict[int, TaskID] = {}
    ended: dict[int, Job] = {}
    try:
        while True:
            current = _poll(db, ids, ended)
            for job in current:
                # a job's target, error and messages come from outside: plain text
                style = _STYLE.get(job.status, "")
                text = plain(describe(job))
                state = f"[{style}]{text}[/]" if style else text
                total = job.progress_total
                done = job.progress_current
                if job.status is Status.COMPLETED and total is None:
                    total = done = 1
                if job.id not in tasks:
                    tasks[job.id] = bars.add_task(plain(label(job)), total=total,
                                                  state=state)
                bars.update(tasks[job.id], completed=done, total=total, state=state)
            if not bars.live.is_started:
                bars.start()
            bars.refresh()
            if all(j.finished for j in current) and not _follow_ups(ids, current):
                return current
            if tick:
                tick()
            time.sleep(POLL)
    finally:
        bars.stop()


def _follow_plain(db: Database, ids: list[int], console: Console,
                  tick: Callable[[], None] | None) -> list[Job]:
    seen: dict[int, tuple[str, float]] = {}
    ended: dict[int, Job] = {}
    while True:
        current = _poll(db, ids, ended)
        now = time.monotonic()
        for job in current:
            text = describe(job)
            last = seen.get(job.id)
            moved = last is not None and job.status is Status.RUNNING and (
                now - last[1] >= PLAIN_EVERY)
            if last is None or last[0] != text or moved:
                total = job.progress_total
                count = f" {job.progress_current}/{total}" if total else ""
                console.print(plain(f"{label(job)}: {text}{count}"), highlight=False,
                              soft_wrap=True)
                seen[job.id] = (text, now)
        if all(j.finished for j in current) and not _follow_ups(ids, current):
            return current
        if tick:
            tick()
        time.sleep(POLL)
