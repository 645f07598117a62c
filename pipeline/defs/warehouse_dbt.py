"""dbt models as Dagster assets; dbt tests show as asset checks.

The translator maps each dbt source (raw.*) to the Python asset that writes it, so the graph runs
inbox -> archive -> validate -> raw tables -> staging -> intermediate -> marts -> packs.
"""

import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipeline import paths
from pipeline.dbt_args import build_args
from pipeline.defs.dbt_project import dbt_project

class LsrpTranslator(DagsterDbtTranslator):
    """dbt sources keep their default keys (raw/<table>), which are exactly the keys of the Python
    assets that write them, so the graph links up; models are grouped by layer."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "staging"
        return {"staging": "warehouse_staging", "intermediate": "warehouse_intermediate"}.get(layer, layer)


class DbtRunConfig(dg.Config):
    quarter: str = ""  # e.g. 2026-27-Q2; empty = the latest quarter with returns


def quarter_to_build(config: DbtRunConfig) -> str:
    if config.quarter:
        return config.quarter
    return latest_period_with_returns() or "2026-27-Q1"


def latest_period_with_returns() -> str | None:
    from pipeline import warehouse

    with warehouse.session() as con:
        return con.execute("select max(period) from raw.submissions where status <> 'rejected'").fetchall()[0][0]


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project,
            dagster_dbt_translator=LsrpTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)))
def lsrp_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
    quarter = quarter_to_build(config)
    os.environ["LSRP_WAREHOUSE"] = str(paths.warehouse())  # dbt's profile reads the path from here
    context.log.info(f"dbt build for {quarter}")
    yield from dbt.cli(build_args(quarter), context=context).stream()
