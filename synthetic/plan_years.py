"""The sample's later plan years (2027-28, 2028-29): each LA's year grows out of the year before.

``next_year(prev, year, seed, cat)`` derives an LA's figures for ``year`` from its figures for the year
before (2026-27 comes from ``synthetic.sample._build_year``):

- demand keeps its calibrated drift: requests and new plans grow about 7% a year (SEN2 2019-2023 grew
  8%), the EHCP caseload about 9%, budgets and spend about 6%, populations hardly move;
- every rate indicator with a better direction moves by the LA's *realised* share of its planned
  improvement (the catalogue's ``sample: improve`` times the LA's ambition, the same as its targets
  use): a share drawn once per LA and indicator between -0.4 (slipping back) and 1.6 (beating the
  plan), so some LAs improve faster than their neighbours and some fall behind, as in real data;
- items with a sample hint (a share of another item) keep their share; the DSG deficit carries on
  from the year before's closing position.

Baselines and targets stay those of the plan (the initial return locks them): the later years are
judged against the same trajectory.  Each LA and year draws from its own stream, so a subset of
LAs gets the same figures as the full run.
"""
from __future__ import annotations

import dataclasses

from contracts.catalogue import QUARTERS, Catalogue
from contracts.metadata import formula
from synthetic import la_year as S
from synthetic.la_year import realised

# annual growth of a data item's values (mean, lognormal sd per LA); items not named keep their
# share of the item their sample hint names (sample._hinted_items)
GROWTH = {
    "requests_received": (1.07, 0.03), "plans_issued_ex": (1.07, 0.03), "mediation_concluded": (1.04, 0.05),
    "ehcps_maintained": (1.09, 0.02), "population_0_25": (1.004, 0.002), "pupils_on_roll": (0.995, 0.003),
    "eah_settings": (1.0, 0.0), "neet_cohort_ehcp": (1.08, 0.02), "neet_cohort_sen_support": (1.02, 0.02),
    "eah_cyp_supported": (1.10, 0.05), "parent_survey_responses": (1.02, 0.08),
    "hn_budget_ytd": (1.06, 0.01), "hn_spend_ytd": (1.06, 0.01),
}
def next_year(prev: S.LAYear, year: str, seed: int, cat: Catalogue) -> S.LAYear:
    code = prev.la["old_la_code"]
    rng = S._rng(seed, code, "year", year)
    y = dataclasses.replace(prev, values={})
    pv, v = prev.values, y.values
    factor: dict[str, float] = {}
    for item, (g, sd) in GROWTH.items():
        factor[item] = g * S._ln(rng, sd)
    for it in cat.return_items:   # a part moves with its whole (the catalogue's `within`); its share is set below
        if it.within in factor:
            factor[it.id] = factor[it.within]
    for it in cat.return_items:
        if it.id not in factor:
            continue
        if it.measure == "flow":  # a new year starts from nothing: grow the quarters' increments
            incs = [pv[(it.id, q)] - (pv[(it.id, QUARTERS[i - 1])] if i else 0) for i, q in enumerate(QUARTERS)]
            series = S._cum([max(0, round(x * factor[it.id] * S._ln(rng, 0.05))) for x in incs])
        else:
            series = [max(0, round(pv[(it.id, q)] * factor[it.id])) for q in QUARTERS]
        for q, x in zip(QUARTERS, series):
            v[(it.id, q)] = x
    for q in QUARTERS:  # set from the year's spend by _carry_deficit
        v[("dsg_deficit", q)] = 0
    S._hinted_items(y, seed, cat)
    for ind in cat.indicators:
        _move(ind, y, prev, seed, rng, cat)
    _keep_rules(y, cat)
    _carry_deficit(y, prev)
    return y


def _move(ind, y: S.LAYear, prev: S.LAYear, seed: int, rng, cat: Catalogue) -> None:
    """Set the indicator's numerator items so its value moves on the year before by the LA's realised
    share of its planned improvement (a level or a neutral indicator keeps its drift)."""
    if ind.source != "la_return" or not ind.is_rate or ind.polarity == "neutral":
        return
    hint = ind.sample or {}
    sign = 1 if ind.polarity == "high" else -1
    step = float(hint.get("improve", 0.0)) * y.ambition * realised(seed, y.la["old_la_code"], ind.id)
    lo, hi = (0.0, 100.0) if ind.unit == "%" else (0.0, float("inf"))
    if "target_floor" in hint:
        lo = float(hint["target_floor"]) - 1.0
    for q in QUARTERS:
        before = formula.evaluate(ind, prev.values, q)
        den = sum(y.values[(d, q)] for d in ind.denominator)
        num = sum(y.values[(n, q)] for n in ind.numerator)
        if before is None or not den:
            continue
        want = S._clip(before + sign * step + rng.gauss(0.0, ind.no_change_band * 0.3), lo, hi)
        want_num = want / ind.multiplier * den
        for n in ind.numerator:
            share = y.values[(n, q)] / num if num else 1.0 / len(ind.numerator)
            y.values[(n, q)] = max(0, round(want_num * share))


def _keep_rules(y: S.LAYear, cat: Catalogue) -> None:
    """Flows never fall through the year; a part never exceeds its whole (the return's own rules, E22/E24).
    Flows are first made cumulative; then every fix only lowers a value (a part to its whole, the decisions
    to the requests, an earlier quarter to the one after it), repeated until nothing changes, so fixing one
    rule cannot break another (a part clamped to a whole that dips, e.g. 'not to assess' to received minus
    to assess, made a year-to-date count fall, seen in 2027-28 and 2028-29)."""
    flows = [it.id for it in cat.return_items if it.measure == "flow"]
    for item in flows:
        run = 0
        for q in QUARTERS:
            run = max(run, y.values[(item, q)])
            y.values[(item, q)] = run
    changed = True
    while changed:
        before = dict(y.values)
        for it in cat.return_items:
            if it.within:
                for q in QUARTERS:
                    y.values[(it.id, q)] = min(y.values[(it.id, q)], y.values[(it.within, q)])
        for q in QUARTERS:  # decided to assess + not to assess never exceed the requests received
            got, yes = y.values[("requests_received", q)], y.values[("requests_decided_to_assess", q)]
            y.values[("requests_decided_not_to_assess", q)] = max(0, min(y.values[("requests_decided_not_to_assess", q)],
                                                                         got - yes))
        for item in flows:   # an earlier quarter never above a later one: lower the earlier
            for i in range(len(QUARTERS) - 2, -1, -1):
                y.values[(item, QUARTERS[i])] = min(y.values[(item, QUARTERS[i])], y.values[(item, QUARTERS[i + 1])])
        changed = y.values != before


def _carry_deficit(y: S.LAYear, prev: S.LAYear) -> None:
    d = prev.values[("dsg_deficit", QUARTERS[-1])]
    budget = spend = 0
    for q in QUARTERS:
        d += (y.values[("hn_spend_ytd", q)] - spend) - (y.values[("hn_budget_ytd", q)] - budget)
        spend, budget = y.values[("hn_spend_ytd", q)], y.values[("hn_budget_ytd", q)]
        y.values[("dsg_deficit", q)] = round(d)


def build_plan_years(base: list[S.LAYear], years: list[str], seed: int) -> dict[str, list[S.LAYear]]:
    """{year: the LAs' figures for it} for the base year's LAs, each later year from the one before."""
    from contracts.catalogue import for_year

    out = {years[0]: base}
    for prev_year, year in zip(years, years[1:]):
        cat = for_year(year)
        out[year] = [next_year(p, year, seed, cat) for p in out[prev_year]]
    return out
