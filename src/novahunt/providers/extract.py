"""Finding the addresses published in a page.

`extract` looks in its text (an `@` split across inline tags is joined back, block
elements are kept apart), in every recipient of a `mailto:` link (RFC 6068: the path and
the `to`, `cc` and `bcc` fields), in JSON-LD and in Cloudflare's email protection. The
parser (BeautifulSoup's `html.parser`) decodes entities (`&#64;`).

In text, an address is read whole or not at all: it is never the tail of a longer word
(`test."foo".bar@...` gives nothing, not bar@...), never a URL's user info
(`http://user:pass@example.com`), and its obfuscations are read from the first word
(`john [dot] smith [at] example [dot] com` is john.smith@example.com). The at may be
bracketed (`[at]`, `(at)`, `{at}`, `<at>`), the upper-case word `AT`, or an `@` with
spaces; the dot bracketed, `DOT` or `dot`. A bare lower-case `at` is prose ("meet us at
example.com"), as is a pronoun before a spelled-out at ("find us @ example.com").
Strings that only look like addresses (`logo@2x.png`) are dropped.
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

# One matcher for plain and obfuscated addresses, so `john [dot] smith [at] example.com` is
# read whole from its first word: two matchers would also find the tail `smith@...`.
_ATOM = r"[a-z0-9_%+-]{1,64}"  # between dots; an address never starts or ends with a dot
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SP = r"[^\S\n]"  # spaces within one line: a block element's text is a line of its own
# bracketed words, and the upper-case word (`john.smith AT example.com`); a lower-case bare
# `at` stays prose ("meet us at example.com" names nobody's mailbox)
_WORD_AT = rf"\s*[\[({{<]\s*(?:at|@)\s*[\])}}>]\s*|{_SP}+(?-i:AT){_SP}+"
_AT = rf"(?P<at>{_WORD_AT}|{_SP}*@{_SP}*)"
_WORD_DOT = rf"\s*[\[({{<]\s*(?:dot|\.)\s*[\])}}>]\s*|{_SP}+(?-i:DOT){_SP}+"
# a lower-case ` dot ` between two words joined to an at is no prose (`mailbox@example dot
# com`); before the local part too, or `foo dot bar@example dot com` would give bar@...
_DOT = rf"(?:{_WORD_DOT}|{_SP}+dot{_SP}+|\.)"
# Not the tail of a longer word or local part (`test."foo".bar@...`, `a@b@c.com`), nor the
# head of one (`a@example.comx`, `a@example.com@b`); letters beyond ASCII are judged in
# `_glued`. Bounded repeats (16 words before the at, 127 labels after): a long run of
# `a [dot] a [dot] ...` with no at costs each starting word a bounded try, not the page.
_ADDRESS = re.compile(
    rf"(?<![a-z0-9_.%+@-])(?P<local>{_ATOM}(?:{_DOT}{_ATOM}){{0,15}}){_AT}"
    rf"(?P<domain>{_LABEL}(?:{_DOT}{_LABEL}){{1,126}})"
    r"(?![a-z0-9_-]|@|\.[a-z0-9-])",
    re.IGNORECASE,
)
# Scripts written without spaces (Chinese, Japanese, Korean, Thai, full-width forms): an
# address there touches the words around it (`メールinfo@example.jpまで`) and is still whole.
_SPACELESS = re.compile(
    "[\u0e00-\u0e7f\u1100-\u11ff\u3000-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]"
)
_DOTS = re.compile(_DOT, re.IGNORECASE)
_PORT = re.compile(r":\d")
# words that, before a spaced or spelled-out at, are prose: "find us @ acme.com"
_PROSE = frozenset({
    "us", "me", "him", "her", "them", "you", "we", "it", "here", "there", "find", "visit",
    "follow", "join", "meet", "see", "shop", "call", "reach", "write", "available", "online",
})
# RFC 6068: the recipients of a mailto: URI are its path and its to, cc and bcc fields
_RECIPIENT_FIELDS = frozenset({"to", "cc", "bcc"})


def clean_email(candidate: str) -> str | None:
    """The normalised address, or None for what only looks like one."""
    email = emails.normalise(candidate)
    host = email.rpartition("@")[2]
    # no leading dot stripped: `.john@x.com` is nobody's address, not john@x.com
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
            for address in mailto_recipients(href):
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
        for email in addresses_in(text):
            add(email)
    return Extracted(list(found), [Link(url, hot) for url, hot in links.items()])


def addresses_in(text: str) -> Iterator[str]:
    """The addresses written in `text`, plainly or obfuscated, dots and ats restored;
    not yet checked (see `clean_email`)."""
    for match in _ADDRESS.finditer(text):
        start, end = match.span()
        if _in_url_authority(text, start) or _PORT.match(text, end):
            continue
        if _glued(text[start - 1:start]) or _glued(text[end:end + 1]):
            continue
        local = _DOTS.sub(".", match["local"])
        at = match["at"]
        if at != "@":
            if local.lower() in _PROSE:
                continue
            # a spelled-out AT in text all in capitals is a heading ("VISIT ACME AT ACME.COM")
            if at.strip() == "AT" and not any(c.islower() for c in match.group()):
                continue
        yield f"{local}@{_DOTS.sub('.', match['domain'])}"


def _glued(neighbour: str) -> bool:
    """Whether a letter beyond ASCII touching a match makes it part of a longer word
    (`renée@x.com` is not e@x.com), unless its script is written without spaces."""
    return neighbour.isalnum() and not neighbour.isascii() and not _SPACELESS.match(neighbour)


def _in_url_authority(text: str, start: int) -> bool:
    """Whether the address at `start` is a URL's user info: `http://user:pass@example.com`
    names no mailbox. Linear in the word before it (a hostile page may repeat long words)."""
    window = text[max(0, start - 2048):start]
    if not window or window[-1].isspace():
        return False
    word = window.split()[-1]
    scheme_end = word.rfind("://")
    # a scheme before `://`, and no path, query or fragment begun since
    return (scheme_end > 0 and word[scheme_end - 1].isalnum()
            and not any(c in word[scheme_end + 3:] for c in "/?#"))


def mailto_recipients(href: str) -> list[str]:
    """Every recipient of a `mailto:` URI (RFC 6068): the comma list of its path and of its
    `to`, `cc` and `bcc` fields, each percent-decoded after splitting (`%2C` is data).
    Other fields (`subject`, `body`, `In-Reply-To`) name no recipient."""
    path, _, query = href.strip()[len("mailto:"):].partition("?")
    fields = [path]
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if unquote(name).strip().lower() in _RECIPIENT_FIELDS:
            fields.append(value)
    return [
        unquote(address, errors="replace").strip()
        for field in fields
        for address in field.split(",")
        if address.strip()
    ]


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
