"""Text from outside made safe to show on a terminal or in a log line.

Names, positions, error details, page addresses and lead files come from Hunter, web
sites and strangers' CSVs. Printed raw, an OSC 0 sets the window title, an OSC 52 writes
the clipboard, `ESC[2J` clears the screen and a bidi override (U+202E) shows text in
another order than it has. `clean` drops escape sequences whole (so no `]0;title` is
left behind), the other C0 and C1 control characters and the bidi embedding, override and
isolate characters, and turns line breaks and tabs into spaces, so a value cannot forge
a line of its own. The terminal's own rules (rich markup) are cli/plain.py's.
"""

from __future__ import annotations

import re

# CSI (ESC [ ... final), OSC / DCS / SOS / PM / APC strings up to BEL or ST, and any
# other two-character escape
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"
    r"|\x1b[\]PX^_][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[^\[\]PX^_]?")
# bidi marks that reorder what follows: LRE RLE PDF LRO RLO, LRI RLI FSI PDI, ALM
BIDI = "\u202a-\u202e\u2066-\u2069\u061c"
_CONTROLS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{BIDI}]")
_BREAKS = re.compile("[\t\n\r\u2028\u2029\x85]")


def clean(value: object, *, lines: bool = False) -> str:
    """`value` as text without escape sequences or control characters; with `lines`,
    line breaks (and tabs) are kept, else they become spaces."""
    text = str(value)
    if text.isprintable():  # every character dropped or replaced below is not
        return text
    text = _SEQUENCES.sub("", text)
    if not lines:
        text = _BREAKS.sub(" ", text)
    return _CONTROLS.sub("", text.replace("\r", ""))
