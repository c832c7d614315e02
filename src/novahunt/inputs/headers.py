"""Which header cell of a CRM's or a spreadsheet's export means which lead column.

Every CRM names the same field its own way: HubSpot's `Company Domain Name` and `Website
URL`, Salesforce's `Account Website` (or `Account.Website`, `FirstName` from its API
names), Pipedrive's `Person - First name` and `Person - Email - Work`, a multi-object
HubSpot import's `Contact: First name`, Apollo's `Website`, Attio's `Email addresses`.
A header is read as an optional object prefix and a field (`canonical`): the field is
compared with the names below, spelled without case, punctuation or camelCase; the
prefix says whose field it is, so `Organization - Name` (a company) is never taken for
the person's name while `Organization - Website` is the lead's website. The README's
table of accepted header names is this module's `ALIASES`, kept equal by a test.
"""

from __future__ import annotations

import re

# whose field a prefixed header is: a person's, or their company's
PERSON_PREFIXES = ("contact", "person", "people", "lead", "prospect")
COMPANY_PREFIXES = ("company", "organization", "organisation", "org", "account")

# each lead column's accepted names, most specific first: when a file has several
# (Apollo's `Email` beside `Secondary Email`), the earliest name in this order wins
ALIASES: dict[str, tuple[str, ...]] = {
    "first": ("first name", "firstname", "first", "given name", "forename", "prénom",
              "vorname"),
    "last": ("last name", "lastname", "last", "surname", "family name", "nachname",
             "nom de famille"),
    "name": ("full name", "fullname", "name", "contact name", "person name", "contact"),
    "domain": ("company domain name", "company domain", "domain", "domain name",
               "company domains", "domains", "website", "website url", "company website",
               "company website url", "account website", "organization website",
               "web site", "web page", "webseite", "site web", "company url", "url",
               "homepage", "web"),
    "email": ("email", "e mail", "email address", "e mail address", "emailaddress", "mail",
              "work email", "email work", "business email", "primary email",
              "contact email", "contact emails", "email addresses", "emails", "email 1",
              "email1"),
}
# the only columns a company-prefixed header can be: `Organization - Name` is a company's
COMPANY_KEYS = frozenset({"domain"})
# a header with `email` in it that is about an address, not one: Apollo's `Email Status`
_NOT_AN_ADDRESS = re.compile(r"status|confidence|opt|bounce|source|verif|date|count|type|"
                             r"sent|open|click|domain|catch|display|label")
_PREFIX = re.compile(rf"^({'|'.join(PERSON_PREFIXES + COMPANY_PREFIXES)})\s*"
                     r"(?::|\s-\s|\.|>|/)\s*(\S.*)$")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PUNCTUATION = re.compile(r"[^\w@]+|_+")


def canonical(header: str) -> tuple[str | None, str]:
    """(whose, field) of a header cell: `Contact: First name` -> ("person", "first name"),
    `Account.Website` -> ("company", "website"), `LastName` -> (None, "last name")."""
    text = _CAMEL.sub(" ", header.strip().lstrip("\ufeff")).lower()
    whose: str | None = None
    if (match := _PREFIX.match(text)) is not None:
        whose = "person" if match.group(1) in PERSON_PREFIXES else "company"
        text = match.group(2)
    return whose, " ".join(_PUNCTUATION.sub(" ", text).split())


def find(header: list[str], key: str, *, loose: bool = False) -> int | None:
    """The index of the column of `header` holding `key` (first, last, name, domain,
    email), or None. `loose` (verify --file) also takes any header about an address
    (`Email (primary)`, `Personal Email`): enrich does not, as a row whose personal
    address counted as its email would never get its work address found."""
    fields = [canonical(cell) for cell in header]
    usable = [(i, field) for i, (whose, field) in enumerate(fields)
              if whose != "company" or key in COMPANY_KEYS]
    for alias in ALIASES[key]:
        for i, field in usable:
            if field == alias:
                return i
    if loose and key == "email":  # `Email (primary)`, `Person - Email - Other`
        for i, field in usable:
            mentioned = any(w.startswith("email") for w in field.split()) or "e mail" in field
            if mentioned and not _NOT_AN_ADDRESS.search(field):
                return i
    return None


def named(header: list[str], wanted: str) -> int | None:
    """The column the user named (`--column`, `--domain-column`): the same header, or
    one spelled the same way (`first_name` for `First Name`)."""
    lowered = [cell.strip().lstrip("\ufeff").lower() for cell in header]
    if wanted.strip().lower() in lowered:
        return lowered.index(wanted.strip().lower())
    target = canonical(wanted)
    spelled = [canonical(cell) for cell in header]
    return spelled.index(target) if target in spelled else None
