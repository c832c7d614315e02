"""Domain Search's filters as Hunter lists them, checked before anything is queued.

Hunter answers a bad value with `400 invalid_type`, `invalid_seniority` or
`invalid_department` (HUNTER-API.md, DOCS). Found by a worker, that 400 fails a job
that was queued, perhaps with a thousand others; found here, it is one line naming the
value while nothing is queued yet. Pure functions: no HTTP, no state.
"""

from __future__ import annotations

from novahunt.errors import BadInput

__all__ = ["DEPARTMENTS", "SENIORITIES", "TYPES", "check_filters", "check_list", "check_type"]

TYPES = ("personal", "generic")
SENIORITIES = ("junior", "senior", "executive")
DEPARTMENTS = ("executive", "it", "finance", "management", "sales", "legal", "support", "hr",
               "marketing", "communication", "education", "design", "health", "operations")


def check_type(value: str | None) -> str | None:
    """`--type`: one of TYPES, in lower case; None stays None."""
    if value is None:
        return None
    normal = value.strip().lower()
    if normal not in TYPES:
        raise BadInput(f"--type {value!r} is not one of Hunter's types: {', '.join(TYPES)}")
    return normal


def check_list(flag: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """A comma-separated filter: each value in `allowed`, lower case, each once, in the
    order given ("Sales, IT" -> "sales,it"). None or nothing but commas -> None."""
    if value is None:
        return None
    names = list(dict.fromkeys(p.strip().lower() for p in value.split(",") if p.strip()))
    for name in names:
        if name not in allowed:
            raise BadInput(f"{flag} {name!r} is not one of Hunter's values: "
                           f"{', '.join(allowed)}")
    return ",".join(names) or None


def check_filters(type: str | None, seniority: str | None,
                  department: str | None) -> tuple[str | None, str | None, str | None]:
    """The three Domain Search filters, normalised, or BadInput naming the first bad one."""
    return (check_type(type), check_list("--seniority", seniority, SENIORITIES),
            check_list("--department", department, DEPARTMENTS))
