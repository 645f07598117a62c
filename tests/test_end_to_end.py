"""End to end against a real Dagster instance: inbox -> sensor -> runs -> warehouse -> packs,
then a corrected resubmission for one LA reprocesses and re-issues only that LA."""
import os
import time

import dagster as dg
import duckdb
import openpyxl

from contracts import layout as L
from pipeline import ledger, paths, run, template

SENSOR = "inbox_sensor"


def _settle(path):
    past = time.time() - 60
    os.utime(path, (past, past))


def _stage_committed_sample():
    """As `lsrp run --sample small` does, then age the files so the sensor treats them as settled."""
    for f in run.stage_sample("small").rglob("*"):
        if f.is_file():
            _settle(f)


def tick(instance, defs):
    """One sensor tick, launching its run requests the way the daemon does (deduplicated by run_key)."""
    sensor = defs.resolve_sensor_def(SENSOR)
    result = sensor(dg.build_sensor_context(instance=instance))
    requests = [] if isinstance(result, dg.SkipReason) else result
    launched = []
    for r in requests:
        tags = {"dagster/sensor_name": SENSOR, "dagster/run_key": r.run_key}
        if instance.get_runs(filters=dg.RunsFilter(tags=tags)):
            continue
        res = defs.resolve_job_def(r.job_name).execute_in_process(
            instance=instance, partition_key=r.partition_key, tags={**r.tags, **tags})
        assert res.success
        launched.append(r)
    return launched


def publish(instance, defs, quarter="2026-27-Q2"):
    res = defs.resolve_job_def("publish_job").execute_in_process(instance=instance, partition_key=quarter)
    assert res.success
    return res.asset_materializations_for_node("benchmark_packs")[0].metadata


def _query(sql, *params):
    con = duckdb.connect(os.environ["LSRP_WAREHOUSE"], read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _correct_one_value(src, dest):
    """What an LA does: open last quarter's file, fix a figure, save under the same name."""
    wb = openpyxl.load_workbook(src)
    ws = wb[L.RETURN]
    row = L.layout().item_rows["plans_issued_20wk_ex"]
    cell = ws.cell(row=row, column=L.quarter_col("Q2"))
    cell.value = int(cell.value) - 3
    ws.cell(row=row, column=L.ITEM_NOTES_COL, value="Corrected: three plans were issued after 20 weeks")
    wb.save(dest)


def test_inbox_sensor_to_packs_and_single_la_resubmission(lsrp_home, dagster_instance):
    from pipeline.definitions import defs

    _stage_committed_sample()
    stray = paths.inbox() / "2026-27-Q2" / "LSRP return Q2 FINAL v2.xlsx"  # no LA code in the name
    template.write(stray)  # a blank template someone uploaded by mistake
    _settle(stray)
    instance = dagster_instance
    first = tick(instance, defs)
    assert {r.job_name for r in first} == {"ingest_batch_job", "dfe_held_job"}
    assert tick(instance, defs) == []  # the same files seen again: no second run

    meta = publish(instance, defs)
    n_q2 = len(list((paths.SAMPLE_DIR / "2026-27-Q2").glob("*.xlsx")))
    received = _query("select count(distinct la_code) from raw.submissions where period = '2026-27-Q2'")[0][0]
    assert received == n_q2
    # the stray upload is kept and rejected with a reason, not lost
    stray_row = _query("select status, archive_path from raw.submissions where file_name = ?", stray.name)
    assert len(stray_row) == 1 and stray_row[0][0] == "rejected" and os.path.exists(stray_row[0][1])
    accepted = [r[0] for r in _query(
        "select la_code from marts.collection_status where period = '2026-27-Q2' and accepted")]
    # every LA gets a pack, whatever became of its return (rejected / not received: DfE-held data only)
    n_las = _query("select count(*) from marts.collection_status where period = '2026-27-Q2'")[0][0]
    assert accepted and n_las == 153 and meta["packs_written"].value == n_las

    # one LA corrects its Q2 return
    la = sorted(accepted)[0]
    # received files leave the inbox; the LA uploads a corrected copy of what it sent
    sent = next(e for e in ledger.events() if (e.la_code, e.period) == (la, "2026-27-Q2"))
    inbox_file = paths.inbox() / "2026-27-Q2" / sent.name
    before = _query("select la_value from marts.benchmark where la_code = ? and indicator_id = 'ehcp_20_week' "
                    "and period = '2026-27-Q2'", la)[0][0]
    _correct_one_value(sent.archive_path, inbox_file)
    _settle(inbox_file)
    second = tick(instance, defs)
    (batch,) = second  # one run, for that LA's new upload only
    assert [(e.la_code, e.period) for e in map(ledger.event, ledger.batch(batch.tags["lsrp/batch"])["events"])] \
        == [(la, "2026-27-Q2")]
    # the batch runs report each LA and quarter as its own partition: this one has been checked twice
    key = f"{la}|2026-27-Q2"
    for asset in ("validated_returns", ["raw", "submissions"]):
        recs = instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey(asset), asset_partitions=[key]), limit=10).records
        assert len(recs) == 2
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("validated_returns"), "return_accepted")])
    assert check, "the per-partition check results are recorded"

    subs = _query("select submission_id, archive_path from raw.submissions where la_code = ? "
                  "and period = '2026-27-Q2' order by received_at", la)
    assert len(subs) == 2 and all(os.path.exists(p) for _, p in subs)  # the first stays archived
    assert ledger.invariant_problems() == []

    meta = publish(instance, defs)
    after = _query("select la_value from marts.benchmark where la_code = ? and indicator_id = 'ehcp_20_week' "
                   "and period = '2026-27-Q2'", la)[0][0]
    assert after < before
    assert meta["packs_written"].value == 1 and meta["packs_unchanged"].value == n_las - 1
    pack = next((paths.packs() / "2026-27-Q2" / "la").glob(f"{la}-*.html"))
    assert "Version 2" in pack.read_text(encoding="utf-8")
