"""Made-up verifications: the Email Verifier's verdicts, what Hunter bills of them, and
the `data` body it answers with (current shape, or the legacy one with `result` only).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from .people import SOURCE_PATHS

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
# The verdicts Hunter bills (HELP: "except for Webmails, Unknown and Disposable emails that are
# skipped"; PLUG: "charged only for valid, invalid, or accept_all results").
BILLED_STATUSES = frozenset({"valid", "invalid", "accept_all"})
# Anything else is not an email address at all: 400 invalid_email instead of a verdict.
ADDRESS_SHAPE = re.compile(r"[^@\s]+@[^@\s]+")
# What Hunter's `regexp` check accepts, roughly: one @, no spaces, a dot in the domain.
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


def normal_email(email: str) -> str:
    return email.strip().lower()


def random_verdict(email: str, seed: int) -> str:
    rng = random.Random(f"{seed}:{email}:verdict")
    return rng.choices(VERIFICATION_STATUSES, _VERDICT_WEIGHTS)[0]


def render_verification(
    email: str, status: str, seed: int, today: dt.date, *, legacy: bool
) -> dict[str, Any]:
    """The Email Verifier `data` object for `email` (normalised) with verdict `status`."""
    rng = random.Random(f"{seed}:{email}:verification")
    local, _, domain = email.rpartition("@")
    # A malformed address is invalid unless a test forced another verdict with set_verdict.
    regexp = status != "invalid" or EMAIL_SHAPE.fullmatch(email) is not None
    low, high = _SCORE_RANGE[status]
    score = rng.randint(low, high) if regexp else 0
    mx_records = regexp and not (status == "invalid" and rng.random() < 0.3)
    # An unknown verdict means the mail server could not be asked: it is either silent or
    # blocking us.
    smtp_server = mx_records and not (status == "unknown" and rng.random() < 0.5)
    sources: list[dict[str, Any]] = []
    if _RESULT_OF[status] != "undeliverable":
        for _ in range(rng.choice((0, 1, 1, 2))):
            path = rng.choice(SOURCE_PATHS)
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
