"""People's names as email address parts, and the patterns companies build them with.

`José Núñez` -> `jose`, `nunez`: transliterated to ASCII (anyascii), lower-cased,
titles and suffixes dropped, everything but letters and digits removed.
Patterns use Hunter's placeholders: `{first}`, `{last}`, `{f}`, `{l}`.
"""

from __future__ import annotations

import re

from anyascii import anyascii

from novahunt.errors import BadInput

TITLES = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "dame", "lady",
    "lord", "rev", "jr", "sr", "ii", "iii", "iv", "phd", "md", "mba", "esq", "herr", "frau",
    "mme", "mlle", "m", "sra", "dra",
})

# most to least common in B2B addresses
COMMON_PATTERNS = (
    "{first}.{last}", "{first}", "{f}{last}", "{first}{last}", "{f}.{last}", "{first}_{last}",
    "{first}.{l}", "{first}{l}", "{last}", "{last}.{first}", "{last}{f}", "{first}-{last}",
    "{l}{first}", "{last}{first}",
)


def _words(raw: str) -> list[str]:
    ascii_text = anyascii(raw).lower()
    words = re.split(r"[\s,]+", ascii_text.strip())
    return [w for w in words if w and w.strip(".") not in TITLES]


def name_part(raw: str) -> str:
    """One name as it appears in addresses: `Núñez` -> `nunez`, `O'Brien` -> `obrien`,
    `van der Berg` -> `vanderberg`."""
    return "".join(re.sub(r"[^a-z0-9]", "", w) for w in _words(raw))


def split_full_name(raw: str) -> tuple[str, str]:
    words = _words(raw)
    if len(words) < 2:
        raise BadInput(f"{raw!r}: a full name needs a first and a last name")
    return words[0], words[-1]


def person(first: str | None, last: str | None, full: str | None = None) -> tuple[str, str]:
    """Clean first and last name parts from what the user gave; BadInput if unusable."""
    if full and not (first and last):
        first, last = split_full_name(full)
    f, l_ = name_part(first or ""), name_part(last or "")
    if not f or not l_:
        shown = " ".join(x for x in (first, last, full) if x) or "(nothing)"
        raise BadInput(f"{shown!r}: need a first and a last name with letters in them")
    return f, l_


def apply(pattern: str, first: str, last: str) -> str | None:
    try:
        local = pattern.format(first=first, last=last, f=first[0], l=last[0])
    except (KeyError, IndexError, ValueError):
        return None
    return local if re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", local) else None


def candidates(first: str, last: str, domain: str, pattern: str | None = None) -> list[str]:
    """Addresses in order of likelihood: the domain's known pattern first."""
    order = ([pattern] if pattern else []) + [p for p in COMMON_PATTERNS if p != pattern]
    out: list[str] = []
    for p in order:
        local = apply(p, first, last)
        if local and f"{local}@{domain}" not in out:
            out.append(f"{local}@{domain}")
    return out
