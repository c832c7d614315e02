"""Email addresses: one spelling per mailbox, and a local refusal of what must never be
sent (and paid for) to Hunter.

The syntax is `email-validator`'s (syntax only: no DNS is asked), with the options a
B2B list needs:

- internationalised domains are accepted and sent as A-labels (IDNA 2008, the form
  Hunter accepts and `normalise_domain` produces), so `jeff@臺網中心.tw` and
  `jeff@xn--fiqq24b10vi0d.tw` are one address, verified and paid for once;
- a display name (`Ann Lee <ann@acme.com>`, as mail clients and some CRMs export) is
  dropped and the address kept;
- quoted local parts, IP-literal domains and empty local parts are refused (as the
  library does by default): no company mailbox is written that way;
- RFC 5321's 64-character limit before the @ is enforced (`strict`).

`normalise` gives the spelling used as the key everywhere (the verification cache, a
job's items); `syntax_problem` says why a string is no address; `refusal` adds the
special-use names (RFC 6761, 6762, 7686 and `.arpa`), where no mail is ever delivered,
for the callers that would otherwise pay Hunter: verify, enrich, find. Extraction keeps
using `syntax_problem` alone, since a site under `.test` may publish addresses there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailSyntaxError, validate_email

__all__ = ["Refusal", "normalise", "refusal", "special_use_problem", "syntax_problem"]

# Why each special-use name receives no mail, for the message a user reads.
_WHY_SPECIAL = {
    "arpa": "the .arpa infrastructure domain (RFC 3172)",
    "invalid": "a name reserved to be invalid (RFC 6761)",
    "local": "a local-network mDNS name (RFC 6762)",
    "localhost": "the local machine (RFC 6761)",
    "onion": "a Tor onion service name (RFC 7686)",
    "test": "a name reserved for testing (RFC 6761)",
}


@dataclass(frozen=True)
class Refusal:
    """Why an address is decided locally instead of being sent to Hunter."""

    source: str  # what decided: "local_syntax" or "local_special_use"
    reason: str  # one line for the user, e.g. "bad syntax: ..." or "special-use domain: ..."


@dataclass(frozen=True)
class _Checked:
    email: str | None  # the spelling sent to Hunter, when the syntax is fine
    problem: str | None  # email-validator's reason when it is not
    special_use: bool = False  # fine but for a special-use domain


def _validate(text: str) -> str:
    info = validate_email(
        text,
        check_deliverability=False,  # syntax only: no DNS from a check
        allow_smtputf8=True,
        allow_quoted_local=False,
        allow_domain_literal=False,
        allow_display_name=True,
        allow_empty_local=False,
        strict=True,
        globally_deliverable=True,
        test_environment=False,
    )
    # ascii_local_part is None for an internationalised local part: it is sent as it is
    local = info.ascii_local_part or info.local_part
    return f"{local}@{info.ascii_domain}".lower()


def _library_message(example: str) -> str:
    try:
        _validate(example)
    except EmailSyntaxError as exc:
        return str(exc)
    raise AssertionError(f"email-validator accepted {example!r}")  # pragma: no cover


# email-validator checks the local part first and the domain's special-use names after its
# characters, lengths and labels, so an address refused with this message is otherwise
# sound; the message is taken from the library itself, so a reworded release still matches
_SPECIAL_USE_MESSAGE = _library_message("a@a.invalid")


# The everyday shape (ASCII letters, digits, `._+-`, LDH labels, a letters-only TLD), which
# email-validator always accepts unchanged: it costs ~50 µs an address in the library and
# ~1 µs here, and a 100,000-row file is normalised at `verify` time. Anything else goes to
# the library; tests/test_email_syntax_follows_email_validator.py checks both agree.
_EVERYDAY = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)


def _everyday(text: str) -> str | None:
    """`text` lower-cased when it has the everyday shape email-validator accepts, or None."""
    if not text.isascii() or len(text) > 254:
        return None
    email = text.lower()
    # "--" in a label is punycode or reserved (`ab--`): the library's rules decide those
    if _EVERYDAY.fullmatch(email) is None or "--" in email.rpartition("@")[2]:
        return None
    if len(email.partition("@")[0]) > 64:
        return None
    return email


@lru_cache(maxsize=8192)
def _check(text: str) -> _Checked:
    """The address's spelling and syntax problem; cached, since a verify job asks both."""
    email = _everyday(text)
    if email is not None:
        # special-use names are left to `refusal`, which looks at the domain itself
        return _Checked(email, None)
    try:
        return _Checked(_validate(text), None)
    except EmailSyntaxError as exc:
        problem = str(exc)
    if problem == _SPECIAL_USE_MESSAGE:
        return _Checked(None, None, special_use=True)
    return _Checked(None, problem)


def normalise(value: str) -> str:
    """The one spelling of an address: trimmed, lower-case, the domain as A-labels, a
    display name dropped. What is no address is only trimmed and lower-cased.

    >>> normalise(" Jeff <Jeff@臺網中心.TW> ")
    'jeff@xn--fiqq24b10vi0d.tw'
    """
    text = value.strip()
    checked = _check(text)
    return checked.email if checked.email is not None else text.lower()


def syntax_problem(email: str) -> str | None:
    """Why `email` cannot be an address (email-validator's words), or None.

    Special-use domains pass here: see `refusal`.
    """
    if not email:
        return "empty"
    return _check(email.strip()).problem


def special_use_problem(domain: str) -> str | None:
    """Why no mail is delivered at `domain` (ASCII, lower-case), or None.

    The names are email-validator's `SPECIAL_USE_DOMAIN_NAMES`: `.arpa`, `.invalid`,
    `.local`, `.localhost`, `.onion`, `.test` and anything under them.
    """
    name = domain.strip().rstrip(".").lower()
    for special in SPECIAL_USE_DOMAIN_NAMES:
        if name == special or name.endswith("." + special):
            why = _WHY_SPECIAL.get(special, "a special-use or reserved name")
            return f"{name} is {why}: no mail is delivered there"
    return None


def refusal(email: str) -> Refusal | None:
    """Why `email` (normalised) is not sent to Hunter, or None when it may be."""
    if not email.strip():
        return Refusal("local_syntax", "bad syntax: empty")
    checked = _check(email.strip())
    if checked.problem is not None:
        return Refusal("local_syntax", f"bad syntax: {checked.problem}")
    domain = email.strip().rpartition("@")[2].rstrip(">").strip()
    # the spelling sent is ASCII, so an internationalised special-use name is matched too
    if checked.email is not None:
        domain = checked.email.rpartition("@")[2]
    special = special_use_problem(domain)
    if checked.special_use or special is not None:
        why = special or f"{domain} is a special-use or reserved name: no mail is delivered there"
        return Refusal("local_special_use", f"special-use domain: {why}")
    return None
