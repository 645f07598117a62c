"""Cell values as the checks read them: trimmed text and numbers (numbers stored as text accepted).
Shared by the reader (parsing) and the rules (checking), so neither imports the other for them."""
from __future__ import annotations

import re


def text(v: object) -> str:
    """A cell value as trimmed text ('' when empty); whole floats print without '.0'."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def to_number(v: object) -> float | None:
    """A numeric cell value as float, or None if the cell holds something that is not a number.

    Numbers stored as text ("12", " 12.5 ") are accepted; "12 (est)", "n/a", "1,234", dates and
    booleans are not.
    """
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
        return f if f == f and f not in (float("inf"), float("-inf")) else None
    if isinstance(v, str) and _NUMBER_RE.match(v.strip()):
        return float(v.strip())
    return None


def column_letter(col: int) -> str:
    """Excel's letters for a 1-based column number (1 -> A, 28 -> AB).  Here rather than openpyxl's
    get_column_letter because importing openpyxl costs `lsrp validate` about 0.4 s of start-up."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters
