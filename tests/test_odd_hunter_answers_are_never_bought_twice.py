"""A 200 from a paid endpoint has been billed: whatever its types, it is stored or
skipped with a note, never bought again because it could not be read (issue 17: the same
page was bought up to 15 times, the ledger said 36 credits for a page worth 1)."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import pytest

from helpers import KEY, drain, emails_in_db, submit_collect, submit_verify
from novahunt import config
from novahunt.errors import UnreadableAnswer
from novahunt.providers import answers
from novahunt.providers.hunter import HunterClient
from novahunt.queue import dispatch
from novahunt.runners import find
from novahunt.sandbox import Fault, Sandbox
from novahunt.state import jobs, ledger
from novahunt.state.db import Database
from novahunt.state.jobs import Status
from novahunt.worker.runtime import WorkerRuntime

# on each backend: what PostgreSQL refuses to store (NUL characters) is odd too
pytestmark = pytest.mark.usefixtures("backend")

DOMAIN = "odd.example"
GOOD = ['{"value": "a@odd.example", "type": "personal", "confidence": 90}',
        '{"value": "b@odd.example", "type": "generic"}']
DEEP = "[" * 200_000 + "]" * 200_000


def page(emails: str, results: str = "2") -> str:
    return ('{"data": {"domain": "odd.example", "organization": "Odd", "emails": '
            f'{emails}}}, "meta": {{"results": {results}, "limit": 100, "offset": 0}}}}')


ODD_PAGES = {
    "a number in emails": page(f"[{GOOD[0]}, 5, {GOOD[1]}]"),
    "null in emails": page(f"[{GOOD[0]}, null, {GOOD[1]}]"),
    "emails as an object": page(f'{{"x": {GOOD[0]}, "y": {GOOD[1]}}}'),
    "meta.results 1e999": page(f"[{GOOD[0]}, {GOOD[1]}]", '"1e999"'),
    "NaN": page('[{"value": "a@odd.example", "confidence": NaN}, ' + GOOD[1] + "]", "NaN"),
    "Infinity": page('[{"value": "a@odd.example", "confidence": Infinity}, ' + GOOD[1] + "]",
                     "-Infinity"),
    "an array nested 200,000 deep": page(f"[{GOOD[0]}, {DEEP}, {GOOD[1]}]"),
    "an integer of 5,000 digits": page(f"[{GOOD[0]}, {GOOD[1]}]", "1" + "0" * 5000),
    "NUL characters": page('[{"value": "a@odd.example", "position": "CEO\\u0000",'
                           ' "sources": [{"uri": "\\u0000"}]}, ' + GOOD[1] + "]"),
    "lone surrogates": page('[{"value": "a@odd.example", "first_name": "\\ud800",'
                            ' "sources": [{"\\udfff": 1}]}, ' + GOOD[1] + "]"),
    "fields of the wrong types": page(
        '[{"value": "a@odd.example", "sources": 5, "verification": "x", "first_name": {},'
        ' "confidence": "high", "linked_domains": 1}, {"value": "b@odd.example",'
        ' "sources": [1, null, {"uri": "u"}], "position": [1], "phone_number": true}]'),
}

# pages with one entry that is no email object: skipped with a note
BAD_ENTRY = {ODD_PAGES[name] for name in ("a number in emails", "null in emails",
                                           "an array nested 200,000 deep")}


@pytest.mark.parametrize("body", ODD_PAGES.values(), ids=ODD_PAGES.keys())
def test_an_odd_page_is_stored_once_and_never_bought_again(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime, body: str) -> None:
    # a hostile Hunter would answer the same every time: buying again would pay again
    sandbox.inject(*[Fault(body=body)] * 20, domain=DOMAIN)
    [job] = submit_collect(state, DOMAIN)
    drain(inline_worker)
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED, done.error
    assert sandbox.count("domain-search") == 1
    assert emails_in_db(state, DOMAIN) == ["a@odd.example", "b@odd.example"]
    assert ledger.usage_of_job(state, job.id)["credits"] <= 1
    if body in BAD_ENTRY:
        [note] = [e.message for e in done.events if e.kind == "skipped"]
        assert "skipped 1 of the 3 entries Hunter sent" in note


@pytest.mark.parametrize("body", [
    '{"data": {"domain": "odd.example", "emai',   # cut short
    '{"data": [1, 2]}',                          # no data object
    "[" * 200_000,                               # never closed
], ids=["broken JSON", "no data object", "unclosed nesting"])
def test_an_unreadable_page_is_skipped_with_a_note_and_the_rest_collected(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch, body: str) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain(DOMAIN, 25)
    sandbox.inject(Fault(body=body), domain=DOMAIN)  # the first page only
    [job] = submit_collect(state, DOMAIN)
    drain(inline_worker)
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED, done.error
    # the first page, unreadable, is asked for once; the other pages come normally
    assert [r.params["offset"] for r in sandbox.requests] == ["0", "10", "20"]
    assert emails_in_db(state, DOMAIN) == sorted(sandbox.emails_of(DOMAIN)[10:])
    assert done.result is not None
    assert done.result["pages_skipped"] == 1 and done.result["complete"] is False
    assert any("page at offset 0" in e.message and "could not be read" in e.message
               for e in done.events if e.kind == "skipped")


def test_pages_that_cannot_be_read_in_a_row_stop_the_collection(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_PAGE_SIZE", "10")
    inline_worker.settings = config.load()
    sandbox.add_domain(DOMAIN, 500)
    sandbox.inject(*[Fault(body="{not json")] * 60, domain=DOMAIN)
    [job] = submit_collect(state, DOMAIN)
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED and done.result is not None
    assert "3 pages in a row could not be read" in done.result["stopped_reason"]
    assert sandbox.count("domain-search") == 3


def test_an_error_hunter_sends_with_a_nul_character_is_stored(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    # PostgreSQL refuses NUL in text: the job could not even record why it failed
    sandbox.add_domain(DOMAIN, 5)
    sandbox.inject(Fault(status=400, error_id="wrong\u0000params", details="bad\x00 one"),
                   domain=DOMAIN)
    [job] = submit_collect(state, DOMAIN)
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.FAILED
    assert "bad one" in (done.error or "")


def test_an_odd_verifier_answer_is_paid_once(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    odd = ('{"data": {"email": "x@odd.example", "status": ["valid"], "score": NaN,'
           ' "result": 7, "accept_all": "yes", "sources": {}}}')
    sandbox.inject(*[Fault(body=odd)] * 20, email="x@odd.example")
    sandbox.inject(*[Fault(body="[" * 200_000)] * 20, email="y@odd.example")
    job = submit_verify(state, ["x@odd.example", "y@odd.example"])
    drain(inline_worker)
    done = jobs.get(state, job.id, events=True)
    assert done.status is Status.COMPLETED, done.error
    assert sandbox.count("email-verifier") == 2
    assert done.result is not None and done.result["unverified"] == 1
    assert any("y@odd.example" in e.message and "could not be read" in e.message
               for e in done.events)


def test_an_odd_finder_answer_is_paid_once(
        sandbox: Sandbox, state: Database, inline_worker: WorkerRuntime) -> None:
    odd = ('{"data": {"email": "ada@odd.example", "score": Infinity, "sources": 3,'
           ' "verification": [], "position": {"a": 1}, "linkedin_url": 12}}')
    sandbox.inject(*[Fault(body=odd)] * 20, endpoint="email-finder", domain=DOMAIN)
    spec = find.plan(state, config.load(), DOMAIN, "Ada", "Lovelace")
    [(job, _)] = dispatch.submit(state, [spec])
    drain(inline_worker)
    done = jobs.get(state, job.id)
    assert done.status is Status.COMPLETED, done.error
    assert done.result is not None and done.result["email"] == "ada@odd.example"
    assert done.result["score"] is None and done.result["linkedin"] == "12"
    assert sandbox.count("email-finder") == 1


# -- the readers themselves: no value of any type makes them raise ----------------------

ODD_VALUES: list[Any] = [None, True, 0, -1, 2**70, 1.5, math.nan, math.inf, -math.inf, "",
                         "1e999", "NaN", "x", [], [None], {}, {"a": None}, [[[]]]]


def test_no_odd_value_in_any_field_makes_a_reader_raise() -> None:
    fields = ("value", "type", "confidence", "sources", "first_name", "verification",
              "position", "linkedin", "phone_number", "status", "date")
    for odd in ODD_VALUES:
        for name in fields:
            entry = {"value": "a@odd.example", name: odd}
            parsed = answers.parse_contact(entry)
            assert isinstance(parsed, str) or parsed.email == "a@odd.example"
            for data in ({name: odd}, {"email": odd, "score": odd, name: odd}):
                answers.parse_finder(data, DOMAIN)
                answers.parse_verification("a@odd.example", data)
                answers.parse_account({"requests": {"credits": {name: odd}}, name: odd})
        for body in ({"data": {"emails": odd}, "meta": {"results": odd}},
                     {"data": {"emails": [odd], "linked_domains": odd}, "meta": odd}):
            answers.parse_domain_search(body, DOMAIN, offset=0, limit=10)
            answers.bill_domain_search(body)
            answers.bill_finder(body)


def test_decoded_answers_are_safe_to_store() -> None:
    body = ('{"a": NaN, "b": [Infinity, 1' + "0" * 30 + '], "c": ' + DEEP
            + ', "d": "\\u0073' + KEY[1:] + '"}').encode()
    value = answers.decode(body, KEY)
    assert value["a"] is None and value["b"] == [None, None]
    depth, nested = 0, value["c"]
    while isinstance(nested, list) and nested:
        depth, nested = depth + 1, nested[0]
    assert depth < answers.MAX_DEPTH and nested is None  # cut short, not a RecursionError
    assert value["d"] == answers.REDACTED
    json.dumps(value, allow_nan=False)  # storable as strict JSON
    with pytest.raises(ValueError):
        answers.decode(b"{nope", KEY)


def test_a_body_built_against_the_depth_fallback_is_read_in_linear_time() -> None:
    # too deep for the C decoder, then strings that never close: each quote scanned
    # from afresh would take hours
    started = time.monotonic()
    with pytest.raises(ValueError):
        answers.decode(b"[" * 2000 + b'"\\"' * 300_000, KEY)
    assert time.monotonic() - started < 5


def test_the_client_calls_a_paid_unreadable_answer_unreadable(sandbox: Sandbox) -> None:
    sandbox.add_domain(DOMAIN, 5)
    sandbox.inject(Fault(body="{nope"), Fault(body="{nope"), domain=DOMAIN)
    with HunterClient(KEY, sandbox.url) as client, \
            pytest.raises(UnreadableAnswer, match="it may have been billed"):
        client.domain_search(DOMAIN, limit=10, offset=0)
    # a free endpoint's broken answer is worth asking again: it costs nothing
    sandbox.inject(Fault(body="{nope"), endpoint="email-count", domain=DOMAIN)
    with HunterClient(KEY, sandbox.url) as client, pytest.raises(Exception) as caught:
        client.email_count(DOMAIN)
    assert not isinstance(caught.value, UnreadableAnswer)
