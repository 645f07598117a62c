"""Packs, overview and index rendered from marts that dbt built: the committed sample through the product's
ingest and a real `dbt build` (tests/sample_warehouse.py, the session fixture ``sample_warehouse``).
Expected facts (who is suppressed, which region figure is withheld, which queries are open) are read from
the marts and the raw tables, never typed in, so the packs are checked against what the pipeline produced."""
from __future__ import annotations

import csv
import html
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

import duckdb
sys.path.insert(0, str(Path(__file__).parent))
from sample_warehouse import copy_warehouse, dbt_build, ingest_file  # noqa: E402
from conftest import edit_cells  # noqa: E402

from contracts import catalogue  # noqa: E402
from contracts import layout as L  # noqa: E402
from reports import publish, write_pdfs  # noqa: E402
from reports.common import full_figure, is_suppressed  # noqa: E402

PERIOD = "2026-27-Q2"
RETURNED = ["301", "308", "330", "808"]     # accepted in Q2 (808 with open queries)
REJECTED, NOT_RECEIVED = "801", "313"       # 801 rejected in Q2 (sample MANIFEST); 313 (301's neighbour) sent nothing
EVERY_LA = sorted(RETURNED + [REJECTED, NOT_RECEIVED])
ISSUED = date(2026, 11, 2)
SYMBOLS = {"c", "x", "z"}


@pytest.fixture(scope="module")
def published(sample_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("packs") / "out"
    res = publish(sample_warehouse, out, PERIOD, la_codes=EVERY_LA, pdf=False, issued=ISSUED)
    return sample_warehouse, out, res


def _rows(wh: Path, sql: str, *params) -> list[dict]:
    con = duckdb.connect(str(wh), read_only=True)
    try:
        cur = con.execute(sql, list(params))
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        con.close()


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


def test_packs_written_for_every_la_whatever_its_return(published):
    _, out, res = published
    assert sorted(p.name.split("-")[0] for p in res.written) == EVERY_LA
    assert not res.skipped
    for code in EVERY_LA:
        p = _pack(out, code)
        assert p.with_name(p.stem + "-figures.csv").exists()
        assert p.with_name(p.stem + "-figures.xlsx").exists()
    assert res.overview.exists() and res.index.exists()
    assert res.total_bytes > 0


@pytest.mark.parametrize("code, words", [(REJECTED, "rejected"), (NOT_RECEIVED, "not received")])
def test_rejected_and_missing_returns_get_a_pack_from_dfe_data(published, code, words):
    """A clear status line, DfE-held figures shown, no trajectory, return-based figures x."""
    _, out, _ = published
    text = _pack(out, code).read_text(encoding="utf-8")
    assert re.search(rf'class="notice status-line"[^>]*><p>Return for Q2 2026-27: {words}\.', text)
    assert "-traj" not in text                      # no trajectory chart
    glance = text[text.index('id="glance"'):text.index('id="attention"')]
    row = re.search(r'href="#ind-att_overall_ehcp">.*?</tr>', glance).group(0)
    assert re.search(r'<td class="num">\d+\.\d</td>', row)          # attendance: DfE holds it
    row = re.search(r'href="#ind-ehcp_20_week">.*?</tr>', glance).group(0)
    assert '<td class="num">x</td>' in row                           # from the return: not available
    assert "tag-met" not in glance and "tag-missed" not in glance


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
    cat = catalogue.load()
    n_charts_expected = 3 * len(cat.indicators) + len(cat.areas)      # detail charts + one per area
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
            assert not re.search(r"\b1 authorities", f)     # "1 authority" (not "of 151 authorities")
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
    """A neighbour's value the marts suppress is c in the viewer's pack and downloads, and shown in its own."""
    wh, out, _ = published
    cases = _rows(wh, """select n.la_code as viewer, n.sn_la_code as other, n.sn_la_name as other_name,
                                b.indicator_id, b.la_value
                         from marts.neighbours as n
                         join marts.benchmark as b on b.la_code = n.sn_la_code and b.period = ? and b.suppressed
                         where n.la_code in ? and n.sn_la_code in ? order by 1, 2, 4""",
                  PERIOD, EVERY_LA, EVERY_LA)
    assert cases, "the sample has no suppressed value between two published packs"
    for c in cases:
        ind = catalogue.load().indicator(c["indicator_id"])
        viewer = _pack(out, c["viewer"])
        text = viewer.read_text(encoding="utf-8")
        sec = text[text.index(f'id="ind-{ind.id}"'):]
        sec = sec[:sec.find('id="ind-', 10)]          # up to the next indicator's section
        assert f'<th scope="row">{html.escape(c["other_name"])}</th><td class="num">c</td>' in sec, c
        rows = list(csv.DictReader(open(viewer.with_name(viewer.stem + "-figures.csv"), encoding="utf-8")))
        theirs = [r for r in rows if r["old_la_code"] == c["other"] and r["indicator_id"] == ind.id]
        assert theirs and all(r["value"] == "c" for r in theirs), c
        # one all-LAs CSV for every pack: nobody's own view, so every small count is c there; an
        # LA's own value is in its own figures CSV
        every = list(csv.DictReader(open(out / PERIOD / "all-las.csv", encoding="utf-8")))
        assert next(r for r in every if r["old_la_code"] == c["other"] and r["indicator_id"] == ind.id)[
            "value"] == "c"
        own = _pack(out, c["other"])
        mine = list(csv.DictReader(open(own.with_name(own.stem + "-figures.csv"), encoding="utf-8")))
        shown = next(r for r in mine if r["old_la_code"] == c["other"] and r["indicator_id"] == ind.id
                     and r["comparison"] == "This local authority")["value"]
        assert float(shown) == pytest.approx(c["la_value"], abs=10 ** -ind.decimals), c
    assert is_suppressed(3, 1200) and is_suppressed(None, 4) and not is_suppressed(0, 100)


def test_withheld_region_is_c_in_page_one_and_downloads(published):
    """Where the marts withhold a pack's region figure (secondary suppression), the pack and its CSV print c."""
    wh, out, _ = published
    cases = _rows(wh, "select la_code, indicator_id, region_name from marts.benchmark "
                      "where period = ? and region_withheld and la_code in ? order by 1, 2", PERIOD, EVERY_LA)
    assert cases, "the sample has no withheld region figure in a published pack"
    regions = {r["region_name"]: r["region_code"] for r in _rows(wh, "select * from marts.local_authorities")}
    for c in cases:
        p = _pack(out, c["la_code"])
        text = p.read_text(encoding="utf-8")
        glance = text[text.index('id="glance"'):text.index('id="attention"')]
        row = re.search(rf'href="#ind-{c["indicator_id"]}">.*?</tr>', glance).group(0)
        cells = [re.sub(r"<span.*?</span>|<[^>]+>", "", x) for x in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        assert cells[4] == "c", c                     # Value, Target, Status, England, region: region withheld
        rows = list(csv.DictReader(open(p.with_name(p.stem + "-figures.csv"), encoding="utf-8")))
        reg = [r for r in rows if r["indicator_id"] == c["indicator_id"] and r["geographic_level"] == "Regional"
               and r["time_identifier"] == "Financial year Q2"]
        assert reg and all(r["value"] == "c" and r["region_code"] == regions[c["region_name"]] for r in reg), c


def test_page_one_is_the_review_agenda(published):
    """Page one: every indicator with value, target, status, England, region, neighbours' average, rank and
    band, change in words; then at most three improvements and three deteriorations."""
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    assert text.index('id="glance"') < text.index('id="attention"') < text.index('id="areas"') \
        < text.index('id="appendix"')
    glance = text[text.index('id="glance"'):text.index('id="attention"')]
    assert glance.count("<tr>") == len(catalogue.load().indicators) + 1
    heads = [html.unescape(h) for h in re.findall(r'<th scope="col"[^>]*>([^<]*)</th>', glance)]
    assert heads[:9] == ["Indicator", "Value", "Target", "Status", "England", "London", "Neighbours' average",
                     "Rank (band)", "Change"]
    assert re.search(r'class="tag tag-(met|within|missed)">(Met|Within tolerance|Missed)<', glance)
    assert "No status" not in text
    attention = text[text.index('id="attention"'):text.index('id="areas"')]
    for title in ("Biggest improvements", "Biggest deteriorations"):
        box = attention[attention.index(title):]
        box = box[:box.index("</ul>")]
        assert 1 <= box.count("<li>") <= 3
    names = [i.short for i in catalogue.load().indicators]
    assert sum(1 for n in names if n + ":" in attention) >= 2
    areas = text[text.index('id="areas"'):text.index('id="appendix"')]
    assert areas.count('data-chart="c-area-') == len(catalogue.load().areas)


def test_chart_titles_agree_with_what_is_drawn(published):
    """No 'no target set' while a target is drawn; the neighbours' average is drawn when the title names it."""
    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    for cid, body in re.findall(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', text, re.S):
        fig = json.loads(body.replace("<\\/", "</"))
        title = re.search(rf'id="{cid}-title">([^<]*)<', text).group(1)
        if cid.endswith("-traj") and "no targets set" in title.lower():
            assert not any(y is not None for t in fig["data"] if "target" in t["name"].lower() for y in t["y"])
        if cid.endswith("-bench") and "neighbours' average" in title:
            assert any("Neighbours' average" in a["text"] for a in fig["layout"]["annotations"])
        for t in fig["data"]:
            if "text" in t and t.get("type") == "scatter":
                assert t.get("cliponaxis") is False, cid       # labels on points are never clipped


def test_data_quality_section(published):
    """Queries without a reason on the latest upload are listed, those with a reason are not; revisions shown."""
    wh, out, _ = published
    n_open = 0
    for code in RETURNED:
        findings = _rows(wh, """select f.rule, coalesce(f.resolved, false) as resolved from raw.findings as f
                                join marts.collection_status as s on s.latest_submission_id = f.submission_id
                                where s.la_code = ? and s.period = ? and f.level = 'query'""", code, PERIOD)
        text = _pack(out, code).read_text(encoding="utf-8")
        dq = text[text.index('id="quality"'):text.index('id="about"')]
        open_rules = {f["rule"] for f in findings if not f["resolved"]}
        n_open += len(open_rules)
        for rule in open_rules:
            assert f">{rule}<" in dq, (code, rule)
        for rule in {f["rule"] for f in findings if f["resolved"]} - open_rules:
            assert f">{rule}<" not in dq, (code, rule)
        for rev in _rows(wh, "select * from marts.revisions where la_code = ?", code):
            item = catalogue.load().item(rev["item_id"])
            assert html.escape(item.label) in dq and f"{rev['later_value']:,.0f}" in dq, rev
    assert n_open > 0                                  # the sample has open queries (301 Q08, 808 Q01 and Q06)


EES_HEAD = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
            "region_name", "new_la_code", "old_la_code", "la_name"]


def test_downloads_are_data(published):
    """CSV in the EES tidy style (codes for every geography, numeric value, symbols only where withheld);
    XLSX with numeric cells, a frozen and filtered header."""
    _, out, _ = published
    p = _pack(out, "301")
    text = p.read_text(encoding="utf-8")
    for suffix in ("-figures.csv", "-figures.xlsx"):
        assert f'href="{p.stem}{suffix}"' in text
    # published with PDFs off: no link to a PDF that was never written, in the pack or its manifest
    assert ".pdf" not in text and not p.with_suffix(".pdf").exists()
    manifest = json.loads((out / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["packs"].values():
        assert "pdf" not in entry["files"] and all((out / PERIOD / f).exists() for f in entry["files"].values())
    for shared in ("all-las.csv", "all-las.xlsx"):   # every LA's values: one file each, shared by the packs
        assert f'href="../{shared}"' in text and not p.with_name(f"{p.stem}-{shared}").exists()
    rows = list(csv.DictReader(open(p.with_name(p.stem + "-figures.csv"), encoding="utf-8")))
    assert list(rows[0])[:len(EES_HEAD)] == EES_HEAD
    for col in ("indicator", "value", "status", "rank", "quartile_band"):
        assert col in rows[0]
    for r in rows:
        if r["value"] not in SYMBOLS:
            float(r["value"])                       # raises on "30 of 153" or "within tolerance"
        assert r["country_code"] == "E92000001"
        if r["geographic_level"] == "Regional":
            assert r["region_code"].startswith("E12") and r["region_name"]
        if r["geographic_level"] == "Local authority":
            assert re.fullmatch(r"\d{3}", r["old_la_code"]) and r["new_la_code"].startswith("E")
    # the neighbours' average is a geography of its own, without the LA's codes (issue 20)
    assert {r["geographic_level"] for r in rows} == {"National", "Regional", "Local authority", "Statistical neighbours"}
    assert all(not r["old_la_code"] and not r["new_la_code"] for r in rows
               if r["comparison"] == "Statistical neighbours' average")
    # a DfE-held termly figure carries its term as EES does (Q2 2026-27 is fed by the summer term 2025/26)
    dfe_held = {i.id for i in catalogue.load().indicators if i.source == "dfe_held"}
    mine = {r["indicator_id"]: r["value"] for r in rows
            if r["old_la_code"] == "301" and r["comparison"] == "This local authority"
            and (r["time_period"], r["time_identifier"]) == (("202526", "Summer term") if r["indicator_id"] in dfe_held
                                                            else ("202627", "Financial year Q2"))}
    assert set(mine) == {i.id for i in catalogue.load().indicators}
    assert f'<td class="num">{mine["ehcp_20_week"]}</td>' in text
    # statuses are words where a person reads them, never z
    assert {r["status"] for r in rows if not r["comparison"].startswith("Forecast")} <= {
        "met", "within tolerance", "missed", "no accepted return", "no value", "no better direction",
        "small numbers", "no target", "not applicable"}
    # the year-end forecast's rows: its verdict, or why there is none, in words (issue 21)
    assert all(r["status"] in ("on course", "at risk", "off course") or r["status"].startswith("no forecast verdict: ")
               for r in rows if r["comparison"].startswith("Forecast"))
    assert {r["time_period"] for r in rows if r["comparison"] != "Baseline"} >= {"202627"}

    wb = load_workbook(p.with_name(p.stem + "-figures.xlsx"))
    ws = wb["Figures"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws.column_dimensions["A"].width > 8
    head = [c.value for c in ws[1]]
    vcol = head.index("value")
    cells = [row[vcol] for row in ws.iter_rows(min_row=2)]
    assert len(cells) == len(rows)
    assert all(c.data_type == "n" for c in cells if c.value not in SYMBOLS)
    assert sum(1 for c in cells if c.data_type == "n") > 0.3 * len(cells)   # the rest: x for future quarters
    assert any(c.number_format.startswith("#,##0.") for c in cells if c.data_type == "n")
    assert "All LAs" not in wb.sheetnames and "all-las.xlsx" in " ".join(str(c.value) for c in wb["About"]["A"])
    every = list(csv.DictReader(open(out / PERIOD / "all-las.csv", encoding="utf-8")))
    shared = load_workbook(out / PERIOD / "all-las.xlsx")
    assert shared["All LAs"].freeze_panes == "A2" and shared["All LAs"].auto_filter.ref
    wide = list(shared["All LAs"].iter_rows(min_row=2))
    assert len(every) == sum(1 for row in wide for c in row[5:] if c.value != "x")   # the same values
    assert all(c.data_type == "n" for row in wide for c in row[5:] if c.value not in SYMBOLS)
    assert all(r["value"] in SYMBOLS or float(r["value"]) is not None for r in every)
    assert {r["old_la_code"] for r in every} >= set(RETURNED)


def test_resubmission_rewrites_a_lost_pack_of_another_la_in_full(published, tmp_path):
    """A resubmission (only_las) reads only its LAs' whole trajectories; a pack of another LA whose file was
    lost is rewritten too (same version), and must come out whole, not from the period's rows alone."""
    wh, out, _ = published
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    lost = _pack(copy, "308")
    before = lost.read_text(encoding="utf-8")
    lost.unlink()
    res = publish(wh, copy, PERIOD, la_codes=EVERY_LA, pdf=False, issued=date(2026, 11, 9), only_las=["301"])
    assert [p.name for p in res.written] == [lost.name] and len(res.carried) == len(EVERY_LA) - 2
    assert lost.read_text(encoding="utf-8") == before


def test_xlsx_rows_written_in_one_pass_read_back_as_written(tmp_path):
    """downloads.write_xlsx writes data rows' XML itself (not xlsxwriter's per-cell path): every kind of cell
    reads back with its type, value, number format and alignment; long text is cut to Excel's limit."""
    from reports import downloads as dl

    ind = catalogue.load().indicators[0]
    head = ["indicator_id", "la_name", "value", "rank", "note"]
    rows = [[ind.id, "Barking & <Dagenham>", 12.345, 3, None],
            [ind.id, "x", "c", "z", True],
            [ind.id, "'=SUM(A1)", float("nan"), 10, "y" * 40000],
            [ind.id, "Bristol", -0.0, 0, 7]]
    dl.write_xlsx(tmp_path / "t.xlsx", "Title", [("Figures", head, rows, None), ("Empty", ["a"], [], [None])])
    wb = load_workbook(tmp_path / "t.xlsx")
    ws = wb["Figures"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:E5" and ws.max_row == 5
    got = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert got[0] == [ind.id, "Barking & <Dagenham>", 12.345, 3, ""]     # None: an empty text cell, as before
    assert got[1] == [ind.id, "x", "c", "z", "True"] and got[3][:4] == [ind.id, "Bristol", 0, 0]
    assert got[2][:4] == [ind.id, "'=SUM(A1)", "x", 10] and len(got[2][4]) == 32767   # NaN is x, not a number
    value, rank = ws["C2"], ws["D2"]
    assert value.data_type == "n" and value.number_format == "#,##0" + ("." + "0" * ind.decimals if ind.decimals else "")
    assert rank.data_type == "n" and rank.number_format == "#,##0"
    assert ws["C3"].data_type == "s" and ws["C3"].alignment.horizontal == "right"     # a symbol in a number column
    assert ws["B3"].alignment.horizontal is None and ws["A1"].font.b
    assert wb["Empty"].max_row == 1 and [c.value for c in wb["Empty"][1]] == ["a"]


def test_overview_and_index(published):
    _, out, _ = published
    ov = (out / PERIOD / "overview.html").read_text(encoding="utf-8")
    for words in ("Collection status", "Accepted with queries", "Rejected", "Not received", "Bristol",
                  "LAs off trajectory by indicator"):
        assert words in ov
    idx = (out / "index.html").read_text(encoding="utf-8")
    assert "overview" not in idx.lower()               # the DfE-only overview is not one click from the packs
    for code in EVERY_LA:
        assert f'href="{PERIOD}/la/{_pack(out, code).name}"' in idx
    assert "Rejected: DfE-held data only" in idx and "Not received: DfE-held data only" in idx
    dfe = (out / "dfe" / "index.html").read_text(encoding="utf-8")
    assert f'href="../{PERIOD}/overview.html"' in dfe
    assert f'href="support-{PERIOD}.html"' in dfe and (out / "dfe" / f"support-{PERIOD}.html").exists()
    assert "support" not in idx.lower()                # DfE's support view is not one click from the packs either


def test_load_period_reads_one_quarter_of_benchmark_rows_and_englands_trend(sample_warehouse):
    """Earlier quarters' benchmark rows (years of them with history) are not loaded; the overview's England
    trend is one figure per indicator and quarter, as every row that shows it has it."""
    from reports.data import load_period

    data = load_period(sample_warehouse, PERIOD)
    assert data.benchmark and {k[2] for k in data.benchmark} == {PERIOD}
    rows = _rows(sample_warehouse, "select distinct indicator_id, period, england_value, england_n_las "
                                   "from marts.benchmark where period <= ? and england_value is not null", PERIOD)
    expected: dict = {}
    for r in rows:
        assert r["period"] not in expected.get(r["indicator_id"], {}), "one England figure per indicator and quarter"
        expected.setdefault(r["indicator_id"], {})[r["period"]] = (r["england_value"], r["england_n_las"])
    assert data.england == expected and any(len(v) == 2 for v in expected.values())
    quarters = _rows(sample_warehouse, "select distinct period from marts.benchmark where period <= ? order by 1", PERIOD)
    assert data.bench_periods == [r["period"] for r in quarters] and len(quarters) > 1


def test_index_lists_all_153_las(sample_warehouse, tmp_path):
    out = tmp_path / "out"
    res = publish(sample_warehouse, out, PERIOD, pdf=False, issued=ISSUED)
    assert len(res.written) == 153
    idx = (out / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(rf'<a href="{PERIOD}/la/[^"]+\.html">', idx)) == 153
    assert "overview" not in idx.lower()


def _resubmit_301(wh: Path, tmp: Path) -> None:
    """301 sends its Q2 return again with fewer plans issued within 20 weeks; then dbt builds again."""
    from contracts.reader import to_number

    src = next((Path(__file__).resolve().parent.parent / "sample_returns" / PERIOD).glob("*-301-*.xlsx"))
    f = tmp / "resubmission" / src.name
    f.parent.mkdir(parents=True)
    shutil.copy(src, f)
    ref = L.cell(L.quarter_col("Q2"), L.layout().item_rows["plans_issued_20wk_ex"])
    from openpyxl import load_workbook
    before = to_number(load_workbook(f)[L.RETURN][ref].value)
    edit_cells(f, {(L.RETURN, ref): before - 6})
    result = ingest_file_into(wh, f, tmp)
    assert result.status != "rejected", result.findings
    # the models the packs read (the session build ran every model and test on the same code)
    dbt_build(wh, PERIOD, tmp / "target", command="run",
              select="+benchmark +trajectory +collection_status +revisions +outstanding_queries")


def ingest_file_into(wh: Path, f: Path, tmp: Path):
    from datetime import datetime

    from pipeline import warehouse

    con = warehouse.connect(wh)
    try:
        return ingest_file(con, f, PERIOD, wh.parent / "archive", datetime(2026, 10, 20, 9))
    finally:
        con.close()


def test_republish_unchanged_skips_and_changed_reissues(sample_warehouse, tmp_path):
    wh = copy_warehouse(sample_warehouse, tmp_path / "wh")
    out = tmp_path / "out"
    first = publish(wh, out, PERIOD, la_codes=EVERY_LA, pdf=False, issued=ISSUED)
    assert len(first.written) == len(EVERY_LA)
    before = {p: p.stat().st_mtime_ns for p in first.written}

    again = publish(wh, out, PERIOD, la_codes=EVERY_LA, pdf=False, issued=date(2026, 11, 9))
    assert again.written == [] and len(again.skipped) == len(EVERY_LA)
    assert {p: p.stat().st_mtime_ns for p in first.written} == before

    _resubmit_301(wh, tmp_path)
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
    assert man["packs"]["301"]["version"] == 2 and man["packs"][REJECTED]["version"] == 1
    assert "version 2" in (out / "index.html").read_text(encoding="utf-8")

    # a lost file is rewritten at the same version, not re-issued
    _pack(out, "301").unlink()
    fourth = publish(wh, out, PERIOD, la_codes=["301"], pdf=False, issued=date(2026, 11, 23))
    assert [p.name for p in fourth.written] == ["301-barking-and-dagenham.html"] and fourth.versions["301"] == 2
    assert "Version 2, re-issued 16 November 2026" in _pack(out, "301").read_text(encoding="utf-8")


def test_write_pdfs_needs_no_browser(published, monkeypatch):
    """PDFs are compiled with Typst (reports/pdf.py; tests/test_pdf.py checks them): no chromium, no playwright."""
    from reports.data import load_period
    from reports.pack import build_model

    wh, out, _ = published
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    monkeypatch.setitem(sys.modules, "playwright", None)
    model = build_model(load_period(wh, PERIOD), "301")
    pdfs = write_pdfs([model], out / PERIOD / "la", workers=1)
    assert [p.name for p in pdfs] == ["301-barking-and-dagenham.pdf", "301-barking-and-dagenham-appendix.pdf"]
    assert all(p.read_bytes()[:5] == b"%PDF-" for p in pdfs)


def _svg_texts(svg: str) -> str:
    """Every <text> of an SVG, its lines joined by spaces, all joined by " | "."""
    return " | ".join(" ".join(html.unescape(t) for t in re.findall(r"<tspan[^>]*>(.*?)</tspan>", block))
                      for block in re.findall(r"<text[^>]*>(.*?)</text>", svg, re.S))


def test_print_html_draws_every_chart_as_svg_without_plotly(published):
    """The page the PDF is printed from: no script and no plotly; every chart an SVG image whose alt is the
    chart's text alternative on screen, drawing the figure's own labels and values (the numbers the screen
    shows), one bar per value, bar lengths in proportion to the values."""
    import base64

    from reports.print_charts import print_html

    _, out, _ = published
    text = _pack(out, "301").read_text(encoding="utf-8")
    figures = {cid: json.loads(body) for cid, body in
               re.findall(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', text, re.S)}
    labels = dict(re.findall(r'<div class="chart" id="([^"]+)" role="img"[^>]*aria-label="([^"]*)"', text))
    printed = print_html(text)
    assert "<script" not in printed and "plotly" not in printed.lower() and "<details>" not in printed
    imgs = re.findall(r'<div class="chart" id="([^"]+)"><img class="print-chart"[^>]* alt="([^"]*)" '
                      r'src="data:image/svg\+xml;base64,([^"]+)">', printed)
    assert [c for c, _, _ in imgs] == list(figures) and len(imgs) > 40
    kinds = set()
    for cid, alt, b64 in imgs:
        assert html.unescape(alt) == html.unescape(labels[cid]) and len(alt) > 40
        svg = base64.b64decode(b64).decode("utf-8")
        drawn = _svg_texts(svg)
        fig = figures[cid]
        expected = [v for t in fig["data"] for k in ("x", "y", "text") for v in (t.get(k) or []) if isinstance(v, str)]
        expected += [a["text"] for a in fig["layout"].get("annotations", [])]
        if fig["layout"].get("showlegend"):
            expected += [t["name"] for t in fig["data"]]
        for e in expected:
            assert " ".join(e.replace("<br>", " ").split()) in drawn, (cid, e)
        bars = [v for t in fig["data"] if t["type"] == "bar" for v in t.get("x" if t.get("orientation") == "h" else "y")
                if v is not None]
        lengths = [float(x) for x in re.findall(r"M[-\d.]+,[-\d.]+h([-\d.]+)v" if "-bench" in cid
                                                else r"M[-\d.]+,[-\d.]+h[-\d.]+v([-\d.]+)", svg)]
        assert len(lengths) == len(bars), cid
        if bars and min(bars) > 0 and "-bench" in cid:
            ratios = [w / v for w, v in zip(sorted(lengths), sorted(bars))]
            assert max(ratios) / min(ratios) < 1.02, (cid, ratios)
        kinds.add(cid.rsplit("-", 1)[-1] if not cid.startswith("c-area-") else "area")
        # series told apart without colour: every dashed series and reference line has its dash pattern
        dashes = {(t.get("line") or {}).get("dash") for t in fig["data"]} | {
            s["line"].get("dash") for s in fig["layout"].get("shapes", [])}
        assert svg.count("stroke-dasharray") >= len(dashes - {None, "solid"}), cid
    assert kinds == {"area", "traj", "bench", "dist"}


def test_print_charts_leave_a_figure_they_cannot_draw_to_plotly_and_draw_all_zero_data():
    """An overview-style box plot is not drawn as SVG: print_html says so (the pack PDFs never draw one)."""
    from reports import charts, print_charts

    ind = catalogue.load().indicators[0]
    with pytest.raises(print_charts.Unsupported):
        print_charts.svg(charts.spread_fig(ind, [1.0, 2.0, 3.0], ["a", "b", "c"]))
    # every value zero (a rate no one has yet): drawn on a 0 to 1 axis, its labels still there
    rows = [{"period": f"2026-27-Q{q}", "period_type": "quarter", "target_value": 0.0, "actual_value": 0.0}
            for q in (1, 2)]
    drawn = print_charts.svg(charts.trajectory_fig(ind, rows, "2026-27-Q2", {"value": 0.0, "period": "2024-25"}))
    assert drawn.count(f">{0:.{ind.decimals}f}</tspan>") >= 2 and "Quarterly target" in drawn


def test_overview_lists_service_alerts(published):
    """Unfiled uploads and runs that will not be retried reach the DfE overview; a failed run that will
    be retried does not (it is not an alert yet); file names are escaped."""
    import dataclasses

    from reports.data import load_period
    from reports.overview import render_overview

    wh, _, _ = published
    data = dataclasses.replace(
        load_period(wh, PERIOD),
        quarantined=[{"received_at": "2026-10-20 09:00", "file_name": "<b>return-999-x.xlsx",
                      "folder": "2026-27-Q2", "reason": "unknown LA code 999"}],
        run_failures=[{"failed_at": "2026-10-21 10:00", "job_name": "publish_job", "la_code": None,
                       "period": PERIOD, "message": "dbt test failed", "will_retry": False},
                      {"failed_at": "2026-10-21 09:00", "job_name": "ingest_return_job", "la_code": "301",
                       "period": PERIOD, "message": "worker killed", "will_retry": True}])
    ov = render_overview(data, ISSUED)
    assert "Uploads not filed (1)" in ov and "unknown LA code 999" in ov and "&lt;b&gt;return-999" in ov
    assert "Failed runs not retried (1)" in ov and "dbt test failed" in ov and "worker killed" not in ov
    quiet = render_overview(load_period(wh, PERIOD), ISSUED)
    assert "No upload is waiting to be filed." in quiet and "No failed run needs attention." in quiet
