"""The rows of marts.forecasts (dbt_project/models/marts/forecasts.py): one per LA, indicator and projected
period, computed here so the dbt model stays a thin reader and writer.

Projected periods: each remaining quarter of the plan year after the quarter being built, and the year end
(its value is the Q4 projection, as a year end's actual is its Q4 value in marts.trajectory).  The forecast
verdict (forecasting/verdict.py) compares the interval with the period's comparable target and the
indicator's tolerance.  No verdict, and no projection, for an LA without an accepted return this quarter
(marts.verdicts' rule); no verdict for a neutral indicator or without a target, the reason said.
"""
from __future__ import annotations

from dataclasses import dataclass

from forecasting.periods import calendar_of
from forecasting.series import Row, Spec, forecast
from forecasting.verdict import verdict

COLUMNS = ("la_code", "indicator_id", "period", "period_type", "origin", "method", "first_period", "last_period",
           "n_points", "value", "lower", "upper", "level", "target_value", "tolerance", "verdict", "reason")


@dataclass(frozen=True)
class Indicator:
    """What the forecast needs of a catalogue indicator, as stg_catalogue_indicators holds it."""

    id: str
    period_basis: str
    compare_targets: str
    seasonal: bool
    min_denominator: float | None
    is_rate: bool
    polarity: str
    tolerance: float
    decimals: int


def projected_periods(quarter: str) -> list[tuple[str, str]]:
    """[(period, period_type)]: the rest of the plan year's quarters and its year end."""
    cal = calendar_of([quarter])
    o = cal.index(quarter)
    end = cal.year_end_after(o)
    quarters = [cal.label(i) for i in range(o + 1, end + 1)]
    return [(q, "quarter") for q in quarters] + [(quarters[-1][:7], "year_end")]


def rows(indicators: list[Indicator], actuals: list[tuple], targets: dict, accepted: set[str], las: list[str],
         quarter: str, level: float = 0.8) -> list[tuple]:
    """``actuals``: (la_code, indicator_id, period, value, numerator, denominator) up to ``quarter``;
    ``targets``: (la_code, indicator_id, period) -> comparable target; ``accepted``: LAs with an accepted
    return for ``quarter``; ``las``: every LA.  Returns tuples in COLUMNS order."""
    periods = projected_periods(quarter)
    by_ind: dict[str, list[Row]] = {}
    for la, ind, period, value, num, den in actuals:
        if period.endswith("-Q0") or period > quarter:
            continue
        by_ind.setdefault(ind, []).append(Row(la, period, value, num, den))
    out = []
    for ind in indicators:
        series = by_ind.get(ind.id, [])
        if not ind.is_rate:  # a level's denominator (1) is not a base
            series = [Row(r.area, r.period, r.value) for r in series]
        spec = Spec(period_basis=ind.period_basis, compare_targets=ind.compare_targets, seasonal=ind.seasonal, min_denominator=ind.min_denominator,
                    scale="absolute" if ind.is_rate else "auto", level=level)
        outlooks = forecast(series, spec, origin=quarter) if any(r.value is not None for r in series) else {}
        for la in las:
            ol = outlooks.get(la)
            by_period = {p.period: p for p in ol.projections} if ol else {}
            for period, ptype in periods:
                p = by_period.get(period if ptype == "quarter" else period + "-Q4")
                target = targets.get((la, ind.id, period))
                head = (la, ind.id, period, ptype, quarter)
                span = (ol.first_period, ol.last_period, ol.n_points) if ol else (None, None, 0)
                if la not in accepted:
                    out.append((*head, None, *span, None, None, None, level, target, ind.tolerance, None,
                                "no accepted return"))
                    continue
                if p is None:
                    reason = (ol.reason if ol and ol.reason else "no value up to the forecast origin")
                    out.append((*head, None, *span, None, None, None, level, target, ind.tolerance, None, reason))
                    continue
                v = None if target is None else verdict(p.lower, p.upper, target, ind.tolerance, ind.polarity,
                                                        ind.decimals)
                reason = None if v else ("no better direction" if ind.polarity not in ("high", "low")
                                         else "no target")
                out.append((*head, p.method, *span, p.value, p.lower, p.upper, level, target, ind.tolerance, v,
                            reason))
    return out
