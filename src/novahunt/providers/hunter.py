"""Hunter.io v2 client: one request per call, every answer classified, the key kept secret.

This module is the one place where HTTP statuses, Hunter's `errors[0].id` and httpx's
exceptions become novahunt errors (see errors.py for the tree). It does not retry or
sleep: the runner decides how long to wait, so waiting can heed cancel and shutdown.
Every request, answered or not, is reported to `on_call` for the API-call ledger.

The key travels only in the `X-API-KEY` header. httpx exceptions can carry the URL and
headers in their text, so everything raised from here passes through `_scrub`.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any
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
)
from novahunt.providers.http import tls_context
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
    search_credits,
)

__all__ = [
    "PROVIDER", "VERIFICATION_STATUSES", "Account", "CallRecord", "Contact", "DomainFacts",
    "DomainSearchPage", "EmailCount", "FinderResult", "HunterClient", "Verification",
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
    data = body.get("data") or {}
    status = parse_verification(str(data.get("email") or ""), data).status
    if data.get("status") not in VERIFICATION_STATUSES and (
            data.get("webmail") is True or data.get("disposable") is True):
        # the legacy shape says webmail or disposable only in these flags (its `result`
        # calls them deliverable and undeliverable): free either way
        return "verification", 0
    if status not in BILLED_VERDICTS:
        return "verification", 0
    return "verification", SINGLE_CREDIT_VERIFICATION if single_credit else 1


# the legacy answer has only `result`; map it to today's `status`
_RESULT_TO_STATUS = {"deliverable": "valid", "undeliverable": "invalid", "risky": "unknown"}


def parse_verification(email: str, data: dict[str, Any]) -> Verification:
    status = _opt_str(data.get("status"))
    result = _opt_str(data.get("result"))
    if status not in VERIFICATION_STATUSES:
        if data.get("accept_all") and result == "risky":
            status = "accept_all"
        else:
            status = _RESULT_TO_STATUS.get(result or "", "unknown")
    score = data.get("score")
    return Verification(email, status, result,
                        int(score) if isinstance(score, int | float) else None, data)


def bill_finder(body: dict[str, Any]) -> tuple[str, float]:
    """A search credit when an address is found; a miss is free."""
    return "search", 1 if (body.get("data") or {}).get("email") else 0


def bill_domain_search(body: dict[str, Any]) -> tuple[str, float]:
    """A search credit per started block of 10 emails returned; an empty answer is free."""
    emails = (body.get("data") or {}).get("emails") or []
    return "search", search_credits(len(emails))


def parse_account(data: dict[str, Any]) -> Account:
    """`/v2/account`'s data, of either kind of plan: separate quotas
    (`requests.searches`/`verifications {used, available}`, or the older `calls` block
    alone), or one credits bucket (`requests.credits {used, available, remaining}`, floats).
    Of the bucket, `remaining` is what is left: Hunter's own tools read it and never
    compute available - used (MCP, PLUG)."""

    def block(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    def number(value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return float(value)
        try:
            return float(str(value)) if value is not None else None
        except ValueError:
            return None

    def whole(value: Any) -> int | None:
        n = number(value)
        return None if n is None else int(n)

    requests = block(data.get("requests"))
    # `calls` is the deprecated flat count: older answers carry only it (DOCS)
    searches = block(requests.get("searches")) or block(data.get("calls"))
    verifications = block(requests.get("verifications"))
    credits = block(requests.get("credits"))
    return Account(
        plan_name=_opt_str(data.get("plan_name")), reset_date=_opt_str(data.get("reset_date")),
        searches_used=whole(searches.get("used")),
        searches_available=whole(searches.get("available")),
        verifications_used=whole(verifications.get("used")),
        verifications_available=whole(verifications.get("available")), raw=data,
        plan_level=whole(data.get("plan_level")),
        credits_used=number(credits.get("used")),
        credits_available=number(credits.get("available")),
        credits_remaining=number(credits.get("remaining")))


def normalise_email(value: str) -> str:
    return value.strip().lower()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _first_error(body: Any) -> tuple[str | None, str]:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return first.get("id"), str(first.get("details") or "")
    return None, ""


# 400 ids about one address or person, not about the request (DOCS): a list job records
# them on that item and goes on with the rest
ITEM_ERRORS = frozenset({"invalid_email", "invalid_domain", "invalid_first_name",
                         "invalid_last_name", "invalid_full_name"})


def classify(status: int, body_text: str, retry_after: str | None) -> ProviderError:
    """Map a non-success answer to the error a job should act on."""
    error_id, details = _first_error(_json_or_none(body_text))
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


def _proxy_for(url: httpx.URL) -> str | None:
    """The proxy the environment names for `url` (HTTPS_PROXY, ALL_PROXY, NO_PROXY and
    their lower-case forms), as an httpx.Client would pick it."""
    proxies = urllib.request.getproxies_environment()
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # not in typeshed
    if not proxies or bypass(url.host, proxies):
        return None
    return proxies.get(url.scheme) or proxies.get("all")


def _new_http(base_url: str) -> httpx.HTTPTransport:
    return httpx.HTTPTransport(proxy=_proxy_for(httpx.URL(base_url)), verify=tls_context())


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
        self._extensions = {
            "timeout": httpx.Timeout(timeout, connect=min(timeout, 10.0)).as_dict()}

    def close(self) -> None:
        if self._owned:
            self._http.close()

    def __enter__(self) -> HunterClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _scrub(self, text: str) -> str:
        return text.replace(self._key, "[redacted]") if self._key else text

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
        """One GET; the decoded JSON body on success, else a classified ProviderError."""
        clean = {k: v for k, v in params.items() if v is not None}
        detail = " ".join(f"{k}={v}" for k, v in clean.items())
        started = time.monotonic()
        try:
            url = self._base + endpoint + (f"?{urlencode(clean)}" if clean else "")
            response = self._http.handle_request(httpx.Request(
                "GET", url, headers=self._headers, extensions=self._extensions))
            try:
                response.read()
            finally:
                response.close()
        except httpx.TimeoutException as exc:
            self._record(endpoint, 0, started, "timeout", detail)
            raise TransientError(self._scrub(f"Hunter did not answer in time ({exc})")) from None
        except httpx.HTTPError as exc:
            self._record(endpoint, 0, started, "connection", detail)
            reason = self._scrub(str(exc) or type(exc).__name__)
            raise TransientError(f"cannot reach Hunter: {reason}") from None
        status = response.status_code
        if status in (202, 222):
            # 202: still verifying (the body may be empty); 222: the remote mail server
            # failed. Both are 2xx that raise_for_status lets through, and neither is an
            # answer.
            error_id, details = _first_error(_json_or_none(response.text))
            self._record(endpoint, status, started, error_id or f"http_{status}", detail)
            raise NotReady(f"Hunter has no answer yet ({status})"
                           + (f": {details}" if details else ""), status=status,
                           error_id=error_id)
        if status == 200:
            try:
                # the bytes as they came: json reads UTF-8 itself, no text decoding first
                body = json.loads(response.content)
                if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
                    raise ValueError("no data object")
            except ValueError:
                self._record(endpoint, status, started, "broken_json", detail)
                raise TransientError(
                    f"Hunter sent a broken answer ({len(response.content)} bytes of invalid"
                    " JSON)",
                    status=status,
                ) from None
            self._record(endpoint, status, started, None, detail,
                         billing(body) if billing else None)
            return body
        error = classify(status, response.text, response.headers.get("Retry-After"))
        self._record(endpoint, status, started, error.error_id, detail)
        error.message = self._scrub(error.message)
        error.args = (error.message,)
        raise error

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
        }, bill_domain_search)
        try:
            return parse_domain_search(body, domain, offset=offset, limit=limit)
        except (KeyError, TypeError, ValueError) as exc:
            raise TransientError(f"Hunter sent an unexpected Domain Search answer: {exc}") from None

    def email_verifier(self, email: str) -> Verification:
        body = self.get("email-verifier", {"email": email}, self._bill_verification)
        return parse_verification(email, body["data"])

    def email_finder(self, domain: str, first_name: str, last_name: str) -> FinderResult:
        body = self.get("email-finder", {"domain": domain, "first_name": first_name,
                                         "last_name": last_name}, bill_finder)
        data = body["data"]
        email = _opt_str(data.get("email"))
        score = data.get("score")
        verification = data.get("verification") or {}
        return FinderResult(
            domain=domain, email=None if email is None else normalise_email(email),
            score=int(score) if isinstance(score, int | float) else None,
            position=_opt_str(data.get("position")), sources=list(data.get("sources") or []),
            verification_status=_opt_str(verification.get("status")),
            verification_date=_opt_str(verification.get("date")), answer=data,
            first_name=_opt_str(data.get("first_name")),
            last_name=_opt_str(data.get("last_name")),
            accept_all=_opt_bool(data.get("accept_all")),
            linkedin=_opt_str(data.get("linkedin_url")), twitter=_opt_str(data.get("twitter")),
            phone_number=_opt_str(data.get("phone_number")),
            company=_opt_str(data.get("company")))

    def account(self) -> Account:
        """The plan and what is left of it (free: no credit is spent)."""
        return parse_account(self.get("account", {})["data"])

    def email_count(self, domain: str, *, type: str | None = None) -> EmailCount:
        """How many emails Hunter has for `domain` (free: no credit is billed), so a
        collection's exact cost is known before paying for it."""
        data: dict[str, Any] = self.get("email-count", {"domain": domain, "type": type})["data"]
        try:
            return parse_email_count(data, domain)
        except (TypeError, ValueError) as exc:
            raise TransientError(f"Hunter sent an unexpected Email Count answer: {exc}") from None


def parse_email_count(data: dict[str, Any], domain: str) -> EmailCount:
    def breakdown(value: Any) -> dict[str, int]:
        return {str(k): int(v) for k, v in (value or {}).items() if isinstance(v, int | float)}

    return EmailCount(domain=domain, total=int(data.get("total") or 0),
                      personal=int(data.get("personal_emails") or 0),
                      generic=int(data.get("generic_emails") or 0),
                      department=breakdown(data.get("department")),
                      seniority=breakdown(data.get("seniority")))


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _opt_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def parse_contact(entry: dict[str, Any]) -> Contact | None:
    email = normalise_email(str(entry.get("value") or ""))
    if "@" not in email:
        return None
    verification = entry.get("verification") or {}
    confidence = entry.get("confidence")
    return Contact(
        email=email,
        first_name=_opt_str(entry.get("first_name")),
        last_name=_opt_str(entry.get("last_name")),
        position=_opt_str(entry.get("position")),
        position_raw=_opt_str(entry.get("position_raw")),
        department=_opt_str(entry.get("department")),
        seniority=_opt_str(entry.get("seniority")),
        type=_opt_str(entry.get("type")),
        confidence=int(confidence) if isinstance(confidence, int | float) else None,
        linkedin=_opt_str(entry.get("linkedin")),
        twitter=_opt_str(entry.get("twitter")),
        phone_number=_opt_str(entry.get("phone_number")),
        sources=list(entry.get("sources") or []),
        verification_status=_opt_str(verification.get("status")),
        verification_date=_opt_str(verification.get("date")),
    )


def _domain_list(value: Any) -> tuple[str, ...] | None:
    """`linked_domains`: a list of names (DOCS, MCP fixture); an entry that is an object
    is read by its `domain` key, so a richer shape later still yields the names."""
    if not isinstance(value, list):
        return None
    names = (_opt_str(v.get("domain") if isinstance(v, dict) else v) for v in value)
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def parse_domain_search(
    body: dict[str, Any], domain: str, *, offset: int, limit: int
) -> DomainSearchPage:
    data = body["data"]
    meta = body.get("meta") or {}
    facts = DomainFacts(
        domain=domain,
        organization=_opt_str(data.get("organization")),
        pattern=_opt_str(data.get("pattern")),
        accept_all=_opt_bool(data.get("accept_all")),
        webmail=_opt_bool(data.get("webmail")),
        disposable=_opt_bool(data.get("disposable")),
        linked_domains=_domain_list(data.get("linked_domains")),
    )
    contacts = [c for e in data.get("emails") or [] if (c := parse_contact(e)) is not None]
    total = int(meta.get("results", len(contacts)) or 0)
    return DomainSearchPage(facts, contacts, total, offset, limit)
