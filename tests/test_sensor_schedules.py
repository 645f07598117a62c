"""The inbox sensor (receive + reconcile) and the calendar schedules, against a real Dagster instance."""
import os
import shutil
import time
from datetime import datetime

import dagster as dg
import pytest

from pipeline import ledger, paths


def _drop(src, folder, age_seconds=60, name=None):
    target = paths.inbox() / folder / (name or src.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    past = time.time() - age_seconds
    os.utime(target, (past, past))
    return target


def _one_return(period="2026-27-Q2"):
    files = sorted((paths.SAMPLE_DIR / period).glob("*.xlsx"))
    assert files, "the committed sample has returns"
    return files[0]


def test_sensor_receives_each_settled_file_once_and_waits_for_copies(lsrp_home):
    from pipeline.defs.sensors import pending_requests, receive_inbox

    src = _one_return()
    fresh = _drop(src, "2026-27-Q2", age_seconds=0)
    received, waiting = receive_inbox()
    assert received == [] and waiting == [f"2026-27-Q2/{fresh.name}"]  # still being copied: not read yet

    past = time.time() - 60
    os.utime(fresh, (past, past))
    received, waiting = receive_inbox()
    assert len(received) == 1 and not waiting and not fresh.exists()  # moved out of the inbox
    ev = received[0]
    code = src.name.split("-")[5]
    assert (ev.route, ev.la_code, ev.period, ev.name, ev.seq) == ("return", code, "2026-27-Q2", src.name, 1)
    assert (ledger.received_dir() / ev.event_id / src.name).read_bytes() == src.read_bytes()
    assert ledger.Path(ev.archive_path).read_bytes() == src.read_bytes()
    assert receive_inbox()[0] == []  # nothing left to receive

    with dg.instance_for_test() as instance:
        (req,) = pending_requests(instance)
        assert req.run_key.startswith("batch:") and req.job_name == "ingest_batch_job"
        assert ledger.batch(req.tags["lsrp/batch"])["attempts"] == {ev.event_id: 1}
        assert src.name not in str(req.tags) and req.tags["lsrp/sha256"] == ev.sha256

    # the same name and bytes uploaded again later: a new event with a later sequence number
    again = _drop(src, "2026-27-Q2")
    (ev2,) = receive_inbox()[0]
    assert ev2.seq == 2 and ev2.sha256 == ev.sha256 and ev2.received_at > ev.received_at
    assert not again.exists() and len(list(ledger.blobs_dir().glob("*.xlsx"))) == 1  # stored once


def test_partial_lock_and_incomplete_files_wait(lsrp_home, monkeypatch):
    from pipeline.defs.sensors import receive_inbox

    folder = paths.inbox() / "2026-27-Q2"
    folder.mkdir(parents=True)
    src = _one_return().read_bytes()
    for name in ("~$lock.xlsx", "upload.xlsx.part", "upload.xlsx.tmp"):
        (folder / name).write_bytes(src)
    half = folder / "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    half.write_bytes(src[: len(src) // 2])  # no end-of-central-directory record yet
    for f in folder.iterdir():
        os.utime(f, (time.time() - 60,) * 2)
    received, waiting = receive_inbox()
    assert received == [] and waiting == [f"2026-27-Q2/{half.name}"]
    # an upload that never completes still gets an answer: received, then rejected as damaged
    monkeypatch.setenv("LSRP_INCOMPLETE_SECONDS", "30")
    (ev,) = receive_inbox()[0]
    assert ev.size == len(src) // 2


def test_invariant_awaits_an_incomplete_upload_as_the_sensor_does(lsrp_home, monkeypatch):
    """The checker and the sensor share one idea of "settled" (ledger.settle_state)."""
    folder = paths.inbox() / "2026-27-Q2"
    folder.mkdir(parents=True)
    src = _one_return().read_bytes()
    half = folder / "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    half.write_bytes(src[: len(src) // 2])  # a copy in progress: no end-of-central-directory record
    os.utime(half, (time.time() - 60,) * 2)  # past the settle time, well inside LSRP_INCOMPLETE_SECONDS
    assert ledger.invariant_problems() == []  # the sensor is rightly still waiting for it
    monkeypatch.setenv("LSRP_INCOMPLETE_SECONDS", "30")  # given up on: the sensor would receive it now
    assert ledger.invariant_problems() == [f"inbox/2026-27-Q2/{half.name}: settled but not received"]


@pytest.mark.parametrize("folder,name,reason", [
    ("", "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx", "top of the inbox"),
    ("2026-27-Q9", "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx", "not a collection quarter"),
    ("2026-27-Q2", "lsrp-quarterly-return-September-2026-999-nowhere.xlsx", "'999'"),
    ("2026-27-Q2", "LSRP return Q2 FINAL.xlsx", "no 3-digit LA code"),
    ("2026-27-Q2", os.fsdecode(b"lsrp-return-301-\xff\xfe.xlsx"), "not valid UTF-8"),
])
def test_unroutable_uploads_are_quarantined_with_a_reason(lsrp_home, folder, name, reason):
    from pipeline.defs.sensors import receive_inbox

    _drop(_one_return(), folder, name=name)
    (ev,) = receive_inbox()[0]
    assert ev.route == "quarantine" and ev.la_code is None and reason in ev.reason
    assert bytes.fromhex(ev.name_hex) == os.fsencode(name)  # the exact bytes are kept


def test_reconciliation_requests_again_when_a_run_died(lsrp_home):
    import subprocess

    from pipeline.defs.sensors import pending_requests, receive_inbox

    _drop(_one_return(), "2026-27-Q2")
    (ev,) = receive_inbox()[0]
    dead = subprocess.Popen(["true"])
    dead.wait()
    with dg.instance_for_test() as instance:
        run = instance.create_run_for_job(
            dg.GraphDefinition("g", node_defs=[]).to_job(), tags={"lsrp/event": ev.event_id},
            status=dg.DagsterRunStatus.STARTED)
        ledger.claim(run.run_id, [ev.event_id])  # this process is alive: the run is in progress
        assert pending_requests(instance) == []
        ledger.write_json_atomic(ledger.claims_dir() / f"{run.run_id}.json", {"pid": dead.pid, "events": []})
        (req,) = pending_requests(instance)  # its worker is gone: marked failed, asked again
        assert ledger.batch(req.tags["lsrp/batch"])["events"] == [ev.event_id]
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE


def test_sensor_definition_evaluates_against_instance(lsrp_home):
    from pipeline.definitions import defs

    sensor = defs.resolve_sensor_def("inbox_sensor")
    with dg.instance_for_test() as instance:
        assert isinstance(sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        _drop(_one_return(), "2026-27-Q2")
        result = sensor(dg.build_sensor_context(instance=instance))
        assert len(result) == 1 and result[0].job_name == "ingest_batch_job"


def test_loading_the_definitions_prints_no_dagster_warning(lsrp_home):
    """`lsrp run` loads the code location as this does: an analyst sees only our progress lines, not
    Dagster's BetaWarning about the `owners` of the inbox sensor's copy (pipeline/definitions.py)."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    proc = subprocess.run([sys.executable, "-c", "from pipeline.definitions import defs; "
                           "defs.resolve_job_def('ingest_batch_job'); defs.resolve_sensor_def('inbox_sensor')"],
                          cwd=paths.REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("when,expected", [
    (datetime(2026, 10, 15, 7), "2026-27-Q2"),  # inside the Q2 window
    (datetime(2028, 10, 16, 7), "2028-29-Q2"),  # the plan's last year is in the calendar
    (datetime(2026, 11, 20, 7), "opens on 2027-01-04"),  # between windows: says when the next opens
    (datetime(2029, 6, 1, 7), "run out"),       # after the last window: says so
])
def test_daily_status_schedule_runs_only_in_a_window(when, expected):
    from pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("daily_collection_status")
    result = schedule(dg.build_schedule_context(scheduled_execution_time=when))
    if isinstance(result, dg.SkipReason):
        assert expected in result.skip_message
    else:
        assert result.partition_key == expected  # the quarter is the dbt assets' partition


def test_publication_schedule_fires_on_publication_day_and_catches_up(dagster_instance):
    """On the publication day; and on a later morning if that day's publication never happened (the
    service was down, or the run failed for good), until the quarter is published."""
    from pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("quarterly_publication")
    ctx = lambda when: dg.build_schedule_context(instance=dagster_instance, scheduled_execution_time=when)  # noqa: E731
    due = schedule(ctx(datetime(2026, 11, 9, 6)))
    assert due.run_key == "publish:2026-27-Q2"
    assert due.partition_key == "2026-27-Q2" and "ops" not in due.run_config  # the partition, not config
    owed = schedule(ctx(datetime(2026, 11, 10, 6)))  # nothing published yet: caught up
    assert owed.partition_key == "2026-27-Q2" and owed.run_key == "publish:2026-27-Q2:catch-up:2026-11-10"
    dagster_instance.report_runless_asset_event(dg.AssetMaterialization("benchmark_packs", partition="2026-27-Q2"))
    skip = schedule(ctx(datetime(2026, 11, 10, 6)))  # published (today is after the publication day)
    assert isinstance(skip, dg.SkipReason) and "2027-02-08" in skip.skip_message
    late = schedule(ctx(datetime(2029, 6, 15, 6)))
    assert "run out" in late.skip_message
