"""The plan marts (issue 10) on a real warehouse: the generated sample's returns for 10 LAs, Q1 and Q2,
through the product's ingest code and a real `dbt build` of delivery_milestones, investment_spend and
risks (with their tests).  Expected figures come from pipeline.plan_sample (the generator's own
inputs), never from the warehouse."""
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from contracts.findings import REJECTED
from pipeline import dbt_args, ingest, paths, plan_sample, sample, warehouse
from pipeline.calibration import read_las

QUARTER = "2026-27-Q2"
PERIODS = ("2026-27-Q1", "2026-27-Q2")
CODES = ["301", "308", "330", "892", "942", "815", "886", "801", "808", "873"]
SEED = 2026
SELECT = "+delivery_milestones +investment_spend +risks"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plan")
    src = tmp / "sample"
    sample.generate(src, quarter=QUARTER, seed=SEED, la_codes=CODES, bomb_bytes=1_000_000)
    manifest = json.loads((src / "MANIFEST.json").read_text())
    db = tmp / "warehouse.duckdb"
    con = warehouse.connect(db)
    warehouse.ensure_raw_schema(con)
    warehouse.load_catalogue(con)
    accepted = set()
    for period in PERIODS:
        for f in sorted((src / period).glob("*.xlsx")):
            la = ingest.la_code_from_name(f.name)
            up = ingest.archive_upload(f, f"{period}/{la}", tmp / "archive")
            result = ingest.check_upload(con, up, la, period)
            warehouse.record_submission(con, result, up.archive_path, up.received_datetime,
                                        la_code=la, year=period[:7], quarter=period[-2:])
            if result.status != REJECTED:
                accepted.add((la, period))
    con.close()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *dbt_args.build_args(QUARTER, select=SELECT),
         "--indirect-selection", "cautious",
         *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=900)
    assert run.returncode == 0, run.stdout[-4000:]
    con = duckdb.connect(str(db), read_only=True)
    yield con, accepted, manifest
    con.close()


def parts(code: str, period: str, manifest) -> dict:
    la = next(r for r in read_las() if r["old_la_code"] == code)
    cases = (manifest["plan_cases"][code],) if period == QUARTER and code in manifest["plan_cases"] else ()
    return plan_sample.plan_parts(la, period[:7], period[-2:], SEED, cases)


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_milestones_status_and_slippage(built):
    con, accepted, manifest = built
    for code, period in accepted:
        p = parts(code, period, manifest)
        rows = q(con, "select workstream_no, milestone_quarter, due_date, status, slippage_days, is_slipped, "
                      "is_past_not_started from marts.delivery_milestones where la_code = ? and period = ? "
                      "order by 1, 2", code, period)
        assert len(rows) == 3 * len(p["workstreams"])
        for no, mq, due, status, slip, slipped, past in rows:
            m = p["workstreams"][no - 1]["milestones"][mq]
            assert (due, status) == (m["due_date"], m["status"])
            first = parts(code, "2026-27-Q1", manifest)["workstreams"][no - 1]["milestones"][mq]["due_date"] \
                if (code, "2026-27-Q1") in accepted else m["due_date"]
            assert slip == (m["due_date"] - first).days
            assert slipped == (slip > 0 or status == "Delayed")
    # the generator's slipped milestones: 42 days later than first given, status Delayed
    slips = q(con, "select la_code from marts.delivery_milestones where period = ? and slippage_days = 42 "
                   "and status = 'Delayed'", QUARTER)
    assert slips, "the sample has at least one LA whose milestone slipped"
    (past,) = [c for c, k in manifest["plan_cases"].items() if k == "past_not_started"]
    assert q(con, "select count(*) from marts.delivery_milestones where la_code = ? and period = ? "
                  "and is_past_not_started", past, QUARTER) == [(1,)]
    assert q(con, "select count(*) from marts.delivery_milestones where la_code <> ? and is_past_not_started",
             past) == [(0,)]


def test_spend_projected_against_actual_with_totals(built):
    con, accepted, manifest = built
    q2 = sorted(c for c, p in accepted if p == QUARTER)
    expected = sum(line["projected"]["Q1"] for c in q2 for line in parts(c, QUARTER, manifest)["spend"])
    got = sum(r[0] for r in q(con, "select projected from marts.investment_spend where level = 'england' "
                                   "and period = ? and spend_quarter = 'Q1'", QUARTER))
    assert got == pytest.approx(expected)
    # region totals add up to England
    by_region = sum(r[0] for r in q(con, "select sum(projected) from marts.investment_spend where level = 'region' "
                                         "and period = ? group by region_name", QUARTER))
    england = q(con, "select sum(projected) from marts.investment_spend where level = 'england' and period = ?",
                QUARTER)[0][0]
    assert by_region == pytest.approx(england)
    # only the overspending LA's line is over the margin, among the LAs
    (over,) = [c for c, k in manifest["plan_cases"].items() if k == "overspend"]
    flagged = q(con, "select distinct la_code, spend_quarter from marts.investment_spend where level = 'la' "
                     "and over_margin and period = ?", QUARTER)
    assert flagged == [(over, "Q2")]
    line = parts(over, QUARTER, manifest)["spend"][0]
    row = q(con, "select projected, actual, variance_pct from marts.investment_spend where level = 'la' and "
                 "la_code = ? and period = ? and category = ? and spend_quarter = 'Q2'", over, QUARTER,
            line["category"])[0]
    assert row[:2] == (pytest.approx(line["projected"]["Q2"]), pytest.approx(line["actual"]["Q2"]))
    assert row[2] == pytest.approx(40, abs=0.2)


def test_risks_matrix_and_movement(built):
    con, accepted, manifest = built
    for code, period in accepted:
        p = parts(code, period, manifest)
        rows = q(con, "select risk_no, residual_rag, residual_matrix_rag, movement, rag_differs_from_matrix "
                      "from marts.risks where la_code = ? and period = ? order by 1", code, period)
        assert len(rows) == len(p["risks"]) <= 5
        for no, rrag, rmatrix, movement, differs in rows:
            assert rrag == rmatrix == p["risks"][no - 1]["residual_rag"]
            if period == "2026-27-Q1":
                assert movement == "new"
            elif no == 1 and (code, "2026-27-Q1") in accepted:
                assert movement == "escalated"  # the generator raises risk 1's residual likelihood in Q2
            assert differs == (manifest["plan_cases"].get(code) == "wrong_rag" and period == QUARTER and no == 1)
