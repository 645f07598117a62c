"""The forecaster: the naive forecast plus a drift chosen on its own record, with intervals from errors pooled
across areas (README, "Forecasts").

For each area the forecast of a period ``k`` lags ahead (a quarter, a year, or the same term a year later for
a seasonal measure) is ``base + drift * k``: ``base`` is the naive forecast (the last value; for a seasonal
measure the same term's last value), and the drift one of CANDIDATES, ``w * own + (1 - w) * c * pooled`` with
``w = m / (m + shrink)`` for ``m`` own changes: naive (no drift), the pooled drift, the own drift, or the own
drift shrunk towards the pooled drift or towards none.  ``choose`` keeps the naive forecast unless a drift beat
it by EARN out of sample twice over: one lag ahead on the latest period, and over the last full year of
outcomes (every season once) at each distance to be forecast; until the record spans a whole year, the naive
forecast.  A drift that held within one plan year is not trusted across the year's turn before it has been
seen there (the sample's DSG deficit: a level whose quarterly drift changes from one plan year to the next).
Rates pool the change of the pooled rate (sum of numerators over sum of denominators); counts and levels the
median change.

Intervals are symmetric: the ``level`` quantile of the size of the chosen candidate's own past errors at the
same distance whose outcomes fall in the last year, pooled over every area (rolling origins, outcomes up to the
origin only; a rate's errors in units of 1/sqrt(denominator)): every season once, and the present spread, not
that of a year when everything moved more.  Never narrower than the one-lag errors times sqrt(k), and widened
by sqrt(1 + 1/n) when the record has n origins only.  With no record at all, the areas' changes around the
pooled change stand in, widened for the drift's own uncertainty: sqrt(k + k^2 w^2 / m).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Obs:
    """One transformed observation: ``z`` on the model's scale, ``weight`` = the denominator (rates) or 1."""

    index: int
    z: float
    weight: float = 1.0


# (shrink, pooled): the drift is w * own + (1 - w) * pooled * D with w = m / (m + shrink); shrink None = no own
# drift.  (None, 0) is the naive forecast itself, what the method falls back on before it has a record.
CANDIDATES = ((0.0, 1.0), (2.0, 1.0), (None, 1.0), (2.0, 0.0), (None, 0.0))
NAIVE = (None, 0.0)
EARN = 0.05  # a drift must beat the naive forecast's mean absolute error by 5% to be used
ORIGINS = -1  # key of the origins a candidate's record has errors from


@dataclass(frozen=True)
class Settings:
    level: float = 0.8
    min_errors: int = 20
    pooled_rate: bool = False  # rates: pool the change of the weighted (pooled) rate, not the median change
    candidate: tuple = NAIVE
    year: int = 1  # periods a year: a record covers every season once it spans this many outcomes


@dataclass(frozen=True)
class Point:
    """A point forecast on the model scale, with what the interval needs."""

    target: int
    k: int          # lags ahead of the base
    z: float        # the forecast
    base: float     # the naive forecast
    w: float        # weight on the area's own drift
    m: int          # the area's own changes
    unit: float = 1.0  # error scale: 1/sqrt(denominator) for a rate (binomial noise), 1 otherwise


def changes(obs: list[Obs], lag: int) -> list[tuple[int, float]]:
    """(index, z_t - z_{t-lag}) for every observed pair one lag apart."""
    by = {o.index: o.z for o in obs}
    return [(o.index, o.z - by[o.index - lag]) for o in obs if o.index - lag in by]


def pooled_drift(history: dict[str, list[Obs]], lag: int, settings: Settings) -> float:
    """Everyone's change per lag: the mean move of the pooled rate over the areas seen at both ends (rates),
    or the median of all areas' changes (counts and levels)."""
    if settings.pooled_rate:
        by_area = [{o.index: o for o in obs} for obs in history.values()]
        moves = []
        for t in sorted({t for by in by_area for t in by if t - lag in by}):
            pairs = [(by[t - lag], by[t]) for by in by_area if t in by and t - lag in by]
            w0, w1 = sum(p.weight for p, _ in pairs), sum(n.weight for _, n in pairs)
            if w0 > 0 and w1 > 0:
                moves.append(sum(n.z * n.weight for _, n in pairs) / w1 - sum(p.z * p.weight for p, _ in pairs) / w0)
        return statistics.fmean(moves) if moves else 0.0
    all_changes = [c for obs in history.values() for _, c in changes(obs, lag)]
    return statistics.median(all_changes) if all_changes else 0.0


@dataclass(frozen=True)
class State:
    """What an area's forecast is made of at one origin: the naive base per phase, its own changes."""

    last: dict       # phase (index mod lag) -> the latest Obs of that phase
    own: float       # mean own change per lag (0 if none)
    m: int           # number of own changes


def states(history: dict[str, list[Obs]], origin: int, lag: int, settings: Settings
           ) -> tuple[float, dict[str, State | str]]:
    """(pooled drift, each area's state or why it has no forecast) from the data up to ``origin``."""
    upto = {a: [o for o in obs if o.index <= origin] for a, obs in history.items()}
    out: dict[str, State | str] = {}
    for area, obs in upto.items():
        if not obs:
            out[area] = "no value up to the forecast origin"
        elif len(obs) < 2:
            out[area] = "only one period of data: a trend cannot be told from noise"
        else:
            own = [c for _, c in changes(obs, lag)]
            out[area] = State({o.index % lag: o for o in obs}, statistics.fmean(own) if own else 0.0, len(own))
    return pooled_drift(upto, lag, settings), out


def project(state: State, pooled: float, targets: list[int], lag: int, candidate: tuple,
            rate: bool = False) -> list[Point]:
    shrink, c = candidate
    w = 0.0 if shrink is None or not state.m else state.m / (state.m + shrink)
    drift = w * state.own + (1 - w) * c * pooled
    points = []
    for t in targets:
        base = state.last.get(t % lag)
        if base is not None:
            k = (t - base.index) // lag
            unit = 1 / math.sqrt(base.weight) if rate and base.weight > 0 else 1.0
            points.append(Point(t, k, base.z + drift * k, base.z, w, state.m, unit))
    return points


def point_forecasts(history: dict[str, list[Obs]], origin: int, targets: list[int], lag: int,
                    settings: Settings) -> dict[str, list[Point] | str]:
    """Each area's point forecasts of ``targets`` from its data up to ``origin`` (or why there are none)."""
    pooled, st = states(history, origin, lag, settings)
    return {a: s if isinstance(s, str) else (project(s, pooled, targets, lag, settings.candidate,
                                                             settings.pooled_rate)
                                             or "no value for the same term to compare with")
            for a, s in st.items()}


def record(history: dict[str, list[Obs]], upto: int, lag: int, settings: Settings
           ) -> dict[tuple, dict[int, dict[int, list[float]]]]:
    """Every candidate's errors (model scale) by lags ahead and target period, for outcomes in the last year up
    to ``upto`` from origins at most a year before them (a lag ahead for a
    seasonal measure) (all that ``choose`` and ``interval`` read): the
    method's own record, known at ``upto``.  ORIGINS holds every origin before ``upto`` with an outcome."""
    by_area = {a: {o.index: o.z for o in obs} for a, obs in history.items()}
    indices = sorted({o.index for obs in history.values() for o in obs if o.index <= upto})
    out: dict[tuple, dict[int, dict[int, list[float]]]] = {c: {} for c in CANDIDATES}
    scored = {o: [] for o in indices if o < upto and any(
        sum(i <= o for i in by) >= 2 and any(o < i <= upto for i in by) for by in by_area.values())}
    for o in [o for o in scored if o > upto - 2 * settings.year]:
        pooled, st = states(history, o, lag, settings)
        targets = list(range(max(o, upto - settings.year) + 1, min(o + settings.year, upto) + 1))
        for area, s in st.items():
            if isinstance(s, str):
                continue
            for cand in CANDIDATES:
                for pt in project(s, pooled, targets, lag, cand, settings.pooled_rate):
                    actual = by_area[area].get(pt.target)
                    if actual is not None:
                        out[cand].setdefault(pt.k, {}).setdefault(pt.target, []).append((actual - pt.z) / pt.unit)
    for cand in CANDIDATES:
        out[cand][ORIGINS] = scored
    return out


def recent(errors: dict[int, dict[int, list[float]]], k: int, upto: int, settings: Settings) -> list[float]:
    """The errors ``k`` lags ahead whose outcomes fall in the last year up to ``upto`` (every season once)."""
    return [e for t, es in errors.get(k, {}).items() if t > upto - settings.year for e in es]


def _mae(xs: list[float]) -> float:
    return statistics.fmean(abs(e) for e in xs)


def choose(rec: dict[tuple, dict[int, dict[int, list[float]]]], upto: int, lag: int, settings: Settings,
           horizon: int = 1) -> tuple:
    """The naive forecast, unless a drift beat it clearly (by EARN), out of sample, on all three of: the latest
    period one lag ahead; the last full year of outcomes at each distance to be forecast (1..``horizon`` lags,
    every season once); and the forecasts made from the same point of the year a year earlier, over those
    distances (from a Q4 every distance is past the year's turn, where a drift that held within the year can
    fail).  Of those, the one with the smallest error over the year.  The naive forecast until the record
    covers a whole year, with at least ``min_errors`` errors on the latest period."""
    naive = rec[NAIVE].get(1, {})
    if any(t not in naive for t in range(upto - settings.year + 1, upto + 1)) or \
            len(naive.get(upto, ())) < settings.min_errors:
        return NAIVE
    enough = lambda xs: len(xs) >= settings.min_errors  # noqa: E731
    ks = [k for k in range(1, horizon + 1) if enough(recent(rec[NAIVE], k, upto, settings))]
    same = [(k, upto - settings.year + k * lag) for k in range(1, horizon + 1)
            if enough(rec[NAIVE].get(k, {}).get(upto - settings.year + k * lag, ()))]
    scores = {c: (_mae(rec[c][1][upto]),
                  statistics.fmean(_mae(recent(rec[c], k, upto, settings)) for k in ks),
                  statistics.fmean(_mae(rec[c][k][t]) for k, t in same) if same else None) for c in CANDIDATES}
    earned = [c for c in CANDIDATES
              if all(s < (1 - EARN) * n for s, n in zip(scores[c], scores[NAIVE]) if n is not None)]
    return min(earned, key=lambda c: (scores[c][1], -CANDIDATES.index(c))) if earned else NAIVE


def spread_fallback(history: dict[str, list[Obs]], origin: int, lag: int, settings: Settings) -> list[float]:
    """The areas' changes around the pooled change, up to ``origin``: the error of a one-lag forecast
    before the method has any record of its own."""
    upto = {a: [o for o in obs if o.index <= origin] for a, obs in history.items()}
    pooled = pooled_drift(upto, lag, settings) * settings.candidate[1]
    out = []
    for obs in upto.values():
        by = {o.index: o for o in obs}
        for o in obs:
            prev = by.get(o.index - lag)
            if prev is not None:
                unit = 1 / math.sqrt(prev.weight) if settings.pooled_rate and prev.weight > 0 else 1.0
                out.append((o.z - prev.z - pooled) / unit)
    return out


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@dataclass(frozen=True)
class ErrorSizes:
    """What the intervals read of a record, computed once per origin: the ``level`` quantile of the size of
    the last year's errors at each distance (with enough of them), of the fallback's, and the origins."""

    at: dict            # k -> quantile
    fallback: float | None
    origins: int


def error_sizes(errors: dict[int, dict[int, list[float]]], upto: int, fallback: list[float],
                settings: Settings) -> ErrorSizes:
    at = {}
    for k in [k for k in errors if k > 0]:
        xs = recent(errors, k, upto, settings)
        if len(xs) >= settings.min_errors:
            at[k] = quantile([abs(x) for x in xs], settings.level)
    fb = quantile([abs(x) for x in fallback], settings.level) if len(fallback) >= 2 else None
    return ErrorSizes(at, fb, len(errors.get(ORIGINS, ())))


def interval(point: Point, sizes_of: ErrorSizes) -> tuple[float, float, str] | None:
    """(lower, upper, source) on the model scale for one point forecast; None if nothing measures the error."""
    inflate = math.sqrt(1 + 1 / max(1, sizes_of.origins))
    sizes = []  # (half width before inflation, source): the wider wins, so the interval widens with k
    if point.k in sizes_of.at:
        sizes.append((sizes_of.at[point.k], "own past errors"))
    if 1 in sizes_of.at:
        sizes.append((math.sqrt(point.k) * sizes_of.at[1], "own one-step errors x sqrt(steps)"))
    if not sizes and sizes_of.fallback is not None:
        extra = point.k ** 2 * point.w ** 2 / point.m if point.m else 0.0
        sizes.append((math.sqrt(point.k + extra) * sizes_of.fallback, "spread of changes"))
    if not sizes:
        return None
    size, src = max(sizes)
    # symmetric, from the size of the errors: a year when every area moved together (2020-21) shifts the
    # errors one way; their quantiles would shift the next interval with them, their size only widens it
    # and wider by sqrt(1 + 1/n) when the errors come from n origins only: one year's spread of changes
    # says nothing of how much the next year's common move will differ
    half = inflate * point.unit * size
    return point.z - half, point.z + half, src
