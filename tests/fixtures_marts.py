"""A small synthetic warehouse with the documented marts (docs/design.md) and raw.findings.

Used by the report tests (and to measure a full 153-LA publish).  Values are random but
internally consistent: England and regional figures are pooled, neighbour means follow the
seeded statistical neighbours, ranks follow polarity, statuses follow the catalogue tolerance.
"""
from __future__ import annotations

import csv
import os
import random
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from contracts import catalogue
from pipeline.paths import DBT_PROJECT_DIR

SEEDS = DBT_PROJECT_DIR / "seeds"
DEFAULT_LAS = ["301", "308", "821", "313", "333", "873"]   # Barking and Dagenham + 3 of its neighbours + 2
QUARTER_PERIODS = ["2026-27-Q1", "2026-27-Q2", "2026-27-Q3", "2026-27-Q4"]
YEAR_ENDS = ["2026-27", "2027-28", "2028-29"]

# plausible centre values per unit (value, denominator range)
_RANGES = {
    "%": (20.0, 60.0), "per 100 pupils": (0.5, 20.0), "per 10,000": (30.0, 500.0),
    "per 1,000 pupils": (5.0, 40.0), "GBP m": (-5.0, 90.0),
}
_OVERRIDE = {
    "att_overall_ehcp": (10.0, 18.0), "att_overall_sen_support": (7.0, 12.0),
    "att_persistent_ehcp": (25.0, 45.0), "att_unauthorised_sen": (1.5, 5.0),
    "exc_permanent_sen": (0.05, 0.4), "ehcp_20_week": (20.0, 95.0),
    "placement_mainstream": (30.0, 55.0), "placement_independent": (3.0, 15.0),
    "hn_spend_vs_budget": (90.0, 115.0), "iss_spend_share": (5.0, 25.0),
    "mediation_no_appeal_pct": (60.0, 95.0), "parent_positive_pct": (40.0, 80.0),
}


def _las() -> dict[str, dict]:
    with open(SEEDS / "ref_las.csv", newline="", encoding="utf-8") as f:
        return {r["old_la_code"]: r for r in csv.DictReader(f)}


def _neighbours() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    with open(SEEDS / "ref_statistical_neighbours.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            out.setdefault(r["old_la_code"], []).append(r["sn_old_la_code"])
    return out


def _status(ind, actual, target):
    if actual is None or target is None:
        return None, None
    gap = actual - target
    if ind.polarity == "neutral":
        ok = abs(gap) <= 0
        within = abs(gap) <= ind.tolerance
    else:
        better = -gap if ind.polarity == "low" else gap
        ok, within = better >= 0, better >= -ind.tolerance
    if ok:
        return "met", "green"
    if within:
        return "within tolerance", "amber"
    return "missed", "red"


def _bulk(con, table: str, rows: list[tuple]) -> None:
    """Fast insert through a CSV file (executemany is slow for the 153-LA warehouse)."""
    if not rows:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False, encoding="utf-8") as f:
        w = csv.writer(f)
        for r in rows:
            w.writerow(["\\N" if v is None else (v.isoformat(sep=" ") if isinstance(v, datetime) else v) for v in r])
        name = f.name
    try:
        con.execute(f"copy {table} from '{name}' (format csv, header false, nullstr '\\N')")
    finally:
        os.unlink(name)


DDL = """
create schema if not exists raw; create schema if not exists marts;
create or replace table marts.trajectory (la_code varchar, la_name varchar, region_name varchar, indicator_id varchar,
  period varchar, period_type varchar, baseline_value double, baseline_period varchar, target_value double,
  actual_value double, gap_to_target double, status varchar, rag varchar, change_prev_quarter double, change_prev_year double);
create or replace table marts.benchmark (la_code varchar, la_name varchar, region_name varchar, indicator_id varchar,
  period varchar, numerator double, denominator double, la_value double, england_value double, england_n_las integer,
  region_value double, region_n_las integer, sn_mean double, sn_n integer, rank integer, n_ranked integer, quartile_band varchar);
create or replace table marts.collection_status (la_code varchar, la_name varchar, region_name varchar, period varchar,
  received boolean, accepted boolean, status varchar, n_errors integer, n_queries integer, n_unresolved_queries integer,
  n_submissions integer, n_resubmissions integer, latest_submission_at timestamp, latest_submission_id varchar);
create or replace table marts.revisions (la_code varchar, item_id varchar, quarter_period varchar, earlier_value double,
  later_value double, earlier_submission_id varchar, later_submission_id varchar, earlier_received_at timestamp,
  later_received_at timestamp);
create or replace table raw.findings (submission_id varchar, file_name varchar, la_code varchar, period varchar,
  level varchar, rule varchar, sheet varchar, cell varchar, value varchar, message varchar, resolved boolean);
"""


def build_marts(
    path: Path,
    la_codes: list[str] | str | None = None,
    periods: tuple[str, ...] = ("2026-27-Q1", "2026-27-Q2"),
    seed: int = 7,
    not_received: tuple[str, ...] = ("873",),
    rejected: tuple[str, ...] = (),
    small_count_la: str | None = "313",
    bump: dict[tuple[str, str], float] | None = None,
) -> Path:
    """Write a DuckDB file at ``path`` holding marts.* and raw.findings. ``la_codes='all'`` = all 153."""
    cat = catalogue.load()
    las = _las()
    codes = list(las) if la_codes == "all" else list(la_codes or DEFAULT_LAS)
    sns = _neighbours()
    rng = random.Random(seed)
    bump = bump or {}
    returned = [c for c in codes if c not in not_received and c not in rejected]

    # --- raw numerators/denominators per LA, indicator, period
    vals: dict[tuple[str, str, str], tuple[float | None, float | None, float]] = {}
    base: dict[tuple[str, str], float] = {}
    for code in codes:
        for ind in cat.indicators:
            lo, hi = _OVERRIDE.get(ind.id, _RANGES.get(ind.unit, (10.0, 50.0)))
            centre = rng.uniform(lo, hi)
            base[(code, ind.id)] = centre
            for q, period in enumerate(periods):
                if ind.source == "la_return" and code not in returned:
                    continue
                v = centre + rng.gauss(0, (hi - lo) * 0.04) + (q * (hi - lo) * 0.01)
                v += bump.get((code, ind.id), 0.0)
                if ind.is_rate:
                    den = float(rng.randint(300, 8000))
                    if ind.multiplier >= 10000:
                        den = float(rng.randint(50000, 400000))
                    num = round(v * den / ind.multiplier)
                    if code == small_count_la and ind.id in ("exc_permanent_sen", "mediation_no_appeal_pct"):
                        num, den = 3.0, (1200.0 if ind.id == "exc_permanent_sen" else 4.0)
                    value = num / den * ind.multiplier
                else:
                    num, den, value = v / ind.multiplier, None, v
                vals[(code, ind.id, period)] = (num, den, value)

    con = duckdb.connect(str(path))
    con.execute(DDL)
    bench_rows, traj_rows = [], []
    for ind in cat.indicators:
        for period in periods:
            have = {c: vals[(c, ind.id, period)] for c in codes if (c, ind.id, period) in vals}
            if ind.is_rate:
                eng = sum(v[0] for v in have.values()) / sum(v[1] for v in have.values()) * ind.multiplier
            else:
                eng = sum(v[2] for v in have.values()) / len(have)
            by_region: dict[str, list] = {}
            for c, v in have.items():
                by_region.setdefault(las[c]["region_name"], []).append(v)
            reg = {
                r: ((sum(x[0] for x in vs) / sum(x[1] for x in vs) * ind.multiplier) if ind.is_rate
                    else sum(x[2] for x in vs) / len(vs), len(vs))
                for r, vs in by_region.items()
            }
            order = sorted(have, key=lambda c: have[c][2], reverse=(ind.polarity == "high"))
            n = len(order)
            for c, (num, den, value) in have.items():
                nb = [have[s][2] for s in sns.get(c, []) if s in have]
                rank = order.index(c) + 1 if ind.polarity != "neutral" else None
                band = None
                if rank is not None:
                    band = "ABCD"[min(3, int((rank - 1) * 4 / n))]
                region = las[c]["region_name"]
                bench_rows.append((c, las[c]["la_name"], region, ind.id, period, num, den, value, eng, n,
                                   reg[region][0], reg[region][1], (sum(nb) / len(nb)) if nb else None,
                                   len(nb), rank, n if rank else None, band))
        # trajectory: every LA with a baseline (returned LAs, and all LAs for DfE-held)
        for c in codes:
            if ind.source == "la_return" and c not in returned:
                continue
            b = base[(c, ind.id)]
            step = (-1 if ind.polarity == "low" else 1) * abs(b) * 0.02
            prev = None
            for i, period in enumerate(QUARTER_PERIODS + YEAR_ENDS):
                target = b + step * (i + 1) * (3 if period in YEAR_ENDS else 1)
                actual = vals.get((c, ind.id, period), (None, None, None))[2]
                st, rag = _status(ind, actual, target)
                chg = (actual - prev) if (actual is not None and prev is not None) else None
                traj_rows.append((c, las[c]["la_name"], las[c]["region_name"], ind.id, period,
                                  "year_end" if period in YEAR_ENDS else "quarter", b, "2025-26", target, actual,
                                  (actual - target) if actual is not None else None, st, rag, chg, None))
                if period in QUARTER_PERIODS:
                    prev = actual
    _bulk(con, "marts.benchmark", bench_rows)
    _bulk(con, "marts.trajectory", traj_rows)

    t0 = datetime(2026, 10, 20, 9, 0)
    cs_rows, find_rows = [], []
    for period in periods:
        for k, c in enumerate(codes):
            sub = f"sub-{c}-{period}"
            if c in not_received:
                cs_rows.append((c, las[c]["la_name"], las[c]["region_name"], period, False, False, "not_received",
                                0, 0, 0, 0, 0, None, None))
                continue
            status = "rejected" if c in rejected else ("accepted_with_queries" if k % 2 == 0 else "accepted")
            nq = 2 if status == "accepted_with_queries" else 0
            cs_rows.append((c, las[c]["la_name"], las[c]["region_name"], period, True, status != "rejected", status,
                            1 if status == "rejected" else 0, nq, 1 if nq else 0, 2 if k == 0 else 1, 1 if k == 0 else 0,
                            t0 + timedelta(hours=k), sub))
            fname = f"lsrp-quarterly-return-September-2026-{c}-x.xlsx"
            if nq:
                find_rows.append((sub, fname, c, period, "query", "Q01", "Quarterly Return Template", "F20", "812",
                                  "EHCPs maintained moved by 62% on the previous quarter. Action required: check the "
                                  "figure or give a reason in the notes column.", False))
                find_rows.append((sub, fname, c, period, "query", "Q04", "Quarterly Return Template", "E31", "44",
                                  "Q1 value was revised. Action required: give a reason.", True))
            if status == "rejected":
                find_rows.append((sub, fname, c, period, "error", "E05", "Quarterly Return Template", "D12", "abc",
                                  "Value is not a number. Action required: enter a number.", False))
    _bulk(con, "marts.collection_status", cs_rows)
    _bulk(con, "raw.findings", find_rows)
    if len(periods) > 1 and returned:
        c = returned[0]
        con.execute("insert into marts.revisions values (?,?,?,?,?,?,?,?,?)",
                    [c, "ehcps_maintained", periods[0], 2410.0, 2455.0, f"sub-{c}-{periods[0]}",
                     f"sub-{c}-{periods[1]}", t0 - timedelta(days=90), t0])
    con.close()
    return Path(path)
