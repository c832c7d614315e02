"""`novahunt worker`: run the queue in this process until told to stop."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from types import FrameType

import typer

from novahunt.cli.common import err, state
from novahunt.worker import WorkerRuntime


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64,
                                    help="Jobs run at once (threads)."),
    burst: bool = typer.Option(False, "--burst",
                               help="Exit 0 once nothing is queued, due or running."),
) -> None:
    """Run queued jobs until Ctrl-C or SIGTERM (or, with --burst, until none are left).

    On Ctrl-C/SIGTERM each running job finishes its current step, commits, and goes back
    to the queue; a second Ctrl-C stops at once. Example: novahunt worker --concurrency 4
    """
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(message)s")
    # huey narrates every poll and httpx every request: keep their warnings only
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    db, settings = state()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    runtime = WorkerRuntime(db, settings, concurrency=concurrency)
    runtime.start()
    err.print(f"worker {runtime.id}: {concurrency} threads"
              f"{', burst' if burst else ''}; Ctrl-C to stop")
    try:
        runtime.serve(stop.is_set, burst=burst)
    finally:
        if stop.is_set():
            err.print("stopping: letting running jobs finish their step")
        runtime.stop()
    err.print("worker stopped")
