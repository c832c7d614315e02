"""People's names as email address parts, and the patterns companies build them with.

Splitting is nameparser's (a kept parser, not our own rules): `Doe, John` is John Doe;
titles, suffixes, credentials and nicknames (`Dr.`, `Hon.`, `Jr.`, `PhD`, `CFP`) are no
part of a name; particles stay with the last name (`Juan de la Vega`, `van der Berg`).
A name as written then becomes an address part: `José Núñez` -> `jose`, `nunez`,
transliterated to ASCII (anyascii), lower-cased, everything but letters and digits removed.
German addresses spell umlauts out (`Müller` -> `mueller`), so pattern candidates try
that spelling too. Patterns use Hunter's placeholders: `{first}`, `{last}`, `{f}`, `{l}`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from anyascii import anyascii
from nameparser import parse as parse_name

from novahunt.errors import BadInput

# most to least common in B2B addresses
COMMON_PATTERNS = (
    "{first}.{last}", "{first}", "{f}{last}", "{first}{last}", "{f}.{last}", "{first}_{last}",
    "{first}.{l}", "{first}{l}", "{last}", "{last}.{first}", "{last}{f}", "{first}-{last}",
    "{l}{first}", "{last}{first}",
)


# How German writes a name without umlauts (DIN 5007-2); anyascii's `u` is what everyone
# else writes (Turkish `Gül`, Spanish `Argüelles`, Swedish `Björn`).
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue",
                         "ß": "ss", "ẞ": "SS"})
# where the German spelling is the likelier one, and so tried first
GERMAN_TLDS = frozenset({"de", "at", "ch", "li"})


@dataclass(frozen=True)
class Person:
    """A person's first and last name as written, without titles, suffixes, credentials
    or nicknames: `Dr. Juan de la Vega III` is `Juan`, `de la Vega`."""

    first: str
    last: str

    @property
    def parts(self) -> tuple[str, str]:
        """The names as address parts: `jose`, `delavega`."""
        return name_part(self.first), name_part(self.last)


# A field is read beside a stand-in for the other name, so nameparser sees it where it
# stands in a full name: alone, `St. John` would read as a title and a first name.
_OTHER_FIRST, _OTHER_LAST = "John", "Doe"


def _first_words(raw: str) -> str:
    """A first-name field without titles and nicknames: `Dr. Anna` -> `Anna`."""
    parsed = parse_name(f"{raw} {_OTHER_LAST}")
    kept = " ".join(x for x in (parsed.given, parsed.middle) if x)
    # a field that is nothing but a title word (`Prince`) was typed in a name box: it is
    # the name
    return kept if kept and parsed.family == _OTHER_LAST else raw.strip()


def _last_words(raw: str) -> str:
    """A last-name field without suffixes and credentials: `Smith Jr., PhD` -> `Smith`,
    `de la Vega` and `St. John` kept whole."""
    parsed = parse_name(f"{_OTHER_FIRST} {raw}")
    kept = " ".join(x for x in (parsed.middle, parsed.family) if x)
    return kept if kept and parsed.given == _OTHER_FIRST else raw.strip()


def _address_form(raw: str) -> str:
    return re.sub(r"[^a-z0-9]", "", anyascii(unicodedata.normalize("NFC", raw)).lower())


def name_part(raw: str) -> str:
    """One name as it appears in addresses: `Núñez` -> `nunez`, `O'Brien` -> `obrien`,
    `van der Berg` -> `vanderberg`. The name is taken as written: titles and suffixes
    are dropped by `parse`, which knows which field a word came from."""
    return _address_form(raw)


def german_part(raw: str) -> str:
    """`name_part` with umlauts spelt the German way: `Müller` -> `mueller`."""
    return _address_form(unicodedata.normalize("NFC", raw).translate(_GERMAN))


def split_full_name(raw: str) -> tuple[str, str]:
    """(first, last) of a full name as written: `Doe, John` -> `John`, `Doe`; middle
    names are no part of an address's usual patterns and are left out."""
    parsed = parse_name(raw)
    if not parsed.given or not parsed.family:
        raise BadInput(f"{raw!r}: a full name needs a first and a last name")
    return parsed.given, parsed.family


def parse(first: str | None, last: str | None, full: str | None = None) -> Person:
    """The person the user gave, from `--first/--last` or a full name; BadInput if
    unusable. `--name "Juan de la Vega"` and `--first Juan --last "de la Vega"` agree."""
    if full and not (first and last):
        first, last = split_full_name(full)
        who = Person(first, last)
    else:
        who = Person(_first_words(first) if first and first.strip() else "",
                     _last_words(last) if last and last.strip() else "")
    if not all(who.parts):
        shown = " ".join(x for x in (first, last, full) if x) or "(nothing)"
        raise BadInput(f"{shown!r}: need a first and a last name with letters in them")
    return who


def person(first: str | None, last: str | None, full: str | None = None) -> tuple[str, str]:
    """Clean first and last name parts from what the user gave; BadInput if unusable."""
    return parse(first, last, full).parts


def spellings(first: str, last: str, domain: str = "") -> list[tuple[str, str]]:
    """The (first, last) address parts to try, likeliest first: `Jürgen Müller` is
    `jurgen muller` and `juergen mueller`, the German one first on a German-speaking
    country's domain."""
    plain = (name_part(first), name_part(last))
    german = (german_part(first), german_part(last))
    if german == plain:
        return [plain]
    return [german, plain] if domain.rsplit(".", 1)[-1] in GERMAN_TLDS else [plain, german]


def apply(pattern: str, first: str, last: str) -> str | None:
    try:
        local = pattern.format(first=first, last=last, f=first[0], l=last[0])
    except (KeyError, IndexError, ValueError):
        return None
    return local if re.fullmatch(r"[a-z0-9]+(?:[._-][a-z0-9]+)*", local) else None


def candidates(first: str, last: str, domain: str, pattern: str | None = None) -> list[str]:
    """Addresses in order of likelihood: the domain's known pattern first, each pattern in
    every spelling of the name (`first`, `last` as written, or already address parts)."""
    order = ([pattern] if pattern else []) + [p for p in COMMON_PATTERNS if p != pattern]
    out: list[str] = []
    names = spellings(first, last, domain)
    for p in order:
        for f, l_ in names:
            local = apply(p, f, l_)
            if local and f"{local}@{domain}" not in out:
                out.append(f"{local}@{domain}")
    return out
