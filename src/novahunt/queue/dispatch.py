"""Putting jobs on the queue: the row first, then the message.

A job row is committed before its message is sent; if the process dies in between,
the worker's sweeper finds the queued row without a message and sends one.
"""

from __future__ import annotations

from collections.abc import Sequence

from novahunt import tasks
from novahunt.providers.records import PROVIDER
from novahunt.state import jobs, quotas
from novahunt.state.db import Database
from novahunt.state.jobs import Job, NewJob, Status


def send(db: Database, to_send: Sequence[Job]) -> None:
    queued = [j for j in to_send if j.status is Status.QUEUED]
    if not queued:
        return
    # huey loads when a message is sent, not for reading
    from novahunt.queue import backends

    huey = backends.open_queue()
    with backends.reachable():  # Redis down: the rows wait, a worker's sweeper sends them
        for job in queued:
            tasks.send(huey, job.id, job.priority)
    jobs.mark_enqueued(db, [j.id for j in queued])


def submit(db: Database, specs: Sequence[NewJob]) -> list[tuple[Job, bool]]:
    """Create jobs (all or none) and enqueue the new ones; a job already live for the
    same work comes back with `False` instead of a duplicate."""
    created = jobs.create(db, specs)
    send(db, [job for job, new in created if new])
    return created


def retry(db: Database, ids: Sequence[int]) -> list[Job]:
    """Revive failed or canceled jobs. A user retrying means "I fixed it", so the
    provider's quota pauses (every kind) are lifted too."""
    revived = jobs.revive(db, ids)
    for key in quotas.provider_pauses(db):
        if key.startswith(f"{PROVIDER}:"):
            resume(db, key)
    send(db, revived)
    return revived


def resume(db: Database, key: str) -> int:
    """Lift a quota pause (a pause key: "hunter:search", "hunter:verification"); jobs
    waiting for it become due at once (the worker's upkeep queues them). Returns how
    many jobs were waiting."""
    quotas.resume_provider(db, key)
    return jobs.wake_waiting(db, key)
