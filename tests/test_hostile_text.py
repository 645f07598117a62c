"""Returns filled as a hostile LA would fill them (issue 18): every free-text field of a sample return holds,
one payload after another, script, template syntax, a formula, Typst and LaTeX, control characters (NUL,
BEL, an ESC sequence, as Excel saves them: _x001B_), a right-to-left override, and text at its length bound.

Checked: the feedback (HTML and JSON) and `lsrp validate`'s text output for each payload; then, from one
warehouse built the way the product builds it (the committed sample, with 301's Q2 return hostile but
acceptable and 308's refused), the pack's HTML, CSV and XLSX, the overview, the support view and every
string in the warehouse.  Nothing is rendered as markup or evaluated, no raw control or bidi character is
written anywhere, text within its bound is shown whole, and (with Debian chromium) no page scrolls
sideways at 390 px and the printed pack fits the A4 width, so the PDF is not shrunk."""
from __future__ import annotations

import html
import re
import shutil
import sys
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from openpyxl import load_workbook

from contracts import reader
from contracts.catalogue import load
from contracts.feedback import write_feedback
from contracts.text_checks import text_cells
from contracts.validate import format_text, validate_file
from pipeline import paths

sys.path.insert(0, str(Path(__file__).parent))
from sample_warehouse import RECEIVED, dbt_build, ingest_file, load_dfe_held  # noqa: E402

CAT = load()
PERIOD = "2026-27-Q2"
SAMPLE = {code: next((paths.SAMPLE_DIR / PERIOD).glob(f"*-{code}-*.xlsx")) for code in ("301", "308")}
SCRIPT = "<script>alert(1)</script>"
ACCEPTED_PAYLOADS = {"script": SCRIPT, "template": "{{7*7}} {% raw %}x{% endraw %}",
                     "typst": "#set page(width: 1pt)", "latex": "\\input{/etc/passwd}"}
# openpyxl writes "=..." as a formula and refuses raw control characters; "_xHHHH_" is how Excel itself
# saves a control character, and the reader decodes it back to the raw character.
REFUSED_PAYLOADS = {"formula": ('=HYPERLINK("http://x","y")', "E42"), "nul": ("a_x0000_b", "E40"),
                    "bel": ("ding_x0007_", "E40"), "esc": ("_x001B_]0;pwned-title_x0007_ _x001B_[31mred", "E40"),
                    "bidi": ("Escalate \u202eon track", "E41")}
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EMAILS = ("email",)
CHUNK = 18   # findings per rule are capped at 20 a return: each workbook holds fewer hostile cells


def fields() -> list:
    """One cell per free-text field (the first row of each plan table, the first signatory), from the
    one list the rules check (contracts.text_checks.text_cells)."""
    wb, _ = reader.read_workbook(SAMPLE["301"].read_bytes(), SAMPLE["301"].name)
    seen, out = set(), []
    for tc in text_cells(wb, CAT):
        if (tc.sheet, tc.col, tc.field) not in seen:
            seen.add((tc.sheet, tc.col, tc.field))
            out.append(tc)
    return out


FIELDS = fields()


def at_bound(field: str) -> str:
    """Every payload that is only text, then one unbroken word, exactly the field's limit long."""
    limit = CAT.plan.limit(field)
    head = " ".join(ACCEPTED_PAYLOADS.values()) + " "
    return (head + "W" * limit)[:limit]


def hostile(path: Path, cells: dict) -> Path:
    """The committed sample return of the LA in ``path``'s name, with ``cells`` set, saved to ``path``."""
    wb = load_workbook(_source(path))
    for (sheet, ref), value in cells.items():
        wb[sheet][ref] = value
    wb.save(path)
    return path


def _source(path: Path) -> Path:
    code = re.search(r"-(\d{3})-", path.name).group(1)
    return SAMPLE[code]


def assert_inert(text: str, markup: bool) -> None:
    m = RAW.search(text)
    assert m is None, f"raw {m.group(0)!r} in output: ...{text[max(0, m.start() - 60):m.end() + 20]!r}"
    if markup:
        assert SCRIPT not in text and "<svg/onload" not in text


# ------------------------------------------------------------------ validation outputs, payload by payload
@pytest.mark.parametrize("name", [*REFUSED_PAYLOADS, *ACCEPTED_PAYLOADS, "at_bound"])
def test_feedback_and_terminal_output_are_inert(tmp_path, name):
    for i in range(0, len(FIELDS), CHUNK):
        chunk = FIELDS[i:i + CHUNK]
        if name in REFUSED_PAYLOADS:
            cells = {(tc.sheet, tc.ref): REFUSED_PAYLOADS[name][0] for tc in chunk}
        elif name == "at_bound":
            cells = {(tc.sheet, tc.ref): at_bound(tc.field) for tc in chunk if tc.field not in EMAILS}
        else:
            cells = {(tc.sheet, tc.ref): ACCEPTED_PAYLOADS[name] for tc in chunk}
        path = hostile(tmp_path / SAMPLE["301"].name, cells)
        r = validate_file(path)
        if name in REFUSED_PAYLOADS:   # every field refused, at its own cell
            rule = REFUSED_PAYLOADS[name][1]
            flagged = {(f.sheet, f.cell) for f in r.findings if f.rule == rule}
            assert set(cells) <= flagged, sorted(set(cells) - flagged)
            assert r.status == "rejected"
        else:                          # text is text: nothing about it refused but the emails' syntax
            too_long = {(tc.sheet, tc.ref) for tc in chunk if len(cells.get((tc.sheet, tc.ref), "")) >
                        CAT.plan.limit(tc.field)}   # a short field (baseline period, 20) may refuse a long payload
            assert not [f for f in r.findings if f.rule in ("E40", "E41", "E42", "E43")
                        or (f.rule == "E28" and (f.sheet, f.cell) not in too_long)]
        html_path, json_path = write_feedback(r, tmp_path / f"fb-{name}-{i}")
        assert_inert(html_path.read_text(encoding="utf-8"), markup=True)
        assert_inert(json_path.read_text(encoding="utf-8"), markup=False)
        assert_inert(format_text(r), markup=False)


# ------------------------------------------------------------------ one warehouse, packs and views
def accepted_cells() -> dict:
    """301's Q2: every free-text field at its bound, made of every text payload (emails stay addresses:
    hostile addresses are refused, tests/test_text_rules.py)."""
    return {(tc.sheet, tc.ref): at_bound(tc.field) for tc in FIELDS if tc.field not in EMAILS}


def refused_cells() -> dict:
    """308's Q2: the refused payloads spread over every free-text field."""
    payloads = [p for p, _ in REFUSED_PAYLOADS.values()]
    return {(tc.sheet, tc.ref): payloads[i % len(payloads)] for i, tc in enumerate(FIELDS)}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    from reports import publish

    root = tmp_path_factory.mktemp("hostile")
    db = root / "warehouse.duckdb"
    from pipeline import warehouse

    con = warehouse.connect(db)
    results = {}
    try:
        warehouse.ensure_raw_schema(con)
        warehouse.load_catalogue(con)
        for period in ("2026-27-Q1", PERIOD):
            src = root / "inbox" / period
            shutil.copytree(paths.SAMPLE_DIR / period, src)
            if period == PERIOD:
                hostile(src / SAMPLE["301"].name, accepted_cells())
                hostile(src / SAMPLE["308"].name, refused_cells())
            for i, f in enumerate(sorted(src.glob("*.xlsx"))):
                results[(period, f.name)] = ingest_file(con, f, period, root / "archive",
                                                        RECEIVED[period].replace(minute=i))
        load_dfe_held(con, paths.SAMPLE_DIR / "dfe_held")
    finally:
        con.close()
    dbt_build(db, PERIOD, root / "target")
    out = root / "out"
    publish(db, out, PERIOD, la_codes=["301", "308"], pdf=False, issued=date(2026, 11, 2))
    return db, out, results


def test_hostile_but_acceptable_return_is_accepted_and_the_refused_one_is_not(built):
    _, _, results = built
    ok, bad = results[(PERIOD, SAMPLE["301"].name)], results[(PERIOD, SAMPLE["308"].name)]
    assert ok.status != "rejected", [(f.rule, f.cell, f.message[:120]) for f in ok.errors]
    assert bad.status == "rejected" and {"E40", "E41", "E42"} <= {f.rule for f in bad.errors}


def _pack(out: Path, code: str) -> Path:
    (p,) = (out / PERIOD / "la").glob(f"{code}-*.html")
    return p


def test_every_published_file_is_inert(built):
    _, out, _ = built
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".html", ".csv", ".json", ".xlsx")]
    assert any(p.name.startswith("support-") for p in files) and any(p.name == "overview.html" for p in files)
    for p in files:
        if p.suffix == ".xlsx":
            with zipfile.ZipFile(p) as z:
                for member in z.namelist():
                    xml = z.read(member).decode("utf-8", "replace")
                    assert_inert(xml, markup=False)
                    assert "<f>" not in xml and "<f " not in xml, (p.name, member)   # no formula cells
        else:
            assert_inert(p.read_text(encoding="utf-8"), markup=p.suffix == ".html")


def test_pack_shows_text_whole_and_escaped(built):
    _, out, _ = built
    text = _pack(out, "301").read_text(encoding="utf-8")
    assert html.escape(SCRIPT) in text and "{{7*7}}" in text and "{% raw %}" in text
    assert "#set page(width: 1pt)" in text and "\\input{/etc/passwd}" in text
    for field in ("risk", "mitigation", "milestone", "workstream", "icb_name", "sro", "name"):
        assert html.escape(at_bound(field)) in text, f"{field} cut or changed in the pack"
    assert "\u2026" not in text.split('id="milestones"')[1]   # nothing within its bound is cut


def test_downloads_keep_the_text_as_data(built):
    _, out, _ = built
    p = _pack(out, "301")
    xlsx = p.with_name(p.stem + "-figures.xlsx")
    with zipfile.ZipFile(xlsx) as z:
        strings = z.read("xl/sharedStrings.xml").decode("utf-8") if "xl/sharedStrings.xml" in z.namelist() else ""
        sheets = "".join(z.read(n).decode("utf-8") for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert html.escape(at_bound("risk"), quote=False) in strings + sheets


def test_warehouse_holds_no_raw_control_or_bidi_character(built):
    db, _, _ = built
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute("select table_schema, table_name, column_name from information_schema.columns "
                           "where data_type = 'VARCHAR' and table_schema in ('raw', 'main', 'marts', "
                           "'staging', 'intermediate')").fetchall()
        assert con.execute("select regexp_matches(?, ?)", ["a\x1bb", RAW.pattern]).fetchone()[0]   # the scan sees one
        assert len(cols) > 100
        for schema, table, col in cols:
            n = con.execute(f'select count(*) from "{schema}"."{table}" where regexp_matches("{col}", ?)',
                            [RAW.pattern]).fetchone()[0]
            assert n == 0, f"{schema}.{table}.{col}"
        desc = con.execute("select description from raw.plan_risks r join raw.submissions s using (submission_id) "
                           "where s.la_code = '301' and s.period = ? and risk_no = 1", [PERIOD]).fetchone()[0]
        assert desc == at_bound("risk")                                        # stored whole, as typed
        shown = con.execute("select value from raw.findings where la_code = '308' and rule = 'E40' "
                            "and value like '%pwned%' limit 1").fetchone()[0]
        assert "[U+001B]]0;pwned-title[U+0007]" in shown
    finally:
        con.close()


# ------------------------------------------------------------------ layout in a browser (Debian chromium)
CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH")
def test_no_page_scrolls_sideways_and_print_fits_the_page(built, tmp_path):
    from playwright.sync_api import sync_playwright

    _, out, results = built
    pages = {"pack": _pack(out, "301"), "overview": out / PERIOD / "overview.html",
             "support": out / "dfe" / f"support-{PERIOD}.html"}
    for name, res in (("feedback-hostile", results[(PERIOD, SAMPLE["308"].name)]),
                      ("feedback-accepted", results[(PERIOD, SAMPLE["301"].name)]),
                      ("feedback-clean", validate_file(SAMPLE["301"]))):
        pages[name] = write_feedback(res, tmp_path / name)[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            for name, path in pages.items():
                page.goto(path.resolve().as_uri())
                page.wait_for_load_state("load")
                assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
            # Printed, the pack's plan sections must fit A4's width between 10 mm margins (718 CSS px):
            # wider content is what made chromium shrink every page of the PDF.
            page.set_viewport_size({"width": 718, "height": 1000})
            page.emulate_media(media="print")
            page.goto(pages["pack"].resolve().as_uri())
            page.wait_for_load_state("load")
            widest = page.evaluate("Math.max(...Array.from(document.querySelectorAll('.sheet-plan')).map("
                                   "s => s.scrollWidth))")
            assert widest <= 718 and page.evaluate("document.documentElement.scrollWidth") <= 718
        finally:
            browser.close()


def test_pdfs_show_hostile_text_as_text_on_a4_pages(built, tmp_path):
    """The PDFs, compiled the product's way (Typst, reports/pdf.py, the data as JSON): the Typst payload and
    every text at its bound are there whole as text (nothing ran as markup: the pages keep A4 size), and no
    extracted character is a control or bidi character."""
    from pypdf import PdfReader

    from reports.data import load_period
    from reports.pack import build_model
    from reports.pdf import write_pack_pdfs

    db, _, _ = built
    card, app = write_pack_pdfs(build_model(load_period(db, PERIOD), "301"), tmp_path, 1, date(2026, 11, 2))
    assert len(PdfReader(card).pages) == 2
    flat = ""
    for path in (card, app):
        for page in PdfReader(path).pages:
            assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((595.28, 841.89), abs=0.5)
            text = page.extract_text()
            assert not RAW.search(text)
            flat += "".join(text.split())
    assert "#setpage(width:1pt)" in flat and "\\input{/etc/passwd}" in flat and "{{7*7}}" in flat
    for field in ("risk", "mitigation", "milestone", "workstream"):
        assert "".join(at_bound(field).split()) in flat.replace("-", "") or "".join(at_bound(field).split()) in flat, field


def _to_unicode(cmap: bytes) -> list[int]:
    """The code points a ToUnicode CMap maps glyphs to (bfchar pairs and bfrange triples; the first UTF-16
    unit of each, which is where a control or bidi character would be)."""
    out = []
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", cmap, re.S):
        out += [int(dst[:4], 16) for dst in re.findall(rb"<[0-9A-Fa-f]+>\s*<([0-9A-Fa-f]+)>", block)]
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", cmap, re.S):
        for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            start = int(dst[:4], 16)
            out += range(start, start + int(hi, 16) - int(lo, 16) + 1)
    return out
