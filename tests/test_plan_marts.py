"""The plan marts (issue 10) on a real warehouse: the generated sample's returns for 10 LAs, Q1 and Q2,
through the product's ingest code and a real `dbt build` of delivery_milestones, investment_spend and
risks (with their tests).  Expected figures come from synthetic.plan_sample (the generator's own
inputs), never from the warehouse."""
import json
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from contracts.findings import REJECTED
from pipeline import dbt_args, ingest, paths, warehouse
from synthetic import plan_sample, sample
from synthetic.calibration import read_las

QUARTER = "2026-27-Q2"
PERIODS = ("2026-27-Q1", "2026-27-Q2")
CODES = ["301", "308", "330", "892", "942", "815", "886", "801", "808", "873"]
SEED = 2026
SELECT = "+delivery_milestones +investment_spend +risks +collection_status +trajectory"


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
    results = {}
    for period in PERIODS:
        for f in sorted((src / period).glob("*.xlsx")):
            la = ingest.la_code_from_name(f.name)
            up = ingest.archive_upload(f, f"{period}/{la}", tmp / "archive")
            result = ingest.check_upload(con, up, la, period)
            warehouse.record_submission(con, result, up.archive_path, up.received_datetime,
                                        la_code=la, year=period[:7], quarter=period[-2:])
            results[(la, period)] = result
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
    yield con, accepted, manifest, results
    con.close()


def parts(code: str, period: str, manifest) -> dict:
    la = next(r for r in read_las() if r["old_la_code"] == code)
    cases = (manifest["plan_cases"][code],) if period == QUARTER and code in manifest["plan_cases"] else ()
    return plan_sample.plan_parts(la, period[:7], period[-2:], SEED, cases)


def q(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def test_milestones_status_and_slippage(built):
    con, accepted, manifest, _ = built
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
    con, accepted, manifest, _ = built
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
    con, accepted, manifest, _ = built
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


def test_support_view_lists_exactly_the_las_meeting_a_threshold(built, tmp_path):
    """Expected LAs derived from the sample's own inputs (plan_sample, the validation results, the LA
    list), except off-trajectory, which comes from marts.trajectory's statuses for accepted returns (one
    verdict, issue 20: a return not accepted has none this quarter)."""
    import csv as csv_mod

    from reports import support

    con, accepted, manifest, results = built
    th = support.load_thresholds()
    expected: dict[str, set[str]] = {}

    def add(code, reason):
        expected.setdefault(code, set()).add(reason)

    all_codes = {r["old_la_code"] for r in read_las()}
    for code in all_codes:
        if (code, QUARTER) not in accepted:
            add(code, "return_missing_or_rejected")  # not received (143 LAs) or rejected
    for code, period in accepted:
        if period != QUARTER:
            continue
        p = parts(code, QUARTER, manifest)
        ms = [m for w in p["workstreams"] for mq, m in w["milestones"].items()]
        q_end = __import__("datetime").date(2026, 9, 30)
        if any(m["status"] == "Delayed" or (m["due_date"] <= q_end and m["status"] == "Not started") for m in ms):
            add(code, "milestones_slipped")
        if any(r["residual_rag"] == "Red" for r in p["risks"]):
            add(code, "red_residual_risks")
        if manifest["plan_cases"].get(code) == "overspend":
            add(code, "spend_variance")
        if any(not f.resolved for f in results[(code, QUARTER)].queries):
            add(code, "queries_without_reason")
    headline = th["off_trajectory"]["headline_indicators"]
    for code, n in q(con, "select la_code, count(*) from marts.trajectory where period = ? and status = 'missed' "
                          "and indicator_id in (select unnest(?)) group by 1", QUARTER, headline):
        if n >= th["off_trajectory"]["min_missed"] and (code, QUARTER) in accepted:
            add(code, "off_trajectory")

    out = support.write_support(con, QUARTER, tmp_path)
    assert set(out["flagged"]) == set(expected) and set(out["listed"]) <= set(expected)
    got = {a.la_code: {f.reason for f in a.flags} for a in support.assess(con, QUARTER, th)}
    assert {c: r for c, r in got.items() if r} == expected
    assert any("milestones_slipped" in r for r in expected.values())
    assert any("red_residual_risks" in r for r in expected.values())
    # CSV: one row per LA and reason (every LA flagged); HTML: a sortable table of the short list, each LA's
    # evidence linked and every reason's evidence headed
    with out["csv"].open(encoding="utf-8") as fh:
        rows = list(csv_mod.DictReader(fh))
    assert len(rows) == sum(len(r) for r in expected.values())
    html = out["html"].read_text(encoding="utf-8")
    assert 'class="sortable"' in html
    assert re.search(r"[\w.]+@[\w-]+\.(gov\.uk|nhs\.net)", html) is None  # emails never shown here
    for code in out["listed"]:
        assert f'href="#ev-{code}"' in html and f'id="ev-{code}"' in html
        for reason in expected[code]:
            assert f'id="la-{code}-{reason}"' in html
    # the thresholds are data: raising one drops its LAs
    strict = {**th, "spend_variance": {"min_lines_over": 99}}
    assert all("spend_variance" not in {f.reason for f in a.flags} for a in support.assess(con, QUARTER, strict))
