"""Checks on every free-text cell of a return: text is stored and shown as data, never acted on.

``text_cells`` is the one list of free-text cells (cover contact and sign-off, the return sheet's
baseline periods and Notes columns, the plan sheets' text fields); ``check_text`` refuses in them
control characters (E40: tab and line breaks only where the catalogue's ``multiline_text`` allows),
bidirectional controls (E41), text over the catalogue's ``text_limits`` (E28) and formulas (E42), and
anywhere on the sheets the return is read from, a formula saved without a value (E43), which would
otherwise read as an empty cell without a word.  Script, template and markup syntax stay as typed:
they are text, and every output escapes them.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from contracts import inert
from contracts import layout as L
from contracts.catalogue import Catalogue, load
from contracts.findings import Finding
from contracts.plan_checks import _capped, _what
from contracts.reader import Workbook, plan_columns
from contracts.rules import finding

SHOWN_CHARS = 80  # how much of an offending value a message quotes


@dataclass(frozen=True)
class TextCell:
    sheet: str
    row: int
    col: int
    field: str      # the catalogue text_limits key
    what: str       # how a message names the cell

    @property
    def ref(self) -> str:
        return L.cell(self.col, self.row)


# Fields of the plan tables that are free text, and their text_limits key (the rest are lists,
# dates and amounts, checked by contracts.plan_checks).
_PLAN_TEXT = {"workstreams": {"workstream": "workstream", "outcome": "outcome",
                              "success_measures": "success_measures", "lead": "lead", "milestone": "milestone",
                              "trajectory": "trajectory", "notes": "notes"},
              "spend": {"notes": "notes"},
              "risks": {"description": "risk", "mitigation": "mitigation", "notes": "notes"}}
_PLAN_SHEET = {"workstreams": L.PLAN_SHEET, "spend": L.SPEND_SHEET, "risks": L.RISK_SHEET}


def text_cells(wb: Workbook, cat: Catalogue | None = None) -> list[TextCell]:
    """Every free-text cell of the workbook's return, cover and plan sheets (those present)."""
    cat = cat or load()
    cells = list(_fixed_cells(cat))
    for table in _PLAN_TEXT:
        ws = wb.sheets.get(_PLAN_SHEET[table])
        if ws is not None and cat.plan is not None:
            cells += _plan_cells(cat, table, ws.n_rows)
    return cells


@lru_cache(maxsize=256)
def _plan_cells(cat: Catalogue, table: str, n_rows: int) -> tuple[TextCell, ...]:
    """A plan table's text cells, every row from the first entry row to the sheet's last."""
    fields = _PLAN_TEXT[table]
    text_cols = [(f, c) for f, c in plan_columns(cat)[table].items() if _base(f) in fields]
    return tuple(TextCell(_PLAN_SHEET[table], row, c, fields[_base(f)], _what(f))
                 for row in range(L.PLAN_FIRST_ROW, n_rows + 1) for f, c in text_cols)


@lru_cache(maxsize=None)
def _fixed_cells(cat: Catalogue) -> tuple[TextCell, ...]:
    """The text cells every return has in the same place: the cover's and the return sheet's."""
    cells = [TextCell(L.COVER, *_rc(ref), field, what) for ref, field, what in (
        (L.COVER_CONTACT, "contact", "contact name"), (L.COVER_EMAIL, "contact_email", "contact email"),
        (L.COVER_ICB, "icb_name", _what("icb_name")), (L.COVER_SRO, "sro", _what("sro")))]
    cols = plan_columns(cat) if cat.plan is not None else {}
    last_signatory = L.SIGNATORY_FIRST_ROW + (cat.plan.max_signatories if cat.plan else 0) - 1
    for row in range(L.SIGNATORY_FIRST_ROW, last_signatory + 1):
        cells += [TextCell(L.COVER, row, cols["signatories"][f], f, _what(f)) for f in ("role", "name", "email")]
    lay = L.layout(cat)
    cells += [TextCell(L.RETURN, row, L.ITEM_NOTES_COL, "notes", "notes") for row in lay.item_rows.values()]
    for row in lay.indicator_rows.values():
        cells.append(TextCell(L.RETURN, row, L.TARGET_BASELINE_PERIOD_COL, "baseline_period", "baseline period"))
        cells.append(TextCell(L.RETURN, row, L.target_notes_col(cat), "notes", "notes"))
    return tuple(cells)


def _rc(ref: str) -> tuple[int, int]:
    letters = ref.rstrip("0123456789")
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(ref[len(letters):]), col


def _base(field: str) -> str:
    """'Q2_milestone' -> 'milestone': the quarter's milestone columns share their field's limit."""
    return field.split("_", 1)[1] if field[:1] == "Q" and field[2:3] == "_" else field


def check_text(wb: Workbook, cat: Catalogue | None = None) -> list[Finding]:
    """E40, E41, E28 and E42 on every free-text cell; E43 on every other formula saved without a
    value on the sheets the return is read from.  Never raises for bad content."""
    cat = cat or load()
    out: list[Finding] = []
    text_refs = set()
    for tc in text_cells(wb, cat):
        ws = wb.sheets.get(tc.sheet)
        if ws is None:
            continue
        text_refs.add((tc.sheet, tc.row, tc.col))
        out += _check_cell(tc, ws, cat)
    out += _formulas_without_values(wb, text_refs)
    return _capped(out)


def _check_cell(tc: TextCell, ws, cat: Catalogue) -> list[Finding]:
    formula = ws.formulas.get((tc.row, tc.col))
    v = ws.get(tc.row, tc.col)
    if formula is None and not isinstance(v, str):
        return []
    where = {"sheet": tc.sheet, "cell": tc.ref, "what": tc.what}
    if formula is not None:
        return [finding("E42", **where, value=None, formula=_shown(formula[0]))]
    if not isinstance(v, str):
        return []
    out = []
    if not v.isprintable():   # the usual text is printable: controls and bidi characters are not
        multiline = tc.field in (cat.plan.multiline_text if cat.plan else ())
        for rule, chars in (("E40", inert.controls(v, multiline)), ("E41", inert.bidi(v))):
            if chars:
                out.append(finding(rule, **where, value=_shown(v), chars=inert.names(chars),
                                   s="s" if len(chars) > 1 else "", them="them" if len(chars) > 1 else "it"))
    limit = cat.plan.limit(tc.field) if cat.plan else None
    n = len(v.strip())
    if limit is not None and n > limit:
        out.append(finding("E28", **where, value=_shown(v.strip(), 40), n=n, limit=limit))
    return out


def _formulas_without_values(wb: Workbook, text_refs: set) -> list[Finding]:
    out = []
    for sheet in (*L.REQUIRED_SHEETS, *L.PLAN_SHEETS):
        ws = wb.sheets.get(sheet)
        for (row, col), (text, has_value) in sorted((ws.formulas if ws else {}).items()):
            if not has_value and (sheet, row, col) not in text_refs:
                out.append(finding("E43", sheet=sheet, cell=L.cell(col, row), value=None, formula=_shown(text)))
    return out


def _shown(s: str, n: int = SHOWN_CHARS) -> str:
    """The start of a long value, for a message (the whole of it is in the LA's own file)."""
    return s if len(s) <= n else s[:n] + "..."
