"""What providers answer, as plain records: no HTTP here, so the ledger, the store and
the commands that only read state.db can use these types without importing httpx."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROVIDER = "hunter"
# Hunter bills a Domain Search by the emails it returns, in blocks (HELP: "52 emails -> 6
# credits")
EMAILS_PER_SEARCH_CREDIT = 10


def search_credits(emails: int) -> int:
    """The search credits a Domain Search answer of `emails` emails bills: one per started
    block of 10; an empty answer is free."""
    return -(-max(0, emails) // EMAILS_PER_SEARCH_CREDIT)


@dataclass(frozen=True)
class Contact:
    email: str
    first_name: str | None = None
    last_name: str | None = None
    position: str | None = None
    department: str | None = None
    seniority: str | None = None
    type: str | None = None
    confidence: int | None = None
    linkedin: str | None = None
    twitter: str | None = None
    phone_number: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    verification_status: str | None = None
    verification_date: str | None = None
    # the title as the source wrote it ("VP of Sales"); `position` is Hunter's cleaned one
    position_raw: str | None = None
    # the company the Email Finder named for the person (Domain Search has it per domain)
    company: str | None = None


@dataclass(frozen=True)
class DomainFacts:
    domain: str
    organization: str | None
    pattern: str | None
    accept_all: bool | None
    webmail: bool | None
    disposable: bool | None
    # the organisation's other domains, as Hunter links them; None when not said
    linked_domains: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DomainSearchPage:
    facts: DomainFacts
    contacts: list[Contact]
    total: int | None   # meta.results: how many emails Hunter has for the query (None:
                        # not a count)
    offset: int
    limit: int
    returned: int = 0   # the entries Hunter sent, readable or not
    # what could not be read and was skipped (bad entries, a bad meta.results)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallRecord:
    provider: str
    endpoint: str
    status: int            # 0 when no HTTP answer arrived
    duration_ms: float
    error_id: str | None
    detail: str
    credits: float = 0         # what Hunter bills for this answer (0.5: a verification on
                               # a single-credit plan)
    credit_kind: str | None = None   # "search" or "verification"


@dataclass(frozen=True)
class Account:
    """What `/v2/account` says. Hunter has two kinds of plan: older ones with separate
    search and verification quotas (`requests.searches`, `requests.verifications`), and
    current ones with one `requests.credits` bucket (floats: a verification costs 0.5)."""

    plan_name: str | None
    reset_date: str | None
    searches_used: int | None
    searches_available: int | None
    verifications_used: int | None
    verifications_available: int | None
    raw: dict[str, Any]
    plan_level: int | None = None
    # the single-credit bucket; None on plans with separate quotas
    credits_used: float | None = None
    credits_available: float | None = None
    credits_remaining: float | None = None

    @property
    def is_free(self) -> bool:
        """Hunter's free plan: a Domain Search reads at most 10 emails per domain."""
        return self.plan_level == 0 or (self.plan_name or "").strip().lower() == "free"

    @property
    def single_credit(self) -> bool:
        return self.credits_remaining is not None or self.credits_available is not None

    @property
    def searches_left(self) -> int | None:
        if self.searches_used is None or self.searches_available is None:
            return None
        return max(0, self.searches_available - self.searches_used)

    @property
    def verifications_left(self) -> int | None:
        if self.verifications_used is None or self.verifications_available is None:
            return None
        return max(0, self.verifications_available - self.verifications_used)


@dataclass(frozen=True)
class Verification:
    email: str
    status: str          # valid, invalid, accept_all, webmail, disposable, unknown
    result: str | None   # deliverable, undeliverable, risky
    score: int | None
    answer: dict[str, Any]


# the legacy answer has only `result`; map it to today's `status`

VERIFICATION_STATUSES = ("valid", "invalid", "accept_all", "webmail", "disposable", "unknown")


@dataclass(frozen=True)
class FinderResult:
    domain: str
    email: str | None      # None: Hunter found nobody (an answer, not an error)
    score: int | None
    position: str | None
    sources: list[dict[str, Any]]
    verification_status: str | None
    verification_date: str | None
    answer: dict[str, Any]
    # the rest of what Hunter says about the person found: paid for, so kept
    first_name: str | None = None
    last_name: str | None = None
    accept_all: bool | None = None
    linkedin: str | None = None        # Hunter's `linkedin_url`
    twitter: str | None = None
    phone_number: str | None = None
    company: str | None = None


@dataclass(frozen=True)
class EmailCount:
    """What `/v2/email-count` says (free): how many emails Hunter has for a domain, in all
    (for the `type` asked, if any) and broken down by type, department and seniority."""

    domain: str
    total: int
    personal: int
    generic: int
    department: dict[str, int] = field(default_factory=dict)
    seniority: dict[str, int] = field(default_factory=dict)
