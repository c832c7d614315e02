"""One rate limiter for every thread and process on the machine, kept in state.db.

Each provider endpoint is a bucket with one or more windows ("15/s,500/min"). A caller
*reserves* the next free send time in one `BEGIN IMMEDIATE` transaction and then sleeps
until it, so threads and processes queue up in order instead of racing and retrying.

The bucket is a sliding-window log: the n-th most recent reservation of a window of n
per period must lie a full period before the new one, for every window, and slots are
handed out in time order. That keeps any stretch of one period under n requests, which
is what a server counting requests over a sliding window checks (a token bucket would
allow up to 2n-1 across a refill). A small margin on each period absorbs network jitter
between send and arrival, and slots are spaced evenly rather than handed out in bursts.

When the server throttles anyway (another program shares the key), a Retry-After
becomes a block on the bucket: every worker's next reservation starts after it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from novahunt.errors import ConfigError
from novahunt.state.base import Database

_UNITS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0,
          "h": 3600.0, "hour": 3600.0, "d": 86400.0, "day": 86400.0}
_WINDOW = re.compile(r"^\s*(\d+)\s*/\s*(\d*(?:\.\d+)?)\s*([a-z]+)\s*$")

# Hunter's published limits per API key (hunter.io/api-documentation/v2)
HUNTER_LIMITS = {
    "domain-search": "15/s,500/min",
    "email-finder": "15/s,500/min",
    "email-verifier": "10/s,300/min",
    "email-count": "15/s,500/min",  # free, but throttled like the rest
}


@dataclass(frozen=True)
class Window:
    count: int
    period: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h", 86400.0: "d"}.get(self.period)
        return f"{self.count}/{unit}" if unit else f"{self.count}/{self.period:g}s"


def parse_limit(text: str, origin: str = "rate limit") -> tuple[Window, ...]:
    """'10/s,300/min' -> two windows. Also '5/2s', '1000/h'."""
    windows = []
    for part in text.split(","):
        match = _WINDOW.match(part.lower())
        name = match.group(3) if match else ""
        unit = _UNITS.get(name) or _UNITS.get(name.rstrip("s"))
        if not match or unit is None or int(match.group(1)) < 1:
            raise ConfigError(f"{origin}: {text!r} is not a rate like 10/s,300/min")
        scale = float(match.group(2)) if match.group(2) else 1.0
        windows.append(Window(int(match.group(1)), scale * unit))
    return tuple(sorted(windows, key=lambda w: w.period))


def margin(period: float) -> float:
    # tolerance for a request that reaches the server later than its neighbours; 30 ms
    # still saw a rare 429 with two worker processes on two busy cores
    return max(0.05, 0.02 * period)


def _slot(windows: tuple[Window, ...]) -> str:
    """SQL for the next free send time of a bucket: the latest of now, the block, the
    latest slot plus an even spacing, and each window's n-th latest slot a period (and
    a margin) on. Parameters: see `_slot_params`."""
    # first come, first served, and evenly spaced: a burst of n requests sent at once
    # reaches the server spread out by thread scheduling, and its stragglers would share
    # a window with the next period's first requests
    nths = "".join(" UNION ALL SELECT (SELECT at FROM rate_slots WHERE bucket = ?"
                   " ORDER BY at DESC LIMIT 1 OFFSET ?) + ?" for _ in windows)
    return ("SELECT MAX(v) AS at FROM (SELECT ? AS v"
            " UNION ALL SELECT until FROM rate_blocks WHERE bucket = ?"
            f" UNION ALL SELECT MAX(at) + ? FROM rate_slots WHERE bucket = ?{nths}) AS c")


def _slot_params(bucket: str, windows: tuple[Window, ...], now: float) -> tuple[Any, ...]:
    spacing = windows[0].period / windows[0].count if windows else 0.0  # sorted by period
    return (now, bucket, spacing, bucket,
            *(v for w in windows for v in (bucket, w.count - 1, w.period + margin(w.period))))


# slots older than two of the longest windows are never read again: dropped by each
# process at most once a second per bucket, not on every reservation
PRUNE_EVERY = 1.0
_pruned: dict[tuple[str, str], float] = {}


class Paused(Exception):
    """A kind of credit is paused for its quota: nothing is reserved for it until it
    resumes."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def earliest(db: Database, bucket: str, windows: tuple[Window, ...]) -> float:
    """When a reservation made now would be served."""
    now = time.time()
    return float(db.scalar(_slot(windows), _slot_params(bucket, windows, now)))


def reserve(db: Database, bucket: str, windows: tuple[Window, ...], *,
            max_wait: float, now: float | None = None, provider: str | None = None,
            ) -> float | None:
    """Reserve the next send time for `bucket`; None if it is more than `max_wait`
    away (nothing is reserved then, so a postponed job wastes no slot). With
    `provider`, a pause key ("hunter:search"), raises `Paused` while that kind of
    credit is paused for its quota."""
    now = time.time() if now is None else now
    paused = (" AND NOT EXISTS (SELECT 1 FROM provider_pauses WHERE provider = ?)"
              if provider is not None else "")
    reason = None
    # inside another transaction, part of it (no savepoint): this block raises nothing
    with db.atomic(lock=f"rate:{bucket}", savepoint=False):
        # one statement reads the bucket and takes the slot
        at = db.scalar(
            f"INSERT INTO rate_slots (bucket, at) SELECT ?, s.at FROM ({_slot(windows)}) AS s"
            f" WHERE s.at <= ?{paused} RETURNING at",
            (bucket, *_slot_params(bucket, windows, now), now + max_wait,
             *((provider,) if provider is not None else ())))
        if at is None:
            if provider is not None:
                reason = db.scalar("SELECT reason FROM provider_pauses WHERE provider = ?",
                                   (provider,))
        elif now - _pruned.get((db.location, bucket), 0.0) >= PRUNE_EVERY:
            longest = max((w.period for w in windows), default=1.0)
            db.execute("DELETE FROM rate_slots WHERE bucket = ? AND at < ?",
                       (bucket, now - 2 * longest - 1))
            _pruned[(db.location, bucket)] = now
    if reason is not None:
        raise Paused(str(reason))
    return None if at is None else float(at)


def block(db: Database, bucket: str, until: float, reason: str) -> None:
    """Nobody sends to `bucket` before `until` (the server said Retry-After)."""
    with db.atomic():
        db.execute(
            "INSERT INTO rate_blocks (bucket, until, reason) VALUES (?, ?, ?)"
            " ON CONFLICT (bucket) DO UPDATE SET until = CASE WHEN excluded.until >"
            " rate_blocks.until THEN excluded.until ELSE rate_blocks.until END,"
            " reason = excluded.reason", (bucket, until, reason))

