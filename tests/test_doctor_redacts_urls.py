"""Passwords in NOVAHUNT_DATABASE_URL, NOVAHUNT_QUEUE_URL and webhook URLs are never
printed: `doctor` shows where state and messages live with `***` in the password's
place, whether or not the servers answer, and so do the webhook listings. (A Redis that
answers: test_queue_redis.py, which has the server.)"""

from __future__ import annotations

import json
import socket

import pytest

from helpers import Cli, drain
from novahunt import config
from novahunt.inputs.urls import redact, scrub
from novahunt.queue import dispatch
from novahunt.runners import collect
from novahunt.sandbox import Sandbox
from novahunt.state.db import Database
from novahunt.worker.runtime import WorkerRuntime

SECRET = "pw-n0t-for-pr1nt"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def doctor(cli: Cli) -> tuple[int, str, list[dict[str, str]]]:
    """`doctor` twice, plain and --json: the exit code, all the text, the JSON checks."""
    code, out, err = cli("doctor")
    json_code, json_out, json_err = cli("doctor", "--json")
    assert json_code == code
    return code, out + err + json_out + json_err, json.loads(json_out)


@pytest.mark.parametrize(("url", "shown"), [
    (f"postgresql://novahunt:{SECRET}@db.internal:5432/novahunt",
     "postgresql://novahunt:***@db.internal:5432/novahunt"),
    (f"redis://:{SECRET}@queue.internal:6379/0", "redis://:***@queue.internal:6379/0"),
    (f"rediss://team:{SECRET}@queue.internal/2", "rediss://team:***@queue.internal/2"),
    (f"postgresql://u@db/x?sslmode=require&password={SECRET}",
     "postgresql://u@db/x?sslmode=require&password=***"),
    ("redis://queue.internal:6379/0", "redis://queue.internal:6379/0"),
    (f"redis://:{SECRET}/x@queue.internal/0", "redis://:***@queue.internal/0"),
    (f"redis://u:{SECRET}#x@queue.internal/0", "redis://u:***@queue.internal/0"),
    (f"redis://u:p@{SECRET}@queue.internal/0", "redis://u:***@queue.internal/0"),
    (f"redis://:{SECRET}@[::1/0", "<unparsable URL>"),
])
def test_redact_keeps_the_user_and_hides_the_password(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_scrub_removes_a_password_however_a_driver_quotes_it() -> None:
    url = f"postgresql://novahunt:{SECRET}%2F1@db/x"
    said = f"could not connect with {url}; password {SECRET}/1 refused ({SECRET}%2F1)"
    cleaned = scrub(said, url)
    assert SECRET not in cleaned and "novahunt:***@db/x" in cleaned


def test_doctor_reports_unreachable_servers_without_their_passwords(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    database = f"postgresql://novahunt:{SECRET}@127.0.0.1:{_closed_port()}/novahunt"
    queue = f"redis://:{SECRET}@127.0.0.1:{_closed_port()}/0"
    monkeypatch.setenv("NOVAHUNT_DATABASE_URL", database)
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", queue)
    code, text, checks = doctor(cli)
    assert code == 1 and SECRET not in text
    by_name = {c["check"]: c for c in checks}
    assert by_name["database"]["message"] == redact(database)
    assert by_name["database"]["message"].startswith("postgresql://novahunt:***@127.0.0.1:")
    assert by_name["queue"]["status"] == "fail"
    assert by_name["queue"]["message"].startswith(f"cannot reach the queue at {redact(queue)}")
    assert by_name["integrity"]["status"] == "fail"
    assert "disk space" in by_name   # the checks went on past the failures


def test_doctor_with_bad_urls_fails_as_configuration_without_the_password(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVAHUNT_DATABASE_URL", f"mysql://root:{SECRET}@db/x")
    monkeypatch.setenv("NOVAHUNT_QUEUE_URL", f"amqp://guest:{SECRET}@mq/")
    code, text, checks = doctor(cli)
    assert code == 3 and SECRET not in text
    failed = {c["check"] for c in checks if c["status"] == "fail"}
    assert failed == {"queue", "config", "integrity"}


def test_on_sqlite_doctor_shows_the_two_files(cli: Cli) -> None:
    code, _, checks = doctor(cli)
    assert code == 0
    names = [c["check"] for c in checks]
    assert names[:3] == ["home", "state.db", "queue.db"]


def test_webhook_listings_hide_a_receivers_password(
        cli: Cli, sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("hooked.example", 2)
    hook = f"http://hooks:{SECRET}@127.0.0.1:{_closed_port()}/novahunt"
    settings = config.load()
    [spec] = collect.plan(state, settings, ["hooked.example"], max_results=10, webhook=hook)
    dispatch.submit(state, [spec])
    assert drain(inline_worker) == 1
    for args in (["webhooks", "list"], ["webhooks", "list", "--json"],
                 ["webhooks", "test", hook]):
        _, out, err = cli(*args)
        assert SECRET not in out + err, args
    _, out, _ = cli("webhooks", "list", "--json")
    assert json.loads(out)[0]["url"] == redact(hook)
