"""The inbox sensor: each new or resubmitted return starts a run for that LA's partition, once.

- run_key = content hash, so the same file seen twice (or copied twice) never runs twice, while a
  resubmission (new bytes) always does;
- a file is only read once it has been unchanged for ``settle_seconds`` (a copy in progress keeps
  touching its modification time), and partial/lock files are ignored.
"""

import time

import dagster as dg

from pipeline import calendar, ingest
from pipeline.defs.jobs import dfe_held_job, ingest_return_job, unidentified_upload_job
from pipeline.defs.partitions import partition_key, period_partitions, la_partitions


def settled(path, now: float | None = None) -> bool:
    return ((now or time.time()) - path.stat().st_mtime) >= calendar.settle_seconds()


def inbox_run_requests(now: float | None = None) -> tuple[list[dg.RunRequest], list[str]]:
    """Run requests for every settled file in the inbox (pure: Dagster dedups by run_key)."""
    requests, waiting = [], []
    known_la, known_period = set(la_partitions.get_partition_keys()), set(period_partitions.get_partition_keys())
    for period, code, path in ingest.return_uploads():
        if not settled(path, now):
            waiting.append(path.name)
            continue
        digest = ingest.sha256_of(path)
        if code in known_la and period in known_period:
            requests.append(dg.RunRequest(run_key=f"return:{period}:{code}:{digest}",
                                          job_name=ingest_return_job.name,
                                          partition_key=partition_key(code, period),
                                          tags={"lsrp/file": path.name}))
        else:
            requests.append(dg.RunRequest(run_key=f"unidentified:{digest}", job_name=unidentified_upload_job.name,
                                          tags={"lsrp/file": path.name}))
    for path in ingest.dfe_held_uploads():
        if settled(path, now):
            requests.append(dg.RunRequest(run_key=f"dfe_held:{ingest.sha256_of(path)}",
                                          job_name=dfe_held_job.name, tags={"lsrp/file": path.name}))
        else:
            waiting.append(path.name)
    return requests, waiting


@dg.sensor(jobs=[ingest_return_job, unidentified_upload_job, dfe_held_job], minimum_interval_seconds=30,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Starts a run for each new or resubmitted file in the inbox, exactly once.")
def inbox_sensor(context: dg.SensorEvaluationContext):
    requests, waiting = inbox_run_requests()
    if waiting:
        context.log.info(f"Waiting for {len(waiting)} file(s) still being copied: {', '.join(waiting[:5])}")
    if not requests:
        return dg.SkipReason("No new or changed files in the inbox.")
    return requests
