"""Hunter refusing one address or one person is an answer about that item, not the end of
the job: the item records Hunter's reason and the list goes on.

Per-item errors (DOCS): the Verifier's `400 invalid_email` and `451 claimed_email`; the
Finder's `400 invalid_domain` ("no MX record, or owner requested processing stop"),
`invalid_first_name`, `invalid_last_name`, `invalid_full_name` and `451 claimed_email`.
Only errors about the request as a whole (401, 402, 5xx after retries) stop a job.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from helpers import Cli, drain, run_process
from novahunt.sandbox import UNAUTHORIZED, Fault, Sandbox
from novahunt.state import contacts, jobs, verifications
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

INVALID_EMAIL = Fault(status=400, error_id="invalid_email",
                      details="The email address is invalid.")


def read(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh, delimiter=delimiter))


def test_verify_records_refusals_and_finishes_the_list(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.inject(INVALID_EMAIL, email="odd@refuse.example")
    sandbox.claimed.add("gone@refuse.example")
    for name in ("a", "b", "c"):
        sandbox.set_verdict(f"{name}@refuse.example", "valid")
    listing = tmp_path / "list.csv"
    listing.write_text("email\na@refuse.example\nodd@refuse.example\nb@refuse.example\n"
                       "gone@refuse.example\nc@refuse.example\n")
    out = tmp_path / "out.csv"
    done = run_process("verify", "--file", str(listing), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = {r["email"]: r for r in read(out)}
    assert [rows[f"{n}@refuse.example"]["verify_status"] for n in "abc"] == ["valid"] * 3
    assert rows["odd@refuse.example"]["verify_status"] == "invalid"
    assert "invalid_email" in rows["odd@refuse.example"]["verify_reason"]
    assert rows["gone@refuse.example"]["verify_status"] == "claimed"
    assert "451" in rows["gone@refuse.example"]["verify_reason"]
    # every address was asked once; the valid ones billed, refusals not
    assert sandbox.count("email-verifier") == 5
    assert sandbox.verifications_used == 3


def test_a_retried_verify_job_pays_nothing_again(
        sandbox: Sandbox, cli: Cli, state: Database, inline_worker: WorkerRuntime) -> None:
    """A 401 half way (the key was revoked) fails the whole job; `jobs retry` goes on
    after the items already answered, refusals included."""
    emails = [f"p{i}@retry.example" for i in range(8)]
    for email in emails:
        sandbox.set_verdict(email, "valid")
    sandbox.inject(INVALID_EMAIL, email=emails[1])
    sandbox.inject(UNAUTHORIZED, email=emails[5])
    code, out, err = cli("verify", *emails, "--json")
    assert code == 0, err
    [job] = json.loads(out)
    drain(inline_worker)
    failed = jobs.get(state, job["id"])
    assert failed.status is Status.FAILED
    assert cli("jobs", "retry", str(job["id"]))[0] == 0
    drain(inline_worker)
    done = jobs.get(state, job["id"])
    assert done.status is Status.COMPLETED, done.error
    assert done.result is not None
    assert (done.result["verified"], done.result["refused"]) == (7, 1)
    assert [sandbox.verified(e) for e in emails] == [1, 0, 1, 1, 1, 1, 1, 1]
    assert sandbox.count("email-verifier") == 9  # 8 addresses + the one 401
    assert verifications.lookup(state, [emails[1]])[emails[1]].source == "hunter_refused"


def write_leads(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Website", "Email"])
        writer.writerows(rows)
    return path


def test_enrich_notes_each_refused_person_and_writes_the_whole_file(
        sandbox: Sandbox, cli: Cli, state: Database, inline_worker: WorkerRuntime,
        tmp_path: Path) -> None:
    sandbox.add_domain("people.example", 3, pattern="{first}.{last}")
    sandbox.add_domain("nomail.example", 0, no_mx=True)
    sandbox.claimed.add("claire.claimed@people.example")
    leads = write_leads(tmp_path / "leads.csv", [
        ["Ann", "Lee", "people.example", ""],
        ["Nora", "Moss", "nomail.example", ""],
        ["Claire", "Claimed", "people.example", ""],
        ["Tom", "Ray", "people.example", ""],
    ])
    out = tmp_path / "out.csv"
    code, stdout, err = cli("enrich", str(leads), "-o", str(out), "--json")
    assert code == 0, err
    [job] = json.loads(stdout)
    drain(inline_worker)
    done = jobs.get(state, job["id"])
    assert done.status is Status.COMPLETED, done.error
    assert done.result is not None and done.result["refused"] == 2
    rows = read(out)
    assert [r["First Name"] for r in rows] == ["Ann", "Nora", "Claire", "Tom"]
    assert [r["enriched_email"] for r in rows] == [
        "ann.lee@people.example", "", "", "tom.ray@people.example"]
    assert "invalid_domain" in rows[1]["enrich_note"]
    assert "451" in rows[2]["enrich_note"]
    # the person who asked Hunter to stop processing their data is stored nowhere
    assert contacts.contact_by_name(state, "people.example", "claire", "claimed") is None
    assert contacts.person_lookup(state, "people.example", "claire", "claimed", 0) is None


def test_find_of_a_refused_person_completes_with_hunters_reason(
        sandbox: Sandbox, cli: Cli, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("nomail.example", 0, no_mx=True)
    code, _, err = cli("find", "--domain", "nomail.example", "--first", "Nora",
                         "--last", "Moss", "--json")
    assert code == 0, err
    drain(inline_worker)
    [row] = json.loads(cli("jobs", "list", "--json")[1])
    done = jobs.get(state, row["id"])
    assert done.status is Status.COMPLETED
    assert done.result is not None and "invalid_domain" in done.result["refused"]
    assert done.result["email"] is None
