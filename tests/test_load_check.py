"""The blocking check ``parsed_tables_contract`` checks what ingest loaded, so it can fail: a load that drops,
duplicates or alters rows of an accepted return is caught, in the function and in the Dagster run."""
from __future__ import annotations

import os
import time
from datetime import datetime

import dagster as dg
import pytest

from contracts.validate import validate_file
from pipeline import warehouse
from pipeline.load_check import loaded_problems, problems_by_submission


@pytest.fixture
def loaded(good_return, tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    result = validate_file(good_return)
    result.sha256 = "sub-1"
    sid = warehouse.record_submission(con, result, "/archive/x", datetime(2026, 10, 1, 9))
    yield con, [(sid, result.content)]
    con.close()


def test_a_whole_load_passes(loaded):
    con, subs = loaded
    assert loaded_problems(con, subs) == []
    assert problems_by_submission(con, subs) == {"sub-1": []}  # the batch form, as the ingest run calls it


@pytest.mark.parametrize("bug, sql", [
    ("row dropped", "delete from raw.return_values where rowid = (select min(rowid) from raw.return_values)"),
    ("row duplicated", "insert into raw.return_targets select * from raw.return_targets limit 1"),
    ("value altered", "update raw.return_values set value = value + 1 where item_id = 'requests_received'"),
    ("item id shifted", "update raw.return_baselines set indicator_id = 'not_an_indicator' "
                        "where rowid = (select min(rowid) from raw.return_baselines)"),
])
def test_a_load_bug_fails_it(loaded, bug, sql):
    con, subs = loaded
    con.execute(sql)
    problems = loaded_problems(con, subs)
    assert problems and all(p.startswith("sub-1 raw.return_") for p in problems), (bug, problems)
    assert problems_by_submission(con, subs)["sub-1"] == problems  # one check, worded once


def test_a_contract_finding_names_the_sheet_and_cell_to_open(loaded):
    con, subs = loaded
    (cell,) = con.execute("update raw.return_baselines set indicator_id = 'not_an_indicator' "
                          "where rowid = (select min(rowid) from raw.return_baselines) returning cell").fetchone()
    found = [p for p in loaded_problems(con, subs) if "failed a check" in p]
    assert found and found[0].startswith(
        f"sub-1 raw.return_baselines, Quarterly Return Template!{cell}: The baselines table read from the return "
        "failed a check"), found


def test_the_blocking_check_fails_the_ingest_run_on_a_load_bug(lsrp_home, dagster_instance, good_return,
                                                               monkeypatch):
    """Through Dagster: the inbox sensor's batch run for one return, with a loader that loses a row."""
    from pipeline import paths
    from pipeline.definitions import defs

    real = warehouse._content_frames

    def lossy(*args, **kw):          # a load bug: the last figure of the return never reaches raw
        frames = real(*args, **kw)
        frames["return_values"] = frames["return_values"].head(-1)
        return frames

    monkeypatch.setattr(warehouse, "_content_frames", lossy)
    folder = paths.inbox() / "2026-27-Q2"
    folder.mkdir(parents=True)
    f = folder / good_return.name
    f.write_bytes(good_return.read_bytes())
    past = time.time() - 60
    os.utime(f, (past, past))
    sensor = defs.resolve_sensor_def("inbox_sensor")
    requests = sensor(dg.build_sensor_context(instance=dagster_instance))
    (req,) = [r for r in requests if r.job_name == "ingest_batch_job"]
    res = defs.resolve_job_def(req.job_name).execute_in_process(
        instance=dagster_instance, tags=req.tags, raise_on_error=False)
    evals = [e.dagster_event.event_specific_data for e in dagster_instance.all_logs(res.run_id)
             if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"]
    (ev,) = [e for e in evals if e.check_name == "parsed_tables_contract"]
    assert ev.asset_key == dg.AssetKey(["raw", "return_values"]) and not ev.passed
    assert "rows loaded, not the" in ev.metadata["problems"].value
    assert not res.success   # the batch run fails too, so the run-failure sensor puts it in front of an analyst
