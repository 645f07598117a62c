"""Read the marts a publish needs (docs/design.md columns exactly) into plain Python structures.
Reports read the warehouse's ``marts`` schema only: no raw tables, no reference CSVs, no pipeline paths."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import forecasts as forecasts_mod
from .common import SUPPRESSED, UNAVAILABLE, period_key


def _rows(con, sql: str, params=None) -> list[dict]:
    cur = con.execute(sql, params or [])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _optional(con, sql: str, params=None) -> list[dict]:
    """Findings and revisions may not exist yet in a fresh warehouse: treat a missing table as empty."""
    try:
        return _rows(con, sql, params)
    except duckdb.CatalogException:
        return []


def _neighbours(con) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for r in _rows(con, "select la_code, sn_la_code from marts.neighbours order by la_code, sn_rank"):
        out.setdefault(r["la_code"], []).append(r["sn_la_code"])
    return out


def load_neighbours(warehouse_path: Path) -> dict[str, list[str]]:
    """DfE's 10 nearest statistical neighbours per LA, in rank order (marts.neighbours)."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return _neighbours(con)
    finally:
        con.close()


@dataclass
class PlanData:
    """The plan parts of the period's accepted returns, from marts.delivery_milestones, marts.investment_spend
    and marts.risks (empty when the warehouse predates them).  No signatory or email is read here: the
    marts do not carry them, so no LA-facing output can show one."""
    milestones: dict[str, list[dict]] = field(default_factory=dict)   # la -> rows, workstream then quarter
    spend: dict[str, list[dict]] = field(default_factory=dict)        # la -> level 'la' rows
    spend_region: dict[str, list[dict]] = field(default_factory=dict)  # region name -> level 'region' rows
    spend_england: list[dict] = field(default_factory=list)           # level 'england' rows
    risks: dict[str, list[dict]] = field(default_factory=dict)        # la -> rows by risk number
    signoff: dict[str, list[dict]] = field(default_factory=dict)      # la -> marts.plan_signoff rows (no emails)


MILESTONE_COLUMNS = ("la_code", "workstream_no", "workstream", "building_block", "outcome", "lead",
                     "milestone_quarter", "milestone", "first_due_date", "due_date", "status", "slippage_days",
                     "is_slipped", "is_overdue", "is_past_not_started")
SPEND_COLUMNS = ("level", "la_code", "region_name", "category", "funding_source", "spend_quarter", "projected",
                 "actual", "variance", "variance_pct", "over_margin", "n_las")
RISK_COLUMNS = ("la_code", "risk_no", "description", "impact", "likelihood", "rag", "matrix_rag", "mitigation",
                "residual_impact", "residual_likelihood", "residual_rag", "residual_matrix_rag",
                "previous_residual_rag", "previous_residual_impact", "previous_residual_likelihood", "movement",
                "is_red_residual")


def _group(rows: list[dict], key: str) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def load_plan(con, period: str) -> PlanData:
    """The plan marts for one period (a connection already open on the warehouse)."""
    ms = _optional(con, f"select {', '.join(MILESTONE_COLUMNS)} from marts.delivery_milestones where period = ? "
                        "order by la_code, workstream_no, milestone_quarter", [period])
    sp = _optional(con, f"select {', '.join(SPEND_COLUMNS)} from marts.investment_spend where period = ? "
                        "order by level, area_code, category, funding_source, spend_quarter", [period])
    try:
        rk = _optional(con, f"select {', '.join(RISK_COLUMNS)} from marts.risks where period = ? "
                            "order by la_code, risk_no", [period])
    except duckdb.BinderException:   # built before the previous quarter's position was in the mart
        rk = _optional(con, "select * from marts.risks where period = ? order by la_code, risk_no", [period])
    so = _optional(con, "select la_code, icb_name, sro, position, role, name, signed_on, is_signed "
                        "from marts.plan_signoff where period = ? order by la_code, position", [period])
    return PlanData(milestones=_group(ms, "la_code"),
                    spend=_group([r for r in sp if r["level"] == "la"], "la_code"),
                    spend_region=_group([r for r in sp if r["level"] == "region"], "region_name"),
                    spend_england=[r for r in sp if r["level"] == "england"],
                    risks=_group(rk, "la_code"), signoff=_group(so, "la_code"))


@dataclass
class PeriodData:
    period: str
    las: dict[str, dict]                       # code -> marts.local_authorities row (names, codes, region)
    status: dict[str, dict]                    # code -> collection_status row for the period
    trajectory: dict[tuple[str, str], list[dict]]   # (la, indicator) -> rows in period order
    benchmark: dict[tuple[str, str, str], dict]     # (la, indicator, period) -> row, the period's rows only
    bench_periods: list[str]                   # quarters with benchmark rows, up to the period
    findings: dict[str, list[dict]]            # la -> unresolved queries on its latest submission
    revisions: dict[str, list[dict]]           # la -> revisions up to the period
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    quarantined: list[dict] = field(default_factory=list)    # uploads that could not be filed (marts.quarantined_uploads)
    run_failures: list[dict] = field(default_factory=list)   # failed pipeline runs (marts.run_failures), newest first
    indicators: dict[str, dict] = field(default_factory=dict)  # indicator_id -> marts.indicators row
    plan: PlanData = field(default_factory=lambda: PlanData())  # milestones, spend, risks (issue 10 marts)
    # indicator -> {quarter: (England value, LAs contributing)} up to the period, where England is shown
    # in some LA's row (the overview's national trend)
    england: dict[str, dict[str, tuple]] = field(default_factory=dict)
    # (la, indicator) -> marts.verdicts row for the period: the one status every view shows (empty when the
    # warehouse predates the mart: views then fall back to the trajectory's status for accepted returns)
    verdicts: dict[tuple[str, str], dict] = field(default_factory=dict)
    # (la, indicator) -> marts.forecasts year-end row made from the period (reports/forecasts.py)
    forecasts: dict[tuple[str, str], dict] = field(default_factory=dict)
    # indicator -> marts.effective_practice rows for the period, best first (who to learn from; empty when
    # the warehouse predates the mart)
    effective: dict[str, list[dict]] = field(default_factory=dict)

    def verdict(self, code: str, indicator_id: str) -> dict:
        """The verdict of ``code`` on an indicator this quarter (marts.verdicts), or the same rule applied
        to the trajectory when the mart is absent: no accepted return, no status."""
        v = self.verdicts.get((code, indicator_id))
        if v is not None:
            return v
        accepted = self.has_return(code)
        cur = next((t for t in self.trajectory.get((code, indicator_id), []) if t["period"] == self.period), {})
        status = cur.get("status") if accepted else None
        return {"la_code": code, "indicator_id": indicator_id, "period": self.period, "accepted": accepted,
                "return_status": self.collection_status(code), "status": status,
                "verdict": status or ("no accepted return" if not accepted else "no target")}

    def returned(self) -> list[str]:
        """LAs whose return for the period was accepted (with or without queries), in code order."""
        return sorted(c for c, s in self.status.items() if s.get("accepted"))

    def la_values(self, indicator_id: str, period: str | None = None, copy: bool = True) -> dict[str, dict]:
        """LA code -> benchmark row for the indicator and period (the period's own by default); ``copy=False``
        returns the shared index entry itself, for callers that only read it."""
        # indexed once: a scan of every benchmark row per call cost 3 ms, 3,000 times a publication,
        # and grew with every quarter of history
        index = self.__dict__.get("_la_values")
        if index is None:
            index = {}
            for (code, ind, per), row in self.benchmark.items():
                index.setdefault((ind, per), {})[code] = row
            self.__dict__["_la_values"] = index
        found = index.get((indicator_id, period or self.period), {})
        return dict(found) if copy else found

    # ---- every LA, with what DfE holds for those whose return was rejected or not received
    def all_las(self) -> list[str]:
        """All LAs (153) in code order, whether or not they sent a return."""
        return sorted(self.las)

    def collection_status(self, code: str) -> str:
        """accepted | accepted_with_queries | rejected | not_received for the period."""
        return (self.status.get(code) or {}).get("status") or "not_received"

    def has_return(self, code: str) -> bool:
        """An accepted return for the period: only then are there LA-return figures and a trajectory."""
        return bool((self.status.get(code) or {}).get("accepted"))

    # ---- disclosure control: the marts decide, every output asks here
    @staticmethod
    def shown_value(row: dict | None, viewer: str):
        """A benchmark row's value as the pack of LA ``viewer`` may show it: the value, 'c' when it is
        another LA's suppressed value (primary suppression), 'x' when there is none."""
        if row is None or row.get("la_value") is None:
            return UNAVAILABLE
        if row.get("suppressed") and row.get("la_code") != viewer:
            return SUPPRESSED
        return row["la_value"]

    @staticmethod
    def shown_aggregate(row: dict | None, kind: str):
        """The region or England figure (kind 'region' | 'england') as a benchmark row's own LA may see it:
        the value, 'c' where it is withheld so another LA's suppressed value cannot be derived, 'x' if none."""
        if row is None:
            return UNAVAILABLE
        if row.get(f"{kind}_withheld"):
            return SUPPRESSED
        v = row.get(f"{kind}_value")
        return UNAVAILABLE if v is None else v

    def neighbour_summary(self, code: str, indicator_id: str, period: str | None = None) -> dict:
        """The neighbours' average as it may be published in ``code``'s pack: over published values only,
        with how many neighbours were withheld (c) or missing (x)."""
        row = self.benchmark.get((code, indicator_id, period or self.period)) or {}
        n, s, m = row.get("sn_n") or 0, row.get("sn_n_suppressed") or 0, row.get("sn_n_missing") or 0
        total = len(self.neighbours.get(code, [])) or n + s + m
        parts = [f"{k} {w}" for k, w in ((s, "suppressed"), (m, "not available")) if k]
        note = f"average of {n} of {total} neighbours" + (f" ({', '.join(parts)})" if parts else "")
        return {"mean": row.get("sn_mean"), "n": n, "n_suppressed": s, "n_missing": m, "of": total, "note": note}


def load_period(warehouse_path: Path, period: str, trajectory_las: list[str] | None = None) -> PeriodData:
    """The period's marts.  ``trajectory_las``: the LAs whose whole trajectory is needed (the packs to be
    looked at, e.g. a resubmission's); every other LA gets only its row for the period itself, which is all
    the overview reads.  None: every LA's whole trajectory."""
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        las = {r["la_code"]: r for r in _rows(con, "select * from marts.local_authorities order by la_code")}
        neighbours = _neighbours(con)
        indicators = {r["indicator_id"]: r for r in _rows(con, "select * from marts.indicators order by position")}
        status = {r["la_code"]: r for r in _rows(
            con, "select * from marts.collection_status where period = ?", [period])}
        year = period.split("-Q")[0]
        # year ends of this collection year and later are kept (3-year roadmap); earlier years are not read:
        # with years of history most rows are older, and turning rows into dicts is most of this load
        which = "" if trajectory_las is None else "and (period = ? or list_contains(?, la_code)) "
        traj_rows = _rows(con, f"select * from marts.trajectory where substr(period, 1, 7) >= ? {which}"
                               "order by la_code, indicator_id",
                          [year] + ([] if trajectory_las is None else [period, list(trajectory_las)]))
        # the period's rows only: every earlier quarter's (all of them with years of history) is one
        # row per indicator and quarter below, which is all the overview's England trend reads
        bench_rows = _rows(con, "select * from marts.benchmark where period = ?", [period])
        england_rows = con.execute(
            "select indicator_id, period, max(england_value), max(england_n_las) filter (where england_value is not null) "
            "from marts.benchmark where period <= ? and period like '%-Q%' group by all", [period]).fetchall()
        find_rows = _rows(con, "select * from marts.outstanding_queries where period = ? "
                               "order by la_code, rule, cell", [period])
        rev_rows = _optional(con, "select * from marts.revisions where quarter_period <= ? "
                              "order by la_code, quarter_period, item_id", [period])
        # the service's own alerts, for the DfE overview: unfiled uploads and failed runs
        quarantined = _optional(con, "select * from marts.quarantined_uploads "
                                     "where period = ? or period is null order by received_at", [period])
        run_failures = _optional(con, "select * from marts.run_failures order by failed_at desc")
        plan = load_plan(con, period)
        verdict_rows = _optional(con, "select * from marts.verdicts where period = ?", [period])
        forecast_rows = forecasts_mod.load(con, period)
        effective_rows = _optional(con, "select * from marts.effective_practice where period = ? "
                                        "order by indicator_id, position", [period])
    finally:
        con.close()

    trajectory: dict[tuple[str, str], list[dict]] = {}
    for r in traj_rows:
        trajectory.setdefault((r["la_code"], r["indicator_id"]), []).append(r)
    for v in trajectory.values():
        v.sort(key=lambda r: period_key(r["period"]))

    benchmark = {(r["la_code"], r["indicator_id"], r["period"]): r for r in bench_rows}
    bench_periods = sorted({r[1] for r in england_rows}, key=period_key)
    # England's pooled value is one figure per indicator and quarter, NULL only in the rows where it is
    # withheld, so the largest non-NULL value is the figure every other row shows
    england: dict[str, dict[str, tuple]] = {}
    for ind, per, value, n_las in england_rows:
        if value is not None:
            england.setdefault(ind, {})[per] = (value, n_las)

    findings: dict[str, list[dict]] = {}
    for r in find_rows:
        findings.setdefault(r["la_code"], []).append(r)
    revisions: dict[str, list[dict]] = {}
    for r in rev_rows:
        revisions.setdefault(r["la_code"], []).append(r)

    return PeriodData(period=period, las=las, status=status, trajectory=trajectory, benchmark=benchmark,
                      bench_periods=bench_periods, findings=findings, revisions=revisions,
                      neighbours=neighbours, quarantined=quarantined, run_failures=run_failures,
                      indicators=indicators, plan=plan, england=england,
                      verdicts={(r["la_code"], r["indicator_id"]): r for r in verdict_rows},
                      forecasts=forecast_rows,
                      effective=_group(effective_rows, "indicator_id"))
