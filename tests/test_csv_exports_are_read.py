"""Any CSV a CRM or a spreadsheet exports is read: the CRMs' own column names, their
encodings and line endings, several addresses in a cell, the spreadsheet's row numbers;
and what novahunt writes back is in the input's encoding. The cases are in
tests/data/crm_exports (cases.json; SOURCE.md names where each comes from)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from helpers import Cli, drain, run_process
from novahunt.inputs import headers
from novahunt.inputs.exports import Encoding, atomic_output
from novahunt.inputs.leads import (
    addresses,
    delimiter_of,
    first_value,
    read_emails,
    read_leads,
    read_text,
    write_with_columns,
)
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

DATA = Path(__file__).parent / "data" / "crm_exports"
CASES: list[dict[str, Any]] = json.loads((DATA / "cases.json").read_text(encoding="utf-8"))


def stored(case: dict[str, Any], folder: Path) -> Path:
    """The case's file as the exporting program stores it: its encoding, BOM, line ends."""
    how = case["write"]
    text = (DATA / case["file"]).read_text(encoding="utf-8").replace("\n", how["newline"])
    path = folder / case["file"]
    path.write_bytes(("\ufeff" if how["bom"] else "").encode(how["codec"])
                     + text.encode(how["codec"]))
    return path


def header_of(path: Path) -> list[str]:
    text, _ = read_text(path)
    return next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text)))


@pytest.mark.pure
@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_every_export_is_read_with_its_columns(case: dict[str, Any], tmp_path: Path) -> None:
    path = stored(case, tmp_path)
    text, encoding = read_text(path)
    assert str(encoding) == case["encoding"]
    assert text.replace("\r\n", "\n").replace("\r", "\n") == (DATA / case["file"]).read_text(
        encoding="utf-8")
    assert delimiter_of(text) == case["delimiter"]
    header = header_of(path)
    found = {key: headers.find(header, key) for key in case["columns"]}
    assert {key: None if i is None else header[i] for key, i in found.items()} == (
        case["columns"])
    if "emails" in case:
        assert read_emails(path).emails == case["emails"]
    if "row_numbers" in case:
        assert read_leads(path, {}).numbers == case["row_numbers"]
    if "first_domain" in case:
        index = found["domain"]
        assert index is not None
        text_rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=","))
        assert first_value(text_rows[1][index]) == case["first_domain"]


@pytest.mark.pure
def test_the_readme_lists_every_accepted_header_name() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("<!-- lead-columns -->"):readme.index("<!-- /lead-columns -->")]
    for key, names in headers.ALIASES.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {key} "))
        assert [n.strip(" `") for n in row.split("|")[2].split(",")] == list(names)


@pytest.mark.pure
def test_prefixes_say_whose_field_a_header_is() -> None:
    header = ["Organization - Name", "Person - Name", "Organization - Website",
              "Personal Email", "Email Status"]
    assert headers.find(header, "name") == 1  # the company's name is no person's
    assert headers.find(header, "domain") == 2
    # enrich: a personal address is not the lead's email; verify --file takes it
    assert headers.find(header, "email") is None
    assert headers.find(header, "email", loose=True) == 3
    assert headers.canonical("Account.Website") == ("company", "website")
    assert headers.canonical("\ufeffFirstName") == (None, "first name")


@pytest.mark.pure
@pytest.mark.parametrize(("cell", "expected"), [
    ("a@x.com;b@x.com", ["a@x.com", "b@x.com"]),
    ("a@x.com, b@x.com", ["a@x.com", "b@x.com"]),
    ("a@x.com\nb@x.com", ["a@x.com", "b@x.com"]),
    (" a@x.com ", ["a@x.com"]),
    ("", []),
    ('"a,b"@x.com', ['"a,b"@x.com']),
    ("Ann <a@x.com>, b@x.com", ["Ann <a@x.com>, b@x.com"]),  # left whole, then refused
])
def test_a_cell_with_several_addresses_is_split(cell: str, expected: list[str]) -> None:
    assert addresses(cell) == expected


@pytest.mark.pure
@pytest.mark.parametrize(("text", "delimiter"), [
    ('"Company, Inc";Email;Phone\nAcme;a@acme.example;1\nBeta;b@beta.example;2\n', ";"),
    ("Name|Website, URL|Email\nAnn|ann.example|a@ann.example\n", "|"),
    ("Name\tNotes; more\tEmail\nAnn\tx; y\ta@ann.example\n", "\t"),
    ("email\na@x.example;b@x.example\n", ","),
    ("a@x.example\nb@x.example\n", ","),
])
def test_the_delimiter_is_found_from_the_rows(text: str, delimiter: str) -> None:
    assert delimiter_of(text) == delimiter


@pytest.mark.pure
def test_bytes_that_are_no_text_are_refused_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x00\x01\x02\x03\xff\xfe\xfd" * 30)
    with pytest.raises(Exception, match="not text in any encoding"):
        read_text(path)


@pytest.mark.pure
def test_an_output_keeps_a_cp1252_input_or_turns_utf8_with_bom_when_it_cannot(
        tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    with atomic_output(out, Encoding("cp1252")) as fh:
        fh.write("José;Müller\r\n")
    assert out.read_bytes() == "José;Müller\r\n".encode("cp1252")
    with atomic_output(out, Encoding("cp1252")) as fh:
        fh.write("José;Łukasz\r\n")  # Ł is not in cp1252: nothing becomes `?`
    assert out.read_bytes() == "\ufeffJosé;Łukasz\r\n".encode("utf-8")
    with atomic_output(out, Encoding("utf-16-le", bom=True)) as fh:
        fh.write("Søren\r\n")
    assert out.read_bytes() == "\ufeffSøren\r\n".encode("utf-16-le")


@pytest.mark.pure
def test_several_addresses_in_a_cell_get_their_values_in_the_cells_order(
        tmp_path: Path) -> None:
    path = tmp_path / "close.csv"
    path.write_text("Name,Emails\nRuth,ruth@b.example;RB@b.example\nNed,ned@k.example\n",
                    encoding="utf-8")
    listing = read_emails(path)
    out = tmp_path / "out.csv"
    write_with_columns(listing, out, ["status"], lambda email: [f"s:{email}"])
    assert out.read_text(encoding="utf-8").splitlines() == [
        "Name,Emails,status", "Ruth,ruth@b.example;RB@b.example,s:ruth@b.example; s:rb@b.example",
        "Ned,ned@k.example,s:ned@k.example"]


@pytest.mark.pure
def test_excels_sep_line_gives_the_delimiter_and_is_written_back(tmp_path: Path) -> None:
    path = tmp_path / "sep.csv"
    path.write_text("sep=;\r\nName;E-Mail, work\r\nAnn, Lee;ann@lee.example\r\n",
                    encoding="utf-8")
    listing = read_emails(path)
    assert (listing.dialect, listing.emails, listing.numbers) == (
        ";", ["ann@lee.example"], [2])  # the sep line is no row of the sheet
    out = tmp_path / "out.csv"
    write_with_columns(listing, out, ["s"], lambda email: ["ok"])
    assert out.read_text(encoding="utf-8").splitlines() == [
        "sep=;", "Name;E-Mail, work;s", "Ann, Lee;ann@lee.example;ok"]


# -- through the CLI ------------------------------------------------------------------


def test_a_cr_only_cp1252_file_is_verified_and_written_back_as_it_came(
        sandbox: Sandbox, tmp_path: Path) -> None:
    """An old Mac's CR-only lines were an internal error (`_csv.Error`); a cp1252 file
    was refused. Both are read now, and -o writes Excel's encoding back."""
    sandbox.set_verdict("jose@cafe.example", "valid")
    path = tmp_path / "leads.csv"
    path.write_bytes("Name;E-Mail\rJosé Núñez;jose@cafe.example\rBad;nope\r".encode("cp1252"))
    out = tmp_path / "out.csv"
    done = run_process("verify", "--file", str(path), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("cp1252"), newline=""),
                           delimiter=";"))
    assert rows[1][:3] == ["José Núñez", "jose@cafe.example", "valid"]
    assert rows[2][2] == "invalid"
    assert sandbox.count("email-verifier") == 1  # `nope` is never sent, never billed


def test_enrich_reads_a_crm_export_and_names_the_spreadsheets_rows(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    sandbox.add_domain("orbit-labs.example", 3, pattern="{first}.{last}")
    case = next(c for c in CASES if c["id"] == "rfc4180-line-breaks")
    path = stored(case, tmp_path)
    out = tmp_path / "out.csv"
    code, stdout, err = cli("enrich", str(path), "-o", str(out), "--json")
    assert code == 0, err
    drain(inline_worker)
    [job] = json.loads(stdout)
    shown = json.loads(cli("jobs", "show", str(job["id"]), "--json")[1])
    assert shown["result"]["skipped_rows"] == ["row 4: no usable domain ('')",
                                               "row 5: no usable domain ('')"]
    assert sandbox.count("email-finder") == 1  # only Ann had a name and a domain


def test_enrich_writes_back_in_the_inputs_encoding_with_the_crms_headers(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    sandbox.add_domain("haworth.example", 3, pattern="{first}.{last}")
    sandbox.add_domain("iberica-trading.example", 3, pattern="{first}.{last}")
    case = next(c for c in CASES if c["id"] == "salesforce-contacts-report")
    path = stored(case, tmp_path)
    out = tmp_path / "out.csv"
    code, _, err = cli("enrich", str(path), "-o", str(out))
    assert code == 0, err
    drain(inline_worker)
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("cp1252"), newline="")))
    assert [r["First Name"] for r in rows] == ["José", "Zoë"]
    assert rows[0]["enriched_email"].endswith("@iberica-trading.example")
    assert rows[1]["enrich_note"] == "already had an email"
