"""Both kinds of Hunter plan as `/v2/account` describes them, the plan kept in state.db,
and what each answer is billed: the ledger is Hunter's bill, to the credit."""

from __future__ import annotations

import copy
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from helpers import KEY, Cli, drain, run_process
from novahunt import config
from novahunt.ops import account
from novahunt.providers.hunter import bill_verification, parse_account
from novahunt.providers.records import Account
from novahunt.sandbox import Sandbox
from novahunt.state import db, jobs, ledger
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

BODIES = Path(__file__).parent / "hunter-bodies"


def body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((BODIES / name).read_text(encoding="utf-8"))
    return loaded


# -- /v2/account, both shapes -----------------------------------------------------------

def test_separate_quotas_and_the_legacy_calls_block_are_read() -> None:
    """DOCS, MCP (`account.ts`): `requests.searches/verifications {used, available}`; the
    older answer carries only the deprecated `calls` block (hunter-bodies, messerli mock)."""
    split = parse_account({"plan_name": "Starter", "plan_level": 1, "reset_date": "2026-08-01",
                           "requests": {"searches": {"used": 120, "available": 500},
                                        "verifications": {"used": 1000, "available": 1000}}})
    assert (split.searches_left, split.verifications_left) == (380, 0)
    assert not split.single_credit and not split.is_free and split.plan_level == 1
    assert account.credits_left(split, "search") == 380
    assert not account.has_credits(split, "verification")
    legacy = parse_account(body("account_legacy_calls_block_messerli_mock.json")["data"])
    assert (legacy.plan_name, legacy.plan_level) == ("Pro", 4)
    assert (legacy.searches_used, legacy.searches_available) == (28526, 50000)
    assert legacy.verifications_left is None and not legacy.single_credit


def test_a_single_credit_plan_is_read_from_remaining_never_available_minus_used() -> None:
    """MCP (`account-management.ts`: "`remaining` is the value to pace work against";
    values can be fractional), PLUG: read `credits.remaining`, never available - used.
    Here extra packs make `available - used` (60) differ from what is left (12.5)."""
    plan = parse_account({"plan_name": "Growth", "plan_level": 2, "reset_date": "2026-08-01",
                          "requests": {"credits": {"used": 40.5, "available": 100,
                                                   "remaining": 12.5},
                                       "searches": {"used": 30, "available": 100},
                                       "verifications": {"used": 21, "available": 100}}})
    assert plan.single_credit and plan.credits_remaining == 12.5
    assert plan.credits_used == 40.5 and plan.credits_available == 100.0
    assert account.credits_left(plan, "search") == 12.5
    assert account.credits_left(plan, "verification") == 12.5
    # a search needs one credit left, a verification half of one (HELP)
    low = parse_account({"requests": {"credits": {"used": 99.5, "available": 100,
                                                  "remaining": 0.5}}})
    assert not account.has_credits(low, "search") and account.has_credits(low, "verification")
    assert account.price(low, "verification") == 0.5 and account.price(low, "search") == 1
    assert account.price(None, "verification") == 1  # plan unknown: as on separate quotas


def test_novahunt_account_shows_credits_remaining_on_a_single_credit_plan(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """MCP, PLUG: a single-credit plan's account answer has `requests.credits` with
    `remaining`; `account`, `account --json` and doctor show it."""
    with Sandbox(KEY, single_credit=True, credits_available=100) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        code, out, err = cli("account", "--json")
        assert code == 0, err
        data = json.loads(out)
        assert data["single_credit"] is True
        assert data["credits"] == {"used": 0, "available": 100, "remaining": 100}
        code, out, _ = cli("account")
        assert code == 0 and "credits        0 used of 100, 100 remaining" in out
        code, out, _ = cli("doctor", "--json")
        [key_line] = [c for c in json.loads(out) if c["check"] == "api key"]
        assert key_line["status"] == "ok" and "100 credits left" in key_line["message"]
    with Sandbox(KEY) as box:  # separate quotas: no credits block
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        data = json.loads(cli("account", "--json")[1])
        assert data["single_credit"] is False and data["credits"] is None


# -- the plan kept in state.db ----------------------------------------------------------

def test_the_last_account_answer_is_kept_in_state_db_for_every_process(
        state: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plan one process learnt (`novahunt account` here) is the plan every other
    process bills by, without asking Hunter itself."""
    assert state.scalar("SELECT COUNT(*) FROM provider_accounts") == 0
    with Sandbox(KEY, single_credit=True, credits_available=40) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        done = run_process("account")
        assert done.returncode == 0, done.stderr
    plan = account.known_plan(state)  # this process never asked Hunter
    assert plan is not None and plan.single_credit and plan.credits_remaining == 40
    assert plan.plan_name == "Growth"


def test_the_worker_learns_the_plan_at_start_and_only_logs_a_failure(
        state: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with Sandbox(KEY, single_credit=True, credits_available=7.5) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        done = run_process("worker", "--burst")
        assert done.returncode == 0, done.stderr
        assert box.count("account") == 1
    plan = account.known_plan(db.connect(state.location))
    assert plan is not None and plan.credits_remaining == 7.5
    # Hunter unreachable: the worker still starts and works with the plan it knew
    monkeypatch.setenv("NOVAHUNT_HUNTER_URL", "http://127.0.0.1:9/v2")
    monkeypatch.setenv("NOVAHUNT_HOME", str(tmp_path / "elsewhere"))
    done = run_process("worker", "--burst")
    assert done.returncode == 0
    assert "could not ask Hunter for the plan" in done.stderr and KEY not in done.stderr


@pytest.fixture()
def statements(state: Database) -> Iterator[list[str]]:
    """Every SQL statement this thread's state.db connection runs (SQLite's trace)."""
    seen: list[str] = []
    conn = state.conn
    assert isinstance(conn, sqlite3.Connection)
    conn.set_trace_callback(seen.append)
    yield seen
    conn.set_trace_callback(None)


def test_the_plan_costs_a_job_no_query(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime, cli: Cli,
        statements: list[str]) -> None:
    """The queue's per-job budget is settled: knowing the plan must not add to it. A
    process reads the kept plan at most once a minute (account.PLAN_TTL)."""
    sandbox.add_domain("p.example", 3)
    emails = sandbox.emails_of("p.example")
    for email in emails:
        sandbox.set_verdict(email, "valid")
    inline_worker.learn_plan()
    for email in emails:
        assert cli("verify", email)[0] == 0
    statements.clear()
    assert drain(inline_worker) == 3
    assert [s for s in statements if "provider_accounts" in s] == []
    assert sandbox.verifications_used == 3


# -- what each answer is billed ---------------------------------------------------------

@pytest.mark.parametrize(("status", "billed"), [
    ("valid", 1), ("invalid", 1), ("accept_all", 1),
    ("unknown", 0), ("disposable", 0), ("webmail", 0)])
def test_only_valid_invalid_and_accept_all_are_billed(status: str, billed: float) -> None:
    """HELP, PLUG: Hunter bills valid, invalid and accept_all verifications; unknown and
    disposable (and webmail) cost nothing; a single-credit plan pays 0.5 a verification."""
    answer = copy.deepcopy(body("email_verifier_patrick_stripe_valid_with_deprecation_notice.json"))
    answer["data"]["status"] = status
    assert bill_verification(answer) == ("verification", billed)
    assert bill_verification(answer, single_credit=True) == ("verification", billed / 2)


def test_the_legacy_verifier_shape_is_billed_by_what_it_means() -> None:
    """DOCS: older answers carry only the deprecated `result` (hunter-bodies, messerli
    mock: deliverable -> valid, billed); their webmail and disposable flags are free."""
    legacy = body("email_verifier_steli_close_io_legacy_no_status_messerli_mock.json")
    assert bill_verification(legacy) == ("verification", 1)
    webmail = copy.deepcopy(legacy)
    webmail["data"]["webmail"] = True
    assert bill_verification(webmail) == ("verification", 0)
    risky = copy.deepcopy(legacy)
    risky["data"]["result"] = "risky"
    assert bill_verification(risky) == ("verification", 0)   # unknown
    risky["data"]["accept_all"] = True
    assert bill_verification(risky) == ("verification", 1)   # accept_all


def test_credit_figures_show_halves_and_whole_numbers_plainly() -> None:
    assert [ledger.credits_text(v) for v in (3.0, 0.5, 1250.5, 0, None)] == [
        "3", "0.5", "1250.5", "0", "0"]
    assert json.dumps([ledger.amount(4.0), ledger.amount(2.5)]) == "[4, 2.5]"


def _name(email: str) -> tuple[str, str]:
    first, _, last = email.partition("@")[0].partition(".")
    return first, last


@pytest.mark.parametrize("single_credit", [False, True], ids=["separate", "single_credit"])
def test_stats_and_the_ledger_agree_with_what_the_sandbox_billed(
        backend: str, state: Database, cli: Cli, monkeypatch: pytest.MonkeyPatch,
        single_credit: bool) -> None:
    """The ledger is Hunter's bill (HELP, PLUG): a search credit per started 10 emails
    of a Domain Search, one per address the Finder finds (a miss is free), one per
    valid/invalid/accept_all verification (0.5 on a single-credit plan; unknown,
    disposable and webmail free). collect + verify + find over mixed verdicts: the
    ledger, `stats --json`, `/metrics` and the jobs' own `credits` all match the
    sandbox's record of what it billed."""
    plan: dict[str, Any] = {"single_credit": True, "credits_available": 500} if single_credit \
        else {}
    with Sandbox(KEY, **plan) as box:
        monkeypatch.setenv("NOVAHUNT_HUNTER_URL", box.url)
        monkeypatch.setenv("HUNTER_API_KEY", KEY)
        box.add_domain("bill.example", 23)
        box.add_domain("mixed.example", 0)
        verdicts = ("valid", "invalid", "accept_all", "unknown", "disposable", "webmail")
        listed = [f"{v}.{i}@mixed.example" for v in verdicts for i in range(2)]
        for email in listed:
            box.set_verdict(email, email.partition(".")[0])
        runtime = WorkerRuntime(state, config.load(), concurrency=1)
        runtime.activate()
        try:
            runtime.learn_plan()  # as `novahunt worker` does at start
            assert cli("collect", "bill.example", "--verify")[0] == 0
            assert cli("verify", *listed)[0] == 0
            hit_first, hit_last = _name(box.emails_of("bill.example")[0])
            assert cli("find", "--domain", "bill.example", "--first", hit_first,
                       "--last", hit_last)[0] == 0
            assert cli("find", "--domain", "nobody.example", "--first", "Ann",
                       "--last", "Nobody")[0] == 0
            drain(runtime)
            page = metrics_page(runtime, state)
        finally:
            runtime.deactivate()
        searches, verifications = box.searches_used, box.verifications_used
        billed = sum(box.billed_verifications(e) for e in listed)

    assert searches == 3 + 1  # 23 emails: 3 blocks of 10; one Finder hit, the miss free
    assert billed == 6  # two each of valid, invalid, accept_all
    assert verifications % (0.5 if single_credit else 1) == 0 and verifications >= 3
    assert sum(1 for r in jobs.listing(state, limit=100) if r.status is Status.COMPLETED) == 5
    data = json.loads(cli("stats", "--json")[1])
    assert data["credits"] == {"search": searches, "verification": verifications}
    kinds = {r["credit_kind"]: r["n"] for r in state.query(
        "SELECT credit_kind, SUM(credits) AS n FROM api_calls WHERE credit_kind IS NOT NULL"
        " GROUP BY credit_kind")}
    assert kinds == {"search": searches, "verification": verifications}
    per_job = sum(j.result["credits"] for j in jobs.listing(state, limit=100) if j.result)
    assert per_job == searches + verifications
    assert spent(page) == {"search": searches, "verification": verifications}
    text = cli("stats")[1]
    shown = ledger.credits_text(verifications)
    assert f"{ledger.credits_text(searches)} search, {shown} verification" in text


def metrics_page(runtime: WorkerRuntime, state: Database) -> str:
    from novahunt.worker import metrics

    server = metrics.MetricsServer(runtime, state.location, port=0)
    server.start()
    try:
        import httpx

        return httpx.get(f"{server.url}/metrics", timeout=5).text
    finally:
        server.stop()


def spent(page: str) -> dict[str, float]:
    """novahunt_credits_spent_total by kind, from a /metrics page."""
    from prometheus_client.parser import text_string_to_metric_families

    return {s.labels["kind"]: s.value for f in text_string_to_metric_families(page)
            for s in f.samples if s.name == "novahunt_credits_spent_total"}


def test_an_account_without_a_credits_block_is_not_single_credit() -> None:
    assert not Account(None, None, None, None, None, None, {}).single_credit
