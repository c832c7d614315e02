"""What novahunt refuses locally (a bad syntax, a special-use domain such as `.test` or
`.local`) is never sent to Hunter and never billed, in verify, verify --file, enrich and
find; an internationalised domain is sent once, as A-labels, whichever way it is typed.
Counted with the sandbox's request log."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from helpers import Cli, drain
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

IDN = "jeff@xn--fiqq24b10vi0d.tw"  # jeff@臺網中心.tw as Hunter accepts it
REFUSED = ["my@example\n.com", "ann@acme.test", "bob@printer.local", "cy@abc.onion",
           "dee@host.localhost", "eve@x.invalid", "fay@1.in-addr.arpa"]


def cache(cli: Cli) -> dict[str, dict[str, Any]]:
    code, out, err = cli("verifications", "--json")
    assert code == 0, err
    return {row["email"]: row for row in json.loads(out)}


def test_verify_refuses_bad_syntax_and_special_use_names_without_a_request(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.set_verdict(IDN, "valid")
    sandbox.set_verdict("ann@lee.example", "valid")
    code, out, err = cli("verify", *REFUSED, "jeff@臺網中心.tw", "JEFF@XN--FIQQ24B10VI0D.TW",
                         "Ann Lee <Ann@Lee.example>", "--json")
    assert code == 0, err
    [job] = json.loads(out)
    assert job["emails"] == len(REFUSED) + 2  # the IDN typed twice is one address
    drain(inline_worker)
    # asked: the IDN once, in its A-label form, and the address inside the display name
    assert sandbox.count("email-verifier") == 2
    assert sandbox.count("email-verifier", email=IDN) == 1
    assert sandbox.count("email-verifier", email="ann@lee.example") == 1
    assert sandbox.verifications_used == sum(
        sandbox.billed_verifications(e) for e in (IDN, "ann@lee.example"))
    shown = json.loads(cli("jobs", "show", str(job["id"]), "--json")[1])
    assert shown["result"]["invalid_syntax"] == len(REFUSED)
    assert (shown["result"]["api_calls"], shown["result"]["verified"]) == (2, 2)
    rows = cache(cli)
    assert rows[IDN]["status"] == "valid"
    assert rows["my@example\n.com"]["reason"].startswith("bad syntax: ")
    assert rows["my@example\n.com"]["source"] == "local_syntax"
    for email in REFUSED[1:]:
        assert rows[email]["status"] == "invalid", email
        assert rows[email]["source"] == "local_special_use", email
        assert rows[email]["reason"].startswith("special-use domain: "), email
    assert "RFC 6761" in rows["ann@acme.test"]["reason"]
    assert "RFC 7686" in rows["cy@abc.onion"]["reason"]


def test_verify_file_writes_the_refusals_back_and_pays_for_the_idn_once(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict(IDN, "valid")
    source = tmp_path / "leads.csv"
    rows = [["name", "email"], ["Jeff", "jeff@臺網中心.tw"], ["Jeff again", IDN],
            ["Ann", "ann@acme.test"], ["Bob", "bob@printer.local"]]
    with source.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    target = tmp_path / "out.csv"
    code, _, err = cli("verify", "--file", str(source), "-o", str(target))
    assert code == 0, err
    with target.open(newline="", encoding="utf-8") as fh:
        written = list(csv.reader(fh))
    assert [r[1] for r in written[1:]] == [r[1] for r in rows[1:]]  # the cells as given
    assert [r[2] for r in written[1:]] == ["valid", "valid", "invalid", "invalid"]
    assert written[3][6].startswith("special-use domain: acme.test")
    assert written[4][6].startswith("special-use domain: printer.local")
    assert sandbox.count("email-verifier") == 1


def test_enrich_skips_a_lead_at_a_special_use_domain_without_asking_the_finder(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    sandbox.add_domain("real.example", 4, pattern="{first}.{last}")
    leads = tmp_path / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([["First Name", "Last Name", "Website", "Email"],
                                  ["Ann", "Smith", "https://acme.test/", ""],
                                  ["Bob", "Jones", "printer.local", ""],
                                  ["Cy", "Lee", "real.example", ""]])
    out = tmp_path / "out.csv"
    code, _, err = cli("enrich", str(leads), "-o", str(out), "--verify")
    assert code == 0, err
    drain(inline_worker)
    with out.open(newline="", encoding="utf-8") as fh:
        written = list(csv.DictReader(fh))
    notes = [row.get("enrich_note", "") for row in written]
    assert "row 2: special-use domain: acme.test" in notes[0]
    assert "row 3: special-use domain: printer.local" in notes[1]
    asked = [json.dumps(r.params) for r in sandbox.requests]
    assert not [a for a in asked if "acme.test" in a or "printer.local" in a]
    assert [a for a in asked if "real.example" in a]  # Cy's lead was worked on


def test_find_refuses_a_special_use_domain_before_a_job_exists(
        sandbox: Sandbox, cli: Cli) -> None:
    for domain in ("acme.test", "https://printer.local/", "abc.onion"):
        code, _, err = cli("find", "--domain", domain, "--first", "Ann", "--last", "Smith")
        assert code == 2, err
        assert "special-use domain" in err and len(err.strip().splitlines()) == 1
    assert cli("jobs", "list", "--json")[1].strip() == "[]"
    assert sandbox.count("email-finder") == 0


def test_generate_verify_decides_candidates_at_a_special_use_domain_locally(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    code, _, err = cli("generate", "--domain", "acme.test", "--first", "Ann", "--last",
                       "Smith", "--verify")
    assert code == 0, err
    drain(inline_worker)
    assert sandbox.count("email-verifier") == 0
    rows = cache(cli)
    assert rows and all(r["source"] == "local_special_use" for r in rows.values())
