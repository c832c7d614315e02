"""`novahunt verify`, `collect --verify` and `novahunt verifications` run in-process
against a Hunter-speaking server: what gets queued, what is refused before anything is,
what `-o` writes back, and what the cache shows."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers import KEY, Cli, drain, shown
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

VERIFY_COLUMNS = ["verify_status", "verify_result", "verify_score", "verified_at",
                  "verify_reason"]
RESULT_KEYS = {"emails", "verified", "cached", "known", "invalid_syntax", "claimed",
               "refused", "unverified",
               "by_status", "api_calls", "credits"}
CACHE_KEYS = {"email", "status", "result", "score", "reason", "source",
              "first_verified_at", "last_verified_at", "asked_count"}


def ok(cli: Cli, *args: str) -> tuple[str, str]:
    code, out, err = cli(*args)
    assert code == 0, err
    assert KEY not in out + err
    return out, err


def listed(cli: Cli) -> list[dict[str, Any]]:
    found = json.loads(ok(cli, "jobs", "list", "--json", "--limit", "5000")[0])
    assert isinstance(found, list)
    return found



def queued(cli: Cli, *args: str) -> dict[str, Any]:
    """`verify ARGS --json`: the one job it printed."""
    [job] = json.loads(ok(cli, "verify", *args, "--json")[0])
    assert isinstance(job, dict)
    return job


def cache(cli: Cli, *args: str) -> list[dict[str, Any]]:
    rows = json.loads(ok(cli, "verifications", "--json", *args)[0])
    assert isinstance(rows, list)
    return rows


def read_csv(path: Path, delimiter: str = ",") -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh, delimiter=delimiter))


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces made single spaces."""
    return " ".join(text.split())


def verify_job(jobs: list[dict[str, Any]]) -> dict[str, Any]:
    [job] = [j for j in jobs if j["type"] == "verify"]
    return job


# -- addresses -----------------------------------------------------------------------------


def test_addresses_queue_one_job_that_reports_what_it_did(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.set_verdict("a@x.example", "valid")
    sandbox.set_verdict("b@x.example", "invalid")
    out, _ = ok(cli, "verify", "a@x.example", "b@x.example", "--json")
    [job] = json.loads(out)
    assert set(job) == {"id", "emails", "status"}
    assert (job["emails"], job["status"]) == (2, "queued")
    drain(inline_worker)
    done = shown(cli, job["id"])
    assert (done["type"], done["status"]) == ("verify", "completed")
    result = done["result"]
    assert set(result) == RESULT_KEYS
    assert (result["emails"], result["verified"], result["cached"]) == (2, 2, 0)
    assert (result["invalid_syntax"], result["claimed"], result["unverified"]) == (0, 0, 0)
    assert result["by_status"] == {"valid": 1, "invalid": 1}
    assert (result["api_calls"], result["credits"]) == (2, 2)
    assert sandbox.count("email-verifier") == 2


def test_the_plain_output_names_the_job_and_its_distinct_count(
        sandbox: Sandbox, cli: Cli) -> None:
    out, _ = ok(cli, "verify", "A@x.example", " a@x.example", "c@x.example")
    assert out.strip() == "#1 verify 2 distinct emails: queued"
    assert sandbox.requests == []  # queued, not run: no worker and no --follow


# -- --file --------------------------------------------------------------------------------

FILES: dict[str, tuple[str, list[str], set[str]]] = {
    "email-column-any-case": (
        "Name,EMAIL,City\nAnn,ann@f.example,Oslo\nNobody,,Bern\nBob, Bob@F.example ,Rome\n"
        "Ann again,ANN@f.example,Oslo\n",
        [], {"ann@f.example", "bob@f.example"}),
    "work-email-column": (
        "first,last,Work_Email,phone\nAnn,Lee,ann@w.example,1\nBob,Ray,bob@w.example,2\n"
        "Cy,Ode,,3\n",
        [], {"ann@w.example", "bob@w.example"}),
    "named-column": (
        "email,backup\nann@main.example,ann@alt.example\nbob@main.example,\n"
        "cy@main.example,cy@alt.example\n",
        ["--column", "BACKUP"], {"ann@alt.example", "cy@alt.example"}),
    "plain-list": (
        "x@one.example\n\ny@one.example\nX@ONE.example\n  \nz@one.example\n",
        [], {"x@one.example", "y@one.example", "z@one.example"}),
    "semicolons": (
        "Name;Email;City\nAnn;ann@s.example;Oslo\nBob;;Rome\nCy;cy@s.example;Nice\n"
        "Ann;ann@s.example;Oslo\n",
        [], {"ann@s.example", "cy@s.example"}),
}


@pytest.mark.parametrize(("content", "extra", "expected"), FILES.values(), ids=FILES.keys())
def test_a_file_is_read_by_its_email_column_blank_cells_skipped_duplicates_collapsed(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli, tmp_path: Path,
        content: str, extra: list[str], expected: set[str]) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(content, encoding="utf-8")
    job = queued(cli, "--file", str(path), *extra)
    assert job["emails"] == len(expected)
    assert shown(cli, job["id"])["params"]["emails"] == len(expected)
    drain(inline_worker)
    assert shown(cli, job["id"])["status"] == "completed"
    assert {r["email"] for r in cache(cli)} == expected


# -- refused before anything is queued -----------------------------------------------------


def _no_email_column(tmp: Path) -> list[str]:
    (tmp / "people.csv").write_text("name,city\nAnn,Oslo\n", encoding="utf-8")
    return ["--file", str(tmp / "people.csv")]


def _unknown_column(tmp: Path) -> list[str]:
    (tmp / "leads.csv").write_text("email\na@x.example\n", encoding="utf-8")
    return ["--file", str(tmp / "leads.csv"), "--column", "nope"]


def _too_many_rows(tmp: Path) -> list[str]:
    (tmp / "huge.csv").write_text(
        "email\n" + "".join(f"p{i}@h.example\n" for i in range(100_001)), encoding="utf-8")
    return ["--file", str(tmp / "huge.csv")]


def _latin1(tmp: Path) -> list[str]:
    # a cp1252 file is read now (test_csv_exports_are_read.py): bytes no encoding reads
    (tmp / "latin.csv").write_bytes(b"\x00\x01\x02\x03\xff\xfe\xfd" * 30)
    return ["--file", str(tmp / "latin.csv")]


def _empty(tmp: Path) -> list[str]:
    (tmp / "empty.csv").write_bytes(b"")
    return ["--file", str(tmp / "empty.csv")]


def _missing(tmp: Path) -> list[str]:
    return ["--file", str(tmp / "nowhere.csv")]


REFUSED: dict[str, tuple[Callable[[Path], list[str]], list[str]]] = {
    "no-email-column": (_no_email_column, ["no email column", "name, city", "--column"]),
    "unknown-column": (_unknown_column, ["no column 'nope'", "email"]),
    "too-many-rows": (_too_many_rows, ["huge.csv", "100,000", "split the file"]),
    "not-text": (_latin1, ["latin.csv:", "not text in any encoding", "save the file as UTF-8"]),
    "empty-file": (_empty, ["empty.csv", "empty"]),
    "missing-file": (_missing, ["nowhere.csv", "cannot read"]),
    "column-without-file": (lambda _: ["a@x.example", "--column", "email"],
                            ["--column goes with --file"]),
    "no-input": (lambda _: [], ["give email addresses, --file FILE or --domain DOMAIN"]),
    "domain-not-collected": (lambda _: ["--domain", "WWW.Nothing.example"],
                             ["no emails collected for nothing.example", "collect"]),
}


@pytest.mark.parametrize(("make", "said"), REFUSED.values(), ids=REFUSED.keys())
def test_unusable_input_exits_2_with_one_line_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, tmp_path: Path,
        make: Callable[[Path], list[str]], said: list[str]) -> None:
    code, out, err = cli("verify", *make(tmp_path))
    assert code == 2
    assert out == ""
    assert err.startswith("novahunt: error: ")
    assert err.endswith("\n") and err.count("\n") == 1, err
    for words in said:
        assert words in err
    assert listed(cli) == []
    assert sandbox.requests == []


def test_a_plain_list_over_the_row_cap_is_refused_too(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("".join(f"p{i}@h.example\n" for i in range(100_001)), encoding="utf-8")
    code, _, err = cli("verify", "--file", str(path))
    assert code == 2 and "100,000" in err
    assert listed(cli) == []


def test_an_unwritable_output_is_refused_before_anything_is_queued(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("verify", "a@x.example", "-o", str(tmp_path / "no" / "out.csv"))
    assert code == 2 and "cannot write" in err
    assert listed(cli) == []
    assert sandbox.requests == []


# -- -o: the input written back with its verification ----------------------------------------


def _by_email(cli: Cli) -> dict[str, list[str]]:
    """What `verifications --json` says, as the five columns -o writes."""
    return {r["email"]: [r["status"], r["result"] or "",
                         "" if r["score"] is None else str(r["score"]), r["last_verified_at"],
                         r["reason"] or ""]
            for r in cache(cli)}


def test_output_keeps_rows_order_and_columns_and_adds_the_verification(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict("ann@o.example", "valid")
    sandbox.set_verdict("bob@o.example", "invalid")
    sandbox.set_verdict("cy@o.example", "accept_all")
    rows = [["Name", "Email", "City"],
            ["Ann", " Ann@O.example", "Oslo"],
            ["Bob", "bob@o.example", "Rome"],
            ["Nobody", "", "Bern"],
            ["Ann", " Ann@O.example", "Oslo"],
            ["Cy", "cy@o.example", "Nice"],
            ["Bad", "not-an-email", "Lyon"]]
    source = tmp_path / "leads.csv"
    with source.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    target = tmp_path / "out.csv"
    out, err = ok(cli, "verify", "--file", str(source), "-o", str(target))
    assert "#1 verify 4 distinct emails" in out
    assert f"wrote 6 rows to {target}" in flat(err)
    assert shown(cli, 1)["status"] == "completed"  # -o followed the job to its end
    written = read_csv(target)
    assert written[0] == [*rows[0], *VERIFY_COLUMNS]
    assert [r[:3] for r in written[1:]] == rows[1:]
    assert [r[3] for r in written[1:]] == ["valid", "invalid", "", "valid", "accept_all",
                                           "invalid"]
    known = _by_email(cli)
    assert written[3][3:] == ["", "", "", "", ""]
    for row in written[1:]:
        email = row[1].strip().lower()
        if email:
            assert row[3:] == known[email]
    assert written[1][3:] == written[4][3:]
    assert sandbox.count("email-verifier") == 3  # Ann once, bad syntax never


def test_output_of_a_semicolon_file_keeps_its_delimiter(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict("ann@semi.example", "webmail")
    source = tmp_path / "leads.csv"
    source.write_text("Name;Email\nAnn;ann@semi.example\nNo one;\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    ok(cli, "verify", "--file", str(source), "-o", str(target))
    written = read_csv(target, ";")
    assert written[0] == ["Name", "Email", *VERIFY_COLUMNS]
    assert [r[:3] for r in written[1:]] == [["Ann", "ann@semi.example", "webmail"],
                                            ["No one", "", ""]]


def test_output_of_a_plain_list_has_an_email_header(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict("x@plain.example", "valid")
    sandbox.set_verdict("y@plain.example", "disposable")
    source = tmp_path / "list.txt"
    source.write_text("x@plain.example\ny@plain.example\nX@Plain.example\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    ok(cli, "verify", "--file", str(source), "-o", str(target))
    written = read_csv(target)
    assert written[0] == ["email", *VERIFY_COLUMNS]
    assert [r[:2] for r in written[1:]] == [["x@plain.example", "valid"],
                                            ["y@plain.example", "disposable"],
                                            ["X@Plain.example", "valid"]]
    known = _by_email(cli)
    assert all(r[1:] == known[r[0].lower()] for r in written[1:])


def test_output_of_addresses_has_one_row_per_address(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.set_verdict("p@args.example", "unknown")
    target = tmp_path / "out.csv"
    ok(cli, "verify", "p@args.example", "q@args.example", "-o", str(target), "--json")
    written = read_csv(target)
    assert written[0] == ["email", *VERIFY_COLUMNS]
    assert [r[0] for r in written[1:]] == ["p@args.example", "q@args.example"]
    assert written[1][1] == "unknown"
    known = _by_email(cli)
    assert all(r[1:] == known[r[0]] for r in written[1:])


# -- collect --verify ----------------------------------------------------------------------


def collect_and_verify(inline_worker: WorkerRuntime, cli: Cli, domain: str) -> int:
    """`collect DOMAIN --verify`, run to the end; returns the collect job's id."""
    [job] = json.loads(ok(cli, "collect", domain, "--verify", "--json")[0])
    drain(inline_worker)  # the follow-up verify job runs in the same drain
    return int(job["id"])


def test_the_follow_up_verify_job_runs_as_soon_as_the_collection_completes(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("soon.example", 6)
    ok(cli, "collect", "soon.example", "--verify")
    drain(inline_worker)
    assert verify_job(listed(cli))["status"] == "completed"


def test_collect_verify_verifies_every_collected_email_and_results_show_it(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("cv.example", 12)
    collect = collect_and_verify(inline_worker, cli, "cv.example")
    check = verify_job(listed(cli))
    assert check["status"] == "completed"
    assert check["params"]["source"] == "domain:cv.example"
    assert check["params"]["emails"] == 12
    assert shown(cli, collect)["result"]["verify_job"] == check["id"]
    result = shown(cli, check["id"])["result"]
    assert result["verified"] + result["cached"] + result["known"] == 12
    assert sum(result["by_status"].values()) == 12

    out, _ = ok(cli, "results", "cv.example", "--format", "csv")
    rows = list(csv.DictReader(out.splitlines()))
    assert len(rows) == 12
    for row in rows:
        assert row["verify_status"] and row["verify_result"] and row["verified_at"], row
    as_json = json.loads(ok(cli, "results", "cv.example", "--format", "json")[0])
    assert len(as_json) == 12
    assert all(set(VERIFY_COLUMNS) <= set(r) and r["verify_status"] for r in as_json)


def test_collect_verify_again_is_served_from_state_db_and_the_cache(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("again.example", 15)
    for email in sandbox.emails_of("again.example"):
        if sandbox.verdict(email) == "unknown":  # not cached, on purpose: asked again
            sandbox.set_verdict(email, "valid")
    collect_and_verify(inline_worker, cli, "again.example")
    searches, verifies = sandbox.count("domain-search"), sandbox.count("email-verifier")
    second = json.loads(ok(cli, "collect", "again.example", "--verify", "--json")[0])
    kinds = {j["type"]: j for j in second}
    assert set(kinds) == {"collect", "verify"}
    assert kinds["collect"]["status"] == "completed"  # from state.db, no call
    assert kinds["verify"]["status"] == "queued"      # straight away, not after a run
    drain(inline_worker)
    done = shown(cli, kinds["verify"]["id"])
    assert done["status"] == "completed"
    assert (done["result"]["cached"], done["result"]["api_calls"]) == (15, 0)
    assert done["result"]["credits"] == 0
    assert (sandbox.count("domain-search"), sandbox.count("email-verifier")) == (
        searches, verifies)


def test_verify_domain_takes_the_collected_emails(
        sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> None:
    sandbox.add_domain("dom.example", 7)
    ok(cli, "collect", "dom.example")
    drain(inline_worker)
    job = queued(cli, "--domain", "https://www.DOM.example/team")
    assert job["emails"] == 7
    assert shown(cli, job["id"])["params"]["source"] == "domain:dom.example"
    drain(inline_worker)
    assert {r["email"] for r in cache(cli)} == set(sandbox.emails_of("dom.example"))


# -- verifications -------------------------------------------------------------------------


@pytest.fixture()
def verified(sandbox: Sandbox, inline_worker: WorkerRuntime, cli: Cli) -> list[str]:
    """Three addresses in the cache: valid, invalid, accept_all."""
    emails = {"val@c.example": "valid", "inv@c.example": "invalid",
              "acc@c.example": "accept_all"}
    for email, status in emails.items():
        sandbox.set_verdict(email, status)
    ok(cli, "verify", *emails)
    drain(inline_worker)
    return list(emails)


def test_verifications_json_shows_each_cached_answer(verified: list[str], cli: Cli) -> None:
    rows = cache(cli)
    assert [r["email"] for r in rows] == sorted(verified)
    assert all(set(r) == CACHE_KEYS for r in rows)
    by_email = {r["email"]: r for r in rows}
    assert (by_email["val@c.example"]["status"], by_email["val@c.example"]["result"]) == (
        "valid", "deliverable")
    assert by_email["inv@c.example"]["result"] == "undeliverable"
    for row in rows:
        assert row["source"] == "hunter_email_verifier"
        assert isinstance(row["score"], int) and row["asked_count"] == 1
        assert row["first_verified_at"] <= row["last_verified_at"]


def test_verifications_filter_by_address_any_case_and_by_status(
        verified: list[str], cli: Cli) -> None:
    assert [r["email"] for r in cache(cli, "VAL@C.Example ")] == ["val@c.example"]
    assert [r["email"] for r in cache(cli, "val@c.example", "inv@c.example")] == [
        "inv@c.example", "val@c.example"]
    assert [r["email"] for r in cache(cli, "--status", "invalid")] == ["inv@c.example"]
    assert cache(cli, "nobody@c.example") == []


def test_verifications_refuses_an_unknown_status(sandbox: Sandbox, cli: Cli) -> None:
    code, out, err = cli("verifications", "--status", "bogus")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--status must be one of" in err and "accept_all" in err


def test_verifications_csv_to_a_file_has_a_header(
        verified: list[str], cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "cache.csv"
    out, err = ok(cli, "verifications", "--format", "csv", "-o", str(target))
    assert out == ""
    assert f"wrote 3 verifications to {target}" in flat(err)
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert set(rows[0]) == CACHE_KEYS
    assert sorted(r["email"] for r in rows) == sorted(verified)


def test_an_empty_cache_prints_a_hint_for_the_table(sandbox: Sandbox, cli: Cli) -> None:
    out, err = ok(cli, "verifications")
    assert out == ""
    assert "no verifications yet" in err
    assert cache(cli) == []


def test_the_table_lists_each_address(verified: list[str], cli: Cli) -> None:
    out, err = ok(cli, "verifications")
    assert err == ""
    assert "EMAIL" in out and "STATUS" in out
    assert all(email in out for email in verified)


def test_an_empty_cache_still_writes_the_full_csv_header(sandbox: Sandbox, cli: Cli) -> None:
    out, _ = ok(cli, "verifications", "--format", "csv")
    assert set(out.splitlines()[0].split(",")) == CACHE_KEYS


def test_verifications_to_an_unwritable_file_exits_2(
        verified: list[str], cli: Cli, tmp_path: Path) -> None:
    code, _, err = cli("verifications", "-o", str(tmp_path / "no" / "cache.csv"))
    assert code == 2 and "cannot write" in err


def test_stderr_lines_are_not_broken_at_80_columns(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / ("a-rather-long-folder-name-" * 3) / "verified.csv"
    target.parent.mkdir()
    _, err = ok(cli, "verify", "a@x.example", "b@x.example", "-o", str(target))
    assert f"wrote 2 rows to {target}\n" in err


# -- the key stays secret ------------------------------------------------------------------


def test_the_api_key_appears_in_no_output(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    sandbox.add_domain("secret.example", 5)
    sandbox.set_verdict("k@secret.example", "valid")
    source = tmp_path / "leads.csv"
    source.write_text("email\nk@secret.example\n", encoding="utf-8")
    target = tmp_path / "out.csv"
    outputs = [
        cli("verify", "k@secret.example", "--follow"),
        cli("verify", "--file", str(source), "-o", str(target), "--json"),
        cli("collect", "secret.example", "--follow"),
        cli("collect", "secret.example", "--verify", "--json"),
        cli("verify", "--domain", "secret.example", "--json", "--follow"),
        cli("verify", "--file", str(tmp_path / "missing.csv")),
        cli("verify"),
        cli("jobs", "list", "--json"),
        cli("jobs", "show", "1", "--json"),
        cli("jobs", "show", "1"),
        cli("results", "secret.example", "--format", "json"),
        cli("verifications"),
        cli("verifications", "--json"),
        cli("verifications", "--format", "csv"),
        cli("verifications", "--status", "bogus"),
    ]
    codes = [code for code, _, _ in outputs]
    assert codes == [0] * 5 + [2, 2] + [0] * 7 + [2], outputs
    for _, out, err in outputs:
        assert KEY not in out and KEY not in err
    assert KEY not in target.read_text(encoding="utf-8")
