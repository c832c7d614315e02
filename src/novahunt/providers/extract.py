"""Finding the addresses published in a page.

`extract` looks in its text (an `@` split across inline tags is joined back, block
elements are kept apart), in `mailto:` links, in the bracketed obfuscations
`name [at] example [dot] com` and `name (at) example (dot) com`, in JSON-LD and in
Cloudflare's email protection. The parser (BeautifulSoup's `html.parser`) decodes
entities (`&#64;`). Strings that only look like addresses (`logo@2x.png`) are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, ParserRejectedMarkup
from bs4.element import CData, NavigableString, PageElement, Tag

from novahunt.inputs import emails
from novahunt.providers.web import (
    BLOCKS,
    FILE_TLDS,
    HOT_WORDS,
    NOT_PAGES,
    Extracted,
    Link,
    Page,
    Skipped,
    normalise_url,
)

_LOCAL = r"[a-z0-9._%+-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_PLAIN = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+", re.IGNORECASE)
# only bracketed words count: "name at example dot com" is too often plain prose
_AT = r"\s*[\[({<]\s*(?:at|@)\s*[\])}>]\s*"
_DOT = r"(?:\s*[\[({<]\s*(?:dot|\.)\s*[\])}>]\s*|\.)"
_OBFUSCATED = re.compile(rf"({_LOCAL}){_AT}({_LABEL}(?:{_DOT}{_LABEL})+)", re.IGNORECASE)
_DOTS = re.compile(_DOT, re.IGNORECASE)


def clean_email(candidate: str) -> str | None:
    """The normalised address, or None for what only looks like one."""
    local, _, host = emails.normalise(candidate).partition("@")
    email = f"{local.lstrip('.')}@{host}"
    if emails.syntax_problem(email) is not None:
        return None
    tld = host.rpartition(".")[2]
    if tld in FILE_TLDS or not (tld.isalpha() or tld.startswith("xn--")):
        return None
    return email


def extract(page: Page) -> Extracted:
    """The addresses and links of a page; raises Skipped if it cannot be parsed."""
    try:
        soup = BeautifulSoup(page.body, "html.parser", from_encoding=page.charset)
    except ParserRejectedMarkup as exc:
        raise Skipped(f"not parseable as HTML ({exc})") from exc
    found: dict[str, None] = {}

    def add(candidate: str) -> None:
        email = clean_email(candidate)
        if email is not None:
            found.setdefault(email)

    base = page.url
    tag = soup.find("base", href=True)
    if isinstance(tag, Tag) and isinstance(tag.get("href"), str):
        base = urljoin(page.url, str(tag["href"]).strip())
    links: dict[str, bool] = {}
    for a in soup.find_all(["a", "area"], href=True):
        href = a.get("href") if isinstance(a, Tag) else None
        if not isinstance(a, Tag) or not isinstance(href, str):
            continue
        href = href.strip()
        lowered = href.lower()
        if lowered.startswith("mailto:"):
            for address in unquote(href[7:].split("?", 1)[0]).split(","):
                add(address)
            continue
        if "/cdn-cgi/l/email-protection" in lowered:
            add(_cloudflare(href.partition("#")[2]))
            continue
        url = normalise_url(urljoin(base, href))
        if url is None or urlsplit(url).path.lower().endswith(NOT_PAGES):
            continue
        hot = any(word in f"{lowered} {a.get_text(' ').lower()}" for word in HOT_WORDS)
        links[url] = links.get(url, False) or hot
    for protected in soup.select("[data-cfemail]"):
        add(_cloudflare(str(protected["data-cfemail"])))

    texts = [_text(soup)] + [script.get_text() for script in soup.find_all(
        "script", type="application/ld+json")]
    for text in texts:
        for match in _PLAIN.finditer(text):
            add(match.group())
        for match in _OBFUSCATED.finditer(text):
            add(f"{match.group(1)}@{_DOTS.sub('.', match.group(2))}")
    return Extracted(list(found), [Link(url, hot) for url, hot in links.items()])


def _text(soup: BeautifulSoup) -> str:
    """The visible text, inline elements joined as written (`a<b>@</b>b.com`), block
    elements on lines of their own. Iterative: a page may nest deeper than Python
    recurses."""
    out: list[str] = []
    stack: list[tuple[Iterator[PageElement], bool]] = [(iter(soup.contents), False)]
    while stack:
        children, block = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if block:
                out.append("\n")
        elif isinstance(node, Tag):
            is_block = node.name in BLOCKS
            if is_block:
                out.append("\n")
            stack.append((iter(node.contents), is_block))
        # scripts, styles and comments are other NavigableString subclasses
        elif type(node) in (NavigableString, CData):
            out.append(str(node))
    return "".join(out)


def _cloudflare(code: str) -> str:
    """Cloudflare's email protection: hex bytes, the first one the XOR key."""
    try:
        data = bytes.fromhex(code)
    except ValueError:
        return ""
    return bytes(b ^ data[0] for b in data[1:]).decode("utf-8", "replace") if data else ""
