"""Which workers are alive. A worker on this host is alive while its process is: the
pid and the kernel's start time of that pid must both match (a reused pid is another
process). A worker on another host is alive while its heartbeat is fresh.

A host is what `hostname()` says: `NOVAHUNT_HOSTNAME`, else the machine's host name.
Containers that share a host name (and tests that play several hosts on one machine)
set it, so that no worker judges another host's pid by its own process table.

Kept apart from worker.py so that `stats`, `doctor` and `--follow` can ask without
loading huey."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from novahunt.config import Settings
from novahunt.state import workers
from novahunt.state.db import Database

HOSTNAME_VARIABLE = "NOVAHUNT_HOSTNAME"


def hostname() -> str:
    """The name this machine goes by among workers sharing one database."""
    return os.environ.get(HOSTNAME_VARIABLE, "").strip() or socket.gethostname()


def process_start_time(pid: int) -> str | None:
    """The kernel's start time of a process (Linux); None where /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def pid_alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust kill(0)
    fields = stat[stat.rindex(")") + 2:].split()
    if fields and fields[0] in ("Z", "X"):  # a zombie has stopped working
        return False
    return started is None or (len(fields) > 19 and fields[19] == started)


def live_workers(db: Database, settings: Settings) -> list[workers.WorkerRow]:
    """Workers with a fresh heartbeat (and, on this host, a live process)."""
    host = hostname()
    return [
        w for w in workers.live_workers(db, time.time() - settings.lease)
        if w.hostname != host or pid_alive(w.pid, w.pid_started)
    ]
