"""One LA's plan through a whole year (issue 10), on a real warehouse: the initial return (2026-27-Q0,
due with the plan), then Q1 to Q4 of 2026-27, then Q1 of 2027-28 on that year's template.  Each return
is a real xlsx written by pipeline.template, checked and loaded by the product's ingest code, and the
marts come from a real `dbt build` (with its tests).

The story, set here and checked in each mart:
- the first workstream's Q3 milestone slips six weeks from Q2 (Delayed);
- one risk escalates: residual Green at the initial return and Q1, Amber at Q2, Red from Q3;
- the LA restates its 20-week baseline at Q2 (and keeps the new one): query Q11, a plan_changes row,
  and the trajectory keeps the locked baseline;
- the Q4 spend projection of one line is raised at Q3 (a plan_changes row);
- a 2027-28 return is accepted in its window and leaves every 2026-27 figure as it was.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from contracts import layout as L
from contracts.catalogue import QUARTERS, for_year, load
from contracts.findings import REJECTED
from pipeline import dbt_args, ingest, paths, template, warehouse
from synthetic import plan_sample
from tests.conftest import good_content

CAT = load()
PLAN = CAT.plan
LA = {"old_la_code": "301", "la_name": "Barking and Dagenham", "region_name": "London"}
CODE = LA["old_la_code"]
SEED = 11
PERIODS = ("2026-27-Q0", "2026-27-Q1", "2026-27-Q2", "2026-27-Q3", "2026-27-Q4")
RECEIVED = {"2026-27-Q0": dt.datetime(2026, 6, 15, 10), "2026-27-Q1": dt.datetime(2026, 7, 20, 10),
            "2026-27-Q2": dt.datetime(2026, 10, 20, 10), "2026-27-Q3": dt.datetime(2027, 1, 20, 10),
            "2026-27-Q4": dt.datetime(2027, 4, 20, 10), "2027-28-Q1": dt.datetime(2027, 7, 20, 10)}
RESTATED = ("ehcp_20_week", 40.0)  # the baseline the LA restates from Q2 (locked at 45.0)
SLIP_DAYS = 42
RAISED_SPEND = 25.0                # added to line 1's Q4 projection from Q3
SELECT = "+plan_changes +delivery_milestones +risks +investment_spend +trajectory +plan_signoff"


def _initial_parts() -> dict:
    return plan_sample.plan_parts(LA, "2026-27", "Q0", SEED)


def story_parts(quarter: str) -> dict:
    """The plan parts of the LA's return for ``quarter`` (Q0 = the initial return), as the story says."""
    parts = plan_sample.plan_parts(LA, "2026-27", quarter, SEED)
    qi = QUARTERS.index(quarter) if quarter in QUARTERS else -1
    as_of = plan_sample.quarter_end("2026-27", quarter)
    first = _initial_parts()["workstreams"][0]["milestones"]["Q3"]["due_date"]
    for w, ws in enumerate(parts["workstreams"]):
        ws["notes"] = None
        for mq, m in ws["milestones"].items():  # on time everywhere but the one slipped milestone
            m["status"] = "Complete" if m["due_date"] <= as_of else ("On track" if qi >= 0 else "Not started")
            if (w, mq) == (0, "Q3") and qi >= 1:
                m.update(due_date=first + dt.timedelta(days=SLIP_DAYS), status="Delayed")
                ws["notes"] = "Supplier delay"
    risk = parts["risks"][0]  # escalating: residual likelihood rises from Q2, again at Q3
    risk.update(impact="Critical", likelihood=PLAN.likelihoods[3], rag=PLAN.matrix_rag("Critical", PLAN.likelihoods[3]))
    li = 0 if qi < 1 else (2 if qi == 1 else 3)
    risk.update(residual_impact="Critical", residual_likelihood=PLAN.likelihoods[li],
                residual_rag=PLAN.matrix_rag("Critical", PLAN.likelihoods[li]))
    for line in parts["spend"]:  # actuals exactly on projection: no spend query to muddy the story
        line["actual"] = {q: line["projected"][q] for q in line["actual"]}
    if qi >= 2:
        parts["spend"][0]["projected"]["Q4"] += RAISED_SPEND
    return parts


def write_return(folder: Path, period: str) -> Path:
    year, quarter = period[:7], period[-2:]
    content = good_content(quarter, CODE, LA["la_name"])
    plan_sample.apply(content, story_parts(quarter) if year == "2026-27" else
                      plan_sample.plan_parts(LA, year, quarter, SEED, cat=for_year(year)))
    if year == "2026-27" and quarter in ("Q2", "Q3", "Q4"):
        ind, value = RESTATED
        content.baselines[ind] = (value, "2025-26")
        content.target_notes[ind] = "Baseline corrected after the SEN2 revision"
    cat = for_year(year)
    path = folder / period / L.file_name(cat.template_version, CODE, LA["la_name"])
    template.write(path, year, content)
    stamp = RECEIVED[period].replace(tzinfo=dt.timezone.utc).timestamp()
    os.utime(path, (stamp, stamp))  # the receipt time ingest records (newest received wins)
    return path


def ingest_return(con, tmp: Path, period: str):
    up = ingest.archive_upload(write_return(tmp / "inbox", period), f"{period}/{CODE}", tmp / "archive")
    result = ingest.check_upload(con, up, CODE, period)
    warehouse.record_submission(con, result, up.archive_path, up.received_datetime,
                                la_code=CODE, year=period[:7], quarter=period[-2:])
    return result


def dbt_build(db: Path, tmp: Path, quarter: str, select: str | None = SELECT) -> None:
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *dbt_args.build_args(quarter, select=select),
         "--indirect-selection", "cautious", *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:]


def snapshot(db: Path) -> dict:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {}
        for mart in ("trajectory", "delivery_milestones", "risks", "investment_spend", "plan_changes"):
            cols = [c[0] for c in con.execute(f"describe marts.{mart}").fetchall()]
            key = "change_period" if mart == "plan_changes" else "period"
            tables[mart] = (cols, con.execute(f"select * from marts.{mart} where {key} like '2026-27%' "
                                              f"order by all").fetchall())
        return tables
    finally:
        con.close()


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plan_year")
    db = tmp / "warehouse.duckdb"
    con = warehouse.connect(db)
    warehouse.ensure_raw_schema(con)
    warehouse.load_catalogue(con)
    results = {p: ingest_return(con, tmp, p) for p in PERIODS}
    con.close()
    dbt_build(db, tmp, "2026-27-Q4", select=None)   # every mart: the Q4 pack is published from it
    before = snapshot(db)
    from reports.publish import publish

    res = publish(db, tmp / "packs", "2026-27-Q4", la_codes=[CODE], pdf=False, workers=1)
    pack = next(p for p in res.written if p.name.startswith(CODE)).read_text(encoding="utf-8")
    con = warehouse.connect(db)
    results["2027-28-Q1"] = ingest_return(con, tmp, "2027-28-Q1")
    con.close()
    dbt_build(db, tmp, "2027-28-Q1")
    con = duckdb.connect(str(db), read_only=True)
    yield {"con": con, "results": results, "before": before, "after": snapshot(db), "pack": pack}
    con.close()


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_every_return_accepted_and_the_restated_baseline_queried(year):
    results = year["results"]
    assert all(r.status != REJECTED for r in results.values()), \
        {p: [(f.rule, f.message) for f in r.errors] for p, r in results.items()}
    for period, r in results.items():
        q11 = [f for f in r.queries if f.rule == "Q11"]
        if period in ("2026-27-Q2", "2026-27-Q3", "2026-27-Q4"):
            ind = CAT.indicator(RESTATED[0])
            assert len(q11) == 1, [(f.rule, f.message) for f in r.queries]
            f = q11[0]
            assert f.value == RESTATED[1] and f.resolved and "Action required:" in f.message
            assert f"'{ind.name}'" in f.message and "fixed it at 45" in f.message and "2026-27-Q0" in f.message
            assert f.cell == L.cell(L.TARGET_BASELINE_COL, L.layout().indicator_rows[ind.id])
        else:
            assert not q11, (period, [f.message for f in q11])
    # the query is in the warehouse's findings for each of those returns
    rows = q(year["con"], "select s.period, f.cell, f.resolved from raw.findings f join raw.submissions s "
                          "using (submission_id) where f.rule = 'Q11' order by 1")
    assert [r[0] for r in rows] == ["2026-27-Q2", "2026-27-Q3", "2026-27-Q4"] and all(r[2] for r in rows)


def test_plan_changes_lists_each_change_once(year):
    rows = q(year["con"], "select change_period, previous_period, item_type, item, old_value, new_value, "
                          "old_date, new_date, change, is_locked from marts.plan_changes where la_code = ? "
                          "and year = '2026-27' order by change_period, item_type", CODE)
    init = _initial_parts()
    first = init["workstreams"][0]["milestones"]["Q3"]["due_date"]
    ind, value = RESTATED
    spend0 = init["spend"][0]
    assert rows == [
        ("2026-27-Q2", "2026-27-Q1", "baseline", ind, 45.0, value, None, None, value - 45.0, True),
        ("2026-27-Q2", "2026-27-Q1", "milestone_date", f"{init['workstreams'][0]['workstream']} Q3",
         None, None, first, first + dt.timedelta(days=SLIP_DAYS), float(SLIP_DAYS), False),
        ("2026-27-Q3", "2026-27-Q2", "projected_spend",
         f"{spend0['category']} ({spend0['funding_source']}) Q4", spend0["projected"]["Q4"],
         spend0["projected"]["Q4"] + RAISED_SPEND, None, None, RAISED_SPEND, False),
    ]


def test_trajectory_keeps_the_locked_baseline(year):
    con = year["con"]
    ind, _ = RESTATED
    got = q(con, "select distinct baseline_value, baseline_period from marts.trajectory "
                 "where la_code = ? and indicator_id = ?", CODE, ind)
    assert got == [(45.0, "2025-26")]
    # every target is the one the initial return locked
    locked = good_content("Q0").targets
    rows = q(con, "select indicator_id, period, target_value from marts.trajectory "
                  "where la_code = ? and target_value is not null", CODE)
    assert rows and all(abs(t - locked[(i, p)]) < 1e-9 for i, p, t in rows)


def test_delivery_milestones_show_the_slip(year):
    rows = q(year["con"], "select period, workstream_no, milestone_quarter, status, first_period, slippage_days, "
                          "is_slipped from marts.delivery_milestones where la_code = ? order by 1, 2, 3", CODE)
    assert {r[0] for r in rows} == set(PERIODS) | {"2027-28-Q1"}
    slipped = [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows if r[6]]
    assert slipped == [(p, 1, "Q3", "Delayed", "2026-27-Q0", SLIP_DAYS)
                       for p in ("2026-27-Q2", "2026-27-Q3", "2026-27-Q4")]
    # everything else stayed on the date the initial return gave
    assert all(r[5] == 0 for r in rows if not r[6] and r[0].startswith("2026-27"))


def test_risks_show_the_escalation(year):
    rows = q(year["con"], "select period, residual_rag, movement, is_red_residual from marts.risks "
                          "where la_code = ? and risk_no = 1 and period like '2026-27%' order by period", CODE)
    assert rows == [("2026-27-Q0", "Green", "new", False), ("2026-27-Q1", "Green", "unchanged", False),
                    ("2026-27-Q2", "Amber", "escalated", False), ("2026-27-Q3", "Red", "escalated", True),
                    ("2026-27-Q4", "Red", "unchanged", True)]


def test_investment_spend_projected_against_actual(year):
    init = _initial_parts()
    rows = q(year["con"], "select spend_quarter, projected, actual, over_margin from marts.investment_spend "
                          "where level = 'la' and area_code = ? and period = '2026-27-Q4' and category = ? "
                          "and funding_source = ? order by 1", CODE, init["spend"][0]["category"],
             init["spend"][0]["funding_source"])
    first = init["spend"][0]["projected"]
    projected = dict(first, Q4=first["Q4"] + RAISED_SPEND)  # raised at Q3; the actual came in on the first plan
    assert rows == [(qq, projected[qq], first[qq], False) for qq in QUARTERS]
    # the initial return projects spend and reports none yet
    assert q(year["con"], "select count(*), count(actual) from marts.investment_spend where level = 'la' "
                          "and area_code = ? and period = '2026-27-Q0'", CODE)[0] == (4 * len(init["spend"]), 0)


def test_a_2027_28_return_is_accepted_and_leaves_2026_27_as_it_was(year):
    r = year["results"]["2027-28-Q1"]
    assert r.status != REJECTED and r.content.year == "2027-28"
    con = year["con"]
    # the 2027-28 template's delivery plan has Q1 milestones, which the 2026-27 one has not
    assert q(con, "select count(*) from marts.delivery_milestones where la_code = ? and period = '2027-28-Q1' "
                  "and milestone_quarter = 'Q1'", CODE)[0][0] > 0
    assert q(con, "select count(*) from marts.trajectory where la_code = ? and period = '2027-28-Q1' "
                  "and actual_value is not null", CODE)[0][0] > 0
    assert year["after"] == year["before"]
    # the marts compare a year with the one before: the same quarter a year earlier, on the same row
    rows = q(con, "select a.indicator_id, a.year, a.prior_year_value, b.actual_value from marts.trajectory a "
                  "join marts.trajectory b on b.la_code = a.la_code and b.indicator_id = a.indicator_id "
                  "and b.period = '2026-27-Q1' where a.la_code = ? and a.period = '2027-28-Q1' "
                  "and b.actual_value is not null", CODE)
    assert rows and all(y == "2027-28" and p == a for _, y, p, a in rows)
    # going back to the locked baseline in 2027-28 is a change too (and locked, so the marts never moved)
    assert q(con, "select change_period, item_type, old_value, new_value, is_locked from marts.plan_changes "
                  "where la_code = ? and year = '2027-28'", CODE) == \
        [("2027-28-Q1", "baseline", RESTATED[1], 45.0, True)]


def test_plan_signoff_names_the_icb_sro_and_signatories_without_emails(year):
    rows = q(year["con"], "select position, role, name, is_signed from marts.plan_signoff "
                          "where la_code = ? and period = '2026-27-Q0' order by position", CODE)
    roles = [r[1] for r in rows]
    assert all(role in roles for role in PLAN.statutory_roles) and all(r[3] for r in rows)
    cols = [c[0] for c in year["con"].execute("describe marts.plan_signoff").fetchall()]
    assert "email" not in cols and "icb_name" in cols and "sro" in cols


def test_the_q4_pack_shows_the_slip_the_escalation_the_spend_and_the_signoff(year):
    """The pack the review meeting reads at Q4: metrics first, then the slipped milestone, the risk that
    escalated to red on the matrix, spend against plan, and sign-off; never an email."""
    pack = year["pack"]
    order = [pack.index(f'id="{s}"') for s in ("milestones", "risks", "spend", "signoff")]
    assert order == sorted(order)
    ms = pack[order[0]:order[1]]
    assert "Delayed" in ms and "first given" in ms
    rk = pack[order[1]:order[2]]
    assert "R1" in rk and "Red" in rk
    so = pack[order[3]:]
    assert "Every statutory signatory has signed." in so
    assert not re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", pack)   # no email, not even the LA's own


def test_an_initial_return_locks_a_later_one_in_the_same_batch(tmp_path, monkeypatch):
    """A first load can hold an LA's initial return and a later one (the batch ingest): the later
    return is checked against the lock the initial one sets, as if each had its own run (Q11)."""
    from pipeline import ledger

    monkeypatch.setenv("LSRP_HOME", str(tmp_path / "home"))
    for period in ("2026-27-Q0", "2026-27-Q2"):
        write_return(paths.inbox(), period)
    events = [ledger.receive(p, folder) for folder, p in ledger.inbox_files()]
    con = warehouse.connect(paths.warehouse())
    try:
        warehouse.ensure_raw_schema(con)
        warehouse.load_catalogue(con)
        outcomes = {o.event.period: o for o in ingest.process_batch(con, events)}
    finally:
        con.close()
    assert outcomes["2026-27-Q0"].result.status != REJECTED
    q11 = [f for f in outcomes["2026-27-Q2"].result.queries if f.rule == "Q11"]
    assert len(q11) == 1 and q11[0].value == RESTATED[1] and "fixed it at 45" in q11[0].message
