"""`--follow` and `jobs follow`: watch jobs, with an embedded worker when none is alive."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from novahunt.cli.common import err, out, progress_console
from novahunt.cli.plain import plain

if TYPE_CHECKING:
    from rich.console import Console

    from novahunt.config import Settings
    from novahunt.state.db import Database
    from novahunt.worker.runtime import WorkerRuntime

EMBEDDED_CONCURRENCY = 4


def follow_jobs(db: Database, settings: Settings, ids: Sequence[int],
                console: Console = out) -> int:
    """Follow until every job ended: 0 if all completed, 1 if any failed or was canceled.
    Ctrl-C detaches (exit 130) and leaves the jobs to the queue."""
    # the worker (huey, httpx) and rich.progress load only when a command follows
    from novahunt.cli import progress
    from novahunt.state import jobs
    from novahunt.state.jobs import Status
    from novahunt.worker.liveness import live_workers
    from novahunt.worker.runtime import WorkerRuntime

    embedded: WorkerRuntime | None = None
    pending = not all(job.finished for job in jobs.get_many(db, ids))
    if pending and not live_workers(db, settings):
        err.print("[dim]no worker is running: running one inside this command while it "
                  "follows (Ctrl-C detaches)[/]")
        embedded = WorkerRuntime(db, settings, concurrency=EMBEDDED_CONCURRENCY)
        embedded.start()
    upkeep_stop = threading.Event()
    upkeep = None
    if embedded is not None:
        worker = embedded

        def loop() -> None:
            worker.serve(upkeep_stop.is_set)

        upkeep = threading.Thread(target=loop, name="novahunt-upkeep", daemon=True)
        upkeep.start()
    try:
        ended = progress.follow(db, ids, progress_console(console))
    except KeyboardInterrupt:
        err.print(f"detached: the jobs stay queued; `novahunt jobs follow "
                  f"{' '.join(map(str, ids))}` to watch again")
        return 130
    finally:
        upkeep_stop.set()
        if upkeep is not None:
            upkeep.join()
        if embedded is not None:
            embedded.stop()
    bad = [j for j in ended if j.status is not Status.COMPLETED]
    for job in bad:
        err.print(plain(f"job {job.id} {job.status}: {job.error or ''}".rstrip(": ")))
    return 1 if bad else 0
