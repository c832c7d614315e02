"""`novahunt results`: the contacts collected for a domain, as a table, CSV or JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import IO, Any

import typer

from novahunt.cli.common import err, out, state
from novahunt.cli.plain import plain, to_json
from novahunt.cli.table import write_table
from novahunt.errors import BadInput

FIELDS = ["email", "first_name", "last_name", "position", "position_raw", "company",
          "department", "seniority", "type", "confidence", "verification_status",
          "verification_date", "linkedin", "twitter", "phone_number", "linked_domains",
          "source", "verify_status", "verify_result", "verify_score", "verified_at",
          "verify_reason"]
FORMATS = ("table", "csv", "json", "jsonl")


def register(app: typer.Typer) -> None:
    app.command("results")(results)


def results(
    domain: str = typer.Argument(..., help="The domain, e.g. stripe.com."),
    format_: str = typer.Option("table", "--format", help="table, csv, json or jsonl."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to a file."),
) -> None:
    """Show the contacts collected for DOMAIN, with their verification.

    CSV cells that a spreadsheet would run as a formula (starting with = + - @) get a
    leading '; JSON keeps the values as they are. -o replaces FILE only once the whole
    export is written.

    Example: novahunt results stripe.com --format csv -o stripe.csv
    """
    from novahunt.inputs.domains import normalise_domain
    from novahunt.inputs.exports import atomic_output, check_writable
    from novahunt.state import contacts

    if format_ not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}")
    name = normalise_domain(domain)
    if output is not None:
        check_writable(output)
    db, _ = state()
    rows = contacts.iter_contacts(db, name)
    with ExitStack() as stack:
        fh: IO[str] = sys.stdout
        if output is not None:  # an earlier export stays whole if this one fails
            fh = stack.enter_context(atomic_output(output))
        count = _write(format_, rows, fh, to_terminal=output is None)
    if count == 0 and format_ == "table":
        err.print(f"no contacts for {name} yet: `novahunt collect {name}` collects them")
    elif output is not None:
        err.print(plain(f"wrote {count} contacts to {output}"))



def _write(format_: str, rows: Iterator[dict[str, Any]], fh: IO[str], *,
           to_terminal: bool) -> int:
    """Stream rows to `fh` in the format; returns how many were written."""
    from novahunt.inputs.exports import DictCsvWriter

    # JSON on a terminal: the same values, with what the terminal would act on escaped
    dumps = partial(to_json, indent=None) if to_terminal else partial(
        json.dumps, ensure_ascii=False)
    count = 0
    if format_ == "csv":
        writer = DictCsvWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            # the domain's list in one cell, space-separated; JSON keeps it a list
            writer.writerow({**row, "linked_domains": " ".join(row["linked_domains"])})
            count += 1
    elif format_ == "jsonl":
        for row in rows:
            fh.write(dumps({k: row[k] for k in FIELDS}) + "\n")
            count += 1
    elif format_ == "json":
        fh.write("[")
        for row in rows:
            fh.write(("," if count else "") + "\n  " + dumps({k: row[k] for k in FIELDS}))
            count += 1
        fh.write("\n]\n" if count else "]\n")
    else:
        cells = ((row["email"], " ".join(x for x in (row["first_name"], row["last_name"]) if x),
                  row["position"] or "", row["department"] or "", row["type"] or "",
                  "" if row["confidence"] is None else str(row["confidence"]),
                  row["verify_status"] or "") for row in rows)
        count = write_table(out, ("EMAIL", "NAME", "POSITION", "DEPARTMENT", "TYPE", "CONF.",
                                  "VERIFIED"), cells, caps=(None, 28, 32, 16),
                            file=None if to_terminal else fh)
    return count
