"""The inbox sensor and the calendar schedules, evaluated against a real Dagster instance."""
import os
import shutil
import time
from datetime import datetime

import dagster as dg
import pytest

from pipeline import paths


def _drop(src, period, age_seconds=60):
    target = paths.inbox() / period / src.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, target)
    past = time.time() - age_seconds
    os.utime(target, (past, past))
    return target


def _one_return(period="2026-27-Q2"):
    files = sorted((paths.SAMPLE_DIR / period).glob("*.xlsx"))
    assert files, "the committed sample has returns"
    return files[0]


def test_sensor_requests_one_run_per_new_file_and_waits_for_copies(lsrp_home):
    from pipeline.defs.sensors import inbox_run_requests

    src = _one_return()
    fresh = _drop(src, "2026-27-Q2", age_seconds=0)
    requests, waiting = inbox_run_requests()
    assert requests == [] and waiting == [fresh.name]  # still being copied: not read yet

    past = time.time() - 60
    os.utime(fresh, (past, past))
    requests, waiting = inbox_run_requests()
    assert len(requests) == 1 and not waiting
    req = requests[0]
    code = src.name.split("-")[5]
    assert req.partition_key.keys_by_dimension == {"la": code, "period": "2026-27-Q2"}
    assert requests[0].run_key == inbox_run_requests()[0][0].run_key  # same file, same key: one run

    # a resubmission (new bytes, same name) gets a new run key for the same partition
    with open(fresh, "ab") as f:
        f.write(b"\0")
    os.utime(fresh, (past, past))
    again = inbox_run_requests()[0][0]
    assert again.run_key != req.run_key and again.partition_key == req.partition_key


def test_sensor_ignores_lock_and_partial_files_and_routes_unidentified(lsrp_home):
    from pipeline.defs.sensors import inbox_run_requests

    folder = paths.inbox() / "2026-27-Q2"
    folder.mkdir(parents=True)
    for name in ("~$lock.xlsx", "upload.xlsx.part", "my return.xlsx"):
        (folder / name).write_bytes(b"x")
        os.utime(folder / name, (time.time() - 60,) * 2)
    requests, _ = inbox_run_requests()
    assert [r.job_name for r in requests] == ["unidentified_upload_job"]


def test_sensor_definition_evaluates_against_instance(lsrp_home):
    from pipeline.definitions import defs

    sensor = defs.resolve_sensor_def("inbox_sensor")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance)
        assert isinstance(sensor(ctx), dg.SkipReason)
        _drop(_one_return(), "2026-27-Q2")
        result = sensor(dg.build_sensor_context(instance=instance))
        assert len(result) == 1 and result[0].job_name == "ingest_return_job"


@pytest.mark.parametrize("when,expected", [
    (datetime(2026, 10, 15, 7), "2026-27-Q2"),  # inside the Q2 window
    (datetime(2026, 11, 20, 7), None),          # between windows
])
def test_daily_status_schedule_runs_only_in_a_window(when, expected):
    from pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("daily_collection_status")
    result = schedule(dg.build_schedule_context(scheduled_execution_time=when))
    if expected is None:
        assert isinstance(result, dg.SkipReason)
    else:
        assert result.run_config["ops"]["lsrp_dbt_assets"]["config"]["quarter"] == expected


def test_publication_schedule_fires_on_publication_day_only():
    from pipeline.definitions import defs

    schedule = defs.resolve_schedule_def("quarterly_publication")
    due = schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 9, 6)))
    assert due.run_key == "publish:2026-27-Q2"
    assert due.run_config["ops"]["benchmark_packs"]["config"]["quarter"] == "2026-27-Q2"
    assert isinstance(schedule(dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 10, 6))),
                      dg.SkipReason)
