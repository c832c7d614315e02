"""What a job type is to the rest of novahunt: the `JobKind` each runner module exports.

A runner module (collect, verify, find, generate, scrape, enrich) holds everything about
its type: `TYPE`, `plan` (the jobs a command queues), `run` (what a worker does), its
typed `Result` (a TypedDict: the stored result JSON is that dict, key for key), and, in
`KIND`, the answers others ask for: the one-line event of a completed job, what following
it shows, what it works on, and the jobs its result created. Code outside runners/ asks
`runners.kind_of(job.type)` and never reads a result's keys to tell types apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from novahunt.config import Settings
from novahunt.inputs.urls import check_webhook_url

if TYPE_CHECKING:
    from novahunt.runners.context import JobContext
    from novahunt.state.jobs import Job

R = TypeVar("R")


def on_domain(params: Mapping[str, Any]) -> str:
    """What most jobs work on: their domain."""
    return str(params.get("domain") or "")


def no_follow_ups(result: Any) -> list[int]:
    return []


@dataclass(frozen=True)
class JobKind(Generic[R]):
    """One job type, as the worker, the commands and the webhooks ask about it."""

    type: str
    run: Callable[[JobContext], R]
    # the one-line event of the completed job (its last event in `jobs show`)
    summary: Callable[[R], str]
    # what following a completed job shows: "completed: 12 emails"
    describe: Callable[[R], str]
    # what the job works on, in tables and bars ("stripe.com", "12 emails (file:x.txt)")
    target: Callable[[Mapping[str, Any]], str] = on_domain
    # ids of the jobs its result created (collect --verify's verify job): the worker
    # sends them, following follows them
    follow_ups: Callable[[R], list[int]] = no_follow_ups

    def owns(self, job: Job) -> bool:
        return job.type == self.type

    def result(self, job: Job) -> R | None:
        """The job's result as this type's Result, if it is this type's and has one."""
        if job.result is None or not self.owns(job):
            return None
        return cast(R, job.result)


def webhook_param(settings: Settings, given: str | None) -> dict[str, str]:
    """The `webhook` param of a job being planned: `--webhook` as given (checked), else
    the default (NOVAHUNT_WEBHOOK_URL, or `webhook_url` in config.toml) as it is now;
    nothing without either. Resolved when the job is planned, so the transaction that
    ends the job reads no configuration."""
    if given:
        return {"webhook": check_webhook_url(given)}
    return {"webhook": settings.webhook_url} if settings.webhook_url else {}
