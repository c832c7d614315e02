"""Files novahunt hands back: CSV a spreadsheet will not run, outputs written whole or not at all.

A CSV cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to
Excel and LibreOffice (`=HYPERLINK(...)`, `=1+1+cmd|' /C calc'!A0`): names, positions and
whole lead lists come from strangers, so every CSV novahunt writes goes through
`CsvWriter` / `DictCsvWriter`, which put a `'` in front of such a cell as OWASP's "CSV
Injection" page describes. A `+` or `-` followed only by digits, spaces and `( ) . / -`
stays as it is: a phone number (`+1 415 555 0134`) or a negative number names no function
and no cell, so nothing in it can run. JSON keeps the raw values. `restore` reads such a
cell back as it was, so a file novahunt wrote can be handed to it again (`verify --file
out.csv` verifies `-x@a.com`, not `'-x@a.com`).

`-o FILE` is written by `atomic_output`: into a temporary file next to FILE, renamed onto it
only once everything is written, so a failure half-way (a damaged state.db, a full disk)
leaves an earlier FILE as it was.

A file handed back (`verify --file F -o`, `enrich F`) is written in F's encoding and with
its byte order mark, so Excel shows `José` as it showed it in F: a cp1252 export stays
cp1252. When a cell cannot be written in that encoding (a Polish name Hunter returned
into a cp1252 file), the whole file is UTF-8 with a BOM instead, which Excel reads too:
nothing written is replaced by `?`.
"""

from __future__ import annotations

import csv
import errno
import io
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from novahunt.errors import BadInput, NovahuntError, StorageFull

# codecs that can write any text: nothing to check, no fallback needed
_UNICODE = frozenset({"utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"})


@dataclass(frozen=True)
class Encoding:
    """How a text file is stored: a Python codec name (without BOM handling) and
    whether it starts with a byte order mark."""

    codec: str = "utf-8"
    bom: bool = False

    def __str__(self) -> str:
        return f"{self.codec}{' with BOM' if self.bom else ''}"


UTF8 = Encoding()
UTF8_BOM = Encoding("utf-8", bom=True)


# OWASP's list: what makes a spreadsheet read a cell as a formula (or a DDE command)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMERIC = re.compile(r"[+-][\d ()./-]*\d[\d ()./-]*")


def neutralise(value: object) -> object:
    """The cell as a spreadsheet should show it: text, never a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not (
            _NUMERIC.fullmatch(value)):
        return "'" + value
    return value


def restore(cell: str) -> str:
    """A cell `neutralise` wrote, as it was before."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS) and (
            neutralise(cell[1:]) == cell):
        return cell[1:]
    return cell


class CsvWriter:
    """csv.writer whose every cell is neutralised (the header too: it can be a stranger's)."""

    def __init__(self, fh: IO[str], delimiter: str = ",") -> None:
        self._writer = csv.writer(fh, delimiter=delimiter)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([neutralise(cell) for cell in row])


if TYPE_CHECKING:
    _DictWriter = csv.DictWriter[str]
else:  # not subscriptable at run time before Python 3.12
    _DictWriter = csv.DictWriter


class DictCsvWriter(_DictWriter):
    """csv.DictWriter whose every cell is neutralised."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: neutralise(v) for k, v in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]) -> None:
        for row in rowdicts:
            self.writerow(row)


def check_writable(path: Path) -> None:
    """Refuse an output path that cannot be written, before any work is paid for."""
    target = path.expanduser()
    if target.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")
    folder = target.resolve().parent
    if not folder.is_dir():
        raise BadInput(f"cannot write {path}: no folder {folder}")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise BadInput(f"cannot write {path}: permission denied")


@contextmanager
def atomic_output(path: Path, encoding: Encoding = UTF8) -> Iterator[IO[str]]:
    """A text file (UTF-8 unless `encoding` says otherwise, newline="" for csv) that
    replaces `path` only when the `with` block ends without an error; a temporary file is
    all a failure leaves, and it is removed. A path that is no regular file (/dev/stdout,
    a FIFO) is written directly. An `encoding` that cannot hold every character written
    gives a UTF-8 file with a BOM (see the module's docstring)."""
    if encoding.codec in _UNICODE:
        with _atomic_text(path, encoding.codec) as fh:
            if encoding.bom:
                fh.write("\ufeff")
            yield fh
        return
    buffer = io.StringIO(newline="")  # checked whole before a byte is written
    yield buffer
    text = buffer.getvalue()
    try:
        text.encode(encoding.codec)
    except UnicodeEncodeError:
        encoding = UTF8_BOM
    with _atomic_text(path, encoding.codec) as fh:
        fh.write(("\ufeff" if encoding.bom else "") + text)


@contextmanager
def _atomic_text(path: Path, codec: str) -> Iterator[IO[str]]:
    given = path.expanduser()
    if given.is_dir():
        raise BadInput(f"cannot write {path}: it is a folder")
    if given.exists() and not given.is_file():  # asked of the path itself: /dev/stdout
        try:
            fh = given.open("w", encoding=codec, newline="")
        except OSError as exc:
            raise BadInput(f"cannot write {path}: {exc.strerror or exc}") from None
        with fh:
            yield fh
        return
    target = Path(os.path.realpath(given))  # through a symlink: its file, not the link
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                   suffix=".partial")
    except OSError as exc:
        raise _write_error(path, exc) from None
    try:
        with suppress(OSError):  # an overwritten export keeps the mode it had
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        with os.fdopen(fd, "w", encoding=codec, newline="") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        _remove(tmp)
        raise _write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def _write_error(path: Path, exc: OSError) -> NovahuntError:
    message = f"cannot write {path}: {exc.strerror or exc}"
    # a full disk is the disk's state, not the user's input: a job waits for room
    full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return StorageFull(message) if full else BadInput(message)


def _remove(tmp: str) -> None:
    with suppress(OSError):
        os.unlink(tmp)
