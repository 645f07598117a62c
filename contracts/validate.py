"""Validate one quarterly return exactly as DfE's ingest does, and the ``lsrp validate`` command.

``validate_file(path)`` runs the stages in order and never raises:

1. the upload (``reader.open_upload``): type, size, password/OLE2, corrupt, zip bomb, macros;
2. the file name (``rules.check_file_name``): convention and template version;
3. the workbook (``reader.read_workbook`` + ``rules.check_structure``): sheets, version, rows,
   column A, cover LA, year, quarter;
4. the figures (``rules.check_content`` + the pandera contracts in ``schemas``).

A fatal problem in a stage stops the later stages.  ``FileResult.content`` is set whenever the
figures could be located (even if the return is rejected); use ``FileResult.status`` to decide
whether to load it.
"""
from __future__ import annotations

import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from contracts import layout as L
from contracts import inert, plan_checks, reader, rules, schemas, text_checks
from contracts.catalogue import Catalogue, for_year, load, year_of_version, years
from contracts.findings import ERROR, QUERY, FileResult, Finding, ParsedReturn


@dataclass
class ValidationContext:
    """What validation may compare a return with.

    previous: the LA's last accepted ParsedReturn for the same year (revised-quarter queries, Q03).
    national: indicator id -> (mean, sd) of the national distribution, on the indicator's own scale;
        when given for an indicator, the range for Q02 is mean +- query_thresholds.national_range_sd * sd
        instead of the catalogue's plausible ``range``.
    max_bytes: upload size limit (default: env LSRP_MAX_UPLOAD_BYTES or 10 MB).
    expected_year: the collection year (default: the year whose template version the file name
        carries, else the catalogue's collection_year); it picks that year's catalogue (for_year).
    locked: the baselines and targets the LA's accepted initial return fixed (query Q11 on a change).
    """

    previous: ParsedReturn | None = None
    national: dict[str, tuple[float, float]] | None = None
    max_bytes: int | None = None
    expected_year: str | None = None
    locked: LockedPlan | None = None


@dataclass
class LockedPlan:
    """Baselines and targets fixed by the LA's accepted initial return: after approval a later return
    that states others is queried (Q11), and the warehouse keeps these (marts.plan_changes)."""

    period: str                                # the initial return's period, e.g. 2026-27-Q0
    baselines: dict[str, float]                # indicator id -> baseline value
    targets: dict[tuple[str, str], float]      # (indicator id, target period) -> target value


def catalogue_for(name: str, expected_year: str | None) -> Catalogue:
    """The catalogue of the return's collection year: the expected one (ingest knows it from the
    collection folder), else the year whose template version the file name carries."""
    if expected_year in years():
        return for_year(expected_year)
    if expected_year is None:
        m = L.FILE_NAME_RE.match(name)
        year = year_of_version(f"{m.group('month')}-{m.group('year')}") if m else None
        if year:
            return for_year(year)
    return load()


def validate_file(path: Path | str, context: ValidationContext | None = None,
                  original_name: str | None = None) -> FileResult:
    """Check one uploaded return.  ``original_name``: the name as uploaded, if the file on disk
    has another name (e.g. its content hash in the archive)."""
    return validate_files([(path, context, original_name)])[0]


def validate_files(items) -> list[FileResult]:
    """Check many returns: ``items`` are paths or (path, context, original_name) tuples.

    Each file's findings are exactly what ``validate_file`` gives it alone; only the pandera
    contracts run once per table over the whole batch (``run_contracts``), because pandera costs
    about 8 ms a call whatever the table's size (1,060 calls were 88% of validating 153 returns).
    """
    batch = ContractBatch()
    results = [_stage_file(*((item,) if isinstance(item, (str, Path)) else item), batch=batch)
               for item in items]
    batch.run()
    return results


def _stage_file(path: Path | str, context: ValidationContext | None = None,
                original_name: str | None = None, *, batch: "ContractBatch") -> FileResult:
    """Everything but the pandera contracts, which are queued on ``batch``."""
    path = Path(path)
    name = original_name or path.name
    context = context or ValidationContext()
    result = FileResult(file=name)
    try:
        data, found = reader.open_upload(path, name, context.max_bytes)
        if data is not None:
            result.sha256 = reader.sha256_bytes(data)
            _validate_data(data, name, context, result, batch)
        else:
            result.findings += found
            if path.is_file() and path.stat().st_size <= reader.max_upload_bytes(context.max_bytes):
                result.sha256 = reader.sha256_bytes(path.read_bytes())
    except Exception as exc:  # never raise: an unexpected problem is an error finding
        result.findings.append(rules.finding("E25", value=name, detail=reader._short(exc)))
    batch.name_findings(result, name)
    return result


def validate_bytes(data: bytes, name: str, context: ValidationContext | None = None) -> FileResult:
    """Like ``validate_file`` for bytes in memory (``name`` is the name as uploaded)."""
    context = context or ValidationContext()
    result = FileResult(file=name, sha256=reader.sha256_bytes(data))
    try:
        ext = Path(name).suffix.lower()
        limit = reader.max_upload_bytes(context.max_bytes)
        if ext == ".xlsm":
            result.findings.append(rules.finding("E02", value=name, name=name, detail=" (.xlsm)"))
        elif ext != ".xlsx":
            result.findings.append(rules.finding("E01", value=name, name=name, ext=f"'{ext}'" if ext else
                                                 "file without an extension"))
        elif len(data) > limit:
            size = reader.human_size(len(data))
            result.findings.append(rules.finding("E04", value=size, name=name, size=size,
                                                 limit=reader.human_size(limit)))
        else:
            ok, found = reader.check_bytes(data, name)
            result.findings += found
            if ok is not None:
                batch = ContractBatch()
                _validate_data(ok, name, context, result, batch)
                batch.run()
    except Exception as exc:
        result.findings.append(rules.finding("E25", value=name, detail=reader._short(exc)))
    for f in result.findings:
        f.file = name
    return result


def _validate_data(data: bytes, name: str, context: ValidationContext, result: FileResult,
                   batch: "ContractBatch") -> None:
    cat = catalogue_for(name, context.expected_year)
    name_findings, file_code = rules.check_file_name(name, cat)
    result.findings += name_findings
    wb, found = reader.read_workbook(data, name)
    result.findings += found
    if wb is None:
        return
    found, head = rules.check_structure(wb, file_code, context.expected_year, cat)
    result.findings += found
    if not head.layout_ok or head.quarter is None:
        return
    year = head.year or context.expected_year or cat.collection_year
    result.findings += rules.check_content(wb, head, context, cat)
    parsed = reader.parse_return(wb, head.la_code or file_code or "", head.la_name or "",
                                 year, head.quarter, cat)
    batch.add(result, [(parsed.values, "values"), (parsed.baselines, "baselines"), (parsed.targets, "targets")],
              sheet="Quarterly Return Template")
    # The plan parts: milestones, spend, risks and sign-off (contracts.plan_checks).  The contracts
    # run only when the rules found nothing wrong there, so one mistake is reported once.
    plan_found = text_checks.check_text(wb, cat) + plan_checks.check_plan(wb, head, cat)
    result.findings += plan_found
    parsed.plan = reader.parse_plan(wb, cat) if cat.plan is not None else None
    if not any(f.rule in plan_checks.PLAN_ERROR_RULES for f in plan_found) and parsed.plan is not None \
            and parsed.plan.filled:  # as schemas.validate_plan
        plan = parsed.plan
        batch.add(result, [(plan.signatories, "signatories"), (plan.milestones, "milestones"),
                           (plan.spend, "spend"), (plan.risks, "risks")])
    result.content = parsed


# --------------------------------------------------------------------------------------------
# the pandera contracts over a batch
# --------------------------------------------------------------------------------------------
_BATCH_KEY = "_lsrp_file"


def _batch_schema(table: str):
    """The table's contract over many files at once: the file key is one more column, and every
    uniqueness rule holds within a file (so a batch passes exactly when every file would)."""
    schema = copy.deepcopy(schemas.SCHEMAS[table])   # the shared contract is left as it is
    unique = list(schema.unique or [])
    uniques = [[c] for c, col in schema.columns.items() if col.unique] + ([unique] if unique else [])
    schema = schema.update_columns({c: {"unique": False} for c, col in schema.columns.items() if col.unique})
    schema = schema.add_columns({_BATCH_KEY: pa.Column(int)})
    checks = [pa.Check(lambda data, cols=cols: data.lazyframe.select(
        ~pl.struct([*cols, _BATCH_KEY]).is_duplicated().alias("unique")),
        name=f"unique {', '.join(cols)} per file") for cols in uniques]
    schema.unique = None
    schema.checks = list(schema.checks or []) + checks
    return schema


_SCHEMA_CACHE: dict[str, object] = {}


class ContractBatch:
    """Pandera contracts queued while files are read, then run once per table over all of them.

    ``add`` notes where in a file's findings its contract findings belong; ``run`` validates each
    table's frames together (one pandera call), and re-runs the per-file contract only for the
    files that the batch call shows failing (or all of them when a failure names no row), so a
    file's findings, their order and their wording are exactly those of a per-file call.
    """

    def __init__(self) -> None:
        self._queued: list[tuple[FileResult, int, list[tuple[pl.DataFrame, str]], str | None]] = []

    def add(self, result: FileResult, tables: list[tuple[pl.DataFrame, str]], sheet: str | None = None) -> None:
        self._queued.append((result, len(result.findings), tables, sheet))

    @staticmethod
    def name_findings(result: FileResult, name: str) -> None:
        for f in result.findings:
            f.file = name

    def run(self) -> None:
        if not self._queued:
            return
        found: dict[tuple[int, int], list[Finding]] = {}
        by_table: dict[str, list[tuple[int, int, pl.DataFrame, str | None]]] = {}
        for q, (_, _, tables, sheet) in enumerate(self._queued):
            for t, (df, table) in enumerate(tables):
                by_table.setdefault(table, []).append((q, t, df, sheet))
        for table, frames in by_table.items():
            found.update(self._run_table(table, frames))
        # insert from the last position back, so earlier positions stay valid
        for q in range(len(self._queued) - 1, -1, -1):
            result, at, tables, _ = self._queued[q]
            block = [found[(q, t)] for t in range(len(tables))]
            crash = next((b for b in block if isinstance(b, Exception)), None)
            if crash is not None:  # as validate_file: the problem is an E25 and the later stages never ran
                del result.findings[at:]
                result.findings.append(rules.finding("E25", value=result.file, detail=reader._short(crash)))
                result.content = None
                block = []
            block = [f for b in block if isinstance(b, list) for f in b]
            for f in block:
                f.file = result.file
            result.findings[at:at] = block
        self._queued = []

    @staticmethod
    def _run_table(table: str, frames) -> dict[tuple[int, int], list[Finding]]:
        if len(frames) == 1:
            q, t, df, sheet = frames[0]
            return {(q, t): ContractBatch._one(df, table, sheet)}
        suspects = set(range(len(frames)))
        groups: dict[tuple, list[int]] = {}
        for i, (_, _, df, _) in enumerate(frames):
            groups.setdefault(tuple(df.schema.items()), []).append(i)
        for members in groups.values():
            if len(members) == 1:
                continue  # one file of its shape: checked on its own below
            try:
                batch = pl.concat([frames[i][2].with_columns(pl.lit(n, dtype=pl.Int64).alias(_BATCH_KEY))
                                   for n, i in enumerate(members)], how="vertical")
                schema = _SCHEMA_CACHE.get(table) or _SCHEMA_CACHE.setdefault(table, _batch_schema(table))
                schema.validate(batch, lazy=True)
                suspects -= set(members)
            except (SchemaErrors, SchemaError) as exc:
                fc = getattr(exc, "failure_cases", None)
                if isinstance(fc, pl.DataFrame) and "index" in fc.columns and fc.height \
                        and fc["index"].null_count() == 0:
                    keys = batch[_BATCH_KEY]
                    failing = {int(keys[int(i)]) for i in fc["index"].to_list() if 0 <= int(i) < batch.height}
                    suspects -= {i for n, i in enumerate(members) if n not in failing}
            except Exception:  # anything unexpected: every file of the group is checked alone
                pass
        out = {(q, t): [] for q, t, _, _ in frames}
        for i in sorted(suspects):
            q, t, df, sheet = frames[i]
            out[(q, t)] = ContractBatch._one(df, table, sheet)
        return out

    @staticmethod
    def _one(df, table, sheet):
        try:
            return schemas.validate_table(df, table, sheet)
        except Exception as exc:  # noted, and reported as validate_file would
            return exc


# --------------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------------
STATUS_TEXT = {"accepted": "ACCEPTED", "accepted_with_queries": "ACCEPTED WITH QUERIES",
               "rejected": "REJECTED"}


def _where(f: Finding) -> str:
    if f.sheet and f.cell:
        return f"{f.sheet}!{f.cell}"
    return f.sheet or f.cell or "file"


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def format_text(result: FileResult) -> str:
    """A readable report: a status line, then findings grouped by level."""
    n_unres = sum(1 for q in result.queries if not q.resolved)
    lines = [f"{result.file}: {STATUS_TEXT[result.status]} "
             f"({_count(len(result.errors), 'error')}, {_count(len(result.queries), 'query', 'queries')}, "
             f"{n_unres} without a reason)"]
    for level, items in ((ERROR, result.errors), (QUERY, result.queries)):
        for f in items:
            value = "" if f.value is None else f"  value '{f.value if not isinstance(f.value, float) else rules.fmt(f.value)}'"
            tag = level.upper() + ("" if level == ERROR else (" (reason given)" if f.resolved else ""))
            lines.append(f"  {tag} {f.rule}  {_where(f)}{value}  {f.message}")
    # Printed to a terminal: anything it would act on (ESC sequences retitle it, BEL rings, a bidi
    # override reorders the line), from a cell or a file name, is shown as [U+XXXX] instead.
    return "\n".join(inert.visible(line) for line in lines)


def cli(files: list[str], fmt: str = "text") -> int:
    """``lsrp validate``: 0 = no errors, 1 = a file has errors, 2 = usage problem."""
    paths = [Path(f) for f in files]
    bad = [p for p in paths if not p.is_file()]
    if not files or bad:
        for p in bad:
            what = "is a folder, not a file" if p.is_dir() else "does not exist"
            print(inert.visible(f"lsrp validate: '{p}' {what}."), file=sys.stderr)
        if not files:
            print("lsrp validate: give at least one file to check.", file=sys.stderr)
        return 2
    if fmt not in ("text", "json"):
        print(f"lsrp validate: unknown format '{fmt}' (use text or json).", file=sys.stderr)
        return 2
    results = validate_files(paths)
    if fmt == "json":
        print(json.dumps({"files": [r.to_dict() for r in results]}, indent=2, ensure_ascii=False))
    else:
        for r in results:
            print(format_text(r))
            print()
        n_rej = sum(r.status == "rejected" for r in results)
        n_q = sum(r.status == "accepted_with_queries" for r in results)
        print(f"{len(results)} file(s) checked: {len(results) - n_rej - n_q} accepted, "
              f"{n_q} accepted with queries, {n_rej} rejected.")
    return 1 if any(r.errors for r in results) else 0
