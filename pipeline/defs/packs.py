"""Publication: benchmark packs per LA, the national overview and the index."""

import dagster as dg

from pipeline import paths, release
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import WAREHOUSE_POOL, DbtRunConfig, lsrp_dbt_assets, quarter_to_build


@dg.asset(group_name="publish", kinds={"html", "plotly"}, deps=[lsrp_dbt_assets], pool=WAREHOUSE_POOL,
          description="One benchmark pack per LA, whatever its return status (HTML, PDF, CSV, XLSX), the "
                      "national overview and the index, written to a new folder that replaces the "
                      "published one only when complete. A pack is re-issued only when its figures change.")
def benchmark_packs(context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: DbtRunConfig):
    from reports import publish

    period = quarter_to_build(config)
    with release.packs_release(paths.packs()) as folder:
        result = publish(paths.warehouse(), folder, period)
    context.add_output_metadata({
        "period": period,
        "packs_written": len(result.written),
        "packs_unchanged": len(result.skipped),
        "written_for": dg.MetadataValue.json({p.name.split("-")[0]: result.versions.get(p.name.split("-")[0])
                                              for p in result.written}),  # LA code -> version issued
        "pdfs_written": len(result.pdfs),
        "seconds": round(result.seconds, 1),
        "overview": dg.MetadataValue.path(str(paths.packs() / period / "overview.html")),
        "index": dg.MetadataValue.path(str(paths.packs() / "index.html")),
        "total_bytes": result.total_bytes,
    })
    return None
