"""Plain aligned tables for listings that can be long (`jobs list`, `results`).

rich's Table measures and lays out every cell before printing the first line: 50 jobs
took 60 ms, a 5,000-contact `results` 5 s. Here the column widths come from the first
rows (each capped), the rows stream out as they come, and a longer cell is cut with an
ellipsis. Only the header goes through rich, for its bold. Cells come from outside
(names, positions, targets): each is cleaned of control characters first (cli/plain.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import IO

from rich.console import Console

from novahunt.cli.plain import clean

SAMPLE = 200   # rows read ahead to size the columns
GAP = "  "


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


def write_table(console: Console, headers: Sequence[str], rows: Iterable[Sequence[str]],
                *, caps: Sequence[int | None] = (), file: IO[str] | None = None) -> int:
    """Print `rows` under `headers`, the last column unpadded; returns the row count.
    `caps[i]` is the widest column i may get (None: no limit)."""
    stream = ([clean(cell) for cell in row] for row in rows)
    head = list(itertools.islice(stream, SAMPLE))
    if not head:
        return 0
    limits = list(caps) + [None] * (len(headers) - len(caps))
    widths = []
    for i, title in enumerate(headers):
        widest = max(len(title), *(len(row[i]) for row in head))
        cap = limits[i]
        widths.append(widest if cap is None else min(widest, max(cap, len(title))))

    def line(cells: Sequence[str]) -> str:
        *body, last = cells
        parts = [_cut(c, w).ljust(w) for c, w in zip(body, widths, strict=False)]
        return GAP.join([*parts, _cut(last, widths[-1]) if limits[-1] else last]).rstrip()

    out = file or console.file
    if file is None:
        console.print(line(headers), style="bold", markup=False, highlight=False,
                      soft_wrap=True)
    else:
        out.write(line(headers) + "\n")
    count = 0
    for row in itertools.chain(head, stream):
        out.write(line(row) + "\n")
        count += 1
    return count
