"""Safe opening and reading of an uploaded return, before any parser touches it.

Three steps, each usable on its own:

1. ``open_upload(path, name, max_bytes)``: checks on the raw bytes (extension, size, OLE2/password,
   zip integrity, zip-bomb guard, macros).  Returns the bytes only when they are safe to parse.
2. ``read_workbook(data, name)``: reads every sheet's cells with python-calamine (Rust, no XML
   entity expansion) into ``Grid`` objects whose row/column indices match Excel (1-based).
3. ``parse_return(wb, ...)``: turns the return sheet into a ``ParsedReturn`` (long-form polars frames
   with the Excel cell reference of each value).  Run the structure rules first (contracts.rules).

None of these raises for a bad upload: problems come back as error ``Finding`` objects.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from contracts import layout as L
from contracts import rules as R
from contracts.cells import text, to_number  # noqa: F401  (re-exported: callers read cells through reader)
from contracts.layout import target_notes_col  # noqa: F401
from contracts.catalogue import QUARTERS, Catalogue, load
from contracts.findings import Finding, ParsedReturn, PlanContent

DEFAULT_MAX_BYTES = 10 * 1024 * 1024           # 10 MB upload limit (env LSRP_MAX_UPLOAD_BYTES)
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024     # zip-bomb guard: total expanded size
MAX_COMPRESSION_RATIO = 100                    # zip-bomb guard: per member (members over 1 MB)
RATIO_MIN_MEMBER_BYTES = 1024 * 1024
# Bounds on what a sheet may declare, checked before any reader allocates: python-calamine sizes its
# grid from a sheet's <dimension ref>, so a 2 KB file declaring A1:XFD1048576 would make it try to
# allocate hundreds of GB and abort the process.  The template's largest sheet is B2:N74.
MAX_SHEET_ROWS = 5_000
MAX_SHEET_COLS = 200
MAX_SHEET_CELLS = 250_000
MAX_SHEET_XML_BYTES = 20 * 1024 * 1024         # one sheet's XML, expanded
DIMENSION_SCAN_BYTES = 64 * 1024               # <dimension> sits near the top of a sheet's XML
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?([A-Za-z]{1,3})\$?(\d{1,7})'
                           rb'(?::\$?([A-Za-z]{1,3})\$?(\d{1,7}))?"')
OLE2_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
ZIP_MAGIC = b"PK\x03\x04"
MACRO_CONTENT_TYPE = "macroenabled"


def max_upload_bytes(max_bytes: int | None = None) -> int:
    """The upload size limit: the argument, else env LSRP_MAX_UPLOAD_BYTES, else 10 MB."""
    if max_bytes is not None:
        return int(max_bytes)
    env = os.environ.get("LSRP_MAX_UPLOAD_BYTES", "").strip()
    if env.isdigit():
        return int(env)
    return DEFAULT_MAX_BYTES


def human_size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# 1. safe open
# --------------------------------------------------------------------------------------------
def open_upload(path: Path | str, name: str | None = None,
                max_bytes: int | None = None) -> tuple[bytes | None, list[Finding]]:
    """Check an upload before parsing.  Returns (bytes, []) if safe, else (None, [errors])."""

    path = Path(path)
    name = name or path.name
    try:
        ext = Path(name).suffix.lower()
        if ext == ".xlsm":
            return None, [R.finding("E02", value=name, name=name, detail=" (.xlsm)")]
        if ext != ".xlsx":
            kind = f"'{ext}'" if ext else "file without an extension"
            return None, [R.finding("E01", value=name, name=name, ext=kind)]
        size = path.stat().st_size
        if size == 0:
            return None, [R.finding("E03", value="0 bytes", name=name)]
        limit = max_upload_bytes(max_bytes)
        if size > limit:
            return None, [R.finding("E04", value=human_size(size), name=name,
                                    size=human_size(size), limit=human_size(limit))]
        data = path.read_bytes()
        return check_bytes(data, name)
    except Exception as exc:  # never raise to the caller
        return None, [R.finding("E25", value=name, name=name, detail=type(exc).__name__)]


def check_bytes(data: bytes, name: str) -> tuple[bytes | None, list[Finding]]:
    """Content checks on the bytes of an .xlsx upload (no size/extension checks)."""

    if not data:
        return None, [R.finding("E03", value="0 bytes", name=name)]
    if data[:8] == OLE2_MAGIC:
        return None, [R.finding("E05", value=name, name=name)]
    if data[:4] != ZIP_MAGIC:
        return None, [R.finding("E06", value=name, name=name, detail="")]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            total = sum(i.file_size for i in infos)
            if total > MAX_UNCOMPRESSED_BYTES:
                return None, [R.finding("E07", value=human_size(total), name=name,
                                        detail=f" ({human_size(total)} when expanded)")]
            for i in infos:
                if i.file_size >= RATIO_MIN_MEMBER_BYTES and \
                        i.file_size > MAX_COMPRESSION_RATIO * max(i.compress_size, 1):
                    ratio = i.file_size / max(i.compress_size, 1)
                    return None, [R.finding("E07", value=i.filename, name=name,
                                            detail=f" ('{i.filename}' expands {ratio:.0f} times)")]
            too_big = _declared_size_problem(zf, infos)
            if too_big:
                return None, [R.finding("E07", value=too_big[0], name=name, detail=too_big[1])]
            names = {i.filename for i in infos}
            if any(n.lower().endswith("vbaproject.bin") for n in names):
                return None, [R.finding("E02", value=name, name=name, detail=" (it contains macros)")]
            if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
                return None, [R.finding("E06", value=name, name=name,
                                        detail=" (it is a zip archive but not an Excel workbook)")]
            ctypes = zf.read("[Content_Types].xml")
            _parse_xml_safely(ctypes)
            if MACRO_CONTENT_TYPE in ctypes.decode("utf-8", "replace").lower():
                return None, [R.finding("E02", value=name, name=name, detail=" (it contains macros)")]
            bad, with_formulas = _read_every_member(zf, infos)
            if bad is not None:
                return None, [R.finding("E06", value=name, name=name, detail=f" ('{bad}' is damaged)")]
    except zipfile.BadZipFile:
        return None, [R.finding("E06", value=name, name=name, detail="")]
    except _UnsafeXml:
        return None, [R.finding("E06", value=name, name=name, detail=" (it contains unsafe XML)")]
    return CheckedBytes(data, with_formulas), []


class CheckedBytes(bytes):
    """The bytes of an upload that passed ``check_bytes``, carrying what that pass read on the way: the
    XML of each worksheet member holding a formula (usually none), so the formula cells are found
    without expanding every sheet a second time (``formula_cells``)."""

    def __new__(cls, data: bytes, formula_xml: dict[str, bytes]):
        obj = super().__new__(cls, data)
        obj.formula_xml = formula_xml
        return obj


def _read_every_member(zf: zipfile.ZipFile, infos) -> tuple[str | None, dict[str, bytes]]:
    """What ``ZipFile.testzip`` does (read every member to its end, so each CRC is checked; the name of
    the first damaged one, or None), keeping the XML of the worksheets that hold a formula.  Worksheets
    are read whole (at most MAX_SHEET_XML_BYTES each, checked before); anything else in chunks."""
    with_formulas: dict[str, bytes] = {}
    for i in infos:
        try:
            if i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml"):
                xml = zf.read(i)
                if _has_formula(xml):
                    with_formulas[i.filename] = xml
            else:
                with zf.open(i) as fh:
                    while fh.read(1 << 20):
                        pass
        except zipfile.BadZipFile:
            return i.filename, {}
    return None, with_formulas


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _declared_size_problem(zf: zipfile.ZipFile, infos) -> tuple[str, str] | None:
    """(value, detail) when a sheet is bigger than a return can be, read from the first KB of
    each sheet's XML (streamed, so nothing large is expanded); None when every sheet is in bounds."""
    for i in infos:
        if not (i.filename.startswith("xl/worksheets/") and i.filename.endswith(".xml")):
            continue
        if i.file_size > MAX_SHEET_XML_BYTES:
            return i.filename, (f" ('{i.filename}' is {human_size(i.file_size)} when expanded; "
                                f"the limit is {human_size(MAX_SHEET_XML_BYTES)})")
        with zf.open(i) as fh:
            head = fh.read(DIMENSION_SCAN_BYTES)
        m = _DIMENSION_RE.search(head)
        if not m:
            continue
        c1, r1 = _col_number(m.group(1).decode()), int(m.group(2))
        c2, r2 = (_col_number(m.group(3).decode()), int(m.group(4))) if m.group(3) else (c1, r1)
        rows, cols = abs(r2 - r1) + 1, abs(c2 - c1) + 1
        if max(r1, r2) > MAX_SHEET_ROWS or max(c1, c2) > MAX_SHEET_COLS or rows * cols > MAX_SHEET_CELLS:
            ref = m.group(0).split(b'ref="')[1].rstrip(b'"').decode()
            return ref, (f" (a sheet declares the range {ref}, {rows * cols:,} cells; a return has at most "
                         f"{MAX_SHEET_ROWS:,} rows, {MAX_SHEET_COLS} columns and {MAX_SHEET_CELLS:,} cells)")
    return None


class _UnsafeXml(Exception):
    pass


def _parse_xml_safely(xml: bytes) -> None:
    import defusedxml.ElementTree as DET
    from defusedxml import DefusedXmlException

    try:
        DET.fromstring(xml)
    except (DefusedXmlException, DET.ParseError) as exc:
        raise _UnsafeXml(str(exc)) from exc


# --------------------------------------------------------------------------------------------
# 2. cells
# --------------------------------------------------------------------------------------------
@dataclass
class Grid:
    """One sheet's cells, addressed as in Excel (1-based row and column).  ``formulas``: the cells
    that hold a formula, (row, col) -> (formula text, whether a value was saved with it): calamine
    reads a formula's saved value only, and a formula saved without one reads as empty."""

    name: str
    rows: list[list]
    formulas: dict = field(default_factory=dict)

    def get(self, row: int, col: int) -> object:
        """The cell's value, or None if empty.  Strings are returned as typed (not trimmed)."""
        if row < 1 or col < 1 or row > len(self.rows):
            return None
        r = self.rows[row - 1]
        if col > len(r):
            return None
        v = r[col - 1]
        return None if v is None or v == "" else v

    def at(self, ref: str) -> object:
        m = re.fullmatch(r"([A-Z]+)(\d+)", ref)
        col = 0
        for ch in m.group(1):
            col = col * 26 + ord(ch) - 64
        return self.get(int(m.group(2)), col)

    @property
    def n_rows(self) -> int:
        return len(self.rows)


@dataclass
class Workbook:
    file: str
    sheets: dict[str, Grid]


READ_SHEETS = frozenset((*L.REQUIRED_SHEETS, *L.PLAN_SHEETS))   # the sheets a return is read from


def read_workbook(data: bytes, name: str) -> tuple[Workbook | None, list[Finding]]:
    """Read every sheet with python-calamine.  ``skip_empty_area=False`` keeps Excel indices."""
    from python_calamine import CalamineWorkbook

    try:
        cwb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        formulas = formula_cells(data, READ_SHEETS)
        sheets = {}
        for sheet_name in cwb.sheet_names:
            rows = cwb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            sheets[sheet_name] = Grid(sheet_name, rows, formulas.get(sheet_name, {}))
        return Workbook(name, sheets), []
    except Exception as exc:
        return None, [R.finding("E25", value=name, name=name, detail=_short(exc))]


_SHEET_RE = re.compile(rb'<(?:\w+:)?sheet\b[^>]*?\bname="([^"]*)"[^>]*?\br:id="([^"]*)"')
_REL_RE = re.compile(rb'<(?:\w+:)?Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"'
                     rb'|<(?:\w+:)?Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
_CELL_RE = re.compile(rb'<(?:\w+:)?c\s([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)', re.S)
_REF_RE = re.compile(rb'\br="\$?([A-Z]{1,3})\$?(\d{1,7})"')
_F_RE = re.compile(rb'<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)', re.S)
_V_RE = re.compile(rb'<(?:\w+:)?v>(.+?)</(?:\w+:)?v>', re.S)


def _has_formula(xml: bytes) -> bool:
    """Whether a sheet's XML has a formula element, plain or prefixed (not <fill>, <font>, <formula1>).
    bytes.find on '<f' is several times faster than a regex or six substring tests over a sheet, and a
    false match only costs the exact parse."""
    for marker in (b"<f", b":f"):
        i = xml.find(marker)
        while i != -1:
            if xml[i + 2:i + 3] in (b" ", b">", b"/"):
                return True
            i = xml.find(marker, i + 2)
    return False


def formula_cells(data: bytes, only: set[str] | frozenset[str] | None = None
                  ) -> dict[str, dict[tuple[int, int], tuple[str, bool]]]:
    """Sheet name -> the cells holding a formula: (row, col) -> (formula text, saved value present), for
    every sheet or the sheets in ``only``.

    Read from the sheets' XML because calamine gives a formula's saved value only.  Templates hold no
    formulas: on bytes from ``check_bytes`` (a bounded, valid zip) this reads only the sheets it saw holding
    one, so a return without formulas costs nothing here."""
    import html

    out: dict[str, dict] = {}
    known = getattr(data, "formula_xml", None)   # check_bytes has read every sheet already
    if known is not None and not known:
        return out
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        if "xl/_rels/workbook.xml.rels" not in names:
            return out
        rels = {}
        for m in _REL_RE.finditer(zf.read("xl/_rels/workbook.xml.rels")):
            rid, target = (m.group(1), m.group(2)) if m.group(1) is not None else (m.group(4), m.group(3))
            target = target.decode("utf-8", "replace").lstrip("/")
            rels[rid] = target if target.startswith("xl/") else f"xl/{target}"
        for m in _SHEET_RE.finditer(zf.read("xl/workbook.xml")):
            member = rels.get(m.group(2))
            sheet = html.unescape(m.group(1).decode("utf-8", "replace"))
            if member not in names or (only is not None and sheet not in only):
                continue
            xml = known.get(member, b"") if known is not None else zf.read(member)
            if not _has_formula(xml):
                continue
            out[sheet] = _sheet_formulas(xml)
    return out


def _sheet_formulas(xml: bytes) -> dict[tuple[int, int], tuple[str, bool]]:
    import html

    found = {}
    for m in _CELL_RE.finditer(xml):
        body = m.group(2)
        f = _F_RE.search(body) if body else None
        ref = _REF_RE.search(m.group(1)) if f else None
        if ref is None:
            continue
        text_ = html.unescape((f.group(1) or b"").decode("utf-8", "replace"))
        found[(int(ref.group(2)), _col_number(ref.group(1).decode()))] = (text_, bool(_V_RE.search(body)))
    return found


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------------------------------
# 3. parse
# --------------------------------------------------------------------------------------------
VALUES_SCHEMA = {"item_id": pl.String, "quarter": pl.String, "value": pl.Float64,
                 "note": pl.String, "cell": pl.String}
BASELINES_SCHEMA = {"indicator_id": pl.String, "baseline_value": pl.Float64,
                    "baseline_period": pl.String, "note": pl.String, "cell": pl.String}
TARGETS_SCHEMA = {"indicator_id": pl.String, "target_period": pl.String,
                  "target_value": pl.Float64, "cell": pl.String}


def parse_return(wb: Workbook, la_code: str, la_name: str, year: str, quarter: str,
                 cat: Catalogue | None = None) -> ParsedReturn:
    """The return sheet in long form.  Empty and non-numeric cells are left out (rules report them)."""
    cat = cat or load()
    lay = L.layout(cat)
    ws = wb.sheets[L.RETURN]
    values = []
    for it in cat.return_items:
        row = lay.item_rows[it.id]
        note = text(ws.get(row, L.ITEM_NOTES_COL)) or None
        for q in QUARTERS:
            col = L.quarter_col(q)
            v = to_number(ws.get(row, col))
            if v is not None:
                values.append((it.id, q, v, note, L.cell(col, row)))
    baselines, targets = [], []
    ncol = target_notes_col(cat)
    for ind in cat.indicators:
        row = lay.indicator_rows[ind.id]
        note = text(ws.get(row, ncol)) or None
        bv = to_number(ws.get(row, L.TARGET_BASELINE_COL))
        bp = text(ws.get(row, L.TARGET_BASELINE_PERIOD_COL)) or None
        if bv is not None or bp is not None:
            baselines.append((ind.id, bv, bp, note, L.cell(L.TARGET_BASELINE_COL, row)))
        for p in cat.target_periods:
            col = lay.target_col(p, cat)
            tv = to_number(ws.get(row, col))
            if tv is not None:
                targets.append((ind.id, p, tv, L.cell(col, row)))
    return ParsedReturn(
        la_code=la_code, la_name=la_name, year=year, quarter=quarter,
        values=pl.DataFrame(values, schema=VALUES_SCHEMA, orient="row"),
        baselines=pl.DataFrame(baselines, schema=BASELINES_SCHEMA, orient="row"),
        targets=pl.DataFrame(targets, schema=TARGETS_SCHEMA, orient="row"),
    )


# --------------------------------------------------------------------------------------------
# 4. the plan parts (milestones, spend, risks, sign-off)
# --------------------------------------------------------------------------------------------
_EXCEL_EPOCH = __import__("datetime").date(1899, 12, 30)


def to_date(v: object):
    """A date cell as ``datetime.date``, or None.  Accepts real dates, ISO text (2026-09-30),
    UK text (30/09/2026) and Excel serial numbers (a date typed into a cell formatted as a number)."""
    import datetime as dt

    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, (int, float)) and not isinstance(v, bool) and 36526 <= v <= 73051:  # 2000-2099
        return _EXCEL_EPOCH + dt.timedelta(days=int(v))
    if isinstance(v, str):
        s = v.strip()
        for fmt_ in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S"):
            try:
                return dt.datetime.strptime(s, fmt_).date()
            except ValueError:
                pass
    return None


@dataclass
class PlanRow:
    """One filled row of a plan table as typed: field -> raw value, and field -> cell reference."""

    sheet: str
    row: int
    raw: dict
    cells: dict

    def text(self, field: str) -> str:
        return text(self.raw.get(field))


@dataclass
class PlanRows:
    """The plan parts as typed, row by row, for the rules (which report raw values) and the parse."""

    missing_sheets: list[str]
    icb_name: object
    sro: object
    signatories: list[PlanRow]
    workstreams: list[PlanRow]
    spend: list[PlanRow]
    risks: list[PlanRow]

    @property
    def present(self) -> bool:
        return not self.missing_sheets

    @property
    def filled(self) -> bool:
        signed = any(r.text("name") or r.text("email") or r.raw.get("date") is not None for r in self.signatories)
        return bool(text(self.icb_name) or text(self.sro) or signed or self.workstreams or self.spend
                    or self.risks)


def _rows(ws: Grid | None, cols: dict[str, int], first: int, last: int | None = None) -> list[PlanRow]:
    if ws is None:
        return []
    out = []
    last = ws.n_rows if last is None else min(last, ws.n_rows)
    for row in range(first, last + 1):
        raw = {f: ws.get(row, c) for f, c in cols.items()}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in raw.values()):
            continue
        out.append(PlanRow(ws.name, row, raw, {f: L.cell(c, row) for f, c in cols.items()}))
    return out


def plan_columns(cat: Catalogue) -> dict[str, dict[str, int]]:
    """Field -> column of each plan table (one source: contracts.layout)."""
    plan = cat.plan
    work = dict(L.WORKSTREAM_COLS)
    for q in plan.milestone_quarters:
        for f in L.MILESTONE_FIELDS:
            work[f"{q}_{f}"] = L.milestone_col(plan, q, f)
    work["notes"] = L.plan_notes_col(plan)
    spend = dict(L.SPEND_COLS)
    for kind in ("projected", "actual"):
        for q in QUARTERS:
            spend[f"{kind}_{q}"] = L.spend_col(kind, q)
    spend["notes"] = L.SPEND_NOTES_COL
    return {"signatories": dict(L.SIGNATORY_COLS), "workstreams": work, "spend": spend,
            "risks": dict(L.RISK_COLS)}


def read_plan_rows(wb: Workbook, cat: Catalogue | None = None) -> PlanRows:
    cat = cat or load()
    cols = plan_columns(cat)
    cover = wb.sheets.get(L.COVER)
    sheets = {s: wb.sheets.get(s) for s in L.PLAN_SHEETS}
    sig_last = L.SIGNATORY_FIRST_ROW + cat.plan.max_signatories - 1
    return PlanRows(
        missing_sheets=[s for s, ws in sheets.items() if ws is None],
        icb_name=cover.at(L.COVER_ICB) if cover else None,
        sro=cover.at(L.COVER_SRO) if cover else None,
        signatories=_rows(cover, cols["signatories"], L.SIGNATORY_FIRST_ROW, sig_last),
        workstreams=_rows(sheets[L.PLAN_SHEET], cols["workstreams"], L.PLAN_FIRST_ROW),
        spend=_rows(sheets[L.SPEND_SHEET], cols["spend"], L.PLAN_FIRST_ROW),
        risks=_rows(sheets[L.RISK_SHEET], cols["risks"], L.PLAN_FIRST_ROW),
    )


SIGNATORIES_SCHEMA = {"position": pl.Int64, "role": pl.String, "name": pl.String, "email": pl.String,
                      "signed_on": pl.Date, "cell": pl.String}
MILESTONES_SCHEMA = {"workstream_no": pl.Int64, "workstream": pl.String, "building_block": pl.String,
                     "outcome": pl.String, "success_measures": pl.String, "lead": pl.String,
                     "quarter": pl.String, "milestone": pl.String, "due_date": pl.Date,
                     "status": pl.String, "trajectory": pl.String, "note": pl.String, "cell": pl.String}
SPEND_SCHEMA = {"line_no": pl.Int64, "category": pl.String, "funding_source": pl.String,
                "quarter": pl.String, "projected": pl.Float64, "actual": pl.Float64, "note": pl.String,
                "cell": pl.String}
RISKS_SCHEMA = {"risk_no": pl.Int64, "description": pl.String, "impact": pl.String,
                "likelihood": pl.String, "rag": pl.String, "mitigation": pl.String,
                "residual_impact": pl.String, "residual_likelihood": pl.String, "residual_rag": pl.String,
                "note": pl.String, "cell": pl.String}


def _choice(v: object, allowed: tuple[str, ...]) -> str | None:
    """A list cell's value as its catalogue spelling (case and spaces forgiven), else None."""
    t = " ".join(text(v).split()).lower()
    return next((a for a in allowed if a.lower() == t), None)


def parse_plan(wb: Workbook, cat: Catalogue | None = None) -> PlanContent:
    """The plan parts in long form.  Values not in their list, and dates or amounts that cannot be
    read, become null (the rules report them); text is kept as typed, trimmed."""
    cat = cat or load()
    plan = cat.plan
    rows = read_plan_rows(wb, cat)
    blocks = tuple(b["title"] for b in cat.building_blocks)
    sig = [(i + 1, text(r.raw["role"]) or None, text(r.raw["name"]) or None, text(r.raw["email"]) or None,
            to_date(r.raw["date"]), r.cells["name"]) for i, r in enumerate(rows.signatories)]
    ms = []
    for n, r in enumerate(rows.workstreams, start=1):
        base = (n, r.text("workstream") or None, _choice(r.raw["building_block"], blocks),
                r.text("outcome") or None, r.text("success_measures") or None, r.text("lead") or None)
        for q in plan.milestone_quarters:
            m = r.text(f"{q}_milestone")
            d = to_date(r.raw[f"{q}_due_date"])
            st = _choice(r.raw[f"{q}_status"], plan.statuses)
            if not (m or d or st):
                continue
            ms.append(base + (q, m or None, d, st, r.text(f"{q}_trajectory") or None,
                              r.text("notes") or None, r.cells[f"{q}_milestone"]))
    sp = []
    for n, r in enumerate(rows.spend, start=1):
        for q in QUARTERS:
            pv, av = to_number(r.raw[f"projected_{q}"]), to_number(r.raw[f"actual_{q}"])
            if pv is None and av is None:
                continue
            sp.append((n, _choice(r.raw["category"], plan.spend_categories),
                       _choice(r.raw["funding_source"], plan.funding_sources), q, pv, av,
                       r.text("notes") or None, r.cells[f"projected_{q}"]))
    rk = []
    for n, r in enumerate(rows.risks, start=1):
        rk.append((n, r.text("description") or None, _choice(r.raw["impact"], plan.impacts),
                   _choice(r.raw["likelihood"], plan.likelihoods), _choice(r.raw["rag"], plan.rags),
                   r.text("mitigation") or None, _choice(r.raw["residual_impact"], plan.impacts),
                   _choice(r.raw["residual_likelihood"], plan.likelihoods),
                   _choice(r.raw["residual_rag"], plan.rags), r.text("notes") or None, r.cells["description"]))
    return PlanContent(
        present=rows.present, filled=rows.filled,
        icb_name=text(rows.icb_name) or None, sro=text(rows.sro) or None,
        signatories=pl.DataFrame(sig, schema=SIGNATORIES_SCHEMA, orient="row"),
        milestones=pl.DataFrame(ms, schema=MILESTONES_SCHEMA, orient="row"),
        spend=pl.DataFrame(sp, schema=SPEND_SCHEMA, orient="row"),
        risks=pl.DataFrame(rk, schema=RISKS_SCHEMA, orient="row"),
    )
