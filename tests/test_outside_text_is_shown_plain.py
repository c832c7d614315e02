"""Text from outside (Hunter's error details and contacts, lead files' names) reaches the
terminal as plain text: rich markup is shown, not obeyed (`[/] bad` used to crash `jobs
show` and `collect --follow` with MarkupError, `[link=...]` drew the sender's hyperlink),
and escape sequences (OSC 0 title, OSC 52 clipboard, ESC[2J), other control characters and
bidi overrides never reach it. `--json` keeps every value, with those characters written
as \\uXXXX. The last test runs the commands in a real terminal (tmux) and reads the screen,
the window title and the clipboard as a person would see them.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import KEY, Cli, drain, novahunt_env, run_process, shown
from novahunt.cli.plain import clean, plain
from novahunt.sandbox import Fault, Sandbox
from novahunt.worker.runtime import WorkerRuntime

MARKUP = "[/] bad [link=https://evil.example/x]click me[/link] [bold red]loud[/]"
TITLE = "\x1b]0;pwned-title\x07"
CLIPBOARD = "\x1b]52;c;cHduZWQtY2xpcGJvYXJk\x07"   # base64 of "pwned-clipboard"
CLEAR = "\x1b[2J\x1b[H"
BIDI = "\u202etxt.exe"
HOSTILE = f"{MARKUP} {TITLE}{CLIPBOARD}{CLEAR}{BIDI} \x9b31m\x07\x08end"
# what is left of HOSTILE on a screen: the words, every bracket as it was
SHOWN = "[/] bad [link=https://evil.example/x]click me[/link] [bold red]loud[/]"
TERMINAL_ACTS = ("\x1b", "\x07", "\x08", "\x9b", "\u202e")


def assert_plain(text: str) -> None:
    assert SHOWN in text, text
    for char in TERMINAL_ACTS:
        assert char not in text, (char, text)
    assert "pwned" not in text and "cHduZWQt" not in text


def refuse_collect(sandbox: Sandbox, domain: str) -> None:
    """Hunter answers the domain's search with a 400 whose details are HOSTILE."""
    sandbox.add_domain(domain, 3)
    sandbox.inject(Fault(status=400, error_id="wrong_params", details=HOSTILE), domain=domain)


def failed_collect(cli: Cli, worker: WorkerRuntime, sandbox: Sandbox, domain: str) -> int:
    refuse_collect(sandbox, domain)
    code, out, err = cli("collect", domain, "--json")
    assert code == 0, err
    [job] = json.loads(out)
    drain(worker)
    assert shown(cli, job["id"])["status"] == "failed"
    return int(job["id"])


def hostile_contacts(sandbox: Sandbox, domain: str) -> dict[str, Any]:
    """The sandbox's own Domain Search page for `domain`, its people's names and positions
    made hostile, served as the page novahunt buys."""
    sandbox.add_domain(domain, 4)
    page = httpx.get(f"{sandbox.url}/domain-search", headers={"X-API-KEY": KEY},
                     params={"domain": domain, "limit": 100, "offset": 0}).json()
    for entry in page["data"]["emails"]:
        # the escapes first, within the widths the table cuts long cells to
        entry.update(first_name=f"{TITLE}Ada", last_name=f"{CLEAR}x{BIDI}",
                     position=f"{CLIPBOARD}{MARKUP}", department="sales",
                     type="personal")
    sandbox.inject(Fault(body=json.dumps(page)), domain=domain)
    assert isinstance(page, dict)
    return page


# -- the two functions ----------------------------------------------------------------------


@pytest.mark.pure
def test_clean_drops_escape_sequences_whole_and_keeps_the_words() -> None:
    assert clean(HOSTILE) == f"{SHOWN} txt.exe 31mend"
    assert clean("a\nb\tc\rd") == "a b c d"          # a value cannot forge its own line
    assert clean("a\nb\tc", lines=True) == "a\nb\tc"  # novahunt's own lines keep theirs
    assert clean("José Núñez, 株式会社") == "José Núñez, 株式会社"
    assert plain("[/] bad") == "\\[/] bad"


# -- each renderer --------------------------------------------------------------------------


def test_a_hunter_error_with_markup_is_shown_by_follow_and_jobs_show(
        sandbox: Sandbox, cli: Cli) -> None:
    """The issue's crash: `collect --follow` and `jobs show` raised MarkupError on the
    job's error `[/] bad`."""
    refuse_collect(sandbox, "refused.example")
    code, out, err = cli("collect", "refused.example", "--follow")
    assert code == 1, err
    assert "MarkupError" not in out + err
    assert_plain(out)   # the plain progress line of the failed job
    assert_plain(err)   # and the "job 1 failed: ..." line after it
    code, out, err = cli("jobs", "show", "1")
    assert code == 0, err
    assert_plain(out)
    error_line = next(line for line in out.splitlines() if line.strip().startswith("error"))
    assert "Hunter answered 400 wrong_params" in error_line


def test_json_keeps_the_value_and_escapes_what_a_terminal_acts_on(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    job_id = failed_collect(cli, inline_worker, sandbox, "json.example")
    code, out, _ = cli("jobs", "show", str(job_id), "--json")
    assert code == 0
    assert HOSTILE in json.loads(out)["error"]   # every character, as Hunter sent it
    for char in TERMINAL_ACTS:
        assert char not in out
    assert "\\u202e" in out and "\\u001b]0;" in out


def test_jobs_list_and_cancel_show_a_lead_files_name_plain(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    """An enrich job's target is its file's name, which can hold anything."""
    name = f"leads {TITLE}[bold]{BIDI}.csv"   # no "/": a file name cannot hold one
    leads = tmp_path / name
    leads.write_text("first,last,domain\nAda,Lovelace,ada.example\n", encoding="utf-8")
    code, out, err = cli("enrich", str(leads), "-o", str(tmp_path / "out.csv"))
    assert code == 0, err
    assert "\x1b" not in out and "[bold]" in out
    for args in (("jobs", "list"), ("jobs", "cancel", "1")):
        code, out, err = cli(*args)
        assert code == 0, err
        assert "leads [bold]txt.exe.csv" in out, out
        assert "\x1b" not in out and "\u202e" not in out and "pwned" not in out


def test_results_show_hostile_names_and_positions_plain(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    hostile_contacts(sandbox, "people.example")
    assert cli("collect", "people.example")[0] == 0
    drain(inline_worker)
    code, out, err = cli("results", "people.example")
    assert code == 0, err
    assert len(out.splitlines()) == 5   # the header and 4 rows: no line break forged
    for char in TERMINAL_ACTS:
        assert char not in out
    assert "Ada xtxt.exe" in out and "[/] bad [link=" in out and "pwned" not in out


def test_verifications_show_hunters_reason_plain(sandbox: Sandbox, cli: Cli,
                                                 inline_worker: WorkerRuntime) -> None:
    """A refused address keeps Hunter's words as its reason, in the cache's table."""
    sandbox.inject(Fault(status=400, error_id="invalid_email", details=HOSTILE),
                   email="ada@refused.example")
    assert cli("verify", "ada@refused.example")[0] == 0
    drain(inline_worker)
    code, out, err = cli("verifications")
    assert code == 0, err
    assert "MarkupError" not in err
    flat = "".join(out.split())   # the table folds long cells over lines
    assert "".join(SHOWN.split()) in flat
    for char in TERMINAL_ACTS:
        assert char not in out


def test_an_error_line_built_from_hunters_words_is_plain(sandbox: Sandbox, cli: Cli) -> None:
    """`novahunt: error: ...` and the warnings of `collect` before it queues."""
    sandbox.inject(Fault(status=400, error_id="wrong_params", details=HOSTILE),
                   endpoint="account")
    code, _, err = cli("account")
    assert code == 1
    assert err.startswith("novahunt: error: ") and err.count("\n") == 1
    assert_plain(err)
    sandbox.add_domain("one.example", 2)
    sandbox.add_domain("two.example", 2)
    sandbox.inject(Fault(status=400, error_id="wrong_params", details=HOSTILE),
                   endpoint="account")
    code, _, err = cli("collect", "one.example", "two.example")
    assert code == 0, err
    assert "could not check your credits" in err
    assert_plain(err)


def test_a_workers_log_lines_are_plain(sandbox: Sandbox, cli: Cli, home: Path) -> None:
    """The worker's stderr (its terminal) and novahunt.log (read with `tail -f`)."""
    refuse_collect(sandbox, "refused.example")
    assert cli("collect", "refused.example")[0] == 0
    done = run_process("worker", "--burst")
    assert done.returncode == 0, done.stderr
    log = (home / "logs" / "novahunt.log").read_text(encoding="utf-8")
    for text in (done.stderr, log):
        line = next(line for line in text.splitlines() if "refused.example: failed" in line)
        assert SHOWN in line
        for char in TERMINAL_ACTS:
            assert char not in text


# -- in a real terminal ---------------------------------------------------------------------


def _tmux(socket: str, *args: str) -> str:
    done = subprocess.run(["tmux", "-L", socket, *args], capture_output=True, text=True,
                          timeout=30, check=False)
    return done.stdout


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_a_terminal_the_screen_title_and_clipboard_stay_the_users(
        sandbox: Sandbox, home: Path, tmp_path: Path) -> None:
    """`collect --follow` (live bars, since this is a terminal), `jobs show` and `results`
    in tmux: the failed job's error and the contacts are on the screen as text, the lines
    printed before are not cleared, the window title is not `pwned-title` and nothing
    reached the clipboard (before, `results` set the title and cleared the screen)."""
    refuse_collect(sandbox, "refused.example")
    hostile_contacts(sandbox, "people.example")
    env = novahunt_env()
    script = tmp_path / "run.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()
                      if k.startswith(("NOVAHUNT_", "HUNTER_", "PYTHON")))
    novahunt = f"{shlex.quote(sys.executable)} -m novahunt"
    script.write_text(
        f"{exports}unset NO_COLOR\necho BEFORE-THE-COMMANDS\n"
        f"{novahunt} collect refused.example --follow; echo FOLLOW-EXIT=$?\n"
        f"{novahunt} jobs show 1; echo SHOW-EXIT=$?\n"
        f"{novahunt} -q collect people.example --follow\n"
        f"{novahunt} results people.example; echo RESULTS-EXIT=$?\n", encoding="utf-8")
    socket = f"novahunt-test-{os.getpid()}"
    _tmux(socket, "-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "220", "-y", "60",
          "-e", "TERM=xterm-256color", "bash --norc --noprofile")
    try:
        _tmux(socket, "set", "-g", "set-clipboard", "on")
        _tmux(socket, "set", "-g", "allow-rename", "on")
        _tmux(socket, "set", "-g", "remain-on-exit", "on")
        title_before = _tmux(socket, "display", "-p", "-t", "t", "#{pane_title}")
        _tmux(socket, "send-keys", "-t", "t", f"bash {shlex.quote(str(script))}", "Enter")
        deadline = time.monotonic() + 90
        screen = ""
        while time.monotonic() < deadline and "RESULTS-EXIT=" not in screen:
            time.sleep(0.3)
            screen = _tmux(socket, "capture-pane", "-p", "-J", "-t", "t", "-S", "-200")
        assert "SHOW-EXIT=0" in screen and "RESULTS-EXIT=0" in screen, screen
        assert "FOLLOW-EXIT=1" in screen, screen
        assert "MarkupError" not in screen and "Traceback" not in screen, screen
        visible = _tmux(socket, "capture-pane", "-p", "-J", "-t", "t")
        assert "BEFORE-THE-COMMANDS" in visible, visible   # ESC[2J cleared nothing
        # the bar's state, the "job 1 failed" line and jobs show's error line
        assert "failed: Hunter answered 400 wrong_params: [/] bad" in screen, screen
        assert screen.count(SHOWN) >= 2, screen
        assert "\u202e" not in screen and "txt.exe" in screen
        assert screen.count("Ada xtxt.exe  [/] bad [link=") == 4, screen   # the 4 contacts
        title = _tmux(socket, "display", "-p", "-t", "t", "#{pane_title} #{window_name}")
        assert "pwned" not in title and title_before.strip() in title
        buffers = _tmux(socket, "list-buffers", "-F", "#{buffer_sample}")
        assert "pwned" not in buffers
    finally:
        _tmux(socket, "kill-server")
