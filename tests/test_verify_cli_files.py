"""`novahunt verify --file` and `-o`, and `novahunt verifications`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from helpers import KEY, Cli, run_process
from novahunt.sandbox import Sandbox


def test_a_csv_is_verified_and_written_back_in_order_with_columns(
        sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.set_verdict("ann@a.example", "valid")
    sandbox.set_verdict("bob@b.example", "invalid")
    leads = tmp_path / "leads.csv"
    leads.write_text("Name;E-Mail;City\nAnn;Ann@A.example ;Oslo\nBob;bob@b.example;Rome\n"
                     "Nobody;;Bern\nAnn again;ann@a.example;Oslo\nBad;not-an-email;Nice\n")
    out = tmp_path / "out.csv"
    done = run_process("verify", "--file", str(leads), "-o", str(out))
    assert done.returncode == 0, done.stderr
    with out.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["Name", "E-Mail", "City", "verify_status", "verify_result",
                       "verify_score", "verified_at", "verify_reason"]
    assert [r[0] for r in rows[1:]] == ["Ann", "Bob", "Nobody", "Ann again", "Bad"]
    assert [r[3] for r in rows[1:]] == ["valid", "invalid", "", "valid", "invalid"]
    assert sandbox.count("email-verifier") == 2  # Ann once, Bob once, bad syntax never
    assert KEY not in done.stdout + done.stderr


def test_the_email_column_can_be_named_and_plain_lists_work(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    two = tmp_path / "two.csv"
    two.write_text("work,private\na@w.example,a@p.example\n")
    code, out, _ = cli("verify", "--file", str(two), "--column", "PRIVATE", "--json")
    assert code == 0
    [job] = json.loads(out)
    shown = json.loads(cli("jobs", "show", str(job["id"]), "--json")[1])
    assert shown["params"]["emails"] == 1
    plain = tmp_path / "plain.txt"
    plain.write_text("x@one.example\n\ny@one.example\nX@ONE.example\n")
    code, out, _ = cli("verify", "--file", str(plain), "--json")
    assert code == 0 and json.loads(out)[0]["emails"] == 2


@pytest.mark.parametrize(("content", "message"), [
    (b"name,city\nAnn,Oslo\n", "no email column"),
    # a cp1252 file is read now (tests/test_csv_exports_are_read.py); bytes that are
    # no text in any encoding are still refused
    (b"\x00\x01\x02\x03\xff\xfe\xfd" * 30, "not text"),
    (b"", "empty"),
])
def test_unusable_files_are_refused_before_anything_is_queued(
        sandbox: Sandbox, cli: Cli, tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    code, _, err = cli("verify", "--file", str(path))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert cli("jobs", "list", "--json")[1].strip() == "[]"


def test_too_many_rows_are_refused(sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    path.write_text("email\n" + "".join(f"p{i}@h.example\n" for i in range(100_001)))
    code, _, err = cli("verify", "--file", str(path))
    assert code == 2 and "100,000" in err


def test_verifications_lists_and_filters_the_cache(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict("v@c.example", "valid")
    sandbox.set_verdict("i@c.example", "invalid")
    assert run_process("verify", "v@c.example", "i@c.example", "--follow").returncode == 0
    rows_out = cli("verifications", "--json")[1]
    rows = json.loads(rows_out)
    assert {r["email"]: r["status"] for r in rows} == {"v@c.example": "valid",
                                                       "i@c.example": "invalid"}
    assert set(rows[0]) >= {"email", "status", "result", "score", "reason", "source",
                            "first_verified_at", "last_verified_at", "asked_count"}
    invalid = cli("verifications", "--status", "invalid", "--json")[1]
    assert [r["email"] for r in json.loads(invalid)] == ["i@c.example"]
    one = cli("verifications", "V@C.example", "--json")[1]
    assert [r["email"] for r in json.loads(one)] == ["v@c.example"]
    target = tmp_path / "cache.csv"
    assert cli("verifications", "--format", "csv", "-o", str(target))[0] == 0
    assert target.read_text().splitlines()[0].startswith("email,status,result")
    assert cli("verifications", "--status", "bogus")[0] == 2
