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
import yaml

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
    if ind.polarity == "neutral":   # no "better" direction: no status (as the trajectory mart)
        return None, None
    else:
        better = -gap if ind.polarity == "low" else gap
        ok, within = better >= 0, better >= -ind.tolerance
    if ok:
        return "met", "green"
    if within:
        return "within tolerance", "amber"
    return "missed", "red"


def mart_columns(model: str) -> list[tuple[str, str]]:
    """(column, type) of a mart from its dbt contract (models/marts/<model>.yml): the one place the
    columns are declared, so this copy cannot drift from the real marts."""
    doc = yaml.safe_load((DBT_PROJECT_DIR / "models" / "marts" / f"{model}.yml").read_text(encoding="utf-8"))
    m = next(x for x in doc["models"] if x["name"] == model)
    return [(c["name"], c["data_type"]) for c in m["columns"]]


def _mart_ddl(model: str) -> str:
    cols = ", ".join(f'"{c}" {t}' for c, t in mart_columns(model))
    return f"create or replace table marts.{model} ({cols});"


def _ordered(model: str, rows: list[dict]) -> list[tuple]:
    names = [c for c, _ in mart_columns(model)]
    return [tuple(r.get(c) for c in names) for r in rows]


# ---- the verdict rules, as the marts apply them (dbt_project/models/intermediate/int_indicator_verdicts.sql)
def _term_label(ind, period: str) -> str | None:
    if ind.source != "dfe_held":
        return None
    spec = catalogue.load().dfe_held_terms[period[-2:] if "-Q" in period else "Q4"]
    start = int(period[:4]) + int(spec["year_offset"])
    return f"{spec['time_identifier'].lower()} {start}/{(start + 1) % 100:02d}"


def _suppressed(ind, num, den) -> bool:
    return ind.small_count_suppression and any(x is not None and 0 < x < 5 for x in (num, den))


def _small_base(ind, den) -> bool:
    return bool(ind.is_rate and ind.min_denominator and den is not None and den < ind.min_denominator)


def _wilson(ind, num, den):
    if not ind.is_proportion or not den or num is None or not 0 <= num <= den:
        return None, None
    z, p = 1.96, num / den
    c, h = p + z * z / (2 * den), z * (p * (1 - p) / den + z * z / (4 * den * den)) ** 0.5
    return (c - h) / (1 + z * z / den) * ind.multiplier, (c + h) / (1 + z * z / den) * ind.multiplier


def _change(ind, period: str, value, prev, small: bool) -> dict:
    """Change on a like-for-like basis.  The fixture holds one year, so seasonal measures have none."""
    q = int(period[-1])
    if ind.seasonal:
        basis = "same term a year earlier" if ind.period_basis == "term" else "same quarter a year earlier"
        note = "no same term a year earlier yet" if ind.period_basis == "term" else "no same quarter a year earlier yet"
        return {"change_basis": basis, "change_note": note, "change_value": None, "change_direction": "not comparable",
                "change_prev_quarter": None}
    pro = ind.compare_targets == "pro_rata"
    basis = "previous quarter, annualised" if pro else "previous quarter"
    if value is None or prev is None:
        return {"change_basis": basis, "change_note": "no previous quarter yet" if value is not None else
                "no value this quarter", "change_value": None, "change_direction": "not comparable",
                "change_prev_quarter": None}
    delta = value * 4 / q - prev * 4 / (q - 1) if pro and q > 1 else value - prev
    if small:
        return {"change_basis": basis, "change_note": "small numbers: change not assessed", "change_value": None,
                "change_direction": "not comparable", "change_prev_quarter": delta}
    if abs(round(delta, ind.decimals)) <= ind.no_change_band + 1e-9:
        direction = "no meaningful change"
    elif ind.polarity == "neutral":
        direction = "increased" if delta > 0 else "decreased"
    else:
        direction = "improved" if (delta > 0) == (ind.polarity == "high") else "worsened"
    return {"change_basis": basis, "change_note": None, "change_value": delta, "change_direction": direction,
            "change_prev_quarter": delta}


def _complementary(ind, have: dict, supp: set, las: dict) -> set:
    """Secondary suppression as int_disclosure.sql: where England, then a region, has exactly one
    withheld value, withhold the smallest-denominator other value too (same region first)."""
    region = lambda c: las[c]["region_name"]  # noqa: E731
    extra: set = set()
    if len(supp) == 1:
        (p,) = supp
        cands = sorted((c for c in have if c not in supp),
                       key=lambda c: (region(c) != region(p), have[c][1] or 0, c))
        extra |= set(cands[:1])
    withheld = supp | extra
    for r in {region(c) for c in withheld}:
        if sum(1 for c in withheld if region(c) == r) == 1:
            cands = sorted((c for c in have if region(c) == r and c not in withheld), key=lambda c: (have[c][1] or 0, c))
            extra |= set(cands[:1])
    return extra


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
                if ind.compare_targets == "pro_rata":   # a year-to-date count accumulates: Qn holds n/4 of a year
                    v *= int(period[-1]) / 4
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
    con.execute(DDL + _mart_ddl("trajectory") + _mart_ddl("benchmark"))
    bench_rows, traj_rows = [], []
    changes: dict[tuple[str, str, str], dict] = {}
    for ind in cat.indicators:
        prev_of: dict[str, float | None] = {}
        for period in periods:
            have = {c: vals[(c, ind.id, period)] for c in codes if (c, ind.id, period) in vals}
            supp = {c for c, v in have.items() if _suppressed(ind, v[0], v[1])}
            supp |= _complementary(ind, have, supp, las)
            small = {c for c, v in have.items() if _small_base(ind, v[1])}
            for c in codes:
                v = have.get(c)
                changes[(c, ind.id, period)] = _change(ind, period, v and v[2], prev_of.get(c),
                                                       c in small) if v else _change(ind, period, None, None, False)
                prev_of[c] = v[2] if v else None
            if ind.is_rate:
                eng = sum(v[0] for v in have.values()) / sum(v[1] for v in have.values()) * ind.multiplier
            else:
                eng = sum(v[2] for v in have.values()) / len(have)
            by_region: dict[str, list] = {}
            for c, v in have.items():
                by_region.setdefault(las[c]["region_name"], []).append((c, v))
            reg = {
                r: ((sum(x[0] for _, x in vs) / sum(x[1] for _, x in vs) * ind.multiplier) if ind.is_rate
                    else sum(x[2] for _, x in vs) / len(vs), len(vs), sum(1 for k, _ in vs if k in supp))
                for r, vs in by_region.items()
            }
            ranked = [c for c in have if c not in small]
            order = sorted(ranked, key=lambda c: have[c][2], reverse=(ind.polarity == "high"))
            n = len(order)
            for c in codes:
                region = las[c]["region_name"]
                v = have.get(c)
                num, den, value = v if v else (None, None, None)
                shown = [have[s][2] for s in sns.get(c, []) if s in have and s not in supp]
                rank = band = None
                if v and ind.polarity != "neutral" and c not in small:
                    rank = order.index(c) + 1
                    band = "ABCD"[min(3, int((rank - 1) * 4 / n))]
                r_val, r_n, r_supp = reg.get(region, (None, 0, 0))
                s_region = r_supp - (1 if c in supp else 0)
                s_outside = len(supp) - r_supp
                region_withheld = s_region == 1
                england_withheld = (s_region + s_outside == 1) or (s_region != 1 and s_outside == 1)
                lo, hi = _wilson(ind, num, den) if v else (None, None)
                chg = changes[(c, ind.id, period)]
                bench_rows.append({
                    "la_code": c, "la_name": las[c]["la_name"], "region_name": region, "indicator_id": ind.id,
                    "period": period, "numerator": num, "denominator": den if ind.is_rate else None,
                    "la_value": value, "england_value": None if england_withheld else eng, "england_n_las": len(have),
                    "region_value": None if region_withheld else r_val, "region_n_las": r_n,
                    "sn_mean": (sum(shown) / len(shown)) if shown else None, "sn_n": len(shown),
                    "rank": rank, "n_ranked": n if rank else None, "quartile_band": band, "polarity": ind.polarity,
                    "period_basis": ind.period_basis, "term_label": _term_label(ind, period),
                    "suppressed": c in supp, "small_base": c in small, "ci_low": lo, "ci_high": hi,
                    "suppression": None if c not in supp else (
                        "primary" if _suppressed(ind, num, den) else "secondary"),
                    "sn_n_suppressed": sum(1 for s in sns.get(c, []) if s in supp),
                    "sn_n_missing": sum(1 for s in sns.get(c, []) if s not in have),
                    "region_withheld": region_withheld, "england_withheld": england_withheld,
                    **{k: chg[k] for k in ("change_value", "change_basis", "change_note", "change_direction")},
                })
        # trajectory: every LA with a baseline (returned LAs, and all LAs for DfE-held)
        for c in codes:
            if ind.source == "la_return" and c not in returned:
                continue
            b = base[(c, ind.id)]
            step = (-1 if ind.polarity == "low" else 1) * abs(b) * 0.02
            for i, period in enumerate(QUARTER_PERIODS + YEAR_ENDS):
                target = b + step * (i + 1) * (3 if period in YEAR_ENDS else 1)
                actual_period = period if period in QUARTER_PERIODS else period + "-Q4"
                num, den, actual = vals.get((c, ind.id, actual_period), (None, None, None))
                factor = (int(period[-1]) / 4 if ind.compare_targets == "pro_rata" and period in QUARTER_PERIODS
                          else 1.0)
                small = _small_base(ind, den) if actual is not None else False
                st, rag = _status(ind, actual, target * factor) if not small else (None, None)
                chg = changes.get((c, ind.id, actual_period)) or _change(ind, actual_period, None, None, False)
                lo, hi = _wilson(ind, num, den) if actual is not None else (None, None)
                traj_rows.append({
                    "la_code": c, "la_name": las[c]["la_name"], "region_name": las[c]["region_name"],
                    "indicator_id": ind.id, "period": period,
                    "period_type": "year_end" if period in YEAR_ENDS else "quarter", "baseline_value": b,
                    "baseline_period": "2025-26", "target_value": target, "actual_value": actual,
                    "gap_to_target": (actual - target * factor) if actual is not None else None,
                    "status": st, "rag": rag,
                    "change_prev_quarter": chg["change_prev_quarter"] if period in QUARTER_PERIODS else None,
                    "change_prev_year": None, "period_basis": ind.period_basis,
                    "term_label": _term_label(ind, actual_period), "comparable_target": target * factor,
                    "comparable_baseline": b * factor, "numerator": num, "denominator": den if ind.is_rate else None,
                    "small_base": small, "ci_low": lo, "ci_high": hi,
                    **{k: chg[k] for k in ("change_value", "change_basis", "change_note", "change_direction")},
                })
    _bulk(con, "marts.benchmark", _ordered("benchmark", bench_rows))
    _bulk(con, "marts.trajectory", _ordered("trajectory", traj_rows))

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
