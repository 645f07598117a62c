"""Publication: benchmark packs per LA, the national overview and the index."""

import dagster as dg

from pipeline import paths
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import DbtRunConfig, lsrp_dbt_assets, quarter_to_build


@dg.asset(group_name="publish", kinds={"html", "plotly"}, deps=[lsrp_dbt_assets],
          description="One benchmark pack per LA that returned data (HTML, PDF, CSV, XLSX), the "
                      "national overview and the index. A pack is re-issued only when its figures change.")
def benchmark_packs(context: dg.AssetExecutionContext, warehouse: WarehouseResource, config: DbtRunConfig):
    from reports import publish

    period = quarter_to_build(config)
    result = publish(paths.warehouse(), paths.packs(), period)
    context.add_output_metadata({
        "period": period,
        "packs_written": len(result.written),
        "packs_unchanged": len(result.skipped),
        "pdfs_written": len(result.pdfs),
        "seconds": round(result.seconds, 1),
        "overview": dg.MetadataValue.path(str(result.overview)),
        "index": dg.MetadataValue.path(str(result.index)),
        "total_bytes": result.total_bytes,
    })
    return None
