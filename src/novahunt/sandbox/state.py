"""What the sandbox holds and the books it keeps, as a test configures and reads them.

`State` is the base of `Sandbox` (server.py), under the endpoints (endpoints.py): the plan
and its quotas, the domains and their made-up people, forced verdicts, queued faults, the
rate-limit window, what has been billed, and every request seen. Tests configure it
(`add_domain`, `inject`, `set_verdict`) and read it back (`searches_used`, `count`,
`pages_served`...). Hunter's billing rules live here too, next to the counters they move.
One lock guards all of it: the server answers each request on its own thread.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import socket
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import ThreadingHTTPServer

from .faults import (
    QUOTA_402,
    QUOTA_429_BILLING,
    QUOTA_429_VERIFICATIONS,
    Answer,
    Fault,
    fault_answer,
)
from .people import Domain, make_contacts, organization_from
from .verdicts import (
    BILLED_STATUSES,
    EMAIL_SHAPE,
    VERIFICATION_STATUSES,
    normal_email,
    random_verdict,
)


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


class State:
    """The sandbox's configuration, holdings and books; `Sandbox` adds the endpoints and
    the server (see the `novahunt.sandbox` docstring)."""

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
        self._domains: dict[str, Domain] = {}
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
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

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
        one Hunter refuses to process: the Email Finder answers 400 `invalid_domain` (DOCS:
        "no MX record, or owner requested processing stop").
        """
        name = domain.strip().lower()
        if emails < 0:
            raise ValueError("emails must be >= 0")
        if not 0.0 <= flaky <= 1.0:
            raise ValueError("flaky must be a probability between 0 and 1")
        contacts = make_contacts(name, emails, pattern, self.seed)
        record = Domain(
            name=name,
            organization=organization if organization is not None else organization_from(name),
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
            self._verdicts[normal_email(email)] = status

    def verdict(self, email: str) -> str:
        """The status the Email Verifier gives `email` (without asking it, costing nothing)."""
        name = normal_email(email)
        with self._lock:
            forced = self._verdicts.get(name)
            dom = self._domains.get(name.rpartition("@")[2])
        if forced is not None:
            return forced
        if EMAIL_SHAPE.fullmatch(name) is None:
            return "invalid"
        if dom is not None:
            if dom.disposable:
                return "disposable"
            if dom.webmail:
                return "webmail"
            if dom.accept_all:
                return "accept_all"
        return random_verdict(name, self.seed)

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
            return self._verified.get(normal_email(email), 0)

    def billed_verifications(self, email: str) -> int:
        """Of `verified(email)`, how many were billed (valid, invalid, accept_all answers)."""
        with self._lock:
            return self._billed.get(normal_email(email), 0)

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

    # -- what each request consults first: the queued faults, the rate-limit window --------

    def _next_fault(self, endpoint: str, *targets: str | None) -> Fault | None:
        with self._lock:
            keys: list[tuple[str, str | None]] = [(endpoint, t) for t in targets if t]
            keys.append((endpoint, None))
            for key in keys:
                queue = self._faults.get(key)
                if queue:
                    return queue.popleft()
        return None

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

    # -- billing ---------------------------------------------------------------------------
    # What Hunter bills (HELP, PLUG): a Domain Search 1 search credit per started 10 addresses
    # returned, the Email Finder 1 per address found, the Email Verifier 1 verification per
    # valid / invalid / accept_all answer (unknown, webmail, disposable and 202/222 are free),
    # 0.5 credit on single-credit plans; Email Count and Account are free.

    def _spent_locked(self, kind: str) -> Answer | None:
        """Separate quotas: the billing 429 once `kind`'s quota is used up, before anything
        else is looked at (so even a request that would bill nothing is refused). Single-credit
        plans are checked per request, on what it would bill (`_charge_locked`)."""
        if self.single_credit:
            return None
        if kind == "search":
            available: float | None = self.searches_available
            if available is not None and self._searches_used >= available:
                return fault_answer(QUOTA_429_BILLING)
            return None
        available = self.verifications_available
        if available is not None and self._verifications_used >= available:
            return fault_answer(QUOTA_429_VERIFICATIONS)
        return None

    def _charge_locked(self, kind: str, cost: float) -> Answer | None:
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
                return fault_answer(QUOTA_402)
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
