"""The scraper reaches only the public web: ports 80 and 443, public addresses.

A lead list is input from strangers. Before, `scrape` of a domain whose name resolved
to 127.0.0.1 crawled this machine, and a redirect to another port of the site (a
Docker API on 2375, a Redis on 6379) was followed. Names are made to resolve where a
test needs them with lines added to /etc/hosts (we are root here; the test is skipped
when the file cannot be written), and the sites listen on 127.0.0.1:80 for real.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from helpers import drain
from novahunt import config
from novahunt.providers import reach, web
from novahunt.queue import dispatch
from novahunt.runners import scrape
from novahunt.state import jobs
from novahunt.state.db import Database
from novahunt.state.jobs import Job, Status
from novahunt.worker.runtime import WorkerRuntime
from website import Website

HOSTS = Path("/etc/hosts")
MARK = "# novahunt test"


@pytest.fixture()
def resolve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """`resolve(name, address)`: `name` resolves to `address` until the test ends."""
    monkeypatch.delenv(scrape.BASE_URL_ENV, raising=False)
    monkeypatch.setenv(scrape.DELAY_ENV, "0.01")
    monkeypatch.setenv(scrape.TIMEOUT_ENV, "2")
    added: list[str] = []

    def add(name: str, address: str) -> None:
        line = f"{address} {name} {MARK}\n"
        try:
            with HOSTS.open("a") as hosts:
                hosts.write(line)
        except OSError as exc:
            pytest.skip(f"cannot add {name} to {HOSTS}: {exc}")
        added.append(line)

    try:
        yield add
    finally:
        if added:
            kept = [line for line in HOSTS.read_text().splitlines(True) if line not in added]
            HOSTS.write_text("".join(kept))


def local_site(**kw: object) -> Website:
    """A Website on 127.0.0.1:80, the port a plain http://NAME/ reaches."""
    site = Website(port=80, **kw)  # type: ignore[arg-type]
    try:
        site.start()
    except OSError as exc:
        pytest.skip(f"cannot listen on 127.0.0.1:80: {exc}")
    return site


def submit(state: Database, domain: str) -> Job:
    [(job, _)] = dispatch.submit(state, [scrape.plan(config.load(), domain)])
    return job


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("fc00::1", "private"), ("169.254.169.254", "link-local"), ("fe80::1%1", "link-local"),
    ("224.0.0.1", "multicast"), ("239.255.255.250", "multicast"), ("ff02::1", "multicast"),
    ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("100.64.0.1", "not globally reachable"),
    # an IPv4 address inside an IPv6 one is judged as that IPv4 address
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"), ("2002:7f00:1::", "loopback"),
    ("93.184.216.34", None), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
    ("::ffff:8.8.8.8", None),
])
def test_which_addresses_are_public(address: str, kind: str | None) -> None:
    assert reach.refusal(address) == kind


def test_a_domain_that_resolves_to_this_machine_is_not_scraped(
        resolve: Callable[[str, str], None], state: Database,
        inline_worker: WorkerRuntime) -> None:
    resolve("loopback-lead.test", "127.0.0.1")
    site = local_site()
    try:
        job = submit(state, "loopback-lead.test")
        drain(inline_worker)
    finally:
        site.stop()
    done = jobs.get(state, job.id)
    # before: 22 requests (robots.txt and 21 pages) reached this machine
    assert site.requests == []
    assert done.status is Status.FAILED and done.attempts == 1   # not worth a retry
    assert "loopback-lead.test is 127.0.0.1, a loopback address" in (done.error or "")
    assert "NOVAHUNT_SCRAPE_BASE_URL" in (done.error or "")
    assert state.query("SELECT email FROM contacts") == []


def test_the_cloud_metadata_address_is_never_connected_to(
        resolve: Callable[[str, str], None], state: Database,
        inline_worker: WorkerRuntime) -> None:
    resolve("metadata-lead.test", "169.254.169.254")
    resolve("private-lead.test", "10.20.30.40")
    resolve("private-lead.test", "192.168.7.7")  # every address of a name is judged
    started = time.monotonic()
    metadata, private = submit(state, "metadata-lead.test"), submit(state, "private-lead.test")
    drain(inline_worker)
    # refused before any connection: no connect timeout is waited out
    assert time.monotonic() - started < 5
    done = jobs.get(state, metadata.id)
    assert done.status is Status.FAILED
    assert "169.254.169.254, a link-local address" in (done.error or "")
    done = jobs.get(state, private.id)
    assert done.status is Status.FAILED
    assert "10.20.30.40, a private address" in (done.error or "")


def test_a_subdomain_on_a_private_address_is_skipped_with_the_reason(
        resolve: Callable[[str, str], None]) -> None:
    # the site itself may be public; a subdomain it links or redirects to is judged
    # again on its own addresses, as every connection is
    resolve("intranet.lead-corp.test", "10.0.0.5")
    client = web.WebClient(web.Scope("lead-corp.test"), delay=0)
    try:
        with pytest.raises(web.Skipped) as caught:
            client.fetch("http://intranet.lead-corp.test/staff")
    finally:
        client.close()
    assert caught.value.reason.startswith("refused: intranet.lead-corp.test is 10.0.0.5, "
                                          "a private address")
    assert not caught.value.requested  # no page of the budget


def test_the_check_is_made_on_the_address_connected_to(site_on_80: Website) -> None:
    # an address handed over directly is judged as any resolved one: no name to trust
    with httpx.Client(transport=reach.transport()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            client.get("http://127.0.0.1/")
        assert isinstance(caught.value.__cause__, reach.NotPublic)
        assert "127.0.0.1 is a loopback address" in str(caught.value)
        # another port is refused before any lookup
        with pytest.raises(httpx.ConnectError, match=r"port 6379 of example-site\.test"):
            client.get("http://example-site.test:6379/")
    assert site_on_80.requests == []
    # NOVAHUNT_SCRAPE_BASE_URL's transport is the one explicit way to a local site
    with httpx.Client(transport=reach.transport(public_only=False)) as client:
        assert client.get("http://127.0.0.1/contact").status_code == 200
    assert [r.path for r in site_on_80.requests] == ["/contact"]


@pytest.fixture()
def site_on_80() -> Iterator[Website]:
    site = local_site()
    yield site
    site.stop()


def test_other_ports_of_the_site_are_out_of_scope(
        resolve: Callable[[str, str], None]) -> None:
    scope = web.Scope("ports-lead.test")
    for url in ("http://ports-lead.test/", "https://www.ports-lead.test/x",
                "http://ports-lead.test:80/", "https://ports-lead.test:443/"):
        assert scope.contains(url), url
    for url in ("http://ports-lead.test:2375/containers/json", "http://ports-lead.test:6379/",
                "https://api.ports-lead.test:8443/", "http://ports-lead.test:99999/"):
        assert not scope.contains(url), url

    # a Redis-like service on another port of the same host, and a site on port 80 that
    # redirects and links to it; the address check is left out to show the port rule alone
    resolve("ports-lead.test", "127.0.0.1")
    with Website() as other:
        port = other.url.rsplit(":", 1)[1]
        target = f"http://ports-lead.test:{port}/"
        site = local_site(redirects={"/redis": target})
        client = web.WebClient(scope, delay=0, transport=reach.transport(public_only=False))
        try:
            with pytest.raises(web.Skipped, match="redirects off-site to http://ports"):
                client.fetch("http://ports-lead.test/redis")
            with pytest.raises(web.Skipped, match="out of scope"):  # an old checkpoint's
                client.fetch(target + "contact")
        finally:
            client.close()
            site.stop()
        # before: the redirect was followed: robots.txt and the page of the other port
        assert other.requests == []
    assert [r.path for r in site.requests] == ["/robots.txt", "/redis"]
