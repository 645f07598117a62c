"""The dbt project handle.  dagster-dbt needs a manifest before import, so build it if missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from contracts import reference
from pipeline import paths


def dbt_executable() -> str:
    """dbt from this environment's bin folder, so a bare `uv run` works without activating the venv."""
    local = Path(sys.executable).with_name("dbt")
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def _newest_source(project_dir: Path) -> float:
    files = [project_dir / "dbt_project.yml", *project_dir.glob("*/**/*.sql"), *project_dir.glob("*/**/*.yml"),
             *reference.HERE.glob("*.csv")]   # seeds live in contracts/reference/
    return max(f.stat().st_mtime for f in files if "target" not in f.parts and f.exists())


def ensure_manifest(project_dir: Path = paths.DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project when the manifest is missing or older than any model, test or seed."""
    manifest = project_dir / "target" / "manifest.json"
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source(project_dir):
        env = {**os.environ, "LSRP_WAREHOUSE": os.environ.get("LSRP_WAREHOUSE", str(paths.warehouse()))}
        subprocess.run([dbt_executable(), "parse", "--quiet", "--project-dir", str(project_dir),
                        "--profiles-dir", str(project_dir)], check=True, env=env, cwd=project_dir)
    return manifest


dbt_project = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)
ensure_manifest()
