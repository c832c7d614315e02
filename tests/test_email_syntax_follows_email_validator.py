"""Email syntax against python-email-validator's own test cases (which carry Dominic
Sayers' isemail set): every case in tests/data/emails/ is run, and where novahunt
answers differently the data file says why (SOURCE.md names the source)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from email_validator import EmailSyntaxError

from novahunt.inputs import emails
from novahunt.inputs.domains import normalise_domain

DATA = Path(__file__).parent / "data" / "emails" / "email_validator_syntax.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))


def sent(value: str) -> str | None:
    """What novahunt would send to Hunter for `value` as a user typed it, or None."""
    email = emails.normalise(value)
    return None if emails.refusal(email) is not None else email


@pytest.mark.parametrize("case", CASES, ids=[f"{i}:{c['peer_test']}" for i, c in
                                              enumerate(CASES)])
def test_each_peer_case_gets_novahunts_recorded_answer(case: dict[str, Any]) -> None:
    email = sent(case["input"])
    assert ("valid" if email is not None else "invalid") == case["novahunt"]
    if email is not None:
        assert email == case["novahunt_email"]
    # a disagreement is kept only with its reason written down, and only then
    assert ("disagree_reason" in case) == (case["novahunt"] != case["peer"])


def test_agreement_with_the_peer_is_what_the_notes_claim() -> None:
    agreed = sum(c["novahunt"] == c["peer"] for c in CASES)
    assert (len(CASES), agreed) == (304, 261)
    # where both accept an address, novahunt sends the peer's ASCII form (lower-cased)
    both = [c for c in CASES if c["peer"] == c["novahunt"] == "valid" and "peer_email" in c]
    assert all(c["novahunt_email"] == c["peer_email"].lower() for c in both)
    assert len(both) == 22


@pytest.mark.parametrize("case", [c for c in CASES if "xn--" in c.get("novahunt_email", "")
                                  and not c["input"].isascii()])
def test_an_idn_domain_is_sent_as_normalise_domain_spells_it(case: dict[str, Any]) -> None:
    domain = case["novahunt_email"].rpartition("@")[2]
    assert domain.isascii()
    raw_domain = case["input"].strip().rpartition("@")[2].rstrip(">")
    assert normalise_domain(raw_domain) == domain


def test_the_issue_examples() -> None:
    assert sent("my@example\n.com") is None  # a `$` no longer matches before a newline
    assert sent("jeff@臺網中心.tw") == sent("jeff@xn--fiqq24b10vi0d.tw") == (
        "jeff@xn--fiqq24b10vi0d.tw")
    assert sent("Patrick@FAß.de") == "patrick@xn--fa-hia.de" == (
        "patrick@" + normalise_domain("faß.de"))


@pytest.mark.parametrize("domain", ["acme.invalid", "acme.test", "printer.local",
                                    "host.localhost", "abc.onion", "1.in-addr.arpa",
                                    "ACME.Test", "münchen.test"])
def test_special_use_names_are_refused_with_the_reason(domain: str) -> None:
    refused = emails.refusal(emails.normalise(f"ann@{domain}"))
    assert refused is not None and refused.source == "local_special_use"
    assert refused.reason.startswith("special-use domain: ") and "RFC" in refused.reason
    # the syntax alone is fine: a site under .test may still publish its addresses
    assert emails.syntax_problem(emails.normalise(f"ann@{domain}")) is None
    assert emails.special_use_problem(normalise_domain(domain)) is not None


def test_names_that_only_look_special_are_not() -> None:
    for email in ("ann@test.com", "ann@local.example", "ann@onion.co.uk", "ann@mytest.io",
                  "ann@arpa.net"):
        assert emails.refusal(email) is None, email


def _library(text: str) -> str | None:
    """The library's spelling, with its special-use refusal left to `refusal` (as in
    emails._check), or None when the library refuses the syntax."""
    try:
        return emails._validate(text)
    except EmailSyntaxError as exc:
        if str(exc) == emails._SPECIAL_USE_MESSAGE:
            email = text.lower()
            assert emails.special_use_problem(email.rpartition("@")[2]) is not None
            return email
        return None


def test_the_everyday_fast_path_answers_as_email_validator_does() -> None:
    # the fast path may only say "this is the address" where the library says the same
    rng = random.Random(18)

    def piece(alphabet: str, low: int, high: int) -> str:
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high)))

    # address-shaped strings with the characters where the rules bite: dots, hyphens,
    # "--", digits in the TLD, upper case, empty labels
    fuzz = [piece("aZ09._+-", 0, 8) + "@" + ".".join(piece("ax09-", 0, 6)
                                                     for _ in range(rng.randint(1, 3)))
            + "." + piece("aZc0-", 1, 4) for _ in range(20_000)]
    limits = ["a" * 64 + "@x.com", "a" * 65 + "@x.com", "a@" + "b" * 63 + ".com",
              "a@" + "b" * 64 + ".com", "a@" + ".".join(["b" * 62] * 4) + ".com",
              "a" * 60 + "@" + ".".join(["b" * 60] * 3) + "." + "c" * 12 + ".com",
              "a@b.c", "a@b.co", "a@b.c0m", "a@xn--fiqq24b10vi0d.tw", "a@ab--c.com",
              "-a@b.com", "a-@b.com", "_@b.com", "a@b_c.com", "a@-b.com", "a@b-.com"]
    checked = 0
    for text in [c["input"] for c in CASES] + fuzz + limits:
        fast = emails._everyday(text)
        if fast is not None:
            checked += 1
            assert fast == _library(text), text
    assert checked > 500  # enough of them took the fast path to mean something
