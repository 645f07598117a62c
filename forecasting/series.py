"""Forecasts of tidy series on an indicator's own period basis (contracts/catalogue.yaml), and their backtest.

The catalogue says how a value compares over time, and so what is projected:
- ``year_to_date`` with ``compare_targets: pro_rata`` (a count that accumulates, Q2 = April-September; a
  share to date such as 20-week timeliness is a level): the model works on the annualised value,
  ``value / profile[quarter]``, where the profile is the share of the year's total reached by each quarter,
  the median over complete years of data (Q1..Q3 over Q4), or n/4 before any year is complete.  A projected
  quarter is the projected annual total times its share, so the year end is the full year's flow.
- ``seasonal`` (termly measures): compared with the same term a year earlier, never the previous term.
- anything else (stocks, rates, annualised values): the level itself.
The small-base rule: a rate whose latest denominator is below ``min_denominator`` gets no forecast (its
noise would be read as a trend), and small bases are left out of the pooled drift and errors.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, replace

from forecasting import model
from forecasting.periods import Calendar, calendar_of


@dataclass(frozen=True)
class Row:
    area: str
    period: str
    value: float | None
    numerator: float | None = None
    denominator: float | None = None


@dataclass(frozen=True)
class Spec:
    period_basis: str = "point_in_time"
    compare_targets: str = "as_is"  # pro_rata: a year-to-date count that accumulates (a share to date does not)
    seasonal: bool = False
    min_denominator: float | None = None
    scale: str = "auto"   # auto: log for positive counts without a denominator, else absolute
    level: float = 0.8
    min_errors: int = 20

    @classmethod
    def of(cls, indicator, **kw) -> "Spec":
        """The catalogue indicator's own basis: a new indicator needs no code to be forecast."""
        return cls(period_basis=indicator.period_basis, compare_targets=indicator.compare_targets,
                   seasonal=indicator.seasonal,
                   min_denominator=indicator.min_denominator,
                   scale="absolute" if indicator.is_rate else kw.pop("scale", "auto"), **kw)


@dataclass(frozen=True)
class Projection:
    area: str
    period: str
    steps_ahead: int
    value: float
    lower: float
    upper: float
    naive: float
    level: float
    method: str


@dataclass(frozen=True)
class Outlook:
    """One area's projections, or why it has none; with the inputs' period range."""

    area: str
    first_period: str | None
    last_period: str | None
    n_points: int
    projections: tuple[Projection, ...] = ()
    reason: str | None = None


@dataclass
class _Prepared:
    calendar: Calendar
    lag: int
    log: bool
    profile: tuple[float, ...]
    history: dict[str, list[model.Obs]]
    small: dict[str, str]
    settings: model.Settings
    floor: float | None = None  # 0 when no value in the data is negative: a count's interval stops at 0

    def value(self, z: float, index: int) -> float:
        level = math.exp(z) if self.log else z
        return level * self.profile[self.calendar.season(index)]


def _profile(rows: list[Row], cal: Calendar, spec: Spec, origin: int) -> tuple[float, ...]:
    """The share of the year's flow reached by each quarter (year-to-date flows); 1 for anything else."""
    if spec.period_basis != "year_to_date" or spec.compare_targets != "pro_rata" or cal.steps_per_year == 1:
        return (1.0,) * cal.steps_per_year
    by: dict[tuple[str, int], dict[int, float]] = {}
    for r in rows:
        i = cal.index(r.period)
        if r.value is not None and i <= origin:
            by.setdefault((r.area, i // 4), {})[i % 4] = r.value
    shares = {q: [v[q] / v[3] for v in by.values() if v.get(3) and v[3] > 0 and q in v] for q in range(3)}
    return tuple(statistics.median(shares[q]) if len(shares[q]) >= 3 and statistics.median(shares[q]) > 0
                 else (q + 1) / 4 for q in range(3)) + (1.0,)


def _prepare(rows: list[Row], spec: Spec, origin: int) -> _Prepared:
    cal = calendar_of(sorted({r.period for r in rows}))
    rated = any(r.denominator is not None for r in rows)
    values = [r.value for r in rows if r.value is not None]
    # counts: log scale (a drift is a growth rate, an error a share), unless zeros are common
    log = spec.scale == "log" or (spec.scale == "auto" and not rated and bool(values) and min(values) >= 0
                                  and sum(v == 0 for v in values) <= 0.02 * len(values))
    profile = _profile(rows, cal, spec, origin)
    history: dict[str, list[model.Obs]] = {}
    small: dict[str, str] = {}
    latest: dict[str, tuple[int, Row]] = {}
    for r in rows:
        i = cal.index(r.period)
        history.setdefault(r.area, [])
        if r.value is None or i > origin:
            continue
        if latest.get(r.area, (-10**9,))[0] < i:
            latest[r.area] = (i, r)
        if spec.min_denominator is not None and (r.denominator is None or r.denominator < spec.min_denominator):
            continue  # a small base says nothing about the trend or the errors
        level = r.value / profile[cal.season(i)]
        if log and level <= 0:
            continue
        history[r.area].append(model.Obs(i, math.log(level) if log else level,
                                         r.denominator if rated and r.denominator else 1.0))
    for area, (_, r) in latest.items():
        if spec.min_denominator is not None and (r.denominator is None or r.denominator < spec.min_denominator):
            small[area] = f"small numbers: denominator {r.denominator:g} below {spec.min_denominator:g}" \
                if r.denominator is not None else "small numbers: no denominator"
    for obs in history.values():
        obs.sort(key=lambda o: o.index)
    lag = cal.steps_per_year if spec.seasonal and cal.steps_per_year > 1 else 1
    settings = model.Settings(level=spec.level, min_errors=spec.min_errors, pooled_rate=rated,
                              year=cal.steps_per_year)
    floor = 0.0 if values and min(values) >= 0 else None
    return _Prepared(cal, lag, log, profile, history, small, settings, floor)


def _floor(x: float, floor: float | None) -> float:
    return x if floor is None else max(x, floor)


def _naive_name(p: _Prepared, spec: Spec) -> str:
    if p.lag > 1:
        return "same term a year earlier"
    if spec.period_basis == "year_to_date" and spec.compare_targets == "pro_rata" and p.calendar.steps_per_year > 1:
        return "last value annualised by the seasonal profile"
    return "last value"


def _drift_name(candidate: tuple) -> str:
    shrink, pooled = candidate
    if shrink is None:
        return " + the pooled drift" if pooled else ""
    own = "its own drift" if shrink == 0 else f"its own drift shrunk by {shrink:g} changes"
    return f" + {own}" + (" towards the pooled drift" if pooled and shrink else " towards no drift" if shrink else "")


def _outlooks(rows: list[Row], spec: Spec, origin: int, targets: list[int]) -> dict[str, Outlook]:
    p = _prepare(rows, spec, origin)
    rec = model.record(p.history, origin, p.lag, p.settings)
    p.settings = replace(p.settings, candidate=model.choose(
        rec, origin, p.lag, p.settings, -(-(max(targets, default=origin + 1) - origin) // p.lag)))
    sizes = model.error_sizes(rec[p.settings.candidate], origin,
                              model.spread_fallback(p.history, origin, p.lag, p.settings), p.settings)
    points = model.point_forecasts(p.history, origin, targets, p.lag, p.settings)
    span: dict[str, list[int]] = {}
    for r in rows:
        i = p.calendar.index(r.period)
        if r.value is not None and i <= origin:
            span.setdefault(r.area, []).append(i)
    out = {}
    scale = "log" if p.log else "absolute"
    for area in sorted(p.history):
        idx = sorted(span.get(area, []))
        head = dict(area=area, first_period=p.calendar.label(idx[0]) if idx else None,
                    last_period=p.calendar.label(idx[-1]) if idx else None, n_points=len(idx))
        if area in p.small:
            out[area] = Outlook(**head, reason=p.small[area])
            continue
        pts = points.get(area)
        if isinstance(pts, str) or pts is None:
            out[area] = Outlook(**head, reason=pts or "no value up to the forecast origin")
            continue
        projs = []
        for pt in pts:
            iv = model.interval(pt, sizes)
            if iv is None:
                continue
            lo, hi, src = iv
            method = (f"{_naive_name(p, spec)}{_drift_name(p.settings.candidate)} ({scale} scale); "
                      f"{round(spec.level * 100)}% interval from the {src}")
            projs.append(Projection(area, p.calendar.label(pt.target), pt.target - origin,
                                    p.value(pt.z, pt.target), _floor(p.value(lo, pt.target), p.floor),
                                    p.value(hi, pt.target),
                                    p.value(pt.base, pt.target), spec.level, method))
        out[area] = Outlook(**head, projections=tuple(projs),
                            reason=None if projs else (
                                "no same term a year earlier yet"
                                if p.lag > 1 else
                                "no authority has two comparable periods yet"))
    return out


def forecast(rows: list[Row], spec: Spec = Spec(), horizon: int | None = None,
             origin: str | None = None) -> dict[str, Outlook]:
    """Every area's projections for the ``horizon`` steps after the origin (default: the latest period in the
    data; horizon default: up to the end of the plan year, or the next year end for annual data)."""
    cal = calendar_of(sorted({r.period for r in rows}))
    o = cal.index(origin) if origin else max(cal.index(r.period) for r in rows if r.value is not None)
    end = o + horizon if horizon else cal.year_end_after(o)
    return _outlooks(rows, spec, o, list(range(o + 1, end + 1)))


@dataclass(frozen=True)
class Backtest:
    n: int
    mae: float
    mae_naive: float
    coverage: float
    origins: tuple[str, ...]


def backtest(rows: list[Row], spec: Spec = Spec(), horizon: int | None = None) -> Backtest:
    """From each origin, forecast what came next (with only the data then known) and score it against the
    outcome: mean absolute error, the naive forecast's, and the share of outcomes inside the interval."""
    cal = calendar_of(sorted({r.period for r in rows}))
    actual = {(r.area, cal.index(r.period)): r.value for r in rows if r.value is not None}
    indices = sorted({i for _, i in actual})
    err, err_naive, inside, used = [], [], 0, []
    for o in indices[:-1]:
        end = o + horizon if horizon else cal.year_end_after(o)
        targets = [t for t in indices if o < t <= end]
        for area, ol in _outlooks(rows, spec, o, targets).items():
            for pr in ol.projections:
                y = actual.get((area, cal.index(pr.period)))
                if y is None:
                    continue
                err.append(abs(y - pr.value))
                err_naive.append(abs(y - pr.naive))
                inside += pr.lower <= y <= pr.upper
                if cal.label(o) not in used:
                    used.append(cal.label(o))
    if not err:
        raise ValueError("nothing to backtest: no area has two periods before a later one")
    return Backtest(len(err), statistics.fmean(err), statistics.fmean(err_naive), inside / len(err), tuple(used))
