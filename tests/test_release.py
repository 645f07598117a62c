"""The writer's building blocks without a daemon: lock retry, the packs folder swap, the analysts'
copy, dbt bound to its parent, and the republish sensor's reading of the event log."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline import dbt_args, paths, release, warehouse


def _holder(path: Path, seconds: float) -> subprocess.Popen:
    code = ("import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=True); print('held', flush=True); "
            "time.sleep(float(sys.argv[2]))")
    p = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_writer_waits_for_a_reader_and_gives_up_after_its_timeout(tmp_path):
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()
    holder = _holder(db, 2)
    with pytest.raises(duckdb.IOException, match="lock"):
        warehouse.connect(db, timeout=0.3)
    con = warehouse.connect(db, timeout=30)  # retried with backoff until the reader let go
    con.execute("create table t as select 1 as x")
    con.close()
    assert holder.wait(timeout=10) == 0


def test_packs_release_swaps_a_complete_folder_or_nothing(tmp_path):
    link = tmp_path / "packs"
    with release.packs_release(link) as folder:
        (folder / "index.html").write_text("v1")
    first = link.resolve()
    assert link.is_symlink() and (link / "index.html").read_text() == "v1"

    with pytest.raises(RuntimeError):
        with release.packs_release(link) as folder:
            assert (folder / "index.html").read_text() == "v1"  # starts from the current packs
            (folder / "index.html").write_text("half")
            raise RuntimeError("killed mid-publication")
    assert link.resolve() == first and (link / "index.html").read_text() == "v1"

    for n in (2, 3):
        with release.packs_release(link) as folder:
            (folder / "index.html").write_text(f"v{n}")
    assert (link / "index.html").read_text() == "v3"
    kept = sorted(p.name for p in (tmp_path / ".packs-releases").iterdir())
    assert len(kept) == 2 and first.name not in kept  # the current release and the one before


def test_packs_release_takes_over_a_plain_packs_folder(tmp_path):
    link = tmp_path / "packs"
    (link / "2026-27-Q2").mkdir(parents=True)
    (link / "2026-27-Q2" / "manifest.json").write_text("{}")
    with release.packs_release(link) as folder:
        assert (folder / "2026-27-Q2" / "manifest.json").exists()
    assert link.is_symlink() and (link / "2026-27-Q2" / "manifest.json").exists()


def test_swap_in_replaces_live_and_publishes_a_read_only_copy(lsrp_home):
    live = paths.warehouse()
    with warehouse.session() as con:
        con.execute("create schema marts; create table marts.benchmark as select 1 as v")
    build = release.stage_build(live)
    with duckdb.connect(str(build)) as con:
        con.execute("create or replace table marts.benchmark as select 2 as v")
    release.swap_in(build, live)
    with duckdb.connect(str(live), read_only=True) as con:
        assert con.execute("select v from marts.benchmark").fetchone()[0] == 2
    copy = release.published_dir() / "warehouse.duckdb"
    assert copy.stat().st_mode & 0o222 == 0  # read-only
    inode = copy.stat().st_ino
    held = _holder(copy, 30)  # an analyst on the copy does not stop the next publication
    build = release.stage_build(live)
    with duckdb.connect(str(build)) as con:
        con.execute("create or replace table marts.benchmark as select 3 as v")
    release.swap_in(build, live)
    assert held.poll() is None and copy.stat().st_ino != inode
    held.kill()
    import polars as pl

    assert pl.read_parquet(release.published_dir() / "parquet" / "benchmark.parquet")["v"].to_list() == [3]
    assert not build.exists()


def test_dbt_launcher_dies_with_its_parent(tmp_path):
    from pipeline.defs.resources import dbt_bound_to_parent

    fake_dbt = tmp_path / "fake-dbt"
    fake_dbt.write_text("#!/bin/sh\nexec sleep 60\n")
    fake_dbt.chmod(0o755)
    launcher = dbt_bound_to_parent(str(fake_dbt))
    assert launcher != str(fake_dbt), "setpriv is available on the supported platform (Linux)"
    # a parent (the run worker) starts dbt, then is killed with SIGKILL
    code = ("import subprocess, sys; p = subprocess.Popen([sys.argv[1], 'build']); print(p.pid, flush=True); "
            "p.wait()")
    parent = subprocess.Popen([sys.executable, "-c", code, launcher], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.3)
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 5
    while time.time() < deadline and Path(f"/proc/{child}").exists():
        state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] if Path(f"/proc/{child}").exists() else "X"
        if state == "Z":
            break
        time.sleep(0.1)
    alive = Path(f"/proc/{child}").exists() and Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive, "dbt outlived its run worker"


def test_republish_requests_only_for_uploads_after_publication(lsrp_home):
    from pipeline.defs.service import SUBMISSIONS, PACKS, failure_entry, republish_requests

    with dg.instance_for_test() as instance:
        def loaded(partition):
            instance.report_runless_asset_event(dg.AssetMaterialization(SUBMISSIONS, partition=partition))

        loaded("301|2026-27-Q2")
        assert republish_requests(instance) == []  # nothing published yet
        instance.report_runless_asset_event(dg.AssetMaterialization(PACKS, partition="2026-27-Q2"))
        assert republish_requests(instance) == []  # loaded before the publication
        loaded("308|2026-27-Q2")
        loaded("308|2026-27-Q1")  # a quarter never published: the schedule's job, not a republication
        [req] = republish_requests(instance)
        assert req.run_key.startswith("republish:2026-27-Q2:")
        assert req.partition_key == "2026-27-Q2" and req.tags["lsrp/changed_las"] == "308"
        assert republish_requests(instance)[0].run_key == req.run_key  # the same change: the same key
        loaded("886|2026-27-Q2")
        again = republish_requests(instance)[0]
        assert again.run_key != req.run_key and again.tags["lsrp/changed_las"] == "308,886"  # once more, both

    run = dg.DagsterRun(job_name="ingest_return_job", run_id="r1", tags={"dagster/partition": "886|2026-27-Q2"})
    entry = failure_entry(run, "boom", 2)
    assert (entry["la_code"], entry["period"], entry["retry_number"]) == ("886", "2026-27-Q2", 0)
    release.record_run_failure(entry)
    assert [r["run_id"] for r in release.read_run_failures()] == ["r1"]
    with warehouse.session() as con:
        assert warehouse.load_run_failures(con, release.read_run_failures()) == 1
        assert con.execute("select la_code, job_name from raw.run_failures").fetchall() == [("886", "ingest_return_job")]
    json.dumps(entry)


def test_instance_config_turns_on_the_service_settings_and_respects_a_hand_written_one(tmp_path, monkeypatch):
    from pipeline import run

    home = tmp_path / "dagster_home"
    home.mkdir()
    old = ("telemetry:\n  enabled: false\nevent_log_storage:\n  module: dagster._core.storage.event_log\n"
           "  class: ConsolidatedSqliteEventLogStorage\n  config:\n    base_dir: x\n")
    (home / "dagster.yaml").write_text(old)  # what an older `lsrp` wrote: brought up to date
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    run.ensure_dagster_home()
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
        assert type(instance.event_log_storage).__name__ == "PooledSqliteEventLogStorage"  # pipeline/event_log.py
        assert instance.run_monitoring_enabled and type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
        assert {"key": "lsrp/writer", "limit": 1} in limits
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # someone's own: left alone
    run.ensure_dagster_home()
    assert (home / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_a_failed_build_keeps_the_live_warehouse_and_the_next_one_swaps_in(lsrp_home):
    """dbt builds in the copy; a failed build means no swap: the live file keeps its previous state."""
    from pipeline.definitions import defs
    from pipeline.defs.warehouse_dbt import lsrp_dbt_assets

    with warehouse.session() as con:
        # the same failure recorded twice, bypassing the loader: the mart's primary key (a constraint
        # DuckDB enforces) fails its build
        con.execute("insert into raw.run_failures (run_id, job_name) values ('r1', 'publish_job'), ('r1', 'publish_job')")
        before = warehouse.table_counts(con)
    with dg.instance_for_test() as instance:
        result = dg.materialize([lsrp_dbt_assets], instance=instance, raise_on_error=False,
                                resources={"dbt": defs.resources["dbt"]}, partition_key="2026-27-Q2")
        logs = [e.user_message for e in instance.all_logs(result.run_id)]
    assert not result.success
    # the step's own log names the mart dbt could not build and why (in the Dagster UI, not only in lsrp run)
    assert any("dbt could not build run_failures" in m and 'duplicate key "r1"' in m for m in logs), logs[-5:]
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "marts/run_failures" not in built and "marts/trajectory" in built  # that mart alone failed
    assert not [e for e in result.get_asset_check_evaluations() if not e.passed]
    (failure,) = result.get_step_failure_events()
    message = str(failure.event_specific_data.error)  # dbt's error, from DuckDB, names the key
    assert "run_failures" in message and 'duplicate key "r1"' in message, message
    with warehouse.session() as con:
        assert warehouse.table_counts(con) == before and not any(k.startswith("marts.") for k in before)
    assert not release.build_path().exists() and not (release.published_dir() / "warehouse.duckdb").exists()

    # the same quarter again once the bad row is gone: it passes and swaps in; dbt reuses the parse the
    # failed build saved in its state folder (same vars), and leaves the unit tests to the test suite
    with warehouse.session() as con:
        con.execute("delete from raw.run_failures")
    with dg.instance_for_test() as instance:
        result = dg.materialize([lsrp_dbt_assets], instance=instance, raise_on_error=False,
                                resources={"dbt": defs.resources["dbt"]}, partition_key="2026-27-Q2")
    assert result.success
    target = dbt_args.state_path("2026-27-Q2")
    events = [json.loads(line) for line in (target / "dbt.log").read_text().splitlines() if line.startswith("{")]
    this_build = [e["info"] for e in events if e["info"]["invocation_id"] == events[-1]["info"]["invocation_id"]]
    assert not [e["msg"] for e in this_build if e["code"] == "I024"]  # I024: "Unable to do partial parsing"
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert results and not [r for r in results if r["unique_id"].startswith("unit_test.")]
    with warehouse.session() as con:
        assert con.execute("select count(*) from marts.run_failures").fetchone() == (0,)
    assert (release.published_dir() / "warehouse.duckdb").exists()


def test_a_resubmission_re_renders_one_pack_and_the_release_stays_atomic(sample_warehouse, tmp_path):
    """Publication through the packs release, as the packs asset does it: the first publication
    renders every pack (in worker processes); a resubmission by 301 (only_las, the republish
    sensor's tag) re-renders 301's pack alone, every other pack file is the previous release's
    (hard link: same inode, same mtime), and the release readers hold is never written."""
    sys.path.insert(0, str(Path(__file__).parent))
    from sample_warehouse import copy_warehouse

    from reports import publish

    period, link = "2026-27-Q2", tmp_path / "packs"
    wh = copy_warehouse(sample_warehouse, tmp_path / "wh")
    with release.packs_release(link) as folder:
        first = publish(wh, folder, period, pdf=False, workers=2)
    assert len(first.written) == 153 and (link / period / "all-las.csv").exists()
    old_release = link.resolve()
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (old_release / period / "la").iterdir()}

    with duckdb.connect(str(wh)) as con:   # 301's corrected figure, as dbt would rebuild it
        con.execute("update marts.benchmark set la_value = la_value + 6 "
                    "where la_code = '301' and indicator_id = 'ehcp_20_week' and period = ?", [period])
        con.execute("update marts.trajectory set actual_value = actual_value + 6 "
                    "where la_code = '301' and indicator_id = 'ehcp_20_week' and period = ?", [period])
    with pytest.raises(RuntimeError):  # a publication killed part-way leaves the live release alone
        with release.packs_release(link) as folder:
            publish(wh, folder, period, pdf=False, only_las=["301"])
            raise RuntimeError("killed")
    assert link.resolve() == old_release
    with release.packs_release(link) as folder:
        again = publish(wh, folder, period, pdf=False, only_las=["301"])
    assert [p.name.split("-")[0] for p in again.written] == ["301"] and len(again.carried) == 152
    assert again.versions["301"] == 2 and again.versions["308"] == 1
    new = link.resolve()
    assert new != old_release
    after = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (new / period / "la").iterdir()}
    changed = {n for n in after if after[n] != before.get(n)}
    assert changed == {f"301-barking-and-dagenham{s}" for s in (".html", "-figures.csv", "-figures.xlsx")}
    # the previous release (a reader may still be in it) still has 301's version 1
    assert before == {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (old_release / period / "la").iterdir()}
    assert "Version 2" not in (old_release / period / "la" / "301-barking-and-dagenham.html").read_text()
    assert "Version 2" in (new / period / "la" / "301-barking-and-dagenham.html").read_text()
