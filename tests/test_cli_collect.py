"""`novahunt collect` run in-process: what gets queued, what is refused, what is reused."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers import KEY, Cli, drain, shown
from novahunt import config
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime


def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    code, out, err = cli("jobs", "list", "--json", "--limit", "5000", *args)
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, list)
    return found



def collect_json(cli: Cli, *args: str) -> list[dict[str, Any]]:
    code, out, err = cli("collect", *args, "--json")
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, list)
    return found


def seconds_from_now(iso: str) -> float:
    return (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()


# -- normalisation -----------------------------------------------------------------------


def test_a_url_is_queued_as_its_bare_registrable_domain(sandbox: Sandbox, cli: Cli) -> None:
    [job] = collect_json(cli, "https://www.Stripe.com/about")
    assert job["domain"] == "stripe.com"
    assert job["status"] == "queued"
    assert shown(cli, job["id"])["params"]["domain"] == "stripe.com"


def test_an_internationalised_domain_is_queued_as_punycode(sandbox: Sandbox, cli: Cli) -> None:
    [job] = collect_json(cli, "münchen.de")
    assert job["domain"] == "xn--mnchen-3ya.de"
    assert shown(cli, job["id"])["params"]["domain"] == "xn--mnchen-3ya.de"


def test_the_plain_output_names_each_queued_job(sandbox: Sandbox, cli: Cli) -> None:
    # domains Hunter has emails for: one with none would complete at once (Email Count)
    sandbox.add_domain("example.org", 5)
    sandbox.add_domain("second.example", 5)
    code, out, err = cli("collect", "HTTP://Example.ORG/", "second.example")
    assert code == 0, err
    assert "#1 example.org: queued" in out
    assert "#2 second.example: queued" in out


# -- refused input -----------------------------------------------------------------------

BAD_INPUTS = {
    "email": ("alice@stripe.com", "'alice@stripe.com'"),
    "absolute-path": ("/etc/hosts", "'/etc/hosts'"),
    "ipv4": ("192.168.10.1", "'192.168.10.1'"),
    "ipv6-url": ("http://[::1]/", "'http://[::1]/'"),
    "relative-path": ("../x", "'../x'"),
    "empty": ("", "''"),
    "too-long": ("a" * 296 + ".com", "'" + "a" * 50),
}


@pytest.mark.parametrize(("raw", "named"), BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_exits_2_with_one_line_naming_it_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, raw: str, named: str) -> None:
    # a good domain next to the bad one: the batch is all or nothing
    code, out, err = cli("collect", "good.example", raw)
    assert code == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("novahunt: error: ")
    assert named in err
    assert "not a usable domain" in err
    assert listed(cli) == []
    assert sandbox.requests == []


def test_collect_without_any_domain_exits_2(sandbox: Sandbox, cli: Cli) -> None:
    code, _, err = cli("collect")
    assert code == 2
    assert "at least one domain" in err
    assert listed(cli) == []


# -- --file ------------------------------------------------------------------------------


def test_a_bad_line_in_a_big_file_names_the_line_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    lines = [f"company{i}.example" for i in range(1, 1001)]
    lines[516] = "sales@company517.example"  # line 517
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    code, out, err = cli("collect", "--file", str(listing))
    assert time.monotonic() - started < 5
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert f"{listing}:517:" in err
    assert "sales@company517.example" in err
    assert listed(cli) == []
    assert sandbox.requests == []


def test_a_good_file_queues_one_job_per_domain_skipping_blanks_and_comments(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    for domain in ("alpha.example", "beta.example", "delta.example"):
        sandbox.add_domain(domain, 5)
    listing = tmp_path / "domains.txt"
    listing.write_text(
        "# prospects for Q3\n"
        "\n"
        "alpha.example\n"
        "   \n"
        "https://www.Beta.example/pricing   # from the ad campaign\n"
        "# gamma.example is commented out\n"
        "delta.example\n"
        "ALPHA.example\n"  # the same domain again: one job
        "\n", encoding="utf-8")
    code, out, err = cli("collect", "--file", str(listing), "--json")
    assert code == 0, err
    assert [j["domain"] for j in json.loads(out)] == [
        "alpha.example", "beta.example", "delta.example"]
    jobs = listed(cli)
    assert sorted(j["params"]["domain"] for j in jobs) == [
        "alpha.example", "beta.example", "delta.example"]
    assert {j["status"] for j in jobs} == {"queued"}


def test_a_missing_file_exits_2(sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("collect", "--file", str(tmp_path / "nope.txt"))
    assert code == 2
    assert "nope.txt" in err and err.count("\n") == 1
    assert listed(cli) == []


# -- duplicates and --json ---------------------------------------------------------------


def test_a_domain_already_queued_is_not_queued_twice(sandbox: Sandbox, cli: Cli) -> None:
    [first] = collect_json(cli, "dup.example")
    assert first["created"] is True
    code, out, err = cli("collect", "dup.example")
    assert code == 0, err
    assert f"#{first['id']} dup.example" in out
    assert "already queued" in out
    [again] = collect_json(cli, "https://dup.example/")
    assert again["id"] == first["id"]
    assert again["created"] is False
    assert again["status"] == "queued"
    assert len(listed(cli)) == 1


def test_json_output_is_an_array_with_id_domain_and_status(sandbox: Sandbox, cli: Cli) -> None:
    sandbox.add_domain("one.example", 5)
    sandbox.add_domain("two.example", 5)
    code, out, err = cli("collect", "one.example", "two.example", "--json")
    assert code == 0, err
    jobs = json.loads(out)
    assert isinstance(jobs, list) and len(jobs) == 2
    for job, domain in zip(jobs, ["one.example", "two.example"], strict=True):
        assert {"id", "domain", "status"} <= job.keys()
        assert isinstance(job["id"], int)
        assert job["domain"] == domain
        assert job["status"] == "queued"
    assert jobs[0]["id"] != jobs[1]["id"]
    assert sorted(j["id"] for j in listed(cli)) == sorted(j["id"] for j in jobs)


# -- scheduling, priority and filters ----------------------------------------------------


def test_delay_schedules_the_job_that_far_ahead(sandbox: Sandbox, cli: Cli) -> None:
    [job] = collect_json(cli, "later.example", "--delay", "10m")
    assert job["status"] == "scheduled"
    detail = shown(cli, job["id"])
    assert detail["status"] == "scheduled"
    assert 600 - 5 <= seconds_from_now(detail["run_at"]) <= 600 + 1


def test_at_a_future_time_schedules_the_job_then(sandbox: Sandbox, cli: Cli) -> None:
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    [job] = collect_json(cli, "at.example", "--at", when.isoformat())
    assert job["status"] == "scheduled"
    detail = shown(cli, job["id"])
    assert datetime.fromisoformat(detail["run_at"]) == when


def test_at_a_past_time_queues_the_job_now(sandbox: Sandbox, cli: Cli) -> None:
    [job] = collect_json(cli, "past.example", "--at", "2020-01-01T09:00:00+00:00")
    assert job["status"] == "queued"


def test_a_scheduled_job_is_not_run_before_its_time(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("later.example", 5)
    [job] = collect_json(cli, "later.example", "--delay", "10m")
    drain(inline_worker)
    assert shown(cli, job["id"])["status"] == "scheduled"
    assert sandbox.requests == []


BAD_FLAGS = {
    "delay-and-at": (["--delay", "10m", "--at", "2099-01-01T09:00"], "--delay"),
    "priority-0": (["--priority", "0"], "priority"),
    "priority-6": (["--priority", "6"], "priority"),
    "type-bogus": (["--type", "bogus"], "bogus"),
    "delay-bogus": (["--delay", "soon"], "soon"),
    "at-bogus": (["--at", "next tuesday"], "next tuesday"),
}


@pytest.mark.parametrize(("flags", "named"), BAD_FLAGS.values(), ids=BAD_FLAGS.keys())
def test_bad_flags_exit_2_and_queue_nothing(
        sandbox: Sandbox, cli: Cli, flags: list[str], named: str) -> None:
    code, out, err = cli("collect", "flags.example", *flags)
    assert code == 2
    assert named in err
    assert "flags.example" not in out
    assert listed(cli) == []


def test_priority_and_filters_are_stored_on_the_job(sandbox: Sandbox, cli: Cli) -> None:
    [job] = collect_json(cli, "filters.example", "--priority", "1", "--type", "personal",
                         "--seniority", "senior,executive", "--department", "sales",
                         "--max-results", "40")
    detail = shown(cli, job["id"])
    assert detail["priority"] == 1
    params = detail["params"]
    assert (params["type"], params["seniority"], params["department"],
            params["max_results"]) == ("personal", "senior,executive", "sales", 40)


def test_tags_are_stored_and_jobs_list_filters_by_them(sandbox: Sandbox, cli: Cli) -> None:
    [tagged] = collect_json(cli, "tagged.example", "--tag", "a", "--tag", "b")
    [plain] = collect_json(cli, "plain.example")
    assert shown(cli, tagged["id"])["tags"] == ["a", "b"]
    assert shown(cli, plain["id"])["tags"] == []
    assert [j["id"] for j in listed(cli, "--tag", "a")] == [tagged["id"]]
    assert [j["id"] for j in listed(cli, "--tag", "b")] == [tagged["id"]]
    assert listed(cli, "--tag", "c") == []


# -- freshness ---------------------------------------------------------------------------


def collect_and_run(cli: Cli, worker: WorkerRuntime, domain: str) -> dict[str, Any]:
    [job] = collect_json(cli, domain)
    assert drain(worker) >= 1
    detail = shown(cli, job["id"])
    assert detail["status"] == "completed", detail
    return detail


def test_a_fresh_collection_is_served_from_state_db_with_no_request(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("fresh.example", 30)
    first = collect_and_run(cli, inline_worker, "fresh.example")
    calls = len(sandbox.requests)
    assert calls >= 1

    code, out, err = cli("collect", "fresh.example")
    assert code == 0, err
    assert "completed from state.db" in out and "30 emails" in out
    [again] = collect_json(cli, "www.fresh.example")
    assert again["status"] == "completed"
    assert again["id"] != first["id"]
    result = shown(cli, again["id"])["result"]
    assert result["cached"] is True
    assert result["emails_collected"] == 30
    assert result["api_calls"] == 0
    assert drain(inline_worker) == 0  # nothing was enqueued for it
    assert len(sandbox.requests) == calls


def test_refresh_queues_a_real_collection(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("refresh.example", 12)
    collect_and_run(cli, inline_worker, "refresh.example")
    before = sandbox.count("domain-search", domain="refresh.example")
    [job] = collect_json(cli, "refresh.example", "--refresh")
    assert job["status"] == "queued"
    drain(inline_worker)
    detail = shown(cli, job["id"])
    assert detail["status"] == "completed"
    assert not detail["result"].get("cached")
    assert sandbox.count("domain-search", domain="refresh.example") == before + 1


def test_a_zero_freshness_window_makes_every_collect_ask_hunter(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("stale.example", 8)
    collect_and_run(cli, inline_worker, "stale.example")
    monkeypatch.setenv("NOVAHUNT_FRESHNESS", "0s")
    inline_worker.settings = config.load()
    [job] = collect_json(cli, "stale.example")
    assert job["status"] == "queued"
    drain(inline_worker)
    assert shown(cli, job["id"])["result"]["api_calls"] == 1
    assert sandbox.count("domain-search", domain="stale.example") == 2


# -- the API key -------------------------------------------------------------------------


def test_without_an_api_key_collect_refuses_up_front_and_queues_nothing(cli: Cli) -> None:
    code, out, err = cli("collect", "x.com")
    assert code == 3  # ConfigError
    assert out == ""
    assert err.count("\n") == 1
    assert "HUNTER_API_KEY" in err
    assert listed(cli) == []


def test_a_job_whose_worker_has_no_key_fails_at_once_naming_hunter_api_key(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("nokey.example", 5)
    [job] = collect_json(cli, "nokey.example")
    monkeypatch.delenv("HUNTER_API_KEY")
    inline_worker.settings = config.load()
    drain(inline_worker)
    detail = shown(cli, job["id"])
    assert detail["status"] == "failed"  # a config problem is not worth retrying
    assert "HUNTER_API_KEY" in detail["error"]
    assert KEY not in json.dumps(detail)
    assert sandbox.requests == []


def test_a_fresh_domain_is_served_even_without_a_key(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("cached.example", 4)
    collect_and_run(cli, inline_worker, "cached.example")
    monkeypatch.delenv("HUNTER_API_KEY")
    [job] = collect_json(cli, "cached.example")
    assert job["status"] == "completed"


def test_a_job_queued_as_stale_is_not_served_from_cache_by_the_worker(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    sandbox.add_domain("stale2.example", 8)
    collect_and_run(cli, inline_worker, "stale2.example")
    # only the collect command sees the zero window; the worker keeps its default (7 days)
    monkeypatch.setenv("NOVAHUNT_FRESHNESS", "0s")
    [job] = collect_json(cli, "stale2.example")
    assert job["status"] == "queued"
    drain(inline_worker)
    result = shown(cli, job["id"])["result"]
    assert not result.get("cached")
    assert sandbox.count("domain-search", domain="stale2.example") == 2
