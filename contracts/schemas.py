"""Pandera (polars) contracts for the tables parsed from a return.

Used by ``contracts.validate`` on every readable return (failures become E26 error findings), and
by the Dagster side as asset checks: ``ValuesSchema.validate(df, lazy=True)`` etc.

The columns, types and checks are not written here: they are the raw table columns marked
``parsed`` in ``contracts/metadata/raw_tables.yaml`` (the warehouse stores what the parse checked),
with lists and limits from the catalogue.

- ``ValuesSchema``: one row per data item and quarter (empty cells are not stored).
- ``BaselinesSchema``: one row per indicator with a baseline.
- ``TargetsSchema``: one row per indicator and catalogue target period.
- ``SignatoriesSchema``, ``MilestonesSchema``, ``SpendSchema``, ``RisksSchema``: the plan parts.
"""
from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.errors import SchemaError, SchemaErrors

from contracts import metadata
from contracts.catalogue import load
from contracts.findings import Finding, ParsedReturn

_CAT = load()
# DuckDB type of the raw column -> polars dtype of the parsed column
_DTYPES = {"VARCHAR": pl.String, "DOUBLE": pl.Float64, "INTEGER": pl.Int64, "BIGINT": pl.Int64, "DATE": pl.Date}


def _finite() -> pa.Check:
    return pa.Check(lambda data: data.lazyframe.select(pl.col(data.key).is_finite()), name="finite")


def _column(spec: dict, raw_type: str) -> pa.Column:
    """One pandera column from its `parsed` entry in contracts/metadata/raw_tables.yaml."""
    checks = []
    if "isin" in spec:
        checks.append(pa.Check.isin(metadata.named_list(spec["isin"], _CAT)))
    if "str_matches" in spec:
        checks.append(pa.Check.str_matches(metadata.PATTERNS[spec["str_matches"]]))
    if "ge" in spec:
        checks.append(pa.Check.ge(metadata.named_number(spec["ge"], _CAT)))
    if "le" in spec:
        checks.append(pa.Check.le(metadata.named_number(spec["le"], _CAT)))
    if "max_length" in spec:
        checks.append(pa.Check.str_length(max_value=_CAT.plan.limit(spec["max_length"])))
    if spec.get("finite"):
        checks.append(_finite())
    return pa.Column(_DTYPES[raw_type], checks=checks, nullable=bool(spec.get("nullable", False)),
                     unique=bool(spec.get("unique", False)))


def _schema(parsed_name: str) -> pa.DataFrameSchema:
    """The contract of a parsed table: the columns of its raw table marked `parsed`, nothing else."""
    table = metadata.parsed_tables()[parsed_name]
    cols = {c.name: _column(c.parsed, c.type) for c in table.columns if c.parsed is not None}
    return pa.DataFrameSchema(cols, strict=True, unique=table.parsed.get("unique"), name=parsed_name)


SCHEMAS = {name: _schema(name) for name in metadata.parsed_tables()}
ValuesSchema, BaselinesSchema, TargetsSchema = SCHEMAS["values"], SCHEMAS["baselines"], SCHEMAS["targets"]
SignatoriesSchema, MilestonesSchema = SCHEMAS["signatories"], SCHEMAS["milestones"]
SpendSchema, RisksSchema = SCHEMAS["spend"], SCHEMAS["risks"]
RETURN_ITEM_IDS = metadata.named_list("return_item_ids", _CAT)
INDICATOR_IDS = metadata.named_list("indicator_ids", _CAT)
TARGET_PERIODS = list(_CAT.target_periods)
CELL_RE = metadata.CELL_RE


def failure_findings(exc: SchemaErrors | SchemaError, table: str, df: pl.DataFrame | None = None,
                     sheet: str | None = None, rule: str = "E26", max_findings: int = 20) -> list[Finding]:
    """Map pandera failure cases to findings (one per failing value, capped)."""
    from contracts import rules as R

    fc = getattr(exc, "failure_cases", None)
    if not isinstance(fc, pl.DataFrame) or fc.height == 0:
        return [R.finding(rule, sheet=sheet, value=None, table=table, check=str(exc).splitlines()[0][:100],
                          column="?")]
    out = []
    for r in fc.head(max_findings).iter_rows(named=True):
        cell = None
        idx = r.get("index")
        if df is not None and idx is not None and "cell" in df.columns and 0 <= idx < df.height:
            cell = df["cell"][idx]
        out.append(R.finding(rule, sheet=sheet, cell=cell, value=r.get("failure_case"), table=table,
                             check=r.get("check"), column=r.get("column")))
    if fc.height > max_findings:
        out[-1].message += f" ({fc.height - max_findings} more failures not listed.)"
    return out


def validate_table(df: pl.DataFrame, table: str, sheet: str | None = None) -> list[Finding]:
    """Run one contract lazily; return its failures as findings ([] when the table passes)."""
    try:
        SCHEMAS[table].validate(df, lazy=True)
    except (SchemaErrors, SchemaError) as exc:
        return failure_findings(exc, f"{table} table", df, sheet)
    return []


def validate_parsed(parsed: ParsedReturn, sheet: str | None = None) -> list[Finding]:
    """All three contracts on a parsed return."""
    return (validate_table(parsed.values, "values", sheet)
            + validate_table(parsed.baselines, "baselines", sheet)
            + validate_table(parsed.targets, "targets", sheet))


def validate_plan(plan, sheet: str | None = None) -> list[Finding]:
    """The four plan contracts on a parsed return's plan parts ([] when they pass or are absent)."""
    if plan is None or not plan.filled:
        return []
    return (validate_table(plan.signatories, "signatories", sheet)
            + validate_table(plan.milestones, "milestones", sheet)
            + validate_table(plan.spend, "spend", sheet)
            + validate_table(plan.risks, "risks", sheet))
