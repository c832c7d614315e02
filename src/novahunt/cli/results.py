"""`novahunt results`: the contacts collected for a domain, as a table, CSV or JSON."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import typer

from novahunt.cli.common import err, out, state
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

    Example: novahunt results stripe.com --format csv -o stripe.csv
    """
    from novahunt.inputs.domains import normalise_domain
    from novahunt.state import contacts

    if format_ not in FORMATS:
        raise BadInput(f"--format must be one of {', '.join(FORMATS)}")
    name = normalise_domain(domain)
    db, _ = state()
    rows = contacts.iter_contacts(db, name)
    with ExitStack() as stack:
        fh: IO[str] = sys.stdout
        if output is not None:
            try:
                fh = stack.enter_context(output.open("w", encoding="utf-8", newline=""))
            except OSError as exc:
                raise BadInput(f"cannot write {output}: {exc.strerror}") from None
        count = _write(format_, rows, fh, to_terminal=output is None)
    if count == 0 and format_ == "table":
        err.print(f"no contacts for {name} yet: `novahunt collect {name}` collects them")
    elif output is not None:
        err.print(f"wrote {count} contacts to {output}")



def _write(format_: str, rows: Iterator[dict[str, Any]], fh: IO[str], *,
           to_terminal: bool) -> int:
    """Stream rows to `fh` in the format; returns how many were written."""
    count = 0
    if format_ == "csv":
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            # the domain's list in one cell, space-separated; JSON keeps it a list
            writer.writerow({**row, "linked_domains": " ".join(row["linked_domains"])})
            count += 1
    elif format_ == "jsonl":
        for row in rows:
            fh.write(json.dumps({k: row[k] for k in FIELDS}, ensure_ascii=False) + "\n")
            count += 1
    elif format_ == "json":
        fh.write("[")
        for row in rows:
            fh.write(("," if count else "") + "\n  " + json.dumps(
                {k: row[k] for k in FIELDS}, ensure_ascii=False))
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
