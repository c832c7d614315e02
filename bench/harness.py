"""What the benchmarks share: a novahunt environment for a private home, `novahunt`
commands as child processes (queueing a domain list, a `worker --burst`), the Hunter
sandbox in a process of its own, CPU seconds of a child, and a table printer.

Imported by the scripts next to it (`python bench/X.py` puts bench/ on the path); it
puts this checkout's src/ on the path too, so `from novahunt.sandbox import Sandbox`
works without an install.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
KEY = "bench-key-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")

if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))


def novahunt_cmd(*, installed: bool = False) -> list[str]:
    """`python -m novahunt`; with `installed`, the console script users run when there is
    one (its start-up is what they wait for)."""
    script = Path(sys.executable).with_name("novahunt")
    if installed and script.exists():
        return [str(script)]
    return [sys.executable, "-m", "novahunt"]


def novahunt_env(home: Path | str, url: str | None = None, *, src: Path = SRC,
                 drop: Sequence[str] = (), **variables: str) -> dict[str, str]:
    """This process's environment for a novahunt child with its own home: NOVAHUNT_HOME,
    a config file that does not exist, `src` on PYTHONPATH, the sandbox's URL and key when
    `url` is given, then `variables`. Whatever NOVAHUNT_*/HUNTER_* the calling shell set
    is dropped (a figure must not depend on it), and so are PYTHONDONTWRITEBYTECODE (as
    installed: bytecode cached) and the names in `drop`."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("NOVAHUNT_", "HUNTER_"))
           and name not in ("PYTHONDONTWRITEBYTECODE", *drop)}
    env.update(NOVAHUNT_HOME=str(home), NOVAHUNT_CONFIG=f"{home}/none.toml",
               PYTHONPATH=str(src))
    if url is not None:
        env.update(NOVAHUNT_HUNTER_URL=url, HUNTER_API_KEY=KEY)
    env.update(variables)
    return env


def novahunt(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `novahunt ARGS` to its end; it must succeed."""
    return subprocess.run([*novahunt_cmd(), *args], env=env, check=True, capture_output=True,
                          text=True)


def queue_collect(env: dict[str, str], folder: Path | str,
                  domains: Sequence[str]) -> list[dict[str, Any]]:
    """`novahunt collect --file FOLDER/domains.txt --yes --json`: the jobs it queued."""
    listing = Path(folder) / "domains.txt"
    listing.write_text("".join(f"{d}\n" for d in domains))
    done = novahunt("collect", "--file", str(listing), "--yes", "--json", env=env)
    jobs: list[dict[str, Any]] = json.loads(done.stdout)
    return jobs


def start_burst_worker(env: dict[str, str], threads: int, **popen: Any
                       ) -> subprocess.Popen[Any]:
    """Start `novahunt worker --burst --concurrency N` (it exits once no work is left);
    output discarded unless `popen` says otherwise."""
    popen.setdefault("stdout", subprocess.DEVNULL)
    popen.setdefault("stderr", subprocess.DEVNULL)
    return subprocess.Popen([*novahunt_cmd(), "worker", "--burst", "--concurrency",
                             str(threads)], env=env, **popen)


def burst(env: dict[str, str], threads: int = 4) -> None:
    """Run a `novahunt worker --burst` until the queue is empty; it must exit 0."""
    novahunt("worker", "--burst", "--concurrency", str(threads), env=env)


# the domains come on stdin: 10,000 of them are more than one argument may hold (128 KiB)
_SERVER = textwrap.dedent("""
    import json, sys, time
    from novahunt.sandbox import Sandbox
    spec = json.load(sys.stdin)
    box = Sandbox(sys.argv[1], **spec["options"])
    for name, count in spec["domains"].items():
        box.add_domain(name, count)
    print(box.start(), flush=True)
    time.sleep(86400)
""")


@contextmanager
def sandbox_process(domains: dict[str, int], **options: Any
                    ) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The sandbox (`Sandbox(KEY, **options)` with `domains`, name -> emails) in a process
    of its own, so its memory and CPU are not the driver's: (process, URL)."""
    server = subprocess.Popen([sys.executable, "-c", _SERVER, KEY], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, PYTHONPATH=str(SRC)))
    try:
        assert server.stdin is not None and server.stdout is not None
        with server.stdin:
            json.dump({"domains": domains, "options": options}, server.stdin)
        url = server.stdout.readline().strip()
        if not url:
            raise SystemExit("the sandbox process did not start")
        yield server, url
    finally:
        server.terminate()
        server.wait()


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def wait_cpu(proc: subprocess.Popen[Any]) -> tuple[int, float]:
    """Wait for a child: its exit code and CPU seconds (user + system, from wait4)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Column:
    title: str
    width: int
    spec: str = ""        # how a number is written: ".2f", "+.1f", ".0%" ...
    left: bool = False    # text columns read better flush left


class Table:
    """Prints a header, then a row at a time (flushed: a long benchmark shows each
    figure as it comes). A value that is a str is printed as it is."""

    def __init__(self, *columns: Column | tuple[Any, ...], sep: str = " ") -> None:
        self.columns = [c if isinstance(c, Column) else Column(*c) for c in columns]
        self.sep = sep

    def _cell(self, column: Column, value: Any) -> str:
        align = "<" if column.left else ">"
        text = value if isinstance(value, str) else format(value, column.spec)
        return f"{text:{align}{column.width}}"

    def header(self) -> None:
        print(self.sep.join(self._cell(c, c.title) for c in self.columns))

    def row(self, *values: Any) -> None:
        print(self.sep.join(self._cell(c, v) for c, v in zip(self.columns, values,
                                                             strict=True)), flush=True)
