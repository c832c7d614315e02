"""Parse the durations and points in time users type, and format times for storage and display.

Internally every datetime is *aware* and in UTC. The boundaries are:

* user input (`parse_duration`, `parse_when`): strict, with a one-line `BadInput` naming the text
  and the accepted forms. A naive date/time a user types is read in the USER'S time zone, because
  that is what someone typing ``--at 09:00`` on their laptop means; it is converted to UTC
  straight away, with the DST rules of that date.

The user's zone and the process's zone differ on purpose. huey writes naive UTC times and
reads them back as local time, so processes on different hosts (or with different ``TZ``)
agree only if every novahunt process runs in UTC: `run_in_utc` switches the process to UTC at
start, after noting the zone the user was in (``TZ``, else ``/etc/localtime``) in
``NOVAHUNT_USER_TZ``, which child processes inherit. `user_zone` reads it back. A process
that was never switched (a library caller, the tests' in-process CLI) has no
``NOVAHUNT_USER_TZ`` and keeps using the C library's local zone, which follows ``TZ`` after
``time.tzset()``.
* storage (`to_iso`, `from_iso`): ISO 8601 with an explicit ``+00:00`` offset at one-second
  precision, so stored strings sort lexically in time order and never depend on the zone of the
  machine that wrote them. Sub-second precision is dropped on purpose.
* display (`humanize_ago`): short relative strings for tables ("5m ago", "in 4m").

Durations are deliberately a small grammar: integer amounts with units w/d/h/m/s, each unit at
most once and largest first (``1h30m``), or a bare integer meaning seconds. No fractions and no
month/year units: those are ambiguous in length, and a scheduler should not guess.
"""

from __future__ import annotations

import functools
import os
import re
import struct
import time as clock
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from novahunt.errors import BadInput

__all__ = ["from_iso", "humanize_ago", "parse_duration", "parse_when", "run_in_utc", "to_iso",
           "user_zone", "utcnow"]

USER_TZ_VARIABLE = "NOVAHUNT_USER_TZ"

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
        return _as_local(parsed).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise BadInput(f"{shown} is not a date/time: {_WHEN_FORMS}") from None


def _next_local_occurrence(at: time, reference: datetime) -> datetime:
    local_day: date = reference.astimezone(user_zone()).date()
    candidate = _as_local(datetime.combine(local_day, at)).astimezone(UTC)
    if candidate < reference:
        candidate = _as_local(datetime.combine(local_day + timedelta(days=1), at)).astimezone(UTC)
    return candidate


def _as_local(dt: datetime) -> datetime:
    """A naive `dt` as the user's local time; an aware one unchanged."""
    if dt.tzinfo is not None:
        return dt
    zone = user_zone()
    # astimezone() on a naive value assumes the C library's local zone
    return dt.astimezone() if zone is None else dt.replace(tzinfo=zone)


def run_in_utc() -> None:
    """Run this process in UTC, keeping the user's zone for what they type and read.

    Call it first thing in an entry point. A process started by another novahunt process
    inherits NOVAHUNT_USER_TZ, and with it the zone of the person who started the first.
    """
    if not os.environ.get(USER_TZ_VARIABLE, "").strip():
        os.environ[USER_TZ_VARIABLE] = _zone_in_use()
    os.environ["TZ"] = "UTC"
    if hasattr(clock, "tzset"):  # POSIX only
        clock.tzset()


def user_zone() -> tzinfo | None:
    """The zone the user's naive times are in; None means the process's own local zone
    (the process was not switched to UTC by `run_in_utc`)."""
    spec = os.environ.get(USER_TZ_VARIABLE, "").strip()
    return _zone(spec) if spec else None


def user_time(seconds: float | None = None) -> clock.struct_time:
    """`time.localtime` in the user's zone (a `logging.Formatter.converter`)."""
    zone = user_zone()
    if zone is None:
        return clock.localtime(seconds)
    now = clock.time() if seconds is None else seconds
    return datetime.fromtimestamp(now, zone).timetuple()


def _zone_in_use() -> str:
    """The C library's local zone, spelled as TZ would spell it."""
    spec = os.environ.get("TZ")
    if spec is not None:
        return spec.strip() or "UTC"  # an empty TZ is UTC to the C library
    target = os.path.realpath("/etc/localtime")
    if "/zoneinfo/" in target:  # a link into the zone database: keep the name
        return target.split("/zoneinfo/", 1)[1]
    return ":/etc/localtime" if os.path.exists("/etc/localtime") else "UTC"


@functools.lru_cache(maxsize=8)
def _zone(spec: str) -> tzinfo:
    """A TZ value as a tzinfo: a zone name (`Europe/Berlin`, `:Europe/Berlin`), a zone
    file (`:/etc/localtime`) or a POSIX rule (`CET-1CEST,M3.5.0,M10.5.0/3`)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = spec[1:] if spec.startswith(":") else spec
    try:
        if name.startswith("/"):
            with open(name, "rb") as fh:
                return ZoneInfo.from_file(fh, key=name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    try:
        return _posix_rule(spec)
    except ValueError:
        return UTC  # the C library reads a TZ it cannot make sense of as UTC


def _posix_rule(rule: str) -> tzinfo:
    """A POSIX TZ rule through zoneinfo: a zone file with no transitions, only the rule
    as its footer, which zoneinfo applies to every date."""
    from io import BytesIO
    from zoneinfo import ZoneInfo

    counts = struct.pack(">6l", 0, 0, 0, 0, 1, 4)  # one local time type, "UTC\0"
    block = b"TZif2" + bytes(15) + counts + struct.pack(">lBB", 0, 0, 0) + b"UTC\0"
    return ZoneInfo.from_file(BytesIO(block + block + b"\n" + rule.encode() + b"\n"),
                              key=rule)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def to_iso(dt: datetime) -> str:
    """Storage form: ``2026-12-01T09:00:00+00:00``. A naive `dt` is taken as local time."""
    return _as_local(dt).astimezone(UTC).isoformat(timespec="seconds")


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
