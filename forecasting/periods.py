"""Period keys as evenly spaced steps, so the forecaster can count "how far ahead" on any tidy series.

Four spellings are understood, one per file: quarters ``2026-27-Q2`` (4 steps a year; the initial return's
``Q0`` is not a quarter of data), financial years ``2026-27``, academic years ``202324`` (EES) and calendar
years ``2023`` (1 step a year).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_FORMS = {
    "quarter": (re.compile(r"^(\d{4})-(\d{2})-Q([1-4])$"), 4),
    "financial_year": (re.compile(r"^(\d{4})-(\d{2})$"), 1),
    "academic_year": (re.compile(r"^(\d{4})(\d{2})$"), 1),
    "calendar_year": (re.compile(r"^(\d{4})$"), 1),
}


@dataclass(frozen=True)
class Calendar:
    kind: str
    steps_per_year: int

    def index(self, period: str) -> int:
        m = _FORMS[self.kind][0].match(period)
        if not m:
            raise ValueError(f"period {period!r} is not a {self.kind.replace('_', ' ')} like the others")
        year = int(m.group(1))
        return year * 4 + int(m.group(3)) - 1 if self.kind == "quarter" else year

    def label(self, index: int) -> str:
        if self.kind == "quarter":
            y, q = divmod(index, 4)
            return f"{y}-{(y + 1) % 100:02d}-Q{q + 1}"
        if self.kind == "financial_year":
            return f"{index}-{(index + 1) % 100:02d}"
        if self.kind == "academic_year":
            return f"{index}{(index + 1) % 100:02d}"
        return str(index)

    def season(self, index: int) -> int:
        """The quarter (0-3) of a quarterly step; 0 for a year."""
        return index % self.steps_per_year

    def year_end_after(self, origin: int) -> int:
        """The last step of the plan year after ``origin``: this year's Q4, or next year's if origin is a Q4."""
        if self.steps_per_year == 1:
            return origin + 1
        return origin + (3 - origin % 4 if origin % 4 != 3 else 4)


def calendar_of(periods) -> Calendar:
    """The one spelling every period shares; ValueError naming the first that fits none or differs."""
    kinds = None
    for p in periods:
        fits = {k for k, (rx, _) in _FORMS.items() if rx.match(p)}
        if not fits:
            raise ValueError(f"period {p!r} is not a quarter (2026-27-Q2) or a year (2026-27, 202324, 2023)")
        kinds = fits if kinds is None else kinds & fits
        if not kinds:
            raise ValueError(f"period {p!r} is spelt differently from the periods before it")
    if not kinds:
        raise ValueError("no periods")
    kind = next(k for k in _FORMS if k in kinds)
    return Calendar(kind, _FORMS[kind][1])
