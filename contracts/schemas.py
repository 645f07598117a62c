"""Pandera (polars) contracts for the tables parsed from a return.

Used by ``contracts.validate`` on every readable return (failures become E26 error findings), and
by the Dagster side as asset checks: ``ValuesSchema.validate(df, lazy=True)`` etc.

- ``ValuesSchema``: one row per data item and quarter (empty cells are not stored).
- ``BaselinesSchema``: one row per indicator with a baseline.
- ``TargetsSchema``: one row per indicator and catalogue target period.
"""
from __future__ import annotations

import polars as pl
import pandera.polars as pa
from pandera.errors import SchemaError, SchemaErrors

from contracts.catalogue import QUARTERS, load
from contracts.findings import Finding, ParsedReturn

_CAT = load()
RETURN_ITEM_IDS = [i.id for i in _CAT.return_items]
INDICATOR_IDS = [i.id for i in _CAT.indicators]
TARGET_PERIODS = list(_CAT.target_periods)
CELL_RE = r"^[A-Z]{1,3}[1-9][0-9]*$"


class ValuesSchema(pa.DataFrameModel):
    item_id: str = pa.Field(isin=RETURN_ITEM_IDS)
    quarter: str = pa.Field(isin=list(QUARTERS))
    value: float = pa.Field(nullable=False)
    note: str = pa.Field(nullable=True)
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True
        unique = ["item_id", "quarter"]

    @pa.check("value", name="finite")
    def _finite(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_finite())


class BaselinesSchema(pa.DataFrameModel):
    indicator_id: str = pa.Field(isin=INDICATOR_IDS, unique=True)
    baseline_value: float = pa.Field(nullable=True)
    baseline_period: str = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True


class TargetsSchema(pa.DataFrameModel):
    indicator_id: str = pa.Field(isin=INDICATOR_IDS)
    target_period: str = pa.Field(isin=TARGET_PERIODS)
    target_value: float = pa.Field(nullable=False)
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True
        unique = ["indicator_id", "target_period"]


SCHEMAS = {"values": ValuesSchema, "baselines": BaselinesSchema, "targets": TargetsSchema}


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


# --------------------------------------------------------------------------------------------
# the plan parts (catalogue plan_parts): lists and lengths as the rules, so a parse that let
# something through is caught before the warehouse
# --------------------------------------------------------------------------------------------
_PLAN = _CAT.plan
_LIM = _PLAN.text_limits


def _text(limit_key: str, nullable: bool = True, **kw):
    return pa.Field(nullable=nullable, str_length={"max_value": int(_LIM[limit_key])}, **kw)


class SignatoriesSchema(pa.DataFrameModel):
    position: int = pa.Field(ge=1, le=_PLAN.max_signatories)
    role: str = _text("role")
    name: str = _text("name")
    email: str = _text("email")
    signed_on: pl.Date = pa.Field(nullable=True)
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True


class MilestonesSchema(pa.DataFrameModel):
    workstream_no: int = pa.Field(ge=1)
    workstream: str = _text("workstream")
    building_block: str = pa.Field(nullable=True, isin=[b["title"] for b in _CAT.building_blocks])
    outcome: str = _text("outcome")
    success_measures: str = _text("success_measures")
    lead: str = _text("lead")
    quarter: str = pa.Field(isin=list(QUARTERS))  # which quarters have milestones varies by year (catalogue years)
    milestone: str = _text("milestone")
    due_date: pl.Date = pa.Field(nullable=True)
    status: str = pa.Field(nullable=True, isin=list(_PLAN.statuses))
    trajectory: str = _text("trajectory")
    note: str = _text("notes")
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True
        unique = ["workstream_no", "quarter"]


class SpendSchema(pa.DataFrameModel):
    line_no: int = pa.Field(ge=1)
    category: str = pa.Field(nullable=True, isin=list(_PLAN.spend_categories))
    funding_source: str = pa.Field(nullable=True, isin=list(_PLAN.funding_sources))
    quarter: str = pa.Field(isin=list(QUARTERS))
    projected: float = pa.Field(nullable=True, ge=0)
    actual: float = pa.Field(nullable=True, ge=0)
    note: str = _text("notes")
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True
        unique = ["line_no", "quarter"]


class RisksSchema(pa.DataFrameModel):
    risk_no: int = pa.Field(ge=1, le=_PLAN.max_risks, unique=True)
    description: str = _text("risk")
    impact: str = pa.Field(nullable=True, isin=list(_PLAN.impacts))
    likelihood: str = pa.Field(nullable=True, isin=list(_PLAN.likelihoods))
    rag: str = pa.Field(nullable=True, isin=list(_PLAN.rags))
    mitigation: str = _text("mitigation")
    residual_impact: str = pa.Field(nullable=True, isin=list(_PLAN.impacts))
    residual_likelihood: str = pa.Field(nullable=True, isin=list(_PLAN.likelihoods))
    residual_rag: str = pa.Field(nullable=True, isin=list(_PLAN.rags))
    note: str = _text("notes")
    cell: str = pa.Field(str_matches=CELL_RE)

    class Config:
        strict = True


SCHEMAS.update(signatories=SignatoriesSchema, milestones=MilestonesSchema, spend=SpendSchema,
               risks=RisksSchema)


def validate_plan(plan, sheet: str | None = None) -> list[Finding]:
    """The four plan contracts on a parsed return's plan parts ([] when they pass or are absent)."""
    if plan is None or not plan.filled:
        return []
    return (validate_table(plan.signatories, "signatories", sheet)
            + validate_table(plan.milestones, "milestones", sheet)
            + validate_table(plan.spend, "spend", sheet)
            + validate_table(plan.risks, "risks", sheet))
