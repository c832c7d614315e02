"""Email addresses: normalising and a syntax check strict enough that nothing
hopeless is ever sent (and paid for) to a verifier."""

from __future__ import annotations

import re

_LOCAL = re.compile(r"^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalise(value: str) -> str:
    return value.strip().lower()


def syntax_problem(email: str) -> str | None:
    """Why `email` (normalised) cannot be a deliverable address, or None."""
    if not email:
        return "empty"
    if len(email) > 254:
        return "longer than 254 characters"
    if email.count("@") != 1:
        return "needs exactly one @"
    local, domain = email.split("@")
    if not local:
        return "nothing before the @"
    if len(local) > 64:
        return "the part before the @ is longer than 64 characters"
    if not _LOCAL.match(local):
        return "invalid characters or dots before the @"
    labels = domain.split(".")
    if len(labels) < 2:
        return "the domain has no dot"
    if not all(_LABEL.match(label) for label in labels):
        return "invalid domain after the @"
    if labels[-1].isdigit():
        return "the domain ends in a number"
    return None
