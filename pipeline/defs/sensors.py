"""The inbox sensor: receive each settled upload into the ledger, then reconcile.

Each tick:

1. **receive**: every settled, complete file in the inbox is snapshotted into the archive,
   recorded as an upload event and moved to ``received/`` (``pipeline/ledger.py``).  Each file is
   handled on its own: one bad name or file is logged and never blocks the others.  ``*.part``,
   ``*.tmp`` and ``~$*`` are ignored until renamed; an xlsx without its zip central directory is
   not complete yet (after LSRP_INCOMPLETE_SECONDS it is received anyway, and rejected as damaged).
2. **reconcile**: every event without a done record (warehouse row + feedback written) and not
   named by a live run goes into one batch (``archive/ledger/batches/<id>.json``: its events and
   each one's attempt number), and the batch gets one run, keyed ``batch:<id>``.  A run killed
   part-way (its worker's pid is gone, or it never started within LSRP_RUN_STALE_SECONDS) is
   marked failed, and its unanswered events go into the next batch, so nothing received is ever
   left unprocessed; an event is tried at most MAX_ATTEMPTS times.  No file name goes into a tag
   or run key: runs carry the batch id (the ledger has each event's hash and archive path).
"""
from __future__ import annotations

import hashlib
import os
import time

import dagster as dg

from pipeline import calendar, ingest, ledger
from pipeline.defs.ingest import ATTEMPT_TAG, BATCH_TAG, EVENT_TAG
from pipeline.defs.jobs import SERVICE_LOGS, dfe_held_job, ingest_batch_job, ingest_return_job, unidentified_upload_job
from pipeline.defs.service import worker_pid

MAX_ATTEMPTS = 5
PER_PARTITION_JOBS = {ingest_return_job.name, unidentified_upload_job.name}
ACTIVE = {dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.CANCELING}
WAITING = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED}


def sensor_interval() -> int:
    """Seconds between ticks (env LSRP_SENSOR_INTERVAL; the tests use 1)."""
    return int(os.environ.get("LSRP_SENSOR_INTERVAL", "30"))


def stale_seconds() -> float:
    """How long a started run may go without claiming its event before it is presumed dead."""
    return float(os.environ.get("LSRP_RUN_STALE_SECONDS", "600"))


def _say(log, level: str, msg: str) -> None:
    if log is not None:
        getattr(log, level)(msg)


def receive_inbox(now: float | None = None, settle: float | None = None,
                  log=None) -> tuple[list[ledger.Event], list[str]]:
    """Receive every settled inbox file into the ledger.  Returns (new events, names still waiting)."""
    settle = calendar.settle_seconds() if settle is None else settle
    known = {e.inbox_key: e for e in ledger.events()}
    received, waiting, ready = [], [], []
    for folder, path in ledger.inbox_files():
        shown = ledger.printable(os.path.join(folder, path.name))[0]
        try:
            if ledger.settle_state(path, settle, time.time() if now is None else now) == "waiting":
                waiting.append(shown)
            else:
                ready.append((folder, path, shown))
        except Exception as exc:  # one file never blocks the others
            _say(log, "error", f"Could not receive inbox/{shown}: {type(exc).__name__}: {exc}")
    try:  # all settled files at once: one fsync per ledger folder, not per file
        answers = ledger.receive_many([(folder, path) for folder, path, _ in ready], known)
    except Exception as exc:  # the ledger itself failed (disk full?): nothing left the inbox
        _say(log, "error", f"Could not receive {len(ready)} inbox file(s): {type(exc).__name__}: {exc}")
        answers = [None] * len(ready)
    for (folder, path, shown), event in zip(ready, answers):
        if isinstance(event, Exception):
            _say(log, "error", f"Could not receive inbox/{shown}: {type(event).__name__}: {event}")
        elif event is None:
            waiting.append(shown)  # it changed while being copied
        elif event.inbox_key not in known:
            received.append(event)
            known[event.inbox_key] = event
    return received, waiting


LAS_TAG, QUARTER_TAG, QUARANTINE_TAG = "lsrp/las", "lsrp/quarter", "lsrp/quarantined"


def content_tags(events: list[ledger.Event]) -> dict[str, str]:
    """Run tags saying what a batch carries, so the runs list reads by LA and quarter (Dagster
    names a job's runs by id only): ``lsrp/las`` (LA codes), ``lsrp/quarter`` (quarters) and
    ``lsrp/quarantined`` (uploads that could not be filed under an LA and quarter)."""
    las = sorted({e.la_code for e in events if e.la_code and e.route == ledger.ROUTE_RETURN})
    quarters = sorted({e.period for e in events if e.period and e.route == ledger.ROUTE_RETURN})
    tags = {}
    if las:
        tags[LAS_TAG] = ",".join(las)
    if quarters:
        tags[QUARTER_TAG] = ",".join(quarters)
    quarantined = sum(e.route == ledger.ROUTE_QUARANTINE for e in events)
    if quarantined:
        tags[QUARANTINE_TAG] = str(quarantined)
    return tags


def _run_request(events: list[ledger.Event], attempts: dict[str, int]) -> dg.RunRequest:
    """One run for a batch of events.  The batch (event ids and attempts) is recorded in the
    ledger first; the run carries only its id, never a file name."""
    batch_id = ledger.new_batch(attempts)
    tags = {BATCH_TAG: batch_id, ATTEMPT_TAG: str(max(attempts.values())), "lsrp/events": str(len(events)),
            **content_tags(events)}
    if len(events) == 1:  # a lone upload keeps its event's tags, so its run is easy to find
        tags |= {EVENT_TAG: events[0].event_id, "lsrp/sha256": events[0].sha256}
    return dg.RunRequest(run_config=SERVICE_LOGS, run_key=f"batch:{batch_id}", job_name=ingest_batch_job.name, tags=tags)


def _live(instance, record) -> bool:
    """Whether a run may still finish; a dead one is marked failed."""
    run = record.dagster_run
    if run.status in WAITING:
        return True
    if run.status not in ACTIVE:
        return False
    pid = worker_pid(instance, run.run_id) or ledger.claimed_pid(run.run_id)
    if pid is not None:
        alive = ledger.pid_alive(pid)
    else:  # launched but its worker has not reported yet
        alive = time.time() - record.update_timestamp.timestamp() < stale_seconds()  # since launch
    if not alive:
        instance.report_run_failed(run, message="The run's worker stopped before it finished "
                                                "(killed or crashed); the inbox sensor requests it again.")
    return alive


def _events_in_flight(instance, log=None) -> set[str]:
    """Events named by a run that may still finish: batch runs, and runs of one event or one
    partition launched by hand."""
    covered: set[str] = set()
    records = instance.get_run_records(filters=dg.RunsFilter(statuses=sorted(WAITING | ACTIVE, key=str)))
    for r in records:
        tags = r.dagster_run.tags
        if not (BATCH_TAG in tags or EVENT_TAG in tags or r.dagster_run.job_name in PER_PARTITION_JOBS):
            continue
        try:
            if not _live(instance, r):
                continue
            if BATCH_TAG in tags:
                covered |= set(ledger.batch(tags[BATCH_TAG])["events"])
            elif EVENT_TAG in tags:
                covered.add(tags[EVENT_TAG])
            else:  # a partition run launched by hand processes every event of its partition
                part = tags.get("dagster/partition", "")
                covered |= {e.event_id for e in ledger.events()
                            if f"{e.la_code}|{e.period}" == part or (not part and e.route == ledger.ROUTE_QUARANTINE)}
        except Exception as exc:
            _say(log, "error", f"Run {r.dagster_run.run_id}: could not tell what it processes: "
                               f"{type(exc).__name__}: {exc}")
    return covered


def pending_requests(instance, log=None) -> list[dg.RunRequest]:
    """One run for every event not yet answered and not being processed (reconciliation): a
    first load or a tick's uploads are one batch; an event whose run died is in the next one."""
    done = ledger.done_ids()
    pending = [e for e in ledger.events() if e.event_id not in done]
    if not pending:
        return []
    in_flight = _events_in_flight(instance, log)
    tried = ledger.batch_attempts()
    todo, attempts = [], {}
    for event in pending:
        if event.event_id in in_flight or ledger.done_record(event.event_id):  # finished while we looked
            continue
        attempt = tried.get(event.event_id, 0) + 1
        if attempt > MAX_ATTEMPTS:
            _say(log, "error", f"Event {event.event_id}: {attempt - 1} runs failed; not retried again. "
                               "See those runs in the Dagster UI.")
            continue
        todo.append(event)
        attempts[event.event_id] = attempt
    return [_run_request(todo, attempts)] if todo else []


def dfe_held_requests(now: float | None = None, settle: float | None = None,
                      instance=None) -> tuple[list[dg.RunRequest], list[str]]:
    """DfE-held CSVs (loaded by DfE, not uploaded by LAs): one run for the settled files, keyed by
    their names and hashes, so the same set is never loaded twice.  The run loads every file there
    (idempotent per file hash): a file added later brings one more run, not one run per file.
    Given the instance, a set already requested is not requested again: the files stay in the
    inbox, and a request the daemon would skip as a duplicate run key logs a line every tick."""
    import hashlib

    settle = calendar.settle_seconds() if settle is None else settle
    now = time.time() if now is None else now
    settled, waiting = [], []
    for path in ingest.dfe_held_uploads():
        if now - path.stat().st_mtime >= settle:
            settled.append(f"{path.name}:{ingest.sha256_of(path)}")
        else:
            waiting.append(path.name)
    if not settled:
        return [], waiting
    key = hashlib.sha256("\n".join(sorted(settled)).encode()).hexdigest()
    if instance is not None and instance.get_run_ids(
            filters=dg.RunsFilter(tags={"dagster/run_key": f"dfe_held:{key}"}), limit=1):
        return [], waiting
    return [dg.RunRequest(run_config=SERVICE_LOGS, run_key=f"dfe_held:{key}", job_name=dfe_held_job.name,
                          tags={"lsrp/files": str(len(settled))})], waiting


@dg.sensor(jobs=[ingest_batch_job, dfe_held_job],
           minimum_interval_seconds=sensor_interval(), default_status=dg.DefaultSensorStatus.RUNNING,
           description="Receives each settled upload into the ledger (archive + event), then starts one "
                       "run for all events not yet processed (a batch), again if a run died.")
def inbox_sensor(context: dg.SensorEvaluationContext):
    received, waiting = receive_inbox(log=context.log)
    requests = pending_requests(context.instance, log=context.log)
    held, held_waiting = dfe_held_requests(instance=context.instance)
    waiting += held_waiting
    if received:
        context.log.info(f"Received {len(received)} upload(s): events "
                         f"{', '.join(e.event_id for e in received[:10])}")
    # say what changed only: the same files still waiting are not logged again every tick
    seen = hashlib.sha256("\n".join(sorted(waiting)).encode()).hexdigest()[:16] if waiting else ""
    if waiting and seen != (context.cursor or ""):
        context.log.info(f"Waiting for {len(waiting)} file(s) still being copied: {', '.join(waiting[:5])}")
    if seen != (context.cursor or ""):
        context.update_cursor(seen)
    if not requests and not held:
        return dg.SkipReason("Nothing new to receive; every upload event is processed or has a run in progress.")
    return requests + held
