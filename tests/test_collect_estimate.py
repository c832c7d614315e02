"""`collect`'s cost before paying: Email Count per domain, --dry-run, the credit pre-check,
domains Hunter has no emails for, and the filters checked against Hunter's lists."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import KEY, Cli, drain, shown
from novahunt.providers.hunter import HunterClient
from novahunt.sandbox import Fault, Sandbox
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime

# emails per domain, for the tests that price a list
SIZES = {"small.example": 7, "mid.example": 52, "big.example": 340, "empty.example": 0}
FREE_ENDPOINTS = {"email-count", "account"}


@pytest.fixture(autouse=True)
def fast_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hunter's 15/s would make every list test slow; the rate test sets its own
    monkeypatch.setenv("NOVAHUNT_RATE_EMAIL_COUNT", "500/s")


@pytest.fixture()
def free_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A sandbox on Hunter's free plan, with novahunt pointed at it."""
    box = Sandbox(KEY, free_plan=True)
    box.start()
    monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
    monkeypatch.setenv("HUNTER_API_KEY", KEY)
    yield box
    box.stop()


def listed(cli: Cli) -> list[dict[str, Any]]:
    code, out, err = cli("jobs", "list", "--json", "--limit", "5000")
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, list)
    return found


def add_sizes(box: Sandbox, sizes: dict[str, int]) -> None:
    for domain, n in sizes.items():
        box.add_domain(domain, n)


def write_list(tmp_path: Path, domains: list[str]) -> Path:
    listing = tmp_path / "domains.txt"
    listing.write_text("\n".join(domains) + "\n", encoding="utf-8")
    return listing


def cost(n: int, max_results: int) -> int:
    """HUNTER-API.md (HELP): one search credit per started 10 emails returned."""
    return math.ceil(min(n, max_results) / 10)


def endpoints(box: Sandbox) -> set[str]:
    return {r.endpoint for r in box.requests}


# -- the client --------------------------------------------------------------------------


def test_email_count_reads_the_total_and_its_breakdown_and_bills_nothing(
        sandbox: Sandbox) -> None:
    """HUNTER-API.md, Email Count (DOCS): `data {total, personal_emails, generic_emails,
    department, seniority}`, free."""
    sandbox.add_domain("count.example", 52)
    with HunterClient(KEY, sandbox.url) as client:
        count = client.email_count("count.example")
        generic = client.email_count("count.example", type="generic")
    assert count.domain == "count.example"
    assert count.total == 52
    assert count.personal + count.generic == 52
    assert generic.total == count.generic
    assert set(count.seniority) == {"junior", "senior", "executive"}
    assert len(count.department) == 14
    assert sum(count.department.values()) <= 52
    assert sandbox.searches_used == 0
    assert [r.params.get("type") for r in sandbox.requests] == [None, "generic"]


# -- --dry-run ---------------------------------------------------------------------------


def test_dry_run_prints_each_domain_and_the_total_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    add_sizes(sandbox, SIZES)
    sandbox.add_domain("fresh.example", 12)
    # a fresh collection in state.db: served from it, Hunter is not asked about it
    code, _, err = cli("collect", "fresh.example")
    assert code == 0, err
    drain(inline_worker)
    jobs_before = listed(cli)
    billed_before = int(sandbox.searches_used)
    sandbox.requests.clear()

    listing = write_list(tmp_path, [*SIZES, "fresh.example"])
    code, out, err = cli("collect", "--file", str(listing), "--dry-run")
    assert code == 0, err
    assert "small.example: 7 emails at Hunter, 1 search credit" in out
    assert "mid.example: 52 emails at Hunter, 6 search credits" in out
    assert "big.example: 340 emails at Hunter, 34 search credits" in out
    assert "empty.example: no emails at Hunter, 0 search credits" in out
    assert "fresh.example: served from state.db, 0 search credits" in out
    left = 500 - billed_before  # the sandbox's Starter plan: 500 searches a month
    assert f"total: 5 domains, 41 search credits; your Hunter account has {left} left" in out
    assert "nothing queued" in out
    assert listed(cli) == jobs_before
    assert endpoints(sandbox) <= FREE_ENDPOINTS
    assert sandbox.count("domain-search") == 0
    assert sandbox.count("email-count") == 4  # not for the fresh domain
    assert sandbox.count("email-count", domain="fresh.example") == 0


def test_dry_run_of_one_domain_as_json(sandbox: Sandbox, cli: Cli) -> None:
    sandbox.add_domain("one.example", 52)
    code, out, err = cli("collect", "one.example", "--dry-run", "--json", "--max-results", "30")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["domains"] == [{"domain": "one.example", "emails": 52, "credits": 3,
                                  "at_most": False, "served_from_state_db": False}]
    assert answer["credits"] == 3
    assert answer["credits_left"] == 500
    assert answer["credit_unit"] == "search credits"
    assert (answer["free_plan"], answer["queued"]) == (False, 0)
    assert listed(cli) == []
    assert endpoints(sandbox) == FREE_ENDPOINTS


def test_dry_run_with_seniority_says_at_most_and_bounds_what_the_collection_bills(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """HUNTER-API.md: Email Count takes `type` only (DOCS); its seniority breakdown bounds
    a Domain Search filtered by seniority."""
    sandbox.add_domain("ranks.example", 340)
    with HunterClient(KEY, sandbox.url) as client:
        breakdown = client.email_count("ranks.example").seniority
    bound = breakdown["senior"] + breakdown["executive"]
    assert 0 < bound < 340
    code, out, err = cli("collect", "ranks.example", "--seniority", "Senior, executive",
                         "--dry-run")
    assert code == 0, err
    assert (f"ranks.example: at most {bound} emails at Hunter, "
            f"at most {cost(bound, 5000)} search credits") in out
    assert f"total: 1 domain, at most {cost(bound, 5000)} search credits" in out
    assert listed(cli) == []
    # and the collection itself pays no more than that
    code, _, err = cli("collect", "ranks.example", "--seniority", "senior,executive")
    assert code == 0, err
    drain(inline_worker)
    assert 0 < sandbox.searches_used <= cost(bound, 5000)


# -- the pre-check -----------------------------------------------------------------------


def test_the_pre_check_is_the_exact_bill_of_the_collections(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    """HUNTER-API.md, Email Count: the exact cost is ceil(min(total, max)/10) a domain."""
    sizes = {**SIZES, "huge.example": 1234, "ten.example": 10, "eleven.example": 11}
    add_sizes(sandbox, sizes)
    expected = sum(cost(n, 500) for n in sizes.values())
    assert expected == 1 + 6 + 34 + 0 + 50 + 1 + 2
    code, out, err = cli("collect", "--file", str(write_list(tmp_path, list(sizes))),
                         "--max-results", "500")
    assert code == 0, err
    assert (f"7 domains need {expected} search credits (Email Count, free); "
            "1 with no emails at Hunter complete now; your Hunter account has 500 left") in err
    assert sandbox.count("domain-search") == 0  # counting paid nothing
    assert "empty.example: completed, Hunter has no emails for this domain" in out
    drain(inline_worker)
    assert sandbox.searches_used == expected
    assert {j["status"] for j in listed(cli)} == {"completed"}


def test_a_short_account_is_warned_with_the_exact_figures_off_a_terminal(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(KEY, searches_available=20) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        add_sizes(box, SIZES)
        code, _, err = cli("collect", "--file", str(write_list(tmp_path, list(SIZES))))
        assert code == 0, err
        assert ("4 domains need 41 search credits (Email Count, free); 1 with no emails at "
                "Hunter complete now; your Hunter account has 20 left; queueing anyway "
                "(not a terminal") in err
        assert len(listed(cli)) == 4
        code, _, err = cli("collect", "a.example", "b.example", "--yes")
        assert code == 0, err
        assert box.count("domain-search") == 0


def test_on_a_free_plan_each_domain_costs_at_most_one_credit(
        free_sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    """HUNTER-API.md, Domain Search: a free key reads 10 emails a domain (DOCS, ISSUE), so
    a collection bills 1 credit at most."""
    add_sizes(free_sandbox, SIZES)
    listing = write_list(tmp_path, list(SIZES))
    code, out, err = cli("collect", "--file", str(listing), "--dry-run", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert {d["domain"]: d["credits"] for d in answer["domains"]} == {
        "small.example": 1, "mid.example": 1, "big.example": 1, "empty.example": 0}
    assert (answer["credits"], answer["free_plan"]) == (3, True)
    code, _, err = cli("collect", "--file", str(listing), "--yes")
    assert code == 0, err
    assert "4 domains need 3 search credits (Email Count, free; free plan: at most 1 a " \
           "domain)" in err


def test_on_a_single_credit_plan_the_credits_remaining_are_compared(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HUNTER-API.md, Account: current plans have one `credits` bucket; read `remaining`,
    never available - used (MCP, PLUG)."""
    with Sandbox(KEY, single_credit=True, credits_available=12.5) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        add_sizes(box, SIZES)
        listing = write_list(tmp_path, list(SIZES))
        code, out, err = cli("collect", "--file", str(listing), "--dry-run", "--json")
        assert code == 0, err
        answer = json.loads(out)
        assert (answer["credits"], answer["credits_left"], answer["credit_unit"]) == (
            41, 12.5, "credits")
        code, _, err = cli("collect", "--file", str(listing))
        assert code == 0, err
        assert "4 domains need 41 credits" in err and "has 12.5 left" in err
        assert "queueing anyway (not a terminal" in err


def test_the_counts_share_the_rate_limiter_and_show_progress_when_slow(
        sandbox: Sandbox, cli: Cli, state: Database, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """HUNTER-API.md: Email Count is limited to 15/s like the rest (DOCS): the counts
    reserve their slots in the limiter every process shares."""
    monkeypatch.setenv("NOVAHUNT_RATE_EMAIL_COUNT", "5/s")
    domains = [f"d{i}.example" for i in range(10)]
    add_sizes(sandbox, dict.fromkeys(domains, 3))
    code, _, err = cli("collect", "--file", str(write_list(tmp_path, domains)))
    assert code == 0, err
    times = sorted(r.at for r in sandbox.requests if r.endpoint == "email-count")
    assert len(times) == 10
    # evenly spaced at 5/s: nine gaps of 0.2 s; never more than 5 in one second
    assert times[-1] - times[0] >= 1.7
    assert all(times[i + 5] - times[i] >= 0.95 for i in range(5))
    assert "counting emails at Hunter (free): 10/10 domains" in err
    assert state.scalar("SELECT COUNT(*) FROM rate_slots WHERE bucket = ?",
                        ("hunter:email-count",)) == 10
    ledger = state.query("SELECT credits FROM api_calls WHERE endpoint = 'email-count'")
    assert [r["credits"] for r in ledger] == [0] * 10


def test_a_domain_hunter_will_not_count_is_priced_at_most_and_still_queued(
        sandbox: Sandbox, cli: Cli) -> None:
    """HUNTER-API.md: errors about one item are about that item, not the list (DOCS)."""
    add_sizes(sandbox, {"mid.example": 52, "odd.example": 5})
    refusal = Fault(400, "invalid_domain", "The domain is invalid")
    sandbox.inject(refusal, refusal, endpoint="email-count", domain="odd.example")
    code, out, err = cli("collect", "mid.example", "odd.example", "--max-results", "40",
                         "--dry-run")
    assert code == 0, err
    assert "odd.example: not counted (" in out and "invalid_domain" in out
    assert "odd.example: not counted" in out and "at most 4 search credits" in out
    assert "total: 2 domains, at most 8 search credits" in out
    code, out, err = cli("collect", "mid.example", "odd.example", "--json")
    assert code == 0, err
    assert {j["domain"]: j["status"] for j in json.loads(out)} == {
        "mid.example": "queued", "odd.example": "queued"}
    assert "odd.example: Hunter would not count it" in err


# -- domains Hunter has no emails for ----------------------------------------------------


def test_a_domain_hunter_has_no_emails_for_completes_at_once_without_a_search(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """HUNTER-API.md, Email Count: domains with 0 emails need no paid search at all."""
    sandbox.add_domain("full.example", 5)
    sandbox.add_domain("empty.example", 0)
    code, out, err = cli("collect", "full.example", "empty.example", "--json")
    assert code == 0, err
    created = {j["domain"]: j for j in json.loads(out)}
    assert created["full.example"]["status"] == "queued"
    assert created["empty.example"]["status"] == "completed"
    detail = shown(cli, created["empty.example"]["id"])
    result = detail["result"]
    assert result["note"] == "Hunter has no emails for this domain"
    assert (result["emails_collected"], result["total_available"], result["api_calls"]) == (
        0, 0, 0)
    assert "Hunter has no emails" in json.dumps(detail["events"])
    drain(inline_worker)
    assert sandbox.count("domain-search", domain="empty.example") == 0
    assert sandbox.count("domain-search", domain="full.example") == 1

    code, out, err = cli("collect", "full.example", "empty.example", "--refresh")
    assert code == 0, err
    assert "empty.example: completed, Hunter has no emails for this domain" in out


# -- filters checked before anything is queued -------------------------------------------

BAD_FILTERS = {
    "seniority": (["--seniority", "senior,boss"], "'boss'", "junior, senior, executive"),
    "department": (["--department", "sales,Cooking"], "'cooking'",
                   "executive, it, finance, management, sales, legal, support, hr, "
                   "marketing, communication, education, design, health, operations"),
    "type": (["--type", "work"], "'work'", "personal, generic"),
}


@pytest.mark.parametrize(("flags", "named", "allowed"), BAD_FILTERS.values(),
                         ids=BAD_FILTERS.keys())
def test_a_filter_hunter_would_refuse_exits_2_naming_it_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, flags: list[str], named: str, allowed: str) -> None:
    """HUNTER-API.md, Domain Search: `400 invalid_type`, `invalid_seniority`,
    `invalid_department` (DOCS)."""
    sandbox.add_domain("a.example", 5)
    code, out, err = cli("collect", "a.example", "b.example", *flags)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert flags[0] in err and named in err and allowed in err
    assert listed(cli) == []
    assert sandbox.requests == []


def test_filters_are_normalised_to_hunters_spelling(sandbox: Sandbox, cli: Cli) -> None:
    sandbox.add_domain("a.example", 5)
    code, out, err = cli("collect", "a.example", "--type", "Personal", "--seniority",
                         " Senior,EXECUTIVE,senior", "--department", "IT, sales,", "--json")
    assert code == 0, err
    [job] = json.loads(out)
    params = shown(cli, job["id"])["params"]
    assert (params["type"], params["seniority"], params["department"]) == (
        "personal", "senior,executive", "it,sales")


def test_a_long_list_the_credits_surely_cover_is_not_counted_first(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    """Counting 10,000 domains takes 20 minutes at Hunter's 500/min: when every domain at
    --max-results fits the credits left, the list is queued at once, with the bound."""
    sandbox.searches_available = 1_000_000
    domains = [f"d{i}.example" for i in range(501)]
    code, _, err = cli("collect", "--file", str(write_list(tmp_path, domains)),
                       "--max-results", "20")
    assert code == 0, err
    assert "501 domains need at most 1002 search credits (--max-results)" in err
    assert sandbox.count("email-count") == 0
    assert len(listed(cli)) == 501


def test_a_long_list_that_may_not_fit_the_credits_is_counted(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.searches_available = 1000
    domains = [f"d{i}.example" for i in range(501)]
    code, _, err = cli("collect", "--file", str(write_list(tmp_path, domains)),
                       "--max-results", "20")
    assert code == 0, err
    assert sandbox.count("email-count") == 501
    assert "501 with no emails at Hunter complete now" in err


def test_yes_queues_a_long_list_without_counting_it(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.searches_available = 1000
    domains = [f"d{i}.example" for i in range(501)]
    code, _, err = cli("collect", "--file", str(write_list(tmp_path, domains)), "--yes")
    assert code == 0, err
    assert sandbox.count("email-count") == 0
    assert "queueing anyway (--yes)" in err
    assert len(listed(cli)) == 501
