"""Behaviour of `novahunt.domains`: what users may type for a domain, and domain files."""

from __future__ import annotations

from pathlib import Path

import pytest

from novahunt.errors import BadInput
from novahunt.inputs.domains import normalise_domain, read_domain_file

pytestmark = pytest.mark.pure


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("stripe.com", "stripe.com"),
        ("  stripe.com\t", "stripe.com"),
        ("Stripe.COM", "stripe.com"),
        ("stripe.com.", "stripe.com"),
        ("www.stripe.com", "stripe.com"),
        ("WWW.Stripe.com", "stripe.com"),
        ("www.www.stripe.com", "www.stripe.com"),
        ("www.com", "www.com"),
        ("https://www.Stripe.com/about", "stripe.com"),
        ("http://stripe.com", "stripe.com"),
        ("HTTPS://stripe.com/", "stripe.com"),
        ("//stripe.com/path", "stripe.com"),
        ("https://stripe.com:443/a?b=c#d", "stripe.com"),
        ("stripe.com:8080", "stripe.com"),
        ("stripe.com:", "stripe.com"),
        ("stripe.com/about", "stripe.com"),
        ("stripe.com?ref=x", "stripe.com"),
        ("stripe.com#top", "stripe.com"),
        ("mail.eu.stripe.co.uk", "mail.eu.stripe.co.uk"),
        ("a-b.c-d.io", "a-b.c-d.io"),
        ("123.example", "123.example"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("https://www.münchen.de/stadt", "xn--mnchen-3ya.de"),
        ("BÜCHER.example", "xn--bcher-kva.example"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008 non-transitional: ß is kept
        ("\uff57\uff57\uff57.example.com", "example.com"),  # UTS 46 maps full-width letters
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("xn--mnchen-3ya.de", "xn--mnchen-3ya.de"),
        ("XN--MNCHEN-3YA.DE", "xn--mnchen-3ya.de"),
        ("example\u3002com", "example.com"),  # ideographic full stop is a label separator
        ("m\u00fcnchen.de\u3002", "xn--mnchen-3ya.de"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 63] * 3) + "." + "b" * 61, ".".join(["a" * 63] * 3) + "." + "b" * 61),
    ],
)
def test_accepted_forms(raw: str, expected: str) -> None:
    assert normalise_domain(raw) == expected


def test_normalised_output_is_a_fixed_point() -> None:
    for raw in ("https://www.Stripe.com/about", "münchen.de", "www.com"):
        once = normalise_domain(raw)
        assert normalise_domain(once) == once


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("alice@stripe.com", "email"),
        ("mailto:alice@stripe.com", "email"),
        ("https://alice@stripe.com", "user name or password"),
        ("https://alice:secret@stripe.com/", "user name or password"),
        ("alice:secret@stripe.com", "user name or password"),
        ("../x", "file path"),
        ("./domains.txt", "file path"),
        ("/etc/passwd", "file path"),
        ("~/domains.txt", "file path"),
        ("C:\\domains.txt", "file path"),
        ("foo/bar", "file path"),
        ("1.2.3.4", "IP address"),
        ("1.2.3.4:80", "IP address"),
        ("http://1.2.3.4/", "IP address"),
        ("[::1]", "IP address"),
        ("http://[2001:db8::1]:8080/", "IP address"),
        ("::1", "IP address"),
        ("localhost", "localhost"),
        ("localhost:8080", "localhost"),
        ("stripe", "at least one dot"),
        ("https://intranet/", "at least one dot"),
        ("a" * 64 + ".com", "64 characters"),
        (".".join(["a" * 59] * 4 + ["a" * 60]), "300 characters"),
        ("under_score.com", "'_'"),
        ("with space.com", "' '"),
        ("tab\there.com", "'\\t'"),
        ("semi;colon.com", "';'"),
        ("-lead.com", "hyphen"),
        ("trail-.com", "hyphen"),
        ("stripe.-com", "hyphen"),
        ("example.123", "all digits"),
        ("1.2.3", "all digits"),
        ("stripe..com", "empty label"),
        (".stripe.com", "empty label"),
        ("stripe.com..", "empty label"),
        ("https://", "no host"),
        ("https:///path", "no host"),
        ("ftp://stripe.com", "http"),
        ("stripe.com:http", "port"),
        ("stripe.com:99999", "port"),
        ("xn--zz.com", "internationalised"),
        ("ab--cd.com", "internationalised"),
        ("😀.com", "internationalised"),
    ],
)
def test_refused_forms_name_the_input_and_the_reason(raw: str, reason: str) -> None:
    with pytest.raises(BadInput) as info:
        normalise_domain(raw)
    message = str(info.value)
    assert "\n" not in message
    assert repr(raw.strip()[:50])[:-1] in message
    assert reason in message


def test_email_message_points_at_the_domain_part() -> None:
    with pytest.raises(BadInput, match=r"email address.*'stripe\.com'"):
        normalise_domain("alice@stripe.com")


def test_long_input_is_truncated_in_the_message() -> None:
    raw = "x" * 300
    with pytest.raises(BadInput) as info:
        normalise_domain(raw)
    message = str(info.value)
    assert "x" * 50 in message
    assert "x" * 61 not in message
    assert len(message) < 200


def test_newline_in_input_keeps_the_message_on_one_line() -> None:
    with pytest.raises(BadInput) as info:
        normalise_domain("a\nb.com")
    assert "\n" not in str(info.value)
    assert "'a\\nb.com'" in str(info.value)


def test_bad_input_exit_code() -> None:
    with pytest.raises(BadInput) as info:
        normalise_domain("localhost")
    assert info.value.exit_code == 2


# --- files -------------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, *, bom: bool = False, name: str = "domains.txt") -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_file_with_comments_blanks_and_urls(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "# my targets\n"
        "\n"
        "stripe.com\n"
        "   \n"
        "  # indented comment\n"
        "https://www.github.com/about   # trailing comment\n"
        "münchen.de\t# tab before comment\n"
        "https://example.org/#fragment\n",
    )
    assert read_domain_file(path) == [
        (3, "stripe.com"),
        (6, "github.com"),
        (7, "xn--mnchen-3ya.de"),
        (8, "example.org"),
    ]


def test_file_with_bom_and_crlf(tmp_path: Path) -> None:
    path = _write(tmp_path, "stripe.com\r\ngithub.com\r\n", bom=True)
    assert read_domain_file(path) == [(1, "stripe.com"), (2, "github.com")]


def test_file_with_cr_line_endings(tmp_path: Path) -> None:
    path = _write(tmp_path, "stripe.com\rgithub.com\r\rlocalhost\r")
    with pytest.raises(BadInput, match=r":4: 'localhost'"):
        read_domain_file(path)


def test_duplicates_keep_first_occurrence(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "stripe.com\ngithub.com\nhttps://www.stripe.com/x\nStripe.com.\ngitlab.com\n"
    )
    assert read_domain_file(path) == [(1, "stripe.com"), (2, "github.com"), (5, "gitlab.com")]


def test_empty_and_comment_only_files(tmp_path: Path) -> None:
    assert read_domain_file(_write(tmp_path, "")) == []
    assert read_domain_file(_write(tmp_path, "# nothing\n\n", name="c.txt")) == []


def test_bad_line_names_path_and_line_number(tmp_path: Path) -> None:
    lines = [f"company{i}.com" for i in range(1, 1001)]
    lines[516] = "bob@company517.com"
    path = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(BadInput) as info:
        read_domain_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}:517: ")
    assert "'bob@company517.com'" in message
    assert "email" in message


def test_first_bad_line_wins(tmp_path: Path) -> None:
    path = _write(tmp_path, "stripe.com\nlocalhost\n1.2.3.4\n")
    with pytest.raises(BadInput, match=r":2: 'localhost'"):
        read_domain_file(path)


@pytest.mark.parametrize("line", ["stripe.com,Stripe Inc", "stripe.com, github.com"])
def test_comma_is_refused_with_a_csv_hint(tmp_path: Path, line: str) -> None:
    path = _write(tmp_path, f"github.com\n{line}\n")
    with pytest.raises(BadInput) as info:
        read_domain_file(path)
    message = str(info.value)
    assert f"{path}:2: " in message
    assert "comma" in message
    assert "one domain per line" in message


def test_two_domains_on_one_line_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "stripe.com github.com\n")
    with pytest.raises(BadInput, match=r":1: .*one domain per line"):
        read_domain_file(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.txt"
    with pytest.raises(BadInput, match=r"nope\.txt: no such file"):
        read_domain_file(path)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="directory"):
        read_domain_file(tmp_path)


def test_non_utf8_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("stripe.com\nm\u00fcnchen.de\n".encode("latin-1"))
    with pytest.raises(BadInput, match=r"latin1\.txt:2: not UTF-8"):
        read_domain_file(path)


def test_ten_thousand_lines(tmp_path: Path) -> None:
    lines = [f"https://www.company-{i}.example.com/about" for i in range(10_000)]
    lines[10] = "# a comment"
    lines[20] = ""
    path = _write(tmp_path, "\n".join(lines) + "\n")
    result = read_domain_file(path)
    assert len(result) == 9_998
    assert result[0] == (1, "company-0.example.com")
    assert result[-1] == (10_000, "company-9999.example.com")
