"""`novahunt stats` and `novahunt account`: what the work cost, and what is left."""

from __future__ import annotations

import time
from typing import Any

import typer

from novahunt.cli.common import err, out, print_json, state
from novahunt.cli.plain import plain


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
    from novahunt.inputs.timeparse import parse_duration
    from novahunt.ops import stats as stats_core

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

    from novahunt.state.ledger import credits_text

    out.print(f"[bold]last {since}[/] ({d['since']} to {d['until']})")
    table = Table(box=None, header_style="bold", title=None)
    for col in ("PROVIDER", "ENDPOINT", "STATUS", "REQUESTS", "CREDITS"):
        table.add_column(col)
    for r in d["requests"]:
        table.add_row(plain(r["provider"]), plain(r["endpoint"]),
                      str(r["status"] or "no answer"),
                      str(r["count"]), credits_text(r["credits"]))
    if d["requests"]:
        out.print(table)
    credits = ", ".join(f"{credits_text(n)} {kind}"
                        for kind, n in d["credits"].items()) or "none"
    hits = ", ".join(f"{v['count']} {k} (saved ~{credits_text(v['saved_credits'])} credits)"
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
    for key, reason in d["paused"].items():
        # a pause's reason is Hunter's own words
        lines.append(("paused", plain(f"{key} (jobs wait for these credits): {reason}")))
    for key, value in lines:
        out.print(f"  {key:<14} {value}")
    out.print(f"  {'workers':<14} {len(d['workers'])} live")
    for w in d["workers"]:
        running = ", ".join(f"#{j['id']} {j['target']}" for j in w["running"]) or "idle"
        out.print(plain(f"    {w['id']} ({w['threads']} threads): {running}"))


def account(
    json_: bool = typer.Option(False, "--json", help="Print the account as JSON."),
) -> None:
    """Your Hunter plan and the credits used and left (asking costs no credit).

    On a plan with one credits bucket it shows `credits.remaining` (a search costs 1, a
    verification 0.5); on a plan with separate quotas, searches and verifications. If
    jobs wait for a kind of credit and the account has some again, they resume.
    Example: novahunt account
    """
    from novahunt.ops import account as account_core
    from novahunt.state.ledger import amount, credits_text

    db, settings = state()
    info = account_core.fetch(db, settings)
    woken = account_core.resume_if_credits(db, settings, info)
    key = settings.require_key()

    def figure(value: float | None) -> float | None:
        return None if value is None else amount(value)

    data = {
        "key": f"…{key[-4:]}" if len(key) > 8 else "…",
        "plan_name": info.plan_name, "plan_level": info.plan_level,
        "reset_date": info.reset_date, "single_credit": info.single_credit,
        # the one bucket of single-credit plans (null on plans with separate quotas)
        "credits": {"used": figure(info.credits_used),
                    "available": figure(info.credits_available),
                    "remaining": figure(info.credits_remaining)}
        if info.single_credit else None,
        "searches": {"used": info.searches_used, "available": info.searches_available,
                     "left": info.searches_left},
        "verifications": {"used": info.verifications_used,
                          "available": info.verifications_available,
                          "left": info.verifications_left},
        "paused": account_core.paused_kinds(db),
        "resumed_jobs": woken,
    }
    if json_:
        print_json(data)
        return
    # the plan's name and dates are Hunter's text
    out.print(plain(f"plan {info.plan_name or '?'} (key {data['key']}), "
                    f"resets {info.reset_date or '?'}"))
    if info.single_credit:
        used = "?" if info.credits_used is None else credits_text(info.credits_used)
        of = "" if info.credits_available is None else (
            f" of {credits_text(info.credits_available)}")
        remaining = "?" if info.credits_remaining is None else credits_text(
            info.credits_remaining)
        out.print(f"  {'credits':<14} {used} used{of}, {remaining} remaining "
                  "(a search costs 1, a verification 0.5)")
    else:
        for kind in ("searches", "verifications"):
            block = data[kind]
            assert isinstance(block, dict)
            out.print(f"  {kind:<14} {block['used']} used of {block['available']}, "
                      f"{block['left']} left")
    if woken is not None:
        out.print(f"credits are back: {woken} waiting job(s) resume")
    for kind, reason in account_core.paused_kinds(db).items():
        out.print(plain(f"  paused         {kind} credits: jobs wait ({reason})"))


def resume(
    force: bool = typer.Option(
        False, "--force",
        help="Lift the pause without asking Hunter whether credits are back."),
) -> None:
    """Lift a quota pause by hand: jobs waiting for that kind of credit run again.

    Hunter's account (free to ask) is checked first: a paused kind with no credits
    left stays paused and its jobs stay waiting, since they would only meet the same
    402 again; the command says until when and exits 1. --force lifts it anyway.
    Example: novahunt resume
    """
    from novahunt.ops import account as account_core
    from novahunt.state.ledger import credits_text

    db, settings = state()
    done = account_core.resume(db, settings, force=force)
    if not done:
        out.print("nothing is paused: no job waits for credits")
        return
    for r in done:
        if r.lifted:
            left = "" if r.left is None else f" ({credits_text(r.left)} left)"
            out.print(f"resumed {r.kind}{left}: {r.woken} job(s) waiting for {r.kind} "
                      "credits are due now")
        else:
            err.print(plain(f"no {r.kind} credits left until "
                            f"{r.reset_date or 'the plan resets'}; jobs stay waiting "
                            "(`novahunt resume --force` lifts the pause anyway)"))
    if not any(r.lifted for r in done):
        raise typer.Exit(1)
