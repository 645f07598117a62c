"""A pack's downloads as data: tidy CSV in the EES style and an XLSX of real numbers.

EES tidy style (Explore education statistics): time and geography columns first, with codes for every
geography (England E92000001, regions E12..., LAs old and new codes); one ``value`` column that is a
number, or a symbol only where a value is withheld or missing (c suppressed, x not available, z not
applicable); status, rank and band in columns of their own.
"""
from __future__ import annotations

import csv
import math
import os
from pathlib import Path

from contracts import catalogue

from .common import NOT_APPLICABLE, SUPPRESSED, UNAVAILABLE, safe_cell, shown
ENGLAND = ("E92000001", "England")
SYMBOLS = (SUPPRESSED, UNAVAILABLE, NOT_APPLICABLE)

GEO_COLUMNS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
               "region_code", "region_name", "new_la_code", "old_la_code", "la_name"]
FIGURE_COLUMNS = GEO_COLUMNS + ["comparison", "indicator_id", "indicator", "unit", "value", "target", "status",
                                "rank", "n_ranked", "quartile_band"]
ALL_LAS_COLUMNS = GEO_COLUMNS + ["indicator_id", "indicator", "unit", "value"]
NUMERIC = {"value", "target", "rank", "n_ranked"}


def regions(las: dict[str, dict]) -> dict[str, str]:
    """Region name -> region code, from the LAs' rows (marts.local_authorities via PeriodData.las)."""
    return {r["region_name"]: r["region_code"] for r in las.values() if r.get("region_name")}


def time_columns(period: str) -> tuple[str, str]:
    """'2026-27-Q2' -> ('202627', 'Financial year Q2'); '2026-27' -> ('202627', 'Financial year')."""
    year, _, q = period.partition("-Q")
    tp = year[:4] + year[5:7] if len(year) >= 7 else year
    return tp, (f"Financial year Q{q}" if q else "Financial year")


def indicator_time_columns(ind, period: str) -> tuple[str, str]:
    """The time columns of an indicator's value for a quarter as EES gives them: a DfE-held termly figure
    carries its academic year and term ('202526', 'Summer term'; catalogue dfe_held_terms), every other
    figure the financial year and quarter."""
    year, _, q = period.partition("-Q")
    if getattr(ind, "source", None) == "dfe_held" and q:
        term = catalogue.load().dfe_held_terms.get(f"Q{q}")
        if term:
            start = int(year[:4]) + int(term.get("year_offset", 0))
            return f"{start}{(start + 1) % 100:02d}", str(term["time_identifier"])
    return time_columns(period)


NEIGHBOURS_LEVEL = "Statistical neighbours"   # the neighbours' average: a geography of its own, no LA codes
NOT_APPLICABLE_WORDS = "not applicable"        # status where a person reads it (the value column keeps z)


def _geo(las: dict[str, dict], level: str, code: str | None = None, name: str | None = None,
         region: str | None = None) -> list:
    if level == NEIGHBOURS_LEVEL:
        return [NEIGHBOURS_LEVEL, *ENGLAND, "", "", "", "", ""]
    if level == "National":
        return ["National", *ENGLAND, "", "", "", "", ""]
    if level == "Regional":
        return ["Regional", *ENGLAND, regions(las).get(region or "", ""), region or "", "", "", ""]
    la = las.get(code or "", {})
    reg = la.get("region_name") or region or ""
    return ["Local authority", *ENGLAND, la.get("region_code") or regions(las).get(reg, ""), reg,
            la.get("new_la_code", ""), code or "", name or la.get("la_name", "")]


def _v(v, decimals: int):
    """A number rounded as displayed, or the symbol that stands for it."""
    if v is None:
        return UNAVAILABLE
    if isinstance(v, str):
        return v
    return shown(float(v), decimals)


def figure_rows(model, las: dict[str, dict]) -> list[list]:
    """Every figure in the pack, one row per geography, comparison, indicator and period."""
    from .pack import _value, verdict_of   # the pack's own rules for its headline value and its verdict

    out: list[list] = []
    for ind in catalogue.load().indicators:
        m = model.indicators[ind.id]
        d = ind.decimals
        me = _geo(las, "Local authority", model.code, model.name, model.region)
        what = [ind.id, ind.name, ind.unit]
        lat = m["latest"]
        rank = [lat.get("rank") or NOT_APPLICABLE, lat.get("n_ranked") or NOT_APPLICABLE,
                lat.get("quartile_band") or NOT_APPLICABLE]
        b = m["baseline"] or {}
        if b.get("period"):
            out.append([*time_columns(b["period"]), *me, "Baseline", *what, _v(b.get("value"), d),
                        NOT_APPLICABLE, NOT_APPLICABLE_WORDS, *[NOT_APPLICABLE] * 3])
        seen_current = False
        for t in m["trajectory"]:
            current = t["period"] == model.period
            seen_current |= current
            val = _value(m) if current else t["actual_value"]
            # the quarter's status is the one verdict (marts.verdicts), as on page one
            status = (verdict_of(m)["verdict"] if current else t["status"]) or NOT_APPLICABLE_WORDS
            tcols = indicator_time_columns(ind, t["period"]) if t["period_type"] == "quarter" else time_columns(t["period"])
            out.append([*tcols, *me, "This local authority", *what, _v(val, d),
                        _v(t["target_value"], d), status,
                        *(rank if current else [NOT_APPLICABLE] * 3)])
        prev = m.get("last_accepted")
        if prev and not model.accepted:
            # a return not accepted: the last accepted quarter's own figures and verdict, under that quarter
            out.append([*indicator_time_columns(ind, prev["period"]), *me, "This local authority", *what,
                        _v(prev.get("actual_value"), d), _v(prev.get("target_value"), d),
                        prev.get("status") or NOT_APPLICABLE_WORDS, *[NOT_APPLICABLE] * 3])
        if not seen_current:
            out.append([*indicator_time_columns(ind, model.period), *me, "This local authority", *what,
                        _v(_value(m), d), NOT_APPLICABLE, verdict_of(m)["verdict"] or NOT_APPLICABLE_WORDS, *rank])
        out.extend(forecast_rows(ind, m.get("forecast"), me, what))
        tp = indicator_time_columns(ind, model.period)
        na = NOT_APPLICABLE_WORDS
        none3 = [NOT_APPLICABLE] * 3
        for nb in m["neighbours"]:
            out.append([*tp, *_geo(las, "Local authority", nb["code"], nb["name"]), "Statistical neighbour", *what,
                        _v(nb["value"], d), NOT_APPLICABLE, na, *none3])
        out.append([*tp, *_geo(las, NEIGHBOURS_LEVEL, name=f"{model.name}'s statistical neighbours"),
                    "Statistical neighbours' average", *what, _v(lat.get("sn_mean"), d), NOT_APPLICABLE, na, *none3])
        # a region or England figure withheld (secondary suppression) is c, as in the pack
        out.append([*tp, *_geo(las, "Regional", region=model.region), "Region (pooled)", *what,
                    SUPPRESSED if lat.get("region_withheld") else _v(lat.get("region_value"), d),
                    NOT_APPLICABLE, na, *none3])
        out.append([*tp, *_geo(las, "National"), "England (pooled)", *what,
                    SUPPRESSED if lat.get("england_withheld") else _v(lat.get("england_value"), d),
                    NOT_APPLICABLE, na, *none3])
    return out


def all_las_rows(model, las: dict[str, dict]) -> list[list]:
    """Every authority's value per indicator as the pack shows it (others' small counts as c)."""
    out = []
    for ind in catalogue.load().indicators:
        m = model.indicators[ind.id]
        tp = indicator_time_columns(ind, model.period)
        vals = {x["code"]: _v(x["value"], ind.decimals) for x in m["distribution"]}
        vals.update({c: SUPPRESSED for c in m["suppressed"]})
        for code in sorted(vals):
            name = las.get(code, {}).get("la_name")
            out.append([*tp, *_geo(las, "Local authority", code, name, las.get(code, {}).get("region_name")),
                        ind.id, ind.name, ind.unit, vals[code]])
    return out


def all_las_wide(model, las: dict[str, dict]) -> tuple[list[str], list[list], list[int]]:
    """The same values one row per authority, one numeric column per indicator (for the XLSX: sortable and
    filterable in a spreadsheet).  Returns (header, rows, decimals of each column)."""
    cat = catalogue.load()
    geo, codes = las, regions(las)
    vals: dict[str, dict[str, object]] = {}
    for ind in cat.indicators:
        m = model.indicators[ind.id]
        for x in m["distribution"]:
            vals.setdefault(x["code"], {})[ind.id] = _v(x["value"], ind.decimals)
        for c in m["suppressed"]:
            vals.setdefault(c, {})[ind.id] = SUPPRESSED
    head = ["old_la_code", "new_la_code", "la_name", "region_code", "region_name"] + \
        [f"{i.short} ({i.unit}) [{i.id}]" for i in cat.indicators]
    rows = []
    for code in sorted(vals):
        g = geo.get(code, {})
        name = las.get(code, {}).get("la_name") or g.get("la_name", "")
        reg = las.get(code, {}).get("region_name") or g.get("region_name", "")
        rows.append([code, g.get("new_la_code", ""), name, g.get("region_code") or codes.get(reg, ""), reg]
                    + [vals[code].get(i.id, UNAVAILABLE) for i in cat.indicators])
    # decimals per column; None for the text columns (a 0-decimal indicator still gets a numeric column)
    return head, rows, [None] * 5 + [i.decimals for i in cat.indicators]


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    os.replace(tmp, path)


FORECAST_COMPARISONS = ("Forecast, year end", "Forecast, lower bound", "Forecast, upper bound")


def forecast_rows(ind, f: dict | None, me: list, what: list) -> list[list]:
    """The year-end forecast as numbers (marts.forecasts): the projected value and its interval's bounds, under
    the year end, with the year-end target and the forecast verdict (or why there is none) as status."""
    if not f:
        return []
    d = ind.decimals
    status = f.get("verdict") or f"no forecast verdict: {f.get('reason')}"
    return [[*time_columns(f["period"]), *me, label, *what, _v(f.get(k), d), _v(f.get("target_value"), d), status,
             *[NOT_APPLICABLE] * 3] for label, k in zip(FORECAST_COMPARISONS, ("value", "lower", "upper"))]


ALL_LAS_CSV = "all-las.csv"     # <period>/all-las.csv: every LA's values, tidy, once for all the packs
ALL_LAS_XLSX = "all-las.xlsx"   # <period>/all-las.xlsx: the same, one row per LA, once for all the packs

ABOUT_LINES = [
    "Every figure shown in the pack, rounded as displayed, in the tidy layout of Explore education statistics.",
    "value is a number; a symbol stands only where no number is published: c suppressed (a small count about "
    "another authority, or withheld so that one cannot be worked back from a total or average), x not available, z not applicable.",
    "Codes: country_code E92000001 (England), region_code E12..., new_la_code E06/E08/E09/E10..., old_la_code "
    "(3 digits).",
    "time_period 202627 with time_identifier 'Financial year Q2' is the quarter; 'Financial year' the year end. "
    "A DfE-held termly figure (attendance, exclusions) carries its own academic year and term, as EES does "
    "(e.g. 202526 'Summer term' for Q2 2026-27).",
    "status is the quarter's verdict in words: met, within tolerance, missed, or why there is none (no accepted "
    "return, no target, no better direction, small numbers, no value); 'not applicable' on comparison rows. "
    "The statistical neighbours' average has geographic_level 'Statistical neighbours' (no LA codes).",
    "Forecast, year end (and its lower and upper bound, an 80% interval): where this authority is heading by the "
    "year end on its figures so far (marts.forecasts; method in the README), with the year-end target; status is "
    "the forecast verdict (on course, at risk, off course) or why there is none.",
    "Milestones, Risks and Spend (when the return included them): the delivery plan as returned, spend in GBP "
    "thousands; text that a spreadsheet would run as a formula (starting =, +, - or @) starts with an apostrophe.",
    f"Every local authority's values (one row per authority, one numeric column per indicator) are in {ALL_LAS_XLSX} "
    "beside this quarter's reports, linked from the report: one file for every authority, in which each small count "
    "is c, this authority's too (its own values are on the Figures sheet).",
]
ALL_LAS_ABOUT = [
    "Every local authority's value per indicator, one row per authority and one numeric column per indicator, "
    "rounded as displayed; the same file for every authority.",
    "A symbol stands only where no number is published: c suppressed (a small count, or withheld so that one "
    "cannot be worked back from a total or average), x not available, z not applicable.  An authority's own "
    "values, small counts included, are in its own report's figures (CSV and XLSX).",
    "Codes: region_code E12..., new_la_code E06/E08/E09/E10..., old_la_code (3 digits).",
]

RANK_COLUMNS = ("rank", "n_ranked")


def _fast_sheet_class():
    """A worksheet class whose data rows are given as a whole and written to the sheet's XML in one pass.

    xlsxwriter costs ~25 us a cell (write_string/write_number store a cell tuple, then ``_write_cell`` builds
    the XML with attribute lists and escaping); a pack's tidy Figures sheet is ~9,000 cells, 153 packs a
    quarter, and that was most of the packs step.  The rows here are plain numbers and shared strings, so
    their XML is a few f-strings.  Everything else (header, formats, shared strings table, widths, frozen
    pane, filter, the package) is xlsxwriter's own."""
    from xlsxwriter.utility import xl_col_to_name
    from xlsxwriter.worksheet import Worksheet

    class FastRowsSheet(Worksheet):
        rows_xml = ""

        def set_rows(self, first_row: int, rows: list[list], styles) -> None:
            """Rows from ``first_row`` (0-based) on; ``styles(row)`` gives (number style per column,
            symbol style per column or None): xf indices, None for no style."""
            if not rows:
                return
            sst = self.str_table._get_shared_string_index
            width = max(len(r) for r in rows)
            letters = [xl_col_to_name(c) for c in range(width)]
            spans = f' spans="1:{width}"'
            out = []
            for i, row in enumerate(rows):
                n = first_row + i + 1                      # Excel's 1-based row number
                num_s, sym_s = styles(row)
                out.append(f'<row r="{n}"{spans}>')
                for c, v in enumerate(row):
                    ref = f"{letters[c]}{n}"
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                        s = num_s[c]
                        out.append(f'<c r="{ref}" s="{s}"><v>{v:.16G}</v></c>' if s else
                                   f'<c r="{ref}"><v>{v:.16G}</v></c>')
                        continue
                    text = "" if v is None else UNAVAILABLE if isinstance(v, float) else str(v)   # NaN: x
                    if len(text) > 32767:
                        text = text[:32767]
                    s = sym_s[c]
                    out.append(f'<c r="{ref}" s="{s}" t="s"><v>{sst(text)}</v></c>' if s else
                               f'<c r="{ref}" t="s"><v>{sst(text)}</v></c>')
                out.append("</row>")
            self.rows_xml = "".join(out)
            self._check_dimensions(first_row, 0)
            self._check_dimensions(first_row + len(rows) - 1, width - 1)

        def _write_sheet_data(self) -> None:
            if not self.rows_xml:
                return super()._write_sheet_data()
            self._xml_start_tag("sheetData")
            self._write_rows()              # the header, written through xlsxwriter's API
            self.fh.write(self.rows_xml)
            self._xml_end_tag("sheetData")

    return FastRowsSheet


_FAST_SHEET = None


def write_xlsx(path: Path, title: str, sheets: list[tuple[str, list[str], list[list], list[int] | None]],
               about: list[str] | None = None) -> None:
    """An XLSX of real numbers, each sheet with a frozen, filtered header and column widths.  A sheet is
    (name, header, rows, decimals per column); decimals None means a tidy sheet whose number format follows
    each row's indicator_id.  ``about``: the About sheet's lines (the pack's by default)."""
    import xlsxwriter

    global _FAST_SHEET
    _FAST_SHEET = _FAST_SHEET or _fast_sheet_class()
    decimals_of = {i.id: i.decimals for i in catalogue.load().indicators}
    tmp = path.with_name(path.name + ".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"strings_to_numbers": False, "nan_inf_to_errors": True,
                                         "in_memory": True})  # no temporary file per sheet
    bold = wb.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    fmts = [wb.add_format({"num_format": "#,##0" + ("." + "0" * d if d else "")}) for d in range(0, 5)]
    right = wb.add_format({"align": "right"})
    ws_about = wb.add_worksheet("About")
    ws_about.write(0, 0, title, wb.add_format({"bold": True, "font_size": 14}))
    for i, line in enumerate(ABOUT_LINES if about is None else about, start=2):
        ws_about.write(i, 0, line)
    ws_about.set_column(0, 0, 120)
    xf = [f._get_xf_index() for f in fmts]    # the style ids the rows' XML refers to
    right_xf = right._get_xf_index()
    for name, head, rows, col_dec in sheets:
        ws = wb.add_worksheet(name, worksheet_class=_FAST_SHEET)
        ws.write_row(0, 0, head, bold)
        ind_col = head.index("indicator_id") if "indicator_id" in head else None
        numeric = [h in NUMERIC or bool(col_dec and col_dec[c] is not None) for c, h in enumerate(head)]
        sym_s = [right_xf if is_num else None for is_num in numeric]
        rank = [h in RANK_COLUMNS for h in head]
        if col_dec:
            fixed = ([xf[0] if rank[c] else (None if d is None else xf[min(d, 4)]) for c, d in enumerate(col_dec)],
                     sym_s)
            ws.set_rows(1, rows, lambda row: fixed)
        else:
            by_dec = {d: ([xf[0] if rank[c] else xf[min(d, 4)] for c in range(len(head))], sym_s) for d in range(5)}
            ws.set_rows(1, rows, lambda row: by_dec[min(decimals_of.get(row[ind_col], 1), 4)] if ind_col is not None
                        else by_dec[1])
        widths = [max(8, min(40, len(h) + 2)) for h in head]
        for c in range(len(head)):
            if not numeric[c]:
                longest = max((len(str(row[c])) for row in rows[:200] if c < len(row) and row[c] is not None),
                              default=0)
                widths[c] = max(widths[c], min(40, longest + 2))
            ws.set_column(c, c, widths[c])
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(head) - 1)
    wb.close()
    os.replace(tmp, path)


# ------------------------------------------------------------------ plan parts (issue 10)
PLAN_SHEETS = {
    "Milestones": ["workstream", "milestone", "quarter", "date_first_given", "current_date", "status",
                   "slippage_days"],
    "Risks": ["risk_no", "risk", "impact", "likelihood", "rag", "mitigation", "residual_impact",
              "residual_likelihood", "residual_rag", "last_quarter_residual", "movement"],
    "Spend": ["category", "funding_source", "quarter", "projected_gbp_thousands", "actual_gbp_thousands"],
}


def plan_sheets(model) -> list[tuple[str, list[str], list[list], list[int | None]]]:
    """The pack's milestones, risks and spend as XLSX sheets for ``write_xlsx``.  Every text cell comes from
    a return, so each is neutralised against formula injection (``common.safe_cell``); no signatory or email
    is in the model.  Empty when the pack has no plan parts."""
    own = ((model.plan or {}).get("own")) or {}
    if not any(own.values()):
        return []
    ms = [[safe_cell(m["workstream"]), safe_cell(m["milestone"]), m["quarter"], m["first_due"] or UNAVAILABLE,
           m["due"] or UNAVAILABLE, safe_cell(m["status"]), m["slippage_days"]] for m in own.get("milestones", [])]
    rk = [[r["no"], safe_cell(r["description"]), r["impact"], r["likelihood"], r["rag"],
           safe_cell(r["mitigation"] or UNAVAILABLE), r["residual_impact"], r["residual_likelihood"], r["residual_rag"],
           r["previous_rag"] or NOT_APPLICABLE, r["movement"]] for r in own.get("risks", [])]
    sp = [[safe_cell(s["category"]), safe_cell(s["funding_source"]), s["quarter"], s["projected"],
           UNAVAILABLE if s["actual"] is None else s["actual"]] for s in own.get("spend", [])]
    dec = {"Milestones": [None] * 6 + [0], "Risks": [0] + [None] * 10, "Spend": [None] * 3 + [1, 1]}
    return [(name, PLAN_SHEETS[name], rows, dec[name]) for name, rows in
            (("Milestones", ms), ("Risks", rk), ("Spend", sp))]
