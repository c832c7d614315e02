"""`novahunt find` (Email Finder) and `novahunt generate` (pattern candidates)."""

from __future__ import annotations

import json

import pytest

from helpers import Cli, drain, shown
from novahunt.errors import BadInput
from novahunt.inputs import names
from novahunt.sandbox import Sandbox
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime


@pytest.mark.parametrize(("raw", "part"), [
    ("José", "jose"), ("Núñez", "nunez"), ("O'Brien", "obrien"),
    ("van der Berg", "vanderberg"), ("Zoë", "zoe"), ("Łukasz", "lukasz"), ("Straße", "strasse"),
])
def test_names_are_transliterated_and_stripped(raw: str, part: str) -> None:
    assert names.name_part(raw) == part


def test_full_names_lose_titles_and_need_two_words() -> None:
    assert names.person(None, None, "Dr. José Núñez Jr.") == ("jose", "nunez")
    # titles go where the field says which words are names (name_part has no field)
    assert names.person("Dr. Anna", "Smith") == ("anna", "smith")
    with pytest.raises(BadInput):
        names.person(None, None, "Madonna")
    with pytest.raises(BadInput):
        names.person("!!!", "Smith")


def test_candidates_put_the_known_pattern_first_and_have_no_duplicates() -> None:
    found = names.candidates("patrick", "collison", "stripe.com", "{f}{last}")
    assert found[0] == "pcollison@stripe.com"
    assert "patrick.collison@stripe.com" in found and "patrick@stripe.com" in found
    assert len(found) == len(set(found)) >= 10


def test_find_stores_the_person_and_a_second_find_is_free(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, state: Database) -> None:
    sandbox.add_domain("finder.example", 12, pattern="{first}.{last}")
    person = sandbox.emails_of("finder.example")
    assert cli("collect", "finder.example")[0] == 0
    drain(inline_worker)
    contact = state.one("SELECT first_name, last_name, email FROM contacts WHERE"
                        " first_name IS NOT NULL AND last_name IS NOT NULL LIMIT 1")
    assert contact is not None and contact["email"] in person
    code, out, _ = cli("find", "--domain", "finder.example", "--first",
                       contact["first_name"].upper(), "--last", contact["last_name"],
                       "--json")
    assert code == 0
    [job] = json.loads(out)
    drain(inline_worker)
    result = shown(cli, job["id"])["result"]
    assert isinstance(result, dict)
    assert result["email"] == contact["email"] and result["credits"] == 1
    assert sandbox.count("email-finder") == 1
    # the same person again: from state.db, at once, no call
    code, out, _ = cli("find", "--domain", "https://www.finder.example/", "--name",
                       f"{contact['first_name']} {contact['last_name']}", "--json")
    [again] = json.loads(out)
    assert again["status"] == "completed" and again["result"]["cached"] is True
    assert sandbox.count("email-finder") == 1


def test_a_miss_is_an_answer_and_is_remembered(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, state: Database) -> None:
    code, out, _ = cli("find", "-d", "nobody.example", "--first", "No", "--last", "One",
                       "--json")
    assert code == 0
    [job] = json.loads(out)
    drain(inline_worker)
    found = shown(cli, job["id"])
    assert found["status"] == "completed"
    assert isinstance(found["result"], dict) and found["result"]["email"] is None
    assert cli("find", "-d", "nobody.example", "--first", "No", "--last", "One")[0] == 0
    assert sandbox.count("email-finder") == 1
    assert state.scalar("SELECT COUNT(*) FROM contacts") == 0


def test_generate_without_verify_makes_no_call(sandbox: Sandbox, cli: Cli) -> None:
    code, out, _ = cli("generate", "--domain", "gen.example", "--first", "José",
                       "--last", "Núñez", "--json")
    assert code == 0
    [job] = json.loads(out)
    assert job["status"] == "completed"
    assert job["result"]["candidates"][:3] == [
        "jose.nunez@gen.example", "jose@gen.example", "jnunez@gen.example"]
    assert sandbox.requests == []
    # the job reads back in the table too (its result has candidates, no address)
    code, out, err = cli("jobs", "show", str(job["id"]))
    assert code == 0, err
    assert "completed: no address found" in out


def test_a_found_address_shows_in_jobs_show(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("shown.example", 3)
    assert cli("collect", "shown.example")[0] == 0
    drain(inline_worker)
    first, last = sandbox.emails_of("shown.example")[0].split("@")[0].split(".")
    code, out, _ = cli("find", "-d", "shown.example", "--first", first, "--last", last,
                       "--json")
    [job] = json.loads(out)
    drain(inline_worker)
    code, out, err = cli("jobs", "show", str(job["id"]))
    assert code == 0, err
    assert f"completed: {first}.{last}@shown.example" in out


def test_generate_with_verify_uses_the_collected_pattern_and_stops_at_the_first_hit(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("pat.example", 5, pattern="{f}{last}")
    assert cli("collect", "pat.example")[0] == 0
    drain(inline_worker)
    sandbox.set_verdict("jnunez@pat.example", "invalid")
    sandbox.set_verdict("jose.nunez@pat.example", "valid")
    code, out, _ = cli("generate", "-d", "pat.example", "--first", "José", "--last",
                       "Núñez", "--verify", "--json")
    assert code == 0
    [job] = json.loads(out)
    drain(inline_worker)
    result = shown(cli, job["id"])["result"]
    assert isinstance(result, dict)
    assert result["candidates"][0] == "jnunez@pat.example"  # the known pattern first
    assert result["email"] == "jose.nunez@pat.example"
    asked = [r.params["email"] for r in sandbox.requests if r.endpoint == "email-verifier"]
    assert asked == ["jnunez@pat.example", "jose.nunez@pat.example"]
    # a second run is answered from the verification cache
    cli("generate", "-d", "pat.example", "--first", "José", "--last", "Núñez", "--verify")
    drain(inline_worker)
    assert sum(1 for r in sandbox.requests if r.endpoint == "email-verifier") == 2
