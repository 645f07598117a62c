"""The event log `lsrp` configures (pipeline/event_log.py): one pooled engine per process, so a batch's
hundreds of per-partition events reuse a few connections, and every event is still there for another
process (the web server, the daemon) to read."""
from __future__ import annotations

import dagster as dg

from pipeline.event_log import PooledSqliteEventLogStorage


def test_many_events_few_connections_all_readable_elsewhere(tmp_path):
    base = tmp_path / "events"
    config = {"module": "pipeline.event_log", "class": "PooledSqliteEventLogStorage", "config": {"base_dir": str(base)}}
    with dg.instance_for_test(overrides={"event_log_storage": config}) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, PooledSqliteEventLogStorage)
        opened = []
        dg_engine = storage._engine
        import sqlalchemy as db

        db.event.listen(dg_engine, "connect", lambda *a: opened.append(1))
        for i in range(40):
            instance.report_runless_asset_event(dg.AssetMaterialization("some_asset", partition=f"p{i}"))
        assert len(opened) <= 1  # was one engine and one connection per write
        with dg_engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL (WAL: survives a killed process)
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    # a separate storage on the same file (as another process would open it) sees every event
    other = PooledSqliteEventLogStorage(str(base))
    try:
        records = other.fetch_materializations(dg.AssetKey("some_asset"), limit=100).records
        assert sorted(r.partition_key for r in records) == sorted(f"p{i}" for i in range(40))
    finally:
        other.dispose()
