"""Publication: benchmark packs per LA, the national overview and the index, one partition per quarter."""

import dagster as dg

from pipeline import paths, release
from pipeline.defs.partitions import period_partitions
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import WAREHOUSE_POOL, lsrp_dbt_assets

# A run tag naming the LAs whose returns changed since the quarter was last published (the republish
# sensor sets it): only their packs are re-rendered; the rest are carried over as they are.
CHANGED_LAS_TAG = "lsrp/changed_las"


def changed_las(tags: dict) -> list[str] | None:
    """The LA codes in the run's CHANGED_LAS_TAG, or None (no tag: every pack is checked)."""
    value = tags.get(CHANGED_LAS_TAG)
    return sorted({c for c in value.split(",") if c}) if value else None


@dg.asset(group_name="publish", kinds={"html", "plotly"}, deps=[lsrp_dbt_assets], pool=WAREHOUSE_POOL,
          partitions_def=period_partitions,
          description="One benchmark pack per LA, whatever its return status (HTML, PDF, CSV, XLSX), the "
                      "national overview and the index, written to a new folder that replaces the "
                      "published one only when complete. A pack is re-issued only when its figures change.")
def benchmark_packs(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from reports import publish

    period = context.partition_key
    only = changed_las(context.run.tags)
    with release.packs_release(paths.packs()) as folder:
        result = publish(warehouse.path_or_default(), folder, period, only_las=only)
    context.add_output_metadata({
        "period": period,
        "packs_written": len(result.written),
        "packs_unchanged": len(result.skipped),
        "packs_not_rendered": len(result.carried),
        "written_for": dg.MetadataValue.json({p.name.split("-")[0]: result.versions.get(p.name.split("-")[0])
                                              for p in result.written}),  # LA code -> version issued
        "pdfs_written": len(result.pdfs),
        "seconds": round(result.seconds, 1),
        "stage_seconds": dg.MetadataValue.json({k: round(v, 2) for k, v in result.stages.items()}),
        "overview": dg.MetadataValue.path(str(paths.packs() / period / "overview.html")),
        "index": dg.MetadataValue.path(str(paths.packs() / "index.html")),
        "total_bytes": result.total_bytes,
    })
    return None
