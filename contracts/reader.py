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
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from contracts import layout as L
from contracts.catalogue import QUARTERS, Catalogue, load
from contracts.findings import Finding, ParsedReturn

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
    from contracts import rules as R

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
    from contracts import rules as R

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
            bad = zf.testzip()
            if bad is not None:
                return None, [R.finding("E06", value=name, name=name, detail=f" ('{bad}' is damaged)")]
    except zipfile.BadZipFile:
        return None, [R.finding("E06", value=name, name=name, detail="")]
    except _UnsafeXml:
        return None, [R.finding("E06", value=name, name=name, detail=" (it contains unsafe XML)")]
    return data, []


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
    """One sheet's cells, addressed as in Excel (1-based row and column)."""

    name: str
    rows: list[list]

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


def read_workbook(data: bytes, name: str) -> tuple[Workbook | None, list[Finding]]:
    """Read every sheet with python-calamine.  ``skip_empty_area=False`` keeps Excel indices."""
    from contracts import rules as R
    from python_calamine import CalamineWorkbook

    try:
        cwb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = {}
        for sheet_name in cwb.sheet_names:
            rows = cwb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
            sheets[sheet_name] = Grid(sheet_name, rows)
        return Workbook(name, sheets), []
    except Exception as exc:
        return None, [R.finding("E25", value=name, name=name, detail=_short(exc))]


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


# --------------------------------------------------------------------------------------------
# 3. parse
# --------------------------------------------------------------------------------------------
VALUES_SCHEMA = {"item_id": pl.String, "quarter": pl.String, "value": pl.Float64,
                 "note": pl.String, "cell": pl.String}
BASELINES_SCHEMA = {"indicator_id": pl.String, "baseline_value": pl.Float64,
                    "baseline_period": pl.String, "note": pl.String, "cell": pl.String}
TARGETS_SCHEMA = {"indicator_id": pl.String, "target_period": pl.String,
                  "target_value": pl.Float64, "cell": pl.String}


def target_notes_col(cat: Catalogue) -> int:
    return L.TARGET_FIRST_COL + len(cat.target_periods)


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
