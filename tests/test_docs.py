"""Every command documents itself (help text) and is documented (README.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from conftest import Cli, novahunt_env
from novahunt import __version__
from novahunt.cli.main import app

README = Path(__file__).parents[1] / "README.md"


def _walk(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) for every command under `group`, groups included, depth first.

    typer 0.29 vendors its own click, so groups are recognised by their `commands`."""
    found: list[tuple[tuple[str, ...], Any]] = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        found.append((path, command))
        if isinstance(getattr(command, "commands", None), dict):
            found += _walk(command, path)
    return found


COMMANDS = _walk(typer.main.get_command(app))
IDS = [" ".join(path) for path, _ in COMMANDS]


def test_the_walk_finds_the_commands_and_subcommands() -> None:
    names = set(IDS)
    assert {"collect", "worker", "jobs", "results", "demo"} <= names
    assert {"jobs list", "jobs show", "jobs follow", "jobs cancel", "jobs retry",
            "jobs cleanup"} <= names


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_command_has_help_text(path: tuple[str, ...], command: Any) -> None:
    assert (command.help or "").strip(), f"`novahunt {' '.join(path)}` has no help text"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_and_argument_has_help_text(
        path: tuple[str, ...], command: Any) -> None:
    missing = [p.name for p in command.params
               if not (getattr(p, "help", None) or "").strip()]
    assert missing == [], f"`novahunt {' '.join(path)}`: no help for {missing}"


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=IDS)
def test_every_command_is_in_the_readme(path: tuple[str, ...]) -> None:
    # a top-level command as `novahunt worker`; a sub-command as `novahunt jobs list` or as
    # `jobs list` (a table of commands may drop the program name)
    words = r"\s+".join(map(re.escape, path))
    if len(path) == 1:
        pattern = rf"\bnovahunt\s+{words}(?![\w-])"
    else:
        pattern = rf"(?<![\w-]){words}(?![\w-])"
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    assert re.search(pattern, text), f"`novahunt {' '.join(path)}` is not in README.md"


@pytest.mark.parametrize("path", [path for path, _ in COMMANDS], ids=IDS)
def test_help_of_every_command_exits_0(cli: Cli, path: tuple[str, ...]) -> None:
    code, out, _ = cli(*path, "--help")
    assert code == 0
    assert f"novahunt {' '.join(path)}" in out  # the usage line


def test_top_level_help_lists_the_main_commands(cli: Cli) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    assert "Commands" in out
    commands = out[out.index("Commands"):]
    listed = set(re.findall(r"^\W*([a-z][a-z-]+)\s{2,}\S", commands, flags=re.MULTILINE))
    assert {"collect", "worker", "jobs", "results", "demo"} <= listed, out


def test_python_m_novahunt_prints_the_version() -> None:
    done = subprocess.run([sys.executable, "-m", "novahunt", "--version"],
                          env=novahunt_env(), capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"novahunt {__version__}"
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", __version__)


def test_the_status_lists_in_help_texts_match_the_core() -> None:
    # the command modules spell them out so that --help loads no core module
    from novahunt.cli import jobs as jobs_cli
    from novahunt.cli import webhooks as webhooks_cli
    from novahunt.state import jobs, webhooks

    assert ", ".join(s.value for s in jobs.Status) == jobs_cli._STATUSES
    assert tuple(webhooks_cli.STATUSES) == tuple(webhooks.STATUSES)
