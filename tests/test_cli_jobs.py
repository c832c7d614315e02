"""`novahunt jobs list/show/cancel/retry/cleanup` and `novahunt results`, in-process."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from helpers import Cli, drain, shown
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

# every test here runs on each backend (backend: state.db and PostgreSQL)
pytestmark = pytest.mark.usefixtures("backend")

CONTACT_KEYS = ["email", "first_name", "last_name", "position", "department", "seniority",
                "type", "confidence"]


def queue(cli: Cli, *args: str) -> list[int]:
    code, out, err = cli("collect", *args, "--json")
    assert code == 0, err
    return [job["id"] for job in json.loads(out)]



def listed(cli: Cli, *args: str) -> list[dict[str, Any]]:
    code, out, err = cli("jobs", "list", "--json", *args)
    assert code == 0, err
    found = json.loads(out)
    assert isinstance(found, list)
    return found


def status_of(cli: Cli, job_id: int) -> str:
    return str(shown(cli, job_id)["status"])


@pytest.fixture()
def collected(sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> int:
    """A completed collection of `done.example` (25 contacts); returns its job id."""
    sandbox.add_domain("done.example", 25, organization="Done Inc", pattern="{first}.{last}")
    [job_id] = queue(cli, "done.example")
    assert drain(inline_worker) == 1
    assert status_of(cli, job_id) == "completed"
    return job_id


# -- jobs show ---------------------------------------------------------------------------


def test_show_json_of_a_completed_collection_has_the_whole_record(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    job = shown(cli, collected)
    assert {"id", "type", "status", "priority", "params", "attempts", "progress", "result",
            "error", "tags", "created_at", "started_at", "finished_at", "events"} <= job.keys()
    assert (job["id"], job["type"], job["status"], job["priority"]) == (
        collected, "collect", "completed", 3)
    assert job["params"]["domain"] == "done.example"
    assert job["attempts"] == 1
    assert job["error"] is None
    assert job["tags"] == []
    assert job["progress"]["current"] == job["progress"]["total"] == 25
    assert "stage" in job["progress"]
    created, started, finished = (datetime.fromisoformat(job[k]) for k in (
        "created_at", "started_at", "finished_at"))
    assert created <= started <= finished
    kinds = [e["kind"] for e in job["events"]]
    assert kinds[0] == "queued" and kinds[-1] == "completed" and "running" in kinds
    assert all({"at", "kind", "message"} <= e.keys() for e in job["events"])
    result = job["result"]
    assert {k: result[k] for k in ("domain", "organization", "pattern", "emails_collected",
                                   "total_available", "pages_fetched", "api_calls")} == {
        "domain": "done.example", "organization": "Done Inc", "pattern": "{first}.{last}",
        "emails_collected": 25, "total_available": 25, "pages_fetched": 1, "api_calls": 1}


def test_show_of_a_queued_job_has_no_start_finish_or_result(sandbox: Sandbox, cli: Cli) -> None:
    [job_id] = queue(cli, "waiting.example", "--tag", "x")
    job = shown(cli, job_id)
    assert job["status"] == "queued"
    assert (job["started_at"], job["finished_at"], job["result"]) == (None, None, None)
    assert job["attempts"] == 0
    assert job["tags"] == ["x"]


def test_show_as_text_names_the_job_and_its_status(cli: Cli, collected: int) -> None:
    code, out, err = cli("jobs", "show", str(collected))
    assert code == 0, err
    assert f"job {collected}" in out and "done.example" in out and "completed" in out
    assert "events:" in out


def test_show_of_an_unknown_job_exits_2_with_one_line(cli: Cli) -> None:
    code, out, err = cli("jobs", "show", "999")
    assert code == 2
    assert out == ""
    assert err == "novahunt: error: no job with id 999\n"


# -- jobs list ---------------------------------------------------------------------------


def test_list_json_is_newest_first_with_the_same_objects_as_show(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    later = queue(cli, "b.example", "c.example")
    found = listed(cli)
    assert [j["id"] for j in found] == [later[1], later[0], collected]
    full = shown(cli, collected)
    assert found[-1] == {k: v for k, v in full.items() if k != "events"}


def test_list_filters_by_status_type_and_limit(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    for domain in ("q1.example", "q2.example", "q3.example"):
        sandbox.add_domain(domain, 5)  # with none, Email Count would complete them at once
    queued = queue(cli, "q1.example", "q2.example", "q3.example")
    assert [j["id"] for j in listed(cli, "--status", "completed")] == [collected]
    assert [j["id"] for j in listed(cli, "--status", "queued")] == queued[::-1]
    assert listed(cli, "--status", "failed") == []
    assert len(listed(cli, "--type", "collect")) == 4
    assert listed(cli, "--type", "verify") == []
    assert [j["id"] for j in listed(cli, "--limit", "2")] == [queued[2], queued[1]]
    both = listed(cli, "--status", "queued", "--limit", "1")
    assert [j["id"] for j in both] == [queued[2]]


def test_list_with_an_unknown_status_exits_2(cli: Cli) -> None:
    code, out, err = cli("jobs", "list", "--status", "nope")
    assert code == 2
    assert out == ""
    assert "--status" in err and "queued" in err and err.count("\n") == 1


def test_list_as_a_table_shows_each_job(sandbox: Sandbox, cli: Cli, collected: int) -> None:
    queue(cli, "tabled.example", "--tag", "leads")
    code, out, err = cli("jobs", "list")
    assert code == 0, err
    assert "done.example" in out and "completed" in out
    assert "tabled.example" in out and "queued" in out and "leads" in out


def test_list_with_no_jobs_says_so(cli: Cli) -> None:
    assert cli("jobs", "list") == (0, "no jobs\n", "")
    assert listed(cli) == []


# -- cancel and retry --------------------------------------------------------------------


def test_cancel_a_queued_job_cancels_it_at_once_and_it_never_runs(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("stop.example", 5)
    [job_id] = queue(cli, "stop.example")
    code, out, err = cli("jobs", "cancel", str(job_id))
    assert code == 0, err
    assert f"#{job_id} stop.example: canceled" in out
    job = shown(cli, job_id)
    assert job["status"] == "canceled" and job["finished_at"] is not None
    drain(inline_worker)  # its message is still in the queue: the claim must refuse it
    assert status_of(cli, job_id) == "canceled"
    assert sandbox.requests == []


def test_cancel_a_completed_job_reports_it_already_completed(
        cli: Cli, collected: int) -> None:
    code, out, err = cli("jobs", "cancel", str(collected))
    assert code == 0, err
    assert "already completed" in out
    assert status_of(cli, collected) == "completed"


def test_cancel_an_unknown_job_exits_2(cli: Cli) -> None:
    code, _, err = cli("jobs", "cancel", "42")
    assert code == 2 and "42" in err


def test_retry_a_canceled_job_queues_it_and_it_completes(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime) -> None:
    sandbox.add_domain("again.example", 7)
    [job_id] = queue(cli, "again.example")
    assert cli("jobs", "cancel", str(job_id))[0] == 0
    code, out, err = cli("jobs", "retry", str(job_id))
    assert code == 0, err
    assert f"#{job_id} again.example: queued again" in out
    job = shown(cli, job_id)
    assert job["status"] == "queued" and job["finished_at"] is None
    drain(inline_worker)
    job = shown(cli, job_id)
    assert job["status"] == "completed"
    assert job["result"]["emails_collected"] == 7
    assert sandbox.count("domain-search", domain="again.example") == 1


def test_retry_a_completed_job_exits_2(cli: Cli, collected: int) -> None:
    code, out, err = cli("jobs", "retry", str(collected))
    assert code == 2
    assert out == ""
    assert "completed" in err and "failed or canceled" in err and err.count("\n") == 1
    assert status_of(cli, collected) == "completed"


# -- cleanup -----------------------------------------------------------------------------


def test_cleanup_removes_finished_jobs_but_keeps_contacts_and_queued_jobs(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    [canceled] = queue(cli, "dropped.example")
    assert cli("jobs", "cancel", str(canceled))[0] == 0
    [waiting] = queue(cli, "waiting.example")
    code, out, err = cli("jobs", "cleanup", "--older-than", "0s")
    assert code == 0, err
    assert "removed 2" in out
    assert [j["id"] for j in listed(cli)] == [waiting]
    assert cli("jobs", "show", str(collected))[0] == 2
    code, out, _ = cli("results", "done.example", "--format", "json")
    assert code == 0
    assert len(json.loads(out)) == 25


def test_cleanup_keeps_jobs_newer_than_the_cutoff(cli: Cli, collected: int) -> None:
    code, out, _ = cli("jobs", "cleanup", "--older-than", "1h")
    assert code == 0 and "removed 0" in out
    assert [j["id"] for j in listed(cli)] == [collected]


def test_cleanup_with_a_bad_duration_exits_2(cli: Cli, collected: int) -> None:
    code, _, err = cli("jobs", "cleanup", "--older-than", "forever")
    assert code == 2 and "forever" in err
    assert [j["id"] for j in listed(cli)] == [collected]


# -- results -----------------------------------------------------------------------------


def test_results_json_is_an_array_of_contacts_best_first(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    code, out, err = cli("results", "done.example", "--format", "json")
    assert code == 0, err
    contacts = json.loads(out)
    assert isinstance(contacts, list) and len(contacts) == 25
    assert all(set(CONTACT_KEYS) <= c.keys() for c in contacts)
    assert sorted(c["email"] for c in contacts) == sorted(sandbox.emails_of("done.example"))
    scores = [c["confidence"] for c in contacts if c["confidence"] is not None]
    assert scores == sorted(scores, reverse=True)


def test_results_takes_the_domain_in_any_spelling(cli: Cli, collected: int) -> None:
    code, out, _ = cli("results", "https://www.DONE.example/team", "--format", "json")
    assert code == 0
    assert len(json.loads(out)) == 25


def test_results_csv_has_a_header_and_one_row_per_contact(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    code, out, err = cli("results", "done.example", "--format", "csv")
    assert code == 0, err
    reader = csv.DictReader(io.StringIO(out))
    assert reader.fieldnames is not None and set(CONTACT_KEYS) <= set(reader.fieldnames)
    rows = list(reader)
    assert sorted(r["email"] for r in rows) == sorted(sandbox.emails_of("done.example"))


def test_results_jsonl_is_one_object_a_line(
        sandbox: Sandbox, cli: Cli, collected: int) -> None:
    code, out, err = cli("results", "done.example", "--format", "jsonl")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 25
    objects = [json.loads(line) for line in lines]
    assert all(set(CONTACT_KEYS) <= o.keys() for o in objects)
    assert sorted(o["email"] for o in objects) == sorted(sandbox.emails_of("done.example"))


def test_results_table_lists_the_emails(sandbox: Sandbox, cli: Cli, collected: int) -> None:
    code, out, err = cli("results", "done.example")
    assert code == 0, err
    for email in sandbox.emails_of("done.example"):
        assert email in out


@pytest.fixture()
def open_umask() -> Iterator[None]:
    """A permissive umask, so only novahunt's own umask can make a file private."""
    before = os.umask(0o022)
    yield
    os.umask(before)


@pytest.mark.parametrize("format_", ["csv", "json", "jsonl", "table"])
def test_results_output_file_is_written_owner_only(
        sandbox: Sandbox, cli: Cli, collected: int, tmp_path: Path, open_umask: None,
        format_: str) -> None:
    target = tmp_path / f"contacts.{format_}"
    code, out, err = cli("results", "done.example", "--format", format_, "-o", str(target))
    assert code == 0, err
    assert out == ""  # everything went to the file
    assert "wrote 25 contacts" in err
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    text = target.read_text(encoding="utf-8")
    for email in sandbox.emails_of("done.example"):
        assert email in text
    if format_ == "json":
        assert len(json.loads(text)) == 25


def test_results_to_an_unwritable_path_exits_2(
        cli: Cli, collected: int, tmp_path: Path) -> None:
    code, _, err = cli("results", "done.example", "-o", str(tmp_path / "no" / "such" / "f"))
    assert code == 2 and "cannot write" in err


def test_results_with_an_unknown_format_exits_2(cli: Cli, collected: int) -> None:
    code, out, err = cli("results", "done.example", "--format", "bogus")
    assert code == 2
    assert out == ""
    assert "--format" in err and "csv" in err


def test_results_of_a_domain_without_contacts(sandbox: Sandbox, cli: Cli) -> None:
    assert cli("results", "empty.example", "--format", "json") == (0, "[]\n", "")
    assert cli("results", "empty.example", "--format", "jsonl") == (0, "", "")
    code, out, err = cli("results", "empty.example")
    assert code == 0
    assert out == ""
    assert "no contacts for empty.example" in err
    assert "novahunt collect empty.example" in err


def test_results_of_a_bad_domain_exits_2(cli: Cli) -> None:
    code, out, err = cli("results", "bob@x.example")
    assert code == 2 and out == "" and "bob@x.example" in err


def test_a_job_created_after_cleanup_gets_a_new_id_and_only_its_own_api_calls(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, collected: int) -> None:
    sandbox.add_domain("next.example", 3)
    assert "removed 1" in cli("jobs", "cleanup", "--older-than", "0s")[1]
    [job_id] = queue(cli, "next.example")
    drain(inline_worker)
    job = shown(cli, job_id)
    assert job["status"] == "completed"
    assert job["result"]["api_calls"] == 1  # one Domain Search page, nothing inherited
    assert job_id > collected
