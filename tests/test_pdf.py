"""PDFs compiled with Typst (reports/pdf.py), read back with pypdf: a two-page scorecard and a separate
appendix for every LA of the committed sample (accepted, accepted with queries, rejected, not received),
written with no browser on the machine; tagged PDF/UA-1 with a title, language and outline; page one says
what the HTML's page one says; text from returns is only ever text."""
from __future__ import annotations

import io
import json
import re
import shutil
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

from contracts import catalogue
from reports import pdf as pdf_mod
import importlib
publish_mod = importlib.import_module("reports.publish")
from reports.data import load_period
from reports.pack import build_model

PERIOD = "2026-27-Q2"
EVERY_LA = ["301", "308", "313", "330", "801", "808"]   # 801 rejected, 313 not received, 808 with queries
A4 = (595.28, 841.89)


@pytest.fixture(scope="module")
def published(sample_warehouse, tmp_path_factory):
    """Published with PDFs on a machine without chromium (find_chromium and shutil.which find nothing,
    playwright cannot be imported): Typst needs no browser."""
    out = tmp_path_factory.mktemp("pdf-packs") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LSRP_PACK_PDF", "1")
        mp.setattr(shutil, "which", lambda name, *a, **k: None)
        mp.setattr(publish_mod, "find_chromium", lambda: None)
        mp.setitem(sys.modules, "playwright", None)
        res = publish_mod.publish(sample_warehouse, out, PERIOD, la_codes=EVERY_LA, pdf=True,
                                  issued=date(2026, 11, 2), workers=1)
    return sample_warehouse, out, res


def _files(out: Path, code: str) -> dict[str, Path]:
    man = json.loads((out / PERIOD / "manifest.json").read_text())
    return {k: out / PERIOD / v for k, v in man["packs"][code]["files"].items()}


def _flat(text: str) -> str:
    return "".join(text.split()).replace("\u00ad", "")


def test_pdfs_written_without_a_browser_two_page_scorecard_and_a_separate_appendix(published):
    _, out, res = published
    assert len(res.pdfs) == 2 * len(EVERY_LA)
    for code in EVERY_LA:
        f = _files(out, code)
        assert f["pdf"].exists() and f["pdf_appendix"].exists(), code
        card, app = PdfReader(f["pdf"]), PdfReader(f["pdf_appendix"])
        assert len(card.pages) == 2, (code, len(card.pages))
        assert len(app.pages) > 2
        for page in [*card.pages, *app.pages]:
            assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)
        # the pack links both, by the names the manifest lists
        html = f["html"].read_text(encoding="utf-8")
        assert f'href="{f["pdf"].name}"' in html and f'href="{f["pdf_appendix"].name}"' in html
        # page two starts with what needs attention: no heading stranded at the foot of page one
        assert "2. What needs attention" not in card.pages[0].extract_text()
        assert card.pages[1].extract_text().lstrip().startswith("2. What needs attention")


def test_rejected_and_missing_returns_say_so_and_draw_no_empty_return_charts(published):
    _, out, _ = published
    for code, word in (("801", "rejected"), ("313", "not received")):
        f = _files(out, code)
        p2 = PdfReader(f["pdf"]).pages[1].extract_text()
        assert "The return" in p2 and word in p2
        app = PdfReader(f["pdf_appendix"])
        assert "no trajectory chart is drawn" in app.pages[0].extract_text()
        alts = _alts(app)
        assert alts and not [a for a in alts if "Line chart of" in a]   # no trajectory chart, empty or not


def _struct(reader: PdfReader):
    """Every structure element of a tagged PDF (depth first)."""
    root = reader.trailer["/Root"]["/StructTreeRoot"].get_object()
    stack, out = [root], []
    while stack:
        node = stack.pop()
        if hasattr(node, "get_object"):
            node = node.get_object()
        if isinstance(node, dict):
            if "/S" in node:
                out.append(node)
            kids = node.get("/K")
            if kids is not None:
                stack.extend(kids if isinstance(kids, list) else [kids])
        elif isinstance(node, list):
            stack.extend(node)
    return out


def _alts(reader: PdfReader) -> list[str]:
    return [str(e["/Alt"]) for e in _struct(reader) if e["/S"] == "/Figure" and "/Alt" in e]


def test_pdfs_are_tagged_ua1_with_title_language_outline_headers_and_chart_alt_text(published):
    _, out, _ = published
    f = _files(out, "301")
    html = f["html"].read_text(encoding="utf-8")
    for path in (f["pdf"], f["pdf_appendix"]):
        r = PdfReader(path)
        cat = r.trailer["/Root"]
        assert bool(cat["/MarkInfo"]["/Marked"]) and "/StructTreeRoot" in cat
        assert str(cat["/Lang"]).startswith("en")
        assert r.metadata.title.startswith("Barking and Dagenham: Q2 2026-27")
        assert r.outline, "no outline"
        xmp = r.xmp_metadata.stream.get_data()
        assert b"<pdfuaid:part>1</pdfuaid:part>" in xmp
        kinds = {str(e["/S"]) for e in _struct(r)}
        assert {"/Table", "/TH", "/TD", "/H1"} <= kinds or {"/Table", "/TH", "/TD"} <= kinds, kinds
    app = PdfReader(f["pdf_appendix"])
    alts = _alts(app)
    n_charts = html.count('<div class="chart" ')
    assert len(alts) == n_charts and all(len(a) > 40 for a in alts)
    def flat(items):
        return [t for o in items for t in (flat(o) if isinstance(o, list) else [str(o.title)])]
    titles = flat(app.outline)
    assert "Appendix A: detail for each indicator" in titles and "4. Milestones" in titles


def _html_page_one(html: str) -> list[list[str]]:
    sheet = html[html.index('class="sheet sheet-one"'):html.index('<h2 id="attention"')]
    (table,) = [b for b in pdf_mod.blocks(sheet) if b["kind"] == "table"]
    return table["rows"]


@pytest.mark.parametrize("code", ["301", "808", "801"])
def test_page_one_says_what_the_html_page_one_says(published, code):
    """The LA's name, and for every indicator in order: its name, value as shown, target and status in
    words, England and region as the HTML's page one shows them (c where withheld)."""
    _, out, _ = published
    f = _files(out, code)
    html = f["html"].read_text(encoding="utf-8")
    text = _flat(PdfReader(f["pdf"]).pages[0].extract_text())
    name = re.search(r"<h1>(.*?)</h1>", html).group(1)
    assert _flat(__import__("html").unescape(name)) in text
    rows = _html_page_one(html)
    inds = catalogue.load().indicators
    assert len(rows) == len(inds)
    by_area = [i for a in catalogue.load().areas for i in catalogue.load().indicators_in(a["id"])]
    html_rows = {r[0]: r for r in rows}
    at = 0
    for ind in by_area:
        row = next(r for k, r in html_rows.items() if k.startswith(ind.short))
        _, value, target, status, england, region = row[:6]
        for cell in (ind.short, value, target, status, england, region):
            hit = text.find(_flat(cell), at)
            assert hit >= 0, (code, ind.id, cell)
            at = hit + len(_flat(cell))
    for word in ("Met", "Missed", "Withintolerance"):
        assert text.count(word) >= sum(1 for r in rows if _flat(r[3]) == word)


HOSTILE = "#set page(width: 1pt) ] \" \\ $x$ <lbl> @ref *bold* _em_ = Heading"
LONG_WORD = "Supercalifragilistic" * 25     # 500 characters, no space


def test_hostile_text_is_text_long_words_wrap_and_pages_stay_a4(sample_warehouse, tmp_path):
    data = load_period(sample_warehouse, PERIOD)
    model = build_model(data, "301")
    own = model.plan["own"]
    risks = [{**r, "residual_rag": "Red", "description": f"{HOSTILE} {LONG_WORD}"} for r in own["risks"]]
    dq = {**model.data_quality, "queries": [{"rule": "Q99", "sheet": "Notes", "cell": "B2", "value": HOSTILE,
                                             "message": f"Note: {HOSTILE}"}]}
    model = replace(model, plan={**model.plan, "own": {**own, "risks": risks}}, data_quality=dq)
    card, app = pdf_mod.write_pack_pdfs(model, tmp_path, 1, date(2026, 11, 2))
    for path, whole in ((card, False), (app, True)):
        r = PdfReader(path)
        text = _flat("".join(p.extract_text() for p in r.pages))
        # the scorecard clips an item at pdf.MAX_TEXT characters; the appendix shows it whole
        assert _flat(HOSTILE) in text and (LONG_WORD if whole else LONG_WORD[:200]) in text.replace("-", "")
        for page in r.pages:
            w, h = float(page.mediabox.width), float(page.mediabox.height)
            assert (w, h) == pytest.approx(A4, abs=0.5)
            xs = []
            page.extract_text(visitor_text=lambda t, cm, tm, fd, fs: xs.append(cm[4] + tm[4] * cm[0]) if t.strip() else None)
            assert all(-1 <= x <= w for x in xs)
    assert len(PdfReader(card).pages) == 2


def test_a_scorecard_too_long_for_its_first_sizes_still_fits_two_pages(sample_warehouse):
    """The scorecard is compiled first in its largest sizes without measuring (reports.pdf.compile_scorecard);
    one whose table or lists do not fit there (as Isles of Scilly's "small numbers" notes on the full sample) is
    set smaller until it is two pages: the quick compile alone runs to three here, the scorecard to two."""
    data = load_period(sample_warehouse, PERIOD)
    d = pdf_mod.scorecard_data(build_model(data, "301"), 1, date(2026, 11, 2), None, "x-appendix.pdf")
    rows = [r if r.get("area") else {**r, "note": "small numbers (17.3 to 58.7)"} for r in d["table"]["rows"]]
    long_line = "A long line of what is compared with what. " * 10
    d = {**d, "table": {**d["table"], "rows": rows}, "comparing": [*d["comparing"], long_line]}
    quick = pdf_mod.compile_pdf("scorecard.typ", {**d, "fit": False})
    assert pdf_mod.page_count(quick) == len(PdfReader(io.BytesIO(quick)).pages) > 2
    card = PdfReader(io.BytesIO(pdf_mod.compile_scorecard(d)))
    assert len(card.pages) == 2
    one = _flat(card.pages[0].extract_text())
    assert _flat(long_line) in one.replace("-", "") and "Everyindicator" in one and "2.Whatneedsattention" not in one
    assert _flat(card.pages[1].extract_text()).startswith("2.Whatneedsattention")


def test_a_pdf_that_fails_is_neither_linked_nor_listed_and_is_tried_again(sample_warehouse, tmp_path, monkeypatch):
    out = tmp_path / "out"
    monkeypatch.setenv("LSRP_PACK_PDF", "1")

    def broken(*a, **k):
        raise RuntimeError("typst failed")
    with monkeypatch.context() as mp:
        mp.setattr(pdf_mod, "compile_pdf", broken)
        res = publish_mod.publish(sample_warehouse, out, PERIOD, la_codes=["301"], pdf=True,
                                  issued=date(2026, 11, 2), workers=1)
    assert res.pdfs == []
    f = _files(out, "301")
    assert "pdf" not in f and "pdf_appendix" not in f and ".pdf" not in f["html"].read_text(encoding="utf-8")
    again = publish_mod.publish(sample_warehouse, out, PERIOD, la_codes=["301"], pdf=True,
                                issued=date(2026, 11, 9), workers=1)
    f = _files(out, "301")
    assert len(again.pdfs) == 2 and f["pdf"].exists() and f'href="{f["pdf"].name}"' in f["html"].read_text()
    assert again.versions["301"] == 1   # the same figures: the same version, now with its PDFs


def test_other_las_small_counts_are_c_in_the_pdfs_as_in_the_html(published):
    """The appendix's neighbours' table prints a neighbour's suppressed value as c, as the pack does; no
    signatory's email is in any PDF."""
    import duckdb

    wh, out, _ = published
    con = duckdb.connect(str(wh), read_only=True)
    try:
        cases = con.execute(
            """select n.la_code, n.sn_la_name, b.indicator_id from marts.neighbours as n
               join marts.benchmark as b on b.la_code = n.sn_la_code and b.period = ? and b.suppressed
               where n.la_code in ? and n.sn_la_code in ? order by 1, 2, 3""",
            [PERIOD, EVERY_LA, EVERY_LA]).fetchall()
    finally:
        con.close()
    assert cases
    for viewer, other_name, _ in cases:
        text = _flat("".join(p.extract_text() for p in PdfReader(_files(out, viewer)["pdf_appendix"]).pages))
        assert _flat(f"{other_name} c statistical neighbour") in text, (viewer, other_name)
    for code in EVERY_LA:
        for k in ("pdf", "pdf_appendix"):
            text = "".join(p.extract_text() for p in PdfReader(_files(out, code)[k]).pages)
            assert not re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", text), (code, k)
