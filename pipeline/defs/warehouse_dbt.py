"""dbt models as Dagster assets; dbt tests show as asset checks.

The translator maps each dbt source (raw.*) to the Python asset that writes it, so the graph runs
inbox -> archive -> validate -> raw tables -> staging -> intermediate -> marts -> packs.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipeline import paths
from pipeline.dbt_args import build_args
from pipeline.defs.dbt_project import dbt_project

# raw table -> the asset that writes it
SOURCE_ASSETS = {
    "submissions": "return_tables", "return_values": "return_tables", "return_baselines": "return_tables",
    "return_targets": "return_tables", "findings": "return_tables",
    "ees_attendance": "dfe_held_data", "ees_exclusions": "dfe_held_data",
}


class LsrpTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            name = dbt_resource_props["name"]
            if name.startswith("catalogue_"):
                return dg.AssetKey("indicator_catalogue")
            return dg.AssetKey(SOURCE_ASSETS.get(name, name))
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else None
        return {"staging": "warehouse_staging", "intermediate": "warehouse_intermediate",
                "marts": "marts"}.get(layer, "reference" if dbt_resource_props["resource_type"] == "seed"
                                      else "warehouse_staging")


class DbtRunConfig(dg.Config):
    quarter: str = ""  # e.g. 2026-27-Q2; empty = the latest quarter with returns


def quarter_to_build(config: DbtRunConfig) -> str:
    if config.quarter:
        return config.quarter
    return latest_period_with_returns() or "2026-27-Q1"


def latest_period_with_returns() -> str | None:
    from pipeline import warehouse

    con = warehouse.connect()
    try:
        warehouse.ensure_raw_schema(con)
        return con.execute("select max(period) from raw.submissions where status <> 'rejected'").fetchone()[0]
    finally:
        con.close()


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=LsrpTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)))
def lsrp_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
    quarter = quarter_to_build(config)
    os.environ["LSRP_WAREHOUSE"] = str(paths.warehouse())  # dbt's profile reads the path from here
    context.log.info(f"dbt build for {quarter}")
    yield from dbt.cli(build_args(quarter), context=context).stream()
