"""A Hunter.io API v2 look-alike on 127.0.0.1, for `novahunt demo`, the tests and bench/.

Design
------
The sandbox behaves the way Hunter's API v2 is documented to behave (../shared/HUNTER-API.md
has each rule with its source; tests/test_sandbox_speaks_hunter.py pins each one), closely
enough that the real client runs against it unchanged: the same URLs (`/v2/domain-search`,
`/v2/email-finder`, `/v2/email-verifier`, `/v2/email-count`, `/v2/account`), the same JSON
shapes (copied from the jbuilder-shaped bodies in Hunter's MCP server and from current
Verifier bodies) and the same error bodies `{"errors": [{"id", "code", "details"}]}` with
Hunter's ids. Only the shapes are copied: every person, address and company is made up, and
the demo domains live under the reserved `.example` TLD. It imports nothing of novahunt.

Contacts are generated once, in `add_domain`, from a `random.Random` seeded with `seed` and the
domain, so a given sandbox always holds the same contacts. Only what paging and filtering need
is kept per contact; the rest of an entry (confidence, sources, position, links...) is rendered
when served, from a per-entry RNG, so a page costs O(page size) even for 50,000 addresses.

Each request goes through, in order:

1. injected faults (`inject`): the next queued `Fault` for the endpoint (and domain, or email)
   is consumed first, so a test can make any request answer anything, even before auth;
2. authentication: the key as the `X-API-KEY` header, `Authorization: Bearer KEY` or
   `?api_key=` (that order when several are sent) -> else 401 `authentication_failed`.
   Email Count needs no key, but a wrong key that is sent is still a 401;
3. the optional sliding-window rate limit -> 429 `too_many_requests` with `Retry-After`;
4. separate quotas only: a spent `searches_available` refuses Domain Search and the Finder,
   a spent `verifications_available` the Verifier, with Hunter's billing-period 429;
5. the endpoint, with Hunter's validation and its per-item errors, then billing.

What the endpoints do:

- Domain Search: `domain` or `company` (the organization a domain was added with); `limit`
  1..100, default 10; `type`, `seniority`, `department` filters applied before paging, bad
  values 400 `invalid_type` / `invalid_seniority` / `invalid_department`; neither domain nor
  company 400 `wrong_params`. On the free plan (`free_plan=True`) any `limit + offset > 10` is
  400 `pagination_error` "The search results are limited to 10 email addresses on your current
  plan.", even a first `limit=100`. Entries carry `verification {date, status}`: for a share
  (`fresh_verdict_share`) of addresses, the verdict the Email Verifier gives them when it is
  one Hunter bills, dated within the month; else both null. A domain's `flaky` probability
  answers 429 with `Retry-After: 1`.
- Email Count: free and never refused for quota; counts of the same contacts by type,
  department (14) and seniority (3); an unknown domain is all zeros.
- Email Finder: 400 `wrong_params`, `invalid_first_name`, `invalid_last_name`,
  `invalid_full_name`, `invalid_max_duration` (outside 3..20), `invalid_domain` (a domain
  added with `no_mx=True`, or no host name); 451 `claimed_email` for an address in `claimed`.
  A listed person is answered with the fields their Domain Search entry shows; someone else
  gets a guess from the domain's pattern; otherwise the documented 200 with null fields.
- Email Verifier: a deterministic verdict per address (valid / invalid / accept_all / unknown
  / disposable / webmail, from `seed`; accept_all, webmail, disposable and no_mx domains decide
  it; `set_verdict` overrides it), in the current shape (`status` plus the deprecated `result`)
  or the legacy one (`legacy_verifier`). A missing `email` is 400 `wrong_params`, a value that
  is not an address 400 `invalid_email`; `claimed` answers 451, `pending` 202 with an empty
  body first, and `SMTP_FAILURE_222` can be injected.
- Account: the plan's shape: separate quotas `requests {searches, verifications}` as
  `{used, available}`; `single_credit=True` adds `credits {used, available, remaining}`
  (floats). `plan_name` "Free" / level 0 on the free plan.

Billing is Hunter's (HELP, PLUG): a Domain Search bills 1 search credit per started 10
addresses returned, the Finder 1 per address found (a miss nothing), the Verifier only valid,
invalid and accept_all answers (unknown, webmail, disposable, 202 and 222 are free), Email
Count and Account nothing. On a single-credit plan everything draws on `credits_available`, a
billed verification costing 0.5, and a request whose bill does not fit in what is left answers
402 `payment_required`; one that bills nothing is still answered. `searches_used`,
`verifications_used`, `credits_used`, `verified(email)` and `billed_verifications(email)`
report it.

Every request, faulted and dropped ones included, is appended to `Sandbox.requests` (without
the API key, saying how it came) so tests can assert on exactly what the client sent.

The server is `http.server.ThreadingHTTPServer` in a daemon thread, HTTP/1.1 with keep-alive,
silent on stderr. `stop()` also closes idle keep-alive connections, so a stopped sandbox really
stops answering.
"""
from __future__ import annotations

import argparse
import calendar
import contextlib
import datetime as dt
import json
import math
import random
import re
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, NamedTuple, cast
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "BILLED_STATUSES",
    "BROKEN_JSON",
    "CLAIMED_EMAIL_451",
    "DEPARTMENTS",
    "QUOTA_402",
    "QUOTA_429_BILLING",
    "QUOTA_429_VERIFICATIONS",
    "RATE_LIMIT_403",
    "RESTRICTED_ACCOUNT",
    "SENIORITIES",
    "SERVER_ERROR_HTML",
    "SMTP_FAILURE_222",
    "TOO_MANY_REQUESTS",
    "TYPES",
    "UNAUTHORIZED",
    "UNPROCESSABLE",
    "VERIFICATION_PENDING_202",
    "VERIFICATION_STATUSES",
    "Fault",
    "RequestRecord",
    "Sandbox",
    "demo_sandbox",
    "main",
]

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
FREE_PLAN_RESULTS = 10  # how deep a free plan may read a domain's results
MIN_DURATION, MAX_DURATION = 3, 20  # the Email Finder's max_duration bounds, seconds (DOCS)
# A host name: dot-separated labels of letters, digits and inner hyphens.
_DOMAIN_SHAPE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_TYPE_DETAILS = "The parameter 'type' should be 'personal' or 'generic'."

# --------------------------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One scripted answer, consumed by one matching request (see `Sandbox.inject`).

    A fault with no `error_id`, no `body` and status 200 answers normally after `delay`,
    exactly like `passthrough=True`. A non-200 fault without `error_id` gets an error body with
    an id derived from the status.
    """

    status: int = 200
    error_id: str | None = None
    details: str = ""
    retry_after: str | None = None
    delay: float = 0.0
    body: str | None = None
    content_type: str = "application/json"
    drop: bool = False
    passthrough: bool = False

    @property
    def answers_normally(self) -> bool:
        if self.drop:
            return False
        if self.passthrough:
            return True
        return self.status == 200 and self.error_id is None and self.body is None


# Ready-made faults. Ids and details are copied from public Hunter bodies: the 402 from
# hunter-io/chatgpt-mcp (mirrors Hunter's validation.rb), the billing-period 429 from a body
# captured in bhavsec/reconspider#59, restricted_account from hunter-io/chatgpt-mcp's tests, the
# plain 429 from solar-jsoc/gohunter. Where no public body exists the choice is noted.
TOO_MANY_REQUESTS = Fault(
    status=429,
    error_id="too_many_requests",
    details="Too many requests, try again later.",
    retry_after="1",
)
# Hunter's docs list 403 for "You have reached the rate limit"; no captured body is public, so
# the id reuses Hunter's throttling id and no Retry-After is sent (clients must back off alone).
RATE_LIMIT_403 = Fault(
    status=403,
    error_id="too_many_requests",
    details="You have reached the rate limit. Please slow down your requests.",
)
QUOTA_402 = Fault(
    status=402,
    error_id="payment_required",
    details=(
        "You have exhausted your plan's monthly request quota. Please log in to Hunter to "
        "upgrade your plan or purchase additional credits."
    ),
)
QUOTA_429_BILLING = Fault(
    status=429,
    error_id="too_many_requests",
    details=(
        "You've reached the limit for the number of searches per billing period included in "
        "your plan."
    ),
)
RESTRICTED_ACCOUNT = Fault(
    status=429,
    error_id="restricted_account",
    details="Your account has no usable subscription.",
)
SERVER_ERROR_HTML = Fault(
    status=502,
    body=(
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
    ),
    content_type="text/html",
)
BROKEN_JSON = Fault(status=200, body='{"data": {"domain": "acme-robotics.example", "emai')
UNAUTHORIZED = Fault(
    status=401,
    error_id="authentication_failed",
    details="No user found for the API key supplied",
)
# Not from a captured body: Hunter documents 422 as "valid request, but it could not be
# processed"; an undeliverable domain is the plausible Domain Search case.
UNPROCESSABLE = Fault(
    status=422,
    error_id="invalid_domain",
    details="The domain parameter is not a valid domain name or cannot be processed.",
)

# Email Verifier answers. Hunter's API docs describe 202 ("the email verification is still in
# progress") and 222 ("the email verification failed because of an unexpected response from the
# remote SMTP server") but publish no body for them: the 202 here is empty, and the 222 body's
# id is our choice. The 451 id and wording are those Hunter integrations (activepieces' Hunter
# piece) handle for claimed emails.
VERIFICATION_PENDING_202 = Fault(status=202, body="")
SMTP_FAILURE_222 = Fault(
    status=222,
    error_id="smtp_failure",
    details=(
        "The email verification failed because of an unexpected response from the remote SMTP "
        "server. This failure is outside of our control. We advise you to retry later."
    ),
)
CLAIMED_EMAIL_451 = Fault(
    status=451,
    error_id="claimed_email",
    details=(
        "The person owning the email address asked us directly or indirectly to stop the "
        "processing of their personal data. For this reason, you shouldn't process it yourself "
        "in any way."
    ),
)
# The verification twin of QUOTA_429_BILLING (same id, "verifications" for "searches").
QUOTA_429_VERIFICATIONS = Fault(
    status=429,
    error_id="too_many_requests",
    details=(
        "You've reached the limit for the number of verifications per billing period included "
        "in your plan."
    ),
)

_DEFAULT_ERROR_IDS = {
    222: "smtp_failure",
    400: "wrong_params",
    401: "authentication_failed",
    402: "payment_required",
    403: "forbidden",
    404: "not_found",
    422: "unprocessable_entity",
    429: "too_many_requests",
    451: "unavailable_for_legal_reasons",
}


@dataclass(frozen=True)
class RequestRecord:
    """One request as the sandbox saw it; `params` never holds the API key.

    `key_in_header` is the `X-API-KEY` header, `key_in_url` the `api_key` query parameter,
    `key_in_bearer` an `Authorization: Bearer KEY` header (each says the key was sent that way,
    right or wrong); `key_via` names the one the sandbox checked, None when none was sent.
    """

    method: str
    endpoint: str
    params: dict[str, str]
    key_in_header: bool
    key_in_url: bool
    status: int
    at: float
    key_in_bearer: bool = False
    key_via: str | None = None


# --------------------------------------------------------------------------------------------
# Made-up people
# --------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    # Tables are kept as whitespace-separated text so they stay compact and easy to extend.
    return tuple(text.split())


_FIRST_NAMES = _words(
    """
    olivia lucas emma noah amelia liam sofia mateo chloe ethan isla leo maya oscar nora hugo ava
    felix ines theo clara adam lena jonas mila elias zoe ruben hanna victor alice samuel julia
    arthur lucia marco elena david sara tomas nina omar layla kenji aiko ravi priya diego carmen
    pavel irina kofi ama grace finn ella max ida bruno vera anton iris milo rosa yusuf selin
    andre paula jakob freya
    """
)
_LAST_NAMES = _words(
    """
    martin bernard dubois novak keller moreau silva rossi weber jansen larsen fischer costa
    romano meyer nielsen garcia lopez kowalski horvat petrov schmidt vogel laurent ricci ferreira
    brandt lindqvist hansen dvorak marino adler baker carter ellis fleming grant hughes irving
    jordan kent lowell mercer nolan oakley porter quinn reyes sato tanaka ueda varga walsh young
    zeller abara bose chen okafor mensah haddad nakamura iyer kapoor delgado fontaine gallo holm
    ivanova jovanovic kaur lindgren
    """
)
# Role addresses Hunter reports as type "generic", as local_part:department ("-": none).
_GENERIC_TEXT = """
    info:- contact:- hello:- team:- sales:sales partners:sales press:communication
    media:communication support:support jobs:hr careers:hr hr:hr marketing:marketing
    billing:finance accounts:finance legal:legal privacy:legal security:it it:it
    office:operations design:design training:education wellbeing:health admin:management
    ceo:executive
"""
_GENERIC = tuple(
    (local, None if department == "-" else department)
    for local, _, department in (entry.partition(":") for entry in _words(_GENERIC_TEXT))
)
SENIORITIES = ("junior", "senior", "executive")
# Hunter's 14 departments, each with the weight it gets among made-up people and the "area"
# used to make up job titles.
_DEPARTMENT_TABLE = (
    ("executive", 2, "Strategy"),
    ("it", 9, "Engineering"),
    ("finance", 4, "Finance"),
    ("management", 4, "Operations Management"),
    ("sales", 9, "Sales"),
    ("legal", 2, "Legal"),
    ("support", 5, "Customer Support"),
    ("hr", 3, "People"),
    ("marketing", 6, "Marketing"),
    ("communication", 3, "Communications"),
    ("education", 1, "Training"),
    ("design", 3, "Design"),
    ("health", 1, "Occupational Health"),
    ("operations", 5, "Operations"),
)
DEPARTMENTS = tuple(name for name, _, _ in _DEPARTMENT_TABLE)
_DEPARTMENT_WEIGHTS = tuple(weight for _, weight, _ in _DEPARTMENT_TABLE)
_AREA = {name: area for name, _, area in _DEPARTMENT_TABLE}
_SENIORITY_WEIGHTS = (5, 4, 1)
_TITLES = {
    "junior": ("{area} Associate", "Junior {area} Specialist", "{area} Coordinator"),
    "senior": ("Senior {area} Manager", "{area} Manager", "Lead {area} Specialist"),
    "executive": ("Head of {area}", "VP {area}", "Director of {area}"),
}
_EXECUTIVE_TITLES = ("CEO", "COO", "Co-founder", "Founder & CEO", "Managing Director")
_SOURCE_PATHS = ("/about", "/team", "/about/team", "/contact", "/press", "/careers", "/blog")


TYPES = ("personal", "generic")


class _Contact(NamedTuple):
    value: str
    first: str | None  # None marks a generic (role) address
    last: str | None
    seniority: str | None
    department: str | None
    on_pattern: bool


@dataclass
class _Domain:
    name: str
    organization: str | None
    pattern: str | None
    accept_all: bool
    webmail: bool
    disposable: bool
    flaky: float
    flaky_rng: random.Random
    contacts: list[_Contact]
    linked_domains: tuple[str, ...] = ()
    # no MX record (or the owner asked Hunter to stop): the Finder answers 400 invalid_domain
    no_mx: bool = False
    filtered: dict[tuple[str | None, frozenset[str], frozenset[str]], list[int]] = field(
        default_factory=dict
    )
    # Email Count answers per `type` filter, computed once (they only change with add_domain)
    counts: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    # (first, last) lower-cased -> index of the first contact with that name, for the Finder
    by_name: dict[tuple[str, str], int] | None = None


class _Target(NamedTuple):
    """The domain a request names (by `domain`, or by `company`), and what the sandbox holds."""

    name: str | None  # None: a company no domain was added for
    dom: _Domain | None


def _count(contacts: Sequence[_Contact]) -> dict[str, Any]:
    """Email Count's `data` for these contacts (DOCS: 14 departments, 3 seniorities)."""
    department = dict.fromkeys(DEPARTMENTS, 0)
    seniority = dict.fromkeys(SENIORITIES, 0)
    personal = 0
    for contact in contacts:
        personal += contact.first is not None
        if contact.department is not None:
            department[contact.department] += 1
        if contact.seniority is not None:
            seniority[contact.seniority] += 1
    return {
        "total": len(contacts),
        "personal_emails": personal,
        "generic_emails": len(contacts) - personal,
        "department": department,
        "seniority": seniority,
    }


def _organization_from(domain: str) -> str:
    label = domain.split(".")[0]
    return " ".join(part.capitalize() for part in label.replace("_", "-").split("-") if part)


def _generate(domain: str, count: int, pattern: str, seed: int) -> list[_Contact]:
    rng = random.Random(f"{seed}:{domain}:contacts")
    generic_pool = list(_GENERIC)
    rng.shuffle(generic_pool)
    seen: set[str] = set()
    # Bases carry no digits, so base + counter can never collide with another base.
    suffix: dict[str, int] = {}
    contacts: list[_Contact] = []
    for _ in range(count):
        if generic_pool and rng.random() < 0.15:
            local, department = generic_pool.pop()
            # A short pattern such as {f}{l} can already have produced "it" or "hr".
            if local not in seen:
                seen.add(local)
                contacts.append(_Contact(f"{local}@{domain}", None, None, None, department, True))
                continue
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        seniority = rng.choices(SENIORITIES, _SENIORITY_WEIGHTS)[0]
        department = rng.choices(DEPARTMENTS, _DEPARTMENT_WEIGHTS)[0]
        base = pattern.format(first=first, last=last, f=first[0], l=last[0]).lower()
        local = base
        if local in seen or local in suffix:
            n = suffix.get(base, 1) + 1
            suffix[base] = n
            local = f"{base}{n}"
        else:
            suffix[base] = 1
        seen.add(local)
        contacts.append(
            _Contact(f"{local}@{domain}", first, last, seniority, department, local == base)
        )
    return contacts


def _render(
    contact: _Contact,
    index: int,
    dom: _Domain,
    seed: int,
    today: dt.date,
    verification: dict[str, str | None],
) -> Any:
    """The full jbuilder-shaped entry; extra fields come from a per-entry RNG (deterministic).

    `verification` is Hunter's own fresh verdict on the address (`Sandbox._fresh_verification`).
    """
    rng = random.Random(f"{seed}:{dom.name}:{index}")

    def day(lo: int, hi: int) -> str:
        return (today - dt.timedelta(days=rng.randint(lo, hi))).isoformat()

    first, last = contact.first, contact.last
    personal = first is not None and last is not None
    slug = f"{first}-{last}" if personal else ""
    sources: list[dict[str, Any]] = []
    for n in range(rng.choice((1, 1, 2))):
        if n == 1 and personal:
            src_domain, uri = "linkedin.com", f"https://www.linkedin.com/in/{slug}"
        else:
            path = rng.choice(_SOURCE_PATHS)
            if path == "/blog":
                path = f"/blog/{slug or 'news'}-{rng.randint(1, 300)}"
            src_domain, uri = dom.name, f"http://{dom.name}{path}"
        sources.append(
            {
                "domain": src_domain,
                "uri": uri,
                "extracted_on": day(60, 700),
                "last_seen_on": day(0, 59),
                "still_on_page": rng.random() < 0.85,
            }
        )
    position: str | None = None
    position_raw: str | None = None
    linkedin: str | None = None
    twitter: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    if first is not None and last is not None:
        confidence = rng.randint(70, 99) if contact.on_pattern else rng.randint(45, 80)
        if contact.department == "executive" and contact.seniority == "executive":
            position = rng.choice(_EXECUTIVE_TITLES)
        else:
            area = _AREA[contact.department or "operations"]
            position = rng.choice(_TITLES[contact.seniority or "junior"]).format(area=area)
        raw_roll = rng.random()
        if raw_roll < 0.2 and dom.organization:
            position_raw = f"{position} at {dom.organization}"
        elif raw_roll < 0.3:
            position_raw = position.replace("VP ", "VP of ")
        else:
            position_raw = position
        linkedin = f"https://www.linkedin.com/in/{slug}" if rng.random() < 0.4 else None
        twitter = f"{first}{last[:3]}" if rng.random() < 0.1 else None
        # 555-0100..0199 is reserved for fiction, so these numbers can never ring anyone.
        phone = f"+1 202 555 01{rng.randint(0, 99):02d}" if rng.random() < 0.05 else None
        first_name, last_name = first.capitalize(), last.capitalize()
    else:
        confidence = rng.randint(40, 95)
    return {
        "value": contact.value,
        "type": "personal" if personal else "generic",
        "confidence": confidence,
        "sources": sources,
        "first_name": first_name,
        "last_name": last_name,
        "position": position,
        "position_raw": position_raw,
        "seniority": contact.seniority,
        "department": contact.department,
        "linkedin": linkedin,
        "twitter": twitter,
        "phone_number": phone,
        "verification": verification,
    }


# --------------------------------------------------------------------------------------------
# Made-up verifications
# --------------------------------------------------------------------------------------------

# Hunter's Email Verifier statuses, with the share each gets among emails nothing else decides.
VERIFICATION_STATUSES = ("valid", "invalid", "accept_all", "unknown", "disposable", "webmail")
_VERDICT_WEIGHTS = (60, 12, 12, 10, 3, 3)
# `result` is deprecated but still sent (and it is all the legacy shape has).
_RESULT_OF = {
    "valid": "deliverable",
    "webmail": "deliverable",
    "invalid": "undeliverable",
    "disposable": "undeliverable",
    "accept_all": "risky",
    "unknown": "risky",
}
_SCORE_RANGE = {
    "valid": (80, 100),
    "webmail": (70, 95),
    "accept_all": (40, 79),
    "unknown": (20, 59),
    "disposable": (0, 29),
    "invalid": (0, 19),
}
_DEPRECATION_NOTICE = "Using result is deprecated, use status instead"
# The verdicts Hunter bills (HELP: "except for Webmails, Unknown and Disposable emails that are
# skipped"; PLUG: "charged only for valid, invalid, or accept_all results").
BILLED_STATUSES = frozenset({"valid", "invalid", "accept_all"})
# Anything else is not an email address at all: 400 invalid_email instead of a verdict.
_ADDRESS_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
# What Hunter's `regexp` check accepts, roughly: one @, no spaces, a dot in the domain.
_EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def _normal_email(email: str) -> str:
    return email.strip().lower()


def _random_verdict(email: str, seed: int) -> str:
    rng = random.Random(f"{seed}:{email}:verdict")
    return rng.choices(VERIFICATION_STATUSES, _VERDICT_WEIGHTS)[0]


def _render_verification(
    email: str, status: str, seed: int, today: dt.date, *, legacy: bool
) -> dict[str, Any]:
    """The Email Verifier `data` object for `email` (normalised) with verdict `status`."""
    rng = random.Random(f"{seed}:{email}:verification")
    local, _, domain = email.rpartition("@")
    # A malformed address is invalid unless a test forced another verdict with set_verdict.
    regexp = status != "invalid" or _EMAIL_SHAPE.fullmatch(email) is not None
    low, high = _SCORE_RANGE[status]
    score = rng.randint(low, high) if regexp else 0
    mx_records = regexp and not (status == "invalid" and rng.random() < 0.3)
    # An unknown verdict means the mail server could not be asked: it is either silent or
    # blocking us.
    smtp_server = mx_records and not (status == "unknown" and rng.random() < 0.5)
    sources: list[dict[str, Any]] = []
    if _RESULT_OF[status] != "undeliverable":
        for _ in range(rng.choice((0, 1, 1, 2))):
            path = rng.choice(_SOURCE_PATHS)
            if path == "/blog":
                path = f"/blog/{local.replace('.', '-')}-{rng.randint(1, 300)}"
            sources.append(
                {
                    "domain": domain,
                    "uri": f"http://{domain}{path}",
                    "extracted_on": (today - dt.timedelta(days=rng.randint(60, 700))).isoformat(),
                    "last_seen_on": (today - dt.timedelta(days=rng.randint(0, 59))).isoformat(),
                    "still_on_page": rng.random() < 0.85,
                }
            )
    data: dict[str, Any] = {} if legacy else {"status": status}
    data["result"] = _RESULT_OF[status]
    if not legacy:
        data["_deprecation_notice"] = _DEPRECATION_NOTICE
    data.update(
        {
            "score": score,
            "email": email,
            "regexp": regexp,
            "gibberish": status == "invalid" and rng.random() < 0.25,
            "disposable": status == "disposable",
            "webmail": status == "webmail",
            "mx_records": mx_records,
            "smtp_server": smtp_server,
            "smtp_check": smtp_server
            and status in ("valid", "webmail", "accept_all", "disposable"),
            "accept_all": status == "accept_all",
            "block": status == "unknown" and smtp_server,
            "sources": sources,
        }
    )
    return data


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False


def _json_answer(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> _Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Answer(status, body, headers=headers)


def _error(status: int, error_id: str, details: str, retry_after: str | None = None) -> _Answer:
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    payload = {"errors": [{"id": error_id, "code": status, "details": details}]}
    return _json_answer(status, payload, headers)


def _fault_answer(fault: Fault) -> _Answer:
    headers = (("Retry-After", fault.retry_after),) if fault.retry_after is not None else ()
    if fault.body is not None:
        content_type = fault.content_type
        if "charset" not in content_type:
            content_type += "; charset=utf-8"
        return _Answer(fault.status, fault.body.encode("utf-8"), content_type, headers)
    error_id = fault.error_id or _DEFAULT_ERROR_IDS.get(fault.status, "error")
    details = fault.details
    if not details:
        try:
            details = HTTPStatus(fault.status).phrase
        except ValueError:
            details = "Error"
    return _error(fault.status, error_id, details, fault.retry_after)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up mid-answer (timeouts, drops) is normal here, not worth a trace.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each keep-alive answer would
    # wait ~40 ms for the client's delayed ACK.
    disable_nagle_algorithm = True
    server_version = "novahunt-sandbox"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        cast(_Server, self.server).sandbox._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            cast(_Server, self.server).sandbox._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        answer = cast(_Server, self.server).sandbox._serve(
            self.command,
            self.path,
            self.headers.get("X-API-KEY"),
            self.headers.get("Authorization"),
        )
        if answer.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        try:
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(answer.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_PATCH = _dispatch
    do_DELETE = _dispatch


# --------------------------------------------------------------------------------------------
# The sandbox
# --------------------------------------------------------------------------------------------


def _int_param(raw: str | None) -> int | None:
    """Hunter accepts only plain decimal integers; anything else is None."""
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("-") and text[1:].isdigit():
        return int(text)
    return int(text) if text.isdigit() else None


def _has_letter(name: str) -> bool:
    return any(ch.isalpha() for ch in name)


def _csv(raw: str | None) -> frozenset[str]:
    if not raw:
        return frozenset()
    return frozenset(part.strip().lower() for part in raw.split(",") if part.strip())


class Sandbox:
    """A Hunter API v2 look-alike served on a local port; see the module docstring."""

    def __init__(
        self,
        api_key: str = "demo",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 7,
        rate_limit_per_second: float | None = None,
        latency: float = 0.0,
        free_plan: bool = False,
        single_credit: bool = False,
        searches_available: int | None = None,
        verifications_available: int | None = None,
        credits_available: float | None = None,
    ) -> None:
        if rate_limit_per_second is not None and rate_limit_per_second <= 0:
            raise ValueError("rate_limit_per_second must be positive")
        separate_quota = searches_available is not None or verifications_available is not None
        if single_credit and separate_quota:
            raise ValueError("a single-credit plan has one quota: give credits_available")
        if not single_credit and credits_available is not None:
            raise ValueError("credits_available is for single_credit=True plans")
        self.api_key = api_key
        self.host = host
        self.port = port
        # Hunter's free plan: Domain Search refuses `limit + offset > 10` (pagination_error)
        self.free_plan = free_plan
        # one `credits` bucket for every kind of request, a billed verification costing 0.5
        self.single_credit = single_credit
        self.seed = seed
        self.rate_limit_per_second = rate_limit_per_second
        # every answer waits this long, like a real network round trip
        self.latency = latency
        # a search-credit quota: once used up, Domain Search answers Hunter's billing 429
        # (None: unlimited, and the account shows the plan's usual allowance)
        self.searches_available = searches_available
        # the same for verification credits and the Email Verifier
        self.verifications_available = verifications_available
        # single-credit plans: the one bucket; a request whose bill does not fit answers 402
        self.credits_available = credits_available
        # share of Domain Search / Finder entries that carry Hunter's own fresh verdict
        self.fresh_verdict_share = 0.2
        # Email Verifier: answer in the legacy shape (`result` only: no `status`, no notice)
        self.legacy_verifier = False
        # email -> how many more times to answer 202 with an empty body before a real answer
        self.pending: dict[str, int] = {}
        # emails whose owner asked Hunter to stop processing them: always 451 `claimed_email`
        self.claimed: set[str] = set()
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._domains: dict[str, _Domain] = {}
        self._faults: dict[tuple[str, str | None], deque[Fault]] = {}
        self._served: list[tuple[str, int]] = []
        # credits billed, per kind (floats: a verification is 0.5 on single-credit plans)
        self._searches_used = 0.0
        self._verifications_used = 0.0
        self._verdicts: dict[str, str] = {}
        self._verified: dict[str, int] = {}
        self._billed: dict[str, int] = {}
        self._window: deque[float] = deque()
        self._today = dt.date.today()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("Sandbox.url is only known after start()")
        return f"http://{self.host}:{self.port}/v2"

    def start(self) -> str:
        if self._server is not None:
            return self.url
        self._stopping.clear()
        server = _Server((self.host, self.port), self)
        self.port = server.server_address[1]
        self._server = server
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"novahunt-sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = list(self._connections)
        # Idle keep-alive connections would otherwise go on being answered after stop().
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    # -- configuration -----------------------------------------------------------------------

    def add_domain(
        self,
        domain: str,
        emails: int,
        *,
        organization: str | None = None,
        pattern: str = "{first}.{last}",
        accept_all: bool = False,
        webmail: bool = False,
        disposable: bool = False,
        flaky: float = 0.0,
        linked_domains: Sequence[str] = (),
        no_mx: bool = False,
    ) -> None:
        """Hold `emails` made-up addresses for `domain` (replacing any earlier ones).

        `pattern` uses Hunter's placeholders `{first}`, `{last}`, `{f}`, `{l}`. `flaky` is the
        probability that a Domain Search for this domain answers 429 with `Retry-After: 1`.
        `organization` is also what a `company=` parameter matches (case-insensitively).
        `linked_domains` is shown in Domain Search's `linked_domains`. `no_mx` makes the domain
        one Hunter refuses to process: the Email Finder answers 400 `invalid_domain` and the
        Email Verifier calls its addresses invalid.
        """
        name = domain.strip().lower()
        if emails < 0:
            raise ValueError("emails must be >= 0")
        if not 0.0 <= flaky <= 1.0:
            raise ValueError("flaky must be a probability between 0 and 1")
        contacts = _generate(name, emails, pattern, self.seed)
        record = _Domain(
            name=name,
            organization=organization if organization is not None else _organization_from(name),
            pattern=pattern if emails else None,
            accept_all=accept_all,
            webmail=webmail,
            disposable=disposable,
            flaky=flaky,
            flaky_rng=random.Random(f"{self.seed}:{name}:flaky"),
            contacts=contacts,
            linked_domains=tuple(d.strip().lower() for d in linked_domains),
            no_mx=no_mx,
        )
        with self._lock:
            self._domains[name] = record

    def inject(
        self,
        *faults: Fault,
        endpoint: str | None = None,
        domain: str | None = None,
        email: str | None = None,
    ) -> None:
        """Queue faults; each matching request consumes the next one, in order.

        `endpoint` defaults to "email-verifier" when `email` is given, else "domain-search".
        With `domain` (or `email`), only requests whose `domain` (or `email`) parameter is that
        value, case-insensitively, match; these queues are served before the endpoint-wide
        one. Once the queue is empty, answers are normal again.
        """
        if domain and email:
            raise ValueError("inject() takes domain or email, not both")
        if endpoint is None:
            endpoint = "email-verifier" if email else "domain-search"
        target = domain or email
        key = (endpoint.strip("/"), target.strip().lower() if target else None)
        with self._lock:
            self._faults.setdefault(key, deque()).extend(faults)

    def set_verdict(self, email: str, status: str) -> None:
        """Make the Email Verifier give `email` this status (one of VERIFICATION_STATUSES)."""
        if status not in VERIFICATION_STATUSES:
            raise ValueError(
                f"unknown verification status {status!r}; "
                f"expected one of {', '.join(VERIFICATION_STATUSES)}"
            )
        with self._lock:
            self._verdicts[_normal_email(email)] = status

    def verdict(self, email: str) -> str:
        """The status the Email Verifier gives `email` (without asking it, costing nothing)."""
        name = _normal_email(email)
        with self._lock:
            forced = self._verdicts.get(name)
            dom = self._domains.get(name.rpartition("@")[2])
        if forced is not None:
            return forced
        if _EMAIL_SHAPE.fullmatch(name) is None:
            return "invalid"
        if dom is not None:
            if dom.no_mx:
                return "invalid"
            if dom.disposable:
                return "disposable"
            if dom.webmail:
                return "webmail"
            if dom.accept_all:
                return "accept_all"
        return _random_verdict(name, self.seed)

    # -- inspection --------------------------------------------------------------------------

    @property
    def searches_used(self) -> float:
        """Search credits billed: Domain Search pages and Email Finder hits."""
        with self._lock:
            return self._searches_used

    @property
    def verifications_used(self) -> float:
        """Verification credits billed: 1 (0.5 on single-credit plans) per billed answer."""
        with self._lock:
            return self._verifications_used

    @property
    def credits_used(self) -> float:
        """Everything billed: `searches_used + verifications_used`."""
        with self._lock:
            return self._searches_used + self._verifications_used

    def verified(self, email: str) -> int:
        """How many 200 Email Verifier answers `email` got, billed or not."""
        with self._lock:
            return self._verified.get(_normal_email(email), 0)

    def billed_verifications(self, email: str) -> int:
        """Of `verified(email)`, how many were billed (valid, invalid, accept_all answers)."""
        with self._lock:
            return self._billed.get(_normal_email(email), 0)

    def count(self, endpoint: str = "domain-search", **params: str) -> int:
        with self._lock:
            records = list(self.requests)
        return sum(
            1
            for r in records
            if r.endpoint == endpoint and all(r.params.get(k) == v for k, v in params.items())
        )

    def pages_served(self, domain: str) -> list[int]:
        """Offsets of the real Domain Search pages answered for `domain` (faults excluded)."""
        name = domain.strip().lower()
        with self._lock:
            return [offset for served, offset in self._served if served == name]

    def emails_of(self, domain: str) -> list[str]:
        with self._lock:
            record = self._domains.get(domain.strip().lower())
        return [c.value for c in record.contacts] if record else []

    def domains(self) -> list[str]:
        with self._lock:
            return list(self._domains)

    # -- request handling --------------------------------------------------------------------

    def _serve(
        self, method: str, target: str, header_key: str | None, authorization: str | None = None
    ) -> _Answer:
        arrived = time.time()
        if self.latency:
            time.sleep(self.latency)
        split = urlsplit(target)
        path = split.path
        endpoint = path[len("/v2/") :].strip("/") if path.startswith("/v2/") else path
        params: dict[str, str] = {}
        url_key: str | None = None
        key_in_url = False
        for name, values in parse_qs(split.query, keep_blank_values=True).items():
            if name == "api_key":
                key_in_url, url_key = True, values[0]
            else:
                params[name] = values[0]
        bearer_key: str | None = None
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() == "bearer":
                bearer_key = token.strip()
        # Hunter documents the three ways without an order; when several are sent, the header
        # wins over Bearer, and both over the URL.
        via, key = next(
            ((v, k) for v, k in (("header", header_key), ("bearer", bearer_key), ("url", url_key))
             if k is not None),
            (None, None),
        )
        try:
            answer = self._answer(method, endpoint, params, key)
        except Exception as exc:  # a sandbox bug must surface as an answer, not a hang
            answer = _error(500, "internal_error", f"sandbox error: {exc!r}")
        record = RequestRecord(
            method=method,
            endpoint=endpoint,
            params=params,
            key_in_header=header_key is not None,
            key_in_url=key_in_url,
            status=0 if answer.drop else answer.status,
            at=arrived,
            key_in_bearer=bearer_key is not None,
            key_via=via,
        )
        with self._lock:
            self.requests.append(record)
        return answer

    def _next_fault(self, endpoint: str, *targets: str | None) -> Fault | None:
        with self._lock:
            keys: list[tuple[str, str | None]] = [(endpoint, t) for t in targets if t]
            keys.append((endpoint, None))
            for key in keys:
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

    def _answer(
        self,
        method: str,
        endpoint: str,
        params: dict[str, str],
        key: str | None,
    ) -> _Answer:
        domain_param, email_param = params.get("domain"), params.get("email")
        fault = self._next_fault(
            endpoint,
            domain_param.strip().lower() if domain_param else None,
            _normal_email(email_param) if email_param else None,
        )
        if fault is not None:
            if fault.delay > 0:
                # Waiting on the stop event lets stop() cut slow answers short.
                self._stopping.wait(fault.delay)
            if fault.drop:
                return _Answer(0, drop=True)
            if not fault.answers_normally:
                return _fault_answer(fault)

        # Email Count is public (Hunter's extension calls it without a key); a key that is sent
        # is still checked.
        public = method == "GET" and endpoint == "email-count"
        if key != self.api_key and not (public and key is None):
            return _error(401, "authentication_failed", "No user found for the API key supplied")

        wait = self._rate_limited()
        if wait is not None:
            return _error(429, "too_many_requests", "Too many requests, try again later.", wait)

        paid = {"domain-search": "search", "email-finder": "search",
                "email-verifier": "verification"}
        if method == "GET" and endpoint in paid:
            with self._lock:
                refused = self._spent_locked(paid[endpoint])
            if refused is not None:
                return refused
            if endpoint == "domain-search":
                return self._domain_search(params)
            if endpoint == "email-finder":
                return self._email_finder(params)
            return self._email_verifier(params)
        if method == "GET" and endpoint == "account":
            return self._account()
        if public:
            return self._email_count(params)
        shown = endpoint if endpoint.startswith("/") else f"/v2/{endpoint}"
        return _error(404, "not_found", f"The endpoint '{method} {shown}' does not exist.")

    def _email_finder(self, params: dict[str, str]) -> _Answer:
        """Email Finder (DOCS): errors per person; when found, the contact's own fields (the
        ones its Domain Search entry shows), else a guess from the domain's pattern, else the
        documented 200-with-nulls miss. Billed one search credit per address found."""
        target = self._target(params)
        if target is None:
            return _error(400, "wrong_params", "You are missing the domain parameter")
        first = params.get("first_name", "").strip()
        last = params.get("last_name", "").strip()
        full = params.get("full_name", "").strip()
        if first and not _has_letter(first):
            return _error(400, "invalid_first_name", "The first_name parameter is invalid.")
        if last and not _has_letter(last):
            return _error(400, "invalid_last_name", "The last_name parameter is invalid.")
        if not (first and last):
            if not full:
                return _error(400, "wrong_params",
                              "You are missing the first_name and last_name or full_name parameter")
            words = full.split()
            if len(words) < 2 or not (_has_letter(words[0]) and _has_letter(" ".join(words[1:]))):
                return _error(400, "invalid_full_name",
                              "The full_name parameter should hold a first name and a last name.")
            first, last = words[0], " ".join(words[1:])
        raw_duration = params.get("max_duration", "").strip()
        if raw_duration:
            duration = _int_param(raw_duration)
            if duration is None or not MIN_DURATION <= duration <= MAX_DURATION:
                return _error(400, "invalid_max_duration",
                              f"The parameter 'max_duration' should be between {MIN_DURATION} "
                              f"and {MAX_DURATION}.")
        name, dom = target
        if name is not None and (_DOMAIN_SHAPE.fullmatch(name) is None or (dom and dom.no_mx)):
            return _error(400, "invalid_domain",
                          f"{name} cannot be processed: it has no MX record, or its owner "
                          "requested that we stop processing it.")

        data: dict[str, Any] = {
            "first_name": None, "last_name": None, "email": None, "score": None,
            "domain": name, "accept_all": None, "position": None, "twitter": None,
            "linkedin_url": None, "phone_number": None, "company": None, "sources": [],
            "verification": {"date": None, "status": None},
        }
        found = self._find_person(dom, first, last) if dom is not None else None
        if dom is not None and found is not None:
            email, entry = found
            if entry is not None:
                data.update({
                    "first_name": entry["first_name"], "last_name": entry["last_name"],
                    "email": email, "score": entry["confidence"],
                    "position": entry["position"], "twitter": entry["twitter"],
                    "linkedin_url": entry["linkedin"], "phone_number": entry["phone_number"],
                    "sources": entry["sources"], "verification": entry["verification"],
                })
            else:
                guess_rng = random.Random(f"{self.seed}:{email}:guess")
                data.update({
                    "first_name": first, "last_name": last, "email": email,
                    "score": guess_rng.randint(40, 69),
                    "verification": self._fresh_verification(email),
                })
            data["accept_all"] = dom.accept_all
            data["company"] = dom.organization
        payload = {"data": data, "meta": {"params": {
            "first_name": params.get("first_name") or None,
            "last_name": params.get("last_name") or None,
            "full_name": full or None, "domain": params.get("domain") or None,
            "company": params.get("company") or None,
            "max_duration": _int_param(raw_duration) if raw_duration else None}}}
        email = data["email"]
        if email is not None:
            with self._lock:
                claimed = any(_normal_email(c) == email for c in self.claimed)
            if claimed:
                return _fault_answer(CLAIMED_EMAIL_451)
            with self._lock:
                refused = self._charge_locked("search", 1)
            if refused is not None:
                return refused
        return _json_answer(200, payload)

    def _entry(self, contact: _Contact, index: int, dom: _Domain) -> Any:
        return _render(contact, index, dom, self.seed, self._today,
                       self._fresh_verification(contact.value))

    def _fresh_verification(self, email: str) -> dict[str, str | None]:
        """Hunter's own verdict on `email` as Domain Search and the Finder show it.

        For a deterministic `fresh_verdict_share` of addresses whose Email Verifier status is
        one Hunter bills (valid, invalid, accept_all), that status, dated within the last month
        (Rails drops verifications older than a month before rendering: MCP fixture
        domain-search-fresh.json); else both leaves null. So the verdict shown is always the
        one the Verifier would give: an accept_all domain's entries say accept_all.
        """
        rng = random.Random(f"{self.seed}:{email}:fresh")
        if rng.random() >= self.fresh_verdict_share:
            return {"date": None, "status": None}
        status = self.verdict(email)
        if status not in BILLED_STATUSES:
            return {"date": None, "status": None}
        date = self._today - dt.timedelta(days=rng.randint(1, 27))
        return {"date": date.isoformat(), "status": status}

    def _find_person(
        self, dom: _Domain, first: str, last: str
    ) -> tuple[str, dict[str, Any] | None] | None:
        """(address, its Domain Search entry) for the contact with these names, else (a guess
        from the domain's pattern, None), else None."""
        with self._lock:
            if dom.by_name is None:
                dom.by_name = {}
                for i, c in enumerate(dom.contacts):
                    if c.first is not None and c.last is not None:
                        dom.by_name.setdefault((c.first, c.last), i)
            index = dom.by_name.get((first.lower(), last.lower()))
        if index is not None:
            contact = dom.contacts[index]
            return contact.value, self._entry(contact, index, dom)
        simple_first = "".join(ch for ch in first.lower() if ch.isalnum())
        simple_last = "".join(ch for ch in last.lower() if ch.isalnum())
        if not (dom.pattern and simple_first and simple_last):
            return None
        local = dom.pattern.format(first=simple_first, last=simple_last, f=simple_first[0],
                                   l=simple_last[0])
        return f"{local}@{dom.name}", None

    def _rate_limited(self) -> str | None:
        """None if the request fits the sliding window, else the Retry-After value to send."""
        rate = self.rate_limit_per_second
        if rate is None:
            return None
        # Integer rates give the plain 1-second window; fractional ones stretch it so that
        # `capacity` requests per `window` seconds still equals `rate`.
        capacity = max(1, math.floor(rate))
        window = capacity / rate
        now = time.monotonic()
        with self._lock:
            while self._window and now - self._window[0] >= window:
                self._window.popleft()
            if len(self._window) >= capacity:
                remaining = window - (now - self._window[0])
                return str(max(1, math.ceil(remaining)))
            self._window.append(now)
        return None

    def _domain_search(self, params: dict[str, str]) -> _Answer:
        """Domain Search (DOCS, MCP jbuilder fixture): `domain` or `company`, Hunter's filter
        errors, the free plan's depth rule, then one page billed per started 10 addresses."""
        target = self._target(params)
        if target is None:
            return _error(400, "wrong_params", "You are missing the domain parameter")
        name, dom = target
        with self._lock:
            flaky_hit = dom is not None and dom.flaky > 0 and dom.flaky_rng.random() < dom.flaky
        if flaky_hit:
            return _error(429, "too_many_requests", "Too many requests, try again later.", "1")

        limit = _int_param(params.get("limit", str(DEFAULT_LIMIT)))
        if limit is None or limit <= 0:
            return _error(
                400, "pagination_error", "The parameter 'limit' should be a positive integer."
            )
        if limit > MAX_LIMIT:
            return _error(
                400,
                "pagination_error",
                f"The parameter 'limit' should be less than or equal to {MAX_LIMIT}.",
            )
        offset = _int_param(params.get("offset", "0"))
        if offset is None or offset < 0:
            return _error(
                400, "pagination_error", "The parameter 'offset' should be a positive integer."
            )

        type_ = params.get("type") or None
        if type_ is not None and type_ not in TYPES:
            return _error(400, "invalid_type", _TYPE_DETAILS)
        seniority = _csv(params.get("seniority"))
        if bad := sorted(seniority - set(SENIORITIES)):
            return _error(
                400,
                "invalid_seniority",
                f"Unknown seniority '{bad[0]}'. Accepted values: {', '.join(SENIORITIES)}.",
            )
        department = _csv(params.get("department"))
        if bad := sorted(department - set(DEPARTMENTS)):
            return _error(
                400,
                "invalid_department",
                f"Unknown department '{bad[0]}'. Accepted values: {', '.join(DEPARTMENTS)}.",
            )

        # The free plan refuses any request reaching past the 10th address, even the first
        # `limit=100` (DOCS error table; ISSUE recon-ng-marketplace#159, ghost_scout#13).
        if self.free_plan and limit + offset > FREE_PLAN_RESULTS:
            return _error(
                400,
                "pagination_error",
                f"The search results are limited to {FREE_PLAN_RESULTS} email addresses on your "
                "current plan.",
            )

        emails: list[Any] = []
        total = 0
        if dom is not None:
            indices = self._matching(dom, type_, seniority, department)
            total = len(indices) if indices is not None else len(dom.contacts)
            end = min(offset + limit, total)
            for position in range(offset, max(offset, end)):
                index = indices[position] if indices is not None else position
                emails.append(self._entry(dom.contacts[index], index, dom))

        payload = {
            "data": {
                "domain": name,
                "disposable": dom.disposable if dom else False,
                "webmail": dom.webmail if dom else False,
                "accept_all": dom.accept_all if dom else False,
                "pattern": dom.pattern if dom else None,
                "organization": dom.organization if dom else None,
                "linked_domains": list(dom.linked_domains) if dom else [],
                "emails": emails,
            },
            "meta": {
                "results": total,
                "limit": limit,
                "offset": offset,
                "params": {
                    "domain": params.get("domain", "").strip() or None,
                    "company": params.get("company", "").strip() or None,
                    "type": type_,
                    "seniority": params.get("seniority") or None,
                    "department": params.get("department") or None,
                },
            },
        }
        with self._lock:
            refused = self._charge_locked("search", math.ceil(len(emails) / 10))
            if refused is not None:
                return refused
            if name is not None:
                self._served.append((name, offset))
        return _json_answer(200, payload)

    # -- billing ---------------------------------------------------------------------------
    # What Hunter bills (HELP, PLUG): a Domain Search 1 search credit per started 10 addresses
    # returned, the Email Finder 1 per address found, the Email Verifier 1 verification per
    # valid / invalid / accept_all answer (unknown, webmail, disposable and 202/222 are free),
    # 0.5 credit on single-credit plans; Email Count and Account are free.

    def _spent_locked(self, kind: str) -> _Answer | None:
        """Separate quotas: the billing 429 once `kind`'s quota is used up, before anything
        else is looked at (so even a request that would bill nothing is refused). Single-credit
        plans are checked per request, on what it would bill (`_charge_locked`)."""
        if self.single_credit:
            return None
        if kind == "search":
            available: float | None = self.searches_available
            if available is not None and self._searches_used >= available:
                return _fault_answer(QUOTA_429_BILLING)
            return None
        available = self.verifications_available
        if available is not None and self._verifications_used >= available:
            return _fault_answer(QUOTA_429_VERIFICATIONS)
        return None

    def _charge_locked(self, kind: str, cost: float) -> _Answer | None:
        """Bill `cost` credits of `kind` ("search" or "verification"), or return the refusal.

        Called under the lock with the answer ready, so concurrent requests never overspend.
        Single-credit: 402 payment_required when the bill does not fit in what is left (a
        request billing nothing always fits).
        """
        if cost <= 0:
            return None
        if self.single_credit:
            available = self.credits_available
            used = self._searches_used + self._verifications_used
            if available is not None and used + cost > available:
                return _fault_answer(QUOTA_402)
        elif (refused := self._spent_locked(kind)) is not None:
            return refused
        if kind == "search":
            self._searches_used += cost
        else:
            self._verifications_used += cost
        return None

    def _verification_cost(self, status: str) -> float:
        if status not in BILLED_STATUSES:
            return 0.0
        return 0.5 if self.single_credit else 1.0

    def _email_verifier(self, params: dict[str, str]) -> _Answer:
        raw_email = params.get("email", "").strip()
        if not raw_email:
            return _error(400, "wrong_params", "You are missing the email parameter")
        email = raw_email.lower()
        if _ADDRESS_SHAPE.fullmatch(email) is None:
            # per address (DOCS): one bad value in a list must not stop the rest
            return _error(400, "invalid_email", "The email parameter is not a valid email address.")
        with self._lock:
            claimed = any(_normal_email(c) == email for c in self.claimed)
        if claimed:
            return _fault_answer(CLAIMED_EMAIL_451)
        with self._lock:
            for key, left in self.pending.items():
                if left > 0 and _normal_email(key) == email:
                    self.pending[key] = left - 1
                    return _fault_answer(VERIFICATION_PENDING_202)
        status = self.verdict(email)
        data = _render_verification(email, status, self.seed, self._today,
                                    legacy=self.legacy_verifier)
        cost = self._verification_cost(status)
        with self._lock:
            refused = self._charge_locked("verification", cost)
            if refused is not None:
                return refused
            self._verified[email] = self._verified.get(email, 0) + 1
            if cost:
                self._billed[email] = self._billed.get(email, 0) + 1
        return _json_answer(200, {"data": data, "meta": {"params": {"email": raw_email}}})

    def _matching(
        self,
        dom: _Domain,
        type_: str | None,
        seniority: frozenset[str],
        department: frozenset[str],
    ) -> list[int] | None:
        """Indices of contacts passing the filters, or None when there is no filter."""
        if type_ is None and not seniority and not department:
            return None
        key = (type_, seniority, department)
        with self._lock:
            cached = dom.filtered.get(key)
        if cached is not None:
            return cached

        def keep(c: _Contact) -> bool:
            if type_ is not None and (c.first is None) != (type_ == "generic"):
                return False
            if seniority and c.seniority not in seniority:
                return False
            return not department or c.department in department

        indices = [i for i, c in enumerate(dom.contacts) if keep(c)]
        with self._lock:
            dom.filtered[key] = indices
        return indices

    def _target(self, params: dict[str, str]) -> _Target | None:
        """What `domain` (or else `company`) names; None when the request gives neither.

        Hunter uses the domain when both are given (DOCS); a company matches the organization
        a domain was added with, case-insensitively.
        """
        name = params.get("domain", "").strip().lower()
        if name:
            with self._lock:
                return _Target(name, self._domains.get(name))
        company = params.get("company", "").strip().casefold()
        if not company:
            return None
        with self._lock:
            for dom in self._domains.values():
                if dom.organization is not None and dom.organization.casefold() == company:
                    return _Target(dom.name, dom)
        return _Target(None, None)

    def _email_count(self, params: dict[str, str]) -> _Answer:
        """Email Count: how many addresses Domain Search holds for the domain; free (DOCS)."""
        target = self._target(params)
        if target is None:
            return _error(400, "wrong_params", "You are missing the domain parameter")
        type_ = params.get("type") or None
        if type_ is not None and type_ not in TYPES:
            return _error(400, "invalid_type", _TYPE_DETAILS)
        dom = target.dom
        data: dict[str, Any] | None = None
        if dom is not None:
            with self._lock:
                data = dom.counts.get(type_)
        if data is None:
            generic = type_ == "generic"
            wanted = [] if dom is None else [
                c for c in dom.contacts if type_ is None or (c.first is None) == generic
            ]
            data = _count(wanted)
            if dom is not None:
                with self._lock:
                    dom.counts[type_] = data
        params_echo = {
            "domain": params.get("domain") or None,
            "company": params.get("company") or None,
            "type": type_,
        }
        return _json_answer(200, {"data": data, "meta": {"params": params_echo}})

    def _account(self) -> _Answer:
        """Account, in the shape of the plan (MCP `account.ts`, `account-management.ts`).

        What Hunter's MCP server says (src/tools/account.ts and account-management.ts at
        hunter-io/chatgpt-mcp 830f4ac): `requests` holds one bucket per quota, `searches` and
        `verifications`, each `{used, available}` (integers, from Call::QUOTAS); teams on a
        single-credits-bucket plan *additionally* get `credits {used, available, remaining}`,
        whose values may be fractional (`remaining` is a float from
        Team#last_period_credits_remaining) and whose `remaining`, not `available - used`, is
        the balance to pace work against (`available` is the gross allowance plus packs). A
        later version of the usage view adds `remaining` to the per-quota buckets too; the
        account view does not show it, so neither does the sandbox. No public body shows what
        a single-credit plan's `searches` / `verifications` hold: here they are each kind's
        share of the credits used, against the one allowance.
        """
        free = self.free_plan
        today = self._today
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        reset = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        with self._lock:
            searches_used, verifications_used = self._searches_used, self._verifications_used
        requests: dict[str, Any]
        if self.single_credit:
            # Without a quota set, the plan's usual allowance is shown (made-up figures).
            allowance = float(self.credits_available if self.credits_available is not None
                              else (50 if free else 2000))
            used = searches_used + verifications_used
            requests = {
                "credits": {"used": used, "available": allowance,
                            "remaining": max(0.0, allowance - used)},
                "searches": {"used": searches_used, "available": allowance},
                "verifications": {"used": verifications_used, "available": allowance},
            }
            plan_name, plan_level = ("Free", 0) if free else ("Growth", 2)
        else:
            searches = self.searches_available
            if searches is None:
                searches = 25 if free else 500
            verifications = self.verifications_available
            if verifications is None:
                verifications = 50 if free else 1000
            # separate quotas count whole requests: integers on the wire
            requests = {
                "searches": {"used": int(searches_used), "available": searches},
                "verifications": {"used": int(verifications_used), "available": verifications},
            }
            plan_name, plan_level = ("Free", 0) if free else ("Starter", 1)
        payload = {
            "data": {
                "first_name": "Dana",
                "last_name": "Sandbox",
                "email": "dana@novahunt-sandbox.example",
                "plan_name": plan_name,
                "plan_level": plan_level,
                "reset_date": reset.isoformat(),
                "team_id": 4242,
                "requests": requests,
            }
        }
        return _json_answer(200, payload)


# --------------------------------------------------------------------------------------------
# Demo
# --------------------------------------------------------------------------------------------

DEMO_DOMAINS: Sequence[tuple[str, int, dict[str, Any]]] = (
    ("acme-robotics.example", 8, {"organization": "Acme Robotics", "pattern": "{first}"}),
    ("globex-logistics.example", 340, {"organization": "Globex Logistics"}),
    (
        "initech-software.example",
        60,
        {"organization": "Initech Software", "pattern": "{f}{last}", "flaky": 0.15},
    ),
    ("umbrella-bakery.example", 0, {"organization": "Umbrella Bakery"}),
)


def demo_sandbox(
    port: int = 0, *, api_key: str = "demo", free_plan: bool = False, single_credit: bool = False
) -> Sandbox:
    """A sandbox preloaded with the demo domains (not started).

    A small domain (8 addresses), a big one that takes four pages at page size 100 (340), a
    flaky one that answers 429 to about 15% of searches (60) and one that has no addresses.
    `free_plan` and `single_credit` choose the plan, as in `Sandbox`.
    """
    sandbox = Sandbox(api_key, port=port, free_plan=free_plan, single_credit=single_credit)
    for domain, emails, options in DEMO_DOMAINS:
        sandbox.add_domain(domain, emails, **options)
    return sandbox


def _iter_demo_lines(sandbox: Sandbox) -> Iterator[str]:
    yield f"novahunt sandbox (Hunter API v2 look-alike) serving on {sandbox.url}"
    yield (f"API key: {sandbox.api_key}   (as the X-API-KEY header, Authorization: Bearer, "
           "or ?api_key=)")
    plan = "free plan (10 emails per domain)" if sandbox.free_plan else "paid plan"
    quotas = "one credits bucket" if sandbox.single_credit else "separate search/verify quotas"
    yield f"Plan: {plan}, {quotas}"
    for domain in sandbox.domains():
        yield f"  {domain:<28} {len(sandbox.emails_of(domain)):>4} emails"
    yield "Press Ctrl-C to stop."


def main(argv: list[str] | None = None) -> None:
    """`python -m novahunt.sandbox --port 8765 [--key demo] [--free-plan] [--single-credit]`:
    serve the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m novahunt.sandbox",
        description="Serve a local, made-up Hunter.io API v2 for demos and tests.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any)")
    parser.add_argument("--key", default="demo", help="API key the sandbox accepts")
    parser.add_argument("--free-plan", action="store_true",
                        help="answer like Hunter's free plan (Domain Search: limit + offset <= 10)")
    parser.add_argument("--single-credit", action="store_true",
                        help="one credits bucket; a billed verification costs 0.5 credit")
    args = parser.parse_args(argv)
    sandbox = demo_sandbox(args.port, api_key=args.key, free_plan=args.free_plan,
                           single_credit=args.single_credit)
    sandbox.start()
    for line in _iter_demo_lines(sandbox):
        print(line, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
