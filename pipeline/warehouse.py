"""DuckDB raw loads: the only code that writes the `raw` schema dbt reads.

Pure DuckDB + polars (no Dagster) so the CLI, the Dagster assets and the tests share one loader.
Every load is idempotent: delete the rows of the submission (or source file hash), then insert, all
in one transaction, so re-running an ingest never duplicates rows and a crash never half-loads one.
Table and column names are defined in contracts/metadata/raw_tables.yaml (docs/design.md's tables are
generated from it); columns are only ever added.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from contracts import catalogue as catalogue_mod
from contracts import metadata
from contracts.metadata import formula
from contracts.findings import REJECTED, FileResult
from pipeline import paths

# The raw tables are defined once, as data, in contracts/metadata/raw_tables.yaml; the DDL below is
# generated from it (contracts/generate.py) and the column types come from the same file.
RAW_TABLES: dict[str, dict[str, str]] = metadata.raw_columns()
# raw.ees_<dataset>: created up front so dbt sources exist before any DfE-held file arrives; a
# published file's other columns are added on load.
EES_COLUMNS: dict[str, list[str]] = {
    ds.name: [c for c in metadata.ees_table_columns(ds) if c not in metadata.ees_common()["load"]]
    for ds in metadata.ees_datasets().values()}
_EES_META = metadata.ees_common()["load"]
RAW_DDL = metadata.DDL_PATH

# Tables holding one submission's rows: all are cleared before a (re)load of that submission.
_SUBMISSION_TABLES = ("submissions", "return_values", "return_baselines", "return_targets", "findings",
                      "plan_cover", "plan_signatories", "plan_milestones", "plan_spend", "plan_risks")


def _is_lock_error(exc: Exception) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def lock_timeout() -> float:
    """Seconds a writer keeps retrying a locked warehouse (LSRP_LOCK_TIMEOUT, default 300)."""
    return float(os.environ.get("LSRP_LOCK_TIMEOUT", "300"))


def connect(path: str | Path | None = None, read_only: bool = False,
            timeout: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (default paths.warehouse()), creating its folder on first use.

    DuckDB lets one process write a file, and any other process's connection (even read-only)
    makes opening it fail with "Could not set lock".  All our writers run one at a time (the
    Dagster pool "warehouse"), so a lock here is someone else holding the file briefly: retry with
    backoff (0.2 s doubling to 5 s) for up to ``timeout`` seconds before giving up.
    """
    path = Path(path) if path is not None else paths.warehouse()
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (lock_timeout() if timeout is None else timeout)
    delay = 0.2
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if not _is_lock_error(exc) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema and every raw table if missing (never drops data)."""
    con.execute(RAW_DDL.read_text(encoding="utf-8"))  # CREATE SCHEMA / TABLE IF NOT EXISTS
    # Warehouses made before a column was added (catalogue fields, the upload ledger) gain it: additions only.
    have = set(con.execute("SELECT table_name, column_name FROM information_schema.columns "
                           "WHERE table_schema = 'raw'").fetchall())
    for name, columns in RAW_TABLES.items():
        for col, typ in columns.items():
            if (name, col) not in have:
                con.execute(f'ALTER TABLE raw.{name} ADD COLUMN "{col}" {typ}')
    for dataset, columns in EES_COLUMNS.items():  # a measure added to the catalogue since
        for col in columns:
            if (f"ees_{dataset}", col) not in have:
                con.execute(f'ALTER TABLE raw.ees_{dataset} ADD COLUMN "{col}" VARCHAR')



@contextmanager
def session(path: str | Path | None = None):
    """A short-lived connection with the raw schema in place.  Short-lived because dbt opens the
    same file for writing, and DuckDB allows one writer."""
    con = connect(path)
    try:
        ensure_raw_schema(con)
        yield con
    finally:
        con.close()


def _insert(con, table: str, df: pl.DataFrame) -> None:
    """Insert by column name so the frame may omit columns (they become NULL)."""
    if df.height == 0:
        return
    # Via a temporary Parquet file: DuckDB reads polars frames through pyarrow, which this
    # project does not depend on; Parquet keeps the column types polars gave them.
    with tempfile.TemporaryDirectory(prefix="lsrp-load-") as tmp:
        file = Path(tmp) / "frame.parquet"
        df.write_parquet(file)
        con.execute(f"INSERT INTO raw.{table} BY NAME SELECT * FROM read_parquet(?)", [str(file)])


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    """Rows as a frame typed like the raw table, so empty and all-null columns still insert."""
    pl_types = {"VARCHAR": pl.String, "DOUBLE": pl.Float64, "INTEGER": pl.Int32, "BIGINT": pl.Int64,
                "BOOLEAN": pl.Boolean, "TIMESTAMP": pl.Datetime("us"), "DATE": pl.Date}
    schema = {c: pl_types[t] for c, t in RAW_TABLES[table].items()}
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema, orient="row")


def _catalogue_frames(cat: catalogue_mod.Catalogue) -> dict[str, pl.DataFrame]:
    indicators, items, terms = [], [], []
    for pos, ind in enumerate(cat.indicators):
        d = asdict(ind)
        d.update(indicator_id=ind.id, numerator=",".join(ind.numerator),
                 denominator=",".join(ind.denominator), is_rate=ind.is_rate, position=pos)
        indicators.append(d)
        # the formula's terms, which int_indicator_values.sql (contracts/metadata/formula.py) sums
        terms += [dict(indicator_id=ind.id, role=role, item_id=r, position=i)
                  for role, r, i in formula.Formula.of(ind).terms()]
    for pos, it in enumerate(cat.data_items):
        items.append(asdict(it) | dict(item_id=it.id, position=pos))
    periods = [dict(target_period=p, period_type="quarter" if "-Q" in p else "year_end", position=i)
               for i, p in enumerate(cat.target_periods)]
    dfe_terms = [dict(quarter=q, year_offset=int(t["year_offset"]), time_identifier=t["time_identifier"])
                 for q, t in cat.dfe_held_terms.items()]
    plan = cat.plan
    matrix = [] if plan is None else [
        dict(impact=i, likelihood=lk, rag=plan.matrix_rag(i, lk), impact_rank=len(plan.impacts) - n,
             likelihood_rank=m + 1)
        for n, i in enumerate(plan.impacts) for m, lk in enumerate(plan.likelihoods)]
    settings = [] if plan is None else [
        dict(name="spend_variance_margin_pct", value=plan.spend_variance_margin_pct),
        dict(name="max_risks", value=float(plan.max_risks))]
    return {
        "catalogue_risk_matrix": _frame("catalogue_risk_matrix", matrix),
        "catalogue_plan_settings": _frame("catalogue_plan_settings", settings),
        "catalogue_indicators": _frame("catalogue_indicators", indicators),
        "catalogue_data_items": _frame("catalogue_data_items", items),
        "catalogue_indicator_terms": _frame("catalogue_indicator_terms", terms),
        "catalogue_target_periods": _frame("catalogue_target_periods", periods),
        "catalogue_dfe_held_terms": _frame("catalogue_dfe_held_terms", dfe_terms),
    }


def load_catalogue(con: duckdb.DuckDBPyConnection, cat: catalogue_mod.Catalogue | None = None) -> dict[str, int]:
    """Replace raw.catalogue_* with the YAML catalogue; returns rows written per table."""
    cat = cat or catalogue_mod.load()
    ensure_raw_schema(con)
    frames = _catalogue_frames(cat)
    con.execute("BEGIN")
    try:
        for table, df in frames.items():
            con.execute(f"DELETE FROM raw.{table}")
            _insert(con, table, df)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return {t: df.height for t, df in frames.items()}


def _content_frames(result: FileResult, sid: str, la_code: str | None, year: str | None) -> dict[str, pl.DataFrame]:
    """The parsed workbook's values, baselines and targets tagged with the submission."""
    c = result.content
    tag = {"submission_id": sid, "la_code": la_code}
    values = [tag | {"year": year} | r for r in c.values.to_dicts() if r.get("value") is not None]
    baselines = [tag | r for r in c.baselines.to_dicts()]
    targets = [tag | r for r in c.targets.to_dicts()]
    frames = {
        "return_values": _frame("return_values", values),
        "return_baselines": _frame("return_baselines", baselines),
        "return_targets": _frame("return_targets", targets),
    }
    plan = c.plan
    if plan is not None and plan.filled:  # the plan parts (issue 10); none on an earlier template
        tag_y = tag | {"year": year}
        frames["plan_cover"] = _frame("plan_cover", [tag_y | {"quarter": c.quarter, "icb_name": plan.icb_name,
                                                              "sro": plan.sro}])
        for table, df in (("plan_signatories", plan.signatories), ("plan_milestones", plan.milestones),
                          ("plan_spend", plan.spend), ("plan_risks", plan.risks)):
            frames[table] = _frame(table, [tag_y | r for r in df.to_dicts()])
    return frames


def _utc_naive(ts: datetime) -> datetime:
    """TIMESTAMP columns hold UTC without a zone, so aware times from any zone order correctly."""
    return ts.astimezone(timezone.utc).replace(tzinfo=None) if ts.tzinfo else ts


def record_submission(con: duckdb.DuckDBPyConnection, result: FileResult, archive_path: str,
                      received_at: datetime, la_code: str | None = None, year: str | None = None,
                      quarter: str | None = None, *, submission_id: str | None = None,
                      event_seq: int | None = None, quarantine_reason: str | None = None,
                      ledger_row: dict | None = None) -> str:
    """Record one checked return (idempotent by submission_id); returns its submission_id.

    submission_id: the upload event's id (default: the sha256, for loads outside the ledger).
    la_code/year/quarter come from the caller (file name, cover) and fall back to the parsed
    content, because a rejected file may have no content but still belongs to a known LA.  A
    quarantined upload (``quarantine_reason``) is filed under exactly what the caller gives.
    ``ledger_row``: the event's row for raw.upload_ledger, written in the same transaction.
    """
    return record_submissions(con, [dict(
        result=result, archive_path=archive_path, received_at=received_at, la_code=la_code, year=year,
        quarter=quarter, submission_id=submission_id, event_seq=event_seq,
        quarantine_reason=quarantine_reason, ledger_row=ledger_row)])[0]


def _submission_frames(result: FileResult, archive_path: str, received_at: datetime,
                       la_code: str | None = None, year: str | None = None, quarter: str | None = None,
                       submission_id: str | None = None, event_seq: int | None = None,
                       quarantine_reason: str | None = None, ledger_row: dict | None = None
                       ) -> tuple[str, dict[str, pl.DataFrame]]:
    sid = submission_id or result.sha256
    if not sid:
        raise ValueError(f"{result.file}: a submission needs the sha256 of its bytes")
    c = result.content
    if quarantine_reason is None:
        la_code = la_code or (c.la_code if c else None)
        year = year or (c.year if c else None)
        quarter = quarter or (c.quarter if c else None)
    period = f"{year}-{quarter}" if year and quarter else None
    queries = result.queries
    submission = _frame("submissions", [dict(
        submission_id=sid, la_code=la_code, year=year, quarter=quarter, period=period,
        file_name=result.file, archive_path=str(archive_path), received_at=_utc_naive(received_at),
        status=result.status, n_errors=len(result.errors), n_queries=len(queries),
        n_unresolved_queries=sum(1 for f in queries if not f.resolved),
        loaded_at=datetime.now(timezone.utc).replace(tzinfo=None),
        event_seq=event_seq, sha256=result.sha256, quarantine_reason=quarantine_reason,
    )])
    findings = _frame("findings", [dict(
        submission_id=sid, file_name=f.file or result.file, la_code=la_code, period=period,
        level=f.level, rule=f.rule, sheet=f.sheet, cell=f.cell,
        value=None if f.value is None else str(f.value), message=f.message, resolved=f.resolved,
    ) for f in result.findings])
    frames = {"submissions": submission, "findings": findings}
    # Only accepted returns feed the warehouse's figures (design.md: rejected ones keep findings only).
    if c is not None and result.status != REJECTED:
        frames |= _content_frames(result, sid, la_code, year)
    if ledger_row is not None:
        frames["upload_ledger"] = _frame("upload_ledger", [ledger_row])
    return sid, frames


def record_submissions(con: duckdb.DuckDBPyConnection, items: list[dict]) -> list[str]:
    """Record many checked returns in one transaction (each item: ``record_submission``'s
    arguments); returns their submission ids.  Idempotent per submission: each one's rows in
    every submission table (and its ledger row) are deleted, then the batch's rows are inserted
    with one bulk insert per table, so a batch of 300 returns costs a dozen inserts, not 3,000."""
    built = [_submission_frames(**item) for item in items]
    sids = [sid for sid, _ in built]
    events = [item["ledger_row"]["event_id"] for item in items if item.get("ledger_row") is not None]
    tables: dict[str, list[pl.DataFrame]] = {}
    for _, frames in built:
        for table, df in frames.items():
            if df.height:
                tables.setdefault(table, []).append(df)
    ensure_raw_schema(con)
    con.execute("BEGIN")
    try:
        for table in _SUBMISSION_TABLES:
            con.execute(f"DELETE FROM raw.{table} WHERE submission_id IN (SELECT unnest(?::VARCHAR[]))", [sids])
        if events:
            con.execute("DELETE FROM raw.upload_ledger WHERE event_id IN (SELECT unnest(?::VARCHAR[]))", [events])
        for table, dfs in tables.items():
            _insert(con, table, pl.concat(dfs, how="vertical_relaxed"))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return sids


def load_ees(con: duckdb.DuckDBPyConnection, dataset: str, df: pl.DataFrame, source_file: str,
             source_file_hash: str) -> int:
    """Load one EES tidy CSV (all columns as text, symbols kept); returns rows inserted."""
    if dataset not in EES_COLUMNS:
        raise ValueError(f"unknown EES dataset {dataset!r}: expected one of {sorted(EES_COLUMNS)}")
    table = f"ees_{dataset}"
    ensure_raw_schema(con)
    # Published files carry more columns than dbt reads; keep them all, as text, as published.
    df = df.select(pl.all().cast(pl.String)).with_columns(
        source_file_hash=pl.lit(source_file_hash), source_file=pl.lit(source_file),
        loaded_at=pl.lit(datetime.now(timezone.utc).replace(tzinfo=None)),
    )
    existing = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema='raw' AND table_name=?",
        [table]).fetchall()}
    con.execute("BEGIN")
    try:
        for col in df.columns:
            if col not in existing:
                con.execute(f'ALTER TABLE raw.{table} ADD COLUMN "{col}" VARCHAR')
        con.execute(f"DELETE FROM raw.{table} WHERE source_file_hash = ?", [source_file_hash])
        _insert(con, table, df)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return df.height


def load_run_failures(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    """Replace raw.run_failures with the run-failure log (the log is the source of truth)."""
    ensure_raw_schema(con)
    rows = list({r["run_id"]: dict(r) for r in rows if r.get("run_id")}.values())  # a sensor may record twice
    for r in rows:
        if r.get("failed_at"):
            r["failed_at"] = _utc_naive(datetime.fromisoformat(str(r["failed_at"])))
    return _replace_table(con, "run_failures", rows)


def _replace_table(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict]) -> int:
    """Replace every row of raw.<table> in one transaction (a log file is the source of truth)."""
    con.execute("BEGIN")
    try:
        con.execute(f"DELETE FROM raw.{table}")
        _insert(con, table, _frame(table, rows))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def load_portal_audit(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> int:
    """Replace raw.portal_audit with the portal's audit log (the log is the source of truth)."""
    ensure_raw_schema(con)
    rows = list({r["seq"]: dict(r) for r in rows if r.get("seq") is not None}.values())
    for r in rows:
        r["at"] = _utc_naive(datetime.fromisoformat(str(r["at"]))) if r.get("at") else None
        r["detail"] = r["detail"] if isinstance(r.get("detail"), str) or r.get("detail") is None \
            else json.dumps(r["detail"], sort_keys=True)
    return _replace_table(con, "portal_audit", rows)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row counts of every table in the raw schema (and marts if built), keyed schema.table."""
    rows = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_schema IN ('raw', 'marts') AND table_type = 'BASE TABLE' ORDER BY 1, 2").fetchall()
    return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in rows}
