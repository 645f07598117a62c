"""Running unattended: automatic republication, run failures recorded for analysts, dead run workers.

- ``republish_sensor``: an upload loaded after a quarter was published (a resubmission) requests
  the publication again for that quarter; the packs' own versioning re-issues only the packs whose
  figures changed.  It reads Dagster's event log, never the warehouse, so it takes no lock.
- ``record_run_failures``: every failed run is appended to ``$LSRP_HOME/run_failures.jsonl``
  (a file: the warehouse may be locked or mid-swap), loaded by the pooled ``raw/run_failures``
  asset into the warehouse, and shown in the ``run_failures`` mart beside the collection status.
- ``run_worker_watchdog``: the default run launcher cannot tell when a run worker was killed
  (kill -9, OOM), so its run would stay STARTED, hold the one-writer slot and block every later
  run until run monitoring's max runtime.  The watchdog marks such a run failed at once, which
  frees the slot and lets run retries relaunch it.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone

import dagster as dg

from pipeline import ledger
from pipeline.defs.jobs import SERVICE_LOGS, publish_job
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import WAREHOUSE_POOL

PERIOD = re.compile(r"\d{4}-\d{2}-Q[0-4]")
SUBMISSIONS = dg.AssetKey(["raw", "submissions"])
PACKS = dg.AssetKey("benchmark_packs")


def _seconds(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# ------------------------------------------------------------------ the failures table
@dg.asset(key=["raw", "run_failures"], group_name="raw", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
          description="Failed pipeline runs, from the run-failure sensor's log ($LSRP_HOME/run_failures.jsonl).")
def run_failures(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipeline import release
    from pipeline import warehouse as wh

    rows = release.read_run_failures()
    with warehouse.connect() as con:
        n = wh.load_run_failures(con, rows)
    return dg.MaterializeResult(metadata={"dagster/row_count": n})


@dg.asset(key=["raw", "portal_audit"], group_name="raw", kinds={"duckdb"}, pool=WAREHOUSE_POOL,
          description="The portal's audit trail, from its append-only log ($LSRP_HOME/portal/audit.jsonl).")
def portal_audit(warehouse: WarehouseResource) -> dg.MaterializeResult:
    from pipeline import release
    from pipeline import warehouse as wh

    rows = release.read_portal_audit()
    with warehouse.connect() as con:
        n = wh.load_portal_audit(con, rows)
    return dg.MaterializeResult(metadata={"dagster/row_count": n})


# ------------------------------------------------------------------ republication
def _records(instance, asset_key, after: int | None = None):
    cursor = None
    while True:
        result = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=asset_key, after_storage_id=after), limit=500, cursor=cursor,
            ascending=True)
        yield from result.records
        if not result.has_more:
            return
        cursor = result.cursor


def last_publications(instance) -> dict[str, int]:
    """Period -> storage id of its latest publication (benchmark_packs materialization of that
    quarter's partition; the metadata's period for one recorded before packs were partitioned)."""
    out = {}
    for r in _records(instance, PACKS):
        meta = r.asset_materialization.metadata if r.asset_materialization else {}
        period = r.partition_key or getattr(meta.get("period"), "value", None)
        if period:
            out[period] = r.storage_id
    return out


def republish_requests(instance) -> list[dg.RunRequest]:
    """One publish_job request per published quarter (its partition) with uploads loaded since its
    publication, tagged with the LAs whose returns changed so that only their packs are re-rendered.
    The run key names the newest such upload, so each change is published once."""
    from pipeline.defs.packs import CHANGED_LAS_TAG

    published = last_publications(instance)
    if not published:
        return []
    newest: dict[str, int] = {}
    las: dict[str, set[str]] = {}
    for r in _records(instance, SUBMISSIONS, after=min(published.values())):
        m = PERIOD.search(r.partition_key or "")
        if m and m.group(0) in published and r.storage_id > published[m.group(0)]:
            newest[m.group(0)] = max(newest.get(m.group(0), 0), r.storage_id)
            las.setdefault(m.group(0), set()).update(p for p in r.partition_key.split("|") if p.isdigit())
    requests = []
    for period, storage_id in sorted(newest.items()):
        tags = {"lsrp/trigger": "republish_sensor", "lsrp/period": period}
        if las.get(period):
            tags[CHANGED_LAS_TAG] = ",".join(sorted(las[period]))
        requests.append(dg.RunRequest(run_config=SERVICE_LOGS, run_key=f"republish:{period}:{storage_id}", partition_key=period, tags=tags))
    return requests


@dg.sensor(job=publish_job, minimum_interval_seconds=_seconds("LSRP_REPUBLISH_SECONDS", 600),
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Republishes a quarter when a return is loaded after its publication (a resubmission): "
                       "marts rebuilt, and the packs whose figures changed re-issued. Checks every "
                       "LSRP_REPUBLISH_SECONDS (default 600), so a burst of resubmissions is published once.")
def republish_sensor(context: dg.SensorEvaluationContext):
    requests = republish_requests(context.instance)
    return requests or dg.SkipReason("No upload loaded since the last publication of its quarter.")


# ------------------------------------------------------------------ failures
def failure_entry(run: dg.DagsterRun, message: str, max_retries: int) -> dict:
    partition = run.tags.get("dagster/partition", "")
    period = PERIOD.search(partition) or PERIOD.search(str(run.run_config))
    la = next((p for p in partition.split("|") if p.isdigit()), None)
    return {"run_id": run.run_id, "job_name": run.job_name, "period": period.group(0) if period else None,
            "la_code": la, "failed_at": datetime.now(timezone.utc).isoformat(), "message": message[:2000],
            "retry_number": int(run.tags.get("dagster/retry_number", 0)), "max_retries": max_retries,
            "root_run_id": run.root_run_id or run.run_id}


@dg.run_failure_sensor(name="record_run_failures", default_status=dg.DefaultSensorStatus.RUNNING,
                       minimum_interval_seconds=_seconds("LSRP_FAILURE_SENSOR_SECONDS", 30),
                       description="Records every failed run in $LSRP_HOME/run_failures.jsonl, loaded into "
                                   "the run_failures mart that DfE analysts read beside the collection status.")
def record_run_failures(context: dg.RunFailureSensorContext):
    from pipeline import release

    steps = []
    try:
        steps = [_error_line(e.event_specific_data.error)
                 for e in context.get_step_failure_events() if e.event_specific_data and e.event_specific_data.error]
    except Exception:  # the record matters more than its detail
        pass
    message = "; ".join(steps) or (context.failure_event.message or "run failed")
    try:
        max_retries = context.instance.run_retries_max_retries if context.instance.run_retries_enabled else 0
    except Exception:
        max_retries = 0
    entry = failure_entry(context.dagster_run, message, max_retries)
    release.record_run_failure(entry)
    if not will_retry(context.dagster_run, max_retries):
        from pipeline import alerts

        run = context.dagster_run
        alerts.alert_run_failure(run.run_id, run.job_name, message, las=run.tags.get("lsrp/las") or entry["la_code"],
                                 quarter=run.tags.get("lsrp/quarter") or entry["period"],
                                 retry_number=entry["retry_number"])


def _error_line(error) -> str:
    """The first line of a step's error, with its cause's (the user's exception, which Dagster wraps
    in "Error occurred while executing op ...")."""
    line = error.message.strip().splitlines()[0]
    cause = getattr(error, "cause", None)
    if cause is not None and cause.message:
        line += " " + cause.message.strip().splitlines()[0]
    return line


def will_retry(run: dg.DagsterRun, max_retries: int) -> bool:
    """Whether run retries will launch this failed run again: Dagster's own ``dagster/will_retry``
    tag when it has set it, else its retry number against the (run's or instance's) maximum."""
    tag = run.tags.get("dagster/will_retry")
    if tag is not None:
        return tag.lower() == "true"
    limit = int(run.tags.get("dagster/max_retries", max_retries))
    return int(run.tags.get("dagster/retry_number", 0)) < limit


def worker_pid(instance, run_id: str) -> int | None:
    """The run worker's pid, from the engine event the default run launcher's worker logs first."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20).records
    for r in records:
        ev = r.event_log_entry.dagster_event
        data = ev.engine_event_data if ev else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and "Started process for run" in (ev.message or ""):
            return int(getattr(pid, "value", pid))
    return None


def dead_runs(instance) -> list[tuple[dg.DagsterRun, int]]:
    runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
    out = []
    for run in runs:
        pid = worker_pid(instance, run.run_id)
        if pid is not None and not ledger.pid_alive(pid):
            out.append((run, pid))
    return out


@dg.sensor(minimum_interval_seconds=_seconds("LSRP_WATCHDOG_SECONDS", 30), default_status=dg.DefaultSensorStatus.RUNNING,
           description="Marks a run failed when its run worker process is gone (killed or crashed), so it "
                       "frees the one-writer slot and run retries relaunch it.")
def run_worker_watchdog(context: dg.SensorEvaluationContext):
    dead = dead_runs(context.instance)
    for run, pid in dead:
        context.instance.report_run_failed(run, message=f"The run worker (pid {pid}) is gone: killed or crashed.")
        context.log.warning(f"Run {run.run_id} ({run.job_name}): worker pid {pid} gone; marked failed")
    return dg.SkipReason(f"{len(dead)} run(s) with a dead worker marked failed" if dead else "All run workers alive.")
