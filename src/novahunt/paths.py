"""One home folder for all state: `$NOVAHUNT_HOME`, else platformdirs' user data dir.

Everything novahunt writes hangs off `home()`, resolved on each call so that tests (and
`novahunt demo`) can redirect all of it with one environment variable.
"""

from __future__ import annotations

import errno
import functools
import os
from pathlib import Path

import platformdirs

APP = "novahunt"


def home() -> Path:
    override = os.environ.get("NOVAHUNT_HOME")
    return Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP))


def ensure_home() -> Path:
    """Create the home folder, readable by its owner only."""
    path = home()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def state_db() -> Path:
    return home() / "state.db"


def queue_db() -> Path:
    return home() / "queue.db"


def config_file() -> Path:
    env = os.environ
    return _config_file(env.get("NOVAHUNT_CONFIG"), env.get("XDG_CONFIG_HOME"),
                        env.get("HOME"))


@functools.lru_cache(maxsize=8)
def _config_file(override: str | None, xdg: str | None, home: str | None) -> Path:
    # what platformdirs reads, as the key: a changed HOME or XDG_CONFIG_HOME is seen
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 if missing, and tighten it if it exists.

    SQLite creates its -wal and -shm files with the database file's permissions, so a
    0600 database keeps its companions private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        # Never open and close a file that may be a live database: closing any
        # descriptor of a file drops every POSIX lock this process holds on it,
        # SQLite's included. A WAL database whose shared lock vanished can be
        # checkpointed and its WAL deleted under it by another process ("database disk
        # image is malformed", seen when burst workers exited under a follower).
        pass
    else:
        os.close(fd)
    os.chmod(path, 0o600)
    return path


# what a write into a read-only home raises, besides the file system saying so
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def read_only(path: Path) -> str | None:
    """Why `path` cannot be written (a read-only file system, a file or folder without
    write permission), or None. SQLite writes its -wal and -shm beside a database, so
    the folder must be writable too; a folder not created yet is judged by its parent."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f"{folder} is on a read-only file system"
    except OSError:  # no statvfs here: the permission checks below still answer
        pass
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is not writable"
    if not os.access(folder, os.W_OK):
        return f"{folder} is not writable"
    return None
