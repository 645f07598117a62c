"""Jobs: ingest one LA's quarter; refresh collection status; publish the quarter.

Every job writes the warehouse, so every run carries the WRITER tag, and the instance
configuration `lsrp` writes (pipeline/run.py) lets one run with it be in progress at a time: the
queue holds a publication until the ingest runs in flight finish, and the other way round.
"""

import dagster as dg
from dagster_dbt import build_dbt_asset_selection

from pipeline.defs.dfe_held import CATALOGUE_TABLES
from pipeline.defs.ingest import RETURN_TABLES, ingest_batch
from pipeline.defs.warehouse_dbt import lsrp_dbt_assets

WRITER = {"lsrp/writer": "warehouse"}
# The console of runs the service launches (the daemon's log): Dagster's events (each step start,
# output, materialization: about ten lines per LA in an ingest batch) stay in the UI's event log, and
# the console keeps INFO and above (our one-line summaries, warnings, failures).
SERVICE_LOGS = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
RUN_FAILURES = dg.AssetSelection.assets(["raw", "run_failures"], ["raw", "portal_audit"])  # + the portal's trail
CATALOGUE = dg.AssetSelection.assets(*[["raw", t] for t in CATALOGUE_TABLES])

ingest_return_job = dg.define_asset_job(
    "ingest_return_job",
    selection=dg.AssetSelection.assets("archived_returns", "validated_returns")
    | dg.AssetSelection.assets(*[["raw", t] for t in RETURN_TABLES]),
    description="Archive, validate and load one LA's return for one quarter.", tags=WRITER)



@dg.job(tags=WRITER, description="Check and load a batch of uploads (every settled upload of a sensor tick, or the "
                                 "whole inbox under `lsrp run`) in one run; each LA and quarter keeps its own "
                                 "materializations and checks.")
def ingest_batch_job():
    ingest_batch()


unidentified_upload_job = dg.define_asset_job(
    "unidentified_upload_job", selection=dg.AssetSelection.assets("unidentified_uploads"),
    description="Archive and reject uploads that cannot be filed under an LA and quarter (quarantine).", tags=WRITER)

dfe_held_job = dg.define_asset_job(
    "dfe_held_job", selection=dg.AssetSelection.assets(["raw", "ees_attendance"], ["raw", "ees_exclusions"]),
    description="Load DfE-held attendance and exclusions CSVs.", tags=WRITER)

collection_status_job = dg.define_asset_job(
    "collection_status_job",
    selection=CATALOGUE | RUN_FAILURES
    | build_dbt_asset_selection([lsrp_dbt_assets], dbt_select="+collection_status +run_failures +quarantined_uploads +portal_audit"),
    description="Refresh who has submitted, what was accepted and what is outstanding.", tags=WRITER)

publish_job = dg.define_asset_job(
    "publish_job",
    selection=CATALOGUE | RUN_FAILURES | dg.AssetSelection.assets(["raw", "ees_attendance"], ["raw", "ees_exclusions"],
                                                   "benchmark_packs")
    | build_dbt_asset_selection([lsrp_dbt_assets]),
    description="Rebuild the marts for the quarter and publish the packs, overview and index.", tags=WRITER)
