"""dbt models as Dagster assets; dbt tests show as asset checks.

dbt builds into a copy of the warehouse that replaces the live file only when the build and its
tests pass (pipeline/release.py), so a failed or killed build leaves the previous marts in place.

The translator maps each dbt source (raw.*) to the Python asset that writes it, so the graph runs
inbox -> archive -> validate -> raw tables -> staging -> intermediate -> marts -> packs.
"""

import os
from collections.abc import Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipeline import paths, release
from pipeline.dbt_args import build_args
from pipeline.defs.dbt_project import dbt_project

# Every op that writes the warehouse runs in this Dagster concurrency pool, whose limit (1) and
# run granularity are set in the instance configuration `lsrp` writes (pipeline/run.py).
WAREHOUSE_POOL = "warehouse"


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


@contextmanager
def _dbt_warehouse(path):
    """dbt's profile reads the file from LSRP_WAREHOUSE; point it at ``path`` only while dbt starts
    (it copies the environment then), so later steps in this process still see the live file."""
    before = os.environ.get("LSRP_WAREHOUSE")
    os.environ["LSRP_WAREHOUSE"] = str(path)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LSRP_WAREHOUSE", None)
        else:
            os.environ["LSRP_WAREHOUSE"] = before


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, pool=WAREHOUSE_POOL,
            dagster_dbt_translator=LsrpTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True, enable_source_tests_as_checks=True)))
def lsrp_dbt_assets(context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtRunConfig):
    quarter = quarter_to_build(config)
    live = paths.warehouse()
    build = release.stage_build(live)
    context.log.info(f"dbt build for {quarter} into {build.name}; it replaces {live.name} only if it passes")
    try:
        with _dbt_warehouse(build):
            invocation = dbt.cli(build_args(quarter), context=context)
        yield from invocation.stream()
    except BaseException:
        release.discard_build(live)
        raise
    release.swap_in(build, live)
    context.log.info(f"Swapped the new build in; analysts' copy refreshed in {release.published_dir()}")
