"""`novahunt worker`: run the queue in this process until told to stop."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import typer

from novahunt.cli.common import err, state, verbosity


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)


def worker(
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64,
                                    help="Jobs run at once (threads)."),
    burst: bool = typer.Option(False, "--burst",
                               help="Exit 0 once nothing is queued, due or running."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=0, max=65535, metavar="PORT",
        help="Serve Prometheus /metrics and /health on this port (0: any free port)."),
    metrics_host: str = typer.Option(
        "127.0.0.1", "--metrics-host", metavar="HOST",
        help="Address for --metrics-port; 0.0.0.0 exposes it to the network, unauthenticated."),
) -> None:
    """Run queued jobs until Ctrl-C or SIGTERM (or, with --burst, until none are left).

    On Ctrl-C/SIGTERM each running job finishes its current step, commits, and goes back
    to the queue; a second Ctrl-C stops at once. Example: novahunt worker --concurrency 4

    With --metrics-port, http://127.0.0.1:PORT/metrics serves Prometheus metrics read
    from state.db and /health answers 200 while the worker's upkeep loop is alive.
    Example: novahunt worker --metrics-port 9464
    """
    from novahunt import logs
    from novahunt.worker.metrics import MetricsServer
    from novahunt.worker.runtime import WorkerRuntime

    if not verbosity["quiet"]:  # a worker's job lines are what it is for
        logs.setup(logging.INFO)
    db, settings = state()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    runtime = WorkerRuntime(db, settings, concurrency=concurrency)
    metrics = None
    if metrics_port is not None:  # bound before the worker starts: a taken port fails fast
        metrics = MetricsServer(runtime, db.location, metrics_host, metrics_port)
        metrics.start()
    try:
        runtime.start()
        err.print(f"worker {runtime.id}: {concurrency} threads"
                  f"{', burst' if burst else ''}; Ctrl-C to stop")
        if metrics is not None:
            err.print(f"metrics on {metrics.url}/metrics, health on {metrics.url}/health")
        try:
            runtime.serve(stop.is_set, burst=burst)
        finally:
            if stop.is_set():
                err.print("stopping: letting running jobs finish their step")
            runtime.stop()
    finally:
        if metrics is not None:
            metrics.stop()
    if runtime.lost is not None:  # one line and exit 1: a supervisor must not shrug it off
        from novahunt.errors import StateFileLost

        raise StateFileLost(f"{runtime.lost}: the worker stopped taking jobs")
    err.print("worker stopped")
