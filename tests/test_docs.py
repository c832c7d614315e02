"""Every command documents itself (help text) and is documented (README.md); every
environment variable is documented (README.md or docs/); the links between the README
and docs/ lead somewhere."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main

from helpers import Cli, novahunt_env
from novahunt import __version__, config
from novahunt.cli.main import app

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]


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
    from novahunt.state import jobs, outbox

    assert ", ".join(s.value for s in jobs.Status) == jobs_cli._STATUSES
    assert tuple(webhooks_cli.STATUSES) == tuple(outbox.STATUSES)


# -- environment variables and links -------------------------------------------------------

VARIABLE = re.compile(r"(?:NOVAHUNT|HUNTER)_[A-Z0-9_]+")


def variables_in_source() -> set[str]:
    """Every NOVAHUNT_*/HUNTER_* name the code spells as a whole string, and the rate
    variables it builds from the endpoints it limits."""
    found = set()
    for path in (ROOT / "src" / "novahunt").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and VARIABLE.fullmatch(node.value):
                found.add(node.value)
    found |= {"NOVAHUNT_RATE_" + endpoint.replace("-", "_").upper()
              for endpoint in config.Settings().rates}
    return found


def test_the_variable_finder_finds_the_known_ones() -> None:
    assert {"HUNTER_API_KEY", "NOVAHUNT_HOME", "NOVAHUNT_DATABASE_URL", "NOVAHUNT_QUEUE_URL",
            "NOVAHUNT_RATE_DOMAIN_SEARCH", "NOVAHUNT_DEBUG"} <= variables_in_source()


def test_every_environment_variable_is_documented() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    missing = sorted(name for name in variables_in_source()
                     if not re.search(rf"\b{name}\b", text))
    assert missing == [], f"not in README.md or docs/: {missing}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to `-`."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    return {_slug(m) for m in re.findall(r"^#+\s+(.+)$", _prose(page), flags=re.MULTILINE)}


def _prose(page: Path) -> str:
    """The page without its fenced code blocks (a `# comment` there is no heading)."""
    return re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"),
                  flags=re.MULTILINE | re.DOTALL)


def test_there_are_docs() -> None:
    assert len(DOCS) >= 5, DOCS


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_links_between_the_readme_and_docs_resolve(page: Path) -> None:
    broken = []
    for target in re.findall(r"\[[^\]]*\]\(([^)\s]+)\)", _prose(page)):
        if re.match(r"[a-z]+:", target):  # https://, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    assert broken == [], f"{page.name}: {broken}"


def test_every_page_of_docs_is_linked_from_the_readme() -> None:
    text = _prose(README)
    orphans = [page.name for page in DOCS if f"(docs/{page.name}" not in text]
    assert orphans == [], f"docs/ pages the README does not link: {orphans}"
