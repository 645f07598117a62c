"""Backtest the forecaster on DfE's published annual series by LA (issue 21; README "Forecasts").

    uv run python -m benchmarks.forecast_backtest [--out DIR] [--calibration DIR] [--warehouse FILE]

Writes each series as a tidy CSV (``lsrp forecast`` reads them) and prints, per series, the backtest: the
mean absolute error of the method and of the naive forecast (last year's value) and the share of outcomes
inside the 80% interval.  The series: SEN2 requests for assessment, new EHC plans, 20-week timeliness and
the caseload by LA (calendar years 2019-2023, caseload January 2019-2024), NCCIS 16-17 NEET or not known
with an EHCP (2022-2024).  Files are looked for in the calibration folder (synthetic/calibration_data, or
LSRP_CALIBRATION_DIR) then in ../shared/calibration; a series whose file is in neither is skipped, said.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from contracts.catalogue import load
from forecasting import Row, Spec, backtest
from forecasting.tidy import write_series

REPO = Path(__file__).resolve().parent.parent
MISSING = {"", "x", "c", "z", "low", "u"}


def _num(s: str | None) -> float | None:
    s = (s or "").strip()
    if s.lower() in MISSING:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def folders(calibration: Path | None = None) -> list[Path]:
    import os

    first = calibration or Path(os.environ.get("LSRP_CALIBRATION_DIR") or REPO / "synthetic" / "calibration_data")
    return [first, REPO.parent / "shared" / "calibration"]


def _find(rel: str, dirs: list[Path]) -> Path | None:
    return next((d / rel for d in dirs if (d / rel).is_file()), None)


def _la_rows(path: Path, breakdown: str | None = None):
    with path.open(newline="", encoding="utf-8-sig") as fh:
        for r in csv.DictReader(fh):
            if r["geographic_level"] == "Local authority" and (breakdown is None or r.get("breakdown") == breakdown):
                yield r


def _count(rel, col, breakdown, dirs):
    """An LA count by year.  An LA figure equal to its region's total is left out as a publishing error
    (SEN2 2025 newplans.csv gives 15 Yorkshire and the Humber LAs the region's 6078 for 2022)."""
    p = _find(rel, dirs)
    if p is None:
        return None
    with p.open(newline="", encoding="utf-8-sig") as fh:
        region = {(r["region_name"], r["time_period"]): r[col] for r in csv.DictReader(fh)
                  if r["geographic_level"] == "Regional" and r.get("breakdown") == breakdown}
    return [Row(r["old_la_code"], r["time_period"],
                None if region.get((r["region_name"], r["time_period"])) == r[col] else _num(r[col]))
            for r in _la_rows(p, breakdown)]


def _timeliness(dirs):
    p = _find("ehcp/timeliness_20_week.csv", dirs)
    if p is None:
        return None
    out = []
    for r in _la_rows(p, "All EHC plans issued"):
        num, den = _num(r["plans_issued_20_weeks_ex"]), _num(r["plans_issued_den_ex"])
        ok = num is not None and den
        out.append(Row(r["old_la_code"], r["time_period"], 100 * num / den if ok else None,
                       num if ok else None, den if ok else None))
    return out


def _neet(dirs):
    out = []
    for year in (2022, 2023, 2024):
        p = _find(f"neet/UD_NEETNK_LA_dashboard_{year}_final.csv", dirs)
        if p is None:
            return None
        for r in _la_rows(p):
            if r.get("Age", "16-17") != "16-17" or not r.get("old_la_code"):
                continue
            pct, share, cohort = (_num(r.get(c)) for c in ("NEET_NK_EHCP_percent", "cohort_EHCP_percent",
                                                           "Cohort_DJFavg"))
            den = cohort * share / 100 if cohort is not None and share is not None else None
            ok = pct is not None and den
            out.append(Row(r["old_la_code"], str(year), pct if ok else None,
                           pct * den / 100 if ok else None, den if ok else None))
    return out


def published_series(dirs: list[Path]) -> dict[str, tuple[list[Row] | None, Spec]]:
    """name -> (rows or None if its file is missing, the spec it is forecast with)."""
    cat = load()
    return {
        "EHCP requests": (_count("ehcp/requests.csv", "requests_received_in_year",
                                 "All requests for EHC needs assessments", dirs), Spec()),
        "New EHC plans": (_count("ehcp/newplans.csv", "new_ehc_plans", "New EHC plans", dirs), Spec()),
        "20-week timeliness (%)": (_timeliness(dirs), Spec.of(cat.indicator("ehcp_20_week"))),
        "EHCP caseload": (_count("ehcp/caseload.csv", "ehcplans", "All EHC plans", dirs), Spec()),
        "NEET or not known, EHCP (%)": (_neet(dirs), Spec.of(cat.indicator("neet_ehcp"))),
    }


def warehouse_series(path: Path) -> dict[str, tuple[list[Row], Spec]]:
    """Each catalogue indicator's quarterly history in a built warehouse (intermediate.int_indicator_values),
    with the spec its catalogue entry gives: the sample's quarterly history."""
    import duckdb

    cat = load()
    con = duckdb.connect(str(path), read_only=True)
    try:
        data = con.execute("select indicator_id, la_code, period, value, numerator, denominator "
                           "from intermediate.int_indicator_values where period not like '%-Q0'").fetchall()
    finally:
        con.close()
    out: dict[str, tuple[list[Row], Spec]] = {}
    for ind in cat.indicators:
        rows = [Row(la, p, v, n if ind.is_rate else None, d if ind.is_rate else None)
                for i, la, p, v, n, d in data if i == ind.id]
        out[ind.id] = (rows, Spec.of(ind))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write each series here as a tidy CSV")
    ap.add_argument("--calibration", type=Path, help="the published files (default: synthetic/calibration_data)")
    ap.add_argument("--warehouse", type=Path, help="backtest the quarterly history in this built warehouse instead")
    args = ap.parse_args(argv)
    if args.warehouse:
        print(f"{'indicator':26} {'periods':>21} {'forecasts':>9} {'MAE':>9} {'naive MAE':>9} {'in 80%':>7}")
        for name, (rows, spec) in warehouse_series(args.warehouse).items():
            periods = sorted({r.period for r in rows})
            span = f"{periods[0]} to {periods[-1]}" if periods else ""
            try:
                b = backtest(rows, spec)
            except ValueError as e:
                print(f"{name:26} {span:>21} no backtest: {e}")
                continue
            print(f"{name:26} {span:>21} {b.n:>9} {b.mae:>9.3g} {b.mae_naive:>9.3g} {b.coverage:>7.1%}")
        return 0
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    print(f"{'series':30} {'periods':>11} {'forecasts':>9} {'MAE':>9} {'naive MAE':>9} {'in 80%':>7}")
    for name, (rows, spec) in published_series(folders(args.calibration)).items():
        if rows is None:
            print(f"{name:30} skipped: its published file is not in {', '.join(map(str, folders(args.calibration)))}")
            continue
        if args.out:
            write_series(rows, args.out / (name.split(" (")[0].lower().replace(" ", "_").replace(",", "") + ".csv"))
        b = backtest(rows, spec)
        periods = sorted({r.period for r in rows})
        print(f"{name:30} {periods[0] + '-' + periods[-1]:>11} {b.n:>9} {b.mae:>9.3g} {b.mae_naive:>9.3g} "
              f"{b.coverage:>7.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
