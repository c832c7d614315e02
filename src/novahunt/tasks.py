"""huey tasks. Messages name `novahunt.tasks.run_job` and carry a job id only, so a
message written by an older novahunt still runs after an upgrade: keep this module
path and this signature (add parameters only with defaults).

`run_job` hands the job to the runtime the worker bound in `worker.current`; this module
imports nothing else of novahunt, so the queue and the worker can both import it. Opening
a queue registers no task: those who send (`send`) or run (the worker) register it."""

from __future__ import annotations

from typing import Any

from novahunt.worker import current

_wrappers: dict[int, Any] = {}


def run_job(job_id: int) -> None:
    current.runtime().run(job_id)


def register(huey: Any) -> Any:
    """The `run_job` task on this huey instance, registered on the first call."""
    wrapper = _wrappers.get(id(huey))
    if wrapper is None:
        wrapper = huey.task(name="run_job")(run_job)
        _wrappers[id(huey)] = wrapper
    return wrapper


def send(huey: Any, job_id: int, priority: int) -> None:
    """Enqueue a message for a job. Our priority 1 is the highest; huey runs the
    highest number first."""
    huey.enqueue(register(huey).s(job_id, priority=6 - priority))


def pending_job_ids(huey: Any) -> set[int]:
    """Job ids that have a message waiting in the queue or huey's schedule."""
    register(huey)  # reading a message looks its task up by name
    ids: set[int] = set()
    for task in [*huey.pending(), *huey.scheduled()]:
        if task.args:
            ids.add(int(task.args[0]))
    return ids
