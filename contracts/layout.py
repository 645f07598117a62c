"""Where everything sits in the quarterly return workbook.

The template writer, the sample generator and the reader all take positions from here, and the
rows are derived from the catalogue, so the layout cannot drift from the indicator list.
A future template version with a different layout gets its own ``Layout`` (described as data),
and the reader picks it by the version in the file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from contracts.cells import column_letter

from contracts.catalogue import QUARTERS, Catalogue, load

COVER = "Cover"
RETURN = "Quarterly Return Template"
GUIDANCE = "Guidance"
REQUIRED_SHEETS = (COVER, RETURN)

# Cover sheet cells
COVER_VERSION = "C4"
COVER_LA = "B13"          # DfE convention: "code name", e.g. "301 Barking and Dagenham"
COVER_QUARTER = "B16"     # the quarter this submission reports (Q1-Q4)
COVER_CONTACT = "B19"
COVER_EMAIL = "B22"

# Return sheet
YEAR_CELL = "B5"          # DfE convention: "2026-27 Quarterly Data"
NAME_COL = 2              # column B: row names; column A stays empty
ID_COL = 3                # column C: the catalogue id (locked, helps machines and people)
UNIT_COL = 4
ITEM_FIRST_QUARTER_COL = 6  # F..I hold Q1..Q4
ITEM_NOTES_COL = 10         # J
TARGET_BASELINE_COL = 5     # E baseline value, F baseline period
TARGET_BASELINE_PERIOD_COL = 6
TARGET_FIRST_COL = 7        # G.. one column per catalogue target period
ITEMS_HEADER_ROW = 8

FILE_NAME_RE = re.compile(
    r"^lsrp-quarterly-return-(?P<month>[A-Z][a-z]+)-(?P<year>\d{4})-(?P<code>\d{3})-(?P<slug>[a-z0-9-]+)\.(?P<ext>[A-Za-z0-9]+)$"
)
YEAR_RE = re.compile(r"^(?P<start>\d{4})-(?P<end>\d{2}) Quarterly Data$")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("&", "and")).strip("-")


def file_name(template_version: str, la_code: str, la_name: str) -> str:
    return f"lsrp-quarterly-return-{template_version}-{la_code}-{slugify(la_name)}.xlsx"


def year_label(year: str) -> str:
    return f"{year} Quarterly Data"


def quarter_col(quarter: str) -> int:
    return ITEM_FIRST_QUARTER_COL + QUARTERS.index(quarter)


@lru_cache(maxsize=65536)   # a return has a few thousand cells; ~90,000 lookups per 153 returns
def cell(col: int, row: int) -> str:
    return f"{column_letter(col)}{row}"


@dataclass(frozen=True)
class Layout:
    """Row positions on the return sheet, derived from the catalogue."""

    item_rows: dict[str, int]        # data item id -> row
    indicator_rows: dict[str, int]   # indicator id -> row in the targets section
    row_names: dict[int, str]        # every labelled row -> the exact text expected in column B
    targets_header_row: int

    def target_col(self, period: str, cat: Catalogue) -> int:
        return TARGET_FIRST_COL + cat.target_periods.index(period)


@lru_cache(maxsize=None)
def layout(cat: Catalogue | None = None) -> Layout:
    cat = cat or load()
    row = ITEMS_HEADER_ROW + 1
    names: dict[int, str] = {ITEMS_HEADER_ROW: "Data item"}
    item_rows: dict[str, int] = {}
    for area in cat.areas:
        items = cat.items_in(area["id"])
        if not items:
            continue
        names[row] = area["title"]
        row += 1
        for it in items:
            item_rows[it.id] = row
            names[row] = it.label
            row += 1
    row += 1
    names[row] = "Baselines and targets"
    row += 1
    targets_header = row
    names[row] = "Indicator"
    row += 1
    indicator_rows: dict[str, int] = {}
    for area in cat.areas:
        names[row] = area["title"]
        row += 1
        for ind in cat.indicators_in(area["id"]):
            indicator_rows[ind.id] = row
            names[row] = ind.name
            row += 1
    return Layout(item_rows, indicator_rows, names, targets_header)


# --------------------------------------------------------------------------------------------
# The plan parts (catalogue.yaml plan_parts): cover additions and three sheets.  Added after the
# existing cells and sheets, which stay where they were (the rules above reference them).
# --------------------------------------------------------------------------------------------
PLAN_SHEET = "Delivery Plan"
SPEND_SHEET = "Investment Spend"
RISK_SHEET = "Risks"
PLAN_SHEETS = (PLAN_SHEET, SPEND_SHEET, RISK_SHEET)

COVER_ICB = "B25"
COVER_SRO = "B28"
SIGNATORY_HEADER_ROW = 31
SIGNATORY_FIRST_ROW = 32
SIGNATORY_COLS = {"role": 2, "name": 3, "email": 4, "date": 5}

PLAN_HEADER_ROW = 4   # every plan sheet: a header row, then one entry per row from row 5
PLAN_FIRST_ROW = 5

# Delivery Plan: one workstream per row; for each milestone quarter, four columns.
WORKSTREAM_COLS = {"workstream": 2, "building_block": 3, "outcome": 4, "success_measures": 5, "lead": 6}
MILESTONE_FIELDS = ("milestone", "due_date", "status", "trajectory")
MILESTONE_FIRST_COL = 7


def milestone_col(plan, quarter: str, field: str) -> int:
    return MILESTONE_FIRST_COL + plan.milestone_quarters.index(quarter) * len(MILESTONE_FIELDS) \
        + MILESTONE_FIELDS.index(field)


def plan_notes_col(plan) -> int:
    return MILESTONE_FIRST_COL + len(plan.milestone_quarters) * len(MILESTONE_FIELDS)


# Investment Spend: one category and funding source per row; projected then actual per quarter.
SPEND_COLS = {"category": 2, "funding_source": 3}
SPEND_PROJECTED_FIRST_COL = 4   # D..G projected Q1..Q4
SPEND_ACTUAL_FIRST_COL = 8      # H..K actual Q1..Q4
SPEND_NOTES_COL = 12            # L


def spend_col(kind: str, quarter: str) -> int:
    first = SPEND_PROJECTED_FIRST_COL if kind == "projected" else SPEND_ACTUAL_FIRST_COL
    return first + QUARTERS.index(quarter)


# Risks: one risk per row.
RISK_COLS = {"description": 2, "impact": 3, "likelihood": 4, "rag": 5, "mitigation": 6,
             "residual_impact": 7, "residual_likelihood": 8, "residual_rag": 9, "notes": 10}


def target_notes_col(cat: Catalogue) -> int:
    """The column of the targets' notes: after one column per target period."""
    return TARGET_FIRST_COL + len(cat.target_periods)
