"""`novahunt enrich`: a CSV of leads filled in, cheapest source first, resumable."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from helpers import Cli, drain
from novahunt.sandbox import Sandbox
from novahunt.state import contacts, jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime


@pytest.fixture()
def people(sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime,
           state: Database) -> list[dict[str, str]]:
    """Two domains: one collected already (its people are in state.db), one not."""
    sandbox.add_domain("known.example", 6, pattern="{first}.{last}")
    sandbox.add_domain("fresh.example", 6, pattern="{f}{last}")
    assert cli("collect", "known.example")[0] == 0
    drain(inline_worker)
    sandbox.requests.clear()
    known = state.query("SELECT first_name, last_name, email FROM contacts WHERE"
                        " first_name IS NOT NULL AND last_name IS NOT NULL LIMIT 2")
    return [dict(r) for r in known]


def write_leads(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Company", "First Name", "Last Name", "Website", "Email", "Notes"])
        writer.writerows(rows)
    return path


def read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_enrich_fills_rows_cheapest_first_and_reports_what_it_skipped(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path,
        people: list[dict[str, str]]) -> None:
    a, b = people
    leads = write_leads(tmp_path / "leads.csv", [
        ["Known", a["first_name"], a["last_name"], "https://www.known.example/", "", "n1"],
        ["Has", "Ann", "Smith", "has.example", "ann@has.example", "n2"],
        ["Fresh", "José", "Núñez", "fresh.example", "", "n3"],
        ["NoDomain", "Bob", "Jones", "", "", "n4"],
        ["NoName", "", "", "fresh.example", "", "n5"],
        ["Known2", b["first_name"].upper(), b["last_name"], "known.example", "", "n6"],
    ])
    out = tmp_path / "out.csv"
    code, stdout, err = cli("enrich", str(leads), "-o", str(out), "--json")
    assert code == 0, err
    [job] = json.loads(stdout)
    drain(inline_worker)
    done = jobs.get(inline_worker.db, job["id"])
    assert done.status is Status.COMPLETED
    assert done.result is not None
    assert (done.result["found"], done.result["had_email"], done.result["skipped"]) == (3, 1, 2)
    assert done.result["skipped_rows"] == ["row 5: no usable domain ('')",
                                           "row 6: no first and last name"]
    # only the person nobody knew cost a call
    finder = [r.params for r in sandbox.requests if r.endpoint == "email-finder"]
    assert finder == [{"domain": "fresh.example", "first_name": "jose", "last_name": "nunez"}]
    rows = read(out)
    assert [r["Notes"] for r in rows] == ["n1", "n2", "n3", "n4", "n5", "n6"]
    assert list(rows[0])[:6] == ["Company", "First Name", "Last Name", "Website", "Email",
                                 "Notes"]
    assert rows[0]["enriched_email"] == a["email"]
    assert rows[0]["enriched_source"].startswith("state.db")
    assert rows[2]["enriched_email"] == "jnunez@fresh.example"
    assert rows[2]["enriched_source"] == "hunter email finder"
    assert rows[1]["enriched_email"] == "" and rows[1]["Email"] == "ann@has.example"
    assert rows[3]["enrich_note"].startswith("row 5") and rows[4]["enrich_note"].startswith(
        "row 6")
    assert rows[5]["enriched_email"] == b["email"]


def test_with_verify_a_verified_pattern_candidate_saves_the_finder_call(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path,
        people: list[dict[str, str]]) -> None:
    assert cli("collect", "fresh.example")[0] == 0  # learn its pattern {f}{last}
    drain(inline_worker)
    sandbox.requests.clear()
    sandbox.set_verdict("mlopez@fresh.example", "valid")
    leads = write_leads(tmp_path / "leads.csv", [
        ["Fresh", "María", "López", "fresh.example", "", "x"]])
    out = tmp_path / "out.csv"
    assert cli("enrich", str(leads), "-o", str(out), "--verify")[0] == 0
    drain(inline_worker)
    [row] = read(out)
    assert row["enriched_email"] == "mlopez@fresh.example"
    assert row["enriched_source"] == "pattern, verified" and row["verify_status"] == "valid"
    assert [r.endpoint for r in sandbox.requests] == ["email-verifier"]


def test_a_stopped_job_resumes_at_the_next_row_and_pays_no_row_twice(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path,
        state: Database, monkeypatch: pytest.MonkeyPatch,
        people: list[dict[str, str]]) -> None:
    rows = [["F", f"Person{i}", f"Number{i}", "fresh.example", "", str(i)] for i in range(8)]
    leads = write_leads(tmp_path / "leads.csv", rows)
    out = tmp_path / "out.csv"
    code, stdout, _ = cli("enrich", str(leads), "-o", str(out), "--json")
    assert code == 0
    [job] = json.loads(stdout)
    original = contacts.save_person_lookup
    seen: list[int] = []

    def spy(db: Database, lookup: contacts.PersonLookup) -> None:
        seen.append(1)
        if len(seen) == 3:
            jobs.request_cancel(state, [job["id"]])
        original(db, lookup)

    monkeypatch.setattr(contacts, "save_person_lookup", spy)
    drain(inline_worker)
    assert jobs.get(state, job["id"]).status is Status.CANCELED
    assert not out.exists()
    monkeypatch.setattr(contacts, "save_person_lookup", original)
    assert cli("jobs", "retry", str(job["id"]))[0] == 0
    drain(inline_worker)
    assert jobs.get(state, job["id"]).status is Status.COMPLETED
    asked = [r.params["first_name"] for r in sandbox.requests if r.endpoint == "email-finder"]
    assert sorted(asked) == sorted(f"person{i}" for i in range(8))  # each row paid once
    assert [r["Notes"] for r in read(out)] == [str(i) for i in range(8)]


def test_files_enrich_cannot_take_are_refused_before_queueing(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    no_domain = tmp_path / "nodomain.csv"
    no_domain.write_text("first name,last name\nAnn,Smith\n")
    code, _, err = cli("enrich", str(no_domain))
    assert code == 2 and "no domain or website column" in err
    big = tmp_path / "big.csv"
    big.write_text("name,domain\n" + "Ann Smith,a.example\n" * 10_001)
    code, _, err = cli("enrich", str(big))
    assert code == 2 and "10,000" in err
    assert cli("jobs", "list", "--json")[1].strip() == "[]"
