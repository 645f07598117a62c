"""Packs, overview and index built from a synthetic warehouse (tests/fixtures_marts.py)."""
from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest
from openpyxl import load_workbook

sys.path.insert(0, str(Path(__file__).parent))
from fixtures_marts import build_marts  # noqa: E402

from contracts import catalogue  # noqa: E402
from reports import publish, write_pdfs  # noqa: E402
from reports.common import full_figure, is_suppressed  # noqa: E402

PERIOD = "2026-27-Q2"
RETURNED = ["301", "308", "313", "333", "821"]     # 873 did not return (fixture default)
ISSUED = date(2026, 11, 2)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("packs")
    wh = build_marts(root / "wh.duckdb")
    out = root / "out"
    res = publish(wh, out, PERIOD, pdf=False, issued=ISSUED)
    return wh, out, res


def _pack(out: Path, code: str) -> Path:
    (p,) = (out / PERIOD / "la").glob(f"{code}-*.html")
    return p


class Outline(HTMLParser):
    """Headings, charts, figures, landmarks, tables: enough structure to check accessibility rules."""

    def __init__(self):
        super().__init__()
        self.headings, self.charts, self.tags, self.stack = [], [], [], []
        self.th_without_scope = 0
        self.tables = self.captions = 0
        self.html_lang = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.html_lang = a.get("lang")
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "div" and "chart" in (a.get("class") or "").split():
            self.charts.append(a)
        if tag == "th" and "scope" not in a:
            self.th_without_scope += 1
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1


def _outline(path: Path) -> Outline:
    o = Outline()
    o.feed(path.read_text(encoding="utf-8"))
    return o


def test_packs_written_for_each_la_with_data(published):
    _, out, res = published
    assert sorted(p.name.split("-")[0] for p in res.written) == RETURNED
    assert not res.skipped
    for code in RETURNED:
        p = _pack(out, code)
        assert p.with_name(p.stem + "-figures.csv").exists()
        assert p.with_name(p.stem + "-figures.xlsx").exists()
    assert not list((out / PERIOD / "la").glob("873-*"))
    assert res.overview.exists() and res.index.exists()
    assert res.total_bytes > 0


def test_plotly_js_ships_once_and_not_inside_packs(published):
    _, out, _ = published
    js = [p for p in out.rglob("*.js")]
    assert [p.relative_to(out).as_posix() for p in js] == ["assets/plotly.min.js"]
    assert js[0].stat().st_size > 1_000_000
    for p in list((out / PERIOD / "la").glob("*.html")) + [out / PERIOD / "overview.html"]:
        text = p.read_text(encoding="utf-8")
        assert p.stat().st_size < 1_000_000, f"{p.name} looks like it embeds plotly.js"
        assert "cdn.plot.ly" not in text and "https://" not in text.split("<main")[0]
        assert re.search(r'<script src="\.\./(\.\./)?assets/plotly\.min\.js"', text)


def test_every_chart_has_alt_text_and_table_alternative(published):
    _, out, _ = published
    n_charts_expected = 3 * len(catalogue.load().indicators)
    for p in [_pack(out, "301"), out / PERIOD / "overview.html"]:
        text = p.read_text(encoding="utf-8")
        o = _outline(p)
        if p.name != "overview.html":
            assert len(o.charts) == n_charts_expected
        assert o.charts
        for c in o.charts:
            assert c.get("role") == "img" and c.get("tabindex") == "0" and len(c.get("aria-label", "")) > 40
        figures = re.findall(r"<figure.*?</figure>", text, re.S)
        assert len(figures) == len(o.charts)
        for f in figures:
            assert "<figcaption>" in f and "<details>" in f and "<table>" in f and "<caption>" in f
            title = re.search(r'class="chart-title"[^>]*>(.*?)</span>', f).group(1)
            assert 0 < len(title.split()) <= 10, title
        assert o.th_without_scope == 0 and o.tables == o.captions
        assert o.html_lang == "en"
        for landmark in ("header", "main", "nav", "footer", "title"):
            assert landmark in o.tags
        assert o.headings[0] == 1 and o.headings.count(1) == 1
        assert all(b - a <= 1 for a, b in zip(o.headings, o.headings[1:])), "heading levels skipped"
        assert 'class="skip-link" href="#main"' in text


def test_chart_json_is_valid_plotly(published):
    _, out, _ = published
    for p in [_pack(out, "301"), out / PERIOD / "overview.html"]:
        blocks = re.findall(r'<script type="application/json" data-chart="[^"]+">(.*?)</script>',
                            p.read_text(encoding="utf-8"), re.S)
        assert blocks
        for b in blocks:
            go.Figure(full_figure(json.loads(b.replace("<\\/", "</"))))   # raises on any invalid property


def test_sections_follow_catalogue_areas(published):
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    cat = catalogue.load()
    pos = [text.index(f'id="area-{a["id"]}"') for a in cat.areas]
    assert pos == sorted(pos)
    for ind in cat.indicators:
        assert f'id="ind-{ind.id}"' in text


def test_suppression_of_other_las_small_counts(published):
    _, out, _ = published
    # Hounslow (313) has 3 permanent exclusions and 4 mediation cases: suppressed in its neighbour's pack
    own = _pack(out, "313").read_text(encoding="utf-8")
    other = _pack(out, "301").read_text(encoding="utf-8")
    sec = other[other.index('id="ind-exc_permanent_sen"'):other.index('id="ind-ehcp_requests_rate"')]
    assert "<th scope=\"row\">Hounslow</th><td class=\"num\">c</td>" in sec
    assert "Hounslow (c: suppressed)" in sec
    sec_own = own[own.index('id="ind-exc_permanent_sen"'):own.index('id="ind-ehcp_requests_rate"')]
    assert "Value, Q2 2026-27</th><td class=\"num\">0.25 per 100 pupils" in sec_own
    rows = list(csv.DictReader(open(_pack(out, "301").with_name("301-barking-and-dagenham-figures.csv"))))
    hs = [r for r in rows if r["area_code"] == "313" and r["indicator_id"] == "exc_permanent_sen"]
    assert hs and all(r["value"] == "c" for r in hs if r["table"] == "benchmark")
    wide = list(csv.DictReader(open(_pack(out, "301").with_name("301-barking-and-dagenham-all-las.csv"))))
    col = next(k for k in wide[0] if k.endswith("[exc_permanent_sen]"))
    assert next(r for r in wide if r["la_code"] == "313")[col] == "c"
    assert next(r for r in wide if r["la_code"] == "301")[col] not in ("c", "x")
    own_wide = list(csv.DictReader(open(_pack(out, "313").with_name("313-hounslow-all-las.csv"))))
    assert next(r for r in own_wide if r["la_code"] == "313")[col] == "0.25"
    assert is_suppressed(3, 1200) and is_suppressed(None, 4) and not is_suppressed(0, 100)


def test_narrative_names_real_indicators(published):
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    summary = text[text.index('id="summary"'):text.index('id="area-attendance"')]
    names = [i.name for i in catalogue.load().indicators]
    assert sum(1 for n in names if n in summary) >= 3
    assert "Improved since Q1 2026-27" in summary and "Off trajectory" in summary


def test_at_a_glance_and_status_words(published):
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    glance = text[text.index('id="glance"'):text.index('id="summary"')]
    assert glance.count("<tr>") == len(catalogue.load().indicators) + 1
    assert re.search(r'class="tag tag-(met|within|missed)">(Met|Within tolerance|Missed)<', glance)


def test_data_quality_section(published):
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    dq = text[text.index('id="quality"'):text.index('id="about"')]
    assert "Q01" in dq and "Q04" not in dq        # unresolved query shown, resolved one not
    assert "EHCPs maintained at the end of the quarter" in dq and "2,455" in dq  # revision


def test_downloads_contain_the_figures(published):
    _, out, _ = published
    p = _pack(out, "301")
    text = p.read_text(encoding="utf-8")
    for suffix in ("-figures.csv", "-all-las.csv", "-figures.xlsx", ".pdf"):
        assert f'href="{p.stem}{suffix}"' in text
    rows = list(csv.DictReader(open(p.with_name(p.stem + "-figures.csv"), encoding="utf-8")))
    mine = {r["indicator_id"]: r["value"] for r in rows
            if r["table"] == "benchmark" and r["area_code"] == "301" and r["measure"] == "value"}
    assert set(mine) == {i.id for i in catalogue.load().indicators}
    v = mine["ehcp_20_week"]
    assert f"Value, Q2 2026-27</th><td class=\"num\">{v}%" in text
    wb = load_workbook(p.with_name(p.stem + "-figures.xlsx"), read_only=True)
    xrows = list(wb["Figures"].iter_rows(values_only=True))
    assert len(xrows) == len(rows) + 1
    assert ("benchmark", "ehcp_20_week") in {(r[0], r[1]) for r in xrows}
    wide = list(csv.reader(open(p.with_name(p.stem + "-all-las.csv"), encoding="utf-8")))
    assert len(wide) == 1 + 6 and len(wide[0]) == 3 + len(catalogue.load().indicators)   # every LA with data
    assert list(wb["All LAs"].iter_rows(values_only=True))[0] == tuple(wide[0])


def test_overview_and_index(published):
    _, out, _ = published
    ov = (out / PERIOD / "overview.html").read_text(encoding="utf-8")
    for words in ("Collection status", "Accepted with queries", "Rejected", "Not received", "Cambridgeshire",
                  "LAs off trajectory by indicator"):
        assert words in ov
    idx = (out / "index.html").read_text(encoding="utf-8")
    assert f'href="{PERIOD}/overview.html"' in idx
    for code in RETURNED:
        assert f'href="{PERIOD}/la/{_pack(out, code).name}"' in idx


def test_republish_unchanged_skips_and_changed_reissues(tmp_path):
    wh = build_marts(tmp_path / "wh.duckdb")
    out = tmp_path / "out"
    first = publish(wh, out, PERIOD, pdf=False, issued=ISSUED)
    assert len(first.written) == len(RETURNED)
    before = {p: p.stat().st_mtime_ns for p in first.written}

    again = publish(wh, out, PERIOD, pdf=False, issued=date(2026, 11, 9))
    assert again.written == [] and len(again.skipped) == len(RETURNED)
    assert {p: p.stat().st_mtime_ns for p in first.written} == before

    (tmp_path / "wh.duckdb").unlink()
    build_marts(tmp_path / "wh.duckdb", bump={("301", "ehcp_20_week"): 6.0})
    third = publish(wh, out, PERIOD, la_codes=["301", "308"], pdf=False, issued=date(2026, 11, 16))
    # only 301's own figures changed; its neighbour 308 sees new comparators but is not re-issued
    assert [p.name.split("-")[0] for p in third.written] == ["301"]
    assert [p.name.split("-")[0] for p in third.skipped] == ["308"] and third.versions["308"] == 1
    assert third.versions["301"] == 2
    text = _pack(out, "301").read_text(encoding="utf-8")
    note = re.search(r"Version 2, re-issued 16 November 2026: figures changed for: ([^<]*)\.<", text)
    assert note and "20-week timeliness" in note.group(1)
    assert "Absence, EHCP" not in note.group(1)         # DfE-held figures did not move
    man = json.loads((out / PERIOD / "manifest.json").read_text())
    assert man["packs"]["301"]["version"] == 2 and man["packs"]["333"]["version"] == 1
    assert "version 2" in (out / "index.html").read_text(encoding="utf-8")

    # a lost file is rewritten at the same version, not re-issued
    _pack(out, "301").unlink()
    fourth = publish(wh, out, PERIOD, la_codes=["301"], pdf=False, issued=date(2026, 11, 23))
    assert [p.name for p in fourth.written] == ["301-barking-and-dagenham.html"] and fourth.versions["301"] == 2
    assert "Version 2, re-issued 16 November 2026" in _pack(out, "301").read_text(encoding="utf-8")


def test_write_pdfs_without_chromium_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    html = tmp_path / "x.html"
    html.write_text("<html lang=en><title>x</title></html>")
    assert write_pdfs([html]) == []
    assert "chromium not found" in caplog.text


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium not on PATH")
def test_pdf_for_a_pack(published):
    _, out, _ = published
    (pdf,) = write_pdfs([_pack(out, "301")])
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 50_000
