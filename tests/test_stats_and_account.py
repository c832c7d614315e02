"""`novahunt stats`, `novahunt account` and the credit check before bulk work."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import KEY, Cli, drain
from novahunt.sandbox import TOO_MANY_REQUESTS, Sandbox
from novahunt.worker.runtime import WorkerRuntime


def test_stats_counts_requests_credits_cache_hits_jobs_and_workers(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("s1.example", 25)
    sandbox.add_domain("s2.example", 0)
    sandbox.inject(TOO_MANY_REQUESTS, domain="s1.example")
    assert cli("collect", "s1.example", "s2.example")[0] == 0
    drain(inline_worker)
    assert cli("collect", "s1.example")[0] == 0  # fresh: a cache hit
    code, out, _ = cli("stats", "--json")
    assert code == 0
    data = json.loads(out)
    rows = {(r["endpoint"], r["status"]): r for r in data["requests"]}
    # s2.example: Email Count (free) says 0 emails, so no Domain Search is made for it
    assert rows[("domain-search", 200)]["count"] == 1
    assert rows[("email-count", 200)]["count"] == 2
    assert rows[("email-count", 200)]["credits"] == 0
    assert rows[("domain-search", 429)]["count"] == 1
    assert data["credits"] == {"search": 3}  # 25 emails -> 3 credits, empty answer free
    assert data["throttled"] == 1
    assert data["cache_hits"]["collect"]["count"] == 1
    assert data["cache_hits"]["collect"]["saved_credits"] == 3
    assert data["jobs_finished"] == {"completed": 3}
    assert data["job_success_rate"] == 1.0
    assert data["throughput"]["new_emails"] == 25
    assert data["queue_depth"]["queued"] == 0
    assert [w["id"] for w in data["workers"]] == [inline_worker.id]
    code, text, _ = cli("stats", "--since", "1h")
    assert code == 0 and "credits spent" in text and "3 search" in text


def test_account_shows_credits_without_the_key(sandbox: Sandbox, cli: Cli) -> None:
    sandbox.add_domain("a.example", 15)
    sandbox.searches_available = 40
    code, out, err = cli("account", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["searches"] == {"used": 0, "available": 40, "left": 40}
    assert KEY not in out and data["key"].endswith(KEY[-4:])
    code, out, _ = cli("account")
    assert code == 0 and "40 left" in out and KEY not in out


def test_account_resumes_jobs_waiting_for_credits(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("w.example", 30)
    sandbox.searches_available = 0
    assert cli("collect", "w.example")[0] == 0
    drain(inline_worker)
    assert json.loads(cli("jobs", "show", "1", "--json")[1])["waiting_for"] == "hunter:search"
    assert json.loads(cli("account", "--json")[1])["resumed_jobs"] is None  # still none
    sandbox.searches_available = 10
    assert json.loads(cli("account", "--json")[1])["resumed_jobs"] == 1
    drain(inline_worker)
    assert json.loads(cli("jobs", "show", "1", "--json")[1])["status"] == "completed"


def test_bulk_collect_warns_when_credits_are_short(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.searches_available = 2
    # Email Count (free) gives the exact cost: 15 -> 2 credits, 30 -> 3, none -> 0
    sandbox.add_domain("one.example", 15)
    sandbox.add_domain("two.example", 30)
    listing = tmp_path / "domains.txt"
    listing.write_text("one.example\ntwo.example\nthree.example\n")
    code, _, err = cli("collect", "--file", str(listing))
    assert code == 0
    assert "3 domains need 5 search credits" in err and "2 left" in err
    assert "queueing anyway" in err
    code, _, err = cli("collect", "--file", str(listing), "--yes", "--refresh")
    assert code == 0
