"""Reading lists of emails (CSV with a header, or one address a line) and writing them
back with verification columns, keeping the input's rows and order.

Everything is checked before anything is queued: a file that is not UTF-8, has more
than MAX_ROWS rows, or has no column that holds emails is refused with one line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from novahunt.errors import BadInput
from novahunt.inputs.exports import CsvWriter, atomic_output, restore

MAX_ROWS = 100_000
MAX_ENRICH_ROWS = 10_000
_NAMES = ("email", "e-mail", "email address", "email_address", "emailaddress", "mail",
          "work email", "work_email")


@dataclass(frozen=True)
class EmailList:
    path: Path
    header: list[str] | None      # None for a plain list
    column: int                   # index of the email column (0 for a plain list)
    dialect: str                  # the CSV delimiter
    rows: list[list[str]]

    @property
    def emails(self) -> list[str]:
        return [row[self.column].strip() for row in self.rows
                if len(row) > self.column and row[self.column].strip()]


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise BadInput(f"{path}:{line}: not UTF-8 text (save the file as UTF-8)") from None


def _rows(text: str, delimiter: str) -> list[list[str]]:
    # a CSV novahunt wrote comes back as it was: `'=x@a.com` is `=x@a.com` again
    return [[restore(cell) for cell in row]
            for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _find_column(header: list[str], wanted: str | None, path: Path) -> int | None:
    lowered = [h.strip().lower() for h in header]
    if wanted is not None:
        if wanted.strip().lower() in lowered:
            return lowered.index(wanted.strip().lower())
        raise BadInput(f"{path}: no column {wanted!r}; the columns are: "
                       f"{', '.join(header)[:200]}")
    for name in _NAMES:
        if name in lowered:
            return lowered.index(name)
    for i, name in enumerate(lowered):
        if "email" in name or "e-mail" in name:
            return i
    return None


def read_emails(path: Path, column: str | None = None) -> EmailList:
    text = _read_text(path)
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    rows = _rows(text, delimiter)
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise BadInput(f"{path}: the file is empty")
    header = rows[0]
    looks_plain = len(header) == 1 and "@" in header[0] and column is None
    count = len(rows) if looks_plain else len(rows) - 1
    if count > MAX_ROWS:
        raise BadInput(f"{path}: {count} rows, more than the {MAX_ROWS:,} a job "
                       "takes: split the file")
    if looks_plain:
        return EmailList(path, None, 0, delimiter, rows)
    index = _find_column(header, column, path)
    if index is None:
        raise BadInput(f"{path}: no email column among {', '.join(header)[:200]} "
                       "(name it with --column)")
    return EmailList(path, header, index, delimiter, rows[1:])


def write_with_columns(source: EmailList, out: Path, names: list[str],
                       values: Callable[[str], Iterable[object]]) -> int:
    """Write the input's rows, in order, with `names` columns added from
    `values(normalised email)`, whole or not at all, no cell a formula. Returns the
    number of rows written."""
    with atomic_output(out) as fh:
        writer = CsvWriter(fh, delimiter=source.dialect)
        header = source.header if source.header is not None else ["email"]
        writer.writerow([*header, *names])
        for row in source.rows:
            email = row[source.column].strip().lower() if len(row) > source.column else ""
            writer.writerow([*row, *values(email)])
    return len(source.rows)


_LEAD_COLUMNS = {
    "first": ("first name", "first_name", "firstname", "given name", "given_name", "first"),
    "last": ("last name", "last_name", "lastname", "surname", "family name", "family_name",
             "last"),
    "name": ("full name", "full_name", "fullname", "name", "contact name", "contact"),
    "domain": ("domain", "company domain", "company_domain", "website", "company website",
               "company_website", "url", "company url", "web"),
    "email": _NAMES,
}


@dataclass(frozen=True)
class Leads:
    path: Path
    header: list[str]
    columns: dict[str, int | None]   # first, last, name, domain, email -> index
    dialect: str
    rows: list[list[str]]


def read_leads(path: Path, mapping: dict[str, str | None]) -> Leads:
    """A CSV of leads; columns found by name, or named by `mapping` (key -> header)."""
    text = _read_text(path)
    first = text.split("\n", 1)[0]
    delimiter = next((d for d in (",", ";", "\t") if d in first), ",")
    rows = [r for r in _rows(text, delimiter) if any(c.strip() for c in r)]
    if len(rows) < 2:
        raise BadInput(f"{path}: no rows under the header")
    header = rows[0]
    lowered = [h.strip().lower() for h in header]
    columns: dict[str, int | None] = {}
    for key, names in _LEAD_COLUMNS.items():
        wanted = mapping.get(key)
        if wanted is not None:
            if wanted.strip().lower() not in lowered:
                raise BadInput(f"{path}: no column {wanted!r}; the columns are: "
                               f"{', '.join(header)[:200]}")
            columns[key] = lowered.index(wanted.strip().lower())
        else:
            columns[key] = next((lowered.index(n) for n in names if n in lowered), None)
    if columns["domain"] is None:
        raise BadInput(f"{path}: no domain or website column among {', '.join(header)[:200]}"
                       " (name it with --domain-column)")
    if columns["name"] is None and (columns["first"] is None or columns["last"] is None):
        raise BadInput(f"{path}: needs first and last name columns, or a full name column "
                       "(--first-column, --last-column, --name-column)")
    return Leads(path, header, columns, delimiter, rows[1:])

