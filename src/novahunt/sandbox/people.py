"""Made-up people: the contacts `Sandbox.add_domain` holds, and their Domain Search entries.

Contacts are generated once per domain from a `random.Random` seeded with the sandbox's
`seed` and the domain, keeping only what paging and filtering need (`Contact`); the rest
of an entry (confidence, sources, position, links...) is rendered when served, from a
per-entry RNG (`render_entry`), so a page costs O(page size) even for 50,000 addresses.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple


def _words(text: str) -> tuple[str, ...]:
    # Tables are kept as whitespace-separated text so they stay compact and easy to extend.
    return tuple(text.split())


_FIRST_NAMES = _words(
    """
    olivia lucas emma noah amelia liam sofia mateo chloe ethan isla leo maya oscar nora hugo ava
    felix ines theo clara adam lena jonas mila elias zoe ruben hanna victor alice samuel julia
    arthur lucia marco elena david sara tomas nina omar layla kenji aiko ravi priya diego carmen
    pavel irina kofi ama grace finn ella max ida bruno vera anton iris milo rosa yusuf selin
    andre paula jakob freya
    """
)
_LAST_NAMES = _words(
    """
    martin bernard dubois novak keller moreau silva rossi weber jansen larsen fischer costa
    romano meyer nielsen garcia lopez kowalski horvat petrov schmidt vogel laurent ricci ferreira
    brandt lindqvist hansen dvorak marino adler baker carter ellis fleming grant hughes irving
    jordan kent lowell mercer nolan oakley porter quinn reyes sato tanaka ueda varga walsh young
    zeller abara bose chen okafor mensah haddad nakamura iyer kapoor delgado fontaine gallo holm
    ivanova jovanovic kaur lindgren
    """
)
# Role addresses Hunter reports as type "generic", as local_part:department ("-": none).
_GENERIC_TEXT = """
    info:- contact:- hello:- team:- sales:sales partners:sales press:communication
    media:communication support:support jobs:hr careers:hr hr:hr marketing:marketing
    billing:finance accounts:finance legal:legal privacy:legal security:it it:it
    office:operations design:design training:education wellbeing:health admin:management
    ceo:executive
"""
_GENERIC = tuple(
    (local, None if department == "-" else department)
    for local, _, department in (entry.partition(":") for entry in _words(_GENERIC_TEXT))
)
SENIORITIES = ("junior", "senior", "executive")
# Hunter's 14 departments, each with the weight it gets among made-up people and the "area"
# used to make up job titles.
_DEPARTMENT_TABLE = (
    ("executive", 2, "Strategy"),
    ("it", 9, "Engineering"),
    ("finance", 4, "Finance"),
    ("management", 4, "Operations Management"),
    ("sales", 9, "Sales"),
    ("legal", 2, "Legal"),
    ("support", 5, "Customer Support"),
    ("hr", 3, "People"),
    ("marketing", 6, "Marketing"),
    ("communication", 3, "Communications"),
    ("education", 1, "Training"),
    ("design", 3, "Design"),
    ("health", 1, "Occupational Health"),
    ("operations", 5, "Operations"),
)
DEPARTMENTS = tuple(name for name, _, _ in _DEPARTMENT_TABLE)
_DEPARTMENT_WEIGHTS = tuple(weight for _, weight, _ in _DEPARTMENT_TABLE)
_AREA = {name: area for name, _, area in _DEPARTMENT_TABLE}
_SENIORITY_WEIGHTS = (5, 4, 1)
_TITLES = {
    "junior": ("{area} Associate", "Junior {area} Specialist", "{area} Coordinator"),
    "senior": ("Senior {area} Manager", "{area} Manager", "Lead {area} Specialist"),
    "executive": ("Head of {area}", "VP {area}", "Director of {area}"),
}
_EXECUTIVE_TITLES = ("CEO", "COO", "Co-founder", "Founder & CEO", "Managing Director")
SOURCE_PATHS = ("/about", "/team", "/about/team", "/contact", "/press", "/careers", "/blog")


TYPES = ("personal", "generic")


class Contact(NamedTuple):
    value: str
    first: str | None  # None marks a generic (role) address
    last: str | None
    seniority: str | None
    department: str | None
    on_pattern: bool


@dataclass
class Domain:
    name: str
    organization: str | None
    pattern: str | None
    accept_all: bool
    webmail: bool
    disposable: bool
    flaky: float
    flaky_rng: random.Random
    contacts: list[Contact]
    linked_domains: tuple[str, ...] = ()
    # no MX record (or the owner asked Hunter to stop): the Finder answers 400 invalid_domain
    no_mx: bool = False
    filtered: dict[tuple[str | None, frozenset[str], frozenset[str]], list[int]] = field(
        default_factory=dict
    )
    # Email Count answers per `type` filter, computed once (they only change with add_domain)
    counts: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    # (first, last) lower-cased -> index of the first contact with that name, for the Finder
    by_name: dict[tuple[str, str], int] | None = None


def tally(contacts: Sequence[Contact]) -> dict[str, Any]:
    """Email Count's `data` for these contacts (DOCS: 14 departments, 3 seniorities)."""
    department = dict.fromkeys(DEPARTMENTS, 0)
    seniority = dict.fromkeys(SENIORITIES, 0)
    personal = 0
    for contact in contacts:
        personal += contact.first is not None
        if contact.department is not None:
            department[contact.department] += 1
        if contact.seniority is not None:
            seniority[contact.seniority] += 1
    return {
        "total": len(contacts),
        "personal_emails": personal,
        "generic_emails": len(contacts) - personal,
        "department": department,
        "seniority": seniority,
    }


def organization_from(domain: str) -> str:
    label = domain.split(".")[0]
    return " ".join(part.capitalize() for part in label.replace("_", "-").split("-") if part)


def make_contacts(domain: str, count: int, pattern: str, seed: int) -> list[Contact]:
    rng = random.Random(f"{seed}:{domain}:contacts")
    generic_pool = list(_GENERIC)
    rng.shuffle(generic_pool)
    seen: set[str] = set()
    # Bases carry no digits, so base + counter can never collide with another base.
    suffix: dict[str, int] = {}
    contacts: list[Contact] = []
    for _ in range(count):
        if generic_pool and rng.random() < 0.15:
            local, department = generic_pool.pop()
            # A short pattern such as {f}{l} can already have produced "it" or "hr".
            if local not in seen:
                seen.add(local)
                contacts.append(Contact(f"{local}@{domain}", None, None, None, department, True))
                continue
        first = rng.choice(_FIRST_NAMES)
        last = rng.choice(_LAST_NAMES)
        seniority = rng.choices(SENIORITIES, _SENIORITY_WEIGHTS)[0]
        department = rng.choices(DEPARTMENTS, _DEPARTMENT_WEIGHTS)[0]
        base = pattern.format(first=first, last=last, f=first[0], l=last[0]).lower()
        local = base
        if local in seen or local in suffix:
            n = suffix.get(base, 1) + 1
            suffix[base] = n
            local = f"{base}{n}"
        else:
            suffix[base] = 1
        seen.add(local)
        contacts.append(
            Contact(f"{local}@{domain}", first, last, seniority, department, local == base)
        )
    return contacts


def render_entry(
    contact: Contact,
    index: int,
    dom: Domain,
    seed: int,
    today: dt.date,
    verification: dict[str, str | None],
) -> Any:
    """The full jbuilder-shaped entry; extra fields come from a per-entry RNG (deterministic).

    `verification` is Hunter's own fresh verdict on the address (`Sandbox._fresh_verification`).
    """
    rng = random.Random(f"{seed}:{dom.name}:{index}")

    def day(lo: int, hi: int) -> str:
        return (today - dt.timedelta(days=rng.randint(lo, hi))).isoformat()

    first, last = contact.first, contact.last
    personal = first is not None and last is not None
    slug = f"{first}-{last}" if personal else ""
    sources: list[dict[str, Any]] = []
    for n in range(rng.choice((1, 1, 2))):
        if n == 1 and personal:
            src_domain, uri = "linkedin.com", f"https://www.linkedin.com/in/{slug}"
        else:
            path = rng.choice(SOURCE_PATHS)
            if path == "/blog":
                path = f"/blog/{slug or 'news'}-{rng.randint(1, 300)}"
            src_domain, uri = dom.name, f"http://{dom.name}{path}"
        sources.append(
            {
                "domain": src_domain,
                "uri": uri,
                "extracted_on": day(60, 700),
                "last_seen_on": day(0, 59),
                "still_on_page": rng.random() < 0.85,
            }
        )
    position: str | None = None
    position_raw: str | None = None
    linkedin: str | None = None
    twitter: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    if first is not None and last is not None:
        confidence = rng.randint(70, 99) if contact.on_pattern else rng.randint(45, 80)
        if contact.department == "executive" and contact.seniority == "executive":
            position = rng.choice(_EXECUTIVE_TITLES)
        else:
            area = _AREA[contact.department or "operations"]
            position = rng.choice(_TITLES[contact.seniority or "junior"]).format(area=area)
        raw_roll = rng.random()
        if raw_roll < 0.2 and dom.organization:
            position_raw = f"{position} at {dom.organization}"
        elif raw_roll < 0.3:
            position_raw = position.replace("VP ", "VP of ")
        else:
            position_raw = position
        linkedin = f"https://www.linkedin.com/in/{slug}" if rng.random() < 0.4 else None
        twitter = f"{first}{last[:3]}" if rng.random() < 0.1 else None
        # 555-0100..0199 is reserved for fiction, so these numbers can never ring anyone.
        phone = f"+1 202 555 01{rng.randint(0, 99):02d}" if rng.random() < 0.05 else None
        first_name, last_name = first.capitalize(), last.capitalize()
    else:
        confidence = rng.randint(40, 95)
    return {
        "value": contact.value,
        "type": "personal" if personal else "generic",
        "confidence": confidence,
        "sources": sources,
        "first_name": first_name,
        "last_name": last_name,
        "position": position,
        "position_raw": position_raw,
        "seniority": contact.seniority,
        "department": contact.department,
        "linkedin": linkedin,
        "twitter": twitter,
        "phone_number": phone,
        "verification": verification,
    }
