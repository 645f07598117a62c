"""Read the marts a publish needs (docs/design.md columns exactly) into plain Python structures."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.paths import DBT_PROJECT_DIR

from .common import SUPPRESSED, UNAVAILABLE, period_key

NEIGHBOURS_CSV = DBT_PROJECT_DIR / "seeds" / "ref_statistical_neighbours.csv"


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


def load_neighbours(path: Path = NEIGHBOURS_CSV) -> dict[str, list[str]]:
    """DfE's 10 nearest statistical neighbours per LA, in rank order (the seed dbt also loads)."""
    out: dict[str, list[tuple[int, str]]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            out.setdefault(row["old_la_code"], []).append((int(row["sn_rank"]), row["sn_old_la_code"]))
    return {k: [c for _, c in sorted(v)] for k, v in out.items()}


@dataclass
class PeriodData:
    period: str
    las: dict[str, dict]                       # code -> {la_name, region_name}
    status: dict[str, dict]                    # code -> collection_status row for the period
    trajectory: dict[tuple[str, str], list[dict]]   # (la, indicator) -> rows in period order
    benchmark: dict[tuple[str, str, str], dict]     # (la, indicator, period) -> row
    bench_periods: list[str]                   # quarters with benchmark rows, up to the period
    findings: dict[str, list[dict]]            # la -> unresolved queries on its latest submission
    revisions: dict[str, list[dict]]           # la -> revisions up to the period
    neighbours: dict[str, list[str]] = field(default_factory=dict)
    quarantined: list[dict] = field(default_factory=list)    # uploads that could not be filed (marts.quarantined_uploads)
    run_failures: list[dict] = field(default_factory=list)   # failed pipeline runs (marts.run_failures), newest first

    def returned(self) -> list[str]:
        """LAs whose return for the period was accepted (with or without queries), in code order."""
        return sorted(c for c, s in self.status.items() if s.get("accepted"))

    def la_values(self, indicator_id: str, period: str | None = None) -> dict[str, dict]:
        # indexed once: a scan of every benchmark row per call cost 3 ms, 3,000 times a publication,
        # and grew with every quarter of history
        index = self.__dict__.get("_la_values")
        if index is None:
            index = {}
            for (code, ind, per), row in self.benchmark.items():
                index.setdefault((ind, per), {})[code] = row
            self.__dict__["_la_values"] = index
        return dict(index.get((indicator_id, period or self.period), {}))

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


def load_period(warehouse_path: Path, period: str, neighbours_csv: Path = NEIGHBOURS_CSV) -> PeriodData:
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        status = {r["la_code"]: r for r in _rows(
            con, "select * from marts.collection_status where period = ?", [period])}
        year = period.split("-Q")[0]
        traj_rows = _rows(con, "select * from marts.trajectory order by la_code, indicator_id")
        bench_rows = _rows(con, "select * from marts.benchmark where period <= ? and period like '%-Q%'", [period])
        latest = {c: s.get("latest_submission_id") for c, s in status.items() if s.get("latest_submission_id")}
        find_rows = _optional(
            con,
            "select * from raw.findings where period = ? and level = 'query' and not coalesce(resolved, false) "
            "order by la_code, rule, cell", [period])
        rev_rows = _optional(con, "select * from marts.revisions where quarter_period <= ? "
                              "order by la_code, quarter_period, item_id", [period])
        # the service's own alerts, for the DfE overview: unfiled uploads and failed runs
        quarantined = _optional(con, "select * from marts.quarantined_uploads "
                                     "where period = ? or period is null order by received_at", [period])
        run_failures = _optional(con, "select * from marts.run_failures order by failed_at desc")
    finally:
        con.close()

    las: dict[str, dict] = {}
    for src in (status.values(), bench_rows, traj_rows):
        for r in src:
            if r.get("la_code") and r["la_code"] not in las:
                las[r["la_code"]] = {"la_name": r["la_name"], "region_name": r["region_name"]}

    trajectory: dict[tuple[str, str], list[dict]] = {}
    for r in traj_rows:
        # year ends of this collection year and later are kept (3-year roadmap); earlier years are not
        if r["period"][:7] < year:
            continue
        trajectory.setdefault((r["la_code"], r["indicator_id"]), []).append(r)
    for v in trajectory.values():
        v.sort(key=lambda r: period_key(r["period"]))

    benchmark = {(r["la_code"], r["indicator_id"], r["period"]): r for r in bench_rows}
    bench_periods = sorted({r["period"] for r in bench_rows}, key=period_key)

    findings: dict[str, list[dict]] = {}
    for r in find_rows:
        sub = latest.get(r["la_code"])
        if sub is None or r["submission_id"] == sub:
            findings.setdefault(r["la_code"], []).append(r)
    revisions: dict[str, list[dict]] = {}
    for r in rev_rows:
        revisions.setdefault(r["la_code"], []).append(r)

    return PeriodData(period=period, las=las, status=status, trajectory=trajectory, benchmark=benchmark,
                      bench_periods=bench_periods, findings=findings, revisions=revisions,
                      neighbours=load_neighbours(neighbours_csv), quarantined=quarantined,
                      run_failures=run_failures)
