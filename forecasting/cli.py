"""``lsrp forecast FILE.csv [--horizon N] [--level 80] [--backtest] [--out OUT.csv]``: the logic behind the command.

Reads a tidy series (forecasting/tidy.py), writes each area's projections with their bounds (to OUT.csv or
standard output), or with ``--backtest`` prints the method's mean absolute error against the naive
forecast and the share of outcomes inside the interval.  Bad input is one line on standard error, exit 2.
"""
from __future__ import annotations

import sys
from pathlib import Path

from forecasting.series import Spec, backtest, forecast
from forecasting.tidy import SeriesError, read_series, write_projections


def run(path: Path, horizon: int | None = None, level: float = 80, do_backtest: bool = False,
        out: Path | None = None, period_basis: str = "point_in_time", seasonal: bool = False) -> int:
    try:
        if not 50 <= level < 100:
            raise SeriesError(f"--level {level:g}: give the interval's coverage in per cent, 50 to 99")
        if horizon is not None and horizon < 1:
            raise SeriesError(f"--horizon {horizon}: at least one step ahead")
        rows = read_series(path)
        # on the command line a year-to-date series is a count that accumulates (projected to the full year)
        spec = Spec(period_basis=period_basis, seasonal=seasonal, level=level / 100,
                    compare_targets="pro_rata" if period_basis == "year_to_date" else "as_is")
        if do_backtest:
            b = backtest(rows, spec, horizon)
            print(f"{Path(path).name}: {b.n} forecasts from origins {', '.join(b.origins)}; mean absolute error "
                  f"{b.mae:.4g} (naive {b.mae_naive:.4g}, ratio {b.mae / b.mae_naive if b.mae_naive else 1:.2f}); "
                  f"{b.coverage:.1%} of outcomes inside the {level:g}% interval")
            return 0
        outlooks = forecast(rows, spec, horizon)
    except SeriesError as e:
        print(f"lsrp forecast: {e}", file=sys.stderr)
        return 2
    except ValueError as e:  # the forecaster's own refusals (nothing to backtest, ...)
        print(f"lsrp forecast: {Path(path).name}: {e}", file=sys.stderr)
        return 2
    if out:
        with Path(out).open("w", newline="", encoding="utf-8") as fh:
            n = write_projections(outlooks, fh)
        none = sum(1 for o in outlooks.values() if not o.projections)
        print(f"Wrote {n} projections for {len(outlooks) - none} areas to {out}"
              + (f" ({none} areas without a forecast: the reason is in the file)" if none else ""))
    else:
        write_projections(outlooks, sys.stdout)
    return 0
