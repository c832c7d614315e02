"""A small Hunter.io-compatible API server on 127.0.0.1, for `novahunt demo` and the tests.

Design
------
The sandbox speaks the wire format of Hunter's API v2 closely enough that the real client
code runs against it unchanged: the same URLs (`/v2/domain-search`, `/v2/email-verifier`,
`/v2/account`), the same authentication (`X-API-KEY` header, or the older `api_key` query
parameter), the same JSON shapes (copied from the current jbuilder-shaped Domain Search body and
from a current Email Verifier body) and the same error bodies
`{"errors": [{"id", "code", "details"}]}` with the ids and messages Hunter actually sends.
Only the shapes are copied: every person, address and company here is made up, and the demo
domains live under the reserved `.example` TLD so they can never be mistaken for real ones.

Contacts are generated once, in `add_domain`, from a `random.Random` seeded with
`seed` and the domain, so a given sandbox always holds the same contacts. Only what paging and
filtering need (address, names, seniority, department) is kept per contact; the rest of an
entry (confidence, sources, position, verification...) is rendered when a page is served, from
a per-entry RNG, so a page costs O(page size) even for a 50,000-address domain. Filtered views
are computed once per filter combination and cached.

Each request goes through, in order:

1. injected faults (`inject`): the next queued `Fault` for the endpoint (and domain, or email
   for the Email Verifier) is consumed first, so a test can make any request answer anything,
   even before auth;
2. authentication -> 401 `authentication_failed`;
3. the optional sliding-window rate limit -> 429 `too_many_requests` with `Retry-After`;
4. the credit quota (`searches_available`, `verifications_available`) -> Hunter's billing 429;
5. the endpoint itself, including Hunter's parameter validation (400 `wrong_params`,
   400 `pagination_error`), the free-plan cap on how deep results may be read and a domain's
   `flaky` probability (429 `too_many_requests` with `Retry-After: 1`).

Every request, faulted and dropped ones included, is appended to `Sandbox.requests` (with the
API key removed) so tests can assert on exactly what the client sent. Successful Domain Search
answers are billed like Hunter bills them: one search credit per started block of 10 addresses
returned, nothing for an empty answer (`searches_used`).

Email Verifier: each email gets a deterministic verdict (`status` valid / invalid / accept_all
/ unknown / disposable / webmail, from `seed` and the lower-cased email; addresses at a domain
added as accept_all, webmail or disposable get that status; `set_verdict` overrides it) and a
body in the current shape (`status` plus the deprecated `result`), or the legacy one without
`status` when `legacy_verifier` is set. `pending` makes an email answer 202 with an empty body
a few times first, `claimed` makes it answer 451 `claimed_email`, and `SMTP_FAILURE_222` can be
injected. Only 200 answers cost a verification credit (`verifications_used`, `verified`).

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
    "BROKEN_JSON",
    "CLAIMED_EMAIL_451",
    "QUOTA_402",
    "QUOTA_429_BILLING",
    "QUOTA_429_VERIFICATIONS",
    "RATE_LIMIT_403",
    "RESTRICTED_ACCOUNT",
    "SERVER_ERROR_HTML",
    "SMTP_FAILURE_222",
    "TOO_MANY_REQUESTS",
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
    """One request as the sandbox saw it; `params` never holds the API key."""

    method: str
    endpoint: str
    params: dict[str, str]
    key_in_header: bool
    key_in_url: bool
    status: int
    at: float


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
    filtered: dict[tuple[str | None, frozenset[str], frozenset[str]], list[int]] = field(
        default_factory=dict
    )


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


def _render(contact: _Contact, index: int, dom: _Domain, seed: int, today: dt.date) -> Any:
    """The full jbuilder-shaped entry; extra fields come from a per-entry RNG (deterministic)."""
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
    verified = rng.random() < 0.2
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
        # Hunter drops verifications older than a month before rendering, so dates are recent.
        "verification": {
            "date": day(1, 27) if verified else None,
            "status": "valid" if verified else None,
        },
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
            self.command, self.path, self.headers.get("X-API-KEY")
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
        free_plan_limit: int | None = None,
        seed: int = 7,
        rate_limit_per_second: float | None = None,
        latency: float = 0.0,
        searches_available: int | None = None,
        verifications_available: int | None = None,
    ) -> None:
        if rate_limit_per_second is not None and rate_limit_per_second <= 0:
            raise ValueError("rate_limit_per_second must be positive")
        self.api_key = api_key
        self.host = host
        self.port = port
        self.free_plan_limit = free_plan_limit
        self.seed = seed
        self.rate_limit_per_second = rate_limit_per_second
        # every answer waits this long, like a real network round trip
        self.latency = latency
        # a search-credit quota: once used up, Domain Search answers Hunter's billing 429
        # (None: unlimited, and the account shows the plan's usual allowance)
        self.searches_available = searches_available
        # the same for verification credits and the Email Verifier
        self.verifications_available = verifications_available
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
        self._searches_used = 0
        self._verdicts: dict[str, str] = {}
        self._verified: dict[str, int] = {}
        self._verifications_used = 0
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
    ) -> None:
        """Hold `emails` made-up addresses for `domain` (replacing any earlier ones).

        `pattern` uses Hunter's placeholders `{first}`, `{last}`, `{f}`, `{l}`. `flaky` is the
        probability that a Domain Search for this domain answers 429 with `Retry-After: 1`.
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
            if dom.disposable:
                return "disposable"
            if dom.webmail:
                return "webmail"
            if dom.accept_all:
                return "accept_all"
        return _random_verdict(name, self.seed)

    # -- inspection --------------------------------------------------------------------------

    @property
    def searches_used(self) -> int:
        with self._lock:
            return self._searches_used

    @property
    def verifications_used(self) -> int:
        """Verification credits spent: one per 200 Email Verifier answer."""
        with self._lock:
            return self._verifications_used

    def verified(self, email: str) -> int:
        """How many 200 (billed) Email Verifier answers `email` got."""
        with self._lock:
            return self._verified.get(_normal_email(email), 0)

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

    def _serve(self, method: str, target: str, header_key: str | None) -> _Answer:
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
        try:
            answer = self._answer(method, endpoint, params, header_key, url_key)
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
        header_key: str | None,
        url_key: str | None,
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

        key = header_key if header_key is not None else url_key
        if key != self.api_key:
            return _error(401, "authentication_failed", "No user found for the API key supplied")

        wait = self._rate_limited()
        if wait is not None:
            return _error(429, "too_many_requests", "Too many requests, try again later.", wait)

        if method == "GET" and endpoint == "domain-search":
            if self.searches_available is not None and (
                    self.searches_used >= self.searches_available):
                return _fault_answer(QUOTA_429_BILLING)
            return self._domain_search(params)
        if method == "GET" and endpoint == "email-verifier":
            if self._out_of_verifications():
                return _fault_answer(QUOTA_429_VERIFICATIONS)
            return self._email_verifier(params)
        if method == "GET" and endpoint == "email-finder":
            if self.searches_available is not None and (
                    self.searches_used >= self.searches_available):
                return _fault_answer(QUOTA_429_BILLING)
            return self._email_finder(params)
        if method == "GET" and endpoint == "account":
            return self._account()
        shown = endpoint if endpoint.startswith("/") else f"/v2/{endpoint}"
        return _error(404, "not_found", f"The endpoint '{method} {shown}' does not exist.")

    def _email_finder(self, params: dict[str, str]) -> _Answer:
        """Email Finder: the person's address if the domain holds them, else a guess from
        the domain's pattern, else the documented 200-with-nulls miss. Billed one search
        when an address is returned."""
        domain = params.get("domain", "").strip().lower()
        first = params.get("first_name", "").strip()
        last = params.get("last_name", "").strip()
        full = params.get("full_name", "").strip()
        if not domain and not params.get("company"):
            return _error(400, "wrong_params", "You are missing the domain parameter")
        if full and not (first and last) and " " in full:
            first, last = full.split(" ", 1)[0], full.rsplit(" ", 1)[-1]
        if not (first and last):
            return _error(400, "wrong_params",
                          "You are missing the first_name and last_name or full_name parameter")
        with self._lock:
            dom = self._domains.get(domain)
        email: str | None = None
        score: int | None = None
        position: str | None = None
        if dom is not None:
            for contact in dom.contacts:
                if (contact.first or "").lower() == first.lower() and (
                        contact.last or "").lower() == last.lower():
                    email, score = contact.value, 91
                    break
            if email is None and dom.pattern:
                simple_first = "".join(ch for ch in first.lower() if ch.isalnum())
                simple_last = "".join(ch for ch in last.lower() if ch.isalnum())
                if simple_first and simple_last:
                    local = dom.pattern.format(first=simple_first, last=simple_last,
                                               f=simple_first[0], l=simple_last[0])
                    email, score = f"{local}@{dom.name}", 52
        data: dict[str, Any] = {
            "first_name": first if email else None, "last_name": last if email else None,
            "email": email, "score": score, "domain": domain or None,
            "accept_all": (dom.accept_all if dom else None) if email else None,
            "position": position, "twitter": None, "linkedin_url": None,
            "phone_number": None, "company": dom.organization if dom and email else None,
            "sources": [], "verification": {"date": None, "status": None},
        }
        payload = {"data": data, "meta": {"params": {
            "first_name": first or None, "last_name": last or None,
            "full_name": full or None, "domain": domain or None,
            "company": params.get("company") or None}}}
        if email:
            with self._lock:
                self._searches_used += 1
        return _json_answer(200, payload)

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
        raw_domain = params.get("domain", "").strip()
        if not raw_domain:
            return _error(400, "wrong_params", "You are missing the domain parameter")
        name = raw_domain.lower()
        with self._lock:
            dom = self._domains.get(name)
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
        if type_ is not None and type_ not in ("personal", "generic"):
            return _error(
                400, "wrong_params", "The parameter 'type' should be 'personal' or 'generic'."
            )
        seniority = _csv(params.get("seniority"))
        if bad := sorted(seniority - set(SENIORITIES)):
            return _error(
                400,
                "wrong_params",
                f"Unknown seniority '{bad[0]}'. Accepted values: {', '.join(SENIORITIES)}.",
            )
        department = _csv(params.get("department"))
        if bad := sorted(department - set(DEPARTMENTS)):
            return _error(
                400,
                "wrong_params",
                f"Unknown department '{bad[0]}'. Accepted values: {', '.join(DEPARTMENTS)}.",
            )

        cap = self.free_plan_limit
        if cap is not None and offset >= cap:
            return _error(
                400,
                "pagination_error",
                f"The search results are limited to {cap} email addresses on your current plan.",
            )

        emails: list[Any] = []
        total = 0
        if dom is not None:
            indices = self._matching(dom, type_, seniority, department)
            total = len(indices) if indices is not None else len(dom.contacts)
            end = min(offset + limit, total, cap if cap is not None else total)
            for position in range(offset, max(offset, end)):
                index = indices[position] if indices is not None else position
                emails.append(_render(dom.contacts[index], index, dom, self.seed, self._today))

        payload = {
            "data": {
                "domain": name,
                "disposable": dom.disposable if dom else False,
                "webmail": dom.webmail if dom else False,
                "accept_all": dom.accept_all if dom else False,
                "pattern": dom.pattern if dom else None,
                "organization": dom.organization if dom else None,
                "linked_domains": [],
                "emails": emails,
            },
            "meta": {
                "results": total,
                "limit": limit,
                "offset": offset,
                "params": {
                    "domain": raw_domain,
                    "company": None,
                    "type": type_,
                    "seniority": params.get("seniority") or None,
                    "department": params.get("department") or None,
                },
            },
        }
        with self._lock:
            self._searches_used += math.ceil(len(emails) / 10)
            self._served.append((name, offset))
        return _json_answer(200, payload)

    def _out_of_verifications(self) -> bool:
        available = self.verifications_available
        return available is not None and self.verifications_used >= available

    def _email_verifier(self, params: dict[str, str]) -> _Answer:
        raw_email = params.get("email", "").strip()
        if not raw_email:
            return _error(400, "wrong_params", "You are missing the email parameter")
        email = raw_email.lower()
        local, at, domain = email.rpartition("@")
        if not (at and local and domain):
            return _error(400, "wrong_params", "The email parameter is invalid")
        with self._lock:
            claimed = any(_normal_email(c) == email for c in self.claimed)
        if claimed:
            return _fault_answer(CLAIMED_EMAIL_451)
        with self._lock:
            for key, left in self.pending.items():
                if left > 0 and _normal_email(key) == email:
                    self.pending[key] = left - 1
                    return _fault_answer(VERIFICATION_PENDING_202)
        data = _render_verification(
            email, self.verdict(email), self.seed, self._today, legacy=self.legacy_verifier
        )
        with self._lock:
            # Checked again under the lock so concurrent requests never overspend the quota.
            available = self.verifications_available
            if available is not None and self._verifications_used >= available:
                return _fault_answer(QUOTA_429_VERIFICATIONS)
            self._verifications_used += 1
            self._verified[email] = self._verified.get(email, 0) + 1
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

    def _account(self) -> _Answer:
        free = self.free_plan_limit is not None
        today = self._today
        year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
        reset = dt.date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
        # Without a quota set, the plan's usual allowance is shown.
        searches = self.searches_available
        if searches is None:
            searches = 25 if free else 500
        verifications = self.verifications_available
        if verifications is None:
            verifications = 50 if free else 1000
        payload = {
            "data": {
                "first_name": "Dana",
                "last_name": "Sandbox",
                "email": "dana@novahunt-sandbox.example",
                "plan_name": "Free" if free else "Starter",
                "plan_level": 0 if free else 1,
                "reset_date": reset.isoformat(),
                "team_id": 4242,
                "requests": {
                    "searches": {"used": self.searches_used, "available": searches},
                    "verifications": {
                        "used": self.verifications_used,
                        "available": verifications,
                    },
                },
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


def demo_sandbox(port: int = 0, *, api_key: str = "demo") -> Sandbox:
    """A sandbox preloaded with the demo domains (not started).

    A small domain (8 addresses), a big one that takes four pages at page size 100 (340), a
    flaky one that answers 429 to about 15% of searches (60) and one that has no addresses.
    """
    sandbox = Sandbox(api_key, port=port)
    for domain, emails, options in DEMO_DOMAINS:
        sandbox.add_domain(domain, emails, **options)
    return sandbox


def _iter_demo_lines(sandbox: Sandbox) -> Iterator[str]:
    yield f"novahunt sandbox (Hunter API v2 look-alike) serving on {sandbox.url}"
    yield f"API key: {sandbox.api_key}   (send it as the X-API-KEY header)"
    for domain in sandbox.domains():
        yield f"  {domain:<28} {len(sandbox.emails_of(domain)):>4} emails"
    yield "Press Ctrl-C to stop."


def main(argv: list[str] | None = None) -> None:
    """`python -m novahunt.sandbox --port 8765 [--key demo]`: serve the demo until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m novahunt.sandbox",
        description="Serve a local, made-up Hunter.io API v2 for demos and tests.",
    )
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (0: any)")
    parser.add_argument("--key", default="demo", help="API key the sandbox accepts")
    args = parser.parse_args(argv)
    sandbox = demo_sandbox(args.port, api_key=args.key)
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
