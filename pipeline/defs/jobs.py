"""Jobs: ingest one LA's quarter; refresh collection status; publish the quarter."""

import dagster as dg
from dagster_dbt import build_dbt_asset_selection

from pipeline.defs.dfe_held import CATALOGUE_TABLES
from pipeline.defs.ingest import RETURN_TABLES
from pipeline.defs.warehouse_dbt import lsrp_dbt_assets

CATALOGUE = dg.AssetSelection.assets(*[["raw", t] for t in CATALOGUE_TABLES])

ingest_return_job = dg.define_asset_job(
    "ingest_return_job",
    selection=dg.AssetSelection.assets("archived_returns", "validated_returns")
    | dg.AssetSelection.assets(*[["raw", t] for t in RETURN_TABLES]),
    description="Archive, validate and load one LA's return for one quarter.")

unidentified_upload_job = dg.define_asset_job(
    "unidentified_upload_job", selection=dg.AssetSelection.assets("unidentified_uploads"),
    description="Archive and reject uploads whose file name names no LA.")

dfe_held_job = dg.define_asset_job(
    "dfe_held_job", selection=dg.AssetSelection.assets(["raw", "ees_attendance"], ["raw", "ees_exclusions"]),
    description="Load DfE-held attendance and exclusions CSVs.")

collection_status_job = dg.define_asset_job(
    "collection_status_job",
    selection=CATALOGUE
    | build_dbt_asset_selection([lsrp_dbt_assets], dbt_select="+collection_status"),
    description="Refresh who has submitted, what was accepted and what is outstanding.")

publish_job = dg.define_asset_job(
    "publish_job",
    selection=CATALOGUE | dg.AssetSelection.assets(["raw", "ees_attendance"], ["raw", "ees_exclusions"],
                                                   "benchmark_packs")
    | build_dbt_asset_selection([lsrp_dbt_assets]),
    description="Rebuild the marts for the quarter and publish the packs, overview and index.")
