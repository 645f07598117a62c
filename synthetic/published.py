"""Real published SEN2 figures turned into quarterly returns, through the product's own template.

``write_published_returns(out_dir, calendar_year=2023)`` writes one return per LA in ``ref_las``
holding that LA's real published figures, so the whole pipeline can be checked against DfE's own
England and regional statistics: pooling the LAs' Q4 values must reproduce DfE's published
``PC_plans_issued_20_weeks_ex`` (timeliness_20_week.csv) and ``request_not_assess_pc``
(requests.csv; DfE divides by requests received) within rounding.

What goes in each workbook
- Items: ``requests_received``, ``requests_decided_to_assess``, ``requests_decided_not_to_assess``,
  ``requests_mediation``, ``requests_tribunal`` (SEN2 requests.csv, calendar year), ``plans_issued_ex``
  and ``plans_issued_20wk_ex`` (timeliness_20_week.csv, calendar year), and the caseload stocks
  ``ehcps_maintained``, ``ehcps_mainstream``, ``ehcps_independent_special``,
  ``ehcps_non_maintained_special`` (caseload.csv at the January census after the calendar year,
  time_period ``{Y}{Y+1}``, e.g. 202324 for January 2024).  Other items are left blank.
- Year: the financial year ``{Y}-{Y+1}`` (e.g. 2023-24), cover quarter Q4.  The calendar-year flow
  is placed as that year's year-to-date total (a 3-month shift, documented, as SEN2 is calendar
  year).  Q4 holds the published annual total; Q1..Q3 hold cumulative shares 1/4, 2/4, 3/4 of it
  (integers, so flows stay cumulative).  Stocks: Q4 holds the January census figure; Q1..Q3 step
  linearly from the previous January's figure where published (else Q4's).
- Unavailable figures (``x`` in the file) and LAs missing from a file are left blank, in every
  quarter: the LA does not contribute to the pooled figure for that item (pooling leaves out LAs
  without valid data).  Nothing is imputed.  Because DfE's regional and England totals include
  LAs whose own figure is ``x``, a region with such an LA pools to a slightly different rate;
  ``suppressed_las(calendar_year)`` lists them.  LAs are matched on the 3-digit code, which
  survived the 2023 re-codings (North Yorkshire, Somerset, Buckinghamshire appear under old E-codes).
"""
from __future__ import annotations

from pathlib import Path

from contracts import layout as L
from contracts.catalogue import QUARTERS, load
from pipeline import template
from synthetic.calibration import num, read_las, sen2

ITEM_SOURCES = {
    "requests_received": ("ehcp/requests.csv", "requests_received_in_year"),
    "requests_decided_to_assess": ("ehcp/requests.csv", "requests_decided_to_assess"),
    "requests_decided_not_to_assess": ("ehcp/requests.csv", "requests_decided_not_to_assess"),
    "requests_mediation": ("ehcp/requests.csv", "mediation_related_request"),
    "requests_tribunal": ("ehcp/requests.csv", "tribunal_related_request"),
    "plans_issued_ex": ("ehcp/timeliness_20_week.csv", "plans_issued_den_ex"),
    "plans_issued_20wk_ex": ("ehcp/timeliness_20_week.csv", "plans_issued_20_weeks_ex"),
    "ehcps_maintained": ("ehcp/caseload.csv", "ehcplans"),
    "ehcps_mainstream": ("ehcp/caseload.csv", "mainstream_total"),
    "ehcps_independent_special": ("ehcp/caseload.csv", "special_independent"),
    "ehcps_non_maintained_special": ("ehcp/caseload.csv", "special_non_maintained"),
}


def _period(rel: str, calendar_year: int, offset: int = 0) -> str:
    if rel == "ehcp/caseload.csv":  # January census after the calendar year
        y = calendar_year + offset
        return f"{y}{(y + 1) % 100:02d}"
    return str(calendar_year + offset)


def published_rows(calendar_year: int = 2023) -> dict[str, dict]:
    """{relative file: sen2 rows} for the calendar year (caseload: the following January)."""
    return {rel: sen2(rel, _period(rel, calendar_year)) for rel in {s[0] for s in ITEM_SOURCES.values()}}


def suppressed_las(calendar_year: int = 2023) -> dict[str, list[str]]:
    """Item id -> LA codes (in ref_las) whose published figure is unavailable or missing."""
    rows = published_rows(calendar_year)
    out: dict[str, list[str]] = {}
    for la in read_las():
        for item, (rel, col) in ITEM_SOURCES.items():
            if num(rows[rel]["la"].get(la["old_la_code"], {}).get(col)) is None:
                out.setdefault(item, []).append(la["old_la_code"])
    return out


def write_published_returns(out_dir: Path, calendar_year: int = 2023, year: str | None = None) -> list[Path]:
    """Write one return per LA with its real published SEN2 figures; return the paths written."""
    cat = load()
    out_dir = Path(out_dir)
    year = year or f"{calendar_year}-{(calendar_year + 1) % 100:02d}"
    rows = published_rows(calendar_year)
    prev_case = sen2("ehcp/caseload.csv", _period("ehcp/caseload.csv", calendar_year, -1))
    paths: list[Path] = []
    for la in read_las():
        code = la["old_la_code"]
        values: dict[tuple[str, str], object] = {}
        for item, (rel, col) in ITEM_SOURCES.items():
            v = num(rows[rel]["la"].get(code, {}).get(col))
            if v is None:
                continue
            v = int(round(v))
            if cat.item(item).measure == "flow":
                series = [int(v * k // 4) for k in (1, 2, 3)] + [v]
            else:
                p = num(prev_case["la"].get(code, {}).get(col))
                start = int(round(p)) if p is not None else v
                series = [int(round(start + (v - start) * k / 4)) for k in (1, 2, 3)] + [v]
            for q, x in zip(QUARTERS, series):
                values[(item, q)] = x
        _fix_subsets(values, cat)
        content = template.ReturnContent(
            la_code=code, la_name=la["la_name"], quarter="Q4", values=values,
            contact="Published SEN2 statistics", email="",
        )
        path = out_dir / L.file_name(cat.template_version, code, la["la_name"])
        template.write(path, year, content)
        paths.append(path)
    return paths


def _fix_subsets(values: dict, cat) -> None:
    """Stocks interpolated from two censuses can put a subset a unit above its total in Q1..Q3;
    cap them there (Q4 is the published figure and is never touched)."""
    for it in cat.return_items:
        if not it.within:
            continue
        for q in QUARTERS[:3]:
            a, b = values.get((it.id, q)), values.get((it.within, q))
            if a is not None and b is not None and a > b:
                values[(it.id, q)] = b
