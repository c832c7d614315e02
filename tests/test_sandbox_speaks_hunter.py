"""The sandbox answers like Hunter's API v2: shapes, paging, filters, errors and faults.

Everything goes over real HTTP (httpx against a started Sandbox on 127.0.0.1), so these tests
also pin the wire details a client depends on: status codes, error bodies, Retry-After,
Content-Type and keep-alive.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from novahunt.sandbox import (
    BROKEN_JSON,
    CLAIMED_EMAIL_451,
    DEPARTMENTS,
    QUOTA_402,
    QUOTA_429_BILLING,
    QUOTA_429_VERIFICATIONS,
    RATE_LIMIT_403,
    RESTRICTED_ACCOUNT,
    SERVER_ERROR_HTML,
    SMTP_FAILURE_222,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    UNPROCESSABLE,
    VERIFICATION_PENDING_202,
    VERIFICATION_STATUSES,
    Fault,
    Sandbox,
    demo_sandbox,
)

KEY = "test-key"
BIG = "big-corp.example"  # 250 addresses
SMALL = "tiny-shop.example"  # 8 addresses

# Key sets of the current jbuilder-shaped Domain Search body (hunter-io/chatgpt-mcp fixture).
DATA_KEYS = {
    "domain",
    "disposable",
    "webmail",
    "accept_all",
    "pattern",
    "organization",
    "linked_domains",
    "emails",
}
EMAIL_KEYS = {
    "value",
    "type",
    "confidence",
    "sources",
    "first_name",
    "last_name",
    "position",
    "position_raw",
    "seniority",
    "department",
    "linkedin",
    "twitter",
    "phone_number",
    "verification",
}
SOURCE_KEYS = {"domain", "uri", "extracted_on", "last_seen_on", "still_on_page"}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    box = Sandbox(KEY)
    box.add_domain(BIG, 250, organization="Big Corp")
    box.add_domain(SMALL, 8, pattern="{f}{last}")
    with box:
        yield box


@pytest.fixture
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers={"X-API-KEY": KEY}, timeout=5) as c:
        yield c


def search(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/domain-search", params=params)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"errors"} and len(body["errors"]) == 1
    error: dict[str, Any] = body["errors"][0]
    assert set(error) == {"id", "code", "details"}
    assert error["code"] == response.status_code
    return error


def fetch_all(client: httpx.Client, domain: str, **filters: str) -> list[dict[str, Any]]:
    emails: list[dict[str, Any]] = []
    offset = 0
    while True:
        body = search(client, domain=domain, limit=100, offset=offset, **filters).json()
        emails.extend(body["data"]["emails"])
        offset += 100
        if offset >= body["meta"]["results"]:
            return emails


# -- shape and paging ----------------------------------------------------------------------


def test_paging_covers_every_email_exactly_once(sandbox: Sandbox, client: httpx.Client) -> None:
    seen: list[str] = []
    for offset in (0, 100, 200):
        response = search(client, domain=BIG, limit=100, offset=offset)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body = response.json()
        assert body["meta"]["results"] == 250
        assert body["meta"]["limit"] == 100 and body["meta"]["offset"] == offset
        seen += [e["value"] for e in body["data"]["emails"]]
    assert len(seen) == 250 == len(set(seen))
    assert seen == sandbox.emails_of(BIG)
    assert all(value == value.lower() and value.endswith("@" + BIG) for value in seen)
    assert sandbox.pages_served(BIG) == [0, 100, 200]
    past_end = search(client, domain=BIG, limit=100, offset=300).json()
    assert past_end["data"]["emails"] == [] and past_end["meta"]["results"] == 250


def test_body_has_the_current_hunter_shape(client: httpx.Client) -> None:
    """Domain Search's `data` and each email entry have exactly the jbuilder's keys, `meta`
    echoes the parameters. Source: MCP (hunter-bodies/
    domain_search_acme_official_jbuilder_shape_fixture.json), DOCS."""
    body = search(client, domain=BIG).json()
    assert set(body) == {"data", "meta"}
    data, meta = body["data"], body["meta"]
    assert set(data) == DATA_KEYS
    assert data["domain"] == BIG and data["organization"] == "Big Corp"
    assert data["pattern"] == "{first}.{last}" and data["linked_domains"] == []
    assert meta == {
        "results": 250,
        "limit": 10,
        "offset": 0,
        "params": {
            "domain": BIG,
            "company": None,
            "type": None,
            "seniority": None,
            "department": None,
        },
    }
    assert len(data["emails"]) == 10
    for entry in fetch_all(client, BIG):
        assert set(entry) == EMAIL_KEYS
        assert isinstance(entry["confidence"], int) and 0 <= entry["confidence"] <= 100
        assert 1 <= len(entry["sources"]) <= 2
        assert all(set(source) == SOURCE_KEYS for source in entry["sources"])
        assert set(entry["verification"]) == {"date", "status"}
        assert (entry["verification"]["date"] is None) == (entry["verification"]["status"] is None)
        if entry["type"] == "generic":
            assert entry["first_name"] is None and entry["last_name"] is None
            assert entry["seniority"] is None
        else:
            assert entry["type"] == "personal"
            assert entry["first_name"] and entry["last_name"] and entry["position"]
            assert entry["seniority"] in ("junior", "senior", "executive")
            assert entry["department"] in DEPARTMENTS


def test_contacts_are_deterministic_per_seed() -> None:
    a, b, c = Sandbox(seed=1), Sandbox(seed=1), Sandbox(seed=2)
    for box in (a, b, c):
        box.add_domain("same.example", 40)
    assert a.emails_of("same.example") == b.emails_of("same.example")
    assert a.emails_of("same.example") != c.emails_of("same.example")


def test_filters_apply_before_paging(client: httpx.Client) -> None:
    everyone = fetch_all(client, BIG)
    cases: list[tuple[dict[str, str], Any]] = [
        ({"type": "generic"}, lambda e: e["type"] == "generic"),
        ({"type": "personal"}, lambda e: e["type"] == "personal"),
        ({"seniority": "senior,executive"}, lambda e: e["seniority"] in ("senior", "executive")),
        ({"department": "it,sales"}, lambda e: e["department"] in ("it", "sales")),
        (
            {"type": "personal", "seniority": "junior", "department": "it"},
            lambda e: (
                e["type"] == "personal" and e["seniority"] == "junior" and e["department"] == "it"
            ),
        ),
    ]
    for filters, keep in cases:
        expected = [e["value"] for e in everyone if keep(e)]
        assert expected, filters
        first = search(client, domain=BIG, limit=100, **filters).json()
        assert first["meta"]["results"] == len(expected)
        assert {k: first["meta"]["params"][k] for k in filters} == filters
        assert [e["value"] for e in fetch_all(client, BIG, **filters)] == expected


def test_unknown_domain_is_an_empty_200_and_costs_nothing(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    response = search(client, domain="nobody-here.example")
    assert response.status_code == 200
    data, meta = response.json()["data"], response.json()["meta"]
    assert data["emails"] == [] and meta["results"] == 0
    assert data["organization"] is None and data["pattern"] is None
    assert sandbox.searches_used == 0


@pytest.mark.parametrize(
    ("params", "error_id", "details"),
    [
        ({}, "wrong_params", "You are missing the domain parameter"),
        ({"domain": BIG, "limit": "0"}, "pagination_error", "positive integer"),
        ({"domain": BIG, "limit": "ten"}, "pagination_error", "positive integer"),
        ({"domain": BIG, "limit": "101"}, "pagination_error", "100"),
        ({"domain": BIG, "offset": "-1"}, "pagination_error", "offset"),
    ],
)
def test_bad_parameters_answer_400(
    client: httpx.Client, params: dict[str, str], error_id: str, details: str
) -> None:
    response = search(client, **params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["id"] == error_id and details in error["details"]


def test_free_plan_refuses_limit_plus_offset_over_10() -> None:
    """On the free plan Domain Search answers 400 pagination_error whenever limit + offset > 10,
    even to a first `limit=100` request, and bills nothing for it; within 10 it answers as
    usual. The account says plan "Free", level 0. Source: DOCS (error table), ISSUE
    (lanmaster53/recon-ng-marketplace#159, SpecterOps/ghost_scout#13: the details text), EXT
    (the extension always asks limit=10&offset=0)."""
    refusal = {
        "id": "pagination_error",
        "code": 400,
        "details": "The search results are limited to 10 email addresses on your current plan.",
    }
    with Sandbox(KEY, free_plan=True) as box:
        box.add_domain(BIG, 250)
        with httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
            for limit, offset in ((100, 0), (10, 10), (5, 8), (1, 10), (11, 0)):
                refused = search(c, domain=BIG, limit=limit, offset=offset)
                assert refused.status_code == 400, (limit, offset)
                assert error_of(refused) == refusal
            assert box.searches_used == 0 and box.pages_served(BIG) == []
            first = search(c, domain=BIG, limit=10, offset=0).json()
            assert len(first["data"]["emails"]) == 10 and first["meta"]["results"] == 250
            assert len(search(c, domain=BIG).json()["data"]["emails"]) == 10  # default limit
            assert len(search(c, domain=BIG, limit=4, offset=6).json()["data"]["emails"]) == 4
            assert box.searches_used == 3
            account = c.get("/account").json()["data"]
            assert (account["plan_name"], account["plan_level"]) == ("Free", 0)
    with Sandbox(KEY) as paid:
        paid.add_domain(BIG, 250)
        with httpx.Client(base_url=paid.url, headers={"X-API-KEY": KEY}) as c:
            assert len(search(c, domain=BIG, limit=100).json()["data"]["emails"]) == 100
            assert c.get("/account").json()["data"]["plan_level"] > 0


# -- auth, request log, billing, account ---------------------------------------------------


def test_wrong_or_missing_key_is_401(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=sandbox.url) as anonymous:
        for headers in ({"X-API-KEY": "wrong"}, {}):
            response = anonymous.get("/domain-search", params={"domain": BIG}, headers=headers)
            assert response.status_code == 401
            assert error_of(response) == {
                "id": "authentication_failed",
                "code": 401,
                "details": "No user found for the API key supplied",
            }
        assert anonymous.get("/account").status_code == 401
    assert sandbox.searches_used == 0 and sandbox.pages_served(BIG) == []


def test_request_log_count_and_key_in_url(sandbox: Sandbox, client: httpx.Client) -> None:
    search(client, domain=BIG)
    search(client, domain=BIG, offset=10)
    search(client, domain=SMALL, type="generic")
    client.get("/account")
    with httpx.Client(base_url=sandbox.url) as legacy:
        by_url = legacy.get("/domain-search", params={"domain": SMALL, "api_key": KEY})
    assert by_url.status_code == 200

    assert sandbox.count() == 4
    assert sandbox.count(domain=BIG) == 2
    assert sandbox.count(domain=BIG, offset="10") == 1
    assert sandbox.count(domain=SMALL, type="generic") == 1
    assert sandbox.count("account") == 1
    assert sandbox.count(domain="nobody.example") == 0

    last = sandbox.requests[-1]
    assert last.method == "GET" and last.endpoint == "domain-search" and last.status == 200
    assert last.key_in_url and not last.key_in_header
    assert last.params == {"domain": SMALL}
    assert all(r.key_in_header and not r.key_in_url for r in sandbox.requests[:-1])
    assert all("api_key" not in r.params and KEY not in r.params.values() for r in sandbox.requests)
    assert sorted(r.at for r in sandbox.requests) == [r.at for r in sandbox.requests]


def test_billing_is_one_search_per_started_block_of_ten(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    expected = 0
    cases: list[tuple[dict[str, Any], int]] = [
        ({"domain": SMALL}, 8),
        ({"domain": BIG, "limit": 11}, 11),
        ({"domain": BIG, "limit": 100, "offset": 200}, 50),
        ({"domain": BIG, "limit": 100, "offset": 250}, 0),
        ({"domain": "nobody.example"}, 0),
    ]
    for params, returned in cases:
        assert len(search(client, **params).json()["data"]["emails"]) == returned
        expected += math.ceil(returned / 10)
        assert sandbox.searches_used == expected
    assert expected == 1 + 2 + 5
    search(client)  # a 400 bills nothing
    assert sandbox.searches_used == expected


def test_account_reports_searches_used(sandbox: Sandbox, client: httpx.Client) -> None:
    search(client, domain=BIG, limit=25)
    response = client.get("/account")
    assert response.status_code == 200
    data = response.json()["data"]
    assert set(data) == {
        "first_name",
        "last_name",
        "email",
        "plan_name",
        "plan_level",
        "reset_date",
        "team_id",
        "requests",
    }
    assert data["requests"]["searches"]["used"] == 3 == sandbox.searches_used
    assert set(data["requests"]["verifications"]) == {"used", "available"}
    year, month, day = data["reset_date"].split("-")
    assert len(year) == 4 and len(month) == 2 and len(day) == 2


def test_unknown_path_is_404(client: httpx.Client) -> None:
    response = client.get("/email-teleporter")
    assert response.status_code == 404
    assert error_of(response)["id"] == "not_found"


# -- faults --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "error_id", "details", "retry_after"),
    [
        (TOO_MANY_REQUESTS, 429, "too_many_requests", "Too many requests", "1"),
        (RATE_LIMIT_403, 403, "too_many_requests", "You have reached the rate limit", None),
        (QUOTA_402, 402, "payment_required", "exhausted your plan's monthly request quota", None),
        (QUOTA_429_BILLING, 429, "too_many_requests", "searches per billing period", None),
        (RESTRICTED_ACCOUNT, 429, "restricted_account", "no usable subscription", None),
        (UNAUTHORIZED, 401, "authentication_failed", "No user found for the API key", None),
        (UNPROCESSABLE, 422, "invalid_domain", "domain", None),
    ],
)
def test_ready_made_error_faults(
    sandbox: Sandbox,
    client: httpx.Client,
    fault: Fault,
    status: int,
    error_id: str,
    details: str,
    retry_after: str | None,
) -> None:
    sandbox.inject(fault)
    response = search(client, domain=BIG)
    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert response.headers["content-type"].startswith("application/json")
    error = error_of(response)
    assert error["id"] == error_id and details in error["details"]
    # The queue is empty again: the next answer is normal and the log saw both.
    assert search(client, domain=BIG).status_code == 200
    assert [r.status for r in sandbox.requests] == [status, 200]
    assert sandbox.pages_served(BIG) == [0]


def test_html_502_and_broken_json(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.inject(SERVER_ERROR_HTML, BROKEN_JSON)
    html = search(client, domain=BIG)
    assert html.status_code == 502
    assert html.headers["content-type"].startswith("text/html")
    assert "502 Bad Gateway" in html.text
    broken = search(client, domain=BIG)
    assert broken.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        broken.json()
    assert search(client, domain=BIG).json()["meta"]["results"] == 250
    # Only the real answer counts as a page served (and billed).
    assert sandbox.pages_served(BIG) == [0] and sandbox.searches_used == 1


def test_faults_target_endpoint_and_domain(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.inject(TOO_MANY_REQUESTS, TOO_MANY_REQUESTS, domain=SMALL)
    sandbox.inject(QUOTA_402, endpoint="account")
    assert search(client, domain=BIG).status_code == 200
    assert search(client, domain=SMALL).status_code == 429
    assert search(client, domain=BIG.upper()).status_code == 200
    assert search(client, domain=SMALL).status_code == 429
    assert search(client, domain=SMALL).status_code == 200
    assert client.get("/account").status_code == 402
    assert client.get("/account").status_code == 200


def test_faults_come_before_auth(sandbox: Sandbox) -> None:
    sandbox.inject(Fault(status=503, details="down for maintenance"))
    with httpx.Client(base_url=sandbox.url) as anonymous:
        response = anonymous.get("/domain-search", params={"domain": BIG})
    assert response.status_code == 503
    assert error_of(response)["details"] == "down for maintenance"


def test_drop_closes_without_an_answer(sandbox: Sandbox, client: httpx.Client) -> None:
    assert search(client, domain=BIG).status_code == 200  # warm a keep-alive connection
    sandbox.inject(Fault(drop=True))
    with pytest.raises(httpx.TransportError):
        search(client, domain=BIG)
    assert search(client, domain=BIG).status_code == 200
    assert [r.status for r in sandbox.requests] == [200, 0, 200]


def test_delay_is_honoured(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.inject(Fault(delay=0.3, passthrough=True), Fault(delay=0.5))
    started = time.perf_counter()
    slow = search(client, domain=BIG)
    assert time.perf_counter() - started >= 0.3
    assert slow.status_code == 200 and len(slow.json()["data"]["emails"]) == 10
    with pytest.raises(httpx.ReadTimeout):
        client.get("/domain-search", params={"domain": BIG}, timeout=0.1)
    assert sandbox.pages_served(BIG) == [0]


# -- throttling ----------------------------------------------------------------------------


def test_flaky_domain_answers_some_429s_deterministically() -> None:
    def statuses() -> list[int]:
        with Sandbox(KEY) as box:
            box.add_domain("wobbly.example", 12, flaky=0.3)
            with httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
                answers = [search(c, domain="wobbly.example") for _ in range(40)]
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["retry-after"] == "1"
                assert error_of(answer)["id"] == "too_many_requests"
        return [a.status_code for a in answers]

    first = statuses()
    assert 0 < first.count(429) < 30 and set(first) == {200, 429}
    assert statuses() == first


def test_rate_limit_sliding_window() -> None:
    with Sandbox(KEY, rate_limit_per_second=20) as box:
        box.add_domain(SMALL, 8)
        with httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
            answers = [search(c, domain=SMALL) for _ in range(25)]
            assert [a.status_code for a in answers[:20]] == [200] * 20
            limited = [a for a in answers[20:] if a.status_code == 429]
            assert limited, "the 21st request inside one second must be refused"
            assert all(a.headers["retry-after"] == "1" for a in limited)
            time.sleep(1.05)
            assert search(c, domain=SMALL).status_code == 200


# -- email verifier ------------------------------------------------------------------------

# Key order of the current Email Verifier body (email_verifier_patrick_stripe_valid_with_
# deprecation_notice.json) and of the legacy one (messerli90/hunterio's mock), which has no
# `status` and no `_deprecation_notice`.
VERIFIER_KEYS = [
    "status",
    "result",
    "_deprecation_notice",
    "score",
    "email",
    "regexp",
    "gibberish",
    "disposable",
    "webmail",
    "mx_records",
    "smtp_server",
    "smtp_check",
    "accept_all",
    "block",
    "sources",
]
LEGACY_VERIFIER_KEYS = [k for k in VERIFIER_KEYS if k not in ("status", "_deprecation_notice")]
RESULT_OF = {
    "valid": "deliverable",
    "webmail": "deliverable",
    "invalid": "undeliverable",
    "disposable": "undeliverable",
    "accept_all": "risky",
    "unknown": "risky",
}
CATCH_ALL = "catch-all.example"


def verify(client: httpx.Client, email: str | None) -> httpx.Response:
    return client.get("/email-verifier", params={} if email is None else {"email": email})


def check_verification(data: dict[str, Any], status: str) -> None:
    """The booleans and the score agree with the verdict."""
    assert data["result"] == RESULT_OF[status]
    assert isinstance(data["score"], int) and 0 <= data["score"] <= 100
    if data["result"] == "deliverable":
        assert data["score"] >= 70 and data["smtp_check"] and not data["block"]
    elif data["result"] == "undeliverable":
        assert data["score"] < 30 and data["sources"] == []
    else:
        assert 20 <= data["score"] < 80
    assert data["accept_all"] == (status == "accept_all")
    assert data["disposable"] == (status == "disposable")
    assert data["webmail"] == (status == "webmail")
    if status == "invalid":
        assert not data["smtp_check"]
    if status == "unknown":
        assert not data["smtp_check"] and (data["block"] or not data["smtp_server"])
    assert data["regexp"] and not (data["gibberish"] and status != "invalid")
    assert data["smtp_server"] <= data["mx_records"] and data["smtp_check"] <= data["smtp_server"]
    for source in data["sources"]:
        assert set(source) == SOURCE_KEYS
        assert source["domain"] == data["email"].split("@")[1]
        assert source["extracted_on"] <= source["last_seen_on"]


def test_verifier_answers_the_current_shape(sandbox: Sandbox, client: httpx.Client) -> None:
    emails = [f"person{i}@{BIG}" for i in range(60)]
    forced = {f"{status}@{SMALL}": status for status in VERIFICATION_STATUSES}
    for email, status in forced.items():
        sandbox.set_verdict(email, status)
    seen: set[str] = set()
    with_sources = 0
    for email in [*emails, *forced]:
        response = verify(client, email)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        body = response.json()
        assert list(body) == ["data", "meta"]
        assert body["meta"] == {"params": {"email": email}}
        data = body["data"]
        assert list(data) == VERIFIER_KEYS
        assert data["email"] == email
        assert data["status"] in VERIFICATION_STATUSES
        assert data["status"] == forced.get(email, sandbox.verdict(email))
        assert data["_deprecation_notice"] == "Using result is deprecated, use status instead"
        check_verification(data, data["status"])
        seen.add(data["status"])
        with_sources += bool(data["sources"])
    assert seen == set(VERIFICATION_STATUSES)
    assert with_sources > 0


def test_verifier_legacy_shape_has_no_status(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.legacy_verifier = True
    sandbox.set_verdict(f"risky@{SMALL}", "accept_all")
    for email, status in ((f"risky@{SMALL}", "accept_all"), (f"olivia@{BIG}", None)):
        body = verify(client, email).json()
        assert list(body["data"]) == LEGACY_VERIFIER_KEYS
        assert body["meta"] == {"params": {"email": email}}
        check_verification(body["data"], status or sandbox.verdict(email))
    sandbox.legacy_verifier = False
    assert "status" in verify(client, f"olivia@{BIG}").json()["data"]


def test_verdicts_are_deterministic_and_spread_like_hunters() -> None:
    emails = [f"someone{i}@company{i % 40}.example" for i in range(3000)]
    a, b, other = Sandbox(seed=3), Sandbox(seed=3), Sandbox(seed=4)
    verdicts = [a.verdict(email) for email in emails]
    assert verdicts == [b.verdict(email) for email in emails]
    assert verdicts != [other.verdict(email) for email in emails]
    assert a.verdict("Someone1@Company1.EXAMPLE ") == verdicts[1]
    shares = {status: verdicts.count(status) / len(emails) for status in VERIFICATION_STATUSES}
    expected = {
        "valid": 0.60,
        "invalid": 0.12,
        "accept_all": 0.12,
        "unknown": 0.10,
        "disposable": 0.03,
        "webmail": 0.03,
    }
    for status, share in expected.items():
        assert abs(shares[status] - share) < 0.03, (status, shares)
    # Same email, same seed, over HTTP: byte-identical bodies from two sandboxes.
    bodies = []
    for box in (a, b):
        with box, httpx.Client(base_url=box.url, headers={"X-API-KEY": "demo"}) as c:
            bodies.append([verify(c, email).content for email in emails[:20]])
    assert bodies[0] == bodies[1]


def test_domain_flags_and_set_verdict_decide_the_status(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    sandbox.add_domain(CATCH_ALL, 5, accept_all=True)
    sandbox.add_domain("inbox.example", 0, webmail=True)
    sandbox.add_domain("throwaway.example", 0, disposable=True)
    for email in [*sandbox.emails_of(CATCH_ALL), f"nobody@{CATCH_ALL}"]:
        data = verify(client, email).json()["data"]
        assert data["status"] == "accept_all" and data["accept_all"] and data["result"] == "risky"
    assert verify(client, "x@inbox.example").json()["data"]["status"] == "webmail"
    assert verify(client, "x@throwaway.example").json()["data"]["status"] == "disposable"

    email = f"olivia@{BIG}"
    for status in VERIFICATION_STATUSES:
        sandbox.set_verdict(email.upper(), status)
        data = verify(client, email).json()["data"]
        assert data["status"] == status
        check_verification(data, status)
    sandbox.set_verdict(f"x@{CATCH_ALL}", "invalid")  # an override beats the domain
    assert verify(client, f"x@{CATCH_ALL}").json()["data"]["status"] == "invalid"
    with pytest.raises(ValueError, match="unknown verification status"):
        sandbox.set_verdict(email, "deliverable")
    # A malformed address (no dot in the domain) is a 200 `invalid` that fails the regexp.
    malformed = verify(client, "someone@localhost").json()["data"]
    assert malformed["status"] == "invalid" and not malformed["regexp"]
    assert malformed["score"] == 0 and not malformed["mx_records"]


def test_pending_answers_202_with_an_empty_body_first(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    email = f"slow@{BIG}"
    sandbox.set_verdict(email, "valid")
    sandbox.set_verdict(f"other@{BIG}", "invalid")
    sandbox.pending[email] = 2
    for _ in range(2):
        response = verify(client, email.capitalize())
        assert response.status_code == 202
        assert response.content == b"" and response.headers["content-length"] == "0"
    assert sandbox.pending[email] == 0
    assert verify(client, f"other@{BIG}").status_code == 200  # other emails are not held up
    assert verify(client, email).status_code == 200
    assert verify(client, email).status_code == 200
    assert sandbox.count("email-verifier", email=email) == 2
    assert [r.status for r in sandbox.requests] == [202, 202, 200, 200, 200]
    # 202s are free: three answers with a body, three credits.
    assert sandbox.verified(email) == 2 and sandbox.verifications_used == 3


def test_claimed_email_answers_451(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.claimed.add(f"Private@{BIG}")
    sandbox.pending[f"private@{BIG}"] = 1  # a claimed email is never even pending
    for _ in range(2):
        response = verify(client, f"private@{BIG}")
        assert response.status_code == 451
        error = error_of(response)
        assert error["id"] == "claimed_email" and "stop the processing" in error["details"]
        assert error["details"] == CLAIMED_EMAIL_451.details
    assert sandbox.verifications_used == 0 and sandbox.verified(f"private@{BIG}") == 0
    sandbox.claimed.clear()
    assert verify(client, f"private@{BIG}").status_code == 202


def test_ready_made_verifier_faults(sandbox: Sandbox, client: httpx.Client) -> None:
    email = f"olivia@{BIG}"
    sandbox.inject(SMTP_FAILURE_222, VERIFICATION_PENDING_202, Fault(status=222), email=email)
    failed = verify(client, email)
    assert failed.status_code == 222
    assert failed.is_success  # a 2xx that is not a 200: clients must not read it as an answer
    assert error_of(failed) == {
        "id": "smtp_failure",
        "code": 222,
        "details": "The email verification failed because of an unexpected response from the "
        "remote SMTP server. This failure is outside of our control. We advise you to retry "
        "later.",
    }
    pending = verify(client, email)
    assert pending.status_code == 202 and pending.content == b""
    assert error_of(verify(client, email))["id"] == "smtp_failure"  # the default 222 id
    assert verify(client, email).status_code == 200
    assert sandbox.verifications_used == 1 and sandbox.verified(email) == 1


def test_verifications_are_billed_and_shown_by_the_account(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    sandbox.claimed.add(f"claimed@{BIG}")
    for email in (f"a@{BIG}", f"b@{BIG}", "nobody@nowhere.example"):
        sandbox.set_verdict(email, "valid")
    sandbox.inject(SMTP_FAILURE_222, endpoint="email-verifier")
    assert verify(client, f"a@{BIG}").status_code == 222
    for email in (f"a@{BIG}", f"b@{BIG}", f"A@{BIG}", "nobody@nowhere.example"):
        assert verify(client, email).status_code == 200
    free = [verify(client, None), verify(client, "no-at-sign"), verify(client, f"claimed@{BIG}")]
    assert [r.status_code for r in free] == [400, 400, 451]
    with httpx.Client(base_url=sandbox.url) as anonymous:
        assert verify(anonymous, f"a@{BIG}").status_code == 401
    assert sandbox.verifications_used == 4
    assert sandbox.verified(f"a@{BIG}") == 2 and sandbox.verified(f"b@{BIG}") == 1
    assert sandbox.verified(f"c@{BIG}") == 0
    assert sandbox.count("email-verifier", email=f"a@{BIG}") == 3
    assert sandbox.searches_used == 0
    search(client, domain=BIG)
    requests = client.get("/account").json()["data"]["requests"]
    assert requests["verifications"] == {"used": 4, "available": 1000}
    assert requests["searches"]["used"] == 1 == sandbox.searches_used


def test_verifications_available_is_a_quota() -> None:
    with Sandbox(KEY, verifications_available=2, searches_available=5) as box:
        box.add_domain(SMALL, 8)
        for i in range(4):
            box.set_verdict(f"n{i}@{SMALL}", "valid")
        with httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
            assert [verify(c, f"n{i}@{SMALL}").status_code for i in range(2)] == [200, 200]
            refused = verify(c, f"n3@{SMALL}")
            assert refused.status_code == 429 and "retry-after" not in refused.headers
            assert error_of(refused) == {
                "id": "too_many_requests",
                "code": 429,
                "details": "You've reached the limit for the number of verifications per "
                "billing period included in your plan.",
            }
            assert error_of(refused)["details"] == QUOTA_429_VERIFICATIONS.details
            assert verify(c, None).status_code == 429  # the quota comes before validation
            assert search(c, domain=SMALL).status_code == 200  # search credits are separate
            requests = c.get("/account").json()["data"]["requests"]
            assert requests["verifications"] == {"used": 2, "available": 2}
            assert requests["searches"] == {"used": 1, "available": 5}
            box.verifications_available = 3
            assert verify(c, f"n3@{SMALL}").status_code == 200
        assert box.verifications_used == 3


def test_faults_target_an_email(sandbox: Sandbox, client: httpx.Client) -> None:
    target = f"olivia@{BIG}"
    sandbox.inject(TOO_MANY_REQUESTS, endpoint="email-verifier", email=target.upper())
    sandbox.inject(QUOTA_402, email=f"liam@{BIG}")  # endpoint defaults to email-verifier
    sandbox.inject(RATE_LIMIT_403, endpoint="email-verifier")
    assert search(client, domain=BIG).status_code == 200  # other endpoints are untouched
    assert verify(client, f"noah@{BIG}").status_code == 403  # the endpoint-wide queue
    assert verify(client, f"noah@{BIG}").status_code == 200
    assert verify(client, f" {target} ").status_code == 429
    assert verify(client, target).status_code == 200
    assert verify(client, f"liam@{BIG}").status_code == 402
    with httpx.Client(base_url=sandbox.url) as anonymous:
        sandbox.inject(Fault(status=503), email=target)
        assert verify(anonymous, target).status_code == 503  # faults come before auth
        assert verify(anonymous, target).status_code == 401
    with pytest.raises(ValueError, match="not both"):
        sandbox.inject(TOO_MANY_REQUESTS, domain=BIG, email=target)
    assert sandbox.verifications_used == 2


NOT_AN_EMAIL = "The email parameter is not a valid email address."


@pytest.mark.parametrize(
    ("email", "error_id", "details"),
    [
        (None, "wrong_params", "You are missing the email parameter"),
        ("", "wrong_params", "You are missing the email parameter"),
        ("   ", "wrong_params", "You are missing the email parameter"),
        ("olivia.big-corp.example", "invalid_email", NOT_AN_EMAIL),
        (f"@{BIG}", "invalid_email", NOT_AN_EMAIL),
        ("olivia@", "invalid_email", NOT_AN_EMAIL),
        (f"oli via@{BIG}", "invalid_email", NOT_AN_EMAIL),
        (f"a@b@{BIG}", "invalid_email", NOT_AN_EMAIL),
    ],
)
def test_verifier_bad_parameters_answer_400(
    sandbox: Sandbox, client: httpx.Client, email: str | None, error_id: str, details: str
) -> None:
    """A missing `email` is 400 wrong_params; a value that is not an email address is the
    per-address 400 invalid_email, billed nothing. Source: DOCS (Email Verifier errors);
    hunter-bodies/error_400_wrong_params_missing_domain_messerli_mock.json (the error shape)."""
    response = verify(client, email)
    assert response.status_code == 400
    assert error_of(response) == {"id": error_id, "code": 400, "details": details}
    assert sandbox.verifications_used == 0 and sandbox.verified(email or "x") == 0


# -- scale, lifecycle, demo ----------------------------------------------------------------


def test_large_domain_pages_fast() -> None:
    box = Sandbox(KEY)
    started = time.perf_counter()
    box.add_domain("huge.example", 50_000)
    assert time.perf_counter() - started < 2.0
    emails = box.emails_of("huge.example")
    assert len(emails) == len(set(emails)) == 50_000
    with box, httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
        started = time.perf_counter()
        for offset in (0, 25_000, 49_900):
            body = search(c, domain="huge.example", limit=100, offset=offset).json()
            assert [e["value"] for e in body["data"]["emails"]] == emails[offset : offset + 100]
        assert time.perf_counter() - started < 1.0


def test_stop_really_stops(sandbox: Sandbox, client: httpx.Client) -> None:
    assert search(client, domain=SMALL).status_code == 200  # leaves a keep-alive connection
    sandbox.stop()
    with pytest.raises(httpx.TransportError):
        search(client, domain=SMALL)


def test_demo_sandbox_needs_no_network() -> None:
    with demo_sandbox() as box, httpx.Client(base_url=box.url, headers={"X-API-KEY": "demo"}) as c:
        assert box.url.startswith("http://127.0.0.1:") and box.url.endswith("/v2")
        sizes = {domain: len(box.emails_of(domain)) for domain in box.domains()}
        assert all(domain.endswith(".example") for domain in sizes)
        assert sorted(sizes.values()) == [0, 8, 60, 340]
        big = max(sizes, key=lambda d: sizes[d])
        assert len(fetch_all(c, big)) == 340


# -- Hunter's documented behaviours (../shared/HUNTER-API.md), one test each -----------------
# Each docstring names its source with HUNTER-API.md's tags: DOCS (Hunter's v2 docs), MCP
# (hunter-io/chatgpt-mcp), PLUG (hunter-io/claude-plugin, cursor-plugin), EXT
# (hunter-io/browser-extension), HELP (help.hunter.io), ISSUE (bodies pasted in public issues),
# plus the hunter-bodies/ file a body's shape is copied from.

COUNT_DATA_KEYS = ["total", "personal_emails", "generic_emails", "department", "seniority"]
QUOTA_402_BODY = {  # hunter-bodies/error_402_payment_required_quota_exhausted_official.json
    "id": "payment_required",
    "code": 402,
    "details": "You have exhausted your plan's monthly request quota. Please log in to Hunter to "
    "upgrade your plan or purchase additional credits.",
}


@contextlib.contextmanager
def serving(**options: Any) -> Iterator[tuple[Sandbox, httpx.Client]]:
    """A started sandbox with BIG and SMALL, built with `options`, and a keyed client."""
    box = Sandbox(KEY, **options)
    box.add_domain(BIG, 250, organization="Big Corp")
    box.add_domain(SMALL, 8, pattern="{f}{last}")
    with box, httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}, timeout=5) as c:
        yield box, c


def find(client: httpx.Client, **params: Any) -> httpx.Response:
    return client.get("/email-finder", params=params)


def test_email_count_is_free_and_works_without_a_key() -> None:
    """Email Count needs no key and bills nothing, even with every quota spent.
    Source: DOCS ("free"), PLUG, EXT (api.coffee's `emailCount`
    calls /v2/email-count?domain= with no api_key)."""
    with Sandbox(KEY, searches_available=0, verifications_available=0) as box:
        box.add_domain(SMALL, 8)
        with httpx.Client(base_url=box.url) as anonymous:
            assert anonymous.get("/email-count", params={"domain": SMALL}).status_code == 200
            keyed = anonymous.get("/email-count", params={"domain": SMALL, "api_key": KEY})
            assert keyed.status_code == 200
            # the paid endpoints are refused on the same sandbox: their quota is spent
            assert search(anonymous, domain=SMALL, api_key=KEY).status_code == 429
        assert box.searches_used == box.verifications_used == box.credits_used == 0


def test_email_count_counts_what_domain_search_holds(client: httpx.Client) -> None:
    """`data {total, personal_emails, generic_emails, department {14 keys}, seniority {junior,
    senior, executive}}` and `meta.params {domain, company, type}`, counting the same addresses
    Domain Search returns; `type` filters; an unknown domain is all zeros; no domain and no
    company is 400 wrong_params. Source: DOCS; hunter-bodies/email_count_stripe_messerli_mock.json
    (an older shape: 10 departments where DOCS lists 14)."""
    everyone = fetch_all(client, BIG)
    body = client.get("/email-count", params={"domain": BIG}).json()
    assert list(body) == ["data", "meta"] and list(body["data"]) == COUNT_DATA_KEYS
    data = body["data"]
    assert body["meta"] == {"params": {"domain": BIG, "company": None, "type": None}}
    assert data["total"] == len(everyone) == 250
    personal = [e for e in everyone if e["type"] == "personal"]
    assert data["personal_emails"] == len(personal)
    assert data["generic_emails"] == 250 - len(personal) > 0
    assert list(data["department"]) == list(DEPARTMENTS) and len(DEPARTMENTS) == 14
    for department, n in data["department"].items():
        assert n == sum(e["department"] == department for e in everyone)
    assert list(data["seniority"]) == ["junior", "senior", "executive"]
    for seniority, n in data["seniority"].items():
        assert n == sum(e["seniority"] == seniority for e in everyone)

    generic = client.get("/email-count", params={"domain": BIG, "type": "generic"}).json()
    assert generic["data"]["total"] == generic["data"]["generic_emails"]
    assert generic["data"]["total"] == search(client, domain=BIG, type="generic").json()[
        "meta"]["results"]
    by_company = client.get("/email-count", params={"company": "big CORP"}).json()
    assert by_company["data"] == data
    assert by_company["meta"]["params"] == {"domain": None, "company": "big CORP", "type": None}

    nobody = client.get("/email-count", params={"domain": "nobody-here.example"}).json()["data"]
    assert nobody["total"] == nobody["personal_emails"] == nobody["generic_emails"] == 0
    assert set(nobody["department"].values()) == set(nobody["seniority"].values()) == {0}
    missing = client.get("/email-count")
    assert missing.status_code == 400 and error_of(missing)["id"] == "wrong_params"
    bad_type = client.get("/email-count", params={"domain": BIG, "type": "robots"})
    assert bad_type.status_code == 400 and error_of(bad_type)["id"] == "invalid_type"


def test_verifier_bills_only_valid_invalid_and_accept_all(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """Only valid, invalid and accept_all answers are billed; unknown, webmail and disposable
    answers are given but cost nothing, as do 202 and 222. Source: HELP ("except for Webmails,
    Unknown and Disposable emails that are skipped"), PLUG / MCP ("charged only for valid,
    invalid, or accept_all results")."""
    for status in VERIFICATION_STATUSES:
        sandbox.set_verdict(f"{status}@{SMALL}", status)
    sandbox.inject(VERIFICATION_PENDING_202, SMTP_FAILURE_222, email=f"valid@{SMALL}")
    for _ in range(2):
        for status in VERIFICATION_STATUSES:
            verify(client, f"{status}@{SMALL}")
    assert sandbox.verified(f"valid@{SMALL}") == 0  # a 202 then a 222: neither is an answer
    assert verify(client, f"valid@{SMALL}").status_code == 200
    billed = {"valid", "invalid", "accept_all"}
    for status in VERIFICATION_STATUSES:
        email = f"{status}@{SMALL}"
        assert sandbox.verified(email) == (1 if status == "valid" else 2), status
        assert sandbox.billed_verifications(email) == (
            sandbox.verified(email) if status in billed else 0), status
    assert sandbox.verifications_used == 1 + 2 + 2
    assert client.get("/account").json()["data"]["requests"]["verifications"]["used"] == 5


def test_single_credit_plan_bills_half_a_credit_per_verification() -> None:
    """On a single-credit plan every request draws on one `credits` bucket: a Domain Search
    page 1 credit per started 10 addresses, a billed verification 0.5, an unknown verdict
    nothing; the account shows `credits {used, available, remaining}` as floats. Source: HELP,
    PLUG (claude-plugin domain-search skill: "uses 0.5 credits per email"), MCP
    (account-management.ts: fractional credits, read `remaining`)."""
    with serving(single_credit=True, credits_available=10) as (box, c):
        assert len(search(c, domain=BIG, limit=25).json()["data"]["emails"]) == 25
        for status, email in (("valid", "a"), ("invalid", "b"), ("accept_all", "c"),
                              ("unknown", "d")):
            box.set_verdict(f"{email}@{BIG}", status)
            assert verify(c, f"{email}@{BIG}").status_code == 200
        assert (box.searches_used, box.verifications_used, box.credits_used) == (3, 1.5, 4.5)
        assert box.billed_verifications(f"d@{BIG}") == 0 and box.verified(f"d@{BIG}") == 1
        credits = c.get("/account").json()["data"]["requests"]["credits"]
        assert credits == {"used": 4.5, "available": 10.0, "remaining": 5.5}
        assert all(isinstance(value, float) for value in credits.values())


def test_separate_quotas_stop_only_their_own_kind() -> None:
    """With separate quotas, spent searches stop Domain Search and the Finder (the billing 429)
    but not the Verifier, and spent verifications stop the Verifier only; Email Count and the
    account go on answering. Source: HELP (two quotas, "Searches" and "Verifications"); ISSUE
    (bhavsec/reconspider#59, hunter-bodies/error_429_too_many_requests_searches_quota_issue.json,
    the searches 429's wording)."""
    with serving(searches_available=1, verifications_available=1) as (box, c):
        box.set_verdict(f"a@{BIG}", "valid")
        assert search(c, domain=BIG).status_code == 200
        for refused in (search(c, domain=BIG), find(c, domain=BIG, full_name="Olivia Martin")):
            assert refused.status_code == 429
            assert "searches per billing period" in error_of(refused)["details"]
        assert verify(c, f"a@{BIG}").status_code == 200  # searches spent, verifications not
        refused = verify(c, f"a@{BIG}")
        assert refused.status_code == 429
        assert "verifications per billing period" in error_of(refused)["details"]
        assert c.get("/email-count", params={"domain": BIG}).status_code == 200
        requests = c.get("/account").json()["data"]["requests"]
        assert requests == {"searches": {"used": 1, "available": 1},
                            "verifications": {"used": 1, "available": 1}}
        box.searches_available = 2  # credits bought: searches answer again
        assert search(c, domain=BIG).status_code == 200
        assert verify(c, f"a@{BIG}").status_code == 429


def test_single_credit_bucket_answers_402_when_the_bill_does_not_fit() -> None:
    """On a single-credit plan a request whose bill does not fit in the credits left answers
    402 payment_required (Hunter's body), whatever its kind; a request that bills nothing (an
    unknown verdict, a Finder miss, an empty domain, a page past the end) is still answered.
    Source: MCP (tools.test.ts `upstream402Body`, "copied from validation.rb"; hunter-bodies/
    error_402_payment_required_quota_exhausted_official.json), HELP (what is billed)."""
    with serving(single_credit=True, credits_available=2) as (box, c):
        box.set_verdict(f"a@{BIG}", "valid")
        box.set_verdict(f"u@{BIG}", "unknown")
        assert search(c, domain=BIG).status_code == 200  # 1 credit, 1 left
        assert verify(c, f"a@{BIG}").status_code == 200  # 0.5, 0.5 left
        too_big = search(c, domain=BIG, limit=20)  # would bill 2
        assert too_big.status_code == 402 and error_of(too_big) == QUOTA_402_BODY
        assert box.pages_served(BIG) == [0]
        assert verify(c, f"a@{BIG}").status_code == 200  # 0.5 fits exactly: 0 left
        for refused in (verify(c, f"a@{BIG}"), search(c, domain=SMALL),
                        find(c, domain=BIG, full_name="Olivia Martin")):
            assert refused.status_code == 402 and error_of(refused) == QUOTA_402_BODY
        free_answers = [
            verify(c, f"u@{BIG}"),
            search(c, domain="nobody-here.example"),
            search(c, domain=BIG, offset=250),
            find(c, domain="nobody-here.example", first_name="Ann", last_name="Lee"),
            c.get("/email-count", params={"domain": BIG}),
            c.get("/account"),
        ]
        assert [r.status_code for r in free_answers] == [200] * 6
        assert box.credits_used == 2.0
        credits = free_answers[-1].json()["data"]["requests"]["credits"]
        assert credits == {"used": 2.0, "available": 2.0, "remaining": 0.0}


def test_account_has_both_plan_shapes() -> None:
    """Separate quotas: `requests {searches {used, available}, verifications {used,
    available}}`, integers; single-credit plans also carry `credits {used, available,
    remaining}` (floats). Both have plan_name, plan_level and a YYYY-MM-DD reset_date in the
    coming month. Source: MCP (src/tools/account.ts: `requests` buckets from Call::QUOTAS;
    account-management.ts: the `credits` bucket "additionally" on single-credit plans), DOCS;
    hunter-bodies/account_legacy_calls_block_messerli_mock.json (the older `calls` block, not
    sent)."""
    with serving(searches_available=30, verifications_available=60) as (box, c):
        search(c, domain=BIG, limit=15)
        data = c.get("/account").json()["data"]
        assert data["requests"] == {"searches": {"used": 2, "available": 30},
                                    "verifications": {"used": 0, "available": 60}}
        assert isinstance(data["requests"]["searches"]["used"], int)
        assert (data["plan_name"], data["plan_level"]) == ("Starter", 1) and "calls" not in data
        reset = dt.date.fromisoformat(data["reset_date"])
        assert dt.date.today() < reset <= dt.date.today() + dt.timedelta(days=31)
    with serving(single_credit=True) as (box, c):
        box.set_verdict(f"a@{BIG}", "valid")
        search(c, domain=BIG)
        verify(c, f"a@{BIG}")
        data = c.get("/account").json()["data"]
        requests = data["requests"]
        assert set(requests) == {"credits", "searches", "verifications"}
        credits = requests["credits"]
        assert list(credits) == ["used", "available", "remaining"]
        assert credits["used"] == 1.5 == box.credits_used
        assert credits["remaining"] == credits["available"] - 1.5
        assert requests["searches"]["used"] + requests["verifications"]["used"] == 1.5
        assert data["plan_level"] > 0 and dt.date.fromisoformat(data["reset_date"])
    with pytest.raises(ValueError, match="one quota"):
        Sandbox(single_credit=True, searches_available=3)
    with pytest.raises(ValueError, match="single_credit"):
        Sandbox(credits_available=3)


# Key order of the Email Finder's `data` (hunter-bodies/email_finder_not_found_200_null_fields_
# official_shape.json, which mirrors the jbuilder).
FINDER_KEYS = [
    "first_name",
    "last_name",
    "email",
    "score",
    "domain",
    "accept_all",
    "position",
    "twitter",
    "linkedin_url",
    "phone_number",
    "company",
    "sources",
    "verification",
]


def first_of_each_name(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Personal entries, the first one of each (first_name, last_name): the one the Finder
    gives for that name."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for entry in entries:
        name = (entry["first_name"], entry["last_name"])
        if entry["type"] == "personal" and name not in seen:
            seen.add(name)
            kept.append(entry)
    return kept


def test_finder_answers_with_the_contacts_own_fields(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """A found person: `email, score, domain, accept_all, position, twitter, linkedin_url,
    phone_number, company, sources[], verification {date, status}` (plus first_name and
    last_name), the same values the address's Domain Search entry shows; `full_name` and
    `company` work too; 1 search credit per address found. Source: DOCS (Email Finder);
    hunter-bodies/email_finder_dustin_asana_messerli_mock.json (an older body without
    `verification`), email_finder_not_found_200_null_fields_official_shape.json (key order)."""
    people = first_of_each_name(fetch_all(client, BIG))
    billed = sandbox.searches_used
    with_links = [p for p in people if p["linkedin"]][:3]
    with_verdicts = [p for p in people if p["verification"]["status"]][:3]
    assert with_links and with_verdicts
    for entry in [*with_links, *with_verdicts]:
        body = find(client, domain=BIG, first_name=entry["first_name"],
                    last_name=entry["last_name"]).json()
        data = body["data"]
        assert list(data) == FINDER_KEYS
        assert data == {
            "first_name": entry["first_name"],
            "last_name": entry["last_name"],
            "email": entry["value"],
            "score": entry["confidence"],
            "domain": BIG,
            "accept_all": False,
            "position": entry["position"],
            "twitter": entry["twitter"],
            "linkedin_url": entry["linkedin"],
            "phone_number": entry["phone_number"],
            "company": "Big Corp",
            "sources": entry["sources"],
            "verification": entry["verification"],
        }
        assert body["meta"]["params"]["domain"] == BIG
        by_full_name = find(client, company="BIG corp",
                            full_name=f"{entry['first_name']} {entry['last_name']}").json()
        assert by_full_name["data"] == data
        assert by_full_name["meta"]["params"]["company"] == "BIG corp"
    billed += 2 * (len(with_links) + len(with_verdicts))
    assert sandbox.searches_used == billed
    # Someone the domain does not list: the most likely address from its pattern, billed too.
    guess = find(client, domain=SMALL, first_name="Zebulon", last_name="Quux").json()["data"]
    assert guess["email"] == f"zquux@{SMALL}" and 0 < guess["score"] < 70
    assert guess["sources"] == [] and guess["position"] is None
    assert sandbox.searches_used == billed + 1


def test_finder_miss_is_200_with_null_fields(sandbox: Sandbox, client: httpx.Client) -> None:
    """A miss is 200 with `email: null` and every other field null (`sources: []`,
    `verification {null, null}`), billed nothing. Source: MCP (tools.test.ts `notFoundData`,
    "Mirrors the jbuilder 'miss' shape"; hunter-bodies/
    email_finder_not_found_200_null_fields_official_shape.json), DOCS, HELP ("No requests are
    counted if Hunter cannot provide an email")."""
    sandbox.add_domain("empty.example", 0)
    for domain in ("empty.example", "nobody-here.example"):
        response = find(client, domain=domain, full_name="Nobody Here")
        assert response.status_code == 200
        data = response.json()["data"]
        assert list(data) == FINDER_KEYS
        assert data == {key: None for key in FINDER_KEYS} | {
            "domain": domain, "sources": [], "verification": {"date": None, "status": None}}
    unknown_company = find(client, company="Nobody Inc", full_name="Nobody Here").json()["data"]
    assert unknown_company["email"] is None and unknown_company["domain"] is None
    assert sandbox.searches_used == 0


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({"first_name": "Olivia", "last_name": "Martin"}, "wrong_params"),
        ({"domain": BIG}, "wrong_params"),
        ({"domain": BIG, "first_name": "Olivia"}, "wrong_params"),
        ({"domain": BIG, "first_name": "123", "last_name": "Martin"}, "invalid_first_name"),
        ({"domain": BIG, "first_name": "Olivia", "last_name": "--"}, "invalid_last_name"),
        ({"domain": BIG, "full_name": "Olivia"}, "invalid_full_name"),
        ({"domain": BIG, "full_name": "42 17"}, "invalid_full_name"),
        ({"domain": BIG, "full_name": "Olivia Martin", "max_duration": "2"},
         "invalid_max_duration"),
        ({"domain": BIG, "full_name": "Olivia Martin", "max_duration": "21"},
         "invalid_max_duration"),
        ({"domain": BIG, "full_name": "Olivia Martin", "max_duration": "ten"},
         "invalid_max_duration"),
        ({"domain": "stopped.example", "full_name": "Olivia Martin"}, "invalid_domain"),
        ({"domain": "not a domain", "full_name": "Olivia Martin"}, "invalid_domain"),
    ],
)
def test_finder_refuses_one_person_with_hunters_ids(
    sandbox: Sandbox, client: httpx.Client, params: dict[str, str], error_id: str
) -> None:
    """Errors are about one person, each with its own id: wrong_params (no domain or company,
    no names), invalid_first_name / invalid_last_name / invalid_full_name (one word, no
    letters), invalid_max_duration (outside 3..20), invalid_domain (no MX record, or the owner
    asked Hunter to stop); none is billed. Source: DOCS (Email Finder errors)."""
    sandbox.add_domain("stopped.example", 12, no_mx=True)
    response = find(client, **params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["id"] == error_id
    if error_id == "invalid_domain":
        assert "no MX record, or its owner requested" in error["details"]
    assert sandbox.searches_used == 0
    for duration in ("3", "20"):
        fine = find(client, domain=BIG, full_name="Olivia Martin", max_duration=duration)
        assert fine.status_code == 200
        assert fine.json()["meta"]["params"]["max_duration"] == int(duration)


def test_finder_claimed_email_is_451(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """The person asked Hunter to stop processing their data: the Finder answers 451
    claimed_email (billed nothing), like the Verifier. Source: DOCS (451 claimed_email)."""
    [person] = first_of_each_name(fetch_all(client, SMALL))[:1]
    names = {"first_name": person["first_name"], "last_name": person["last_name"]}
    sandbox.claimed.add(person["value"].upper())
    billed = sandbox.searches_used
    for answer in (find(client, domain=SMALL, **names), verify(client, person["value"])):
        assert answer.status_code == 451
        assert error_of(answer) == {"id": "claimed_email", "code": 451,
                                    "details": CLAIMED_EMAIL_451.details}
    assert sandbox.searches_used == billed and sandbox.verifications_used == 0
    sandbox.claimed.clear()
    assert find(client, domain=SMALL, **names).json()["data"]["email"] == person["value"]


@pytest.mark.parametrize(
    ("params", "error_id"),
    [
        ({}, "wrong_params"),
        ({"limit": "10"}, "wrong_params"),
        ({"domain": BIG, "type": "robots"}, "invalid_type"),
        ({"domain": BIG, "seniority": "senior,boss"}, "invalid_seniority"),
        ({"domain": BIG, "department": "sales,robots"}, "invalid_department"),
        ({"company": "Big Corp", "department": "astrology"}, "invalid_department"),
    ],
)
def test_domain_search_filter_errors_have_hunters_ids(
    sandbox: Sandbox, client: httpx.Client, params: dict[str, str], error_id: str
) -> None:
    """A bad `type`, `seniority` or `department` is 400 invalid_type / invalid_seniority /
    invalid_department; neither domain nor company is 400 wrong_params; nothing is billed.
    Source: DOCS (Domain Search errors; the 14 departments and 3 seniorities)."""
    response = search(client, **params)
    assert response.status_code == 400
    error = error_of(response)
    assert error["id"] == error_id
    if error_id in ("invalid_seniority", "invalid_department"):
        bad = params.get("seniority") or params["department"]
        assert bad.split(",")[-1] in error["details"]
    assert sandbox.searches_used == 0


def test_domain_search_takes_a_company_and_pages_of_10_to_100(client: httpx.Client) -> None:
    """`company` names the domain instead of `domain` (case-insensitive; the domain wins when
    both are given); `limit` defaults to 10 and may reach 100, not 101. Source: DOCS."""
    by_domain = search(client, domain=BIG, limit=30).json()
    by_company = search(client, company="bIG cORP", limit=30).json()
    assert by_company["data"] == by_domain["data"]
    assert by_company["meta"]["params"]["company"] == "bIG cORP"
    assert by_company["meta"]["params"]["domain"] is None
    both = search(client, domain=SMALL, company="Big Corp").json()
    assert both["data"]["domain"] == SMALL
    unknown = search(client, company="Nobody Inc").json()
    assert unknown["data"]["emails"] == [] and unknown["meta"]["results"] == 0
    assert len(search(client, domain=BIG).json()["data"]["emails"]) == 10
    assert search(client, domain=BIG).json()["meta"]["limit"] == 10
    assert len(search(client, domain=BIG, limit=100).json()["data"]["emails"]) == 100
    assert search(client, domain=BIG, limit=101).status_code == 400


def test_entries_carry_the_verdict_the_verifier_gives(
    sandbox: Sandbox, client: httpx.Client
) -> None:
    """Some entries carry Hunter's own verdict, `verification {date, status}` with status
    valid / invalid / accept_all dated within the last month, always the one the Email
    Verifier gives for that address (an accept_all domain's entries say accept_all); the rest
    have both null. `linked_domains` lists the domain's other domains. Source: MCP (jbuilder
    fixture's invariants, hunter-bodies/domain_search_acme_official_jbuilder_shape_fixture.json;
    `verificationDecision`), DOCS ("younger than a month, else null")."""
    today = dt.date.today()
    shown = 0
    entries = fetch_all(client, BIG)
    for entry in entries:
        verification = entry["verification"]
        if verification["status"] is None:
            assert verification["date"] is None
            continue
        shown += 1
        assert verification["status"] in ("valid", "invalid", "accept_all")
        age = today - dt.date.fromisoformat(verification["date"])
        assert dt.timedelta(days=1) <= age < dt.timedelta(days=28)
        assert verification["status"] == sandbox.verdict(entry["value"])
    assert 0.1 < shown / len(entries) < 0.3  # fresh_verdict_share 0.2 of the billed verdicts
    checked = [e for e in entries if e["verification"]["status"]][:10]
    for entry in checked:
        data = verify(client, entry["value"]).json()["data"]
        assert data["status"] == entry["verification"]["status"]

    sandbox.add_domain(CATCH_ALL, 40, accept_all=True, linked_domains=["Catch-All.example.org"])
    sandbox.fresh_verdict_share = 1.0
    body = search(client, domain=CATCH_ALL, limit=40).json()
    assert body["data"]["accept_all"] is True
    assert body["data"]["linked_domains"] == ["catch-all.example.org"]
    assert {e["verification"]["status"] for e in body["data"]["emails"]} == {"accept_all"}


def test_the_key_travels_as_api_key_x_api_key_or_bearer(sandbox: Sandbox) -> None:
    """The key is accepted as `?api_key=`, the `X-API-KEY` header or `Authorization: Bearer`;
    the request log says which way it came and never holds it; a wrong key sent any way, or
    none, is 401. Source: DOCS (authentication), MCP (helpers.ts sends `Authorization: Bearer`),
    EXT (api.coffee sends `api_key=`)."""
    ways: list[tuple[dict[str, str], dict[str, str], str]] = [
        ({"X-API-KEY": KEY}, {}, "header"),
        ({"Authorization": f"Bearer {KEY}"}, {}, "bearer"),
        ({"Authorization": f"bearer {KEY}"}, {}, "bearer"),
        ({}, {"api_key": KEY}, "url"),
    ]
    with httpx.Client(base_url=sandbox.url) as c:
        for headers, params, via in ways:
            ok = c.get("/domain-search", params={"domain": SMALL, **params}, headers=headers)
            assert ok.status_code == 200, via
            record = sandbox.requests[-1]
            assert record.key_via == via
            assert record.key_in_header == (via == "header")
            assert record.key_in_bearer == (via == "bearer")
            assert record.key_in_url == (via == "url")
            assert record.params == {"domain": SMALL}
            wrong_headers = {k: v.replace(KEY, "wrong") for k, v in headers.items()}
            wrong_params = {k: v.replace(KEY, "wrong") for k, v in params.items()}
            wrong = c.get("/domain-search", params={"domain": SMALL, **wrong_params},
                          headers=wrong_headers)
            assert wrong.status_code == 401, via
        for headers in ({}, {"Authorization": f"Basic {KEY}"}):
            refused = c.get("/account", headers=headers)
            assert refused.status_code == 401
            assert sandbox.requests[-1].key_via is None
    assert all(KEY not in json.dumps(r.params) for r in sandbox.requests)


def test_demo_sandbox_and_its_command_choose_the_plan() -> None:
    """`demo_sandbox(free_plan=, single_credit=)` and `python -m novahunt.sandbox --free-plan
    --single-credit` serve the demo domains on that plan: the free plan's 400 past 10 results
    and the single-credit account shape. Source: DOCS (free plan rule), MCP (credits bucket)."""
    with demo_sandbox(free_plan=True) as box, httpx.Client(
            base_url=box.url, headers={"X-API-KEY": "demo"}) as c:
        assert search(c, domain="globex-logistics.example", limit=100).status_code == 400
        assert "credits" not in c.get("/account").json()["data"]["requests"]
    server = subprocess.Popen(
        [sys.executable, "-m", "novahunt.sandbox", "--port", "0", "--free-plan",
         "--single-credit"], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(3)]
        url = lines[0].split()[-1]
        assert url.startswith("http://127.0.0.1:") and "Plan: free plan" in lines[2]
        with httpx.Client(base_url=url, headers={"Authorization": "Bearer demo"}) as c:
            data = c.get("/account").json()["data"]
            assert data["plan_name"] == "Free" and "credits" in data["requests"]
            assert search(c, domain="globex-logistics.example", limit=11).status_code == 400
    finally:
        server.terminate()
        server.wait(timeout=5)
