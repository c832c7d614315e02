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
   its `gzip` and `trickle` shapes apply to whatever the request is answered (a gzip bomb
   in place of a billed page, an answer sent one byte a second);
2. authentication: the key as the `X-API-KEY` header, `Authorization: Bearer KEY` or
   `?api_key=` (that order when several are sent) -> else 401 `authentication_failed`.
   Email Count works with or without a key (DOCS), so its key is not checked;
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
  / disposable / webmail, from `seed`; accept_all, webmail and disposable domains decide
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

Layout
------
One module per concern, each importing only the ones listed before it (and the standard
library):

- faults.py: `Fault`, the ready-made faults, and Hunter's error bodies (`Answer`, `error`);
- people.py: made-up contacts, their Domain Search entries and Email Count's tallies;
- verdicts.py: the Email Verifier's verdicts, what Hunter bills of them, its `data` body;
- state.py: `State`, what the sandbox holds and bills, configured and read back by tests;
- endpoints.py: `Endpoints(State)`, each endpoint's validation, answer and bill;
- server.py: `Sandbox(Endpoints)`, its lifecycle and request pipeline, and the HTTP plumbing;
- demo.py: `demo_sandbox` and `main`, which `python -m novahunt.sandbox` (__main__.py) runs.
"""

from __future__ import annotations

from .demo import demo_sandbox, main
from .faults import (
    BROKEN_JSON,
    CLAIMED_EMAIL_451,
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
    Fault,
    gzip_bomb,
)
from .people import DEPARTMENTS, SENIORITIES, TYPES
from .server import Sandbox
from .state import RequestRecord
from .verdicts import BILLED_STATUSES, VERIFICATION_STATUSES

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
    "gzip_bomb",
    "main",
]
