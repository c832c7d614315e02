"""Reading what Hunter answers: a body decoded safely, fields read without ever raising.

A 200 answer from a paid endpoint has been billed. If reading it raised, the job would
retry and buy the same page again (15 times in issue 17's test), so nothing here raises
on a value of the wrong type: a field that is not what Hunter documents reads as None,
an entry that is not an email object is skipped and said in a note, and only a body
that is not JSON at all fails (`decode` raises ValueError).

`decode` also makes the body safe to keep: NaN and infinities become null, integers too
long for a database column become null, nesting deeper than MAX_DEPTH becomes null (the
C decoder would raise RecursionError on 200,000 nested arrays), NUL characters and lone
surrogates (which PostgreSQL or UTF-8 refuse to store) are dropped, and the API key is
scrubbed from every string, in the raw bytes and again after JSON escapes are decoded,
so a server that echoes the key cannot get it onto the screen, into state.db or the log.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from novahunt.providers.records import (
    VERIFICATION_STATUSES,
    Account,
    Contact,
    DomainFacts,
    DomainSearchPage,
    EmailCount,
    FinderResult,
    Verification,
    search_credits,
)

REDACTED = "[redacted]"
# Hunter's deepest value is data.emails[i].sources[j].<field>: depth 5
MAX_DEPTH = 32
# a count or a score beyond this is not one (and would overflow a database integer)
MAX_COUNT = 2**31 - 1
# Hunter's error details are a sentence; a longer one is cut before it is shown or stored
MAX_DETAILS = 500
_NOTED = 5   # bad entries described one by one in a page's note; the rest are counted
# a JSON string (escapes included) or a bracket, to find what is nested too deep. A string
# left open runs to the end, so no quote is scanned from twice: linear on any body
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.|\\\Z)*+(?:"|\Z)|[\[\]{}]', re.DOTALL)


def scrub(text: str, key: str) -> str:
    """`text` without the API key, whatever its case."""
    if not key or key.lower() not in text.lower():
        return text
    return re.sub(re.escape(key), REDACTED, text, flags=re.IGNORECASE)


def _scrub_bytes(body: bytes, key: str) -> bytes:
    if not key:
        return body
    raw = key.encode("utf-8", "replace")
    if raw.lower() not in body.lower():
        return body
    return re.sub(re.escape(raw), REDACTED.encode(), body, flags=re.IGNORECASE)


def _flatten(body: bytes) -> bytes:
    """`body` with every array or object nested deeper than MAX_DEPTH replaced by null."""
    out: list[bytes] = []
    depth = last = 0
    cut: int | None = None
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token[:1] == b'"':
            continue
        if token in (b"[", b"{"):
            depth += 1
            if depth == MAX_DEPTH + 1 and cut is None:
                cut = match.start()
        else:
            depth -= 1
            if depth == MAX_DEPTH and cut is not None:
                out += [body[last:cut], b"null"]
                last, cut = match.end(), None
    if cut is not None:  # never closed: what is left cannot be read anyway
        out += [body[last:cut], b"null"]
        last = len(body)
    out.append(body[last:])
    return b"".join(out)


def _int(text: str) -> int | None:
    # Python refuses to read integers of more than 4,300 digits (ValueError), and a
    # database column holds 19: a longer one is no count of Hunter's
    return int(text) if len(text.lstrip("-")) <= 18 else None


# what a database refuses to store: NUL (PostgreSQL's text) and a lone surrogate, which
# JSON's \ud800 escapes can make and UTF-8 cannot encode (either driver)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: str) -> str:
    if _UNSTORABLE.search(text) is None:
        return text
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", text)


def _clean(value: Any, key: str, depth: int = 0) -> Any:
    if isinstance(value, str):
        return scrub(_storable(value), key)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return None
    if isinstance(value, dict):
        return {scrub(_storable(k), key): _clean(v, key, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v, key, depth + 1) for v in value]
    return value


def decode(body: bytes, key: str) -> Any:
    """The JSON value of `body`, safe to read and to keep (see the module docstring).
    Raises ValueError when `body` is not JSON."""
    body = _scrub_bytes(body, key)

    def loads(data: bytes) -> Any:
        # NaN and Infinity are not JSON, but Python reads them: as null here
        return json.loads(data, parse_int=_int, parse_constant=lambda _: None)

    try:
        value = loads(body)
    except RecursionError:
        value = loads(_flatten(body))
    return _clean(value, key)


# -- fields: read as documented, else None -----------------------------------------------


def text(value: Any) -> str | None:
    """A string field (a number is read as its digits); anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def count(value: Any) -> int | None:
    """A whole, non-negative number no larger than MAX_COUNT (a numeric string too);
    NaN, infinities, "1e999", booleans and anything else are None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if 0 <= value <= MAX_COUNT else None


def number(value: Any) -> float | None:
    """A finite number (a numeric string too), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, int):
        return float(value) if abs(value) <= 2**53 else None
    return value if isinstance(value, float) and math.isfinite(value) else None


def flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The objects of a list field (`sources`): anything else in it is dropped."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def details(value: Any) -> str:
    """An error's details as a short line, storable."""
    said = _storable(text(value) or "")
    return said if len(said) <= MAX_DETAILS else said[:MAX_DETAILS] + "..."


def normalise_email(value: str) -> str:
    return value.strip().lower()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


# -- Domain Search -----------------------------------------------------------------------


def email_entries(data: dict[str, Any]) -> list[Any]:
    """`data.emails` as the entries Hunter sent: a list as it is, an object's values
    (a shape Hunter does not document, read rather than lost), else none."""
    emails = data.get("emails")
    if isinstance(emails, list):
        return emails
    if isinstance(emails, dict):
        return list(emails.values())
    return []


def address(value: Any) -> str | None:
    """An address Hunter sent, normalised, or None when it cannot be one."""
    email = normalise_email(text(value) or "")
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        return None
    return email


def parse_contact(entry: Any) -> Contact | str:
    """A contact, or why the entry is not one."""
    if not isinstance(entry, dict):
        return f"{_kind(entry)}, not an email object"
    email = address(entry.get("value"))
    if email is None:
        return "no address in `value`"
    verification = obj(entry.get("verification"))
    confidence = count(entry.get("confidence"))
    return Contact(
        email=email,
        first_name=text(entry.get("first_name")),
        last_name=text(entry.get("last_name")),
        position=text(entry.get("position")),
        position_raw=text(entry.get("position_raw")),
        department=text(entry.get("department")),
        seniority=text(entry.get("seniority")),
        type=text(entry.get("type")),
        confidence=confidence if confidence is not None and confidence <= 100 else None,
        linkedin=text(entry.get("linkedin")),
        twitter=text(entry.get("twitter")),
        phone_number=text(entry.get("phone_number")),
        sources=objects(entry.get("sources")),
        verification_status=text(verification.get("status")),
        verification_date=text(verification.get("date")),
    )


def _domain_list(value: Any) -> tuple[str, ...] | None:
    """`linked_domains`: a list of names (DOCS, MCP fixture); an entry that is an object
    is read by its `domain` key, so a richer shape later still yields the names."""
    if not isinstance(value, list):
        return None
    names = (text(v.get("domain") if isinstance(v, dict) else v) for v in value)
    return tuple(dict.fromkeys(n.lower() for n in names if n))


def _skipped_note(bad: list[tuple[int, str]], sent: int) -> str:
    said = "; ".join(f"#{n + 1}: {why}" for n, why in bad[:_NOTED])
    more = f"; {len(bad) - _NOTED} more" if len(bad) > _NOTED else ""
    return f"skipped {len(bad)} of the {sent} entries Hunter sent ({said}{more})"


def parse_domain_search(body: dict[str, Any], domain: str, *, offset: int,
                        limit: int) -> DomainSearchPage:
    data = obj(body.get("data"))
    meta = obj(body.get("meta"))
    facts = DomainFacts(
        domain=domain,
        organization=text(data.get("organization")),
        pattern=text(data.get("pattern")),
        accept_all=flag(data.get("accept_all")),
        webmail=flag(data.get("webmail")),
        disposable=flag(data.get("disposable")),
        linked_domains=_domain_list(data.get("linked_domains")),
    )
    entries = email_entries(data)
    contacts: list[Contact] = []
    bad: list[tuple[int, str]] = []
    for n, entry in enumerate(entries):
        parsed = parse_contact(entry)
        if isinstance(parsed, Contact):
            contacts.append(parsed)
        else:
            bad.append((n, parsed))
    notes: list[str] = []
    if not isinstance(data.get("emails"), list | None):
        notes.append(f"`emails` was {_kind(data.get('emails'))}, not a list")
    if bad:
        notes.append(_skipped_note(bad, len(entries)))
    total = count(meta.get("results"))
    if total is None and "results" in meta:
        shown = repr(meta["results"])
        notes.append(f"meta.results {shown[:40]} is not a count")
    return DomainSearchPage(facts, contacts, total, offset, limit, returned=len(entries),
                            notes=tuple(notes))


def bill_domain_search(body: dict[str, Any], limit: int | None = None) -> tuple[str, float]:
    """A search credit per started block of 10 emails returned; an empty answer is free.
    Hunter counts what it sent, readable or not, and never more than the `limit` asked."""
    sent = len(email_entries(obj(body.get("data"))))
    return "search", search_credits(sent if limit is None else min(sent, limit))


# -- Email Verifier ----------------------------------------------------------------------

# the legacy answer has only `result`; map it to today's `status`
_RESULT_TO_STATUS = {"deliverable": "valid", "undeliverable": "invalid", "risky": "unknown"}


def parse_verification(email: str, data: dict[str, Any]) -> Verification:
    status = text(data.get("status"))
    result = text(data.get("result"))
    if status not in VERIFICATION_STATUSES:
        if data.get("accept_all") is True and result == "risky":
            status = "accept_all"
        else:
            status = _RESULT_TO_STATUS.get(result or "", "unknown")
    score = count(data.get("score"))
    return Verification(email, status, result,
                        score if score is not None and score <= 100 else None, data)


# -- Email Finder ------------------------------------------------------------------------


def parse_finder(data: dict[str, Any], domain: str) -> FinderResult:
    score = count(data.get("score"))
    verification = obj(data.get("verification"))
    return FinderResult(
        domain=domain, email=address(data.get("email")),
        score=score if score is not None and score <= 100 else None,
        position=text(data.get("position")), sources=objects(data.get("sources")),
        verification_status=text(verification.get("status")),
        verification_date=text(verification.get("date")), answer=data,
        first_name=text(data.get("first_name")), last_name=text(data.get("last_name")),
        accept_all=flag(data.get("accept_all")),
        linkedin=text(data.get("linkedin_url")), twitter=text(data.get("twitter")),
        phone_number=text(data.get("phone_number")), company=text(data.get("company")))


def bill_finder(body: dict[str, Any]) -> tuple[str, float]:
    """A search credit when an address is found; a miss is free."""
    return "search", 1 if text(obj(body.get("data")).get("email")) else 0


# -- Email Count and Account (free) ------------------------------------------------------


def parse_email_count(data: dict[str, Any], domain: str) -> EmailCount:
    """Raises ValueError when `total` is not a count: the count decides whether a
    search is paid for, so it is asked again (it is free) rather than guessed."""
    total = count(data.get("total"))
    if total is None:
        raise ValueError(f"total {repr(data.get('total'))[:40]} is not a count")

    def breakdown(value: Any) -> dict[str, int]:
        return {str(k): n for k, v in obj(value).items() if (n := count(v)) is not None}

    return EmailCount(domain=domain, total=total,
                      personal=count(data.get("personal_emails")) or 0,
                      generic=count(data.get("generic_emails")) or 0,
                      department=breakdown(data.get("department")),
                      seniority=breakdown(data.get("seniority")))


def parse_account(data: dict[str, Any]) -> Account:
    """`/v2/account`'s data, of either kind of plan: separate quotas
    (`requests.searches`/`verifications {used, available}`, or the older `calls` block
    alone), or one credits bucket (`requests.credits {used, available, remaining}`, floats).
    Of the bucket, `remaining` is what is left: Hunter's own tools read it and never
    compute available - used (MCP, PLUG)."""

    def whole(value: Any) -> int | None:
        n = number(value)
        return None if n is None else int(n)

    requests = obj(data.get("requests"))
    # `calls` is the deprecated flat count: older answers carry only it (DOCS)
    searches = obj(requests.get("searches")) or obj(data.get("calls"))
    verifications = obj(requests.get("verifications"))
    credits = obj(requests.get("credits"))
    return Account(
        plan_name=text(data.get("plan_name")), reset_date=text(data.get("reset_date")),
        searches_used=whole(searches.get("used")),
        searches_available=whole(searches.get("available")),
        verifications_used=whole(verifications.get("used")),
        verifications_available=whole(verifications.get("available")), raw=data,
        plan_level=whole(data.get("plan_level")),
        credits_used=number(credits.get("used")),
        credits_available=number(credits.get("available")),
        credits_remaining=number(credits.get("remaining")))


def first_error(body: Any) -> tuple[str | None, str]:
    """Hunter's `errors[0]` id and details, read safely."""
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            error_id = text(first.get("id"))
            return (None if error_id is None else _storable(error_id[:64]),
                    details(first.get("details")))
    return None, ""
