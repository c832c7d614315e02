"""What every HTTP client of novahunt shares.

Building an httpx transport builds a TLS context, which loads the CA bundle: about 45 ms
each time. A worker makes a client per job and a command makes a few, so the process
keeps one context (an `ssl.SSLContext` is safe to share between threads and
connections). It honours SSL_CERT_FILE and SSL_CERT_DIR as httpx would.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()
