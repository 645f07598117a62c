"""The forecast verdict as every view shows it, from marts.forecasts only (issue 21): the year-end row of each
LA and indicator, in words for the pack and the scorecard, as a count for the overview and the support list,
as numbers for the downloads.  One reader and one wording, so the views cannot disagree."""
from __future__ import annotations

import duckdb

from contracts.catalogue import Indicator
from reports.common import num

VERDICT_WORDS = {"on course": "On course", "at risk": "At risk", "off course": "Off course"}
# the mart's reason codes a reader sees in other words (the pack's status column says the same)
REASON_WORDS = {"no better direction": "neither higher nor lower is better"}
COLUMNS = ("la_code", "indicator_id", "period", "origin", "method", "first_period", "last_period", "n_points",
           "value", "lower", "upper", "level", "target_value", "tolerance", "verdict", "reason")


def load(con, period: str) -> dict[tuple[str, str], dict]:
    """(la, indicator) -> the year-end forecast made from ``period`` (empty when the warehouse predates the mart)."""
    try:
        cur = con.execute(f"select {', '.join(COLUMNS)} from marts.forecasts where origin = ? "
                          "and period_type = 'year_end'", [period])
    except duckdb.CatalogException:
        return {}
    return {(r[0], r[1]): dict(zip(COLUMNS, r)) for r in cur.fetchall()}


def by_month(year_end: str) -> str:
    """'2026-27' -> 'March 2027' (the plan year ends in March)."""
    return f"March {int(year_end[:4]) + 1}"


def label(row: dict | None) -> str:
    """The forecast verdict in one or two words: On course / At risk / Off course / No forecast / No verdict."""
    if not row:
        return "No forecast"
    if row.get("verdict"):
        return VERDICT_WORDS[row["verdict"]]
    return "No verdict" if row.get("value") is not None else "No forecast"


def words(ind: Indicator, row: dict | None) -> str:
    """e.g. 'on course: 23.1 by March 2027 (80% range 21.0 to 25.2) against a target of 22.0', or why there is none."""
    if not row:
        return "no forecast"
    if row.get("value") is None:
        return f"no forecast: {row.get('reason') or 'no data'}"
    d = ind.decimals
    level = round((row.get("level") or 0.8) * 100)
    s = (f"{num(row['value'], d)} by {by_month(row['period'])} ({level}% range {num(row['lower'], d)} to "
         f"{num(row['upper'], d)})")
    if row.get("target_value") is not None:
        s += f" against a target of {num(row['target_value'], d)}"
    if row.get("verdict"):
        return f"{row['verdict']}: {s}"
    reason = row.get("reason")
    return f"{s}; {REASON_WORDS.get(reason, reason)}"   # the cell's bold word already says "No verdict"


def count_off_course(forecasts: dict[tuple[str, str], dict], code: str, indicators: list[str]) -> list[str]:
    """The indicators (of ``indicators``) whose year-end target ``code`` is forecast to miss (off course)."""
    return [i for i in indicators if (forecasts.get((code, i)) or {}).get("verdict") == "off course"]
