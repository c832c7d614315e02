"""Text from outside shown as plain text: never markup, never a terminal command.

Printed through rich, a Hunter error detail `[/] bad` crashes the command (MarkupError)
and `[link=...]` in a name draws a hyperlink of the sender's choice. `plain` is for a
value pasted into a line rich reads as markup: cleaned of escape sequences and control
characters (`novahunt.inputs.plaintext.clean`, for text written without rich: tables,
stderr lines), then escaped. `PlainConsole` cleans every string it prints as a second
line of defence, keeping the line breaks of novahunt's own text; `to_json` keeps every
value and writes what a terminal would act on as \\uXXXX.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from novahunt.inputs.plaintext import BIDI, clean

__all__ = ["PlainConsole", "clean", "plain", "to_json"]

# what JSON shows as \uXXXX on a terminal (json.dumps already escapes C0 itself)
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{BIDI}\u2028\u2029]")


def plain(value: object) -> str:
    """`value` cleaned and escaped, to paste into a line rich reads as markup."""
    return escape(clean(value))


def to_json(value: Any, indent: int | None = 2) -> str:
    """JSON that keeps every value as it is, with the characters a terminal would act on
    written as \\uXXXX (the same string to any JSON reader)."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class PlainConsole(Console):
    """A rich Console that cleans every string before reading its markup."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(clean(text, lines=True), **kwargs)
