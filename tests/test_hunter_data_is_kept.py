"""What Hunter returns is kept: every field of a Domain Search page and of an Email Finder
answer that novahunt paid for is stored and reaches `results` (csv, json, jsonl), `find`
and the `enrich` output file, and a state.db from before m012 keeps its rows.

Sources (../shared/HUNTER-API.md): Domain Search's answer `data {..., linked_domains,
emails [{..., position, position_raw, linkedin, twitter, phone_number, verification}]}`
(DOCS; the MCP fixture `domain_search_acme_official_jbuilder_shape_fixture.json`); the
Email Finder's answer `email, score, domain, accept_all, position, twitter, linkedin_url,
phone_number, company, sources, verification {date, status}` (DOCS; the docs example
`email_finder_dustin_asana_messerli_mock.json`).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import KEY, Cli, drain, shown
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import db, migrations, postgres
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime

# public Hunter bodies, their sources in hunter-bodies/SOURCES.md
BODIES = Path(__file__).parent / "hunter-bodies"

# what a Domain Search entry says about a person beyond the address
PERSON = ("position", "position_raw", "linkedin", "twitter", "phone_number")


def body(name: str) -> dict[str, Any]:
    data = json.loads((BODIES / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def results(cli: Cli, domain: str, format_: str) -> list[dict[str, Any]]:
    """`novahunt results DOMAIN --format F`, parsed into one dict per contact."""
    code, out, err = cli("results", domain, "--format", format_)
    assert code == 0, err
    if format_ == "csv":
        return list(csv.DictReader(io.StringIO(out)))
    if format_ == "jsonl":
        return [json.loads(line) for line in out.splitlines()]
    rows = json.loads(out)
    assert isinstance(rows, list)
    return rows


def collect(cli: Cli, worker: WorkerRuntime, domain: str) -> None:
    code, _, err = cli("collect", domain)
    assert code == 0, err
    drain(worker)


# -- Domain Search -------------------------------------------------------------------------


def acme_page(domain: str) -> dict[str, Any]:
    """The MCP fixture (Hunter's jbuilder shape) moved to `domain`, with a Twitter handle,
    a phone number and linked domains filled in, as the documented shape allows."""
    page = copy.deepcopy(body("domain_search_acme_official_jbuilder_shape_fixture.json"))
    page.pop("_comment", None)
    data = page["data"]
    data["domain"] = domain
    data["linked_domains"] = ["acme-group.example", "acme.example.org"]
    for entry in data["emails"]:
        entry["value"] = entry["value"].replace("acme.com", domain)
    lucas = data["emails"][1]
    lucas["twitter"], lucas["phone_number"] = "lucasbernard", "+33 1 84 88 12 34"
    page["meta"]["params"]["domain"] = domain
    return page


@pytest.mark.parametrize("format_", ["csv", "json", "jsonl"])
def test_domain_search_fields_reach_results_in_every_format(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, format_: str) -> None:
    """DOCS / MCP fixture: each email's position_raw, linkedin, twitter, phone_number and the
    domain's linked_domains are part of the answer; `results` carries them all."""
    page = acme_page("acme.example")
    # the domain exists (3 emails, so a pre-check from email-count agrees), and its Domain
    # Search answer is the documented page
    sandbox.add_domain("acme.example", len(page["data"]["emails"]), organization="Acme Inc")
    sandbox.inject(Fault(status=200, body=json.dumps(page)), endpoint="domain-search",
                   domain="acme.example")
    collect(cli, inline_worker, "acme.example")
    rows = {r["email"]: r for r in results(cli, "acme.example", format_)}
    assert set(rows) == {e["value"] for e in page["data"]["emails"]}
    for entry in page["data"]["emails"]:
        row = rows[entry["value"]]
        for field in PERSON:
            # CSV has no null: an empty cell is what it writes for one
            want = entry[field] if entry[field] is not None or format_ != "csv" else ""
            assert row[field] == want, (entry["value"], field)
        # Domain Search names the company per domain: each contact carries it
        assert row["company"] == "Acme Inc"
        if format_ == "csv":
            assert row["linked_domains"] == "acme-group.example acme.example.org"
        else:
            assert row["linked_domains"] == ["acme-group.example", "acme.example.org"]
    lucas = rows["lucas.bernard@acme.example"]
    assert (lucas["position"], lucas["position_raw"]) == ("VP Sales", "VP of Sales")
    assert (lucas["twitter"], lucas["phone_number"]) == ("lucasbernard", "+33 1 84 88 12 34")


def test_every_field_of_the_sandboxs_own_pages_is_kept(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """DOCS: the sandbox's Domain Search renders the documented entry; what it answered
    for each address is what `results` shows, and its linked_domains too."""
    sandbox.add_domain("kept.example", 80, organization="Kept Ltd",
                       linked_domains=["kept.example.net"])
    collect(cli, inline_worker, "kept.example")
    served = httpx.get(f"{sandbox.url}/domain-search", headers={"X-API-KEY": KEY},
                       params={"domain": "kept.example", "limit": 100, "offset": 0}).json()
    entries = {e["value"]: e for e in served["data"]["emails"]}
    assert served["data"]["linked_domains"] == ["kept.example.net"]
    # the page says something in each field somewhere, so the comparison below means it
    for field in PERSON:
        assert any(e[field] for e in entries.values()), field
    assert any(e["position_raw"] != e["position"] for e in entries.values())
    rows = {r["email"]: r for r in results(cli, "kept.example", "json")}
    assert set(rows) == set(entries)
    for email, entry in entries.items():
        assert {f: rows[email][f] for f in PERSON} == {f: entry[f] for f in PERSON}, email
        assert rows[email]["linked_domains"] == ["kept.example.net"]


# -- Email Finder --------------------------------------------------------------------------


TODAY = dt.date.today().isoformat()


def finder_answer(domain: str) -> dict[str, Any]:
    """The docs example (Dustin at Asana) moved to `domain`, with the `verification`
    block and a phone number the documented answer carries (DOCS)."""
    answer = copy.deepcopy(body("email_finder_dustin_asana_messerli_mock.json"))
    data = answer["data"]
    data["email"] = f"dustin@{domain}"
    data["domain"] = answer["meta"]["params"]["domain"] = domain
    data["phone_number"] = "+1 415 555 0134"
    data["verification"] = {"date": TODAY, "status": "valid"}
    return answer


# what the Finder said, as find's result names it
FOUND = {"position": "CEO", "company": "Asana", "linkedin": "https://www.linkedin.com/in/dmoskov",
         "twitter": "moskov", "phone_number": "+1 415 555 0134",
         "verification_status": "valid", "verification_date": TODAY}


def answer_finder(sandbox: Sandbox, domain: str) -> None:
    sandbox.add_domain(domain, 0)
    sandbox.inject(Fault(status=200, body=json.dumps(finder_answer(domain))),
                   endpoint="email-finder", domain=domain)


def test_a_finder_answer_reaches_finds_result_and_output_and_is_served_again_whole(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """DOCS: a found person comes with position, company, linkedin_url, twitter,
    phone_number and Hunter's verification. `find` returns them, prints them, stores them
    on the contact, and a repeat served from state.db carries them without a call."""
    answer_finder(sandbox, "asana.example")
    code, out, err = cli("find", "--domain", "asana.example", "--first", "Dustin",
                         "--last", "Moskovitz", "--json")
    assert code == 0, err
    [job] = json.loads(out)
    drain(inline_worker)
    result = shown(cli, job["id"])["result"]
    assert result["email"] == "dustin@asana.example" and result["score"] == 72
    assert {k: result[k] for k in FOUND} == FOUND
    [contact] = results(cli, "asana.example", "json")
    assert {k: contact[k] for k in FOUND} == FOUND
    assert contact["email"] == "dustin@asana.example"
    # again: from state.db, no call, the whole answer
    code, out, err = cli("find", "--domain", "asana.example", "--first", "Dustin",
                         "--last", "Moskovitz", "--json")
    assert code == 0, err
    [again] = json.loads(out)
    assert again["result"]["cached"] is True
    assert {k: again["result"][k] for k in FOUND} == FOUND
    assert sandbox.count("email-finder") == 1
    code, out, _ = cli("find", "--domain", "asana.example", "--name", "Dustin Moskovitz")
    assert code == 0
    assert "dustin@asana.example (score 72): CEO, Asana, https://www.linkedin.com/in/dmoskov" \
        in out and "(from state.db, no API call)" in out


def test_the_sandboxs_own_finder_answer_is_kept_whole(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """DOCS: the Finder answers with what Hunter knows of the person (the sandbox: the
    fields their Domain Search entry shows, the domain's organization as `company`)."""
    sandbox.add_domain("people.example", 60, organization="People Inc")
    served = httpx.get(f"{sandbox.url}/domain-search", headers={"X-API-KEY": KEY},
                       params={"domain": "people.example", "limit": 100, "offset": 0}).json()
    entry = next(e for e in served["data"]["emails"]
                 if e["first_name"] and e["linkedin"] and e["position"]
                 and e["verification"]["status"])
    code, out, err = cli("find", "--domain", "people.example", "--first", entry["first_name"],
                         "--last", entry["last_name"], "--json")
    assert code == 0, err
    [job] = json.loads(out)
    drain(inline_worker)
    result = shown(cli, job["id"])["result"]
    assert result["email"] == entry["value"]
    assert {k: result[k] for k in FOUND} == {
        "position": entry["position"], "company": "People Inc",
        "linkedin": entry["linkedin"], "twitter": entry["twitter"],
        "phone_number": entry["phone_number"],
        "verification_status": entry["verification"]["status"],
        "verification_date": entry["verification"]["date"]}


ENRICHED = {"enriched_email": "dustin@asana.example", "enriched_position": "CEO",
            "enriched_company": "Asana",
            "enriched_linkedin": "https://www.linkedin.com/in/dmoskov",
            "enriched_twitter": "moskov", "enriched_phone": "+1 415 555 0134"}


def enrich(cli: Cli, worker: WorkerRuntime, leads: Path, out: Path) -> list[dict[str, str]]:
    code, _, err = cli("enrich", str(leads), "-o", str(out))
    assert code == 0, err
    drain(worker)
    with out.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_enrich_writes_what_the_finder_said_and_keeps_its_verification(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, state: Database,
        tmp_path: Path) -> None:
    """DOCS: the Finder verifies what it finds (`verification {date, status}`): enrich keeps
    that verdict on the contact, as find does, and writes the person's position, company,
    LinkedIn, Twitter and phone, also when the row is served from state.db later."""
    answer_finder(sandbox, "asana.example")
    leads = tmp_path / "leads.csv"
    leads.write_text("First Name,Last Name,Website\nDustin,Moskovitz,asana.example\n",
                     encoding="utf-8")
    [row] = enrich(cli, inline_worker, leads, tmp_path / "out.csv")
    assert {k: row[k] for k in ENRICHED} == ENRICHED
    assert row["enriched_source"] == "hunter email finder"
    contact = state.one("SELECT verification_status, verification_date, company, linkedin,"
                        " twitter, phone_number FROM contacts WHERE email = ?",
                        ("dustin@asana.example",))
    assert contact is not None
    assert dict(contact) == {"verification_status": "valid", "verification_date": TODAY,
                             "company": "Asana", "linkedin": FOUND["linkedin"],
                             "twitter": "moskov", "phone_number": "+1 415 555 0134"}
    # the same leads again: the stored contact answers, with the same columns filled
    [row] = enrich(cli, inline_worker, leads, tmp_path / "again.csv")
    assert {k: row[k] for k in ENRICHED} == ENRICHED
    assert row["enriched_source"] == "state.db (hunter_email_finder)"
    # without the contact (dropped from state.db), the stored Finder answer answers
    state.execute("DELETE FROM contacts WHERE email = ?", ("dustin@asana.example",))
    [row] = enrich(cli, inline_worker, leads, tmp_path / "third.csv")
    assert {k: row[k] for k in ENRICHED} == ENRICHED
    assert sandbox.count("email-finder") == 1


# -- the schema before m012 ----------------------------------------------------------------


def test_a_state_db_from_before_m012_keeps_its_rows_and_gains_the_columns(
        backend: str, monkeypatch: pytest.MonkeyPatch, cli: Cli) -> None:
    """Migrations append: rows written by the previous schema survive m012, read back
    with the new fields empty (and `company` from the domain's organization)."""
    index = [m.__name__ for m in migrations.MIGRATIONS].index("m012_keep_what_hunter_returns")
    with monkeypatch.context() as before:
        before.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:index])
        old = db.open_state()
        old.execute(
            "INSERT INTO contacts (domain, email, first_name, last_name, position, linkedin,"
            " sources, verification_status, source, first_seen_at, last_seen_at)"
            " VALUES ('old.example', 'ann.lee@old.example', 'Ann', 'Lee', 'CTO',"
            " 'https://www.linkedin.com/in/ann-lee', '[]', 'valid', 'hunter_domain_search',"
            " 1, 1)")
        old.execute("INSERT INTO domains (domain, organization, pattern, updated_at)"
                    " VALUES ('old.example', 'Old Co', '{first}.{last}', 1)")
        old.execute(
            "INSERT INTO person_lookups (domain, first_name, last_name, email, score, source,"
            " looked_up_at) VALUES ('old.example', 'ann', 'lee', 'ann.lee@old.example', 90,"
            " 'hunter_email_finder', 1)")
        assert "m012_keep_what_hunter_returns" not in migrations.applied(old)
        old.close()
    if backend == "postgres":
        postgres.close_pools()  # a new pool is what applies pending migrations
    state = db.open_state()
    assert "m012_keep_what_hunter_returns" in migrations.applied(state)
    contact = state.one("SELECT email, position, linkedin, position_raw, company"
                        " FROM contacts WHERE domain = 'old.example'")
    assert contact is not None and dict(contact) == {
        "email": "ann.lee@old.example", "position": "CTO",
        "linkedin": "https://www.linkedin.com/in/ann-lee", "position_raw": None,
        "company": None}
    facts = state.one("SELECT organization, linked_domains FROM domains")
    assert facts is not None and dict(facts) == {"organization": "Old Co",
                                                 "linked_domains": None}
    lookup = state.one("SELECT email, score, position, company, linkedin, twitter,"
                       " phone_number, accept_all, verification_status, verification_date"
                       " FROM person_lookups")
    assert lookup is not None and dict(lookup) == {
        "email": "ann.lee@old.example", "score": 90, "position": None, "company": None,
        "linkedin": None, "twitter": None, "phone_number": None, "accept_all": None,
        "verification_status": None, "verification_date": None}
    [row] = results(cli, "old.example", "json")
    assert (row["email"], row["position"], row["company"], row["linked_domains"]) == (
        "ann.lee@old.example", "CTO", "Old Co", [])
