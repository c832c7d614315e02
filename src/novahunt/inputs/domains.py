"""Turn what a user types or lists in a file into registrable host names.

Users paste all sorts of things where a domain is expected: bare names, full URLs copied from a
browser bar, names with a port, IDNs in their native script, and sometimes an email address or a
file path by mistake. `normalise_domain` accepts the forms that unambiguously name a host, reduces
them to one canonical spelling (ASCII, lower-case, punycode for IDNs, no scheme/port/path/trailing
dot, one leading ``www.`` removed) and refuses everything else with a `BadInput` whose one-line
message names the offending input and says why.

The pipeline is deliberately a sequence of cheap string steps rather than `urllib.parse`, because
urlsplit silently accepts things we want to refuse (userinfo, bare paths) and its idea of
"netloc" depends on whether a scheme was typed:

1. strip whitespace; refuse blank input and obvious file paths;
2. strip an ``http://``/``https://`` scheme or a scheme-relative ``//``; refuse other schemes;
3. cut the authority at the first ``/ ? # \\``; refuse userinfo (and call an ``a@b.c`` an
   email); refuse bracketed or bare IP literals; strip a numeric port and one trailing dot;
4. map to ASCII: pure-ASCII hosts take a fast path (lower-case); anything else gets the UTS #46
   mapping (``idna.uts46_remap``, non-transitional, so ``ß`` stays ``ß``) and then each
   non-ASCII label becomes an A-label under IDNA 2008 (``idna.alabel``);
5. validate the ASCII result by hostname rules (LDH labels, 63/253 length limits, at least two
   labels, a TLD that is no number: digits, or ``0x`` hex, which URLs read as IPv4); user-typed
   labels of the ``ab--`` shape (including ``xn--`` A-labels) are handed to `idna` so bogus
   punycode is refused exactly as `idna` would;
6. refuse a bare public suffix (``co.uk``, ``uk.com``, ``ac.jp``, ``公司.cn``): names are
   registered *under* it by people who have nothing to do with one another, so collecting,
   scraping or attributing addresses to it would mix strangers' mailboxes (and pay for them);
7. drop one leading ``www.`` when what is left is not itself a public suffix (``www.com`` and
   ``www.co.uk`` are names someone registered).

The public suffixes are the Public Suffix List's, ICANN and private sections both, from the
copy `publicsuffixlist` ships in its wheel (no network at run time; a new list arrives with a
package upgrade). The private section is kept because it is exactly the list of names whose
subdomains belong to different owners (``github.io``, ``blogspot.com``, CentralNic's
``uk.com``): a scrape of ``github.io`` would wander over every user's site, and every
``*.github.io`` address would count as that "company's". A name the list does not know
(``lead-corp.test``, a TLD newer than the list) is accepted, as the list's own algorithm says
(its default rule ``*``).

`host_to_ascii` is step 4 on its own, for host names that are not a user's domain: the
scraper spells every URL's host with it, so ``faß.de`` is one site in links and in the scope.

This is what ``idna.encode(host, uts46=True)`` does, unrolled so that the common ASCII labels
skip `idna` entirely: `idna.encode` costs 20-40 µs per name even for ``stripe.com``, and
`read_domain_file` must handle 10,000 lines in well under half a second (an ASCII list takes
~70 ms). A non-ASCII label still costs ~40 µs inside `idna`, so such labels are cached: lists
repeat them (a ccTLD such as ``рф``), and even 10,000 distinct IDNs stay around 0.4 s.

`read_domain_file` applies the same function to a one-domain-per-line file and stops at the first
bad line, reporting ``path:line: reason``, so a typo never results in a partially enqueued batch.
"""

from __future__ import annotations

import contextlib
import ipaddress
import re
from functools import lru_cache
from pathlib import Path

import idna
from publicsuffixlist import PublicSuffixList

from novahunt.errors import BadInput

__all__ = ["host_to_ascii", "is_public_suffix", "normalise_domain", "read_domain_file"]

_MAX_SHOWN = 60
_MAX_LABEL = 63
_MAX_HOST = 253

_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")
# Things that can only be a filesystem path: ./x ../x ~ /x \x C:\x C:/x
_PATH_RE = re.compile(r"(?:\.{1,2}[/\\]|~|/|\\|[A-Za-z]:[/\\])")
_AUTHORITY_END_RE = re.compile(r"[/?#\\]")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?")
_LDH_BAD_CHAR_RE = re.compile(r"[^a-z0-9\-]")
_IP_LIKE_RE = re.compile(r"[0-9.]+")
_HEX_RE = re.compile(r"0x[0-9a-f]*")
_TRAILING_COMMENT_RE = re.compile(r"\s#.*")
# The label separators UTS 46 recognises, as idna.encode splits on them.
_UNICODE_DOTS_RE = re.compile("[.\u3002\uff0e\uff61]")


def _show(text: str) -> str:
    """Quote user input for a one-line message: repr escapes newlines, long input is cut."""
    if len(text) > _MAX_SHOWN:
        return repr(text[: _MAX_SHOWN - 3]) + "..."
    return repr(text)


def _refuse(shown: str, reason: str) -> BadInput:
    return BadInput(f"{shown} is not a usable domain: {reason}")


def normalise_domain(raw: str) -> str:
    """Return the canonical registrable host name for `raw`, or raise `BadInput`.

    >>> normalise_domain(" https://www.Stripe.com:443/about?x=1#top ")
    'stripe.com'
    >>> normalise_domain("münchen.de")
    'xn--mnchen-3ya.de'
    """
    text = raw.strip()
    shown = _show(text)
    if not text:
        raise _refuse(shown, "it is empty")

    scheme_match = _SCHEME_RE.match(text)
    if scheme_match:
        scheme = scheme_match.group(1).lower()
        if scheme not in ("http", "https"):
            raise _refuse(shown, f"only http:// and https:// URLs are accepted, not {scheme}://")
        rest = text[scheme_match.end() :]
        is_url = True
    elif text.startswith("//"):
        rest = text[2:]
        is_url = True
    else:
        if _PATH_RE.match(text):
            raise _refuse(shown, "it looks like a file path")
        if text[:7].lower() == "mailto:":
            raise _refuse(shown, "it looks like an email address")
        rest = text
        is_url = False

    end = _AUTHORITY_END_RE.search(rest)
    authority = rest[: end.start()] if end else rest
    if not authority:
        raise _refuse(shown, "there is no host name in it")

    if "@" in authority:
        userinfo, _, after = authority.rpartition("@")
        if is_url or ":" in userinfo:
            raise _refuse(shown, "URLs with a user name or password are not accepted")
        hint = f" (the domain part is {after!r})" if after else ""
        raise _refuse(shown, f"it looks like an email address{hint}")

    if authority.startswith("["):
        raise _refuse(shown, "it is an IP address; a domain name is needed")
    colons = authority.count(":")
    if colons == 1:
        host, _, port = authority.partition(":")
        # An empty port ("stripe.com:") is legal URL syntax and harmless.
        if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
            raise _refuse(shown, f"{port!r} is not a port number")
    elif colons > 1:
        if _is_ip(authority):
            raise _refuse(shown, "it is an IP address; a domain name is needed")
        raise _refuse(shown, "invalid character ':'")
    else:
        host = authority

    if not is_url and colons == 0 and end is not None and end.group() in "/\\" and "." not in host:
        raise _refuse(shown, "it looks like a file path")

    if host.endswith("."):
        host = host[:-1]
    if not host:
        raise _refuse(shown, "there is no host name in it")
    if _IP_LIKE_RE.fullmatch(host) and _is_ip(host):
        raise _refuse(shown, "it is an IP address; a domain name is needed")

    try:
        host, converted = _to_ascii(host)
    except UnicodeError as exc:  # idna.IDNAError is a UnicodeError
        raise _refuse(shown, f"not a valid internationalised name ({exc})") from None

    _check_ascii_host(host, shown, converted)
    if is_public_suffix(host):
        raise _refuse(shown, _suffix_reason(host, text))

    # "www.com" and "www.co.uk" are themselves registrable: strip only when a name remains.
    if host.startswith("www.") and not is_public_suffix(host[4:]):
        host = host[4:]
    return host


def host_to_ascii(host: str) -> str:
    """`host` spelled as `normalise_domain` spells it: lower-case ASCII, each non-ASCII label
    UTS 46-mapped and A-labelled under IDNA 2008 (``faß.de`` -> ``xn--fa-hia.de``, where
    Python's own ``"idna"`` codec, IDNA 2003, says ``fass.de``: another registrant's name).

    Only the conversion: no hostname rules, no public-suffix check. Raises `UnicodeError`
    (`idna.IDNAError` is one) when a label cannot be converted.
    """
    return _to_ascii(host)[0]


def _to_ascii(host: str) -> tuple[str, frozenset[str]]:
    """The ASCII host and the labels of it that came out of `idna` (already checked there)."""
    if host.isascii():
        return host.lower(), frozenset()
    labels = _UNICODE_DOTS_RE.split(host)
    if len(labels) > 1 and not labels[-1]:  # a trailing ideographic/full-width dot
        labels.pop()
    pieces = [piece for label in labels for piece in _label_to_ascii(label)]
    converted = frozenset(ascii_label for ascii_label, from_idna in pieces if from_idna)
    return ".".join(ascii_label for ascii_label, _ in pieces), converted


@lru_cache(maxsize=2)
def _suffixes(*, only_icann: bool = False) -> PublicSuffixList:
    # Parsed once per process, on first use (~50 ms); lookups then cost ~3 µs. The ICANN-only
    # copy is parsed only to word a refusal.
    return PublicSuffixList(only_icann=only_icann)


def is_public_suffix(host: str) -> bool:
    """Whether the ASCII `host` is a public suffix (ICANN or private section of the list),
    i.e. nobody's own domain: ``co.uk``, ``uk.com``, ``github.io``, ``*.ck`` names."""
    return bool(_suffixes().is_public(host))


def _suffix_reason(host: str, typed: str) -> str:
    example = f"example.{host}"
    if not typed.isascii():  # the example in the script the user typed: example.公司.cn
        with contextlib.suppress(UnicodeError):
            example = f"example.{idna.decode(host)}"
    if _suffixes(only_icann=True).is_public(host):
        return f"it is a public suffix: companies register names under it, like {example}"
    return (f"it is a public suffix (a provider's, in the list's private section): its customers"
            f" have names under it, like {example}")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=4096)
def _label_to_ascii(label: str) -> tuple[tuple[str, bool], ...]:
    """UTS 46-map one label and A-label it: ``(ascii_label, came_from_idna)`` pieces.

    Usually one piece, but the mapping can itself produce a dot (U+2488 "⒈" -> "1.").
    """
    if label.isascii():
        return ((label.lower(), False),)
    mapped = idna.uts46_remap(label, std3_rules=False)
    return tuple(
        (idna.alabel(part).decode("ascii"), True) if not part.isascii() else (part, False)
        for part in mapped.split(".")
    )


def _check_ascii_host(host: str, shown: str, converted: frozenset[str]) -> None:
    """Apply hostname rules to a lower-cased ASCII host; `converted` labels came from idna."""
    if len(host) > _MAX_HOST:
        raise _refuse(shown, f"it is {len(host)} characters long; the limit is {_MAX_HOST}")
    labels = host.split(".")
    if len(labels) < 2:
        if host == "localhost":
            raise _refuse(shown, "localhost is not a public domain")
        raise _refuse(shown, "a domain needs at least one dot, like stripe.com")
    needs_idna: list[str] = []
    for label in labels:
        if not label:
            raise _refuse(shown, "it has an empty label (a leading dot, or two dots in a row)")
        if len(label) > _MAX_LABEL:
            raise _refuse(
                shown, f"label {_show(label)} is {len(label)} characters; the limit is {_MAX_LABEL}"
            )
        if not _LABEL_RE.fullmatch(label):
            bad = _LDH_BAD_CHAR_RE.search(label)
            if bad:
                raise _refuse(shown, f"invalid character {bad.group()!r}")
            raise _refuse(shown, f"label {_show(label)} starts or ends with a hyphen")
        if label[2:4] == "--" and label not in converted:
            needs_idna.append(label)
    if labels[-1].isdigit():
        raise _refuse(shown, f"the top-level label {labels[-1]!r} is all digits")
    if _HEX_RE.fullmatch(labels[-1]):
        # the URL standard reads a name ending in a number as IPv4: 127.0.0.0x1 is 127.0.0.1
        raise _refuse(shown, f"the top-level label {labels[-1]!r} is a hexadecimal number, "
                             "so browsers read the name as an IP address")
    # "xn--" labels must be valid punycode and other "ab--" labels are reserved; idna knows.
    for label in needs_idna:
        try:
            idna.ulabel(label)
        except UnicodeError as exc:
            raise _refuse(shown, f"not a valid internationalised name ({exc})") from None


def read_domain_file(path: Path) -> list[tuple[int, str]]:
    """Read one domain per line; return ``(line_number, domain)`` pairs, first occurrence wins.

    Blank lines, ``#`` comment lines and trailing `` # comments`` are ignored. The whole file is
    validated before anything is returned: the first bad line raises ``BadInput("path:N: ...")``.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory, not a file of domains") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        lineno = data.count(b"\n", 0, exc.start) + 1
        raise BadInput(f"{path}:{lineno}: not UTF-8 text; save the file as UTF-8") from None

    result: list[tuple[int, str]] = []
    seen: set[str] = set()
    # Not splitlines(): it also breaks on \f, \x1c, U+2028 ..., which would make our line
    # numbers disagree with the user's editor. CRLF and old-Mac CR endings are honoured.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for lineno, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if "#" in entry:
            entry = _TRAILING_COMMENT_RE.sub("", entry)
        if "," in entry:
            raise BadInput(
                f"{path}:{lineno}: {_show(entry)} contains a comma; put one domain per line "
                "(is this a CSV file? keep only the domain column)"
            )
        if len(entry.split()) > 1:
            raise BadInput(
                f"{path}:{lineno}: {_show(entry)} has several words; put one domain per line"
            )
        try:
            domain = normalise_domain(entry)
        except BadInput as exc:
            raise BadInput(f"{path}:{lineno}: {exc.message}") from None
        if domain not in seen:
            seen.add(domain)
            result.append((lineno, domain))
    return result


def email_on_domain(email: str, domain: str) -> bool:
    """Whether `email` is an address of `domain` (normalised) or of one of its subdomains."""
    local, at, host = email.rpartition("@")
    if not (local and at):
        return False
    try:
        name = normalise_domain(host)
    except BadInput:
        return False
    return name == domain or name.endswith("." + domain)
