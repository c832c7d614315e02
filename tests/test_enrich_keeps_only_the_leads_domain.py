"""`enrich` keeps an address as a lead's email only on the lead's own domain (or one of
its subdomains). An Email Finder answer on another domain, even one that is a formula
(`=hyperlink@formula-a.com`), used to become the lead's `enriched_email` and a contact of
the lead's domain; now the row's `enrich_note` names it, nothing else keeps it, and the
answer (paid for once) is not asked again.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from helpers import Cli, drain
from novahunt.sandbox import Fault, Sandbox
from novahunt.worker.runtime import WorkerRuntime

ELSEWHERE = "=hyperlink@formula-a.com"


def finder_answer(email: str, domain: str = "lead.example") -> dict[str, Any]:
    """Hunter's Email Finder answer (the documented shape) for Ada Lovelace at `domain`."""
    return {"data": {"first_name": "Ada", "last_name": "Lovelace", "email": email,
                     "score": 91, "domain": domain, "accept_all": False,
                     "position": "CTO", "company": "Lead", "twitter": None,
                     "linkedin_url": None, "phone_number": None, "sources": [],
                     "verification": {"date": None, "status": None}},
            "meta": {"params": {"domain": domain, "first_name": "Ada",
                                "last_name": "Lovelace"}}}


def answer(sandbox: Sandbox, email: str) -> None:
    sandbox.add_domain("lead.example", 0)
    sandbox.inject(Fault(body=json.dumps(finder_answer(email))), endpoint="email-finder",
                   domain="lead.example")


def enrich(cli: Cli, worker: WorkerRuntime, folder: Path, name: str) -> dict[str, str]:
    leads = folder / "leads.csv"
    leads.write_text("first name,last name,website\nAda,Lovelace,https://www.lead.example/\n",
                     encoding="utf-8")
    out = folder / name
    code, _, err = cli("enrich", str(leads), "-o", str(out))
    assert code == 0, err
    drain(worker)
    with out.open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    return row


def contacts_of(cli: Cli, domain: str) -> list[str]:
    code, out, _ = cli("results", domain, "--format", "json")
    assert code == 0
    return [r["email"] for r in json.loads(out)]


def test_a_finder_address_on_another_domain_is_only_a_note(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    answer(sandbox, ELSEWHERE)
    row = enrich(cli, inline_worker, tmp_path, "out.csv")
    assert row["enriched_email"] == ""       # was: '=hyperlink@formula-a.com
    assert row["enriched_source"] == ""
    assert ELSEWHERE in row["enrich_note"] and "another domain" in row["enrich_note"]
    assert contacts_of(cli, "lead.example") == []
    assert contacts_of(cli, "formula-a.com") == []
    assert sandbox.count("email-finder") == 1
    # the same lead again: remembered, not paid for again, still not the lead's email
    again = enrich(cli, inline_worker, tmp_path, "again.csv")
    assert again["enriched_email"] == ""
    assert sandbox.count("email-finder") == 1


def test_an_address_on_the_leads_domain_or_a_subdomain_is_kept(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    answer(sandbox, "ada@eu.lead.example")
    row = enrich(cli, inline_worker, tmp_path, "out.csv")
    assert row["enriched_email"] == "ada@eu.lead.example"
    assert row["enrich_note"] == ""


def test_find_keeps_an_address_elsewhere_only_as_a_note_and_enrich_does_not_pay_again(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    """`find` names an address on another domain in its answer but stores it as no
    contact of the lead's domain; enrich of the same person later takes nothing from
    state.db and does not pay to ask again (the miss is remembered)."""
    answer(sandbox, ELSEWHERE)
    code, _, err = cli("find", "--domain", "lead.example", "--first", "Ada",
                       "--last", "Lovelace", "--json")
    assert code == 0, err
    drain(inline_worker)
    assert sandbox.count("email-finder") == 1
    code, out, err = cli("jobs", "show", "1", "--json")
    result = json.loads(out)["result"]
    assert result["email"] is None and result["found"] is False
    assert ELSEWHERE in result["note"] and "another domain" in result["note"]
    assert ELSEWHERE not in contacts_of(cli, "lead.example")
    row = enrich(cli, inline_worker, tmp_path, "out.csv")
    assert row["enriched_email"] == ""
    assert "remembered" in row["enrich_note"]
    assert sandbox.count("email-finder") == 1
