"""The sandbox answers like Hunter's API v2: shapes, paging, filters, errors and faults.

Everything goes over real HTTP (httpx against a started Sandbox on 127.0.0.1), so these tests
also pin the wire details a client depends on: status codes, error bodies, Retry-After,
Content-Type and keep-alive.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from novahunt.sandbox import (
    BROKEN_JSON,
    DEPARTMENTS,
    QUOTA_402,
    QUOTA_429_BILLING,
    RATE_LIMIT_403,
    RESTRICTED_ACCOUNT,
    SERVER_ERROR_HTML,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    UNPROCESSABLE,
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


def test_free_plan_limit_caps_what_can_be_read() -> None:
    with Sandbox(KEY, free_plan_limit=10) as box:
        box.add_domain(BIG, 250)
        with httpx.Client(base_url=box.url, headers={"X-API-KEY": KEY}) as c:
            first = search(c, domain=BIG, limit=100).json()
            assert len(first["data"]["emails"]) == 10 and first["meta"]["results"] == 250
            assert len(search(c, domain=BIG, limit=5, offset=8).json()["data"]["emails"]) == 2
            deeper = search(c, domain=BIG, limit=10, offset=10)
            assert deeper.status_code == 400
            assert error_of(deeper) == {
                "id": "pagination_error",
                "code": 400,
                "details": "The search results are limited to 10 email addresses on your "
                "current plan.",
            }
            assert c.get("/account").json()["data"]["plan_name"] == "Free"


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
