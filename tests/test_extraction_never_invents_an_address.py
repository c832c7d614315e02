"""Extraction finds what a page publishes and never invents an address: the peers' own
cases (tests/data/extraction/, sources in SOURCE.md) and the issue's examples."""

from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

import pytest

from novahunt.providers import web
from novahunt.providers.extract import extract

DATA = Path(__file__).parent / "data" / "extraction"
SUITES = ("ronin_support_obfuscations", "extract_emails_cases", "uri_js_rfc6068_mailto")


def load(suite: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((DATA / f"{suite}.json").read_text("utf-8"))["cases"]
    return cases


def found_in(body: str) -> list[str]:
    return extract(web.Page("https://example.org/", body.encode(), "utf-8")).emails


def found(case: dict[str, Any]) -> list[str]:
    if "href" in case:
        return found_in(f'<p><a href="{html.escape(case["href"])}">write to us</a></p>')
    return found_in(f"<p>{html.escape(case['text'])}</p>")


CASES = [
    pytest.param(case, id=f"{suite}:{case['source']}:{case.get('text', case.get('href'))}")
    for suite in SUITES
    for case in load(suite)
]


@pytest.mark.parametrize("case", CASES)
def test_peer_case(case: dict[str, Any]) -> None:
    wanted = case.get("expected_novahunt", case["peer"])
    assert found(case) == [address.lower() for address in wanted]


def test_every_kept_disagreement_says_why() -> None:
    for suite in SUITES:
        for case in load(suite):
            if "expected_novahunt" in case:
                assert case["expected_novahunt"] != case["peer"]
                assert len(case.get("disagree_reason", "")) > 40, case["source"]


@pytest.mark.parametrize(("text", "emails"), [
    # another person's mailbox, a quoted local part's tail, a URL's password: no address
    ("john [dot] smith [at] example [dot] com", ["john.smith@example.com"]),
    ('test."foo".bar@gmail.co.uk', []),
    ("http://user:pass@example.com:8080", []),
    ("https://sales@example.com/login", []),
    ("x.a@b@example.com", []),
    ("a@example.com@b.com", []),
    ("ask.john@example.com", ["ask.john@example.com"]),
    (".john@example.com", []),
    # found as well
    ("mailbox@example[dot]com", ["mailbox@example.com"]),
    ("name @ example.com", ["name@example.com"]),
    ("foo dot bar@example dot com", ["foo.bar@example.com"]),
    ("see https://example.com/ or sales@example.com.", ["sales@example.com"]),
    ("https://example.com/contact?to=hr@example.com", ["hr@example.com"]),
    # an address touching a word of a script written without spaces is whole; a Latin one
    # is part of a longer word (renée@...) and not cut to e@...
    ("メールinfo@example.jpまで", ["info@example.jp"]),
    ("联系\uff1asales@example.cn\u3002", ["sales@example.cn"]),
    ("renée@example.com", []),
    ("info@example.comé", []),
    # prose, not addresses
    ("meet us at example.com", []),
    ("find us @ example.com", []),
    ("VISIT ACME AT ACME.COM", []),
    ("JANE AT ACME.COM or jane.doe AT acme.com", ["jane.doe@acme.com"]),
])
def test_issue_examples(text: str, emails: list[str]) -> None:
    assert found_in(f"<p>{html.escape(text)}</p>") == emails


def test_a_long_run_of_words_and_dots_is_read_in_linear_time() -> None:
    # a hostile page: thousands of `a [dot] a` with no at, then long words before a URL
    started = time.monotonic()
    assert found_in("<p>" + "a [dot] " * 50_000 + "</p>") == []
    assert found_in("<p>" + ("a" * 2000 + "/u@example.com ") * 200 + "</p>") == [
        "u@example.com"]
    assert time.monotonic() - started < 5


def test_an_address_on_lines_of_its_own_is_not_joined_across_blocks() -> None:
    assert found_in("<div>sales</div><div>@ example.com</div>") == []
    assert found_in("<p>ann <b>@</b> example.com</p>") == ["ann@example.com"]


def test_every_recipient_of_a_mailto_link() -> None:
    href = ("mailto:a@example.com,%20b@example.com?To=c@example.com&cc=d@example.com,"
            "Eve%20%3Ce@example.com%3E&bcc=f%40example.com&subject=g@example.com"
            "&body=h@example.com")
    assert found_in(f'<a href="{html.escape(href)}">x</a>') == [
        "a@example.com", "b@example.com", "c@example.com", "d@example.com",
        "e@example.com", "f@example.com"]
