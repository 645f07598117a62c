"""Tidy series files for ``lsrp forecast``: read one (clear one-line errors), write projections.

A tidy series is a CSV with a header: ``area_code`` (or ``la_code``/``area``), ``period``, ``value``, and
optionally ``numerator`` and ``denominator`` (a rate: its pooled drift is the pooled rate's).  Blank, ``x``,
``c``, ``z`` and ``low`` cells are missing values, as EES publishes them.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

from forecasting.periods import calendar_of
from forecasting.series import Outlook, Row

AREA_COLUMNS = ("area_code", "la_code", "area", "old_la_code")
MISSING = {"", "x", "c", "z", "low", "u", ":", ".."}
OUT_COLUMNS = ("area_code", "period", "steps_ahead", "value", "lower", "upper", "level", "naive", "method",
               "first_period", "last_period", "n_points", "reason")


class SeriesError(ValueError):
    """A tidy file the forecaster cannot read: its message is the one line the user sees."""


def _number(cell: str, where: str) -> float | None:
    s = (cell or "").strip()
    if s.lower() in MISSING:
        return None
    try:
        x = float(s.replace(",", ""))
    except ValueError:
        raise SeriesError(f"{where}: {s!r} is not a number") from None
    if not math.isfinite(x):
        raise SeriesError(f"{where}: {s!r} is not a finite number")
    return x


def read_series(path: Path) -> list[Row]:
    path = Path(path)
    if not path.is_file():
        raise SeriesError(f"{path}: no such file")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            area_col = next((c for c in AREA_COLUMNS if c in header), None)
            missing = [c for c in ("period", "value") if c not in header]
            if area_col is None or missing:
                need = ([] if area_col else ["area_code"]) + missing
                raise SeriesError(f"{path.name}: the header needs the column(s) {', '.join(need)} "
                                  f"(found: {', '.join(header) or 'nothing'})")
            reader.fieldnames = header
            rows = []
            for n, rec in enumerate(reader, start=2):
                where = f"{path.name} line {n}"
                area, period = (rec.get(area_col) or "").strip(), (rec.get("period") or "").strip()
                if not area or not period:
                    raise SeriesError(f"{where}: the area code and the period must not be blank")
                rows.append(Row(area, period, _number(rec.get("value"), where),
                                _number(rec.get("numerator", ""), where),
                                _number(rec.get("denominator", ""), where)))
    except UnicodeDecodeError:
        raise SeriesError(f"{path.name}: not a UTF-8 text CSV file") from None
    except csv.Error as e:
        raise SeriesError(f"{path.name}: not a readable CSV ({e})") from None
    if not rows:
        raise SeriesError(f"{path.name}: no rows under the header")
    try:
        calendar_of({r.period for r in rows})
    except ValueError as e:
        raise SeriesError(f"{path.name}: {e}") from None
    seen = set()
    for r in rows:
        if (r.area, r.period) in seen:
            raise SeriesError(f"{path.name}: {r.area} has two rows for {r.period}")
        seen.add((r.area, r.period))
    if not any(r.value is not None for r in rows):
        raise SeriesError(f"{path.name}: every value is blank")
    return rows


def write_series(rows: list[Row], path: Path) -> None:
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(("area_code", "period", "value", "numerator", "denominator"))
        for r in rows:
            w.writerow((r.area, r.period, *("" if x is None else repr(x) for x in (r.value, r.numerator, r.denominator))))


def write_projections(outlooks: dict[str, Outlook], fh) -> int:
    """One row per area and projected period (an area without a forecast: one row with the reason)."""
    w = csv.writer(fh)
    w.writerow(OUT_COLUMNS)
    n = 0
    for ol in outlooks.values():
        tail = (ol.first_period or "", ol.last_period or "", ol.n_points)
        if not ol.projections:
            w.writerow((ol.area, "", "", "", "", "", "", "", "", *tail, ol.reason))
        for p in ol.projections:
            w.writerow((p.area, p.period, p.steps_ahead, f"{p.value:.6g}", f"{p.lower:.6g}", f"{p.upper:.6g}",
                        p.level, f"{p.naive:.6g}", p.method, *tail, ""))
            n += 1
    return n
