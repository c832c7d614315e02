"""Each endpoint's answer: Domain Search, Email Count, Email Finder, Email Verifier and
Account, with Hunter's validation, its per-item errors, then the bill (see the
`novahunt.sandbox` docstring for what each one does, and state.py for the billing rules).

`Endpoints` sits between `State` and `Sandbox`: the request pipeline in server.py has done
faults, authentication, the rate limit and the separate quotas before any of these runs.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import random
import re
from typing import Any, NamedTuple

from .faults import (
    CLAIMED_EMAIL_451,
    VERIFICATION_PENDING_202,
    Answer,
    error,
    fault_answer,
    json_answer,
)
from .people import DEPARTMENTS, SENIORITIES, TYPES, Contact, Domain, render_entry, tally
from .state import State
from .verdicts import ADDRESS_SHAPE, BILLED_STATUSES, normal_email, render_verification

MAX_LIMIT = 100
DEFAULT_LIMIT = 10
FREE_PLAN_RESULTS = 10  # how deep a free plan may read a domain's results
MIN_DURATION, MAX_DURATION = 3, 20  # the Email Finder's max_duration bounds, seconds (DOCS)
# A host name: dot-separated labels of letters, digits and inner hyphens.
_DOMAIN_SHAPE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_TYPE_DETAILS = "The parameter 'type' should be 'personal' or 'generic'."


class _Target(NamedTuple):
    """The domain a request names (by `domain`, or by `company`), and what the sandbox holds."""

    name: str | None  # None: a company no domain was added for
    dom: Domain | None


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


class Endpoints(State):
    """The answers of Hunter's endpoints, over the state they read and bill."""

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

    def _domain_search(self, params: dict[str, str]) -> Answer:
        """Domain Search (DOCS, MCP jbuilder fixture): `domain` or `company`, Hunter's filter
        errors, the free plan's depth rule, then one page billed per started 10 addresses."""
        target = self._target(params)
        if target is None:
            return error(400, "wrong_params", "You are missing the domain parameter")
        name, dom = target
        with self._lock:
            flaky_hit = dom is not None and dom.flaky > 0 and dom.flaky_rng.random() < dom.flaky
        if flaky_hit:
            return error(429, "too_many_requests", "Too many requests, try again later.", "1")

        limit = _int_param(params.get("limit", str(DEFAULT_LIMIT)))
        if limit is None or limit <= 0:
            return error(
                400, "pagination_error", "The parameter 'limit' should be a positive integer."
            )
        if limit > MAX_LIMIT:
            return error(
                400,
                "pagination_error",
                f"The parameter 'limit' should be less than or equal to {MAX_LIMIT}.",
            )
        offset = _int_param(params.get("offset", "0"))
        if offset is None or offset < 0:
            return error(
                400, "pagination_error", "The parameter 'offset' should be a positive integer."
            )

        type_ = params.get("type") or None
        if type_ is not None and type_ not in TYPES:
            return error(400, "invalid_type", _TYPE_DETAILS)
        seniority = _csv(params.get("seniority"))
        if bad := sorted(seniority - set(SENIORITIES)):
            return error(
                400,
                "invalid_seniority",
                f"Unknown seniority '{bad[0]}'. Accepted values: {', '.join(SENIORITIES)}.",
            )
        department = _csv(params.get("department"))
        if bad := sorted(department - set(DEPARTMENTS)):
            return error(
                400,
                "invalid_department",
                f"Unknown department '{bad[0]}'. Accepted values: {', '.join(DEPARTMENTS)}.",
            )

        # The free plan refuses any request reaching past the 10th address, even the first
        # `limit=100` (DOCS error table; ISSUE recon-ng-marketplace#159, ghost_scout#13).
        if self.free_plan and limit + offset > FREE_PLAN_RESULTS:
            return error(
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
        return json_answer(200, payload)

    def _matching(
        self,
        dom: Domain,
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

        def keep(c: Contact) -> bool:
            if type_ is not None and (c.first is None) != (type_ == "generic"):
                return False
            if seniority and c.seniority not in seniority:
                return False
            return not department or c.department in department

        indices = [i for i, c in enumerate(dom.contacts) if keep(c)]
        with self._lock:
            dom.filtered[key] = indices
        return indices

    def _entry(self, contact: Contact, index: int, dom: Domain) -> Any:
        return render_entry(contact, index, dom, self.seed, self._today,
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

    def _email_count(self, params: dict[str, str]) -> Answer:
        """Email Count: how many addresses Domain Search holds for the domain; free (DOCS)."""
        target = self._target(params)
        if target is None:
            return error(400, "wrong_params", "You are missing the domain parameter")
        type_ = params.get("type") or None
        if type_ is not None and type_ not in TYPES:
            return error(400, "invalid_type", _TYPE_DETAILS)
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
            data = tally(wanted)
            if dom is not None:
                with self._lock:
                    dom.counts[type_] = data
        params_echo = {
            "domain": params.get("domain") or None,
            "company": params.get("company") or None,
            "type": type_,
        }
        return json_answer(200, {"data": data, "meta": {"params": params_echo}})

    def _email_finder(self, params: dict[str, str]) -> Answer:
        """Email Finder (DOCS): errors per person; when found, the contact's own fields (the
        ones its Domain Search entry shows), else a guess from the domain's pattern, else the
        documented 200-with-nulls miss. Billed one search credit per address found."""
        target = self._target(params)
        if target is None:
            return error(400, "wrong_params", "You are missing the domain parameter")
        first = params.get("first_name", "").strip()
        last = params.get("last_name", "").strip()
        full = params.get("full_name", "").strip()
        if first and not _has_letter(first):
            return error(400, "invalid_first_name", "The first_name parameter is invalid.")
        if last and not _has_letter(last):
            return error(400, "invalid_last_name", "The last_name parameter is invalid.")
        if not (first and last):
            if not full:
                return error(400, "wrong_params",
                              "You are missing the first_name and last_name or full_name parameter")
            words = full.split()
            if len(words) < 2 or not (_has_letter(words[0]) and _has_letter(" ".join(words[1:]))):
                return error(400, "invalid_full_name",
                              "The full_name parameter should hold a first name and a last name.")
            first, last = words[0], " ".join(words[1:])
        raw_duration = params.get("max_duration", "").strip()
        if raw_duration:
            duration = _int_param(raw_duration)
            if duration is None or not MIN_DURATION <= duration <= MAX_DURATION:
                return error(400, "invalid_max_duration",
                              f"The parameter 'max_duration' should be between {MIN_DURATION} "
                              f"and {MAX_DURATION}.")
        name, dom = target
        if name is not None and (_DOMAIN_SHAPE.fullmatch(name) is None or (dom and dom.no_mx)):
            return error(400, "invalid_domain",
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
                claimed = any(normal_email(c) == email for c in self.claimed)
            if claimed:
                return fault_answer(CLAIMED_EMAIL_451)
            with self._lock:
                refused = self._charge_locked("search", 1)
            if refused is not None:
                return refused
        return json_answer(200, payload)

    def _find_person(
        self, dom: Domain, first: str, last: str
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

    def _email_verifier(self, params: dict[str, str]) -> Answer:
        raw_email = params.get("email", "").strip()
        if not raw_email:
            return error(400, "wrong_params", "You are missing the email parameter")
        email = raw_email.lower()
        if ADDRESS_SHAPE.fullmatch(email) is None:
            # per address (DOCS): one bad value in a list must not stop the rest
            return error(400, "invalid_email", "The email parameter is not a valid email address.")
        with self._lock:
            claimed = any(normal_email(c) == email for c in self.claimed)
        if claimed:
            return fault_answer(CLAIMED_EMAIL_451)
        with self._lock:
            for key, left in self.pending.items():
                if left > 0 and normal_email(key) == email:
                    self.pending[key] = left - 1
                    return fault_answer(VERIFICATION_PENDING_202)
        status = self.verdict(email)
        data = render_verification(email, status, self.seed, self._today,
                                    legacy=self.legacy_verifier)
        cost = self._verification_cost(status)
        with self._lock:
            refused = self._charge_locked("verification", cost)
            if refused is not None:
                return refused
            self._verified[email] = self._verified.get(email, 0) + 1
            if cost:
                self._billed[email] = self._billed.get(email, 0) + 1
        return json_answer(200, {"data": data, "meta": {"params": {"email": raw_email}}})

    def _account(self) -> Answer:
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
        return json_answer(200, payload)
