"""state.db's files as other processes hold them: removed or replaced under a live one.

A process that has state.db open keeps using the file it opened, whatever the path
names later: after `rm state.db` or `mv backup.db state.db` a worker goes on writing
into a file nobody else can see. Worse, the journal beside it (state.db-wal and the
index state.db-shm) keeps its name, so whoever opens the path next would read that
process's journal as if it belonged to the new file, and checkpoint it into it.

SQLite's own locks tell who uses what. While a connection is open in WAL mode, SQLite
(its unix VFS) holds a POSIX read lock on the database file (the shared-lock bytes) and
one on the -shm file (its DMS byte), for as long as it is open. Linux lists every POSIX
lock with its pid and the locked file's device and inode in /proc/locks, so a process
about to open state.db can see, without opening a descriptor of a file another
connection of its own may hold (closing one would drop that connection's locks):

- a process locking state.db-shm but not the file now named state.db has a removed or
  replaced state.db open: refuse to open the path until it lets go (`StateFileLost`);
- nobody holds state.db-shm, state.db is gone and a non-empty state.db-wal is left (a
  process killed after the file was removed): that journal would be replayed into a
  new, empty state.db, so it is moved aside with a warning.

Where /proc/locks is missing (not Linux) both checks are skipped; the worker's own check
(`SqliteDatabase.lost`: the inode it opened is no longer at the path) still holds.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from novahunt.errors import StateFileLost

log = logging.getLogger(__name__)

LOCKS = Path("/proc/locks")


def _file_id(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return os.major(st.st_dev), os.minor(st.st_dev), st.st_ino


def lock_holders() -> dict[tuple[int, int, int], set[int]] | None:
    """Every POSIX lock held on this machine: (major, minor, inode) -> pids; None where
    the kernel does not list them."""
    try:
        text = LOCKS.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    held: dict[tuple[int, int, int], set[int]] = {}
    for line in text.splitlines():
        # "1: POSIX  ADVISORY  READ 24978 fe:00:2596978 128 128"; a waiter has "->" in
        # front of POSIX and holds nothing yet
        fields = line.split()
        if len(fields) < 6 or fields[1] != "POSIX":
            continue
        try:
            pid = int(fields[4])
            major, minor, inode = fields[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        held.setdefault(key, set()).add(pid)
    return held


def check_before_open(path: Path) -> None:
    """Before this process opens `path` for the first time: refuse while another
    process uses its journal with a removed or replaced file, and move aside the
    journal a removed file left behind. See the module's docstring."""
    shm = path.with_name(path.name + "-shm")
    shm_id = _file_id(shm)
    if shm_id is None:
        return
    held = lock_holders()
    if held is None:
        return
    me = os.getpid()
    db_id = _file_id(path)
    journal_users = held.get(shm_id, set()) - {me}
    file_users = held.get(db_id, set()) if db_id is not None else set()
    strangers = sorted(journal_users - file_users)
    if strangers:
        pids = ", ".join(str(p) for p in strangers[:5])
        what = "removed" if db_id is None else "replaced by another file"
        raise StateFileLost(
            f"{path} was {what} while process {pids} still had it open: wait for it to "
            "stop (a worker notices and stops within seconds), then run this again")
    if db_id is None and not journal_users:
        _move_leftovers_aside(path)


def _move_leftovers_aside(path: Path) -> None:
    wal = path.with_name(path.name + "-wal")
    try:
        if wal.stat().st_size == 0:
            return   # an empty journal replays nothing
    except FileNotFoundError:
        return
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    moved = []
    for suffix in ("-wal", "-shm"):
        source = path.with_name(path.name + suffix)
        target = path.with_name(f"{path.name}{suffix}.orphaned-{stamp}")
        try:
            os.replace(source, target)
        except FileNotFoundError:
            continue
        except OSError as exc:  # a read-only home: nothing will be created there either
            log.warning("%s: cannot move the journal of a removed %s aside: %s",
                        source, path.name, exc.strerror)
            return
        moved.append(target.name)
    if moved:
        log.warning("%s was removed but its journal was left behind: moved aside to %s "
                    "so that a new %s does not replay it", path, " and ".join(moved),
                    path.name)
