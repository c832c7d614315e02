"""URLs people hand in: connection URLs as a person may see them (the password never leaves
this process), and webhook URLs checked before a job is queued."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

from novahunt.errors import BadInput


def redact(url: str) -> str:
    """`postgresql://novahunt:s3cret@db:5432/x` -> `postgresql://novahunt:***@db:5432/x`;
    a query-string password (`?password=...`) is masked too."""
    scheme, sep, rest = url.partition("://")
    end = min([i for i in (rest.find(c) for c in "/?#") if i >= 0], default=len(rest))
    if sep and "@" not in rest[:end] and ":" in rest[:end] and "@" in rest[end:]:
        # a password with an unescaped / ? or # cuts the host part short, and urlsplit
        # would show the rest of it as the path: hide everything up to the last @
        user = rest[:end].partition(":")[0]
        url = f"{scheme}://{user}:***@{rest.rpartition('@')[2]}"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}{':***' if colon else ''}@{hostport}"
    query = "&".join(
        f"{k}=***" if k.lower() in ("password", "pass", "passwd") else f"{k}{sep}{v}"
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item))
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, url: str) -> str:
    """`text` (say, an error a driver raised) with `url`'s password replaced by `***`,
    wherever the URL or its password appear in it."""
    text = text.replace(url, redact(url))
    for secret in sorted(_passwords(url), key=len, reverse=True):
        if len(secret) >= 3:  # a shorter one would mask ordinary words
            text = text.replace(secret, "***")
    return text


def _passwords(url: str) -> set[str]:
    found: set[str] = set()
    try:
        parts = urlsplit(url)
        found.add(parts.password or "")
        found.update(v for k, _, v in (item.partition("=") for item in parts.query.split("&"))
                     if k.lower() in ("password", "pass", "passwd"))
    except ValueError:
        pass
    _, sep, rest = url.partition("://")
    if sep and "@" in rest:  # what redact() hides when the URL is malformed
        found.add(rest.rpartition("@")[0].partition(":")[2])
    return found | {unquote(s) for s in found}


def check_webhook_url(url: str) -> str:
    """A webhook URL as given, stripped, or BadInput: http(s) with a host. The refusal
    shows the URL without its password."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed [IPv6 bracket
        usable = False
    if not usable:
        raise BadInput("a webhook URL must be http:// or https:// with a host, not "
                       f"{redact(url)!r}")
    return url
