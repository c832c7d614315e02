"""Job items: the input list of a list job (verify), one row per distinct value.

Each item's state is part of the job's checkpoint: an item is marked done in the same
transaction that stores what it produced, so a killed worker redoes at most the item
in flight. Deferred items (no final answer yet) come back after `next_at`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from novahunt.state.base import Database, Row


@dataclass(frozen=True)
class Item:
    job_id: int
    seq: int
    value: str
    state: str
    outcome: str | None
    tries: int
    next_at: float | None


def _item(r: Row) -> Item:
    return Item(r["job_id"], r["seq"], r["value"], r["state"], r["outcome"], r["tries"],
                r["next_at"])


def add(db: Database, job_id: int, values: Sequence[str]) -> None:
    """Insert a job's items (call inside the job's creating transaction)."""
    db.executemany(
        "INSERT INTO job_items (job_id, seq, value) VALUES (?, ?, ?)",
        [(job_id, seq, value) for seq, value in enumerate(values)])


def next_item(db: Database, job_id: int, now: float) -> Item | None:
    """The next pending item in input order, else a deferred one that is due."""
    row = db.one(
        "SELECT * FROM job_items WHERE job_id = ? AND state = 'pending' ORDER BY seq LIMIT 1",
        (job_id,))
    if row is None:
        row = db.one(
            "SELECT * FROM job_items WHERE job_id = ? AND state = 'deferred' AND next_at <= ?"
            " ORDER BY next_at, seq LIMIT 1", (job_id, now))
    return None if row is None else _item(row)


def next_deferred_at(db: Database, job_id: int) -> float | None:
    value = db.scalar(
        "SELECT MIN(next_at) FROM job_items WHERE job_id = ? AND state = 'deferred'",
        (job_id,))
    return None if value is None else float(value)


def done(db: Database, item: Item, outcome: str,
         output: dict[str, Any] | None = None) -> None:
    db.execute(
        "UPDATE job_items SET state = 'done', outcome = ?, output = ? WHERE job_id = ?"
        " AND seq = ?", (outcome, None if output is None else json.dumps(output),
                         item.job_id, item.seq))


def outputs(db: Database, job_id: int) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """Each item's value and output, in input order, streamed."""
    for row in db.execute(
            "SELECT value, output FROM job_items WHERE job_id = ? ORDER BY seq", (job_id,)):
        yield row["value"], None if row["output"] is None else json.loads(row["output"])


def defer(db: Database, item: Item, until: float, *, count_try: bool) -> None:
    db.execute(
        "UPDATE job_items SET state = 'deferred', next_at = ?, tries = tries + ?"
        " WHERE job_id = ? AND seq = ?", (until, int(count_try), item.job_id, item.seq))


def outcomes(db: Database, job_id: int) -> dict[str, int]:
    """Counts by outcome for done items, plus 'remaining' for the rest."""
    counts: dict[str, int] = {}
    for row in db.query(
            "SELECT state, outcome, COUNT(*) AS n FROM job_items WHERE job_id = ?"
            " GROUP BY state, outcome", (job_id,)):
        key = row["outcome"] if row["state"] == "done" else "remaining"
        counts[key] = counts.get(key, 0) + row["n"]
    return counts


def values(db: Database, job_id: int) -> list[str]:
    return [r[0] for r in db.query(
        "SELECT value FROM job_items WHERE job_id = ? ORDER BY seq", (job_id,))]
