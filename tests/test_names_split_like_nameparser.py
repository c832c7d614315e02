"""Names split the way people write them: python-nameparser's own test cases as data
(tests/data/names/, SOURCE.md names where they come from), and the commands that pay for a
person (`find`, `enrich`) or build their addresses (`generate`) asked about the right one."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from anyascii import anyascii

from helpers import Cli, drain
from novahunt.errors import BadInput
from novahunt.inputs import names
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

DATA = Path(__file__).parent / "data" / "names"
CASES: list[dict[str, Any]] = json.loads(
    (DATA / "nameparser_cases.json").read_text(encoding="utf-8"))


def _address_form(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", anyascii(text).lower())


def _expected(case: dict[str, Any]) -> list[str] | None:
    """The peer's first and last name as address parts; None (refused) when the peer
    finds no first or no last name: an address needs both."""
    if "expected_novahunt" in case:
        kept: list[str] | None = case["expected_novahunt"]
        return kept
    first, last = _address_form(case["peer"]["first"]), _address_form(case["peer"]["last"])
    return [first, last] if first and last else None


def _split(first: str | None, last: str | None, full: str | None = None) -> list[str] | None:
    try:
        return list(names.person(first, last, full))
    except BadInput:
        return None


def test_the_peer_cases_are_all_here_and_every_kept_disagreement_says_why() -> None:
    assert len(CASES) == 231
    kept = [c for c in CASES if "expected_novahunt" in c]
    assert len(kept) == 6
    assert all(c["disagree_reason"].strip() for c in kept)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_a_full_name_splits_like_nameparsers_tests(case: dict[str, Any]) -> None:
    assert _split(None, None, case["text"]) == _expected(case)


@pytest.mark.parametrize("case", [c for c in CASES if c["peer"]["first"] and c["peer"]["last"]
                                  and "expected_novahunt" not in c],
                         ids=lambda c: c["id"])
def test_first_and_last_given_apart_agree_with_the_full_name(case: dict[str, Any]) -> None:
    # what the peer calls first and last, typed into --first/--last, is the same person
    assert _split(case["peer"]["first"], case["peer"]["last"]) == _split(
        None, None, case["text"])


@pytest.mark.parametrize(("first", "last", "full", "parts"), [
    (None, None, "Doe, John", ("john", "doe")),
    (None, None, "Hon. John Smith Jr., CFP", ("john", "smith")),
    ("Hon. John", "Smith Jr., CFP", None, ("john", "smith")),
    (None, None, "Dr. Jane Roe, PhD", ("jane", "roe")),
    (None, None, "Juan de la Vega", ("juan", "delavega")),
    ("Juan", "de la Vega", None, ("juan", "delavega")),
    (None, None, "Jan van der Berg", ("jan", "vanderberg")),
    ("Jan", "van der Berg", None, ("jan", "vanderberg")),
    ("Jill", "St. John", None, ("jill", "stjohn")),
    (None, None, "Prof. Dr. Hans-Peter Müller", ("hanspeter", "muller")),
    # a name that is also a title word, typed in a name box, is the name
    ("Tom", "King", None, ("tom", "king")),
    ("Prince", "Nelson", None, ("prince", "nelson")),
])
def test_titles_suffixes_and_credentials_are_no_names_and_particles_stay(
        first: str | None, last: str | None, full: str | None,
        parts: tuple[str, str]) -> None:
    assert names.person(first, last, full) == parts


@pytest.mark.parametrize("full", ["Mr. Smith", "Dr. Jones, PhD", "de la Vega", "Madonna"])
def test_a_name_without_a_first_or_a_last_is_refused(full: str) -> None:
    with pytest.raises(BadInput):
        names.person(None, None, full)


def test_german_names_also_try_the_spelled_out_umlauts() -> None:
    at_de = names.candidates("Jürgen", "Müller", "firma.de")
    assert at_de[:4] == ["juergen.mueller@firma.de", "jurgen.muller@firma.de",
                         "juergen@firma.de", "jurgen@firma.de"]
    # elsewhere `u` is the likelier spelling (Turkish, Spanish, Swedish names): tried first
    at_com = names.candidates("Jürgen", "Müller", "corp.com", "{f}{last}")
    assert at_com[:2] == ["jmuller@corp.com", "jmueller@corp.com"]
    assert "gregor.weiss@firma.at" in names.candidates("Gregor", "Weiß", "firma.at")
    assert "ann.oeztuerk@firma.de" in names.candidates("Ann", "Öztürk", "firma.de")
    # nothing to spell twice: one spelling, no duplicates
    plain = names.candidates("Anna", "Schmidt", "firma.de")
    assert len(plain) == len(set(plain)) == len(names.COMMON_PATTERNS)


def test_find_with_a_comma_name_pays_for_the_right_person_once(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    code, _, err = cli("find", "-d", "people.example", "--name", "Doe, John", "--json")
    assert code == 0, err
    drain(inline_worker)
    finder = [r.params for r in sandbox.requests if r.endpoint == "email-finder"]
    assert finder == [{"domain": "people.example", "first_name": "john", "last_name": "doe"}]
    # the same person written the other ways is the same lookup: no second call
    for spelling in (["--name", "Dr. John Doe, CFP"], ["--first", "John", "--last", "Doe Jr."]):
        assert cli("find", "-d", "people.example", *spelling)[0] == 0
        drain(inline_worker)
    assert sandbox.count("email-finder") == 1


def test_generate_tries_the_german_spelling_and_makes_no_call(
        sandbox: Sandbox, cli: Cli) -> None:
    code, out, err = cli("generate", "-d", "firma.de", "--name", "Dr. Jürgen Müller",
                         "--json")
    assert code == 0, err
    [job] = json.loads(out)
    result = job["result"]
    assert (result["first_name"], result["last_name"]) == ("jurgen", "muller")
    assert result["candidates"][:2] == ["juergen.mueller@firma.de", "jurgen.muller@firma.de"]
    assert sandbox.requests == []


def test_generate_verify_finds_the_spelled_out_address(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.set_verdict("juergen.mueller@firma.de", "valid")
    sandbox.set_verdict("jurgen.muller@firma.de", "invalid")
    code, out, err = cli("generate", "-d", "firma.de", "--first", "Jürgen", "--last",
                         "Müller", "--verify", "--json")
    assert code == 0, err
    [job] = json.loads(out)
    drain(inline_worker)
    code, out, err = cli("jobs", "show", str(job["id"]), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["result"]["email"] == "juergen.mueller@firma.de"
    assert sandbox.count("email-verifier") == 1   # the likeliest spelling, first


def test_enrich_reads_a_comma_name_cell_the_right_way_round(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Full Name", "Website"])
        writer.writerow(["Doe, John", "people.example"])
        writer.writerow(["Ms. Juana de la Vega, CPA", "people.example"])
        writer.writerow(["Dr. Smith", "people.example"])
    code, _, err = cli("enrich", str(leads), "-o", str(tmp_path / "out.csv"), "--json")
    assert code == 0, err
    drain(inline_worker)
    finder = [(r.params["first_name"], r.params["last_name"])
              for r in sandbox.requests if r.endpoint == "email-finder"]
    # `Dr. Smith` has no first name: skipped, never billed
    assert finder == [("john", "doe"), ("juana", "delavega")]
