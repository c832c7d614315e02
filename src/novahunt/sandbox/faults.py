"""What a request can be made to answer: scripted faults and Hunter's error bodies.

A `Fault` is queued with `Sandbox.inject` and consumed by one matching request (the first
step of the request pipeline in the `novahunt.sandbox` docstring). The ready-made faults
below copy public Hunter bodies; `Answer` is what any request turns into before the server
writes it, and `error` builds Hunter's `{"errors": [{"id", "code", "details"}]}` body.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any


@dataclass(frozen=True)
class Fault:
    """One scripted answer, consumed by one matching request (see `Sandbox.inject`).

    A fault with no `error_id`, no `body` and status 200 answers normally after `delay`,
    exactly like `passthrough=True`. A non-200 fault without `error_id` gets an error body with
    an id derived from the status.

    Two shapes change how any answer (a normal one too) is sent: `gzip` replaces its body
    with these bytes sent as `Content-Encoding: gzip` (a gzip bomb: see `gzip_bomb`), and
    `trickle` sends it, status line and headers included, one byte every `trickle` seconds.
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
    gzip: bytes | None = None
    trickle: float = 0.0

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
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    drop: bool = False
    trickle: float = 0.0     # seconds between two bytes sent


def shaped(answer: Answer, fault: Fault | None) -> Answer:
    """`answer` as `fault` says to send it: gzip-bodied, trickled."""
    if fault is None:
        return answer
    if fault.gzip is not None:
        answer = replace(answer, body=fault.gzip,
                         headers=(*answer.headers, ("Content-Encoding", "gzip")))
    if fault.trickle > 0:
        answer = replace(answer, trickle=fault.trickle)
    return answer


def gzip_bomb(inflated: int, *, prefix: bytes = b'{"data": {"emails": []}, "meta": {}}'
              ) -> bytes:
    """A gzip stream of `inflated` bytes: a small JSON body padded with spaces (still
    valid JSON once read whole), about 1,000 times smaller than what it inflates to
    (800 MB in 800 KB)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    parts = [packer.compress(prefix)]
    block = b" " * (1 << 20)
    left = max(0, inflated - len(prefix))
    while left > 0:
        parts.append(packer.compress(block[:min(left, len(block))]))
        left -= len(block)
    parts.append(packer.flush())
    return b"".join(parts)


def json_answer(status: int, payload: Any, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Answer(status, body, headers=headers)


def error(status: int, error_id: str, details: str, retry_after: str | None = None) -> Answer:
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    payload = {"errors": [{"id": error_id, "code": status, "details": details}]}
    return json_answer(status, payload, headers)


def fault_answer(fault: Fault) -> Answer:
    headers = (("Retry-After", fault.retry_after),) if fault.retry_after is not None else ()
    if fault.body is not None:
        content_type = fault.content_type
        if "charset" not in content_type:
            content_type += "; charset=utf-8"
        return Answer(fault.status, fault.body.encode("utf-8"), content_type, headers)
    error_id = fault.error_id or _DEFAULT_ERROR_IDS.get(fault.status, "error")
    details = fault.details
    if not details:
        try:
            details = HTTPStatus(fault.status).phrase
        except ValueError:
            details = "Error"
    return error(fault.status, error_id, details, fault.retry_after)
