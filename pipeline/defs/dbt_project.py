"""The dbt project handle and its manifest.

dagster-dbt loads the manifest at import.  ``prepare_if_dev()`` re-parses the project on every
code load under ``dagster dev``; outside it (``lsrp run``, the daemon, the tests) dagster-dbt
expects a manifest prepared at deploy time, so the same preparer runs once when the manifest is
missing or older than a model, test or seed (dagster-dbt guards it against concurrent loads).
"""

import sys
from pathlib import Path

from dagster_dbt import DbtProject
from dagster_dbt.dbt_project import DagsterDbtProjectPreparer
from dagster_shared import record

from contracts import reference
from pipeline import paths


def env_tool(name: str) -> str:
    """A tool installed in this environment (dbt, dagster-daemon, dagster-webserver): beside
    ``sys.executable`` (the venv's bin folder), else in this interpreter's scripts folder; never
    whatever PATH finds, so `.venv/bin/lsrp serve` from a service unit (no venv activated, a bare
    PATH) runs this environment's tools."""
    import sysconfig

    for folder in (Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))):
        if (folder / name).exists():
            return str(folder / name)
    raise FileNotFoundError(f"{name} is not installed beside {sys.executable}: run `uv sync --frozen` "
                            "in the repository folder")


def dbt_executable() -> str:
    """dbt from this environment's bin folder, so a bare `uv run` or a service unit works without
    activating the venv (never dbt from PATH)."""
    return env_tool("dbt")


def manifest_stale(project: DbtProject) -> bool:
    """The manifest is missing or older than any file dbt parses."""
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    d = project.project_dir
    files = [d / "dbt_project.yml", *d.glob("*/**/*.sql"), *d.glob("*/**/*.yml"), *reference.HERE.glob("*.csv")]  # seeds live in contracts/reference/
    newest = max(f.stat().st_mtime for f in files if "target" not in f.parts and f.exists())
    return manifest.stat().st_mtime < newest


class _Preparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer with this environment's dbt: its own builds ``DbtCliResource`` with the default
    executable, "dbt" from PATH, so `.venv/bin/lsrp run` from a bare PATH (a service unit, cron) failed at
    import with "The dbt executable 'dbt' was not found on PATH"."""

    def _prepare_manifest(self, project: DbtProject) -> None:
        from dagster_dbt.core.resource import DbtCliResource

        DbtCliResource(project_dir=project, dbt_executable=dbt_executable()).cli(
            self._prepare_project_cli_args, target_path=project.target_path).wait()


dbt_project = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)
dbt_project = record.replace(dbt_project, preparer=_Preparer())
dbt_project.prepare_if_dev()
if manifest_stale(dbt_project):
    dbt_project.preparer.prepare(dbt_project)
