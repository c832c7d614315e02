"""Opening another connection to state.db must not drop the locks this process holds
on it: POSIX locks belong to the process, and closing any descriptor of the file
releases them all. A WAL database whose shared lock is gone can be checkpointed and
its WAL deleted by another process while this one still uses it."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from novahunt import paths
from novahunt.state import db


def posix_locks(path: Path) -> list[str]:
    """This process's POSIX locks on the file, from /proc/locks."""
    st = path.stat()
    inode = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    mine = f" {os.getpid()} "
    return [line for line in Path("/proc/locks").read_text().splitlines()
            if "POSIX" in line and mine in line and inode in line]


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="needs /proc/locks")
def test_a_new_thread_connection_keeps_the_locks_of_the_others() -> None:
    state = db.open_state()
    state.scalar("SELECT COUNT(*) FROM jobs")  # this thread's connection is open
    held = posix_locks(state.path)
    assert held, "an open WAL connection holds a shared lock on the database file"

    opened = threading.Event()

    def other_thread() -> None:
        state.scalar("SELECT COUNT(*) FROM jobs")  # opens its own connection
        opened.set()
        state.close()

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert opened.is_set()
    paths.private_file(state.path)  # what every new connection does first
    assert posix_locks(state.path) == held
