"""Behaviour of `novahunt.timeparse`: durations, points in time, storage and display forms."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from novahunt.errors import BadInput
from novahunt.inputs.timeparse import (
    from_iso,
    humanize_ago,
    parse_duration,
    parse_when,
    to_iso,
    utcnow,
)

pytestmark = pytest.mark.pure

# POSIX TZ rules need no tz database, so these tests behave the same on any machine.
NEW_YORK = "EST5EDT,M3.2.0,M11.1.0"
BERLIN = "CET-1CEST,M3.5.0,M10.5.0/3"


@pytest.fixture
def local_tz() -> Iterator[Callable[[str], None]]:
    """Switch the process's local time zone; the original is restored afterwards."""
    saved = os.environ.get("TZ")

    def switch(spec: str) -> None:
        os.environ["TZ"] = spec
        time.tzset()

    yield switch
    if saved is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = saved
    time.tzset()


# --- parse_duration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("10m", timedelta(minutes=10)),
        ("2h", timedelta(hours=2)),
        ("7d", timedelta(days=7)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("90", timedelta(seconds=90)),
        ("0", timedelta(0)),
        ("0s", timedelta(0)),
        ("0h0m", timedelta(0)),
        ("2H", timedelta(hours=2)),
        ("1H30M", timedelta(hours=1, minutes=30)),
        ("  45m  ", timedelta(minutes=45)),
        ("1h 30m", timedelta(hours=1, minutes=30)),
        ("1 h 30 m", timedelta(hours=1, minutes=30)),
        ("\t7d\n", timedelta(days=7)),
        ("90m", timedelta(minutes=90)),
        ("007s", timedelta(seconds=7)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("-5m", "negative"),
        ("-30", "negative"),
        ("abc", "30s, 10m, 2h"),
        ("1.5h", "30s, 10m, 2h"),
        ("1h30", "30s, 10m, 2h"),
        ("1 30", "30s, 10m, 2h"),
        ("h", "30s, 10m, 2h"),
        ("+5m", "30s, 10m, 2h"),
        ("5 minutes", "unknown unit 'minutes'"),
        ("3y", "unknown unit 'y'"),
        ("1mo", "unknown unit 'mo'"),
        ("30m1h", "largest first"),
        ("1h1h", "largest first"),
        ("9" * 30, "too large"),
        ("99999999999w", "too large"),
    ],
)
def test_bad_durations_name_the_text(text: str, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_duration(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text.strip())[:40] in message
    assert reason in message


# --- parse_when: explicit offsets ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01 09:00:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01t09:00z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00+00:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T09:00+02:00", datetime(2026, 12, 1, 7, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00-05:30", datetime(2026, 12, 1, 14, 30, tzinfo=UTC)),
        ("2026-12-01T01:00+02:00", datetime(2026, 11, 30, 23, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00.250Z", datetime(2026, 12, 1, 9, 0, 0, 250000, tzinfo=UTC)),
        ("  2026-12-01T09:00Z  ", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_when_with_offset_ignores_local_zone(
    local_tz: Callable[[str], None], text: str, expected: datetime
) -> None:
    for zone in (NEW_YORK, BERLIN, "UTC0"):
        local_tz(zone)
        result = parse_when(text)
        assert result == expected
        assert result.utcoffset() == timedelta(0)


# --- parse_when: naive values are local time ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "text", "expected"),
    [
        (NEW_YORK, "2026-12-01T09:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        (NEW_YORK, "2026-12-01 09:00:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        (NEW_YORK, "2026-07-01T09:00", datetime(2026, 7, 1, 13, 0, tzinfo=UTC)),  # EDT
        (NEW_YORK, "2026-12-01", datetime(2026, 12, 1, 5, 0, tzinfo=UTC)),  # local midnight
        (BERLIN, "2026-12-01T09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        (BERLIN, "2026-07-01T09:00", datetime(2026, 7, 1, 7, 0, tzinfo=UTC)),  # CEST
        (BERLIN, "2026-12-01", datetime(2026, 11, 30, 23, 0, tzinfo=UTC)),
        ("UTC0", "2026-12-01T09:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_naive_when_is_local_time(
    local_tz: Callable[[str], None], zone: str, text: str, expected: datetime
) -> None:
    local_tz(zone)
    result = parse_when(text)
    assert result == expected
    assert result.tzinfo is not None
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # now is 2026-12-01 12:00 UTC = 07:00 in New York (EST).
        ("09:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),  # later today
        ("9:00", datetime(2026, 12, 1, 14, 0, tzinfo=UTC)),
        ("07:00", datetime(2026, 12, 1, 12, 0, tzinfo=UTC)),  # exactly now: today
        ("06:59:59", datetime(2026, 12, 2, 11, 59, 59, tzinfo=UTC)),  # passed: tomorrow
        ("23:30", datetime(2026, 12, 2, 4, 30, tzinfo=UTC)),
        ("00:00", datetime(2026, 12, 2, 5, 0, tzinfo=UTC)),
    ],
)
def test_time_of_day_is_next_local_occurrence(
    local_tz: Callable[[str], None], text: str, expected: datetime
) -> None:
    local_tz(NEW_YORK)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert parse_when(text, now=now) == expected


def test_time_of_day_accepts_now_in_any_zone(local_tz: Callable[[str], None]) -> None:
    local_tz(BERLIN)
    now = datetime(2026, 12, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))  # 12:00 UTC
    assert parse_when("14:00", now=now) == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "tomorrow",
        "next monday",
        "9am",
        "12/01/2026",
        "01.12.2026",
        "2026",
        "2026-13-01",
        "2026-02-30",
        "2026-12-01T25:00",
        "25:00",
        "09:60",
        "2026-12-01T09:00+25:00",
        "2026-12-01T09:00 EST",
        "0001-01-01T00:00+01:00",
    ],
)
def test_bad_when_names_the_text(local_tz: Callable[[str], None], text: str) -> None:
    local_tz(NEW_YORK)
    with pytest.raises(BadInput) as info:
        parse_when(text)
    message = str(info.value)
    assert "\n" not in message
    assert repr(text.strip()) in message
    assert "2026-12-01T09:00" in message
    assert info.value.exit_code == 2


# --- storage and display -----------------------------------------------------------------------


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.utcoffset() == timedelta(0)
    assert abs(now.timestamp() - time.time()) < 5


@pytest.mark.parametrize(
    ("dt", "expected"),
    [
        (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), "2026-12-01T09:00:00+00:00"),
        (
            datetime(2026, 12, 1, 11, 0, tzinfo=timezone(timedelta(hours=2))),
            "2026-12-01T09:00:00+00:00",
        ),
        (datetime(2026, 12, 1, 9, 0, 0, 999999, tzinfo=UTC), "2026-12-01T09:00:00+00:00"),
    ],
)
def test_to_iso(dt: datetime, expected: str) -> None:
    assert to_iso(dt) == expected


def test_to_iso_reads_naive_as_local(local_tz: Callable[[str], None]) -> None:
    local_tz(BERLIN)
    assert to_iso(datetime(2026, 12, 1, 10, 0)) == "2026-12-01T09:00:00+00:00"


@pytest.mark.parametrize(
    "dt",
    [
        datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, 15, tzinfo=UTC),
        datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2026, 12, 1, 9, 0, 1, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    ],
)
def test_iso_round_trip(dt: datetime) -> None:
    back = from_iso(to_iso(dt))
    assert back == dt
    assert back.utcoffset() == timedelta(0)
    assert to_iso(back) == to_iso(dt)


def test_iso_strings_sort_in_time_order() -> None:
    times = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i) for i in range(50)]
    isos = [to_iso(t) for t in times]
    assert sorted(isos) == isos


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01T09:00:00Z", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T11:00:00+02:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
        ("2026-12-01T09:00:00", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),  # naive: UTC
    ],
)
def test_from_iso(text: str, expected: datetime) -> None:
    result = from_iso(text)
    assert result == expected
    assert result.utcoffset() == timedelta(0)


def test_from_iso_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        from_iso("not a time")


NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "just now"),
        (timedelta(milliseconds=400), "just now"),
        (timedelta(seconds=12), "12s ago"),
        (timedelta(seconds=59), "59s ago"),
        (timedelta(seconds=60), "1m ago"),
        (timedelta(seconds=119), "1m ago"),
        (timedelta(minutes=5), "5m ago"),
        (timedelta(minutes=59, seconds=59), "59m ago"),
        (timedelta(hours=3), "3h ago"),
        (timedelta(hours=23, minutes=59), "23h ago"),
        (timedelta(days=2), "2d ago"),
        (timedelta(days=400), "400d ago"),
        (-timedelta(minutes=4), "in 4m"),
        (-timedelta(seconds=30), "in 30s"),
        (-timedelta(hours=5), "in 5h"),
        (-timedelta(days=3), "in 3d"),
    ],
)
def test_humanize_ago(delta: timedelta, expected: str) -> None:
    assert humanize_ago(NOW - delta, NOW) == expected


def test_humanize_ago_compares_across_zones() -> None:
    then = datetime(2026, 12, 1, 6, 55, tzinfo=timezone(timedelta(hours=-5)))  # 11:55 UTC
    assert humanize_ago(then, NOW) == "5m ago"


def test_humanize_ago_defaults_to_now() -> None:
    assert humanize_ago(utcnow() - timedelta(hours=3, minutes=1)) == "3h ago"
