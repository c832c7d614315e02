"""Hunter.io v2 client: one request per call, every answer classified, the key kept secret.

This module is the one place where HTTP statuses, Hunter's `errors[0].id` and httpx's
exceptions become novahunt errors (see errors.py for the tree). It does not retry or
sleep: the runner decides how long to wait, so waiting can heed cancel and shutdown.
Every request, answered or not, is reported to `on_call` for the API-call ledger.

The key travels only in the `X-API-KEY` header. httpx exceptions can carry the URL and
headers in their text, and a hostile server can echo the key in any answer, so the body
is scrubbed as it is read (answers.py) and everything raised from here passes through
`_scrub`. Each request has a whole-request deadline (`timeout`) and a body cap counted
after decompression (http.py); a paid 200 that cannot be read is never bought again.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, cast
from urllib.parse import urlencode

import httpx

from novahunt import __version__
from novahunt.errors import (
    AuthError,
    DataClaimed,
    ItemRefused,
    NotReady,
    PaginationLimit,
    PermanentError,
    ProviderError,
    QuotaExhausted,
    RateLimited,
    TransientError,
    UnreadableAnswer,
)
from novahunt.providers import answers
from novahunt.providers.answers import (
    bill_domain_search,
    bill_finder,
    normalise_email,
    parse_account,
    parse_contact,
    parse_domain_search,
    parse_email_count,
    parse_finder,
    parse_verification,
)
from novahunt.providers.http import (
    BODY_LIMIT,
    BodyTooLarge,
    deadline,
    proxy_for,
    read_capped,
    tls_context,
    with_deadlines,
)
from novahunt.providers.records import (
    PROVIDER,
    VERIFICATION_STATUSES,
    Account,
    CallRecord,
    Contact,
    DomainFacts,
    DomainSearchPage,
    EmailCount,
    FinderResult,
    Verification,
)

__all__ = [
    "PROVIDER", "VERIFICATION_STATUSES", "Account", "CallRecord", "Contact", "DomainFacts",
    "DomainSearchPage", "EmailCount", "FinderResult", "HunterClient", "Verification",
    "bill_domain_search", "bill_finder", "normalise_email", "parse_account", "parse_contact",
    "parse_domain_search", "parse_email_count", "parse_finder", "parse_verification",
]

Billing = Callable[[dict[str, Any]], tuple[str, float]]

# the Email Verifier answers Hunter bills; `unknown`, `disposable` and `webmail` are
# free (HELP, PLUG)
BILLED_VERDICTS = frozenset({"valid", "invalid", "accept_all"})
# what a billed verification costs on a plan with one credits bucket (HELP, PLUG)
SINGLE_CREDIT_VERIFICATION = 0.5


def bill_verification(body: dict[str, Any], *, single_credit: bool = False
                      ) -> tuple[str, float]:
    """A verification credit for a valid, invalid or accept_all answer (half a credit
    on a single-credit plan); nothing for unknown, disposable or webmail."""
    data = answers.obj(body.get("data"))
    status = parse_verification(answers.text(data.get("email")) or "", data).status
    if answers.text(data.get("status")) not in VERIFICATION_STATUSES and (
            data.get("webmail") is True or data.get("disposable") is True):
        # the legacy shape says webmail or disposable only in these flags (its `result`
        # calls them deliverable and undeliverable): free either way
        return "verification", 0
    if status not in BILLED_VERDICTS:
        return "verification", 0
    return "verification", SINGLE_CREDIT_VERIFICATION if single_credit else 1


# the longest Retry-After heeded: Hunter's are seconds; "1e999" or a date next year
# would park every job of the bucket for good
RETRY_AFTER_MAX = 3600.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date, at most
    RETRY_AFTER_MAX; None when it is neither (NaN included)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds):
        return None
    return min(RETRY_AFTER_MAX, max(0.0, seconds))


# 400 ids about one address or person, not about the request (DOCS): a list job records
# them on that item and goes on with the rest
ITEM_ERRORS = frozenset({"invalid_email", "invalid_domain", "invalid_first_name",
                         "invalid_last_name", "invalid_full_name"})


def _first_error(body: bytes, key: str) -> tuple[str | None, str]:
    """Hunter's error id and details, read as safely as a 200 (JSON escapes cannot
    hide the key from the scrub)."""
    try:
        return answers.first_error(answers.decode(body, key) if body.strip() else None)
    except ValueError:
        return None, ""


def classify(status: int, body: bytes, retry_after: str | None, key: str = ""
             ) -> ProviderError:
    """Map a non-success answer to the error a job should act on, `key` scrubbed from
    what it says."""
    error_id, details = _first_error(body, key)
    lowered = details.lower()
    said = f": {details}" if details else ""
    kw: dict[str, Any] = {"status": status, "error_id": error_id}
    wait = parse_retry_after(retry_after)

    if status == 402 or error_id == "restricted_account" or (
        status == 429 and ("billing period" in lowered or "quota" in lowered)
    ):
        return QuotaExhausted(f"Hunter quota exhausted ({status} {error_id}){said}", **kw)
    if status == 429 or (status == 403 and "rate limit" in lowered):
        return RateLimited(f"Hunter is throttling requests ({status}){said}",
                           retry_after=wait, **kw)
    if status == 401:
        return AuthError(f"Hunter refused the API key (401){said}", **kw)
    if status == 400 and error_id == "pagination_error":
        return PaginationLimit(f"Hunter stopped paging (pagination_error){said}", **kw)
    if status == 451:
        return DataClaimed(f"Hunter may not process this person's data (451){said}", **kw)
    if status == 400 and error_id in ITEM_ERRORS:
        return ItemRefused(f"Hunter refused it ({error_id}){said}", **kw)
    if status >= 500 or status in (408, 409, 425):
        return TransientError(f"Hunter answered {status}{said or ' (server error)'}", **kw)
    return PermanentError(f"Hunter answered {status} {error_id or ''}".rstrip() + said, **kw)


def _new_http(base_url: str) -> httpx.HTTPTransport:
    return with_deadlines(httpx.HTTPTransport(proxy=proxy_for(httpx.URL(base_url)),
                                              verify=tls_context()))


_shared: dict[str, httpx.HTTPTransport] = {}
_shared_lock = threading.Lock()


def _shared_http(base_url: str) -> httpx.HTTPTransport:
    """httpx transports are thread-safe: the worker's threads share one."""
    with _shared_lock:
        transport = _shared.get(base_url)
        if transport is None:
            transport = _shared[base_url] = _new_http(base_url)
        return transport


class HunterClient:
    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float = 30.0,
        on_call: Callable[[CallRecord], None] | None = None,
        shared: bool = False,
        plan: Account | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self._key = api_key
        self._on_call = on_call
        # the plan decides the bill: a verification costs half a credit on single-credit
        # plans. Unknown (never asked): billed as on plans with separate quotas.
        self.plan = plan
        self._bill_verification: Billing = partial(
            bill_verification, single_credit=plan is not None and plan.single_credit)
        # shared: one transport per process for this URL, so jobs reuse its TLS context
        # (20-30 ms to build) and its keep-alive connections. A GET goes straight to the
        # transport: an httpx.Client would add cookies, redirects, auth and URL merging,
        # which a Hunter call has no use for, at a third of the request's CPU time.
        self._owned = not shared
        self._http = (_shared_http if shared else _new_http)(base_url)
        self._base = base_url.rstrip("/") + "/"
        self._headers = httpx.Headers({"X-API-KEY": api_key,
                                       "User-Agent": f"novahunt/{__version__}"})
        # httpx's timeouts restart with every byte; `timeout` is also the whole request's
        # deadline (http.deadline), so an answer that trickles is abandoned in time
        self._timeout = timeout
        self._extensions = {
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)).as_dict()}
        # a job's cancel and its worker's shutdown: heard while a slow answer is awaited
        self._interrupt = interrupt

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> HunterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        return answers.scrub(text, self._key)

    def _record(self, endpoint: str, status: int, started: float,
                error_id: str | None, detail: str,
                billed: tuple[str, float] | None = None) -> None:
        if self._on_call is not None:
            elapsed = (time.monotonic() - started) * 1000
            kind, credits = billed or (None, 0)
            self._on_call(CallRecord(PROVIDER, endpoint, status, elapsed, error_id, detail,
                                     credits, kind))

    def get(self, endpoint: str, params: dict[str, Any],
            billing: Billing | None = None) -> dict[str, Any]:
        """One GET; the decoded JSON body on success, else a classified ProviderError.
        `billing` marks a paid endpoint: a 200 from it that cannot be read raises
        UnreadableAnswer (never worth buying again) instead of TransientError."""
        clean = {k: v for k, v in params.items() if v is not None}
        detail = " ".join(f"{k}={v}" for k, v in clean.items())
        started = time.monotonic()
        raw = b""
        unreadable: str | None = None
        try:
            url = self._base + endpoint + (f"?{urlencode(clean)}" if clean else "")
            with deadline(self._timeout, self._interrupt):
                response = self._http.handle_request(httpx.Request(
                    "GET", url, headers=self._headers, extensions=self._extensions))
                try:
                    raw = read_capped(response, BODY_LIMIT)
                except (BodyTooLarge, httpx.DecodingError) as exc:
                    # the status came and is worth reading; only the body is not
                    unreadable = str(exc)
                finally:
                    response.close()
        except httpx.TimeoutException as exc:
            self._record(endpoint, 0, started, "timeout", detail)
            raise TransientError(self._scrub(f"Hunter did not answer in time ({exc})")) from None
        except httpx.HTTPError as exc:
            self._record(endpoint, 0, started, "connection", detail)
            reason = self._scrub(str(exc) or type(exc).__name__)
            raise TransientError(f"cannot reach Hunter: {reason}") from None
        except BaseException:
            # `interrupt` gave up on it (a cancel, a shutdown): it was sent all the same
            self._record(endpoint, 0, started, "interrupted", detail)
            raise
        status = response.status_code
        if status in (202, 222):
            # 202: still verifying (the body may be empty); 222: the remote mail server
            # failed. Both are 2xx that raise_for_status lets through, and neither is an
            # answer.
            error_id, details = _first_error(raw, self._key)
            self._record(endpoint, status, started, error_id or f"http_{status}", detail)
            raise NotReady(f"Hunter has no answer yet ({status})"
                           + (f": {details}" if details else ""), status=status,
                           error_id=error_id)
        if status == 200:
            return self._answer(endpoint, response, raw, unreadable, started, detail, billing)
        error = classify(status, raw, response.headers.get("Retry-After"), self._key)
        self._record(endpoint, status, started, error.error_id, detail)
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        raise error

    def _answer(self, endpoint: str, response: httpx.Response, raw: bytes,
                unreadable: str | None, started: float, detail: str,
                billing: Billing | None) -> dict[str, Any]:
        """A 200: its JSON body, or why it cannot be read."""
        kind = response.headers.get("Content-Type", "")
        if kind and "json" not in kind.lower():
            # Hunter answers JSON: this came from something else on the way (a captive
            # portal, a proxy's page), not from Hunter, and asking again is right
            self._record(endpoint, 200, started, "not_json", detail)
            raise TransientError(f"a 200 answer that is not Hunter's ({answers.details(kind)})",
                                 status=200)
        body: Any = None
        if unreadable is None:
            try:
                body = answers.decode(raw, self._key)
            except ValueError:
                unreadable = f"{len(raw):,} bytes of invalid JSON"
            else:
                if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                    unreadable = "no `data` object"
        if unreadable is not None:
            self._record(endpoint, 200, started, "unreadable", detail)
            if billing is None:  # a free endpoint: asking again costs nothing
                raise TransientError(f"Hunter sent a broken answer ({unreadable})", status=200)
            raise UnreadableAnswer(
                f"Hunter's answer could not be read ({unreadable}); it may have been "
                "billed, so it is not asked again", status=200, error_id="unreadable")
        self._record(endpoint, 200, started, None, detail, billing(body) if billing else None)
        return cast(dict[str, Any], body)

    def domain_search(
        self,
        domain: str,
        *,
        limit: int,
        offset: int,
        type: str | None = None,
        seniority: str | None = None,
        department: str | None = None,
    ) -> DomainSearchPage:
        body = self.get("domain-search", {
            "domain": domain, "limit": limit, "offset": offset,
            "type": type, "seniority": seniority, "department": department,
        }, partial(bill_domain_search, limit=limit))
        return parse_domain_search(body, domain, offset=offset, limit=limit)

    def email_verifier(self, email: str) -> Verification:
        body = self.get("email-verifier", {"email": email}, self._bill_verification)
        return parse_verification(email, body["data"])

    def email_finder(self, domain: str, first_name: str, last_name: str) -> FinderResult:
        body = self.get("email-finder", {"domain": domain, "first_name": first_name,
                                         "last_name": last_name}, bill_finder)
        return parse_finder(body["data"], domain)

    def account(self) -> Account:
        """The plan and what is left of it (free: no credit is spent)."""
        return parse_account(self.get("account", {})["data"])

    def email_count(self, domain: str, *, type: str | None = None) -> EmailCount:
        """How many emails Hunter has for `domain` (free: no credit is billed), so a
        collection's exact cost is known before paying for it."""
        data: dict[str, Any] = self.get("email-count", {"domain": domain, "type": type})["data"]
        try:
            return parse_email_count(data, domain)
        except ValueError as exc:
            raise TransientError(f"Hunter sent an unexpected Email Count answer: {exc}") from None
