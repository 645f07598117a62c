"""The result of checking one return: findings (errors and queries) and, if readable, its content."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import polars as pl

ERROR, QUERY = "error", "query"
ACCEPTED, ACCEPTED_WITH_QUERIES, REJECTED = "accepted", "accepted_with_queries", "rejected"


@dataclass
class Finding:
    level: str            # "error" rejects the return; "query" accepts it but needs a reason
    rule: str             # stable rule id, e.g. "E03"; see contracts/rules.py
    message: str          # DfE style: what is wrong, then "Action required: ..."
    sheet: str | None = None
    cell: str | None = None
    value: object = None
    file: str | None = None
    resolved: bool = False  # a query whose notes cell gives a reason

    def to_dict(self) -> dict:
        d = asdict(self)
        d["value"] = None if self.value is None else str(self.value)
        return d


@dataclass
class ParsedReturn:
    """The content of a readable return, in long form, ready for the warehouse."""

    la_code: str
    la_name: str
    year: str            # "2026-27"
    quarter: str         # the quarter being submitted, "Q2"
    values: pl.DataFrame      # item_id, quarter, value (float), note, cell
    baselines: pl.DataFrame   # indicator_id, baseline_value, baseline_period, note, cell
    targets: pl.DataFrame     # indicator_id, target_period, target_value, cell
    plan: "PlanContent | None" = None  # milestones, spend, risks and sign-off, when readable

    @property
    def period(self) -> str:
        return f"{self.year}-{self.quarter}"


@dataclass
class FileResult:
    file: str                      # file name as received
    sha256: str | None = None
    findings: list[Finding] = field(default_factory=list)
    content: ParsedReturn | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def queries(self) -> list[Finding]:
        return [f for f in self.findings if f.level == QUERY]

    @property
    def status(self) -> str:
        if self.errors:
            return REJECTED
        return ACCEPTED_WITH_QUERIES if self.queries else ACCEPTED

    def to_dict(self) -> dict:
        from contracts.inert import visible  # the name as uploaded may hold characters a reader would act on

        return {"file": visible(self.file), "status": self.status,
                "findings": [{k: v for k, v in f.to_dict().items() if k in
                              ("level", "rule", "sheet", "cell", "value", "message")}
                             for f in self.findings]}


@dataclass
class PlanContent:
    """The plan parts of a return (catalogue plan_parts), in long form, ready for the warehouse."""

    present: bool                 # the workbook has the plan sheets
    filled: bool                  # something is entered in them (beyond the template's role names)
    icb_name: str | None
    sro: str | None
    signatories: pl.DataFrame     # position, role, name, email, signed_on, cell
    milestones: pl.DataFrame      # workstream_no, workstream, building_block, outcome, success_measures,
    #                               lead, quarter, milestone, due_date, status, trajectory, note, cell
    spend: pl.DataFrame           # line_no, category, funding_source, quarter, projected, actual, note, cell
    risks: pl.DataFrame           # risk_no, description, impact, likelihood, rag, mitigation,
    #                               residual_impact, residual_likelihood, residual_rag, note, cell
