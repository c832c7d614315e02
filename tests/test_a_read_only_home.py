"""A read-only home (a read-only bind mount of a used one): reading commands answer,
writing ones refuse in one line without paying anything, `doctor` names it. Skipped
where the machine cannot mount."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from helpers import novahunt_env, run_process
from novahunt.sandbox import Sandbox


@contextmanager
def read_only_view(source: Path, target: Path) -> Iterator[Path]:
    """`source`, seen read-only at `target` (a bind mount, remounted ro)."""
    target.mkdir()
    bound = subprocess.run(["mount", "--bind", str(source), str(target)],
                           capture_output=True, text=True, check=False)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.strip() or 'mount failed'}")
    try:
        ro = subprocess.run(["mount", "-o", "remount,bind,ro", str(target)],
                            capture_output=True, text=True, check=False)
        if ro.returncode != 0:
            pytest.skip(f"cannot remount read-only here: {ro.stderr.strip() or 'failed'}")
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


@pytest.fixture()
def used_home(sandbox: Sandbox, home: Path) -> Path:
    """A home with a completed collect and a queued one, its processes all gone."""
    sandbox.add_domain("done.example", 25)
    sandbox.add_domain("waiting.example", 5)
    for args in (("collect", "done.example"), ("worker", "--burst"),
                 ("collect", "waiting.example")):
        done = run_process(*args)
        assert done.returncode == 0, done.stderr
    return home


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


RAISE_PRIORITY = ("import os, sqlite3, sys\n"
                  "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                  "c.execute('PRAGMA wal_autocheckpoint = 0')\n"
                  "c.execute('UPDATE jobs SET priority = 1 WHERE id = 2')\n"
                  "os._exit(0)\n")


@pytest.mark.parametrize("journal", ["clean", "live-writer", "killed-writer"])
def test_reading_commands_work_on_a_read_only_home(
        used_home: Path, tmp_path: Path, journal: str) -> None:
    writer = None
    if journal == "live-writer":
        # a writer elsewhere keeps commits in state.db-wal: a reader must see them
        writer = sqlite3.connect(used_home / "state.db", isolation_level=None)
        writer.execute("PRAGMA wal_autocheckpoint = 0")
        writer.execute("UPDATE jobs SET priority = 1 WHERE id = 2")
    elif journal == "killed-writer":   # the same, left by a process that died
        subprocess.run([sys.executable, "-c", RAISE_PRIORITY, str(used_home / "state.db")],
                       check=True)
        assert (used_home / "state.db-wal").stat().st_size > 0
    try:
        with read_only_view(used_home, tmp_path / "ro") as ro:
            env = novahunt_env(NOVAHUNT_HOME=str(ro))
            listed = run_process("jobs", "list", "--json", env=env)
            assert listed.returncode == 0, listed.stderr   # before: "internal error"
            got = {j["params"]["domain"]: j for j in json.loads(listed.stdout)}
            assert got["done.example"]["status"] == "completed"
            assert got["waiting.example"]["status"] == "queued"
            assert got["waiting.example"]["priority"] == (3 if journal == "clean" else 1)
            for args in (("jobs", "show", "1"), ("results", "done.example", "--format", "json"),
                         ("stats",)):
                done = run_process(*args, env=env)
                assert done.returncode == 0, (args, done.stderr)
                assert "internal error" not in done.stderr
            results = run_process("results", "done.example", "--format", "json", env=env)
            assert len(json.loads(results.stdout)) == 25
            assert sorted(p.name for p in ro.iterdir()) == sorted(
                p.name for p in used_home.iterdir())
    finally:
        if writer is not None:
            writer.close()


def test_writing_commands_refuse_in_one_line_and_pay_nothing(
        used_home: Path, tmp_path: Path, sandbox: Sandbox) -> None:
    sandbox.add_domain("new.example", 30)
    before = len(sandbox.requests)
    billed = (sandbox.searches_used, sandbox.verifications_used)
    leads = tmp_path / "leads.csv"
    leads.write_text("first_name,last_name,domain\nAda,Lovelace,new.example\n",
                     encoding="utf-8")
    with read_only_view(used_home, tmp_path / "ro") as ro:
        env = novahunt_env(NOVAHUNT_HOME=str(ro))
        for args in (("collect", "new.example"), ("jobs", "cancel", "2"),
                     ("worker", "--burst"), ("verify", "someone@done.example"),
                     ("enrich", str(leads), "-o", str(tmp_path / "out.csv"), "--follow")):
            done = run_process(*args, env=env)
            assert done.returncode == 1, (args, done.stdout, done.stderr)
            line = one_line(done.stderr)
            assert line.startswith("novahunt: error: ") and "read-only" in line, line
            assert "internal error" not in line and "Traceback" not in done.stderr
    assert (sandbox.searches_used, sandbox.verifications_used) == billed
    asked = [r.endpoint for r in sandbox.requests[before:]]
    assert not {"domain-search", "email-verifier", "email-finder"} & set(asked), asked
    assert not (tmp_path / "out.csv").exists()
    print(f"\n{len(asked)} free requests ({', '.join(sorted(set(asked))) or 'none'}), "
          "0 credits on a read-only home")
    # nothing changed underneath
    listed = run_process("jobs", "list", "--json")
    assert [j["status"] for j in json.loads(listed.stdout)] == ["queued", "completed"]


def test_doctor_names_a_read_only_home(used_home: Path, tmp_path: Path) -> None:
    with read_only_view(used_home, tmp_path / "ro") as ro:
        done = run_process("doctor", "--json", env=novahunt_env(NOVAHUNT_HOME=str(ro)))
    checks = {c["check"]: c for c in json.loads(done.stdout)}
    assert checks["home"]["status"] == "fail"
    assert "read-only file system" in checks["home"]["message"]
    assert "reading commands work" in checks["home"]["message"]
    # the rest is read as usual
    assert checks["integrity"]["status"] == "ok", checks["integrity"]
    assert checks["schema"]["status"] == "ok"
