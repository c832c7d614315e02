"""Domains against the Public Suffix List's own test cases (publicsuffix/list's
tests/test_psl.txt) and tldextract's (john-kurkowski/tldextract's tests/main_test.py),
kept in tests/data/domains/ with their source (SOURCE.md); a bare public suffix is refused
before anything is queued or paid for; the scraper spells hosts as normalise_domain does."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from helpers import Cli, drain
from novahunt.errors import BadInput
from novahunt.inputs.domains import host_to_ascii, normalise_domain
from novahunt.providers import web
from novahunt.providers.extract import extract
from novahunt.sandbox import Sandbox
from novahunt.worker.runtime import WorkerRuntime

DATA = Path(__file__).parent / "data" / "domains"
_CHECK = re.compile(r"^checkPublicSuffix\((null|'[^']*'), (null|'[^']*')\);$")


def _psl_cases() -> list[tuple[str, str | None]]:
    """Every live `checkPublicSuffix(input, expected)` line; commented-out ones are skipped
    as the list's own runners skip them. `null` input is read as the empty string."""
    cases = []
    for line in (DATA / "test_psl.txt").read_text(encoding="utf-8").splitlines():
        match = _CHECK.match(line.strip())
        if match:
            raw, expected = (None if g == "null" else g[1:-1] for g in match.groups())
            cases.append((raw or "", expected))
    return cases


PSL_CASES = _psl_cases()
PSL_KEPT: dict[str, dict[str, Any]] = {
    c["input"]: c
    for c in json.loads((DATA / "psl_kept_disagreements.json").read_text(encoding="utf-8"))}
TLDEXTRACT_CASES: list[dict[str, Any]] = json.loads(
    (DATA / "tldextract_cases.json").read_text(encoding="utf-8"))


def answer(raw: str) -> str | None:
    """What novahunt queues for `raw`, or None when it refuses it."""
    try:
        return normalise_domain(raw)
    except BadInput:
        return None


def psl_agrees(raw: str, expected: str | None, got: str | None) -> bool:
    """The list's registrable domain (None: no registrable name) against novahunt's answer:
    refused exactly where the list has none, else the typed host (one `www.` less) inside
    the registrable domain the list names."""
    if expected is None or got is None:
        return expected is None and got is None
    host = host_to_ascii(raw)
    registrable = host_to_ascii(expected)
    return got in (host, host.removeprefix("www.")) and (
        got == registrable or got.endswith("." + registrable))


def tldextract_agrees(case: dict[str, Any], got: str | None) -> bool:
    """A registrable name (fqdn, not an IP) is queued as that host, one `www.` less;
    a suffix alone, an IP, an unknown TLD or nothing is refused."""
    peer = case["peer"]
    if not peer["fqdn"] or peer["ipv4"] or peer["ipv6"]:
        return got is None
    try:
        fqdn = host_to_ascii(peer["fqdn"])
    except UnicodeError:  # no name at all under IDNA 2008 (an xn-- label with a ß in it)
        return got is not None and got == peer["fqdn"].lower()
    return got in (fqdn, fqdn.removeprefix("www."))


# -- the Public Suffix List's test_psl.txt -------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), PSL_CASES, ids=[r or "null" for r, _ in PSL_CASES])
def test_each_psl_case_gets_novahunts_recorded_answer(raw: str, expected: str | None) -> None:
    got = answer(raw)
    kept = PSL_KEPT.get(raw)
    if kept is None:
        assert psl_agrees(raw, expected, got), (raw, expected, got)
    else:
        assert got == kept["expected_novahunt"]
        assert not psl_agrees(raw, expected, got)


def test_psl_agreement_is_what_the_notes_claim() -> None:
    agreed = sum(psl_agrees(raw, exp, answer(raw)) for raw, exp in PSL_CASES)
    assert (len(PSL_CASES), agreed) == (78, 78 - len(PSL_KEPT))


# -- tldextract's main_test.py ---------------------------------------------------------------


@pytest.mark.parametrize("case", TLDEXTRACT_CASES,
                         ids=[f"{i}:{c['test']}" for i, c in enumerate(TLDEXTRACT_CASES)])
def test_each_tldextract_case_gets_novahunts_recorded_answer(case: dict[str, Any]) -> None:
    got = answer(case["input"])
    if "disagree_reason" in case:
        assert got == case["expected_novahunt"]
        assert not tldextract_agrees(case, got)
    else:
        assert tldextract_agrees(case, got), (case["input"], got)


def test_tldextract_agreement_is_what_the_notes_claim() -> None:
    agreed = sum(tldextract_agrees(c, answer(c["input"])) for c in TLDEXTRACT_CASES)
    kept = sum("disagree_reason" in c for c in TLDEXTRACT_CASES)
    assert (len(TLDEXTRACT_CASES), agreed, kept) == (90, 77, 13)


# -- a bare public suffix is refused, before anything is queued ------------------------------


SUFFIXES = ["co.uk", "uk.com", "ac.jp", "公司.cn", "k12.ak.us", "github.io", "c.mm", "CO.UK.",
            "https://co.uk/about", "xn--55qx5d.cn"]


@pytest.mark.parametrize("raw", SUFFIXES)
def test_a_bare_public_suffix_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(BadInput) as info:
        normalise_domain(raw)
    message = str(info.value)
    assert "\n" not in message and repr(raw) in message
    assert "public suffix" in message and "like example." in message


def test_the_private_section_is_named_when_it_is_the_reason() -> None:
    with pytest.raises(BadInput, match=r"private section.*example\.uk\.com"):
        normalise_domain("uk.com")
    with pytest.raises(BadInput) as info:
        normalise_domain("co.uk")
    assert "private" not in str(info.value)


@pytest.mark.parametrize(("raw", "expected"), [
    ("www.co.uk", "www.co.uk"),  # registered under co.uk: www is the name, not a prefix
    ("www.github.io", "www.github.io"),
    ("www.www.ck", "www.ck"),  # the list's exception rule !www.ck
    ("www.example.co.uk", "example.co.uk"),
    ("example.uk.com", "example.uk.com"),
    ("lead-corp.test", "lead-corp.test"),  # unknown to the list: its default rule
])
def test_names_under_a_suffix_are_kept(raw: str, expected: str) -> None:
    assert normalise_domain(raw) == expected


@pytest.mark.parametrize("raw", ["co.uk", "公司.cn", "https://k12.ak.us/"])
def test_collect_refuses_a_suffix_in_one_line_and_queues_and_pays_nothing(
        sandbox: Sandbox, cli: Cli, raw: str) -> None:
    code, out, err = cli("collect", "good.example", raw)
    assert code == 2 and out == ""
    assert err.startswith("novahunt: error: ") and err.count("\n") == 1, err
    assert "public suffix" in err
    code, out, _ = cli("jobs", "list", "--json")
    assert code == 0 and json.loads(out) == []
    assert sandbox.requests == []


def test_collect_file_with_a_suffix_names_the_line_and_queues_nothing(
        sandbox: Sandbox, cli: Cli, tmp_path: Path) -> None:
    listing = tmp_path / "domains.txt"
    listing.write_text("acme.co.uk\nuk.com\nbeta.example\n", encoding="utf-8")
    code, _, err = cli("collect", "--file", str(listing))
    assert code == 2
    assert f"{listing}:2: 'uk.com'" in err and "public suffix" in err
    code, out, _ = cli("jobs", "list", "--json")
    assert json.loads(out) == []
    assert sandbox.requests == []


@pytest.mark.parametrize("command", [("scrape", "co.uk"), ("find", "--domain", "ac.jp",
                                                           "--first", "Ann", "--last", "Lee")])
def test_other_commands_refuse_a_suffix_before_queueing(
        sandbox: Sandbox, cli: Cli, command: tuple[str, ...]) -> None:
    code, _, err = cli(*command)
    assert code == 2, err
    assert "public suffix" in err
    assert sandbox.requests == []


def test_the_example_in_the_refusal_is_in_the_script_the_user_typed() -> None:
    with pytest.raises(BadInput, match=r"like example\.公司\.cn$"):
        normalise_domain("公司.cn")
    with pytest.raises(BadInput, match=r"like example\.xn--55qx5d\.cn$"):
        normalise_domain("xn--55qx5d.cn")


def test_a_name_the_url_standard_reads_as_ipv4_is_refused() -> None:
    with pytest.raises(BadInput, match="hexadecimal number"):
        normalise_domain("http://127.0.0.0x1/")


# -- the scraper spells hosts the way normalise_domain does ----------------------------------


@pytest.mark.parametrize(("url", "expected"), [
    ("https://faß.de/kontakt", "https://xn--fa-hia.de/kontakt"),  # IDNA 2003 said fass.de
    ("https://FAß.DE/", "https://xn--fa-hia.de/"),
    ("http://fa%C3%9F.de/x", "http://xn--fa-hia.de/x"),
    ("https://www.münchen.de./impressum#top", "https://www.xn--mnchen-3ya.de/impressum"),
    ("https://例え。テスト/", "https://xn--r8jz45g.xn--zckzah/"),
    ("http://a%2Fb.com/", None),  # an escaped slash must not become a path
    ("http://😀.com/", None),
])
def test_normalise_url_spells_the_host_as_normalise_domain(url: str, expected: str | None
                                                           ) -> None:
    assert web.normalise_url(url) == expected


@pytest.mark.parametrize("raw", ["faß.de", "münchen.de", "ﬁnanz.de", "Straße.example",
                                 "ξένος.gr", "例え.テスト", "xn--fa-hia.de"])
def test_the_scopes_host_and_the_links_host_are_one_spelling(raw: str) -> None:
    domain = normalise_domain(raw)
    url = web.normalise_url(f"https://{raw}/kontakt")
    assert url == f"https://{domain}/kontakt"
    assert web.Scope(domain).contains(url)


def test_links_on_an_idn_site_stay_on_the_site() -> None:
    domain = normalise_domain("faß.de")
    page_html = (
        '<a href="https://faß.de/kontakt">Kontakt</a>'
        '<a href="https://www.faß.de/team">Team</a>'
        '<a href="/impressum">Impressum</a>'
        '<a href="https://fass.de/">another registrant</a>')

    def site(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/robots.txt":
            return httpx.Response(404)
        if request.url.path == "/alt":  # a redirect written in the native script
            return httpx.Response(301, headers={"location": "https://faß.de/kontakt".encode()})
        return httpx.Response(200, html=page_html)

    scope = web.Scope(domain)
    client = web.WebClient(scope, delay=0, transport=httpx.MockTransport(site))
    origin = client.open(scope.origins())
    assert origin == "https://xn--fa-hia.de"
    links = [link.url for link in extract(client.fetch(f"{origin}/")).links]
    assert links == ["https://xn--fa-hia.de/kontakt", "https://www.xn--fa-hia.de/team",
                     "https://xn--fa-hia.de/impressum", "https://fass.de/"]
    assert [scope.contains(u) for u in links] == [True, True, True, False]
    assert client.fetch("https://faß.de/alt").url == "https://xn--fa-hia.de/kontakt"


def test_enrich_skips_a_lead_whose_domain_is_a_suffix_and_pays_nothing(
        sandbox: Sandbox, cli: Cli, inline_worker: WorkerRuntime, tmp_path: Path) -> None:
    leads = tmp_path / "leads.csv"
    leads.write_text("first name,last name,website\nAda,Lovelace,https://co.uk/\n",
                     encoding="utf-8")
    out = tmp_path / "out.csv"
    code, _, err = cli("enrich", str(leads), "-o", str(out))
    assert code == 0, err
    drain(inline_worker)
    with out.open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert not row["enriched_email"]
    assert "no usable domain" in row["enrich_note"]
    assert sandbox.requests == []
