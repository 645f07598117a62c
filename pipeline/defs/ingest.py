"""Ingest assets: upload event (archived by the sensor) -> validate -> raw tables, per LA and quarter.

Each step is an asset so the UI shows what arrived, what failed and why.  Validation results are
an asset check on ``validated_returns``: ``return_accepted`` (errors reject the return; queries warn).
The blocking pandera ``parsed_tables_contract`` checks what was loaded (``pipeline/load_check.py``).

A run processes the upload event named by its ``lsrp/event`` tag (set by the inbox sensor), i.e.
exactly the archived bytes the sensor snapshotted; it never reads the inbox.  A run launched by hand
for a partition processes every event filed under it.  Every step is idempotent per event, so a
retried or re-requested run ends with one row per event.
"""

import os
import time

import dagster as dg

from contracts.findings import REJECTED
from pipeline import ingest, ledger
from pipeline.defs.partitions import partition_key, return_partitions, split_key
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import WAREHOUSE_POOL

GROUP = "ingest"
EVENT_TAG, ATTEMPT_TAG = "lsrp/event", "lsrp/attempt"


def run_events(context, route: str, la: str | None = None, period: str | None = None) -> list[ledger.Event]:
    """The events this run processes (the tagged one, else all of the partition), claimed by pid."""
    event_id = context.run.tags.get(EVENT_TAG)
    if event_id:
        events = [ledger.event(event_id)]
    else:
        done = ledger.done_ids() if route == ledger.ROUTE_QUARANTINE else set()
        events = [e for e in ledger.events() if e.route == route and e.event_id not in done
                  and (la is None or (e.la_code, e.period) == (la, period))]
    for e in events:
        if e.route != route or (la is not None and (e.la_code, e.period) != (la, period)):
            raise dg.Failure(f"event {e.event_id} is routed to {e.route} {e.la_code} {e.period}, not to this run")
    ledger.claim(context.run.run_id, [e.event_id for e in events])
    return events


def _test_hold(context) -> None:
    """Fault-injection aid for the service tests: hold a first attempt mid-ingest so it can be killed."""
    hold = float(os.environ.get("LSRP_TEST_HOLD_SECONDS", "0") or 0)
    if hold and context.run.tags.get(ATTEMPT_TAG) == "1":
        time.sleep(hold)


@dg.asset(partitions_def=return_partitions, group_name=GROUP, kinds={"xlsx"},
          description="The upload events for this LA and quarter: each a byte-identical copy in the "
                      "archive (named by its SHA-256), received by the inbox sensor. Never overwritten.")
def archived_returns(context: dg.AssetExecutionContext) -> list[ingest.Upload]:
    la, period = split_key(context)
    uploads = [ledger.upload_of(e) for e in run_events(context, ledger.ROUTE_RETURN, la, period)]
    uploads.sort(key=lambda u: u.seq)  # process in the order they were received
    context.add_output_metadata({
        "uploads": len(uploads),
        "files": dg.MetadataValue.md("\n".join(f"- `{u.original_name}` ({u.size:,} bytes, "
                                               f"event {u.event_id}, received {u.received_at}, "
                                               f"sha256 `{u.sha256[:12]}`)"
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


@dg.asset(partitions_def=return_partitions, group_name=GROUP, kinds={"pandera"}, pool=WAREHOUSE_POOL,
          check_specs=[
              dg.AssetCheckSpec("return_accepted", asset="validated_returns",
                                description="The latest upload has no errors (queries only warn)."),
          ],
          description="Each archived upload checked with the same rules as `lsrp validate`, plus the "
                      "collection context (revised earlier quarters, the quarter it was filed under).")
def validated_returns(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                      archived_returns: list[ingest.Upload]):
    la, period = split_key(context)
    _test_hold(context)
    results, previous = [], None
    with warehouse.connect() as con:
        for upload in archived_returns:
            result = ingest.validate_event(con, ledger.event(upload.event_id), upload, previous=previous)
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
        check_name="return_accepted", passed=bool(latest) and status == ACCEPTED,
        severity=check_severity(status),
        metadata={"status": status, "findings": dg.MetadataValue.md(_findings_md(latest) if latest else "")})


RETURN_TABLES = ("submissions", "return_values", "return_baselines", "return_targets", "findings")
ACCEPTED = "accepted"


def check_severity(status: str) -> dg.AssetCheckSeverity:
    """``return_accepted`` passes for an accepted return; it fails as a WARN (yellow) for one accepted
    with queries and as an ERROR (red) for a rejected one, so the UI tells the three apart."""
    return dg.AssetCheckSeverity.ERROR if status == REJECTED else dg.AssetCheckSeverity.WARN


def answered_now(context, answered: list[tuple[ledger.Event, object]]) -> None:
    """After a run has answered uploads: the live collection status is rewritten (who is in, within
    a minute of any upload), the run is tagged with what became of them (the runs list shows
    ``lsrp/rejected`` etc.), and quarantined uploads and returns rejected after their deadline are
    alerted.  None of it may fail the run."""
    from pipeline import alerts, calendar, live_status

    try:
        live_status.write()
    except Exception as exc:
        context.log.warning(f"Live collection status not written: {type(exc).__name__}: {exc}")
    counts: dict[str, list[str]] = {}
    for event, result in answered:
        status = getattr(result, "status", None) or "not processed"
        who = event.la_code or "quarantine"
        counts.setdefault(status, []).append(who)
    tags = {f"lsrp/{k}": ",".join(sorted(set(v))) for k, v in counts.items()}
    if tags:
        with_counts = "; ".join(f"{len(v)} {k}" for k, v in sorted(counts.items()))
        context.log.info(f"Answered {len(answered)} upload(s): " + "; ".join(
            f"{k} {','.join(sorted(set(v)))}" for k, v in sorted(counts.items())))
        try:
            context.instance.add_run_tags(context.run_id, {**tags, "lsrp/outcome": with_counts})
        except Exception as exc:
            context.log.warning(f"Run tags not added: {exc}")
    deadlines = {c.period: c.deadline for c in calendar.collections()}
    for event, result in answered:
        try:
            if event.route == ledger.ROUTE_QUARANTINE:
                alerts.alert_quarantined(event.event_id, event.name, event.folder, event.reason or "unknown")
            elif getattr(result, "status", None) == REJECTED and event.period in deadlines \
                    and event.received_datetime.date() > deadlines[event.period]:
                alerts.alert_rejected_late(event.la_code, event.period, deadlines[event.period].isoformat(),
                                           event.event_id, event.name, len(result.errors))
        except Exception as exc:
            context.log.warning(f"Alert for event {event.event_id} not sent: {type(exc).__name__}: {exc}")


@dg.multi_asset(
    partitions_def=return_partitions, group_name="raw", can_subset=False, pool=WAREHOUSE_POOL,
    specs=[dg.AssetSpec(["raw", t], deps=["validated_returns"], kinds={"duckdb"},
                        description=f"raw.{t}: loaded per submission (delete then insert).")
           for t in RETURN_TABLES],
    check_specs=[dg.AssetCheckSpec("parsed_tables_contract", asset=["raw", "return_values"], blocking=True,
                                   description="The rows loaded for each accepted upload satisfy the pandera "
                                               "contracts and are exactly the rows parsed from it.")])
def return_tables(context: dg.AssetExecutionContext, warehouse: WarehouseResource, validated_returns):
    """The LA's submissions, findings, figures, baselines and targets in the raw warehouse tables."""
    from pipeline.load_check import loaded_problems

    la, period = split_key(context)
    answered, loaded = [], []
    with warehouse.connect() as con:
        for upload, result in validated_returns:
            event = ledger.event(upload.event_id)
            answered.append((event, result.status, ingest.record(con, upload, result, la, period, event=event)))
            if result.content is not None and result.status != REJECTED:
                loaded.append((event.event_id, result.content))
        problems = loaded_problems(con, loaded)
        counts = {t: con.execute(
            f"select count(*) from raw.{t} where submission_id in "
            "(select submission_id from raw.submissions where la_code = ? and period = ?)",
            [la, period]).fetchone()[0] for t in RETURN_TABLES}
    ledger.mark_done_many(answered)  # committed, feedback written, warehouse released
    answered_now(context, [(event, result) for (event, _, _), (_, result) in zip(answered, validated_returns)])
    for t in RETURN_TABLES:
        yield dg.MaterializeResult(asset_key=["raw", t], metadata={"dagster/row_count": counts[t]})
    yield dg.AssetCheckResult(asset_key=["raw", "return_values"], check_name="parsed_tables_contract",
                              passed=not problems, metadata={
                                  "problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:200]) or "None")})


@dg.asset(group_name=GROUP, kinds={"xlsx"}, pool=WAREHOUSE_POOL,
          description="Uploads that cannot be filed under an LA and quarter (no or unknown LA code, a "
                      "folder that is not a quarter, the inbox root, a name that is not UTF-8): "
                      "archived, checked, rejected with feedback under feedback/quarantine/ and "
                      "recorded in raw.submissions with la_code NULL and the reason.")
def unidentified_uploads(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    handled, answered, results = [], [], []
    with warehouse.connect() as con:
        for event in run_events(context, ledger.ROUTE_QUARANTINE):
            result, feedback = ingest.process_event(con, event)
            answered.append((event, result.status, feedback))
            results.append((event, result))
            handled.append(f"- event {event.event_id} `{event.name}`: {result.status} ({event.reason})")
    ledger.mark_done_many(answered)  # committed, feedback written, warehouse released
    answered_now(context, results)
    context.add_output_metadata({"uploads": len(handled),
                                 "files": dg.MetadataValue.md("\n".join(handled) or "None")})


# ---------------------------------------------------------------------------------------------
# a batch of uploads in one run
# ---------------------------------------------------------------------------------------------
BATCH_TAG = "lsrp/batch"
VALIDATED = dg.AssetKey("validated_returns")


def _partition_events(context, key: str, outs: list[ingest.Outcome], counts: dict,
                      contract_problems: dict[str, list[str]]) -> None:
    """One LA and quarter's share of a batch run, reported as that partition's own
    materializations and check results: ``validated_returns`` (status, findings, the uploads),
    its two checks, and ``raw/submissions`` (with the rows now in each raw table).

    Every event is a separate write to Dagster's event log (about 1 ms idle with the pooled event
    log, pipeline/event_log.py).  Each raw table the batch wrote is materialized for the partition,
    so the UI knows ingest loaded them; ``archived_returns`` is materialized per partition only by
    runs of ``ingest_return_job`` (a partition launched by hand).  A rejected return is not a
    materialization of ``validated_returns`` (an accepted return that stands is, and a rejected
    resubmission does not undo it): its ``return_accepted`` check fails with severity ERROR."""
    answered = [o for o in outs if o.error is None]
    if not answered:
        return
    latest = answered[-1].result
    status = latest.status
    files = "\n".join(f"- `{o.event.name}` ({o.event.size:,} bytes, event {o.event.event_id}, received "
                      f"{o.event.received_at}, sha256 `{o.event.sha256[:12]}`)" for o in answered)
    if status != REJECTED:  # a rejected return is a failed check (red), not a materialization
        context.log_event(dg.AssetMaterialization(VALIDATED, partition=key, metadata={
            "status": status, "uploads": len(answered), "errors": len(latest.errors), "queries": len(latest.queries),
            "files": dg.MetadataValue.md(files),
            "findings": dg.MetadataValue.md(_findings_md(latest)), "preview": dg.MetadataValue.md(_preview_md(latest))}))
    context.log_event(dg.AssetCheckEvaluation(
        asset_key=VALIDATED, check_name="return_accepted", passed=status == ACCEPTED, partition=key,
        severity=check_severity(status),
        metadata={"status": status, "findings": dg.MetadataValue.md(_findings_md(latest))}))
    problems = [p for o in answered for p in contract_problems.get(o.event.event_id, [])]
    context.log_event(dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(["raw", "return_values"]), check_name="parsed_tables_contract", passed=not problems,
        partition=key,
        metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems) or "None")}))
    context.log_event(dg.AssetMaterialization(["raw", "submissions"], partition=key, metadata={
        "dagster/row_count": counts.get(("submissions", key), 0),
        **{f"rows in raw.{t}": counts.get((t, key), 0) for t in RETURN_TABLES if t != "submissions"}}))
    # every raw table the batch wrote for this partition is materialized, as it is: otherwise the UI's
    # "Materialize all" on the marts warns that raw tables ingest loaded "have not been materialized yet"
    for t in RETURN_TABLES:
        if t != "submissions":
            context.log_event(dg.AssetMaterialization(["raw", t], partition=key,
                                                      metadata={"dagster/row_count": counts.get((t, key), 0)}))


def _row_counts(con, keys: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(table, partition key) -> rows for the batch's partitions, one query per table."""
    if not keys:
        return {}
    las, periods = sorted({la for la, _ in keys}), sorted({p for _, p in keys})
    out = {}  # only the batch's quarters: years of history stay out of the newest quarter's cost
    for t in RETURN_TABLES:
        for la, period, n in con.execute(
                f"select s.la_code, s.period, count(*) from raw.{t} x join raw.submissions s using (submission_id) "
                "where s.la_code in (select unnest(?::VARCHAR[])) and s.period in (select unnest(?::VARCHAR[])) "
                "group by 1, 2", [las, periods]).fetchall() \
                if t != "submissions" else con.execute(
                "select la_code, period, count(*) from raw.submissions where la_code in "
                "(select unnest(?::VARCHAR[])) and period in (select unnest(?::VARCHAR[])) group by 1, 2",
                [las, periods]).fetchall():
            if (la, period) in keys:
                out[(t, str(partition_key(la, period)))] = n
    return out


@dg.op(pool=WAREHOUSE_POOL,
       description="Checks and loads a batch of upload events (the inbox sensor's batch, named by the "
                   "lsrp/batch tag) in one run: each upload in its bounded child process, all rows in "
                   "one bulk write, then each LA and quarter's materializations and checks. An upload "
                   "that cannot be processed fails only itself (the run then fails, and is retried).")
def ingest_batch(context: dg.OpExecutionContext, warehouse: WarehouseResource) -> None:
    batch_id = context.run.tags.get(BATCH_TAG)
    if not batch_id:
        raise dg.Failure("An ingest batch run needs the lsrp/batch tag (set by the inbox sensor).")
    done = ledger.done_ids()
    events = [ledger.event(e) for e in ledger.batch(batch_id)["events"] if e not in done]
    ledger.claim(context.run.run_id, [e.event_id for e in events])
    _test_hold(context)
    from pipeline.load_check import problems_by_submission

    with warehouse.connect() as con:
        outcomes = ingest.process_batch(con, events)
        keys = {(o.event.la_code, o.event.period) for o in outcomes if o.event.route == ledger.ROUTE_RETURN}
        counts = _row_counts(con, keys)
        # what was loaded, read back (the check that can fail: pipeline/load_check.py)
        problems = problems_by_submission(con, [(o.event.event_id, o.result.content) for o in outcomes
                                                if o.error is None and o.result.content is not None
                                                and o.result.status != REJECTED])
    # committed, feedback written, warehouse released: all durable before this run reports them
    ledger.mark_done_many([(o.event, o.result.status, o.feedback) for o in outcomes if o.error is None])
    answered_now(context, [(o.event, o.result) for o in outcomes if o.error is None])
    by_partition: dict[str, list[ingest.Outcome]] = {}
    quarantined = []
    for o in outcomes:
        if o.event.route == ledger.ROUTE_RETURN:
            by_partition.setdefault(str(partition_key(o.event.la_code, o.event.period)), []).append(o)
        else:
            quarantined.append(o)
    for key, outs in by_partition.items():
        _partition_events(context, key, outs, counts, problems)
    if quarantined:
        context.log_event(dg.AssetMaterialization("unidentified_uploads", metadata={
            "uploads": len(quarantined),
            "files": dg.MetadataValue.md("\n".join(
                f"- event {o.event.event_id} `{o.event.name}`: "
                f"{o.result.status if o.error is None else 'not processed'} ({o.event.reason})"
                for o in quarantined))}))
    failed = [o for o in outcomes if o.error]
    context.add_output_metadata({"events": len(outcomes), "failed": len(failed), "partitions": len(by_partition)})
    if failed:
        raise dg.Failure(
            f"{len(failed)} of {len(outcomes)} upload(s) could not be processed; the others are loaded. "
            "The run is retried, and the inbox sensor asks for these again.",
            metadata={"events": dg.MetadataValue.md("\n".join(f"- event {o.event.event_id}: {o.error}"
                                                              for o in failed))})
    bad = sorted(sid for sid, p in problems.items() if p)
    if bad:  # a load bug, not a bad return: the LAs' feedback stands, but an analyst must look
        raise dg.Failure(
            f"What was loaded for {len(bad)} upload(s) does not match what was parsed from them "
            "(check parsed_tables_contract failed): the raw tables need looking at before publication.",
            metadata={"events": dg.MetadataValue.md("\n".join(f"- {p}" for sid in bad for p in problems[sid][:20]))})
