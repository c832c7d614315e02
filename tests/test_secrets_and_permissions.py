"""The API key is never printed, logged or stored; state files are owner-only."""

from __future__ import annotations

import stat
from pathlib import Path

from helpers import KEY, Cli, drain, run_process
from novahunt import config
from novahunt.sandbox import UNAUTHORIZED, Sandbox
from novahunt.worker.runtime import WorkerRuntime


def test_the_key_is_nowhere_in_state_output_or_errors(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, home: Path) -> None:
    sandbox.add_domain("secret.example", 20)
    sandbox.add_domain("denied.example", 3)
    sandbox.inject(UNAUTHORIZED, domain="denied.example")
    code, out, err = cli("collect", "secret.example", "denied.example", "--json")
    assert code == 0
    drain(inline_worker)
    outputs = [out, err]
    for args in (("jobs", "list", "--json"), ("jobs", "show", "1", "--json"),
                 ("jobs", "show", "2"), ("results", "secret.example", "--format", "json")):
        code, out, err = cli(*args)
        outputs += [out, err]
    sandbox.inject(UNAUTHORIZED, domain="denied.example")
    inline_worker.deactivate()  # so that --follow runs its own embedded worker
    failing = run_process("collect", "denied.example", "--refresh", "--follow")
    outputs += [failing.stdout, failing.stderr]
    assert failing.returncode == 1
    assert not any(KEY in text for text in outputs)
    inline_worker.db.close()
    for path in home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert "api_key" not in repr(config.load()) or KEY not in repr(config.load())


def test_state_files_are_readable_by_their_owner_only(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, home: Path) -> None:
    sandbox.add_domain("perm.example", 5)
    assert cli("collect", "perm.example")[0] == 0
    drain(inline_worker)
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.iterdir() if p.is_file()]
    names = {p.name for p in files}
    assert {"state.db", "queue.db"} <= names
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
