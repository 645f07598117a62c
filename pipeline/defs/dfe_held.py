"""DfE-held data (attendance, exclusions): EES tidy-data CSVs, archived, checked and loaded."""
from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipeline import ingest
from pipeline.defs.resources import WarehouseResource

DATASETS = ("attendance", "exclusions")


def dataset_of(name: str) -> str | None:
    return next((d for d in DATASETS if name.lower().startswith(d)), None)


@dg.asset(group_name="ingest", kinds={"csv", "duckdb"},
          check_specs=[dg.AssetCheckSpec("ees_tidy_data_rules", asset="dfe_held_data",
                                         description="Every DfE-held CSV follows the EES tidy-data rules.")],
          description="DfE-held attendance and exclusions by SEN status (EES tidy data), archived by "
                      "content hash, checked against the EES rules and loaded into raw.ees_*.")
def dfe_held_data(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    from contracts.ees import validate_ees_csv
    from pipeline import warehouse as wh

    loaded, problems = {}, []
    with warehouse.connect() as con:
        for path in ingest.dfe_held_uploads():
            dataset = dataset_of(path.name)
            if dataset is None:
                problems.append(f"`{path.name}`: not an attendance or exclusions file; ignored")
                continue
            upload = ingest.archive_upload(path, "dfe_held")
            df, findings = validate_ees_csv(Path(upload.archive_path), dataset)
            errors = [f for f in findings if f.level == "error"]
            problems += [f"`{path.name}` {f.rule} {f.cell or ''}: {f.message}" for f in errors]
            if df is not None and not errors:
                wh.load_ees(con, dataset, df, upload.original_name, upload.sha256)
                loaded[path.name] = df.height
    yield dg.Output(None, metadata={
        "files_loaded": dg.MetadataValue.json(loaded),
        "dagster/row_count": sum(loaded.values()),
    })
    yield dg.AssetCheckResult(check_name="ees_tidy_data_rules", passed=not problems,
                              metadata={"problems": dg.MetadataValue.md("\n".join(f"- {p}" for p in problems[:200]) or "None")})


@dg.asset(group_name="reference", kinds={"yaml", "duckdb"},
          description="The indicator catalogue (contracts/catalogue.yaml) as warehouse tables, so dbt "
                      "derives every indicator from the same definitions the template and checks use.")
def indicator_catalogue(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> None:
    from contracts.catalogue import load
    from pipeline import warehouse as wh

    cat = load()
    with warehouse.connect() as con:
        wh.load_catalogue(con, cat)
    context.add_output_metadata({"indicators": len(cat.indicators), "data_items": len(cat.data_items),
                                 "template_version": cat.template_version})
