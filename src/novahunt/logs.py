"""Logging: a rotating log file under the home folder, and stderr by verbosity.

Every command logs to `$NOVAHUNT_HOME/logs/novahunt.log` (1 MB x 5 files, owner-only),
so a worker's history survives its terminal. stderr shows warnings, or info with
`--verbose` (a worker shows info by default: its job lines are what it is for), or
nothing but errors with `--quiet`. huey and httpx narrate every poll and request: they
keep their warnings only. The API key never reaches a log: nothing logs it, and the
Hunter client scrubs it from the errors it raises.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
import time

from novahunt import paths
from novahunt.inputs.plaintext import clean
from novahunt.inputs.timeparse import user_time

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_configured: list[logging.Handler] = []


_second: tuple[int, time.struct_time] = (-1, time.gmtime(0))


def _user_clock(seconds: float | None = None) -> time.struct_time:
    """`user_time`, worked out once a second: a busy worker logs hundreds of lines."""
    global _second
    whole = int(time.time() if seconds is None else seconds)
    last = _second
    if last[0] != whole:
        last = _second = (whole, user_time(whole))
    return last[1]


class _Formatter(logging.Formatter):
    # the process runs in UTC (timeparse.run_in_utc); a person reads their own clock
    converter = staticmethod(_user_clock)

    # a job's line carries Hunter's and web sites' words, read on a terminal (the
    # worker's, `tail -f`): no escape sequences, and one record one line
    def formatMessage(self, record: logging.LogRecord) -> str:
        return clean(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        return clean(super().format(record), lines=True)


class _RotatingFile(logging.handlers.RotatingFileHandler):
    """Rolls over once the file has reached its size. The stock handler formats each
    record a second time and stats the file twice to decide that before every line."""

    def shouldRollover(self, record: logging.LogRecord) -> int:
        if self.stream is None:
            self.stream = self._open()
        return int(self.maxBytes > 0 and self.stream.tell() >= self.maxBytes)


def setup(stderr_level: int) -> None:
    root = logging.getLogger()
    for handler in _configured:
        root.removeHandler(handler)
    _configured.clear()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(stderr_level)
    console.setFormatter(_Formatter("%(asctime)s %(levelname)s %(message)s"))
    _configured.append(console)
    try:
        folder = paths.ensure_home() / "logs"
        folder.mkdir(mode=0o700, exist_ok=True)
        to_file = _RotatingFile(
            folder / "novahunt.log", maxBytes=1_000_000, backupCount=5, encoding="utf-8")
        to_file.setLevel(logging.INFO)
        to_file.setFormatter(_Formatter(FORMAT))
        _configured.append(to_file)
    except OSError:
        pass  # an unwritable home is reported by the command that needs it
    for handler in _configured:
        root.addHandler(handler)
    logging.getLogger("huey").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
