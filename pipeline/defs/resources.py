"""Resources: the DuckDB warehouse and the dbt CLI."""

import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from pipeline.defs.dbt_project import dbt_executable, dbt_project


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file.  Connections are short-lived because dbt opens the same file for writing."""

    path: str = ""

    def connect(self):
        from pipeline import warehouse

        return warehouse.session(self.path or None)

    def path_or_default(self) -> Path:
        """The file itself, for readers that open it on their own (the packs)."""
        from pipeline import paths

        return Path(self.path) if self.path else paths.warehouse()


def dbt_bound_to_parent(dbt: str | None = None) -> str:
    """A dbt launcher that dies with the process that started it.

    dagster-dbt starts dbt with a plain Popen; if the run worker is killed (kill -9, OOM, run
    monitoring) dbt would carry on as an orphan, still writing the warehouse build.  `setpriv
    --pdeathsig KILL` asks the kernel to kill dbt when its parent dies (Linux; elsewhere plain dbt).
    """
    dbt = dbt or dbt_executable()
    setpriv = shutil.which("setpriv")
    if not setpriv:
        return dbt
    script = f'#!/bin/sh\nexec {setpriv} --pdeathsig KILL -- "{dbt}" "$@"\n'
    path = Path(tempfile.gettempdir()) / f"lsrp-dbt-{hashlib.sha256(script.encode()).hexdigest()[:12]}"
    if not path.exists():
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(script)
        tmp.chmod(0o755)
        os.replace(tmp, path)
    return str(path)


class LsrpDbtCli(DbtCliResource):
    """dagster-dbt's dbt CLI resource without two dbt start-ups it pays in the run worker before each
    command, each about 2 s of CPU (importing dbt): ``dbt --version`` in a subprocess, to tell dbt Core
    from dbt Fusion, and an in-process dbt adapter (the project and profile loaded a second time) that
    serves only row-count and column-metadata fetching, which the dbt assets do not use.  dbt itself
    runs in its own process as before."""

    @cached_property
    def _cli_version(self) -> version.Version:
        # dbt_executable() is this environment's dbt, so its version is the installed dbt-core's
        try:
            return version.parse(importlib.metadata.version("dbt-core"))
        except importlib.metadata.PackageNotFoundError:  # not dbt Core: ask the executable, as dagster-dbt does
            return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):  # dagster-dbt treats None as "no adapter"
        return None


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources={
        "warehouse": WarehouseResource(),  # path resolved per run from LSRP_HOME / LSRP_WAREHOUSE
        "dbt": LsrpDbtCli(project_dir=dbt_project, dbt_executable=dbt_bound_to_parent()),
    })
