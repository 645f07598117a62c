"""The plan sections of an LA's pack (reports/plan.py, issue 10) from plan-mart rows built here: escaping,
length bounds, the timeline's order, the Annex C matrix showing this quarter against last, spend against
plan with region and England, and the XLSX sheets neutralised against formula injection.  Fast (no
warehouse); the same sections on the full sample's real marts are in tests/test_full_sample_warehouse.py."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser

import pytest

from contracts import catalogue
from reports import downloads, plan
from reports.data import PeriodData, PlanData

PERIOD = "2026-27-Q2"
D = dt.date
HOSTILE = '<img src=x onerror="alert(1)">'


def _ms(no, mq, milestone, first, due, status, slip=0, slipped=False, overdue=False, workstream="Timely assessment"):
    return {"la_code": "301", "workstream_no": no, "workstream": workstream, "building_block": "b", "outcome": "o",
            "lead": "l", "milestone_quarter": mq, "milestone": milestone, "first_due_date": first, "due_date": due,
            "status": status, "slippage_days": slip, "is_slipped": slipped, "is_overdue": overdue,
            "is_past_not_started": False}


def _risk(no, desc, residual, previous, movement, inherent=("Critical", "Possible (30-60%)")):
    m = catalogue.load().plan
    return {"la_code": "301", "risk_no": no, "description": desc, "impact": inherent[0], "likelihood": inherent[1],
            "rag": m.matrix_rag(*inherent), "matrix_rag": m.matrix_rag(*inherent), "mitigation": "=cmd|' /C calc'!A0",
            "residual_impact": residual[0], "residual_likelihood": residual[1], "residual_rag": m.matrix_rag(*residual),
            "residual_matrix_rag": m.matrix_rag(*residual),
            "previous_residual_rag": m.matrix_rag(*previous) if previous else None,
            "previous_residual_impact": previous[0] if previous else None,
            "previous_residual_likelihood": previous[1] if previous else None,
            "movement": movement, "is_red_residual": m.matrix_rag(*residual) == "Red"}


def _spend(level, q, projected, actual, over=False, n=1, category="Data / digital"):
    return {"level": level, "la_code": "301" if level == "la" else None, "region_name": "London",
            "category": category, "funding_source": "Other grant", "spend_quarter": q, "projected": projected,
            "actual": actual, "variance": None, "variance_pct": None, "over_margin": over, "n_las": n}


def _sign(pos, role, name, signed_on):
    return {"la_code": "301", "icb_name": "NHS North East London ICB", "sro": "Dee Fox", "position": pos,
            "role": role, "name": name, "signed_on": signed_on, "is_signed": bool(name and signed_on)}


@pytest.fixture(scope="module")
def data():
    long_text = "x" * 900
    pd = PlanData(
        milestones={"301": [
            _ms(1, "Q2", HOSTILE, D(2026, 8, 1), D(2026, 8, 1), "Complete"),
            _ms(1, "Q3", "Casework system live", D(2026, 11, 1), D(2026, 12, 13), "Delayed", 42, True),
            _ms(2, "Q4", long_text, D(2027, 2, 1), D(2027, 2, 1), "Not started", workstream="Local places")]},
        risks={"301": [
            _risk(1, "Recruitment falls short " + HOSTILE, ("Critical", "Likely (60-90%)"),
                  ("Critical", "Possible (30-60%)"), "escalated"),
            _risk(2, "Capital works overrun", ("Marginal", "Unlikely (10-30%)"),
                  ("Marginal", "Unlikely (10-30%)"), "unchanged"),
            _risk(3, "New risk", ("Moderate", "Possible (30-60%)"), None, "new")]},
        spend={"301": [_spend("la", "Q1", 20.0, 19.0), _spend("la", "Q2", 25.0, 35.0, over=True),
                       _spend("la", "Q3", 25.0, None), _spend("la", "Q4", 30.0, None)]},
        spend_region={"London": [_spend("region", "Q1", 200.0, 180.0, n=4), _spend("region", "Q2", 250.0, 260.0, n=4)]},
        spend_england=[_spend("england", "Q1", 2000.0, 2100.0, n=40), _spend("england", "Q2", 2500.0, 2400.0, n=40)],
        signoff={"301": [_sign(1, "LA Chief Executive", "Ann Ray", D(2026, 6, 10)),
                         _sign(2, "ICB Chief Executive", HOSTILE, D(2026, 6, 12)),
                         _sign(3, "Director of Children's Services", "Bo Tan", None),
                         _sign(4, "Head of SEND", "Cy Lee", D(2026, 6, 1))]})
    return PeriodData(period=PERIOD, las={"301": {"la_name": "Barking and Dagenham", "region_name": "London"}},
                      status={}, trajectory={}, benchmark={}, bench_periods=[], findings={}, revisions={}, plan=pd)


@pytest.fixture(scope="module")
def html(data):
    return plan.render_sections(plan.build_plan(data, "301", True), PERIOD, "Barking and Dagenham", True)


class Cells(HTMLParser):
    """Text of each table's cells, and the order of the section headings."""

    def __init__(self):
        super().__init__()
        self.tables, self.ids, self._cell, self._in = [], [], None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "h2":
            self.ids.append(a.get("id"))
        if tag == "table":
            self.tables.append({"class": a.get("class"), "rows": []})
        if tag == "tr":
            self.tables[-1]["rows"].append([])
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, d):
        if self._cell is not None:
            self._cell.append(d)


def _parse(html: str) -> Cells:
    c = Cells()
    c.feed(html)
    return c


def test_sections_in_the_review_order_and_text_escaped_and_bounded(html):
    assert _parse(html).ids == ["milestones", "risks", "spend", "signoff"]
    assert "<img" not in html and "&lt;img src=x" in html          # autoescaped
    limit = catalogue.load().plan.limit("milestone")
    assert "x" * limit not in html and "x" * (limit - 1) + "\u2026" in html
    assert "@" not in html                                         # no email can be in the model


def test_milestones_table_and_timeline(html):
    (ms,) = [t for t in _parse(html).tables if t["rows"] and t["rows"][0][:2] == ["Workstream", "Milestone"]]
    assert ms["rows"][0] == ["Workstream", "Milestone", "Quarter", "Date first given", "Current date", "Status",
                             "Slippage"]
    slipped = next(r for r in ms["rows"] if r[1] == "Casework system live")
    assert slipped[2:] == ["Q3 2026-27", "1 Nov 2026", "13 Dec 2026", "Delayed", "42 days later than first given"]
    # the timeline: by current date, with the quarter end (30 Sep 2026) between August and December
    items = re.findall(r'<li class="(tl-[a-z]+)[^"]*"><span class="tl-date">([^<]+)</span>', html)
    assert [d for _, d in items] == ["1 Aug 2026", "30 Sep 2026", "13 Dec 2026", "1 Feb 2027"]
    assert items[1][0] == "tl-marker"
    assert "first given 1 Nov 2026: 42 days later than first given" in html


def test_risk_matrix_shows_this_quarter_against_last(html):
    t = _parse(html)
    (matrix,) = [x for x in t.tables if x["class"] == "risk-matrix"]
    head, *rows = matrix["rows"]
    assert head[0] == "Impact" and len(head) == 6 and [r[0] for r in rows] == list(catalogue.load().plan.impacts)
    grid = {(r[0], head[i].split()[0]): r[i] for r in rows for i in range(1, 6)}
    # risk 1 escalated: now Critical x Likely, last quarter Critical x Possible
    assert "R1: this quarter" in grid[("Critical", "Likely")] and grid[("Critical", "Likely")].startswith("Red")
    assert "R1: last quarter" in grid[("Critical", "Possible")]
    # risk 2 did not move: one label, this quarter and last; risk 3 is new: no last-quarter label
    assert "R2: this quarter and last quarter" in grid[("Marginal", "Unlikely")]
    assert "R3: this quarter" in grid[("Moderate", "Possible")]
    assert sum("R3" in v for v in grid.values()) == 1
    # every cell says its RAG in words, not only in colour
    assert all(v.split(" ")[0] in ("Red", "Amber", "Green") for v in grid.values())
    (risks,) = [x for x in t.tables if x["rows"] and x["rows"][0][0] == "Risk"]
    r1 = risks["rows"][1]
    assert r1[1].startswith("Amber") and r1[3].startswith("Red") and r1[-1] == "Escalated"
    assert r1[4] == "Critical, Possible (30-60%) (Amber)"


def test_spend_against_plan_with_region_and_england(html):
    t = _parse(html)
    (lines,) = [x for x in t.tables if x["rows"] and x["rows"][0][:2] == ["Category", "Funding source"]
                and "Projected to date" in x["rows"][0]]
    # to date (Q1 and Q2, the quarters with an actual): 45.0 projected, 54.0 actual, +20%
    assert lines["rows"][1] == ["Data / digital", "Other grant", "45.0", "54.0", "9.0", "+20.0% Above margin", "100.0"]
    (ctx,) = [x for x in t.tables if x["rows"] and x["rows"][0] == ["Category", "This authority", "Region", "England"]]
    assert ctx["rows"][1] == ["Data / digital", "+20.0%", "-2.2% 1 LA", "0.0% 1 LA"]   # LAs counted from LA rows


def test_packs_without_an_accepted_return_or_plan_say_so(data):
    rejected = plan.render_sections(plan.build_plan(data, "301", False), PERIOD, "Barking", False)
    assert "was not accepted" in rejected and 'id="risks"' not in rejected
    assert plan.nav(plan.build_plan(data, "301", False), False) == [("milestones", "4. Milestones")]
    empty = plan.render_sections(plan.build_plan(data, "999", True), PERIOD, "Nowhere", True)
    assert "did not include the delivery plan" in empty


def test_plan_sheets_neutralise_formulas(data):
    class Model:
        plan = plan.build_plan(data, "301", True)

    sheets = {name: (head, rows) for name, head, rows, _ in downloads.plan_sheets(Model)}
    assert set(sheets) == {"Milestones", "Risks", "Spend"}
    head, rows = sheets["Risks"]
    assert rows[0][head.index("mitigation")] == "'=cmd|' /C calc'!A0"
    assert all(not (isinstance(v, str) and v[:1] in "=+-@") for _, rs in sheets.values() for r in rs for v in r)
    _, spend = sheets["Spend"]
    assert spend[1][3:] == [25.0, 35.0] and spend[3][4] == "x"


def test_plan_changes_reissue_the_pack(data):
    """The plan parts are hashed with the pack: a moved milestone date changes the pack's hash."""
    import dataclasses

    from reports.pack import PackModel

    def model(d):
        return PackModel(code="301", name="B", region="London", period=PERIOD, indicators={}, data_quality={},
                         plan=plan.build_plan(d, "301", True))
    before = model(data).hashes()
    moved = [dict(r) for r in data.plan.milestones["301"]]
    moved[2]["due_date"] = D(2027, 3, 1)
    after = model(dataclasses.replace(data, plan=dataclasses.replace(data.plan, milestones={"301": moved}))).hashes()
    assert before["milestones"] != after["milestones"] and before["risks"] == after["risks"]


def test_signoff_names_the_icb_sro_signatories_and_the_statutory_roles_missing(html):
    """Section 7: ICB, SRO, each signatory with the date signed, and every statutory role (catalogue
    plan_parts) with no signature named: here the unsigned DCS, and the two roles not listed at all."""
    sec = html[html.index('id="signoff"'):]
    assert "NHS North East London ICB" in sec and "Dee Fox" in sec
    assert "<th scope=\"row\">LA Chief Executive</th><td>Ann Ray</td><td>10 Jun 2026</td><td>Yes</td>" in sec
    assert "<th scope=\"row\">Head of SEND</th><td>Cy Lee</td><td>1 Jun 2026</td><td>No</td>" in sec
    assert "&lt;img src=x" in sec and "<img" not in sec
    missing = sec[sec.index("No signature from:"):]
    missing = missing[:missing.index("</p>")]
    for role in ("Director of Children&#39;s Services", "ICB NHS Place Director",
                 "LA Chief Finance Officer / Section 151 officer"):
        assert role in missing
    assert "LA Chief Executive" not in missing and "ICB Chief Executive" not in missing
