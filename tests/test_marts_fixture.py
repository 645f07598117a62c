"""The marts against a small hand-worked fixture, built by a real `dbt build`.

Four LAs that are DfE statistical neighbours of one another: 301 Barking and Dagenham,
313 Hounslow, 308 Enfield (London) and 821 Luton (East of England).  Their neighbours:
  301: 308 821 313 (+7 with no data)   313: 821 301 (+8)   821: 313 301 (+8)   308: 301 821 (+8)
Every expected figure below is worked out by hand in the comments; the build is for 2026-27-Q2.

Returns (received):
  301  Q1 (07-15) accepted; Q2 (10-15) accepted, revises Q1 plans_issued_20wk_ex 20 -> 24
  313  Q1 (07-14) accepted; Q2 upload (10-10) rejected; Q2 again (10-15) accepted;
       Q3 (2027-01-15) accepted but outside the Q2 build (its revisions/targets must not show)
  821  Q2 (10-16) accepted with 2 queries (1 unresolved); no Q1 return (Q1 column filled in Q2's)
  308  Q1 (07-10) accepted; Q2 (10-12) rejected, parsed content must not be loaded
  one rejected upload whose LA could not be identified
EES attendance: 202526 Spring term (-> 2025-26-Q4 and 2026-27-Q1), Summer term (-> 2026-27-Q2).
"""
from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from contracts.catalogue import load
from contracts.findings import ERROR, QUERY, FileResult, Finding, ParsedReturn
from pipeline import dbt_args, paths, warehouse

QUARTER = "2026-27-Q2"
Y = "2026-27"
EHCP_TARGETS_301 = {"2026-27-Q1": 45, "2026-27-Q2": 52, "2026-27-Q3": 55, "2026-27-Q4": 60,
                    "2026-27": 60, "2027-28": 70, "2028-29": 80}


def _result(sha, la, quarter, values=None, targets=None, baselines=None, findings=()) -> FileResult:
    content = None
    if values is not None:
        content = ParsedReturn(
            la_code=la, la_name="x", year=Y, quarter=quarter,
            values=pl.DataFrame([{"item_id": i, "quarter": q, "value": float(v), "note": None, "cell": "C1"}
                                 for (i, q), v in values.items()],
                                schema={"item_id": pl.String, "quarter": pl.String, "value": pl.Float64,
                                        "note": pl.String, "cell": pl.String}),
            baselines=pl.DataFrame([{"indicator_id": i, "baseline_value": v, "baseline_period": p,
                                     "note": None, "cell": "D1"} for i, (v, p) in (baselines or {}).items()],
                                   schema={"indicator_id": pl.String, "baseline_value": pl.Float64,
                                           "baseline_period": pl.String, "note": pl.String, "cell": pl.String}),
            targets=pl.DataFrame([{"indicator_id": i, "target_period": p, "target_value": float(v), "cell": "E1"}
                                  for (i, p), v in (targets or {}).items()],
                                 schema={"indicator_id": pl.String, "target_period": pl.String,
                                         "target_value": pl.Float64, "cell": pl.String}),
        )
    return FileResult(file=f"{sha}.xlsx", sha256=sha, findings=list(findings), content=content)


def _q(items: dict, quarter: str) -> dict:
    return {(i, quarter): v for i, v in items.items()}


def _load_fixture(con) -> None:
    warehouse.ensure_raw_schema(con)
    warehouse.load_catalogue(con)
    rec = lambda r, when, **kw: warehouse.record_submission(con, r, f"/archive/{r.sha256}", when, **kw)  # noqa: E731

    # ---- 301 Barking and Dagenham ----
    q1_301 = {"plans_issued_ex": 50, "plans_issued_20wk_ex": 20, "ehcps_maintained": 990,
              "ehcps_independent_special": 40, "ehcps_non_maintained_special": 10,
              "requests_received": 70, "population_0_25": 60000, "dsg_deficit": 11000}
    q2_301 = {"plans_issued_ex": 60, "plans_issued_20wk_ex": 30, "ehcps_maintained": 1000,
              "ehcps_independent_special": 40, "ehcps_non_maintained_special": 10,
              "requests_received": 150, "population_0_25": 60000, "dsg_deficit": 12000}
    targets_301 = {("ehcp_20_week", p): v for p, v in EHCP_TARGETS_301.items()} | {
        ("placement_independent", "2026-27-Q2"): 4.8, ("ehcp_requests_rate", "2026-27-Q2"): 30,
        ("att_overall_ehcp", "2026-27-Q2"): 11.0, ("dsg_deficit_gbp_m", "2026-27-Q2"): 10.5}
    base_301 = {"ehcp_20_week": (42.0, "2025-26")}
    rec(_result("301q1", "301", "Q1", _q(q1_301, "Q1"), targets_301, base_301), datetime(2026, 7, 15, 9))
    rec(_result("301q2", "301", "Q2", _q(q1_301 | {"plans_issued_20wk_ex": 24}, "Q1") | _q(q2_301, "Q2"),
                targets_301, base_301), datetime(2026, 10, 15, 9))

    # ---- 313 Hounslow ----
    q1_313 = {"plans_issued_ex": 50, "plans_issued_20wk_ex": 40, "ehcps_maintained": 600,
              "ehcps_independent_special": 30, "ehcps_non_maintained_special": 6,
              "requests_received": 50, "population_0_25": 80000, "dsg_deficit": -2500}
    q2_313 = q1_313 | {"plans_issued_20wk_ex": 45, "requests_received": 100, "dsg_deficit": -3000}
    targets_313 = {("ehcp_20_week", "2026-27-Q2"): 100, ("placement_independent", "2026-27-Q2"): 5.0}
    rec(_result("313q1", "313", "Q1", _q(q1_313, "Q1"), targets_313), datetime(2026, 7, 14, 9))
    rec(_result("313q2bad", None, "Q2", findings=[Finding(ERROR, "E01", "Wrong sheet. Action required: ...")]),
        datetime(2026, 10, 10, 9), la_code="313", year=Y, quarter="Q2")
    rec(_result("313q2", "313", "Q2", _q(q1_313, "Q1") | _q(q2_313, "Q2"), targets_313), datetime(2026, 10, 15, 9))
    rec(_result("313q3", "313", "Q3", _q(q1_313, "Q1") | _q(q2_313 | {"plans_issued_20wk_ex": 47}, "Q2")
                | _q({"plans_issued_ex": 55, "plans_issued_20wk_ex": 50}, "Q3"),
                {("ehcp_20_week", "2026-27-Q2"): 85}), datetime(2027, 1, 15, 9))

    # ---- 821 Luton: Q2 only, non-maintained special placements not reported ----
    rec(_result("821q2", "821", "Q2",
                _q({"plans_issued_ex": 40, "plans_issued_20wk_ex": 18}, "Q1")
                | _q({"plans_issued_ex": 40, "plans_issued_20wk_ex": 20, "ehcps_maintained": 800,
                      "ehcps_independent_special": 20, "requests_received": 120,
                      "population_0_25": 60000, "dsg_deficit": 6000}, "Q2"),
                {("ehcp_20_week", "2026-27-Q2"): 50},
                findings=[Finding(QUERY, "Q01", "Large change.", resolved=False),
                          Finding(QUERY, "Q02", "Outside range.", resolved=True)]),
        datetime(2026, 10, 16, 9))

    # ---- 308 Enfield: Q2 rejected although readable ----
    rec(_result("308q1", "308", "Q1", _q({"plans_issued_ex": 40, "plans_issued_20wk_ex": 30}, "Q1")),
        datetime(2026, 7, 10, 9))
    rec(_result("308q2", "308", "Q2", _q({"plans_issued_ex": 40, "plans_issued_20wk_ex": 30}, "Q1")
                | _q({"plans_issued_ex": 40, "plans_issued_20wk_ex": 39}, "Q2"),
                findings=[Finding(ERROR, "E07", "Negative count. Action required: ...")]),
        datetime(2026, 10, 12, 9))
    rec(_result("unknown", None, None, findings=[Finding(ERROR, "E00", "Not a return.")]),
        datetime(2026, 10, 1, 9))

    # ---- DfE-held attendance (EES tidy, text as published; 'c' = suppressed) ----
    def ees(la, term, breakdown, possible, overall, level="Local authority"):
        return {"time_period": "202526", "time_identifier": term, "geographic_level": level,
                "old_la_code": la, "breakdown_topic": "SEN status", "breakdown": breakdown,
                "sess_possible": possible, "sess_overall": overall}
    att = pl.DataFrame([
        ees("301", "Summer term", "EHC plan", "10000", "1200"),
        ees("313", "Summer term", "EHC plan", "20000", "2000"),
        ees("821", "Summer term", "EHC plan", "c", "500"),
        ees("308", "Summer term", "EHC plan", "5000", "800"),
        ees("301", "Summer term", "SEN support", "50000", "4000"),
        ees(None, "Summer term", "EHC plan", "9000000", "900000", level="National"),
        ees("301", "Spring term", "EHC plan", "9000", "900"),
    ])
    warehouse.load_ees(con, "attendance", att, "attendance.csv", "hash-att-1")
    warehouse.load_ees(con, "attendance", att, "attendance.csv", "hash-att-1")  # idempotent reload


@pytest.fixture(scope="module")
def marts_build(tmp_path_factory) -> Path:
    """The folder of the fixture's warehouse.duckdb, built by dbt, and dbt's target/."""
    tmp = tmp_path_factory.mktemp("marts")
    db = tmp / "warehouse.duckdb"
    con = warehouse.connect(db)
    _load_fixture(con)
    con.close()
    dbt = Path(sys.executable).with_name("dbt")
    run = subprocess.run(
        [str(dbt), *dbt_args.build_args(QUARTER), *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    return tmp


@pytest.fixture(scope="module")
def marts(marts_build):
    con = duckdb.connect(str(marts_build / "warehouse.duckdb"), read_only=True)
    yield con
    con.close()


def _rows(con, sql, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _bench(con, la, ind, period=QUARTER) -> dict:
    (row,) = _rows(con, "select * from marts.benchmark where la_code=? and indicator_id=? and period=?", la, ind, period)
    return row


def _traj(con, la, ind, period=QUARTER) -> dict:
    (row,) = _rows(con, "select * from marts.trajectory where la_code=? and indicator_id=? and period=?", la, ind, period)
    return row


approx = pytest.approx


def test_twenty_week_benchmark_q2(marts):
    # 301 30/60 = 50%, 313 45/50 = 90%, 821 20/40 = 50%, 308 no accepted Q2 data.
    # England pooled (30+45+20)/(60+50+40) = 95/150 = 63.33%, 3 LAs; London 75/110; East 20/40.
    b = _bench(marts, "301", "ehcp_20_week")
    assert (b["numerator"], b["denominator"], b["la_value"]) == (30, 60, approx(50.0))
    assert b["england_value"] == approx(95 / 150 * 100) and b["england_n_las"] == 3
    assert b["region_value"] == approx(75 / 110 * 100) and b["region_n_las"] == 2
    # neighbours of 301 with data: 821 (50), 313 (90); 308 has none -> mean 70 of 2
    assert (b["sn_mean"], b["sn_n"]) == (approx(70.0), 2)
    # high is better: 313 rank 1 (band A); 301 and 821 tie at rank 2: (2-1)/3 -> band B
    assert (b["rank"], b["n_ranked"], b["quartile_band"]) == (2, 3, "B")
    l = _bench(marts, "821", "ehcp_20_week")
    assert (l["rank"], l["quartile_band"], l["region_value"], l["region_n_las"]) == (2, "B", approx(50.0), 1)
    assert (l["sn_mean"], l["sn_n"]) == (approx(70.0), 2)            # 313 90, 301 50
    h = _bench(marts, "313", "ehcp_20_week")
    assert (h["rank"], h["quartile_band"], h["sn_mean"], h["sn_n"]) == (1, "A", approx(50.0), 2)
    e = _bench(marts, "308", "ehcp_20_week")                        # rejected Q2: no value, no rank
    assert (e["la_value"], e["rank"], e["quartile_band"]) == (None, None, None)
    assert (e["sn_mean"], e["sn_n"], e["england_n_las"]) == (approx(50.0), 2, 3)  # 301 50, 821 50


def test_every_la_listed_in_benchmark(marts):
    counts = _rows(marts, "select indicator_id, period, count(*) n from marts.benchmark group by all")
    assert counts and all(r["n"] == 153 for r in counts)
    other = _bench(marts, "201", "ehcp_20_week")
    assert (other["la_value"], other["sn_n"], other["england_n_las"]) == (None, 0, 3)


def test_twenty_week_q1_uses_the_revised_value_and_four_bands(marts):
    # Q1: 301 24/50 = 48 (revised in its Q2 return), 313 40/50 = 80, 821 18/40 = 45 (from its
    # Q2 return), 308 30/40 = 75.  England 112/180; ranks 313, 308, 301, 821 -> A, B, C, D.
    rows = {r["la_code"]: r for r in _rows(
        marts, "select * from marts.benchmark where indicator_id='ehcp_20_week' and period='2026-27-Q1' "
               "and la_value is not null")}
    assert {k: (r["rank"], r["quartile_band"]) for k, r in rows.items()} == {
        "313": (1, "A"), "308": (2, "B"), "301": (3, "C"), "821": (4, "D")}
    assert rows["301"]["la_value"] == approx(48.0)
    assert rows["301"]["england_value"] == approx(112 / 180 * 100) and rows["301"]["england_n_las"] == 4
    assert rows["301"]["region_value"] == approx(94 / 140 * 100) and rows["301"]["region_n_las"] == 3
    assert (rows["301"]["sn_mean"], rows["301"]["sn_n"]) == (approx((75 + 45 + 80) / 3), 3)


def test_low_polarity_and_missing_term(marts):
    # placement_independent (low): 301 (40+10)/1000 = 5.0%, 313 (30+6)/600 = 6.0%;
    # 821 did not report non-maintained special -> numerator NULL, no value.
    a = _bench(marts, "301", "placement_independent")
    assert a["la_value"] == approx(5.0) and (a["rank"], a["n_ranked"], a["quartile_band"]) == (1, 2, "A")
    assert a["england_value"] == approx(86 / 1600 * 100) and a["england_n_las"] == 2
    assert (_bench(marts, "313", "placement_independent")["rank"],
            _bench(marts, "313", "placement_independent")["quartile_band"]) == (2, "C")  # (2-1)/2 = 0.5 -> C
    l = _bench(marts, "821", "placement_independent")
    assert (l["numerator"], l["denominator"], l["la_value"], l["rank"]) == (None, 800, None, None)


def test_neutral_indicator_has_no_rank_band_or_status(marts):
    # requests per 10,000: 301 150/60000 = 25, 313 100/80000 = 12.5, 821 120/60000 = 20;
    # England 370/200000 * 10000 = 18.5
    b = _bench(marts, "301", "ehcp_requests_rate")
    assert b["la_value"] == approx(25.0) and b["england_value"] == approx(18.5) and b["england_n_las"] == 3
    assert (b["rank"], b["n_ranked"], b["quartile_band"]) == (None, None, None)
    t = _traj(marts, "301", "ehcp_requests_rate")
    # a year-to-date flow: the full-year target of 30 is 15 by Q2, so the LA is 10 above it
    assert (t["target_value"], t["comparable_target"], t["gap_to_target"], t["status"], t["rag"]) == (
        30, approx(15.0), approx(10.0), None, None)
    assert (t["period_basis"], t["change_basis"]) == ("year_to_date", "previous quarter, annualised")


def test_level_indicator_england_is_mean_of_la_values(marts):
    # DSG deficit (GBP m): 301 12.0, 313 -3.0 (surplus), 821 6.0 -> England mean 5.0, London 4.5
    b = _bench(marts, "301", "dsg_deficit_gbp_m")
    # a level has no denominator: the 1 it is pooled with is not a count, so it is never suppressed
    assert (b["la_value"], b["denominator"], b["suppressed"], b["small_base"]) == (approx(12.0), None, False, False)
    assert b["england_value"] == approx(5.0) and b["england_n_las"] == 3
    assert b["region_value"] == approx(4.5) and b["region_n_las"] == 2
    assert (b["rank"], b["quartile_band"]) == (3, "C")   # low: 313 A, 821 B (1/3), 301 C (2/3)
    t = _traj(marts, "301", "dsg_deficit_gbp_m")           # 12.0 vs 10.5, tolerance 2 -> amber
    assert (t["status"], t["rag"], t["gap_to_target"]) == ("within tolerance", "amber", approx(1.5))
    assert t["change_prev_quarter"] == approx(1.0)         # Q1 11.0


def test_dfe_held_attendance_from_ees_terms(marts):
    # 2026-27-Q2 <- 202526 Summer term: 301 1200/10000 = 12%, 313 10%, 308 16%;
    # 821 suppressed ('c') -> no value.  England 4000/35000; London = the same three LAs.
    b = _bench(marts, "301", "att_overall_ehcp")
    assert b["la_value"] == approx(12.0) and b["england_value"] == approx(4000 / 35000 * 100)
    assert (b["england_n_las"], b["region_n_las"], b["rank"], b["quartile_band"]) == (3, 3, 2, "B")
    assert _bench(marts, "821", "att_overall_ehcp")["la_value"] is None
    assert _bench(marts, "821", "att_overall_ehcp")["region_n_las"] == 0
    assert _bench(marts, "301", "att_overall_sen_support")["la_value"] == approx(8.0)
    # Spring term 202526 feeds both 2025-26-Q4 and 2026-27-Q1: 900/9000 = 10%
    for period in ("2025-26-Q4", "2026-27-Q1"):
        assert _bench(marts, "301", "att_overall_ehcp", period)["la_value"] == approx(10.0)
    t = _traj(marts, "301", "att_overall_ehcp")            # low, 12 vs 11, tolerance 0.5 -> missed
    assert (t["status"], t["rag"], t["gap_to_target"]) == ("missed", "red", approx(1.0))
    # termly and seasonal: the summer term is not compared with the spring term before it
    assert (t["term_label"], t["change_prev_quarter"], t["change_direction"], t["change_note"]) == (
        "summer term 2025/26", None, "not comparable", "no same term a year earlier yet")
    assert b["term_label"] == "summer term 2025/26"


def test_trajectory_for_barking_and_dagenham(marts):
    rows = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code='301' and indicator_id='ehcp_20_week'")}
    assert set(rows) == set(EHCP_TARGETS_301)               # actual quarters Q1, Q2 are target periods too
    q2 = rows["2026-27-Q2"]                                 # 50 vs 52, high, tolerance 5 -> amber
    assert (q2["la_name"], q2["region_name"], q2["period_type"]) == ("Barking and Dagenham", "London", "quarter")
    assert (q2["baseline_value"], q2["baseline_period"], q2["target_value"]) == (42.0, "2025-26", 52.0)
    assert (q2["actual_value"], q2["gap_to_target"]) == (approx(50.0), approx(-2.0))
    assert (q2["status"], q2["rag"]) == ("within tolerance", "amber")
    assert q2["change_prev_quarter"] == approx(2.0) and q2["change_prev_year"] is None  # 50 - 48 pp
    q1 = rows["2026-27-Q1"]                                 # 48 vs 45 -> met
    assert (q1["actual_value"], q1["status"], q1["rag"], q1["gap_to_target"]) == (approx(48.0), "met", "green", approx(3.0))
    assert q1["change_prev_quarter"] is None
    q3 = rows["2026-27-Q3"]
    assert (q3["actual_value"], q3["target_value"], q3["status"]) == (None, 55.0, None)
    ye = rows["2026-27"]
    assert (ye["period_type"], ye["actual_value"], ye["target_value"], ye["status"]) == ("year_end", None, 60.0, None)


def test_trajectory_statuses_other_las(marts):
    # 313: 90 vs target 100 (its Q3 return's 85 is outside the Q2 build) -> missed by 10
    t = _traj(marts, "313", "ehcp_20_week")
    assert (t["target_value"], t["gap_to_target"], t["status"], t["rag"]) == (100.0, approx(-10.0), "missed", "red")
    t = _traj(marts, "821", "ehcp_20_week")                # exactly on target -> met
    assert (t["actual_value"], t["status"], t["rag"]) == (approx(50.0), "met", "green")
    t = _traj(marts, "313", "placement_independent")        # low: 6.0 vs 5.0, tolerance 0.5 -> missed
    assert (t["status"], t["gap_to_target"]) == ("missed", approx(1.0))
    t = _traj(marts, "301", "placement_independent")        # low: 5.0 vs 4.8 -> within tolerance
    assert (t["status"], t["change_prev_quarter"]) == ("within tolerance", approx(5.0 - 50 / 990 * 100))
    assert not _rows(marts, "select * from marts.trajectory where period > ? and actual_value is not null", QUARTER)


def test_revisions(marts):
    rows = _rows(marts, "select * from marts.revisions")
    assert len(rows) == 1  # 313's Q3 revision of Q2 is outside the Q2 build
    r = rows[0]
    assert (r["la_code"], r["item_id"], r["quarter_period"]) == ("301", "plans_issued_20wk_ex", "2026-27-Q1")
    assert (r["earlier_value"], r["later_value"]) == (20.0, 24.0)
    assert (r["earlier_submission_id"], r["later_submission_id"]) == ("301q1", "301q2")
    assert (r["earlier_received_at"], r["later_received_at"]) == (datetime(2026, 7, 15, 9), datetime(2026, 10, 15, 9))


def test_collection_status(marts):
    rows = _rows(marts, "select * from marts.collection_status")
    assert len(rows) == 153 * 2 and {r["period"] for r in rows} == {"2026-27-Q1", QUARTER}
    s = {(r["la_code"], r["period"]): r for r in rows}
    pick = lambda r: (r["received"], r["accepted"], r["status"], r["n_submissions"], r["n_resubmissions"],  # noqa: E731
                      r["latest_submission_id"])
    assert pick(s["301", "2026-27-Q1"]) == (True, True, "accepted", 1, 0, "301q1")
    assert pick(s["313", QUARTER]) == (True, True, "accepted", 2, 1, "313q2")
    assert pick(s["308", QUARTER]) == (True, False, "rejected", 1, 0, "308q2")
    assert s["308", QUARTER]["n_errors"] == 1
    assert pick(s["821", "2026-27-Q1"]) == (False, False, "not_received", 0, 0, None)
    assert (s["821", "2026-27-Q1"]["n_errors"], s["821", "2026-27-Q1"]["latest_submission_at"]) == (0, None)
    assert pick(s["821", QUARTER]) == (True, True, "accepted_with_queries", 1, 0, "821q2")
    assert (s["821", QUARTER]["n_queries"], s["821", QUARTER]["n_unresolved_queries"]) == (2, 1)
    assert s["821", QUARTER]["latest_submission_at"] == datetime(2026, 10, 16, 9)
    assert pick(s["201", QUARTER]) == (False, False, "not_received", 0, 0, None)
    assert sum(r["received"] for r in rows) == 7  # 301 x2, 313 x2, 308 x2, 821 Q2


def _latest_cells(con) -> dict:
    """Independently of dbt: the newest accepted value per LA, item, quarter up to QUARTER."""
    latest: dict = {}
    for la, item, period, value, received in con.execute(
            "select s.la_code, v.item_id, v.year || '-' || v.quarter, v.value, s.received_at "
            "from raw.return_values v join raw.submissions s using (submission_id) "
            "where s.status <> 'rejected' and s.period <= ?", [QUARTER]).fetchall():
        if period <= QUARTER and ((la, item, period) not in latest or received > latest[la, item, period][1]):
            latest[la, item, period] = (value, received)
    cells = {k: v for k, (v, _) in latest.items()}
    cat = load()
    for row in con.execute("select old_la_code, time_period, time_identifier, breakdown, sess_possible, "
                           "sess_overall from raw.ees_attendance where geographic_level='Local authority'").fetchall():
        la, tp, term, breakdown, possible, overall = row
        for q, off in [(q, t["year_offset"]) for q, t in cat.dfe_held_terms.items() if t["time_identifier"] == term]:
            start = int(tp[:4]) - off
            period = f"{start}-{(start + 1) % 100:02d}-{q}"
            for it in cat.dfe_held_items:
                if it.dataset == "attendance" and it.breakdown == breakdown and it.column in ("sess_possible", "sess_overall"):
                    raw = possible if it.column == "sess_possible" else overall
                    if raw.replace(".", "").isdigit() and period <= QUARTER:
                        cells[la, it.id, period] = float(raw)
    return cells


def test_england_rates_recomputed_independently(marts):
    cells = _latest_cells(marts)
    cat = load()
    las_periods = {(la, p) for la, _, p in cells}
    pooled: dict = defaultdict(lambda: [0.0, 0.0, 0])
    for ind in cat.indicators:
        for la, p in las_periods:
            num = [cells.get((la, i, p)) for i in ind.numerator]
            den = [cells.get((la, i, p)) for i in ind.denominator] or [1.0]
            if None in num or None in den or (ind.is_rate and sum(den) <= 0):
                continue
            acc = pooled[ind.id, p]
            acc[0] += sum(num)
            acc[1] += sum(den)
            acc[2] += 1
    expected = {k: (n / d * cat.indicator(k[0]).multiplier, c) for k, (n, d, c) in pooled.items()}
    got = {(r["indicator_id"], r["period"]): (r["england_value"], r["england_n_las"]) for r in _rows(
        marts, "select distinct indicator_id, period, england_value, england_n_las from marts.benchmark "
               "where england_n_las > 0")}
    assert set(got) == set(expected)
    for k, (value, n) in expected.items():
        assert got[k] == (approx(value), n), k


def test_contracted_marts_are_built_with_their_not_null_constraints(marts):
    """A contracted mart's not-null columns are constraints of the table DuckDB builds (a null fails
    the build, as a not_null test would, without a test query per column)."""
    from contracts.yaml_file import read_yaml

    wanted = set()
    for yml in (paths.DBT_PROJECT_DIR / "models" / "marts").glob("*.yml"):
        for model in (read_yaml(yml) or {}).get("models", []):
            for col in model.get("columns", []):
                if {"type": "not_null"} in (col.get("constraints") or []):
                    wanted.add((model["name"], col["name"]))
    con = marts
    got = {(t, c) for t, cols in con.execute(
        "select table_name, constraint_column_names from duckdb_constraints() "
        "where schema_name = 'marts' and constraint_type = 'NOT NULL'").fetchall() for c in cols}
    assert len(wanted) >= 60 and wanted <= got, sorted(wanted - got)


def test_contracted_marts_are_built_with_their_primary_keys(marts):
    """A contracted mart's key is a primary_key constraint of the table DuckDB builds: a duplicate or
    NULL key fails the model (and the publication) without a test query and a Dagster check."""
    from contracts.generate import mart_key
    from contracts.yaml_file import read_yaml

    wanted = {}
    for yml in (paths.DBT_PROJECT_DIR / "models" / "marts").glob("*.yml"):
        for model in (read_yaml(yml) or {}).get("models", []):
            if (model.get("config") or {}).get("contract", {}).get("enforced"):
                wanted[model["name"]] = mart_key(model)
    got = dict(marts.execute("select table_name, constraint_column_names from duckdb_constraints() "
                             "where schema_name = 'marts' and constraint_type = 'PRIMARY KEY'").fetchall())
    assert len(wanted) >= 10 and all(wanted.values()) and got == wanted
    assert got["trajectory"] == ["la_code", "indicator_id", "period"]


def test_the_primary_key_test_returns_each_duplicate_and_null_key_with_its_reason(marts_build):
    """dbt's primary_key test as this build compiled it, run on a copy of its model with bad rows: one
    failing row per bad key, with the key and the reason, where it took a unique test and a not_null
    test per key column before (dbt counts the rows it returns as the test's failures)."""
    import json

    manifest = json.loads((marts_build / "target" / "manifest.json").read_text())
    tests = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    node = tests["primary_key_int_latest_uploads_la_code__period"]
    assert node["test_metadata"]["kwargs"]["columns"] == ["la_code", "period"] and node["compiled_code"]
    assert "primary_key_int_latest_uploads_submission_id" in tests  # its second key: a test of its own
    assert not [n for n in tests if n.startswith(("unique_int_latest", "not_null_int_latest"))]

    con = duckdb.connect()
    con.execute("attach ':memory:' as warehouse")
    con.execute("create schema warehouse.intermediate")
    con.execute("""create table warehouse.intermediate.int_latest_uploads as select * from (values
        ('301', '2026-27-Q1', 'a'), ('301', '2026-27-Q2', 'b'), ('301', '2026-27-Q2', 'c'),
        (null, '2026-27-Q2', 'd'), ('313', null, 'e'), ('313', '2026-27-Q1', 'f')) t(la_code, period, submission_id)""")
    got = con.execute(node["compiled_code"] + " order by reason, la_code nulls first").fetchall()
    assert got == [("301", "2026-27-Q2", "duplicate key", 2), (None, "2026-27-Q2", "null key", 1),
                   ("313", None, "null key", 1)]
    con.execute("delete from warehouse.intermediate.int_latest_uploads where submission_id in ('c', 'd', 'e')")
    assert con.execute(node["compiled_code"]).fetchall() == []  # a good table passes
