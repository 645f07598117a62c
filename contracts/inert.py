"""Text from a return is data, never markup, code or terminal commands: what counts as a control or a
bidirectional character, and how each output shows one.

The rules refuse control characters (E40) and bidirectional overrides and isolates (E41) in every text
cell, so an accepted return carries none into the warehouse or the packs.  A finding still quotes the
offending value back to the LA (feedback HTML and JSON, ``lsrp validate``'s terminal output, the
warehouse's findings, the DfE views): ``visible`` writes each such character as ``[U+001B]``, so the
LA sees where it is and nothing reaches a terminal, a page or a PDF raw.  ``clean`` is the reports'
last line of defence for text that reached the marts by another way.
"""
from __future__ import annotations

import re
import unicodedata

# The explicit embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI):
# they reorder the text after them, e.g. draw a status tag inside a reversed risk name.  The marks
# (U+200E/U+200F) reorder nothing beyond themselves and are left alone.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Tab, line feed and carriage return: allowed in cells that take several lines (catalogue
# text_fields.multiline); every other C0 and C1 control (NUL, BEL, ESC, DEL, ...) is refused.
LINE_CONTROLS = frozenset("\t\n\r")
_CONTROL_RE = re.compile("[\x00-\x1f\x7f-\x9f]")
_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def controls(s: str, multiline: bool = False) -> list[str]:
    """The control characters in ``s`` that the cell may not hold (in order, repeats dropped)."""
    found = dict.fromkeys(c for c in _CONTROL_RE.findall(s) if not (multiline and c in LINE_CONTROLS))
    return list(found)


def bidi(s: str) -> list[str]:
    """The bidirectional embedding, override and isolate characters in ``s`` (repeats dropped)."""
    return list(dict.fromkeys(_BIDI_RE.findall(s)))


def code_point(c: str) -> str:
    """``[U+001B]``: how a message names a character it must not print."""
    return f"[U+{ord(c):04X}]"


# Unicode gives control characters no name; these are the ones people meet (the others are "control").
_CONTROL_NAMES = {"\x00": "NULL", "\x07": "BELL", "\x08": "BACKSPACE", "\t": "TAB", "\n": "LINE FEED",
                  "\x0b": "VERTICAL TAB", "\x0c": "FORM FEED", "\r": "CARRIAGE RETURN", "\x1b": "ESCAPE",
                  "\x7f": "DELETE", "\x85": "NEXT LINE"}


def names(chars: list[str]) -> str:
    """'[U+001B] (ESCAPE), [U+0007] (BELL)': for messages."""
    return ", ".join(f"{code_point(c)} ({_CONTROL_NAMES.get(c) or unicodedata.name(c, 'control')})"
                     for c in chars)


def visible(s: str) -> str:
    """``s`` with every character a terminal or page would act on instead of print (controls, tab and
    newline included, bidi controls, other format and unassigned characters) written as [U+XXXX]."""
    if s.isprintable():
        return s
    return "".join(c if c.isprintable() else code_point(c) for c in s)


_OTHER_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(s: str | None, keep_lines: bool = False) -> str | None:
    """``s`` without control and bidi characters, tabs and line breaks as spaces (kept with
    ``keep_lines``): for an output that shows text from the marts (validation keeps them out; this
    holds whatever got in)."""
    if s is None:
        return None
    s = str(s) if keep_lines else re.sub("[\t\n\r]", " ", str(s))
    return _BIDI_RE.sub("", _OTHER_CONTROL_RE.sub("", s))
