"""What the marts say about an LA, through a real `dbt build` of a small hand-made year (2026-27, built at Q4).

Three London LAs:
  301 Barking and Dagenham is exactly on a straight-line trajectory for an indicator of every period
      basis: a year-to-date count that accumulates (CYP supported per 1,000, full-year targets 9-12), a
      year-to-date share (20-week timeliness), a point-in-time share (independent placements), a level
      (the DSG deficit) and a DfE-held termly rate (EHCP absence).  It must be "met" in every quarter.
  302 Barnet is identical to England in every term of three academic years of EHCP absence, which has a
      strong season (spring 12%, summer 13.4%, autumn 11%).  It must never be called better or worse.
  303 Bexley has 3 of 3 mediation cases (a small base), a DSG deficit of GBP 3k (money, not a count),
      and requests that run at a steady annual rate (25, 50, 75, 100 per 10,000 year to date).
"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipeline import dbt_args, paths, warehouse

sys.path.insert(0, str(Path(__file__).parent))
from test_marts_fixture import _result  # noqa: E402

QUARTER = "2026-27-Q4"
QS = ("Q1", "Q2", "Q3", "Q4")
PERIODS = tuple(f"2026-27-{q}" for q in QS)
approx = pytest.approx

# 301: the annual-rate trajectory 9, 10, 11, 12 per 1,000 pupils; on it, the year-to-date count at Qn is
# rate x n/4 x 40 (40,000 pupils).
CYP_TARGETS = {"Q1": 9.0, "Q2": 10.0, "Q3": 11.0, "Q4": 12.0}
CYP_YTD = {"Q1": 90, "Q2": 200, "Q3": 330, "Q4": 480}
TW_TARGETS = {"Q1": 50.0, "Q2": 55.0, "Q3": 60.0, "Q4": 65.0}
TW_ISSUED = {"Q1": (20, 10), "Q2": (40, 22), "Q3": (60, 36), "Q4": (80, 52)}
IND_TARGETS = {"Q1": 10.0, "Q2": 9.5, "Q3": 9.0, "Q4": 8.5}
DSG_TARGETS = {"Q1": 20.0, "Q2": 19.0, "Q3": 18.0, "Q4": 17.0}
# the EES term that feeds each quarter of 2026-27 (catalogue dfe_held_terms) and 301's absence in it
ATT_301 = {"Q1": ("202526", "Spring term", 10.0), "Q2": ("202526", "Summer term", 12.0),
           "Q3": ("202627", "Autumn term", 9.0), "Q4": ("202627", "Spring term", 9.5)}
SEASON = {"Autumn term": 11.0, "Spring term": 12.0, "Summer term": 13.4}   # England, every year


def _returns(con) -> None:
    rec = lambda r, when: warehouse.record_submission(con, r, f"/archive/{r.sha256}", when)  # noqa: E731
    v301, t301 = {}, {}
    for q in QS:
        issued, in20 = TW_ISSUED[q]
        v301 |= {("pupils_on_roll", q): 40000, ("eah_cyp_supported", q): CYP_YTD[q],
                 ("plans_issued_ex", q): issued, ("plans_issued_20wk_ex", q): in20,
                 ("ehcps_maintained", q): 1000, ("ehcps_independent_special", q): 1000 * IND_TARGETS[q] / 100,
                 ("ehcps_non_maintained_special", q): 0, ("dsg_deficit", q): DSG_TARGETS[q] * 1000,
                 ("mediation_concluded", q): 40, ("mediation_no_appeal", q): 30}
        p = f"2026-27-{q}"
        t301 |= {("eah_cyp_rate", p): CYP_TARGETS[q], ("ehcp_20_week", p): TW_TARGETS[q],
                 ("placement_independent", p): IND_TARGETS[q], ("dsg_deficit_gbp_m", p): DSG_TARGETS[q],
                 ("att_overall_ehcp", p): ATT_301[q][2]}
    t301 |= {("eah_cyp_rate", "2026-27"): 12.0, ("ehcp_20_week", "2026-27"): 65.0,
             ("placement_independent", "2026-27"): 8.5, ("dsg_deficit_gbp_m", "2026-27"): 17.0,
             ("att_overall_ehcp", "2026-27"): 9.5}
    base301 = {"eah_cyp_rate": (8.0, "2025-26")}
    rec(_result("301q4", "301", "Q4", v301, t301, base301), datetime(2027, 4, 15, 9))

    v303 = {}
    for n, q in enumerate(QS, start=1):
        v303 |= {("mediation_concluded", q): 3, ("mediation_no_appeal", q): 3, ("dsg_deficit", q): 3,
                 ("requests_received", q): 25 * n, ("population_0_25", q): 10000,
                 ("pupils_on_roll", q): 30000, ("eah_cyp_supported", q): 60 * n}
    rec(_result("303q4", "303", "Q4", v303, {("mediation_no_appeal_pct", "2026-27-Q4"): 90.0}),
        datetime(2027, 4, 16, 9))
    v302 = {(i, q): v for q in QS for i, v in (("mediation_concluded", 50), ("mediation_no_appeal", 40),
                                                 ("dsg_deficit", 9000), ("pupils_on_roll", 50000),
                                                 ("eah_cyp_supported", 100))}
    rec(_result("302q4", "302", "Q4", v302), datetime(2027, 4, 17, 9))


def _attendance(con) -> None:
    """Three academic years of EHCP absence.  302 is England (the pool of the three LAs) in every term:
    301 and 303 sit symmetrically around it with the same possible sessions."""
    rows = []
    feeds_301 = {(tp, term): rate for tp, term, rate in ATT_301.values()}
    for tp in ("202425", "202526", "202627"):
        for term, eng in SEASON.items():
            r301 = feeds_301.get((tp, term), eng - 2.0)
            for la, rate in (("301", r301), ("302", eng), ("303", 2 * eng - r301)):
                rows.append({"time_period": tp, "time_identifier": term, "geographic_level": "Local authority",
                             "old_la_code": la, "breakdown_topic": "SEN status", "breakdown": "EHC plan",
                             "sess_possible": "100000", "sess_overall": str(round(rate * 1000))})
    warehouse.load_ees(con, "attendance", pl.DataFrame(rows), "attendance.csv", "hash-att")


@pytest.fixture(scope="module")
def marts(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("verdicts")
    db = tmp / "warehouse.duckdb"
    con = warehouse.connect(db)
    warehouse.ensure_raw_schema(con)
    warehouse.load_catalogue(con)
    _returns(con)
    _attendance(con)
    con.close()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *dbt_args.build_args(QUARTER), *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    con = duckdb.connect(str(db), read_only=True)
    yield con
    con.close()


def _rows(con, sql, *params) -> list[dict]:
    cur = con.execute(sql, list(params))
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


@pytest.mark.parametrize("indicator", ["eah_cyp_rate", "ehcp_20_week", "placement_independent",
                                       "dsg_deficit_gbp_m", "att_overall_ehcp"])
def test_on_a_straight_line_trajectory_is_met_in_every_quarter_whatever_the_basis(marts, indicator):
    rows = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code = '301' and indicator_id = ?", indicator)}
    for period in (*PERIODS, "2026-27"):
        r = rows[period]
        assert r["actual_value"] is not None, period
        assert (r["status"], r["rag"]) == ("met", "green"), (period, r)
        assert r["gap_to_target"] == approx(0.0, abs=1e-9), (period, r)
    # the benchmark carries the same verdict
    b = _rows(marts, "select * from marts.benchmark where la_code = '301' and indicator_id = ? and period = ?",
              indicator, "2026-27-Q2")[0]
    assert b["status"] == "met" and b["comparable_target"] == approx(rows["2026-27-Q2"]["comparable_target"])


def test_a_year_to_date_count_is_judged_against_a_pro_rated_target(marts):
    rows = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code = '301' and indicator_id = 'eah_cyp_rate'")}
    q1, q2 = rows["2026-27-Q1"], rows["2026-27-Q2"]
    assert (q1["period_basis"], q1["actual_value"], q1["target_value"]) == ("year_to_date", approx(2.25), 9.0)
    assert (q1["comparable_target"], q2["comparable_target"]) == (approx(9.0 / 4), approx(10.0 / 2))
    assert q1["comparable_baseline"] == approx(8.0 / 4)
    # Q2's count doubled, but the annual rate went from 9 to 10: that, not the accumulation, is the change
    assert (q2["change_basis"], q2["change_value"], q2["change_direction"]) == (
        "previous quarter, annualised", approx(1.0), "improved")
    # a steady annual rate whose count accumulates is no change at all
    req = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code = '303' and indicator_id = 'ehcp_requests_rate'")}
    assert [req[p]["actual_value"] for p in PERIODS] == [approx(25.0), approx(50.0), approx(75.0), approx(100.0)]
    assert req["2026-27-Q1"]["change_note"] == "no previous quarter yet"
    assert {req[p]["change_direction"] for p in PERIODS[1:]} == {"no meaningful change"}


def test_identical_to_england_in_every_term_is_never_better_or_worse(marts):
    rows = _rows(marts, "select * from marts.benchmark where la_code = '302' and indicator_id = 'att_overall_ehcp' "
                        "order by period")
    assert len(rows) >= 8                    # 2024-25-Q4 .. 2026-27-Q4, one term each
    for r in rows:
        assert r["la_value"] == approx(r["england_value"]), r["period"]
        assert r["change_direction"] in ("no meaningful change", "not comparable"), r
        assert r["term_label"].split()[0] in ("autumn", "spring", "summer"), r
    # the first year has no same term a year earlier, and says so; later terms compare with it
    notes = {r["change_note"] for r in rows if r["change_direction"] == "not comparable"}
    assert notes == {"no same term a year earlier yet"}
    assert sum(r["change_direction"] == "no meaningful change" for r in rows) >= 4
    assert {r["change_basis"] for r in rows} == {"same term a year earlier"}
    traj = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code = '302' and indicator_id = 'att_overall_ehcp'")}
    q2 = traj["2026-27-Q2"]
    assert (q2["term_label"], q2["actual_value"]) == ("summer term 2025/26", approx(13.4))
    assert q2["change_prev_quarter"] is None            # spring -> summer is season, not change
    assert q2["change_direction"] == "no meaningful change"


def test_the_no_meaningful_change_band(marts):
    # 301's EHCP absence: spring term 2025/26 10.0% against spring 2024/25 10.0% (= England 12 - 2)... no
    # change; summer 2025/26 12.0% vs 11.4% a year earlier: 0.6 points, above the 0.5 band -> worsened
    traj = {r["period"]: r for r in _rows(
        marts, "select * from marts.trajectory where la_code = '301' and indicator_id = 'att_overall_ehcp'")}
    assert traj["2026-27-Q1"]["change_value"] == approx(0.0)
    assert traj["2026-27-Q1"]["change_direction"] == "no meaningful change"
    assert traj["2026-27-Q2"]["change_value"] == approx(0.6)
    assert traj["2026-27-Q2"]["change_direction"] == "worsened"
    # autumn 2026/27 9.0% vs 9.0% (11 - 2) a year earlier; spring 2026/27 9.5 vs 10.0: -0.5, within the band
    assert traj["2026-27-Q4"]["change_value"] == approx(-0.5)
    assert traj["2026-27-Q4"]["change_direction"] == "no meaningful change"


def test_three_of_three_mediation_cases_is_small_numbers_not_rank_one(marts):
    b = _rows(marts, "select * from marts.benchmark where la_code = '303' and indicator_id = 'mediation_no_appeal_pct' "
                     "and period = '2026-27-Q4'")[0]
    assert b["la_value"] == approx(100.0)
    assert (b["small_base"], b["rank"], b["n_ranked"], b["quartile_band"]) == (True, None, None, None)
    # Wilson 95% interval for 3 of 3: 43.8% to 100%
    assert (b["ci_low"], b["ci_high"]) == (approx(43.85, abs=0.01), approx(100.0))
    assert b["suppressed"] and b["suppression"] == "primary"      # a count of 3: c to every other LA
    t = _rows(marts, "select * from marts.trajectory where la_code = '303' and indicator_id = "
                     "'mediation_no_appeal_pct' and period = '2026-27-Q4'")[0]
    assert (t["target_value"], t["status"], t["rag"], t["small_base"]) == (90.0, None, None, True)
    # the others are ranked among themselves: 301 (75%) and 302 (80%), not 303
    ranks = {r["la_code"]: (r["rank"], r["n_ranked"]) for r in _rows(
        marts, "select * from marts.benchmark where indicator_id = 'mediation_no_appeal_pct' and period = "
               "'2026-27-Q4' and la_value is not null")}
    assert ranks == {"301": (2, 2), "302": (1, 2), "303": (None, None)}
    # one suppressed value in England would be given away by England and London's pooled figures, so
    # a complementary value is withheld too: London's smallest other base, 301's 40 cases
    supp = {r["la_code"]: r["suppression"] for r in _rows(
        marts, "select * from marts.benchmark where indicator_id = 'mediation_no_appeal_pct' and period = "
               "'2026-27-Q4' and suppressed")}
    assert supp == {"303": "primary", "301": "secondary"}


def test_the_dsg_deficit_is_shown_and_benchmarked(marts):
    rows = {r["la_code"]: r for r in _rows(
        marts, "select * from marts.benchmark where indicator_id = 'dsg_deficit_gbp_m' and period = '2026-27-Q4' "
               "and la_value is not null")}
    assert set(rows) == {"301", "302", "303"}
    for r in rows.values():
        # money, not a count: GBP 3k is not a small count, and its "denominator" of 1 is not one either
        assert (r["suppressed"], r["suppression"], r["small_base"], r["denominator"]) == (False, None, False, None)
        assert not r["region_withheld"] and not r["england_withheld"]
        assert r["england_value"] == approx((17.0 + 9.0 + 0.003) / 3)
        assert r["sn_n_suppressed"] == 0
    assert rows["303"]["la_value"] == approx(0.003)
    assert [rows[c]["rank"] for c in ("303", "302", "301")] == [1, 2, 3]        # low is better
    assert [rows[c]["quartile_band"] for c in ("303", "302", "301")] == ["A", "B", "C"]
