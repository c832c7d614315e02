"""Parse the durations and points in time users type, and format times for storage and display.

Internally every datetime is *aware* and in UTC. The boundaries are:

* user input (`parse_duration`, `parse_when`): strict, with a one-line `BadInput` naming the text
  and the accepted forms. A naive date/time a user types is read in the machine's LOCAL time zone,
  because that is what someone typing ``--at 09:00`` on their laptop means; it is converted to UTC
  straight away. Conversion goes through ``datetime.astimezone``, which consults the C library's
  local zone, so it follows ``TZ`` (after ``time.tzset()``) and DST rules for that date.
* storage (`to_iso`, `from_iso`): ISO 8601 with an explicit ``+00:00`` offset at one-second
  precision, so stored strings sort lexically in time order and never depend on the zone of the
  machine that wrote them. Sub-second precision is dropped on purpose.
* display (`humanize_ago`): short relative strings for tables ("5m ago", "in 4m").

Durations are deliberately a small grammar: integer amounts with units w/d/h/m/s, each unit at
most once and largest first (``1h30m``), or a bare integer meaning seconds. No fractions and no
month/year units: those are ambiguous in length, and a scheduler should not guess.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from novahunt.errors import BadInput

__all__ = ["from_iso", "humanize_ago", "parse_duration", "parse_when", "to_iso", "utcnow"]

_MAX_SHOWN = 60

_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_UNIT_ORDER = "wdhms"
_DURATION_FORMS = "use e.g. 30s, 10m, 2h, 7d, 1w, 1h30m, or a whole number of seconds"
_WHEN_FORMS = (
    "use ISO 8601 like 2026-12-01, 2026-12-01T09:00, 2026-12-01T09:00Z or "
    "2026-12-01T09:00+02:00 (no offset means local time), or a time of day like 09:00"
)

_SECONDS_RE = re.compile(r"[0-9]+")
_DURATION_RE = re.compile(r"(?:[0-9]+\s*[a-z]+\s*)+")
_COMPONENT_RE = re.compile(r"([0-9]+)\s*([a-z]+)\s*")
_TIME_OF_DAY_RE = re.compile(r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?")


def _show(text: str) -> str:
    if len(text) > _MAX_SHOWN:
        return repr(text[: _MAX_SHOWN - 3]) + "..."
    return repr(text)


def parse_duration(text: str) -> timedelta:
    """Parse ``30s``, ``10m``, ``2h``, ``7d``, ``1w``, ``1h30m`` or a bare number of seconds.

    Case-insensitive; whitespace around and between components is ignored. Zero is allowed.
    """
    stripped = text.strip()
    spec = stripped.lower()
    shown = _show(stripped)
    if not spec:
        raise BadInput(f"{shown} is not a duration: it is empty; {_DURATION_FORMS}")
    if spec.startswith("-"):
        raise BadInput(f"{shown} is not a duration: negative durations are not allowed")
    try:
        if _SECONDS_RE.fullmatch(spec):
            return timedelta(seconds=int(spec))
        if not _DURATION_RE.fullmatch(spec):
            raise BadInput(f"{shown} is not a duration: {_DURATION_FORMS}")
        total = 0
        last_rank = -1
        for amount, unit in _COMPONENT_RE.findall(spec):
            rank = _UNIT_ORDER.find(unit) if len(unit) == 1 else -1
            if rank < 0:
                raise BadInput(
                    f"{shown} is not a duration: unknown unit {unit!r}; {_DURATION_FORMS}"
                )
            if rank <= last_rank:
                raise BadInput(
                    f"{shown} is not a duration: give each unit once, largest first (like 1h30m)"
                )
            last_rank = rank
            total += int(amount) * _UNIT_SECONDS[unit]
        return timedelta(seconds=total)
    except OverflowError:
        raise BadInput(f"{shown} is not a duration: it is too large") from None


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """Parse an absolute point in time and return it as an aware UTC datetime.

    Accepts what ``datetime.fromisoformat`` accepts (ISO 8601 dates and date-times, ``T`` or a
    space as separator, ``Z`` or a numeric offset), case-insensitively. A value without an offset
    is local time; a bare date means local midnight. A bare time of day (``09:00``, ``9:00:30``)
    means its next local occurrence at or after `now` (default: the current time), so
    ``--at 09:00`` typed at 10:00 means tomorrow morning rather than an hour ago.
    """
    spec = text.strip()
    shown = _show(spec)
    if not spec:
        raise BadInput(f"{shown} is not a date/time: it is empty; {_WHEN_FORMS}")
    reference = utcnow() if now is None else now.astimezone(UTC)
    try:
        tod = _TIME_OF_DAY_RE.fullmatch(spec)
        if tod:
            hour, minute, second = (int(part or 0) for part in tod.groups())
            return _next_local_occurrence(time(hour, minute, second), reference)
        # fromisoformat wants an upper-case "T"/"Z"; nothing else in ISO 8601 has a case.
        parsed = datetime.fromisoformat(spec.upper())
        # On a naive value astimezone() assumes local time, which is exactly the rule we want.
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise BadInput(f"{shown} is not a date/time: {_WHEN_FORMS}") from None


def _next_local_occurrence(at: time, reference: datetime) -> datetime:
    local_day: date = reference.astimezone().date()
    candidate = datetime.combine(local_day, at).astimezone(UTC)
    if candidate < reference:
        candidate = datetime.combine(local_day + timedelta(days=1), at).astimezone(UTC)
    return candidate


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_iso(dt: datetime) -> str:
    """Storage form: ``2026-12-01T09:00:00+00:00``. A naive `dt` is taken as local time."""
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(s: str) -> datetime:
    """Inverse of `to_iso`: an aware UTC datetime. Raises ``ValueError`` on malformed input.

    A string without an offset is taken as UTC, since only `to_iso` writes stored times.
    """
    parsed = datetime.fromisoformat(s)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def humanize_ago(dt: datetime, now: datetime | None = None) -> str:
    """Short relative time: ``12s ago``, ``5m ago``, ``3h ago``, ``2d ago``, ``in 4m``.

    Amounts are truncated, not rounded (119 s is ``1m ago``), the usual convention for "ago".
    """
    reference = utcnow() if now is None else now.astimezone(UTC)
    seconds = int((reference - dt.astimezone(UTC)).total_seconds())
    if seconds == 0:
        return "just now"
    magnitude = abs(seconds)
    if magnitude < 60:
        amount = f"{magnitude}s"
    elif magnitude < 3600:
        amount = f"{magnitude // 60}m"
    elif magnitude < 86400:
        amount = f"{magnitude // 3600}h"
    else:
        amount = f"{magnitude // 86400}d"
    return f"{amount} ago" if seconds > 0 else f"in {amount}"


def iso_ts(ts: float | None) -> str | None:
    """An epoch timestamp as `to_iso` text; None stays None."""
    return None if ts is None else to_iso(datetime.fromtimestamp(ts, UTC))
