"""`novahunt stats` and `novahunt account`: what the work cost, and what is left."""

from __future__ import annotations

import time
from typing import Any

import typer

from novahunt.cli.common import out, print_json, state


def register(app: typer.Typer) -> None:
    app.command("stats")(stats)
    app.command("account")(account)
    app.command("resume")(resume)


def stats(
    since: str = typer.Option("24h", "--since", help="The window, e.g. 1h, 24h, 7d."),
    json_: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Requests, credits, cache hits, jobs, throughput and live workers over a window.

    Example: novahunt stats --since 1h
    """
    from novahunt import stats as stats_core
    from novahunt.timeparse import parse_duration

    start = time.time() - parse_duration(since).total_seconds()
    db, settings = state()
    data = stats_core.gather(db, settings, start)
    if json_:
        print_json(data)
        return
    _render(data, since)


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


def _render(d: dict[str, Any], since: str) -> None:
    from rich.table import Table

    out.print(f"[bold]last {since}[/] ({d['since']} to {d['until']})")
    table = Table(box=None, header_style="bold", title=None)
    for col in ("PROVIDER", "ENDPOINT", "STATUS", "REQUESTS", "CREDITS"):
        table.add_column(col)
    for r in d["requests"]:
        table.add_row(r["provider"], r["endpoint"], str(r["status"] or "no answer"),
                      str(r["count"]), str(r["credits"]))
    if d["requests"]:
        out.print(table)
    credits = ", ".join(f"{n} {kind}" for kind, n in d["credits"].items()) or "none"
    hits = ", ".join(f"{v['count']} {k} (saved ~{v['saved_credits']} credits)"
                     for k, v in d["cache_hits"].items()) or "none"
    t = d["throughput"]
    q = d["queue_depth"]
    lines = [
        ("requests", f"{d['requests_total']} ({_rate(d['request_success_rate'])} ok, "
                     f"{d['throttled']} throttled)"),
        ("credits spent", credits),
        ("cache hits", hits),
        ("jobs finished", ", ".join(f"{n} {s}" for s, n in d["jobs_finished"].items())
         or "none"),
        ("job success", _rate(d["job_success_rate"])),
        ("throughput", "-" if t["active_seconds"] is None else
         f"{t['jobs_per_hour']} jobs/h, {t['emails_per_minute']} emails/min over "
         f"{t['active_seconds']}s of work ({t['new_emails']} new emails)"),
        ("queue", f"{q['queued']} queued, {q['scheduled']} scheduled, {q['retrying']} "
                  f"retrying ({q['waiting_for_credits']} waiting for credits), "
                  f"{q['running']} running"),
    ]
    for provider, reason in d["paused"].items():
        lines.append(("paused", f"{provider}: {reason}"))
    for key, value in lines:
        out.print(f"  {key:<14} {value}")
    out.print(f"  {'workers':<14} {len(d['workers'])} live")
    for w in d["workers"]:
        running = ", ".join(f"#{j['id']} {j['target']}" for j in w["running"]) or "idle"
        out.print(f"    {w['id']} ({w['threads']} threads): {running}")


def account(
    json_: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Your Hunter plan and the credits used and left (asking costs no credit).

    If jobs wait for credits and the account has some again, they resume.
    Example: novahunt account
    """
    from novahunt import account as account_core

    db, settings = state()
    info = account_core.fetch(db, settings)
    woken = account_core.resume_if_credits(db, settings, info)
    key = settings.require_key()
    data = {
        "key": f"…{key[-4:]}" if len(key) > 8 else "…",
        "plan_name": info.plan_name, "reset_date": info.reset_date,
        "searches": {"used": info.searches_used, "available": info.searches_available,
                     "left": info.searches_left},
        "verifications": {"used": info.verifications_used,
                          "available": info.verifications_available,
                          "left": info.verifications_left},
        "resumed_jobs": woken,
    }
    if json_:
        print_json(data)
        return
    out.print(f"plan {info.plan_name or '?'} (key {data['key']}), resets {info.reset_date or '?'}")
    for kind in ("searches", "verifications"):
        block = data[kind]
        assert isinstance(block, dict)
        out.print(f"  {kind:<14} {block['used']} used of {block['available']}, "
                  f"{block['left']} left")
    if woken is not None:
        out.print(f"credits are back: {woken} waiting job(s) resume")


def resume() -> None:
    """Lift a quota pause by hand: jobs waiting for credits run again.

    Example: novahunt resume
    """
    from novahunt import dispatch
    from novahunt.providers.records import PROVIDER

    db, _ = state()
    woken = dispatch.resume(db, PROVIDER)
    out.print(f"resumed: {woken} job(s) waiting for credits are due now")
