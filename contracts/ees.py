"""Contract for the DfE-held EES tidy-data CSVs (attendance and exclusions by SEN status).

``validate_ees_csv(path, dataset)`` reads the CSV as text (symbols such as ``c`` and ``low`` kept),
checks it against the EES tidy-data rules with a pandera schema, and returns the frame (or None when
there are errors) and the findings.  Cells are given as Excel references (column letter, line
number) so a finding can be found by opening the CSV in Excel.

EES rules checked (rule ids D01-D09, see contracts.rules):
- required columns present (D01);
- time_period is 4 digits (2025) or 6 digits of consecutive years (202526) (D02);
- time_identifier from the EES list (D03); geographic_level from the EES list (D04);
- country_code always, region_code on regional and LA rows, and on LA rows new_la_code
  (E06/E07/E08/E09/E10 + 6 digits) and a 3-digit old_la_code (D05);
- no duplicate rows per time period, time identifier, level, codes and breakdown (D06);
- every measure cell a number or an EES symbol c, x, z, low, u (D07), never blank (D08).
"""
from __future__ import annotations

from pathlib import Path

import pandera.polars as pa
import polars as pl
from contracts.cells import column_letter
from pandera.errors import SchemaError, SchemaErrors

from contracts import metadata
from contracts.findings import Finding

# The columns come from the table metadata, the measures from the catalogue's DfE-held items too
# (contracts.metadata.ees_datasets), so a new EES measure is one catalogue entry.
_COMMON = metadata.ees_common()
GEO_COLUMNS = _COMMON["geo"]
BREAKDOWN_COLUMNS = _COMMON["breakdown"]
MEASURES = {ds.name: ds.contract_measures for ds in metadata.ees_datasets().values()}
KEY_COLUMNS = ("time_period", "time_identifier", "geographic_level", "country_code", "region_code",
               "new_la_code", "old_la_code") + BREAKDOWN_COLUMNS
SYMBOLS = ("c", "x", "z", "low", "u")
TIME_IDENTIFIERS = (
    "Calendar year", "Academic year", "Financial year", "Tax year", "Reporting year",
    "Autumn term", "Spring term", "Summer term", "Autumn and spring term",
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
    "Calendar year Q1", "Calendar year Q2", "Calendar year Q3", "Calendar year Q4",
    "Calendar year Q1-Q2", "Calendar year Q1-Q3", "Calendar year Q2-Q3", "Calendar year Q2-Q4", "Calendar year Q3-Q4",
    "Academic year Q1", "Academic year Q2", "Academic year Q3", "Academic year Q4",
    "Academic year Q1-Q2", "Academic year Q1-Q3", "Academic year Q2-Q3", "Academic year Q2-Q4", "Academic year Q3-Q4",
    "Financial year Q1", "Financial year Q2", "Financial year Q3", "Financial year Q4",
    "Financial year Q1-Q2", "Financial year Q1-Q3", "Financial year Q2-Q3", "Financial year Q2-Q4", "Financial year Q3-Q4",
    "Tax year Q1", "Tax year Q2", "Tax year Q3", "Tax year Q4",
    "Part 1 (April to September)", "Part 2 (October to March)",
    "Week 1", "Week 52",
) + tuple(f"Week {i}" for i in range(2, 52)) + ("Week 53",)
GEOGRAPHIC_LEVELS = (
    "National", "Regional", "Local authority", "Local authority district", "Parliamentary constituency",
    "Local skills improvement plan area", "Ward", "School", "Provider", "Institution", "Planning area",
    "Opportunity area", "English devolved area", "Local enterprise partnership", "Mayoral combined authority",
    "MAT", "Sponsor", "RSC region", "Police force area", "Health area", "Country",
)
NUMBER_RE = r"^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
LA_NEW_RE = r"^E(06|07|08|09|10)\d{6}$"
LA_OLD_RE = r"^\d{3}$"
COUNTRY_RE = r"^[EKNSW]\d{8}$"
REGION_RE = r"^E12\d{6}$"

_LEVEL = pl.col("geographic_level")


def _row_check(expr_fn, name: str, null_ok: bool = False) -> pa.Check:
    """A row-wise check that may look at other columns; expr_fn(key) -> boolean polars expr."""
    return pa.Check(lambda d: d.lazyframe.select(expr_fn(d.key).fill_null(null_ok)), name=name)


def _consecutive(key: str) -> pl.Expr:
    s = pl.col(key)
    six = (s.str.slice(4, 2).cast(pl.Int32, strict=False)
           == (s.str.slice(2, 2).cast(pl.Int32, strict=False) + 1) % 100)
    return pl.when(s.str.len_chars() == 6).then(six).otherwise(pl.lit(True))


def schema(dataset: str, measure_columns: tuple[str, ...] | None = None) -> pa.DataFrameSchema:
    """The pandera schema of an EES tidy CSV read as text (all columns pl.String)."""
    measures = measure_columns or MEASURES[dataset]
    cols = {
        "time_period": pa.Column(pl.String, checks=[
            _row_check(lambda k: pl.col(k).str.contains(r"^(\d{4}|\d{6})$"), "time_period_format"),
            _row_check(_consecutive, "time_period_consecutive_years")]),
        "time_identifier": pa.Column(pl.String, checks=_row_check(lambda k: pl.col(k).is_in(TIME_IDENTIFIERS), "time_identifier_allowed")),
        "geographic_level": pa.Column(pl.String, checks=_row_check(lambda k: pl.col(k).is_in(GEOGRAPHIC_LEVELS), "geographic_level_allowed")),
        "country_code": pa.Column(pl.String, checks=_row_check(lambda k: pl.col(k).str.contains(COUNTRY_RE), "country_code_format")),
        "country_name": pa.Column(pl.String, nullable=True),
        "region_code": pa.Column(pl.String, nullable=True, checks=[_row_check(
            lambda k: (~_LEVEL.is_in(["Regional", "Local authority"])) | pl.col(k).str.contains(REGION_RE),
            "region_code_required_for_regional_and_la_rows")]),
        "region_name": pa.Column(pl.String, nullable=True),
        "new_la_code": pa.Column(pl.String, nullable=True, checks=[_row_check(
            lambda k: (_LEVEL != "Local authority") | pl.col(k).str.contains(LA_NEW_RE),
            "new_la_code_required_for_la_rows")]),
        "old_la_code": pa.Column(pl.String, nullable=True, checks=[_row_check(
            lambda k: (_LEVEL != "Local authority") | pl.col(k).str.contains(LA_OLD_RE),
            "old_la_code_required_for_la_rows")]),
        "la_name": pa.Column(pl.String, nullable=True),
        "breakdown_topic": pa.Column(pl.String),
        "breakdown": pa.Column(pl.String),
    }
    for m in measures:
        cols[m] = pa.Column(pl.String, nullable=False, checks=[_row_check(
            lambda k: pl.col(k).str.strip_chars().str.contains(NUMBER_RE) | pl.col(k).str.strip_chars().is_in(SYMBOLS),
            "number_or_symbol", null_ok=True)])
    return pa.DataFrameSchema(cols, unique=list(KEY_COLUMNS), strict=False, name=f"ees_{dataset}")


_RULE_BY_CHECK = {
    "time_period_format": "D02", "time_period_consecutive_years": "D02",
    "time_identifier_allowed": "D03", "geographic_level_allowed": "D04",
    "country_code_format": "D05", "region_code_required_for_regional_and_la_rows": "D05",
    "new_la_code_required_for_la_rows": "D05", "old_la_code_required_for_la_rows": "D05",
    "multiple_fields_uniqueness": "D06", "number_or_symbol": "D07", "not_nullable": "D08",
}
_NULL_RULE = {"time_period": "D02", "time_identifier": "D03", "geographic_level": "D04",
              "country_code": "D05", "breakdown_topic": "D01", "breakdown": "D01"}
_WHAT = {
    "time_period_format": ("is not a valid time period", "use 4 digits (2025) or 6 digits for an academic or financial year (202526)"),
    "time_period_consecutive_years": ("does not span consecutive years", "use consecutive years, for example 202526"),
    "time_identifier_allowed": ("is not an EES time identifier", "use one of the EES values, for example 'Autumn term'"),
    "geographic_level_allowed": ("is not an EES geographic level", "use one of the EES values: National, Regional, Local authority, ..."),
    "country_code_format": ("is not a valid country code", "enter the 9-character code, for example E92000001"),
    "region_code_required_for_regional_and_la_rows": ("is missing or not a region code", "enter the 9-character code, for example E12000007"),
    "new_la_code_required_for_la_rows": ("is missing or not a local authority code", "enter the 9-character code starting E06, E07, E08, E09 or E10"),
    "old_la_code_required_for_la_rows": ("is missing or not a 3-digit local authority code", "enter the 3-digit code, for example 301"),
    "number_or_symbol": ("is not a number or an EES symbol", "enter a number, or one of the symbols c, x, z, low, u"),
    "not_nullable": ("is blank", "fill in every cell of this column (measures: a number or one of the symbols c, x, z, low, u)"),
    "multiple_fields_uniqueness": ("is a duplicate row", "keep one row per time period, geography and breakdown"),
}


def _finding(rule: str, file: str, cell: str | None, value, message: str) -> Finding:
    from contracts import inert
    from contracts.rules import RULES

    # A cell quoted back is shown, never acted on (contracts.inert), as in every other finding.
    value = inert.visible(value) if isinstance(value, str) else value
    return Finding(level=RULES[rule].level, rule=rule, message=inert.visible(message), sheet=file, cell=cell,
                   value=value, file=file)


def validate_frame(df: pl.DataFrame, dataset: str, file: str = "", max_findings: int = 50) -> list[Finding]:
    """Check a frame read as text; [] when it meets the contract."""
    if dataset not in MEASURES:
        raise ValueError(f"unknown EES dataset {dataset!r}: use {', '.join(MEASURES)}")
    required = GEO_COLUMNS + BREAKDOWN_COLUMNS + MEASURES[dataset]
    missing = [c for c in required if c not in df.columns]
    if missing:
        return [_finding("D01", file, None, ", ".join(missing),
                         f"'{file}' has no column {', '.join(repr(c) for c in missing)}. Action required: use the "
                         f"EES tidy-data columns of the {dataset} file exactly as published.")]
    measures = MEASURES[dataset] + tuple(c for c in df.columns if c.endswith("_percent") and c not in MEASURES[dataset])
    try:
        schema(dataset, measures).validate(df, lazy=True)
        return []
    except (SchemaErrors, SchemaError) as exc:
        fc = getattr(exc, "failure_cases", None)
        if not isinstance(fc, pl.DataFrame):
            return [_finding("D09", file, None, None, f"'{file}' does not meet the EES tidy-data rules "
                             f"({str(exc).splitlines()[0][:120]}). Action required: check the file against the EES rules.")]
    out: list[Finding] = []
    col_index = {c: i + 1 for i, c in enumerate(df.columns)}
    seen_dups: set[int] = set()
    for r in fc.sort("index", nulls_last=True).iter_rows(named=True):
        check, column, idx = r["check"], r["column"], r["index"]
        key = check if check in _RULE_BY_CHECK else None
        if key is None:
            out.append(_finding("D09", file, None, r["failure_case"],
                                f"'{file}' failed the check {check} on column '{column}'. "
                                "Action required: check the file against the EES tidy-data rules."))
            continue
        line = idx + 2 if idx is not None else None  # line 1 is the header
        if key == "multiple_fields_uniqueness":
            if idx in seen_dups:
                continue
            seen_dups.add(idx)
            keys = ", ".join(f"{c}={df[c][idx]}" for c in KEY_COLUMNS if df[c][idx] is not None)
            out.append(_finding("D06", file, f"line {line}", keys,
                                f"Line {line} of '{file}' is a duplicate row ({keys}). Action required: "
                                f"{_WHAT[key][1]}."))
            continue
        rule = _RULE_BY_CHECK[key]
        if key == "not_nullable" and column not in measures:
            rule = _NULL_RULE.get(column, "D01")
        cell = f"{column_letter(col_index[column])}{line}" if column in col_index and line else None
        what, action = _WHAT[key]
        shown = "" if r["failure_case"] is None else f" ('{r['failure_case']}')"
        out.append(_finding(rule, file, cell, r["failure_case"],
                            f"Line {line}, column '{column}'{shown} {what}. Action required: {action}."))
    if len(out) > max_findings:
        extra = len(out) - max_findings
        out = out[:max_findings]
        out[-1].message += f" ({extra} more problems not listed.)"
    return out


def validate_ees_csv(path: Path | str, dataset: str) -> tuple[pl.DataFrame | None, list[Finding]]:
    """Read an EES tidy CSV as text and check it.  Returns (frame or None if errors, findings)."""
    path = Path(path)
    file = path.name
    try:
        df = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
        df = df.rename({c: c.strip().lstrip("\ufeff") for c in df.columns})
    except Exception as exc:
        return None, [_finding("D09", file, None, None,
                               f"'{file}' could not be read as a CSV file ({type(exc).__name__}). "
                               "Action required: save the file as comma-separated values (UTF-8) and try again.")]
    try:
        findings = validate_frame(df, dataset, file)
    except ValueError as exc:
        return None, [_finding("D09", file, None, dataset, f"{exc}. Action required: name the dataset.")]
    return (None if any(f.level == "error" for f in findings) else df), findings
