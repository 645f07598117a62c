"""Ingest assets: inbox -> archive -> validate -> raw tables, per LA and quarter.

Each step is an asset so the UI shows what arrived, what failed and why.  Validation results are
asset checks on ``validated_returns``: ``return_accepted`` (errors reject the return; queries warn)
and the blocking pandera ``parsed_tables_contract``.
"""

import dagster as dg

from contracts.findings import REJECTED
from pipeline import ingest
from pipeline.defs.partitions import return_partitions, split_key
from pipeline.defs.resources import WarehouseResource

GROUP = "ingest"


@dg.asset(partitions_def=return_partitions, group_name=GROUP, kinds={"xlsx"},
          description="Every upload for this LA and quarter, copied byte-for-byte into the archive "
                      "under its content hash. Earlier uploads are never overwritten.")
def archived_returns(context: dg.AssetExecutionContext) -> list[ingest.Upload]:
    la, period = split_key(context)
    uploads = [ingest.archive_upload(p, f"{period}/{la}") for p in ingest.uploads_for(la, period)]
    uploads.sort(key=lambda u: u.received_at)  # process in the order they arrived
    context.add_output_metadata({
        "uploads": len(uploads),
        "files": dg.MetadataValue.md("\n".join(f"- `{u.original_name}` ({u.size:,} bytes, "
                                               f"received {u.received_at}, sha256 `{u.sha256[:12]}`)"
                                               for u in uploads) or "No upload in the inbox."),
    })
    return uploads


def _findings_md(result) -> str:
    if not result.findings:
        return "No findings."
    lines = ["| level | rule | cell | value | message |", "|---|---|---|---|---|"]
    for f in result.findings:
        cell = f"{f.sheet}!{f.cell}" if f.sheet and f.cell else (f.sheet or "")
        msg = str(f.message).replace("|", "/")
        lines.append(f"| {f.level} | {f.rule} | {cell} | {'' if f.value is None else str(f.value).replace('|', '/')} | {msg} |")
    return "\n".join(lines)


def _preview_md(result, rows: int = 12) -> str:
    """The first figures of the latest upload as read, so an analyst can eyeball the parse."""
    if result is None or result.content is None:
        return "Nothing could be read."
    df = result.content.values.head(rows)
    cols = [c for c in ("item_id", "quarter", "value", "cell") if c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in df.select(cols).rows()]
    return "\n".join(lines) + f"\n\n{result.content.values.height} figures in all."


@dg.asset(partitions_def=return_partitions, group_name=GROUP, kinds={"pandera"},
          check_specs=[
              dg.AssetCheckSpec("return_accepted", asset="validated_returns",
                                description="The latest upload has no errors (queries only warn)."),
              dg.AssetCheckSpec("parsed_tables_contract", asset="validated_returns", blocking=True,
                                description="Parsed tables of accepted uploads satisfy the pandera contracts."),
          ],
          description="Each archived upload checked with the same rules as `lsrp validate`, plus the "
                      "collection context (revised earlier quarters, the quarter it was filed under).")
def validated_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      archived_returns: list[ingest.Upload]):
    from contracts import schemas

    la, period = split_key(context)
    results, previous = [], None
    with warehouse.connect() as con:
        for upload in archived_returns:
            result = ingest.check_upload(con, upload, la, period, previous=previous)
            if result.status != REJECTED:
                previous = result.content  # a later upload in this batch revises this one
            results.append((upload, result))
    latest = results[-1][1] if results else None
    status = latest.status if latest else "not received"
    yield dg.Output(results, metadata={
        "status": status,
        "uploads": len(results),
        "errors": len(latest.errors) if latest else 0,
        "queries": len(latest.queries) if latest else 0,
        "findings": dg.MetadataValue.md(_findings_md(latest) if latest else "No upload."),
        "preview": dg.MetadataValue.md(_preview_md(latest)),
    })
    yield dg.AssetCheckResult(
        check_name="return_accepted", passed=bool(latest) and status != REJECTED,
        severity=dg.AssetCheckSeverity.ERROR if status == REJECTED else dg.AssetCheckSeverity.WARN,
        metadata={"status": status, "findings": dg.MetadataValue.md(_findings_md(latest) if latest else "")})
    problems = [msg for _, r in results if r.content is not None and r.status != REJECTED
                for msg in (f"{f.rule} {f.cell or ''}: {f.message}" for f in schemas.validate_parsed(r.content))]
    yield dg.AssetCheckResult(check_name="parsed_tables_contract", passed=not problems,
                              metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "None")})


RETURN_TABLES = ("submissions", "return_values", "return_baselines", "return_targets", "findings")


@dg.multi_asset(
    partitions_def=return_partitions, group_name="raw", can_subset=False,
    specs=[dg.AssetSpec(["raw", t], deps=["validated_returns"], kinds={"duckdb"},
                        description=f"raw.{t}: loaded per submission (delete then insert).")
           for t in RETURN_TABLES])
def return_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource, validated_returns):
    """The LA's submissions, findings, figures, baselines and targets in the raw warehouse tables."""
    la, period = split_key(context)
    with warehouse.connect() as con:
        for upload, result in validated_returns:
            ingest.record(con, upload, result, la, period)
        counts = {t: con.execute(
            f"select count(*) from raw.{t} where submission_id in "
            "(select submission_id from raw.submissions where la_code = ? and period = ?)",
            [la, period]).fetchone()[0] for t in RETURN_TABLES}
    for t in RETURN_TABLES:
        yield dg.MaterializeResult(asset_key=["raw", t], metadata={"dagster/row_count": counts[t]})


@dg.asset(group_name=GROUP, kinds={"xlsx"},
          description="Uploads whose name carries no LA code: archived and rejected with feedback, so "
                      "nothing received is lost even when it cannot be filed under an LA.")
def unidentified_uploads(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    handled = []
    with warehouse.connect() as con:
        for period, code, path in ingest.return_uploads():
            if code is not None:
                continue
            upload = ingest.archive_upload(path, f"{period}/unidentified")
            result = ingest.check_upload(con, upload, None, period)
            ingest.record(con, upload, result, None, period)
            handled.append(f"- `{upload.original_name}`: {result.status}")
    context.add_output_metadata({"uploads": len(handled),
                                 "files": dg.MetadataValue.md("\n".join(handled) or "None")})
