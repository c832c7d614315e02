"""Reading lists of emails (CSV with a header, or one address a line) and lists of leads,
as any CRM or spreadsheet exports them, and writing them back with added columns,
keeping the input's rows, order, delimiter, encoding and byte order mark.

What a real export looks like decides the reading: line endings of any kind (an old
Mac's CR only included), `,` `;` tab or `|` between cells (Excel's `sep=;` first line
says which, else the rows do, so a header cell holding another delimiter does not
mislead it), a header named the CRM's
way (inputs/headers.py), a cell with several addresses (`a@x.com;b@x.com`, as Attio and
Close export), and an encoding that is not UTF-8 (a cp1252 Excel export, found by
charset-normalizer). Row numbers in notes are the spreadsheet's: the header is row 1,
a blank line is a row, a quoted cell with a line break inside stays one row.

Everything is checked before anything is queued: a file that is not text, has more
than MAX_ROWS rows, or has no column that holds emails is refused with one line.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import charset_normalizer

from novahunt.errors import BadInput
from novahunt.inputs import headers
from novahunt.inputs.exports import UTF8, CsvWriter, Encoding, atomic_output, restore

MAX_ROWS = 100_000
MAX_ENRICH_ROWS = 10_000
DELIMITERS = (",", ";", "\t", "|")
# the rows the delimiter is judged on: enough to outvote a header, quick on any file
_SAMPLE_ROWS = 50
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
# what spreadsheets save a CSV in when it is not Unicode: Windows' ANSI code pages, the
# old Mac's Roman, the East Asian ones. charset-normalizer judges only among these, as
# it guesses big5 for `jérôme` in cp1252 when it may pick any codec it knows.
_CANDIDATES = ["cp1252", "mac_roman", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255",
               "cp1256", "cp1257", "cp874", "shift_jis", "gb18030", "big5", "euc_kr",
               "utf_16_le", "utf_16_be", "latin_1"]
# how much messier than the best guess a codec may read and still be preferred
_CHAOS_MARGIN = 0.05
_SEVERAL = re.compile(r"[;,\s]+")
# Excel's own hint on a file's first line (`sep=;`): the delimiter, and no row of the sheet
_SEP_LINE = re.compile(r"sep=([^\r\n])(?:\r\n|\r|\n)")


def addresses(cell: str) -> list[str]:
    """The addresses in a cell: `a@x.com; b@x.com` is two, one address is one, an empty
    cell none. A cell whose pieces are not all addresses stays whole (`"a,b"@x.com`)."""
    cell = cell.strip()
    if cell.count("@") < 2:
        return [cell] if cell else []
    parts = [part for part in _SEVERAL.split(cell) if part]
    return parts if all("@" in part for part in parts) else [cell]


def first_value(cell: str) -> str:
    """The first of several values in a cell (HubSpot's `Company Domains`: `a.com;b.com`)."""
    return next((part for part in _SEVERAL.split(cell.strip()) if part), "")


@dataclass(frozen=True)
class EmailList:
    path: Path
    header: list[str] | None      # None for a plain list
    column: int                   # index of the email column (0 for a plain list)
    dialect: str                  # the CSV delimiter
    rows: list[list[str]]
    encoding: Encoding = UTF8     # the input's: its output is written the same way
    numbers: list[int] = field(default_factory=list)  # each row's spreadsheet row
    preamble: str = ""            # Excel's `sep=;` line, written back as it came

    @property
    def emails(self) -> list[str]:
        return [address for row in self.rows if len(row) > self.column
                for address in addresses(row[self.column])]


def read_text(path: Path) -> tuple[str, Encoding]:
    """The file's text and how it was stored: a BOM first, then UTF-8, then the likeliest
    of the spreadsheets' encodings; Excel's default (cp1252, Mac Roman for a file with an
    old Mac's CR-only lines) when it reads as well as the likeliest."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}") from None
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(codec), Encoding(codec, bom=True)
            except UnicodeDecodeError:
                raise BadInput(f"{path}: starts like {codec} text but is not "
                               "(save the file as UTF-8)") from None
    try:
        return raw.decode("utf-8"), UTF8
    except UnicodeDecodeError:
        pass
    found = charset_normalizer.from_bytes(raw, cp_isolation=_CANDIDATES)
    best = found.best()
    if best is None:
        raise BadInput(f"{path}: not text in any encoding novahunt can tell "
                       "(save the file as UTF-8)")
    old_mac = b"\r" in raw and b"\n" not in raw
    preferred = "mac_roman" if old_mac else "cp1252"
    for match in found:
        if match.chaos <= best.chaos + _CHAOS_MARGIN and (
                preferred in (match.encoding, *match.could_be_from_charset)):
            return raw.decode(preferred), Encoding(codecs.lookup(preferred).name)
    codec = codecs.lookup(best.encoding).name
    return str(best), Encoding(codec)


def _records(text: str, delimiter: str) -> list[list[str]]:
    # newline="": csv itself splits lines, so \r, \n and \r\n end a row and a quoted
    # cell keeps its line breaks. A CSV novahunt wrote comes back as it was: `'=x@a.com`
    # is `=x@a.com` again.
    try:
        return [[restore(cell) for cell in row]
                for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:  # a NUL byte, a file past the field size limit
        raise BadInput(f"not a CSV file: {exc}") from None


def delimiter_of(text: str) -> str:
    """The delimiter among `,` `;` tab `|` that splits the first rows into the most
    regular table: as many cells in each row as in the header, then more columns. A
    header cell holding another delimiter (`"Company, Inc";Email`) is outvoted by the
    rows; one column (a plain list) is read with `,`."""
    head = text[:65_536]
    best, score = ",", (0.0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(head, newline=""), delimiter=delimiter)
        try:
            rows = list(islice((r for r in reader if r), _SAMPLE_ROWS))
            ended = next(reader, None) is None
        except csv.Error:
            continue
        if ended and len(head) < len(text) and len(rows) > 1:
            rows = rows[:-1]  # the sample ends inside this row
        if not rows or len(rows[0]) < 2:
            continue
        regular = sum(len(row) == len(rows[0]) for row in rows) / len(rows)
        if (regular, len(rows[0])) > score:
            best, score = delimiter, (regular, len(rows[0]))
    return best


@dataclass(frozen=True)
class _Table:
    text_encoding: Encoding
    delimiter: str
    rows: list[list[str]]        # rows with something in them
    numbers: list[int]           # each row's spreadsheet row number
    preamble: str


def _table(path: Path) -> _Table:
    text, encoding = read_text(path)
    preamble = ""
    if (sep := _SEP_LINE.match(text)) is not None:
        preamble, text = sep.group(0).rstrip("\r\n"), text[sep.end():]
    delimiter = sep.group(1) if sep is not None else delimiter_of(text)
    try:
        records = _records(text, delimiter)
    except BadInput as exc:
        raise BadInput(f"{path}: {exc}") from None
    kept = [(number, row) for number, row in enumerate(records, start=1)
            if any(cell.strip() for cell in row)]
    return _Table(encoding, delimiter, [row for _, row in kept], [n for n, _ in kept],
                  preamble)


def _find_column(header: list[str], wanted: str | None, path: Path) -> int | None:
    if wanted is not None:
        index = headers.named(header, wanted)
        if index is None:
            raise BadInput(f"{path}: no column {wanted!r}; the columns are: "
                           f"{', '.join(header)[:200]}")
        return index
    return headers.find(header, "email", loose=True)


def read_emails(path: Path, column: str | None = None) -> EmailList:
    table = _table(path)
    rows = table.rows
    if not rows:
        raise BadInput(f"{path}: the file is empty")
    header = rows[0]
    looks_plain = len(header) == 1 and "@" in header[0] and column is None
    count = len(rows) if looks_plain else len(rows) - 1
    if count > MAX_ROWS:
        raise BadInput(f"{path}: {count} rows, more than the {MAX_ROWS:,} a job "
                       "takes: split the file")
    if looks_plain:
        return EmailList(path, None, 0, table.delimiter, rows, table.text_encoding,
                         table.numbers, table.preamble)
    index = _find_column(header, column, path)
    if index is None:
        raise BadInput(f"{path}: no email column among {', '.join(header)[:200]} "
                       "(name it with --column)")
    return EmailList(path, header, index, table.delimiter, rows[1:], table.text_encoding,
                     table.numbers[1:], table.preamble)


def write_with_columns(source: EmailList, out: Path, names: list[str],
                       values: Callable[[str], Iterable[object]]) -> int:
    """Write the input's rows, in order, with `names` columns added from
    `values(normalised email)`, whole or not at all, no cell a formula, in the input's
    encoding. A cell with several addresses gets each column's values joined by `; `, in
    the cell's order. Returns the number of rows written."""
    with atomic_output(out, source.encoding) as fh:
        if source.preamble:
            fh.write(source.preamble + "\r\n")
        writer = CsvWriter(fh, delimiter=source.dialect)
        header = source.header if source.header is not None else ["email"]
        writer.writerow([*header, *names])
        for row in source.rows:
            cell = row[source.column] if len(row) > source.column else ""
            found = [list(values(a.lower())) for a in addresses(cell)] or [
                list(values(""))]
            added = found[0] if len(found) == 1 else [
                "; ".join(str(v) for v in column) for column in zip(*found, strict=True)]
            writer.writerow([*row, *added])
    return len(source.rows)


@dataclass(frozen=True)
class Leads:
    path: Path
    header: list[str]
    columns: dict[str, int | None]   # first, last, name, domain, email -> index
    dialect: str
    rows: list[list[str]]
    encoding: Encoding = UTF8        # the input's: the output is written the same way
    numbers: list[int] = field(default_factory=list)  # each row's spreadsheet row
    preamble: str = ""               # Excel's `sep=;` line, written back as it came


def read_leads(path: Path, mapping: dict[str, str | None]) -> Leads:
    """A CSV of leads; columns found by name (inputs/headers.py), or named by `mapping`
    (key -> header)."""
    table = _table(path)
    rows = table.rows
    if len(rows) < 2:
        raise BadInput(f"{path}: no rows under the header")
    header = rows[0]
    columns: dict[str, int | None] = {}
    for key in headers.ALIASES:
        wanted = mapping.get(key)
        columns[key] = (headers.find(header, key) if wanted is None
                        else _find_column(header, wanted, path))
    if columns["domain"] is None:
        raise BadInput(f"{path}: no domain or website column among {', '.join(header)[:200]}"
                       " (name it with --domain-column)")
    if columns["name"] is None and (columns["first"] is None or columns["last"] is None):
        raise BadInput(f"{path}: needs first and last name columns, or a full name column "
                       "(--first-column, --last-column, --name-column)")
    return Leads(path, header, columns, table.delimiter, rows[1:], table.text_encoding,
                 table.numbers[1:], table.preamble)
