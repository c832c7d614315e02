"""`-o FILE` is written whole or not at all, and checked before anything is paid for.

Every `-o` goes to a temporary file next to FILE and is renamed onto it once written:
`results -o export.csv` over a good earlier export, when state.db turns out damaged or
the disk fills, used to leave the earlier file cut short (3,001 lines -> 1). And
`enrich leads.csv -o /no/such/folder/out.csv` used to queue the job, pay 20 Email
Finder calls and only then fail: an output path that cannot be written is refused
first, with one line and exit 2.
"""

from __future__ import annotations

import csv
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import Cli, drain, run_process
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_an_export_over_a_damaged_state_db_leaves_the_earlier_file_whole(
        sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    sandbox.add_domain("big.example", 3000)
    assert run_process("collect", "big.example", "--follow").returncode == 0
    export = tmp_path / "export.csv"
    done = run_process("results", "big.example", "--format", "csv", "-o", str(export))
    assert done.returncode == 0, done.stderr
    earlier = export.read_bytes()
    assert earlier.count(b"\n") == 3001
    state_db = home / "state.db"
    with state_db.open("r+b") as fh:   # the second half of the file is gone
        fh.truncate(state_db.stat().st_size // 2)
    done = run_process("results", "big.example", "--format", "csv", "-o", str(export))
    assert done.returncode != 0
    assert done.stderr.count("\n") == 1, done.stderr   # one line says why
    assert export.read_bytes() == earlier               # was: 1 line left
    assert leftovers(tmp_path) == []


@pytest.fixture()
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MB tmpfs to write exports on."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'mount failed'}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(where: Path) -> None:
    """Take every byte left on the disk (unbuffered: nothing is left to flush)."""
    fd = os.open(where / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (65536, 1):
            try:
                while True:
                    os.write(fd, b"\0" * chunk)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_an_export_on_a_full_disk_leaves_the_earlier_file_whole(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, small_disk: Path) -> None:
    sandbox.add_domain("full.example", 1500)
    assert cli("collect", "full.example")[0] == 0
    drain(inline_worker)
    export = small_disk / "export.csv"
    code, _, err = cli("results", "full.example", "--format", "csv", "-o", str(export))
    assert code == 0, err
    earlier = export.read_bytes()
    fill(small_disk)
    # JSON is longer than the CSV it would replace: it cannot fit
    code, _, err = cli("results", "full.example", "--format", "json", "-o", str(export))
    assert code == 1
    assert err == f"novahunt: error: cannot write {export}: No space left on device\n"
    assert export.read_bytes() == earlier
    assert leftovers(small_disk) == []


def test_verify_output_on_a_full_disk_leaves_the_earlier_file_whole(
        sandbox: Sandbox, cli: Cli, small_disk: Path, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("email,note\n" + "".join(f"p{i}@whole.example,{'x' * 200}\n"
                                               for i in range(300)), encoding="utf-8")
    out = small_disk / "verified.csv"
    out.write_text("an earlier file\n", encoding="utf-8")
    fill(small_disk)
    code, _, err = cli("verify", "--file", str(leads), "-o", str(out))
    assert code == 1, err
    assert f"cannot write {out}: No space left on device" in err
    assert out.read_text(encoding="utf-8") == "an earlier file\n"
    assert leftovers(small_disk) == []


def leads_file(folder: Path, rows: int = 20) -> Path:
    leads = folder / "leads.csv"
    with leads.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["first name", "last name", "domain"])
        writer.writerows([f"Person{i}", "Smith", "paid.example"] for i in range(rows))
    return leads


@pytest.mark.parametrize("where", ["/no/such/folder/out.csv", "a folder"])
def test_enrich_refuses_an_output_it_cannot_write_before_paying(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path,
        where: str) -> None:
    sandbox.add_domain("paid.example", 30)
    leads = leads_file(tmp_path)
    target = tmp_path if where == "a folder" else Path(where)
    code, _, err = cli("enrich", str(leads), "-o", str(target))
    assert code == 2
    assert err.startswith(f"novahunt: error: cannot write {target}: ") and err.count("\n") == 1
    drain(inline_worker)
    assert sandbox.count("email-finder") == 0   # was: 20 Finder calls, then a traceback
    assert cli("jobs", "list")[1] == "no jobs\n"


@pytest.mark.parametrize("command", [
    ("results", "paid.example", "--format", "csv"),
    ("verifications", "--format", "csv"),
    ("verify", "ada@paid.example"),
])
def test_every_output_path_is_checked_first(sandbox: Sandbox, cli: Cli,
                                            inline_worker: WorkerRuntime,
                                            command: tuple[str, ...]) -> None:
    code, _, err = cli(*command, "-o", "/no/such/folder/out.csv")
    assert code == 2
    assert err == ("novahunt: error: cannot write /no/such/folder/out.csv: "
                   "no folder /no/such/folder\n")
    drain(inline_worker)
    assert sandbox.requests == []


def test_an_output_through_a_symlink_replaces_the_file_and_keeps_the_link(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    sandbox.add_domain("link.example", 5)
    assert cli("collect", "link.example")[0] == 0
    drain(inline_worker)
    real = tmp_path / "real.csv"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    code, _, err = cli("results", "link.example", "--format", "csv", "-o", str(link))
    assert code == 0, err
    assert link.is_symlink() and real.read_text(encoding="utf-8").count("\n") == 6
    assert leftovers(tmp_path) == []


def test_an_output_that_is_no_file_is_written_directly(sandbox: Sandbox, cli: Cli,
                                                      inline_worker: WorkerRuntime) -> None:
    """`-o /dev/stdout` (a pipe here) cannot be renamed onto: it is written as it is."""
    sandbox.add_domain("pipe.example", 5)
    assert cli("collect", "pipe.example")[0] == 0
    drain(inline_worker)
    done = run_process("results", "pipe.example", "--format", "csv", "-o", "/dev/stdout")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 6 and done.stdout.startswith("email,")
