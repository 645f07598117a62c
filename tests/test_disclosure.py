"""The recovery attack (tests/disclosure_attack.py) on a small publication from marts dbt built from the
committed sample (session fixture ``sample_warehouse``).

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
from sample_warehouse import copy_warehouse  # noqa: E402

from contracts import catalogue  # noqa: E402
from reports.data import load_neighbours, load_period  # noqa: E402
from reports.publish import publish  # noqa: E402

PERIOD = "2026-27-Q2"
VIEWER = "301"       # Barking and Dagenham: some of its neighbours' values are suppressed in the sample's marts


def _publish(wh: Path, out: Path, viewer: str = VIEWER) -> tuple[list[str], dict]:
    publish(wh, out, PERIOD, la_codes=[viewer], pdf=False, issued=date(2026, 11, 1))
    con = duckdb.connect(str(wh), read_only=True)
    try:
        truth = truth_from_warehouse(con, PERIOD, load_neighbours(wh))
    finally:
        con.close()
    return attack_publication(out / PERIOD, truth, workers=1)


@pytest.fixture()
def marts(sample_warehouse, tmp_path) -> Path:
    """A private copy: these tests make the marts leak on purpose."""
    return copy_warehouse(sample_warehouse, tmp_path / "wh")


def _suppressed_neighbours(wh: Path) -> list[tuple]:
    """(viewer, neighbour, indicator) where the marts suppress the neighbour's value, from the marts."""
    con = duckdb.connect(str(wh), read_only=True)
    try:
        return con.execute(
            """select n.la_code, n.sn_la_code, b.indicator_id from marts.neighbours as n
               join marts.benchmark as b on b.la_code = n.sn_la_code and b.period = ? and b.suppressed
               join marts.collection_status as s on s.la_code = n.la_code and s.period = ? and s.accepted
               order by 1, 2, 3""", [PERIOD, PERIOD]).fetchall()
    finally:
        con.close()


def test_nothing_comes_back_from_what_is_published(marts, tmp_path):
    con = duckdb.connect(str(marts), read_only=True)
    supp = {r[0] for r in con.execute("select suppression from marts.benchmark where period = ? and suppressed",
                                      [PERIOD]).fetchall()}
    con.close()
    assert supp == {"primary", "secondary"}       # small counts and the complementary values that protect them
    assert any(v == VIEWER for v, _, _ in _suppressed_neighbours(marts))
    leaks, stats = _publish(marts, tmp_path / "out")
    assert leaks == []
    assert stats["packs"] == 1 and stats["files"] >= 3 and stats["hidden_cases"] > 0
    assert stats["aggregates_read"] > 50 and stats["la_values_read"] > 50    # it did read the figures


def test_a_neighbours_average_over_a_suppressed_value_is_caught(marts, tmp_path):
    # make the marts do what issue 9 found: average over every neighbour with a value, c or not.
    # 308 Enfield's neighbour 301 has a mediation figure over a small count (c) in the sample.
    viewer, nb, ind = "308", "301", "mediation_no_appeal_pct"
    assert (viewer, nb, ind) in _suppressed_neighbours(marts)
    nbs = load_neighbours(marts)[viewer]
    con = duckdb.connect(str(marts))
    con.execute(f"""
        update marts.benchmark as b set sn_mean = x.m, sn_n = x.n, sn_n_suppressed = 0
        from (select avg(la_value) as m, count(la_value) as n, indicator_id, period from marts.benchmark
              where la_code in ({",".join("?" * len(nbs))}) group by all) as x
        where b.la_code = ? and b.indicator_id = x.indicator_id and b.period = x.period""", [*nbs, viewer])
    con.close()
    leaks, _ = _publish(marts, tmp_path / "out", viewer)
    assert any(x.startswith(f"{viewer} {ind}: neighbour {nb}") for x in leaks), leaks


def test_a_suppressed_value_shown_outright_is_caught(marts, tmp_path):
    (_, other, ind) = next(c for c in _suppressed_neighbours(marts) if c[0] == VIEWER)
    con = duckdb.connect(str(marts))
    con.execute("update marts.benchmark set suppressed = false where la_code = ?", [other])
    con.close()
    con = duckdb.connect(str(marts), read_only=True)
    truth = truth_from_warehouse(con, PERIOD, load_neighbours(marts))
    con.close()
    publish(marts, tmp_path / "out", PERIOD, la_codes=[VIEWER], pdf=False, issued=date(2026, 11, 1))
    truth.rows[(other, ind)]["suppressed"] = True    # the truth: it should have been c
    leaks, _ = attack_publication(tmp_path / "out" / PERIOD, truth, workers=1)
    assert any(other in x and "shown as" in x for x in leaks), leaks


def test_load_period_lists_every_la_with_its_collection_status(sample_warehouse):
    data = load_period(sample_warehouse, PERIOD)
    assert len(data.all_las()) == 153 and len(data.status) == 153
    assert data.collection_status("313") == "not_received" and not data.has_return("313")
    assert data.collection_status("801") == "rejected" and not data.has_return("801")
    assert data.has_return("301")
    assert len(data.indicators) == len(catalogue.load().indicators)
    assert data.las["301"]["new_la_code"] == "E09000002" and data.neighbours["301"][0] == "308"
    # what DfE holds is there for an LA without a return: attendance and exclusions, benchmarked
    for code in ("313", "801"):
        row = data.benchmark[(code, "att_overall_ehcp", PERIOD)]
        assert row["la_value"] is not None and row["term_label"] == "summer term 2025/26"
        assert data.trajectory.get((code, "att_overall_ehcp"))
        assert data.benchmark[(code, "ehcp_20_week", PERIOD)]["la_value"] is None
    nb = data.neighbour_summary("301", "exc_permanent_sen")
    assert nb["of"] == 10 and nb["n"] + nb["n_suppressed"] + nb["n_missing"] == 10
    assert nb["note"].startswith(f"average of {nb['n']} of 10 neighbours")


def test_shown_values_and_aggregates_follow_the_marts(sample_warehouse):
    data = load_period(sample_warehouse, PERIOD)
    (_, other, ind) = next(c for c in _suppressed_neighbours(sample_warehouse) if c[0] == VIEWER)
    row = data.benchmark[(other, ind, PERIOD)]
    assert row["suppressed"] and data.shown_value(row, other) == row["la_value"]   # its own pack
    assert data.shown_value(row, VIEWER) == "c"                                     # anyone else's
    dsg = data.benchmark[(VIEWER, "dsg_deficit_gbp_m", PERIOD)]
    assert data.shown_value(dsg, "301") == dsg["la_value"] and dsg["denominator"] is None
    withheld = [r for r in data.benchmark.values() if r["region_withheld"]]
    assert withheld and all(data.shown_aggregate(r, "region") == "c" for r in withheld)
    shown = next(r for r in data.benchmark.values() if r["region_value"] is not None)
    assert data.shown_aggregate(shown, "region") == shown["region_value"]
