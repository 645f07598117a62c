"""The plan parts of the return workbook: cover additions (ICB, SRO, signatories) and the Delivery
Plan, Investment Spend and Risks sheets, with Excel data validation lists taken from the catalogue.

Positions come from ``contracts.layout``; lists, limits and margins from ``catalogue.yaml``
(``plan_parts``).  The lists sit on a hidden "Lists" sheet because Excel caps an inline list at 255
characters and cannot hold a comma inside an item.
"""
from __future__ import annotations

from copy import copy

from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils.cell import coordinate_from_string
from openpyxl.worksheet.datavalidation import DataValidation

from contracts import layout as L
from contracts.catalogue import QUARTERS, Catalogue

LISTS_SHEET = "Lists"
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="12436D")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BOLD = Font(bold=True)
WRAP_TOP = Alignment(wrap_text=True, vertical="top")
UNLOCKED = Protection(locked=False)
WORKSTREAM_HEADERS = {"workstream": "Workstream", "building_block": "Building block",
                      "outcome": "Outcome: what the workstream will achieve",
                      "success_measures": "Success measures (metrics from this return)",
                      "lead": "Responsible lead"}
MILESTONE_HEADERS = {"milestone": "milestone", "due_date": "anticipated date", "status": "status",
                     "trajectory": "target trajectory"}
RISK_HEADERS = {"description": "Risk", "impact": "Impact", "likelihood": "Likelihood",
                "rag": "RAG", "mitigation": "Mitigation", "residual_impact": "Residual impact",
                "residual_likelihood": "Residual likelihood", "residual_rag": "Residual RAG",
                "notes": "Notes: reason for any query"}


def add(wb, cat: Catalogue, content=None) -> None:
    """Add the plan parts to a workbook whose Cover is already written."""
    plan = cat.plan
    lists = _lists_sheet(wb, cat)
    _cover(wb[L.COVER], plan, lists, content)
    _delivery_plan(wb.create_sheet(L.PLAN_SHEET), cat, lists, content)
    _spend(wb.create_sheet(L.SPEND_SHEET), plan, lists, content)
    _risks(wb.create_sheet(L.RISK_SHEET), plan, lists, content)
    for ws in wb.worksheets:
        for r in ws.__dict__.pop("_lsrp_ranges", []):
            r.flush()
        ws.__dict__.pop("_lsrp_input_style", None)
    wb.move_sheet(LISTS_SHEET, offset=len(wb.sheetnames))


def _lists_sheet(wb, cat: Catalogue) -> dict[str, str]:
    """Write each list in its own column; return list name -> absolute range for formula1."""
    plan = cat.plan
    ws = wb.create_sheet(LISTS_SHEET)
    ws.sheet_state = "hidden"
    columns = {"status": plan.statuses, "category": plan.spend_categories,
               "funding_source": plan.funding_sources, "impact": plan.impacts,
               "likelihood": plan.likelihoods, "rag": plan.rags, "role": plan.statutory_roles,
               "building_block": tuple(b["title"] for b in cat.building_blocks)}
    out = {}
    for i, (name, values) in enumerate(columns.items(), start=1):
        letter = ws.cell(row=1, column=i).column_letter
        ws.cell(row=1, column=i, value=name)
        for r, v in enumerate(values, start=2):
            ws.cell(row=r, column=i, value=v)
        out[name] = f"{LISTS_SHEET}!${letter}$2:${letter}${len(values) + 1}"
    return out


def _list_validation(ws, lists: dict, name: str, title: str, allow_other: bool = False) -> "_Ranges":
    return _Ranges(ws, DataValidation(type="list", formula1=f"={lists[name]}", allow_blank=True,
                                      showErrorMessage=not allow_other, errorTitle=title,
                                      error=f"Choose a {title.lower()} from the list"))


class _Ranges:
    """A data validation whose cells are gathered first and added as one range per column at the end:
    openpyxl's per-cell ``add`` checks every earlier range, which made each workbook 60 ms slower."""

    def __init__(self, ws, dv: DataValidation):
        ws.add_data_validation(dv)
        self.dv, self.rows = dv, {}
        ws.__dict__.setdefault("_lsrp_ranges", []).append(self)

    def add(self, coordinate: str) -> None:
        col, row = coordinate_from_string(coordinate)
        lo, hi = self.rows.get(col, (row, row))
        self.rows[col] = (min(lo, row), max(hi, row))

    def flush(self) -> None:
        for col, (lo, hi) in self.rows.items():
            self.dv.add(f"{col}{lo}:{col}{hi}" if lo != hi else f"{col}{lo}")
        self.rows = {}


def _limit(ws, plan, key: str, cache: dict, coordinate: str) -> None:
    """Excel's own text-length check on a free-text cell (the rules check the same limit, E28)."""
    if key not in cache:
        n = plan.limit(key)
        cache[key] = _Ranges(ws, DataValidation(type="textLength", operator="lessThanOrEqual", formula1=str(n),
                                                allow_blank=True, errorTitle="Too long",
                                                error=f"Keep this to {n} characters or fewer"))
    cache[key].add(coordinate)


def _input(c) -> None:
    if isinstance(c.value, str) and c.value.startswith("="):
        c.data_type = "s"  # text the LA typed, never a formula
    # Styles are set once per sheet and copied after: openpyxl hashes every style object it is given,
    # which for the plan's ~600 input cells doubled the time to write a workbook.
    proto = c.parent.__dict__.get("_lsrp_input_style")
    if proto is None:
        c.fill, c.protection, c.alignment = INPUT_FILL, UNLOCKED, WRAP_TOP
        c.parent.__dict__["_lsrp_input_style"] = copy(c._style)
    else:
        c._style = copy(proto)


def _header(ws, row: int, headers: list[str], first_col: int = 2) -> None:
    for i, text in enumerate(headers):
        c = ws.cell(row=row, column=first_col + i, value=text)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _title(ws, title: str, lines: list[str]) -> None:
    ws.column_dimensions["A"].width = 3
    ws["B2"] = title
    ws["B2"].font = Font(bold=True, size=14)
    ws["B3"] = " ".join(lines)


def _cover(ws, plan, lists: dict, content) -> None:
    ws["B24"] = "Name of the Integrated Care Board"
    ws["B27"] = "Local SEND Reform Plan SRO (name)"
    ws["B30"] = ("Signatories: as a minimum the statutory roles listed; add others below them. "
                 "Emails are shown only to DfE.")
    for ref in ("B24", "B27", "B30"):
        ws[ref].font = BOLD
    for ref in (L.COVER_ICB, L.COVER_SRO):
        _input(ws[ref])
    _header(ws, L.SIGNATORY_HEADER_ROW, ["Role", "Name", "Email", "Date signed"])
    ws.column_dimensions["D"].width = 32
    ws.column_dimensions["E"].width = 14
    role_dv = _list_validation(ws, lists, "role", "Role", allow_other=True)
    rows = content.signatories if content is not None and content.signatories is not None else \
        [{"role": r} for r in plan.statutory_roles]
    for i in range(plan.max_signatories):
        row = L.SIGNATORY_FIRST_ROW + i
        entry = rows[i] if i < len(rows) else {}
        for field, col in L.SIGNATORY_COLS.items():
            c = ws.cell(row=row, column=col, value=entry.get(field))
            _input(c)
            if field == "date":
                c.number_format = "yyyy-mm-dd"
        role_dv.add(ws.cell(row=row, column=L.SIGNATORY_COLS["role"]).coordinate)
    if content is not None:
        ws[L.COVER_ICB] = content.icb_name
        ws[L.COVER_SRO] = content.sro
        _input(ws[L.COVER_ICB])
        _input(ws[L.COVER_SRO])


def _delivery_plan(ws, cat: Catalogue, lists: dict, content) -> None:
    plan = cat.plan
    _title(ws, "2026-27 delivery plan: workstreams and milestones",
           ["One workstream per row, mapped to a building block.",
            f"Give each milestone an anticipated date and its status ({', '.join(plan.statuses)}).",
            "Keep the first date you gave: if a milestone slips, change its status and explain in Notes."])
    headers = list(WORKSTREAM_HEADERS.values())
    for q in plan.milestone_quarters:
        headers += [f"{q} {MILESTONE_HEADERS[f]}" for f in L.MILESTONE_FIELDS]
    headers.append("Notes: reason for any query")
    _header(ws, L.PLAN_HEADER_ROW, headers)
    for col in range(2, L.plan_notes_col(plan) + 1):
        ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = 22
    status_dv = _list_validation(ws, lists, "status", "Status")
    block_dv = _list_validation(ws, lists, "building_block", "Building block")
    date_dv = _Ranges(ws, DataValidation(type="date", operator="greaterThan", formula1="DATE(2026,1,1)",
                                         allow_blank=True, error="Enter a date", errorTitle="Date"))
    lengths: dict = {}
    rows = content.workstreams if content is not None else []
    for i in range(max(plan.max_workstreams, len(rows))):
        row = L.PLAN_FIRST_ROW + i
        entry = rows[i] if i < len(rows) else {}
        for field, col in L.WORKSTREAM_COLS.items():
            _input(ws.cell(row=row, column=col, value=entry.get(field)))
            if field != "building_block":
                _limit(ws, plan, field, lengths, ws.cell(row=row, column=col).coordinate)
        block_dv.add(ws.cell(row=row, column=L.WORKSTREAM_COLS["building_block"]).coordinate)
        for q in plan.milestone_quarters:
            m = entry.get("milestones", {}).get(q, {})
            for field in L.MILESTONE_FIELDS:
                c = ws.cell(row=row, column=L.milestone_col(plan, q, field), value=m.get(field))
                _input(c)
                if field == "due_date":
                    c.number_format = "yyyy-mm-dd"
                    date_dv.add(c.coordinate)
                elif field == "status":
                    status_dv.add(c.coordinate)
                else:
                    _limit(ws, plan, field, lengths, c.coordinate)
        _input(ws.cell(row=row, column=L.plan_notes_col(plan), value=entry.get("notes")))
    ws.freeze_panes = ws.cell(row=L.PLAN_FIRST_ROW, column=3).coordinate


def _spend(ws, plan, lists: dict, content) -> None:
    _title(ws, "Projected and actual investment spend per quarter",
           [f"In {plan.spend_unit}. One row per category and funding source.",
            "Enter the projection for every quarter, and the actual spend for each quarter when it ends.",
            f"Actual spend more than {plan.spend_variance_margin_pct:g}% above the projection is queried."])
    headers = ["Category", "Funding source"] + [f"Projected {q}" for q in QUARTERS] + \
        [f"Actual {q}" for q in QUARTERS] + ["Notes: reason for any query"]
    _header(ws, L.PLAN_HEADER_ROW, headers)
    ws.column_dimensions["B"].width = 44
    ws.column_dimensions["C"].width = 36
    cat_dv = _list_validation(ws, lists, "category", "Category")
    src_dv = _list_validation(ws, lists, "funding_source", "Funding source")
    money = _Ranges(ws, DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                       allow_blank=True, error="Enter an amount of zero or more", errorTitle="Spend"))
    rows = content.spend if content is not None else []
    for i in range(max(plan.max_spend_lines, len(rows))):
        row = L.PLAN_FIRST_ROW + i
        entry = rows[i] if i < len(rows) else {}
        for field, col in L.SPEND_COLS.items():
            _input(ws.cell(row=row, column=col, value=entry.get(field)))
        cat_dv.add(ws.cell(row=row, column=L.SPEND_COLS["category"]).coordinate)
        src_dv.add(ws.cell(row=row, column=L.SPEND_COLS["funding_source"]).coordinate)
        for kind in ("projected", "actual"):
            for q in QUARTERS:
                c = ws.cell(row=row, column=L.spend_col(kind, q), value=entry.get(kind, {}).get(q))
                _input(c)
                money.add(c.coordinate)
        _input(ws.cell(row=row, column=L.SPEND_NOTES_COL, value=entry.get("notes")))


def _risks(ws, plan, lists: dict, content) -> None:
    _title(ws, "Risks and mitigations",
           [f"A maximum of {plan.max_risks} risks. Rate impact and likelihood on the Annex C matrix",
            "(the matrix is on the right); the RAG should be the matrix's, before and after mitigation."])
    _header(ws, L.PLAN_HEADER_ROW, list(RISK_HEADERS.values()))
    for col, width in zip("BCDEFGHIJ", (44, 14, 22, 10, 44, 14, 22, 10, 36)):
        ws.column_dimensions[col].width = width
    dvs = {"impact": _list_validation(ws, lists, "impact", "Impact"),
           "likelihood": _list_validation(ws, lists, "likelihood", "Likelihood"),
           "rag": _list_validation(ws, lists, "rag", "RAG")}
    lengths: dict = {}
    rows = content.risks if content is not None else []
    for i in range(max(plan.risk_rows_in_template, len(rows))):
        row = L.PLAN_FIRST_ROW + i
        entry = rows[i] if i < len(rows) else {}
        for field, col in L.RISK_COLS.items():
            c = ws.cell(row=row, column=col, value=entry.get(field))
            _input(c)
            kind = field.removeprefix("residual_")
            if kind in dvs:
                dvs[kind].add(c.coordinate)
            else:
                _limit(ws, plan, {"description": "risk"}.get(field, field), lengths, c.coordinate)
    # Annex C to the right of the input rows (never below them: the reader takes every filled row
    # under the header as a risk), so the LA rates on the same matrix DfE checks against.
    left = L.RISK_COLS["notes"] + 2
    ws.cell(row=2, column=left, value="Annex C risk matrix: impact (rows) by likelihood (columns)").font = BOLD
    _header(ws, L.PLAN_HEADER_ROW, ["Impact"] + list(plan.likelihoods), first_col=left)
    for r, impact in enumerate(plan.impacts, start=L.PLAN_FIRST_ROW):
        ws.cell(row=r, column=left, value=impact).font = BOLD
        for c, rag in enumerate(plan.risk_matrix[impact], start=left + 1):
            ws.cell(row=r, column=c, value=rag).fill = PatternFill(
                "solid", fgColor={"Red": "F4CCCC", "Amber": "FCE5CD", "Green": "D9EAD3"}[rag])
