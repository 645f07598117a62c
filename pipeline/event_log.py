"""Dagster's consolidated SQLite event log, with one engine per process instead of one per write.

Dagster's ``ConsolidatedSqliteEventLogStorage`` creates an engine and opens a new SQLite connection
for every read and write (``NullPool``), and closes it after.  In WAL mode the close of the last
connection checkpoints the log into the database and deletes it, with fsyncs, so every event paid
for: engine creation, a connection, a commit fsync and a checkpoint.  An ingest batch writes four
events per LA and quarter (its own materialisations and checks), and profiled on a 2-core machine
this was 65 s of an 83 s batch run for the 306 returns of the full sample (5,500 connections).

Here the engine (and its connection pool) lives as long as the storage, so connections stay open and
the WAL is checkpointed by SQLite's own auto-checkpoint.  ``synchronous=NORMAL`` (SQLite's advice for
WAL) drops the fsync per commit: a commit survives a crash or kill of any process, and the database
can never be corrupted; only a power cut can lose the last few events.  The upload ledger
(``pipeline/ledger.py``, fsynced) is the record of what was received and answered, not this log.

Configured in the ``dagster.yaml`` that ``lsrp`` writes (``pipeline/run.py``).
"""
from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

import sqlalchemy as db
from dagster._core.storage.event_log import ConsolidatedSqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS


class PooledSqliteEventLogStorage(ConsolidatedSqliteEventLogStorage):
    """``ConsolidatedSqliteEventLogStorage`` with a pooled engine (same file, same schema)."""

    @cached_property
    def _engine(self):
        engine = db.create_engine(self._conn_string, pool_size=4, max_overflow=-1,  # never block a thread
                                  connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                                                "check_same_thread": False})

        @db.event.listens_for(engine, "connect")
        def _pragmas(dbapi_con, _record):
            cur = dbapi_con.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine

    @contextmanager
    def _connect(self):
        with self._engine.connect() as conn:
            with conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        # asked before every asset check event (supports_asset_checks); a table, once there, stays
        found = self.__dict__.setdefault("_tables", set())
        if table_name not in found:
            with self._engine.connect() as conn:
                if self._engine.dialect.has_table(conn, table_name):
                    found.add(table_name)
        return table_name in found

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        # inspected before every materialisation; columns, once added by a migration, stay
        found = self.__dict__.setdefault("_asset_key_cols", set())
        if column_name not in found and super()._has_asset_key_col_on_connection(conn, column_name):
            found.add(column_name)
        return column_name in found

    def dispose(self):
        super().dispose()
        if "_engine" in self.__dict__:
            self.__dict__.pop("_engine").dispose()
