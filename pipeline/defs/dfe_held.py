"""DfE-held data (attendance, exclusions): EES tidy-data CSVs, archived, checked and loaded."""

from pathlib import Path

import dagster as dg

from contracts import metadata
from pipeline import ingest
from pipeline.defs.resources import WarehouseResource
from pipeline.defs.warehouse_dbt import WAREHOUSE_POOL

DATASETS = tuple(metadata.ees_datasets())  # contracts/metadata/raw_tables.yaml `ees.datasets`


def dataset_of(name: str) -> str | None:
    return next((d for d in DATASETS if name.lower().startswith(d)), None)


@dg.multi_asset(
    group_name="raw", can_subset=False, pool=WAREHOUSE_POOL,
    specs=[dg.AssetSpec(["raw", f"ees_{d}"], kinds={"csv", "duckdb"},
                        description=f"DfE-held {d} by SEN status (EES tidy data), archived by content hash, "
                                    "checked against the EES rules and loaded.") for d in DATASETS],
    check_specs=[dg.AssetCheckSpec("ees_tidy_data_rules", asset=["raw", f"ees_{d}"],
                                   description="Every DfE-held CSV follows the EES tidy-data rules.")
                 for d in DATASETS])
def dfe_held_data(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """DfE-held attendance and exclusions CSVs from the inbox into raw.ees_*."""
    from contracts.ees import validate_ees_csv
    from pipeline import warehouse as wh

    loaded, problems = {d: {} for d in DATASETS}, {d: [] for d in DATASETS}
    with warehouse.connect() as con:
        for path in ingest.dfe_held_uploads():
            dataset = dataset_of(path.name)
            if dataset is None:
                context.log.warning(f"{path.name}: not an attendance or exclusions file; ignored")
                continue
            upload = ingest.archive_upload(path, "dfe_held")
            df, findings = validate_ees_csv(Path(upload.archive_path), dataset)
            errors = [f for f in findings if f.level == "error"]
            problems[dataset] += [f"`{path.name}` {f.rule} {f.cell or ''}: {f.message}" for f in errors]
            if df is not None and not errors:
                wh.load_ees(con, dataset, df, upload.original_name, upload.sha256)
                loaded[dataset][path.name] = df.height
    for d in DATASETS:
        key = dg.AssetKey(["raw", f"ees_{d}"])
        yield dg.MaterializeResult(asset_key=key, metadata={
            "files_loaded": dg.MetadataValue.json(loaded[d]), "dagster/row_count": sum(loaded[d].values())})
        yield dg.AssetCheckResult(asset_key=key, check_name="ees_tidy_data_rules", passed=not problems[d],
                                  metadata={"problems": dg.MetadataValue.md(
                                      "\n".join(f"- {p}" for p in problems[d][:200]) or "None")})


CATALOGUE_TABLES = ("catalogue_indicators", "catalogue_data_items", "catalogue_indicator_terms",
                    "catalogue_target_periods", "catalogue_dfe_held_terms")


@dg.multi_asset(
    group_name="reference", can_subset=False, pool=WAREHOUSE_POOL,
    specs=[dg.AssetSpec(["raw", t], kinds={"yaml", "duckdb"},
                        description="From contracts/catalogue.yaml, so dbt derives every indicator from the "
                                    "same definitions the template and checks use.") for t in CATALOGUE_TABLES])
def indicator_catalogue(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The indicator catalogue as warehouse tables."""
    from contracts.catalogue import load
    from pipeline import warehouse as wh

    cat = load()
    with warehouse.connect() as con:
        rows = wh.load_catalogue(con, cat)
    for t in CATALOGUE_TABLES:
        yield dg.MaterializeResult(asset_key=["raw", t], metadata={
            "dagster/row_count": rows.get(t, 0), "template_version": cat.template_version})
