"""Resources: the DuckDB warehouse and the dbt CLI."""

from contextlib import contextmanager

import dagster as dg
from dagster_dbt import DbtCliResource

from pipeline.defs.dbt_project import dbt_executable, dbt_project


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file.  Connections are short-lived because dbt opens the same file for writing."""

    path: str = ""

    @contextmanager
    def connect(self):
        from pipeline import warehouse

        con = warehouse.connect(self.path or None)
        try:
            warehouse.ensure_raw_schema(con)
            yield con
        finally:
            con.close()


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "warehouse": WarehouseResource(),  # path resolved per run from LSRP_HOME / LSRP_WAREHOUSE
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    })
