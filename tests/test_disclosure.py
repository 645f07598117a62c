"""The recovery attack (tests/disclosure_attack.py) on a small publication from the synthetic marts.

It must find nothing in what is published, and it must find the leak when the marts are made to leak
the way issue 9 found: a neighbours' average taken over a suppressed neighbour (with the count printed),
or a suppressed value shown outright.  The full sample's publication is attacked in
tests/test_full_sample_warehouse.py.
"""
from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from disclosure_attack import attack_publication, truth_from_warehouse  # noqa: E402
from fixtures_marts import build_marts  # noqa: E402

from reports.data import load_neighbours, load_period  # noqa: E402
from reports.publish import publish  # noqa: E402

PERIOD = "2026-27-Q2"
VIEWER = "301"       # Barking and Dagenham; its neighbour 313 Hounslow has 3 permanent exclusions (a small count)


def _publish(wh: Path, out: Path, viewer: str = VIEWER) -> tuple[list[str], dict]:
    publish(wh, out, PERIOD, la_codes=[viewer], pdf=False, issued=date(2026, 11, 1))
    con = duckdb.connect(str(wh), read_only=True)
    try:
        truth = truth_from_warehouse(con, PERIOD, load_neighbours())
    finally:
        con.close()
    return attack_publication(out / PERIOD, truth, workers=1)


@pytest.fixture()
def marts(tmp_path) -> Path:
    return build_marts(tmp_path / "wh.duckdb")


def test_nothing_comes_back_from_what_is_published(marts, tmp_path):
    con = duckdb.connect(str(marts), read_only=True)
    supp = con.execute("select la_code, suppression from marts.benchmark where indicator_id = 'exc_permanent_sen' "
                       "and period = ? and suppressed order by 1", [PERIOD]).fetchall()
    con.close()
    assert ("313", "primary") in supp and len(supp) >= 2       # and a complementary value
    leaks, stats = _publish(marts, tmp_path / "out")
    assert leaks == []
    assert stats["packs"] == 1 and stats["files"] >= 3 and stats["hidden_cases"] > 0
    assert stats["aggregates_read"] > 50 and stats["la_values_read"] > 50    # it did read the figures


def test_a_neighbours_average_over_a_suppressed_value_is_caught(marts, tmp_path):
    # make the marts do what issue 9 found: average over every neighbour with a value, c or not.
    # Luton's neighbours with data are 313 (3 of 4 mediation cases: c) and 301.
    viewer = "821"
    nbs = load_neighbours()[viewer]
    con = duckdb.connect(str(marts))
    con.execute(f"""
        update marts.benchmark as b set sn_mean = x.m, sn_n = x.n, sn_n_suppressed = 0
        from (select avg(la_value) as m, count(la_value) as n, indicator_id, period from marts.benchmark
              where la_code in ({",".join("?" * len(nbs))}) group by all) as x
        where b.la_code = ? and b.indicator_id = x.indicator_id and b.period = x.period""", [*nbs, viewer])
    con.close()
    leaks, _ = _publish(marts, tmp_path / "out", viewer)
    assert any(x.startswith(f"{viewer} mediation_no_appeal_pct: neighbour 313") for x in leaks), leaks


def test_a_suppressed_value_shown_outright_is_caught(marts, tmp_path):
    con = duckdb.connect(str(marts))
    con.execute("update marts.benchmark set suppressed = false where la_code = '313'")
    con.close()
    con = duckdb.connect(str(marts), read_only=True)
    truth = truth_from_warehouse(con, PERIOD, load_neighbours())
    con.close()
    publish(marts, tmp_path / "out", PERIOD, la_codes=[VIEWER], pdf=False, issued=date(2026, 11, 1))
    truth.rows[("313", "exc_permanent_sen")]["suppressed"] = True    # the truth: it should have been c
    leaks, _ = attack_publication(tmp_path / "out" / PERIOD, truth, workers=1)
    assert any("313" in x and "shown as" in x for x in leaks), leaks


def test_load_period_lists_every_la_with_its_collection_status(tmp_path):
    wh = build_marts(tmp_path / "wh.duckdb", la_codes="all", not_received=("873", "301"), rejected=("308",))
    data = load_period(wh, PERIOD)
    assert len(data.all_las()) == 153 and len(data.status) == 153
    assert data.collection_status("301") == "not_received" and not data.has_return("301")
    assert data.collection_status("308") == "rejected" and not data.has_return("308")
    assert data.has_return("821")
    # what DfE holds is there for an LA without a return: attendance and exclusions, benchmarked
    for code in ("301", "308"):
        row = data.benchmark[(code, "att_overall_ehcp", PERIOD)]
        assert row["la_value"] is not None and row["term_label"] == "summer term 2025/26"
        assert data.trajectory.get((code, "att_overall_ehcp"))
        assert data.benchmark[(code, "ehcp_20_week", PERIOD)]["la_value"] is None
    nb = data.neighbour_summary("821", "exc_permanent_sen")
    assert nb["of"] == 10 and nb["n"] + nb["n_suppressed"] + nb["n_missing"] == 10
    assert nb["note"].startswith(f"average of {nb['n']} of 10 neighbours")


def test_shown_values_and_aggregates_follow_the_marts(marts):
    data = load_period(marts, PERIOD)
    row = data.benchmark[("313", "exc_permanent_sen", PERIOD)]
    assert row["suppressed"] and data.shown_value(row, "313") == row["la_value"]   # its own pack
    assert data.shown_value(row, "301") == "c"                                      # anyone else's
    dsg = data.benchmark[("313", "dsg_deficit_gbp_m", PERIOD)]
    assert data.shown_value(dsg, "301") == dsg["la_value"] and dsg["denominator"] is None
    withheld = [r for r in data.benchmark.values() if r["region_withheld"]]
    assert withheld and all(data.shown_aggregate(r, "region") == "c" for r in withheld)
    shown = next(r for r in data.benchmark.values() if r["region_value"] is not None)
    assert data.shown_aggregate(shown, "region") == shown["region_value"]
