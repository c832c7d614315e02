"""Where the scraper may connect: public addresses, on ports 80 and 443.

A lead list comes from strangers: a domain in it may resolve to 127.0.0.1, to a private
network or to the cloud metadata address 169.254.169.254, and a page may redirect to a
subdomain that does. Checking a URL's name before the request is not enough (the DNS
answer can change between the check and the connection), so the check sits where the
connection is made: `Backend`, an httpcore network backend, resolves the name itself,
keeps only public addresses, and connects to one of those very addresses. TLS still
checks the certificate against the name, not the address.

`transport()` puts it under the whole-request deadline of `providers/http.py`; with
`public_only=False` it is for the one explicit way to scrape a local site
(NOVAHUNT_SCRAPE_BASE_URL): the deadline stays, the address check goes. Either way the
scraper connects directly: a proxy would connect on our behalf to addresses we never
see.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterable

import httpcore
import httpx

from novahunt.providers.http import tls_context, with_deadlines

PORTS = frozenset({80, 443})
# NAT64 (RFC 6052): 64:ff9b::a.b.c.d reaches the IPv4 address a.b.c.d
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class NotPublic(httpcore.ConnectError):
    """The name resolves to no public address, or the port is not 80 or 443. httpx
    raises it as the `__cause__` of an httpx.ConnectError."""


def refusal(address: str) -> str | None:
    """Why `address` (an IP address) is not on the public internet, as "loopback",
    "private", ...; None for a public address."""
    ip = ipaddress.ip_address(address.partition("%")[0])  # an IPv6 zone: fe80::1%eth0
    if isinstance(ip, ipaddress.IPv6Address):
        # an IPv4 address inside an IPv6 one reaches that IPv4 address
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        if embedded is not None:
            return refusal(str(embedded))
    checks = (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
              ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
              ("reserved", ip.is_reserved), ("private", ip.is_private))
    for kind, hit in checks:
        if hit:
            return kind
    # 100.64.0.0/10 (carrier-grade NAT) and the like: neither private nor public
    return None if ip.is_global else "not globally reachable"


class Backend(httpcore.NetworkBackend):
    """Connects only to a public address on port 80 or 443, checked on the very
    address it connects to. `timeout` bounds the lookup and the connects together."""

    def __init__(self) -> None:
        self._plain = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        if port not in PORTS:
            raise NotPublic(f"port {port} of {host} is not 80 or 443")
        end = None if timeout is None else time.monotonic() + timeout
        addresses = _resolve(host, port, timeout)
        public = [a for a in addresses if refusal(a) is None]
        if not public:
            first = addresses[0]
            named = f"{host} is" if first == host else f"{host} is {first},"
            raise NotPublic(f"{named} a {refusal(first)} address: only public addresses "
                            "are scraped")
        problem: Exception | None = None
        for address in public:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise httpcore.ConnectTimeout(f"no connection to {host} in time")
            try:
                # the address, not the name: nothing is resolved again between the
                # check and the connection
                return self._plain.connect_tcp(address, port, left, local_address,
                                               socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                problem = exc
        assert problem is not None
        raise problem

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        raise NotPublic("the scraper does not connect to Unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def _resolve(host: str, port: int, timeout: float | None) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order. getaddrinfo takes no
    timeout, so a slow DNS server is waited for on a thread, up to `timeout`."""
    found: list[list[str]] = []
    problem: list[OSError] = []

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:  # socket.gaierror: no such name
            problem.append(exc)
        else:
            found.append(list(dict.fromkeys(str(info[4][0]) for info in infos)))

    if timeout is None:
        lookup()
    else:
        thread = threading.Thread(target=lookup, name="novahunt-dns", daemon=True)
        thread.start()
        thread.join(timeout)
        if thread.is_alive():  # left to finish on its own; nobody waits for it
            raise httpcore.ConnectTimeout(f"looking up {host} took more than {timeout:g}s")
    if problem:
        raise httpcore.ConnectError(f"cannot resolve {host}: {problem[0]}")
    if not found or not found[0]:
        raise httpcore.ConnectError(f"{host} has no address")
    return found[0]


class _Transport(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__(verify=tls_context(), trust_env=False)
        # httpx takes no network backend; its pool does, so the pool is replaced with
        # one that connects through ours (httpx's request and error mapping are kept)
        self._pool = httpcore.ConnectionPool(ssl_context=tls_context(),
                                             network_backend=Backend())


def transport(*, public_only: bool = True) -> httpx.HTTPTransport:
    """The scraper's transport: `Backend`'s address check (unless `public_only` is
    False), the deadline of `providers/http.py`, no proxy."""
    if public_only:
        return with_deadlines(_Transport())
    return with_deadlines(httpx.HTTPTransport(verify=tls_context(), trust_env=False))
