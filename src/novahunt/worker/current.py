"""The worker runtime of this process: what `tasks.run_job` hands each message to.

huey imports `novahunt.tasks` to run a message, and every sender imports it to write one.
Were tasks.py to import the worker to find its runtime, the queue, the worker and the
runners would import one another in a circle. Instead the worker binds itself here when
it becomes the process's runtime and unbinds when it stops (rq keeps its current job in
a low module the same way), and tasks.py imports only this module, which imports nothing.
"""

from __future__ import annotations

from typing import Protocol


class Runtime(Protocol):
    def run(self, job_id: int) -> None: ...


_bound: Runtime | None = None


def bind(runtime: Runtime) -> None:
    """Make `runtime` the one `tasks.run_job` calls (the last bound wins)."""
    global _bound
    _bound = runtime


def unbind(runtime: Runtime) -> None:
    """`runtime` stops: no messages for it any more (unless another took its place)."""
    global _bound
    if _bound is runtime:
        _bound = None


def runtime() -> Runtime:
    if _bound is None:
        raise RuntimeError("no novahunt worker is running in this process")
    return _bound
