"""Validation rules of the quarterly return: stable ids, levels, DfE-style messages, and the checks.

Rule ids never change meaning; retire an id rather than reuse it.  ``RULES`` is the registry
(``rule_table()`` gives it as rows for docs and the warehouse).  Every message says what is wrong,
then "Action required: ..." in plain words.

Errors reject the return.  Queries accept it but need a reason in the Notes column; a query is
``resolved`` when the Notes cell of its row is filled in.

The checks run in stages (see ``contracts.validate``): file (``contracts.reader.open_upload``),
file name (``check_file_name``), structure and cover (``check_structure``), content
(``check_content``).  A stage's fatal errors stop later stages, so one mistake does not produce
hundreds of knock-on findings.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from contracts import layout as L
from contracts import inert, reference
from contracts.cells import text, to_number
from contracts.metadata import formula
from contracts.catalogue import INITIAL, INITIAL_LABEL, QUARTERS, Catalogue, DataItem, Indicator, load
from contracts.findings import ERROR, QUERY, Finding, ParsedReturn

MONEY_UNITS = ("GBP", "FTE")  # units that may hold decimals; everything else is a count
MAX_ROW_FINDINGS = 20


@dataclass(frozen=True)
class Rule:
    id: str
    level: str
    title: str
    template: str  # str.format template; ends with "Action required: ..."


_R = [
    # ---- the file ----
    Rule("E01", ERROR, "Wrong file type",
         "'{name}' is a {ext} file. Only Excel workbooks (.xlsx) can be accepted. "
         "Action required: save the return as an Excel workbook (.xlsx) from the DfE template and upload it again."),
    Rule("E02", ERROR, "Macro-enabled workbook",
         "'{name}' is a macro-enabled workbook{detail}. Workbooks with macros cannot be accepted. "
         "Action required: save the return as an Excel workbook (.xlsx) without macros and upload it again."),
    Rule("E03", ERROR, "Empty file",
         "'{name}' is empty (0 bytes). "
         "Action required: check you attached the completed return and upload it again."),
    Rule("E04", ERROR, "File too large",
         "'{name}' is {size}, which is over the {limit} limit. "
         "Action required: remove anything added to the template (such as images or extra sheets) and upload it again."),
    Rule("E05", ERROR, "Password-protected or old Excel format",
         "'{name}' is password-protected or saved in an old Excel format. "
         "Action required: remove the password, save the return as an Excel workbook (.xlsx) and upload it again."),
    Rule("E06", ERROR, "Corrupt file",
         "'{name}' is damaged or is not an Excel workbook{detail}. "
         "Action required: open the return in Excel, save it as an Excel workbook (.xlsx) and upload it again."),
    Rule("E07", ERROR, "Unsafe compressed content",
         "'{name}' contains compressed content that expands to an unsafe size{detail}. "
         "Action required: upload the return saved directly from the DfE template."),
    Rule("E08", ERROR, "File name does not follow the convention",
         "The file name '{name}' does not follow the convention "
         "lsrp-quarterly-return-{version}-{{LA code}}-{{la-name}}.xlsx. "
         "Action required: rename the file, for example '{example}', and upload it again."),
    Rule("E09", ERROR, "Wrong template version",
         "{where} shows template version {found}, but this collection uses the {expected} template. "
         "Action required: copy your figures into the {expected} template and upload it again."),
    # ---- structure ----
    Rule("E10", ERROR, "Missing or renamed sheet",
         "The sheet '{sheet}' is missing or has been renamed{found}. "
         "Action required: use the DfE template without renaming, adding or removing sheets."),
    Rule("E11", ERROR, "Missing or renamed row",
         "Row {row} of '{sheet}' should be '{expected}' but is {found}. "
         "Action required: do not rename, insert, delete or move rows; copy your figures into a fresh template."),
    Rule("E12", ERROR, "Column A not empty",
         "Column A of '{sheet}' must be empty, but {cell} contains '{value}'. "
         "Action required: delete the contents of column A."),
    Rule("E13", ERROR, "Local authority on the Cover not valid",
         "Cover cell {cell} {problem}. "
         "Action required: enter the local authority as its 3-digit code and name, for example '301 Barking and Dagenham'."),
    Rule("E14", ERROR, "Local authority code does not match file name",
         "The local authority code on the Cover ({cover}) does not match the code in the file name ({fname}). "
         "Action required: check the Cover and the file name are for the same local authority."),
    Rule("E15", ERROR, "Year not valid",
         "Cell {cell} must give the year as, for example, '{example}', but it is '{value}'. "
         "Action required: do not change the year label in the template."),
    Rule("E16", ERROR, "Wrong collection year",
         "The return is for {found}, but this collection is for {expected}. "
         "Action required: use the {expected} template and upload it again."),
    Rule("E17", ERROR, "Quarter not valid",
         "Cover cell {cell} must give the quarter you are submitting (Q1, Q2, Q3 or Q4), but it is {found}. "
         "Action required: choose Q1, Q2, Q3 or Q4."),
    # ---- content ----
    Rule("E18", ERROR, "Missing value",
         "{period} '{label}' is empty. "
         "Action required: enter a figure for every data item in {quarter} and earlier quarters (enter 0 if there were none)."),
    Rule("E19", ERROR, "Value not a number",
         "{period} '{label}' is not a number ('{value}'). "
         "Action required: enter a number only, with no text or symbols; put any explanation in the Notes column."),
    Rule("E20", ERROR, "Negative count",
         "{period} '{label}' is negative ({value}). "
         "Action required: enter a count of zero or more."),
    Rule("E21", ERROR, "Count not a whole number",
         "{period} '{label}' is not a whole number ({value}). "
         "Action required: enter a whole number."),
    Rule("E22", ERROR, "Part larger than its total",
         "{period} '{label}' ({value}) is more than '{parent}' ({parent_value}), which it is part of. "
         "Action required: check both figures; the first cannot be larger than the second."),
    Rule("E23", ERROR, "Requests decided larger than requests received",
         "{period} requests decided to assess ({assess}) plus not to assess ({not_assess}) is {total}, "
         "more than requests received ({received}). "
         "Action required: check the three figures; decisions cannot be more than requests received."),
    Rule("E24", ERROR, "Year-to-date figure lower than the previous quarter",
         "{period} '{label}' ({value}) is lower than {prev_period} ({prev_value}). The figure is cumulative "
         "from 1 April, so it cannot fall. Action required: enter the total for the year to date."),
    Rule("E25", ERROR, "File could not be read",
         "The file could not be read ({detail}). "
         "Action required: open the return in Excel, save it as an Excel workbook (.xlsx) and upload it again; "
         "contact DfE if this keeps happening."),
    Rule("E26", ERROR, "Data contract not met",
         "The {table} read from the return failed a check ({check}) in column '{column}' ({value}). "
         "Action required: use the DfE template unchanged; contact DfE if this keeps happening."),
    # ---- the collection: ingest knows which quarter's collection the file was uploaded to ----
    Rule("E-PERIOD", ERROR, "Return uploaded to another quarter's collection",
         "The cover says this return is for {found}, but it was uploaded to the {period} collection. "
         "Action required: set the quarter on the Cover sheet to {quarter} or upload the file to the right "
         "collection."),
    # ---- queries ----
    Rule("Q01", QUERY, "Large change on the previous quarter",
         "{period} '{label}' has changed by {pct}% on {prev_period} (from {prev_value} to {value}). "
         "Action required: check the figure; if it is right, give the reason in the Notes column ({notes_cell})."),
    Rule("Q02", QUERY, "Indicator outside the national range",
         "{period} '{indicator}' works out at {value} ({unit}), outside the expected range of {lo} to {hi}. "
         "Action required: check the figures it is made from ({items}); if they are right, give the reason "
         "in the Notes column ({notes_cell})."),
    Rule("Q03", QUERY, "Earlier quarter revised",
         "{period} '{label}' has been revised from {prev_value} in your last accepted return to {value}. "
         "Action required: if the revision is right, give the reason in the Notes column ({notes_cell})."),
    Rule("Q04", QUERY, "Target weaker than baseline",
         "The {target_period} target for '{indicator}' ({value}) is {worse} the baseline ({baseline}){also}; "
         "{polarity} is better for this indicator. "
         "Action required: check the target; if it is right, give the reason in the Notes column ({notes_cell})."),
    Rule("Q05", QUERY, "Baseline missing",
         "'{indicator}' has no baseline {missing}. "
         "Action required: enter the baseline value and its period (for example 2025-26) from your plan, "
         "or give the reason in the Notes column ({notes_cell})."),
    # ---- the plan parts: milestones, spend, risks, sign-off (contracts.plan_checks) ----
    Rule("E27", ERROR, "Value not in the list",
         "{sheet} cell {cell} ({what}) is '{value}', which is not one of the allowed values. "
         "Action required: choose one of: {options}."),
    Rule("E28", ERROR, "Text too long",
         "{sheet} cell {cell} ({what}) is {n} characters long; the limit is {limit}. "
         "Action required: shorten it to {limit} characters or fewer."),
    Rule("E29", ERROR, "More than the maximum number of risks",
         "The Risks sheet lists {n} risks; the plan allows at most {max}. "
         "Action required: keep the {max} most significant risks and remove the others."),
    Rule("E30", ERROR, "Statutory signatory missing on the initial return",
         "The Cover has no signatory for '{role}' (a row with this role, a name and the date signed). "
         "The return that goes with the plan must be signed off by every statutory role. "
         "Action required: enter the {role}'s name, email and date signed in the signatories table."),
    Rule("E31", ERROR, "Date not valid",
         "{sheet} cell {cell} ({what}) is not a date ('{value}'). "
         "Action required: enter a date, for example 2026-09-30."),
    Rule("E32", ERROR, "Spend not an amount",
         "{sheet} cell {cell} ({what}) is not an amount of zero or more ('{value}'). "
         "Action required: enter the amount in {unit} as a number only."),
    Rule("E33", ERROR, "Plan entry incomplete",
         "{sheet} row {row}: {what} is filled in but {missing} is empty. "
         "Action required: fill in {missing}, or clear the row."),
    Rule("E34", ERROR, "Email not valid",
         "{sheet} cell {cell} ({what}) is not an email address ('{value}'): {reason}. "
         "Action required: enter the signatory's work email address."),
    # The warehouse keys plan changes on a workstream's name (marts.plan_changes, stg_plan_milestones'
    # unique test): two workstreams of one return with the same name, ignoring case and spaces, would
    # be one chain of changes.  Which columns must be distinct is data: raw_tables.yaml `distinct`.
    Rule("E44", ERROR, "Name used twice",
         "{sheet} cell {cell}: the {what} '{value}' is already used in row {first_row}; each {what} in a return "
         "needs a name of its own (capitals and spaces do not count as a difference). "
         "Action required: rename one of them, or merge the two rows into one."),
    Rule("Q06", QUERY, "Risk RAG differs from the Annex C matrix",
         "Risk {n} ('{risk}') is rated {stated} {when}, but the Annex C matrix gives {expected} for "
         "{impact} impact and {likelihood} likelihood. Action required: check the rating; if {stated} "
         "is right, give the reason in the Notes column ({notes_cell})."),
    Rule("Q07", QUERY, "Actual spend above projection",
         "{period} actual spend on '{category}' ({source}) is {actual}, {over} the projection of {projected} "
         "({unit}; the margin is {margin}%). Action required: check both figures; if they are right, "
         "give the reason in the Notes column ({notes_cell})."),
    Rule("Q08", QUERY, "Milestone date passed but not started",
         "The {quarter} milestone '{milestone}' of workstream '{workstream}' was due on {due}, before the end "
         "of {period}, but its status is still '{status}'. Action required: update the status; if it has "
         "not started, give the reason and when it will start in the Notes column ({notes_cell})."),
    Rule("Q09", QUERY, "Statutory signatory missing",
         "The Cover has no signatory for '{role}' (a row with this role, a name and the date signed). "
         "Action required: enter the {role}'s name, email and date signed, or tell DfE why sign-off changed."),
    Rule("Q10", QUERY, "Plan parts not completed",
         "The delivery plan, investment spend, risks and sign-off are {what}. "
         "Action required: complete the Delivery Plan, Investment Spend and Risks sheets and the sign-off on "
         "the Cover of the current template."),
    Rule("Q11", QUERY, "Locked baseline or target changed",
         "The {what} of '{indicator}' is {value} in this return, but the initial return ({initial}) fixed it at "
         "{locked}. Baselines and targets are locked once the plan is approved: DfE keeps {locked} and records "
         "the change. Action required: put back {locked}; if DfE has agreed a change to the plan, give the "
         "reason in the Notes column ({notes_cell})."),
    # ---- text is data: every text cell of the return (contracts.text_checks) and the signatories' emails.
    # Numbered from E40 / Q15 so they stay apart from rules added alongside them (the ids are stable).
    Rule("E40", ERROR, "Control character in text",
         "{sheet} cell {cell} ({what}) contains the control character{s} {chars}, which cannot be stored "
         "or shown ('{value}'). Action required: delete {them} (retype the text if it was pasted or "
         "exported from another system) and upload the return again."),
    Rule("E41", ERROR, "Text-direction character in text",
         "{sheet} cell {cell} ({what}) contains the invisible text-direction character{s} {chars}, which "
         "would reorder how the text around it is shown ('{value}'). Action required: delete {them} "
         "(retype the text if it was pasted) and upload the return again."),
    Rule("E42", ERROR, "Formula in a text cell",
         "{sheet} cell {cell} ({what}) holds a formula ('={formula}'). Text cells are read as typed text "
         "only, so the formula cannot be accepted. Action required: type the value, not a formula."),
    Rule("E43", ERROR, "Formula without a value",
         "{sheet} cell {cell} holds a formula ('={formula}') with no saved value, so it reads as empty. "
         "Action required: type the value, not a formula."),
    Rule("Q15", QUERY, "Signatory email on another local authority's domain",
         "{sheet} cell {cell}: the email of the {role} is on {domain}, the email domain of "
         "{other}, not of {la}. Action required: check the address and enter the signatory's own work "
         "email; if it is right, tell DfE why when you upload the return."),
    Rule("Q16", QUERY, "Signatory role listed twice",
         "{sheet} cell {cell}: the role '{role}' is already signed for in row {first_row} ({first}). "
         "Action required: list each role once, with that person's own name and email; if both rows are "
         "right, tell DfE why when you upload the return."),
    # ---- DfE-held EES tidy-data CSVs (contracts.ees builds the messages) ----
    Rule("D01", ERROR, "EES file: required column missing", "{message}"),
    Rule("D02", ERROR, "EES file: time_period not valid", "{message}"),
    Rule("D03", ERROR, "EES file: time_identifier not allowed", "{message}"),
    Rule("D04", ERROR, "EES file: geographic_level not allowed", "{message}"),
    Rule("D05", ERROR, "EES file: geography code missing or not valid", "{message}"),
    Rule("D06", ERROR, "EES file: duplicate row", "{message}"),
    Rule("D07", ERROR, "EES file: measure not a number or EES symbol", "{message}"),
    Rule("D08", ERROR, "EES file: blank measure cell", "{message}"),
    Rule("D09", ERROR, "EES file: could not be read or checked", "{message}"),
]
RULES: dict[str, Rule] = {r.id: r for r in _R}


def rule_table() -> list[dict]:
    """The registry as rows: id, level, title, template."""
    return [{"id": r.id, "level": r.level, "title": r.title, "template": r.template} for r in _R]


def finding(rule_id: str, *, sheet: str | None = None, cell: str | None = None, value: object = None,
            resolved: bool = False, **fields) -> Finding:
    """A Finding for a rule, its message filled from the rule's template."""
    rule = RULES[rule_id]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # so JSON shows "-4", not "-4.0"
    # A value quoted back from a cell is shown, never acted on: every control, bidi or other
    # non-printing character becomes [U+XXXX] in the value and the message (contracts.inert).
    if isinstance(value, str):
        value = inert.visible(value)
    fields = {k: inert.visible(v) if isinstance(v, str) else v for k, v in fields.items()}
    fields.setdefault("value", fmt(value))
    fields.setdefault("cell", cell)
    fields.setdefault("sheet", sheet)
    return Finding(level=rule.level, rule=rule.id, message=rule.template.format(**fields),
                   sheet=sheet, cell=cell, value=value,
                   resolved=resolved and rule.level == QUERY)


def fmt(v: object) -> str:
    """A value for a message: whole numbers without '.0', thousands separated."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        f = float(v)
        if f.is_integer():
            return f"{int(f):,}"
        return f"{f:,.4f}".rstrip("0").rstrip(".")
    return str(v)


def period_label(year: str, quarter: str) -> str:
    return f"{quarter} {year}"


# --------------------------------------------------------------------------------------------
# reference data
# --------------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def la_names() -> dict[str, str]:
    """The 153 LAs: old 3-digit code -> name (contracts/reference/ref_las.csv)."""
    return reference.la_names()


# --------------------------------------------------------------------------------------------
# stage 2: the file name
# --------------------------------------------------------------------------------------------
def check_file_name(name: str, cat: Catalogue | None = None) -> tuple[list[Finding], str | None]:
    """E08/E09 on the file name.  Returns the findings and the LA code in the name (if readable)."""
    cat = cat or load()
    example = L.file_name(cat.template_version, "301", "Barking and Dagenham")
    m = L.FILE_NAME_RE.match(name)
    if not m or m.group("ext") != "xlsx":
        return [finding("E08", value=name, name=name, version=cat.template_version, example=example)], None
    found = f"{m.group('month')}-{m.group('year')}"
    out = []
    if found != cat.template_version:
        out.append(finding("E09", value=found, where=f"The file name '{name}'", found=found,
                           expected=cat.template_version))
    return out, m.group("code")


# --------------------------------------------------------------------------------------------
# stage 3: structure and cover
# --------------------------------------------------------------------------------------------
@dataclass
class Header:
    """What the cover and year cell say; None where missing or invalid."""

    la_code: str | None = None
    la_name: str | None = None
    year: str | None = None
    quarter: str | None = None
    layout_ok: bool = False  # sheets, version and rows as the template: content can be located


def check_structure(wb, file_code: str | None = None, expected_year: str | None = None,
                    cat: Catalogue | None = None) -> tuple[list[Finding], Header]:
    """Sheets, template version, rows, column A, cover LA, year and quarter."""

    cat = cat or load()
    expected_year = expected_year or cat.collection_year
    out: list[Finding] = []
    head = Header()
    present = {s.strip().lower(): s for s in wb.sheets}
    for sheet in L.REQUIRED_SHEETS:
        if sheet not in wb.sheets:
            near = present.get(sheet.lower())
            found = f" (found '{near}')" if near else ""
            out.append(finding("E10", sheet=sheet, value=near, found=found))
    if out:
        return out, head
    cover, ws = wb.sheets[L.COVER], wb.sheets[L.RETURN]

    version = text(cover.at(L.COVER_VERSION))
    if version != cat.template_version:
        out.append(finding("E09", sheet=L.COVER, cell=L.COVER_VERSION, value=version or None,
                           where=f"Cover cell {L.COVER_VERSION}", found=f"'{version}'" if version else "no version",
                           expected=cat.template_version))
        return out, head

    lay = L.layout(cat)
    row_findings = []
    for row, expected in lay.row_names.items():
        got = ws.get(row, L.NAME_COL)
        if text(got) != expected.strip():
            row_findings.append(finding("E11", sheet=L.RETURN, cell=L.cell(L.NAME_COL, row), value=got,
                                        row=row, expected=expected,
                                        found=f"'{text(got)}'" if text(got) else "empty"))
    out += row_findings[:MAX_ROW_FINDINGS]
    for r in range(1, ws.n_rows + 1):
        v = ws.get(r, 1)
        if v is not None and text(v):
            out.append(finding("E12", sheet=L.RETURN, cell=L.cell(1, r), value=v))

    # cover: LA
    la_raw = text(cover.at(L.COVER_LA))
    import re

    m = re.fullmatch(r"(\d{3})\s+(\S.*)", la_raw)
    if not la_raw:
        out.append(finding("E13", sheet=L.COVER, cell=L.COVER_LA, value=None,
                           problem="is empty"))
    elif not m:
        out.append(finding("E13", sheet=L.COVER, cell=L.COVER_LA, value=la_raw,
                           problem=f"must give the code and name, but it is '{la_raw}'"))
    elif m.group(1) not in la_names():
        out.append(finding("E13", sheet=L.COVER, cell=L.COVER_LA, value=la_raw,
                           problem=f"gives '{m.group(1)}', which is not the code of an English local authority"))
    else:
        head.la_code, head.la_name = m.group(1), la_names()[m.group(1)]
        if file_code and file_code != head.la_code:
            out.append(finding("E14", sheet=L.COVER, cell=L.COVER_LA, value=la_raw,
                               cover=head.la_code, fname=file_code))
    if head.la_code is None and file_code in la_names():
        head.la_name = la_names()[file_code]

    # year
    y_raw = text(ws.at(L.YEAR_CELL))
    ym = L.YEAR_RE.match(y_raw)
    if not ym or (int(ym.group("start")) + 1) % 100 != int(ym.group("end")):
        out.append(finding("E15", sheet=L.RETURN, cell=L.YEAR_CELL, value=y_raw or None,
                           example=L.year_label(expected_year)))
    else:
        year = f"{ym.group('start')}-{ym.group('end')}"
        if year != expected_year:
            out.append(finding("E16", sheet=L.RETURN, cell=L.YEAR_CELL, value=y_raw,
                               found=year, expected=expected_year))
        else:
            head.year = year

    # quarter
    q_raw = text(cover.at(L.COVER_QUARTER))
    if q_raw.upper() in QUARTERS:
        head.quarter = q_raw.upper()
    elif q_raw.lower() in (INITIAL_LABEL.lower(), INITIAL.lower()):  # the return due with the plan
        head.quarter = INITIAL
    else:
        out.append(finding("E17", sheet=L.COVER, cell=L.COVER_QUARTER, value=q_raw or None,
                           found=f"'{q_raw}'" if q_raw else "empty"))
    head.layout_ok = not row_findings
    return out, head


# --------------------------------------------------------------------------------------------
# stage 4: content
# --------------------------------------------------------------------------------------------
def is_count(item: DataItem) -> bool:
    return not any(u in item.unit for u in MONEY_UNITS)


def indicator_value(ind: Indicator, vals: dict[tuple[str, str], float], quarter: str) -> float | None:
    """numerator / denominator * multiplier from data item values (None if a term is missing or 0):
    the catalogue formula as contracts.metadata.formula defines it for the warehouse too."""
    return formula.evaluate(ind, vals, quarter)


def compute_indicators(parsed: ParsedReturn, cat: Catalogue | None = None):
    """The LA-return indicators for every quarter with data: indicator_id, quarter, value."""
    import polars as pl

    cat = cat or load()
    vals = {(r["item_id"], r["quarter"]): r["value"] for r in parsed.values.iter_rows(named=True)}
    rows = []
    for ind in cat.indicators:
        if ind.source != "la_return":
            continue
        for q in QUARTERS:
            v = indicator_value(ind, vals, q)
            if v is not None:
                rows.append((ind.id, q, v))
    return pl.DataFrame(rows, schema={"indicator_id": pl.String, "quarter": pl.String, "value": pl.Float64},
                        orient="row")


def check_content(wb, head: Header, context=None, cat: Catalogue | None = None) -> list[Finding]:
    """Errors and queries on the figures.  Needs ``head.layout_ok`` and a valid year and quarter."""

    cat = cat or load()
    lay = L.layout(cat)
    ws = wb.sheets[L.RETURN]
    year, quarter = head.year or cat.collection_year, head.quarter
    qi = QUARTERS.index(quarter) if quarter in QUARTERS else -1  # the initial return: no quarter due yet
    out: list[Finding] = []
    vals: dict[tuple[str, str], float] = {}
    notes: dict[str, str] = {}

    def where(item: DataItem, q: str) -> dict:
        return {"sheet": L.RETURN, "cell": L.cell(L.quarter_col(q), lay.item_rows[item.id])}

    def notes_cell(row: int, col: int = L.ITEM_NOTES_COL) -> str:
        return L.cell(col, row)

    # --- per cell: missing, non-numeric, negative, non-integer
    for it in cat.return_items:
        row = lay.item_rows[it.id]
        notes[it.id] = text(ws.get(row, L.ITEM_NOTES_COL))
        for i, q in enumerate(QUARTERS):
            raw = ws.get(row, L.quarter_col(q))
            per, label = period_label(year, q), it.label
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                # a formula saved without a value reads as empty: E43 (contracts.text_checks) says so
                if i <= qi and (row, L.quarter_col(q)) not in getattr(ws, "formulas", {}):
                    out.append(finding("E18", **where(it, q), value=None, period=per, label=label,
                                       quarter=period_label(year, quarter)))
                continue
            v = to_number(raw)
            if v is None:
                out.append(finding("E19", **where(it, q), value=raw, period=per, label=label))
                continue
            vals[(it.id, q)] = v
            if v < 0 and not it.allow_negative:
                out.append(finding("E20", **where(it, q), value=v, period=per, label=label))
            if is_count(it) and not float(v).is_integer():
                out.append(finding("E21", **where(it, q), value=v, period=per, label=label))

    # --- relations between items
    for it in cat.return_items:
        for i, q in enumerate(QUARTERS):
            v = vals.get((it.id, q))
            if v is None:
                continue
            per = period_label(year, q)
            if it.within:
                pv = vals.get((it.within, q))
                if pv is not None and v > pv:
                    out.append(finding("E22", **where(it, q), value=v, period=per, label=it.label,
                                       parent=cat.item(it.within).label, parent_value=fmt(pv)))
            if it.measure == "flow" and i > 0:
                prev = vals.get((it.id, QUARTERS[i - 1]))
                if prev is not None and v < prev:
                    out.append(finding("E24", **where(it, q), value=v, period=per, label=it.label,
                                       prev_period=period_label(year, QUARTERS[i - 1]), prev_value=fmt(prev)))
    try:
        decided = (cat.item("requests_decided_to_assess"), cat.item("requests_decided_not_to_assess"))
        received = cat.item("requests_received")
    except KeyError:
        decided = None
    if decided:
        for q in QUARTERS:
            a, n, r = (vals.get((decided[0].id, q)), vals.get((decided[1].id, q)), vals.get((received.id, q)))
            if None not in (a, n, r) and a + n > r:
                out.append(finding("E23", **where(decided[1], q), value=a + n, period=period_label(year, q),
                                   assess=fmt(a), not_assess=fmt(n), total=fmt(a + n), received=fmt(r)))

    # --- queries on the reported quarter
    th = cat.query_thresholds
    per = period_label(year, quarter)
    if qi > 0:
        prev_q = QUARTERS[qi - 1]
        for it in cat.return_items:
            if it.measure != "stock":
                continue
            v, pv = vals.get((it.id, quarter)), vals.get((it.id, prev_q))
            if v is None or pv is None or pv == 0:
                continue
            pct = abs(v - pv) / abs(pv) * 100
            if pct > th["quarter_change_pct"]:
                row = lay.item_rows[it.id]
                out.append(finding("Q01", **where(it, quarter), value=v, resolved=bool(notes[it.id]),
                                   period=per, label=it.label, pct=f"{pct:.0f}",
                                   prev_period=period_label(year, prev_q), prev_value=fmt(pv),
                                   notes_cell=notes_cell(row)))

    national = getattr(context, "national", None) or {}
    for ind in cat.indicators:
        if ind.source != "la_return":
            continue
        v = indicator_value(ind, vals, quarter)
        if v is None:
            continue
        if ind.id in national and national[ind.id] is not None:
            mean, sd = national[ind.id]
            k = th["national_range_sd"]
            lo, hi = mean - k * sd, mean + k * sd
        elif getattr(ind, "range", None):
            lo, hi = ind.range
        else:
            continue
        if lo <= v <= hi:
            continue
        terms = ind.numerator + ind.denominator
        first = cat.item(ind.numerator[0])
        row = lay.item_rows[first.id]
        resolved = any(notes.get(t) for t in terms)
        items = ", ".join(f"'{cat.item(t).label}'" for t in terms)
        out.append(finding("Q02", **where(first, quarter), value=round(v, ind.decimals), resolved=resolved,
                           period=per, indicator=ind.name, unit=ind.unit, lo=fmt(round(lo, ind.decimals)),
                           hi=fmt(round(hi, ind.decimals)), items=items, notes_cell=notes_cell(row)))

    previous: ParsedReturn | None = getattr(context, "previous", None)
    if previous is not None and previous.year == year:
        old = {(r["item_id"], r["quarter"]): r["value"] for r in previous.values.iter_rows(named=True)}
        prev_qi = QUARTERS.index(previous.quarter) if previous.quarter in QUARTERS else 3
        for it in cat.return_items:
            for i, q in enumerate(QUARTERS):
                if i >= qi or i > prev_qi:
                    continue
                v, ov = vals.get((it.id, q)), old.get((it.id, q))
                if v is None or ov is None or math.isclose(v, ov, rel_tol=0, abs_tol=1e-9):
                    continue
                row = lay.item_rows[it.id]
                out.append(finding("Q03", **where(it, q), value=v, resolved=bool(notes[it.id]),
                                   period=period_label(year, q), label=it.label, prev_value=fmt(ov),
                                   notes_cell=notes_cell(row)))

    # --- baselines and targets (locked by the accepted initial return: context.locked, a LockedPlan)
    ncol = L.target_notes_col(cat)
    locked = getattr(context, "locked", None)
    for ind in cat.indicators:
        row = lay.indicator_rows[ind.id]
        note = text(ws.get(row, ncol))
        bcell = L.cell(L.TARGET_BASELINE_COL, row)
        b_raw = ws.get(row, L.TARGET_BASELINE_COL)
        b = to_number(b_raw)
        if b_raw is not None and b is None:
            out.append(finding("E19", sheet=L.RETURN, cell=bcell, value=b_raw,
                               period="The baseline for", label=ind.name))
        bp = text(ws.get(row, L.TARGET_BASELINE_PERIOD_COL))
        if b_raw is None or not bp:
            missing = "value" if b_raw is None and bp else ("period" if b_raw is not None else "value or period")
            out.append(finding("Q05", sheet=L.RETURN,
                               cell=bcell if b_raw is None else L.cell(L.TARGET_BASELINE_PERIOD_COL, row),
                               value=None, resolved=bool(note), indicator=ind.name, missing=missing,
                               notes_cell=notes_cell(row, ncol)))
        if locked is not None and b is not None:
            out += _changed_lock(locked, "baseline", ind, locked.baselines.get(ind.id), b, bcell, note,
                                 notes_cell(row, ncol))
        weaker: list[tuple[str, int, float]] = []
        for p in cat.target_periods:
            col = lay.target_col(p, cat)
            t_raw = ws.get(row, col)
            if t_raw is None:
                continue
            t = to_number(t_raw)
            if t is None:
                out.append(finding("E19", sheet=L.RETURN, cell=L.cell(col, row), value=t_raw,
                                   period=f"The {p} target for", label=ind.name))
                continue
            if locked is not None:
                out += _changed_lock(locked, f"{p} target", ind, locked.targets.get((ind.id, p)), t,
                                     L.cell(col, row), note, notes_cell(row, ncol))
            if b is None or ind.polarity == "neutral":
                continue
            if ind.source == "dfe_held" and p[-3:-1] == "-Q":
                continue  # termly DfE data is seasonal: only year-end targets compare with the baseline
            if (ind.polarity == "low" and t > b) or (ind.polarity == "high" and t < b):
                weaker.append((p, col, t))
        if weaker:  # one query per indicator, at its latest weaker target, naming the others
            p, col, t = weaker[-1]
            also = f" (also {', '.join(w[0] for w in weaker[:-1])})" if len(weaker) > 1 else ""
            out.append(finding("Q04", sheet=L.RETURN, cell=L.cell(col, row), value=t, resolved=bool(note),
                               target_period=p, indicator=ind.name, baseline=fmt(b), also=also,
                               worse="above" if ind.polarity == "low" else "below",
                               polarity="lower" if ind.polarity == "low" else "higher",
                               notes_cell=notes_cell(row, ncol)))
    return out


def _changed_lock(locked, what: str, ind: Indicator, was: float | None, now: float, cell: str, note: str,
                  notes_cell: str) -> list[Finding]:
    """Q11 when a return states a baseline or target other than the one the initial return locked."""
    if was is None or math.isclose(now, was, rel_tol=0, abs_tol=1e-9):
        return []
    return [finding("Q11", sheet=L.RETURN, cell=cell, value=now, resolved=bool(note), what=what,
                    indicator=ind.name, initial=locked.period, locked=fmt(was), notes_cell=notes_cell)]
