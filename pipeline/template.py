"""Write the quarterly return workbook from the catalogue (blank, or filled for sample returns)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.worksheet.datavalidation import DataValidation

from contracts import layout as L
from contracts.catalogue import INITIAL, INITIAL_LABEL, QUARTERS, Catalogue, for_year, load, years
from pipeline import plan_sheets

QUARTER_MONTHS = {"Q1": "Apr-Jun", "Q2": "Jul-Sep", "Q3": "Oct-Dec", "Q4": "Jan-Mar"}
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")
HEADER_FILL = PatternFill("solid", fgColor="12436D")
HEADER_FONT = Font(bold=True, color="FFFFFF")
BOLD = Font(bold=True)


@dataclass
class ReturnContent:
    """What an LA typed into its workbook.  Values are keyed by (item id, quarter)."""

    la_code: str
    la_name: str
    quarter: str | None  # the quarter being submitted, Cover B16
    values: dict[tuple[str, str], object] = field(default_factory=dict)
    item_notes: dict[str, str] = field(default_factory=dict)
    baselines: dict[str, tuple[object, object]] = field(default_factory=dict)  # ind -> (value, period)
    targets: dict[tuple[str, str], object] = field(default_factory=dict)  # (ind, period) -> value
    target_notes: dict[str, str] = field(default_factory=dict)
    contact: str = ""
    email: str = ""
    # The plan parts (catalogue plan_parts; contracts.layout says where they go).  Rows are dicts keyed
    # by the layout's field names; None leaves the template blank (the statutory roles listed).
    icb_name: str | None = None
    sro: str | None = None
    signatories: list[dict] | None = None   # role, name, email, date
    workstreams: list[dict] = field(default_factory=list)  # workstream, building_block, outcome,
    #   success_measures, lead, milestones: {quarter: {milestone, due_date, status, trajectory}}, notes
    spend: list[dict] = field(default_factory=list)  # category, funding_source, projected: {q: v},
    #   actual: {q: v}, notes
    risks: list[dict] = field(default_factory=list)  # description, impact, likelihood, rag, mitigation,
    #   residual_impact, residual_likelihood, residual_rag, notes


def build_workbook(year: str | None = None, content: ReturnContent | None = None,
                   cat: Catalogue | None = None) -> Workbook:
    """The workbook of ``year``'s template (its catalogue: ``for_year``), blank or with ``content``."""
    cat = cat or _catalogue(year)
    year = year or cat.collection_year
    wb = Workbook()
    _cover(wb.active, cat, content)
    _return_sheet(wb.create_sheet(L.RETURN), cat, year, content)
    _guidance(wb.create_sheet(L.GUIDANCE), cat)
    if cat.plan is not None:
        plan_sheets.add(wb, cat, content)
    wb.properties.title = f"LSRP quarterly data return {year}"
    wb.properties.keywords = f"template_version={cat.template_version}"
    return wb


def write(path: Path, year: str | None = None, content: ReturnContent | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    build_workbook(year, content).save(path)
    return path


def default_file_name(content: ReturnContent | None = None, year: str | None = None) -> str:
    cat = _catalogue(year)
    if content is None:
        return f"lsrp-quarterly-return-{cat.template_version}-template.xlsx"
    return L.file_name(cat.template_version, content.la_code, content.la_name)


def _catalogue(year: str | None) -> Catalogue:
    """That year's catalogue; a year the catalogue does not define (a test's wrong year) gets the base one."""
    return for_year(year) if year in years() else load()


def _cover(ws, cat: Catalogue, content: ReturnContent | None) -> None:
    ws.title = L.COVER
    ws.column_dimensions["A"].width = 3
    ws.column_dimensions["B"].width = 60
    ws.column_dimensions["C"].width = 20
    ws["B2"] = "Local SEND Reform Plan: quarterly data return"
    ws["B2"].font = Font(bold=True, size=14)
    ws["B4"] = "Template version"
    ws[L.COVER_VERSION] = cat.template_version
    lines = [
        "Fill in one workbook per local authority per year and resubmit it every quarter.",
        "Enter the new quarter in its column; you may correct an earlier quarter (it will be queried).",
        "Yellow cells are for input. Do not rename sheets or rows, or change the file name.",
        "Give a reason in the Notes column for any figure DfE queries. See the Guidance sheet.",
        "Before sending, check your file with: lsrp validate <file>",
    ]
    for i, text in enumerate(lines):
        ws.cell(row=6 + i, column=2, value=text)
    ws["B12"] = "Local authority (code and name), e.g. 301 Barking and Dagenham"
    ws["B12"].font = BOLD
    ws["B15"] = f"Quarter being submitted (Q1, Q2, Q3 or Q4; {INITIAL_LABEL} for the return due with the plan)"
    ws["B15"].font = BOLD
    ws["B18"] = "Contact name"
    ws["B21"] = "Contact email"
    for ref in (L.COVER_LA, L.COVER_QUARTER, L.COVER_CONTACT, L.COVER_EMAIL):
        ws[ref].fill = INPUT_FILL
        ws[ref].protection = Protection(locked=False)
    dv = DataValidation(type="list", formula1=f'"{INITIAL_LABEL},Q1,Q2,Q3,Q4"', allow_blank=False,
                        error=f"Choose {INITIAL_LABEL}, Q1, Q2, Q3 or Q4", errorTitle="Quarter")
    ws.add_data_validation(dv)
    dv.add(L.COVER_QUARTER)
    if content:
        ws[L.COVER_LA] = f"{content.la_code} {content.la_name}"
        ws[L.COVER_QUARTER] = INITIAL_LABEL if content.quarter == INITIAL else content.quarter
        ws[L.COVER_CONTACT] = content.contact
        ws[L.COVER_EMAIL] = content.email


def _header(ws, row: int, headers: list[str]) -> None:
    for i, text in enumerate(headers):
        c = ws.cell(row=row, column=L.NAME_COL + i, value=text)
        c.fill, c.font = HEADER_FILL, HEADER_FONT
        c.alignment = Alignment(wrap_text=True, vertical="top")


def _return_sheet(ws, cat: Catalogue, year: str, content: ReturnContent | None) -> None:
    lay = L.layout(cat)
    ws.column_dimensions["A"].width = 3
    ws.column_dimensions["B"].width = 70
    ws.column_dimensions["C"].width = 28
    ws.column_dimensions["D"].width = 16
    for col in "EFGHIJKLMN":
        ws.column_dimensions[col].width = 14
    ws["B2"] = "Local SEND Reform Plan: quarterly data return"
    ws["B2"].font = Font(bold=True, size=14)
    ws["B3"] = ("Flows are cumulative from 1 April (Q2 = April to September); stocks are the "
                "position at the end of the quarter. Counts are whole numbers, money in GBP thousands.")
    ws[L.YEAR_CELL] = L.year_label(year)
    ws[L.YEAR_CELL].font = BOLD
    ws["B7"] = "Section 1: data items"
    ws["B7"].font = Font(bold=True, size=12)
    _header(ws, L.ITEMS_HEADER_ROW, ["Data item", "Item id", "Unit", "Measure"]
            + [f"{q} {year} ({QUARTER_MONTHS[q]})" for q in QUARTERS] + ["Notes: reason for any query"])

    non_negative = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0",
                                  error="Enter a number of zero or more", errorTitle="Invalid value")
    any_number = DataValidation(type="decimal", operator="between", formula1="-1000000000",
                                formula2="1000000000", error="Enter a number", errorTitle="Invalid value")
    ws.add_data_validation(non_negative)
    ws.add_data_validation(any_number)

    for row, name in lay.row_names.items():
        if row not in (L.ITEMS_HEADER_ROW, lay.targets_header_row):
            ws.cell(row=row, column=L.NAME_COL, value=name)
    for area in cat.areas:  # area headings in bold
        for row, name in lay.row_names.items():
            if name == area["title"]:
                ws.cell(row=row, column=L.NAME_COL).font = BOLD
    for it in cat.return_items:
        row = lay.item_rows[it.id]
        ws.cell(row=row, column=L.ID_COL, value=it.id)
        ws.cell(row=row, column=L.UNIT_COL, value=it.unit)
        ws.cell(row=row, column=L.UNIT_COL + 1, value="year to date" if it.measure == "flow" else "end of quarter")
        for q in QUARTERS:
            c = ws.cell(row=row, column=L.quarter_col(q))
            c.fill, c.protection = INPUT_FILL, Protection(locked=False)
            (any_number if it.allow_negative else non_negative).add(c.coordinate)
            if content and (it.id, q) in content.values:
                c.value = content.values[(it.id, q)]
        note = ws.cell(row=row, column=L.ITEM_NOTES_COL)
        note.fill, note.protection = INPUT_FILL, Protection(locked=False)
        if content and it.id in content.item_notes:
            note.value = content.item_notes[it.id]
        if it.published:
            ws.cell(row=row, column=L.NAME_COL).comment = Comment(f"Definition: {it.published}", "DfE")

    hr = lay.targets_header_row
    ws.cell(row=hr - 1, column=L.NAME_COL).font = Font(bold=True, size=12)
    _header(ws, hr, ["Indicator", "Indicator id", "Unit", "Baseline value", "Baseline period"]
            + [f"Target {p}" for p in cat.target_periods] + ["Notes: reason for any query"])
    notes_col = L.TARGET_FIRST_COL + len(cat.target_periods)
    for ind in cat.indicators:
        row = lay.indicator_rows[ind.id]
        ws.cell(row=row, column=L.ID_COL, value=ind.id)
        ws.cell(row=row, column=L.UNIT_COL, value=ind.unit)
        for col in range(L.TARGET_BASELINE_COL, notes_col + 1):
            c = ws.cell(row=row, column=col)
            c.fill, c.protection = INPUT_FILL, Protection(locked=False)
            if col != L.TARGET_BASELINE_PERIOD_COL and col != notes_col:
                any_number.add(c.coordinate)
        if content:
            value, period = content.baselines.get(ind.id, (None, None))
            ws.cell(row=row, column=L.TARGET_BASELINE_COL, value=value)
            ws.cell(row=row, column=L.TARGET_BASELINE_PERIOD_COL, value=period)
            for p in cat.target_periods:
                ws.cell(row=row, column=lay.target_col(p, cat), value=content.targets.get((ind.id, p)))
            ws.cell(row=row, column=notes_col, value=content.target_notes.get(ind.id))
    ws.freeze_panes = "E9"


def _guidance(ws, cat: Catalogue) -> None:
    ws.column_dimensions["A"].width = 3
    for col, width in zip("BCDEFGH", (34, 60, 16, 14, 40, 12, 50)):
        ws.column_dimensions[col].width = width
    ws["B2"] = "Guidance: definitions of every data item and indicator"
    ws["B2"].font = Font(bold=True, size=14)
    _header(ws, 4, ["Item id", "Data item", "Unit", "Measure", "Published definition"])
    row = 5
    for it in cat.return_items:
        for i, v in enumerate((it.id, it.label, it.unit, it.measure, it.published or "")):
            ws.cell(row=row, column=2 + i, value=v)
        row += 1
    row += 1
    _header(ws, row, ["Indicator id", "Indicator", "Unit", "Polarity", "Formula", "Decimals", "Source"])
    for ind in cat.indicators:
        row += 1
        den = " + ".join(ind.denominator) or "1"
        formula = f"({' + '.join(ind.numerator)}) / ({den}) x {ind.multiplier:g}"
        polarity = {"high": "higher is better", "low": "lower is better", "neutral": "neutral"}[ind.polarity]
        source = "DfE-held (not in this return)" if ind.source == "dfe_held" else "this return"
        for i, v in enumerate((ind.id, ind.name, ind.unit, polarity, formula, ind.decimals, source)):
            ws.cell(row=row, column=2 + i, value=v)
