"""The Hunter client over real HTTP: every answer classified, every call in the ledger,
the key only ever in the X-API-KEY header."""

from __future__ import annotations

import email.utils
import time

import pytest

from novahunt.errors import (
    AuthError,
    DataClaimed,
    PaginationLimit,
    PermanentError,
    QuotaExhausted,
    RateLimited,
    TransientError,
    UnreadableAnswer,
)
from novahunt.providers.hunter import CallRecord, HunterClient, parse_retry_after
from novahunt.sandbox import (
    BROKEN_JSON,
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
)

KEY = "sk_live_secret_do_not_print_1234567890"


@pytest.fixture()
def box() -> Sandbox:
    with Sandbox(KEY) as sandbox:
        sandbox.add_domain("acme.example", 25, organization="Acme", pattern="{first}")
        yield sandbox


def client(box: Sandbox, calls: list[CallRecord] | None = None,
           timeout: float = 5.0) -> HunterClient:
    return HunterClient(KEY, box.url, timeout=timeout,
                        on_call=None if calls is None else calls.append)


def test_a_page_is_parsed_into_contacts_and_facts(box: Sandbox) -> None:
    with client(box) as c:
        page = c.domain_search("acme.example", limit=10, offset=10)
    assert page.total == 25 and page.offset == 10 and len(page.contacts) == 10
    assert page.facts.organization == "Acme" and page.facts.pattern == "{first}"
    assert [p.email for p in page.contacts] == box.emails_of("acme.example")[10:20]
    first = page.contacts[0]
    assert first.email == first.email.lower() and first.type in ("personal", "generic")
    [request] = box.requests
    assert request.key_in_header and not request.key_in_url
    assert request.params == {"domain": "acme.example", "limit": "10", "offset": "10"}


@pytest.mark.parametrize(("fault", "kind", "status", "error_id"), [
    (TOO_MANY_REQUESTS, RateLimited, 429, "too_many_requests"),
    (RATE_LIMIT_403, RateLimited, 403, None),
    (QUOTA_402, QuotaExhausted, 402, "payment_required"),
    (QUOTA_429_BILLING, QuotaExhausted, 429, "too_many_requests"),
    (RESTRICTED_ACCOUNT, QuotaExhausted, 429, "restricted_account"),
    (UNAUTHORIZED, AuthError, 401, "authentication_failed"),
    (UNPROCESSABLE, PermanentError, 422, None),
    (SERVER_ERROR_HTML, TransientError, 502, None),
    # a paid 200 that cannot be read may have been billed: never asked again
    (BROKEN_JSON, UnreadableAnswer, 200, "unreadable"),
    (Fault(status=451, error_id="claimed_email", details="This person asked us not to."),
     DataClaimed, 451, "claimed_email"),
    (Fault(status=400, error_id="pagination_error",
           details="The search results are limited to 10 email addresses on your current "
                   "plan."), PaginationLimit, 400, "pagination_error"),
    (Fault(status=400, error_id="wrong_params",
           details="You are missing the domain parameter"), PermanentError, 400,
     "wrong_params"),
])
def test_answers_are_classified_on_status_and_error_id(
        box: Sandbox, fault: Fault, kind: type[Exception], status: int,
        error_id: str | None) -> None:
    calls: list[CallRecord] = []
    box.inject(fault)
    with client(box, calls) as c, pytest.raises(kind) as caught:
        c.domain_search("acme.example", limit=10, offset=0)
    assert caught.value.status == status  # type: ignore[attr-defined]
    if error_id is not None:
        assert caught.value.error_id == error_id  # type: ignore[attr-defined]
    assert [(r.endpoint, r.status) for r in calls] == [("domain-search", status)]
    if fault.details:
        assert fault.details in str(caught.value)


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 28 <= (parse_retry_after(soon) or 0) <= 30
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None
    # a hostile one never parks a bucket for good
    assert parse_retry_after("nan") is None
    assert parse_retry_after("1e999") == parse_retry_after("99999999") == 3600
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == 3600


def test_throttling_carries_retry_after(box: Sandbox) -> None:
    box.inject(Fault(status=429, error_id="too_many_requests", details="slow down",
                     retry_after="3"))
    with client(box) as c, pytest.raises(RateLimited) as caught:
        c.domain_search("acme.example", limit=10, offset=0)
    assert caught.value.retry_after == 3.0


def test_timeouts_and_dropped_connections_are_transient(box: Sandbox) -> None:
    calls: list[CallRecord] = []
    box.inject(Fault(delay=1.5, passthrough=True), Fault(drop=True))
    with client(box, calls, timeout=0.3) as c:
        with pytest.raises(TransientError, match="did not answer in time"):
            c.domain_search("acme.example", limit=10, offset=0)
        with pytest.raises(TransientError, match="cannot reach Hunter"):
            c.domain_search("acme.example", limit=10, offset=0)
    assert [(r.status, r.error_id) for r in calls] == [(0, "timeout"), (0, "connection")]


def test_the_key_never_appears_in_an_error(box: Sandbox) -> None:
    # a hostile or careless server echoes the key back in its error details
    box.inject(Fault(status=401, error_id="authentication_failed",
                     details=f"No user found for the API key {KEY}"))
    with client(box) as c, pytest.raises(AuthError) as caught:
        c.domain_search("acme.example", limit=10, offset=0)
    assert KEY not in str(caught.value) and KEY not in repr(caught.value.args)
    assert "[redacted]" in str(caught.value)
    with HunterClient(KEY, "http://127.0.0.1:9/v2", timeout=0.5) as dead, \
            pytest.raises(TransientError) as unreachable:
        dead.domain_search("acme.example", limit=10, offset=0)
    assert KEY not in str(unreachable.value)


def test_the_environments_proxy_carries_the_requests(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the sandbox stands in for the proxy: it is sent the absolute URL of a host that
    # does not resolve, and answers it; without the proxy the call cannot connect
    monkeypatch.setenv("HTTP_PROXY", box.url.split("/v2")[0])
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with HunterClient(KEY, "http://hunter.invalid/v2", timeout=5.0) as c:
        page = c.domain_search("acme.example", limit=10, offset=0)
    assert [p.email for p in page.contacts] == box.emails_of("acme.example")[:10]
    [request] = box.requests
    assert request.key_in_header and request.endpoint == "domain-search"


def test_no_proxy_sends_the_request_directly(
    box: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with client(box) as c:
        assert len(c.domain_search("acme.example", limit=5, offset=0).contacts) == 5
    monkeypatch.setenv("NO_PROXY", "elsewhere.example")
    with client(box) as c, pytest.raises(TransientError, match="cannot reach Hunter"):
        c.domain_search("acme.example", limit=5, offset=0)
