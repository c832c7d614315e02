"""The PostgreSQL and Redis drivers are the `team` extra: the embedded default (state.db,
queue.db) never imports them, and a URL set without them is one line and exit 3."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from helpers import novahunt_env

ROOT = Path(__file__).resolve().parents[1]
DRIVERS = ("psycopg", "psycopg_pool", "redis")

# Run a command in a fresh interpreter, then list the team drivers it loaded; with
# BLOCK, make them look uninstalled first, as on a machine without the extra.
PROBE = """
import json, sys
for name in {block!r}:
    sys.modules[name] = None
from novahunt.cli.main import run
code = run({argv!r})
loaded = sorted(m for m, mod in sys.modules.items()
                if mod is not None and m.split(".")[0] in {drivers!r})
print(json.dumps({{"code": code, "loaded": loaded}}))
"""


def probe(argv: list[str], *, block: tuple[str, ...] = (), timeout: float = 60,
          **env: str) -> tuple[dict[str, object], str]:
    child = novahunt_env(**env)
    if not env:
        for name in ("NOVAHUNT_DATABASE_URL", "NOVAHUNT_QUEUE_URL"):
            child.pop(name, None)
    code = PROBE.format(block=block, argv=argv, drivers=DRIVERS)
    done = subprocess.run([sys.executable, "-c", code], env=child, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


@pytest.mark.parametrize("argv", [
    ["--help"], ["jobs", "list"], ["doctor"], ["stats"], ["verifications"],
    ["worker", "--burst"], ["collect", "example.com"],
], ids=" ".join)
def test_the_embedded_default_imports_no_team_driver(argv: list[str]) -> None:
    answer, stderr = probe(argv)
    assert answer["code"] in (0, 1, 3), stderr  # collect without a key: exit 3
    assert answer["loaded"] == [], stderr


def test_a_database_url_without_the_extra_is_one_line_and_exit_3() -> None:
    answer, stderr = probe(["jobs", "list"], block=DRIVERS,
                           NOVAHUNT_DATABASE_URL="postgresql://nh:s3cret@127.0.0.1:1/nh")
    assert answer["code"] == 3
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "PostgreSQL driver is not installed" in lines[0]
    assert "pip install 'novahunt[team]'" in lines[0]
    assert "s3cret" not in stderr


def test_a_queue_url_without_the_extra_is_one_line_and_exit_3() -> None:
    answer, stderr = probe(["jobs", "list"], block=DRIVERS,
                           NOVAHUNT_QUEUE_URL="redis://:s3cret@127.0.0.1:1/0")
    assert answer["code"] == 3
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Redis client is not installed" in lines[0]
    assert "pip install 'novahunt[team]'" in lines[0]
    assert "s3cret" not in stderr


def test_pyproject_keeps_the_drivers_in_the_extra_and_pins_huey() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = " ".join(project["dependencies"])
    team = " ".join(project["optional-dependencies"]["team"])
    for driver in ("psycopg", "psycopg-pool", "redis"):
        assert driver in team
        assert driver not in required
    assert "huey>=3.5,<4" in project["dependencies"]
    assert "'.[test,team]'" in (ROOT / ".ci" / "run").read_text()  # CI runs both backends
