"""Resources: the DuckDB warehouse and the dbt CLI."""

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.defs.dbt_project import dbt_executable, dbt_project


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file.  Connections are short-lived because dbt opens the same file for writing."""

    path: str = ""

    def connect(self):
        from pipeline import warehouse

        return warehouse.session(self.path or None)


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "warehouse": WarehouseResource(),  # path resolved per run from LSRP_HOME / LSRP_WAREHOUSE
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    })
