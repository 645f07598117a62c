"""dbt command lines for the warehouse, as pure functions (no dbt import, no side effects).

One place builds them so the CLI, Dagster (dagster-dbt's `dbt.cli(args)`) and the tests pass
dbt exactly the same `--vars`; the quarter is checked here because dbt would otherwise build
an empty warehouse for a mistyped period.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from pipeline import paths

_QUARTER = re.compile(r"^(\d{4})-(\d{2})-Q([0-4])$")  # Q0: the initial return


def validate_quarter(quarter: str) -> str:
    """Return `quarter` if it is a period key like 2026-27-Q2 (consecutive years), else raise."""
    m = _QUARTER.match(quarter or "")
    if not m:
        raise ValueError(f"quarter must look like 2026-27-Q2, got {quarter!r}")
    start, end = int(m.group(1)), int(m.group(2))
    if (start + 1) % 100 != end:
        raise ValueError(f"quarter {quarter!r}: the financial year must be consecutive years, e.g. 2026-27")
    return quarter


def vars_arg(quarter: str) -> str:
    """The JSON for dbt's --vars."""
    return json.dumps({"quarter": validate_quarter(quarter)})


def build_args(quarter: str, select: str | None = None, exclude: str | None = None,
               command: str = "build") -> list[str]:
    """Arguments after `dbt`, e.g. ["build", "--vars", '{"quarter": "2026-27-Q2"}'].

    No --project-dir/--profiles-dir: dagster-dbt adds its own; use project_args() elsewhere.
    """
    if command not in ("build", "run", "test", "seed", "compile"):
        raise ValueError(f"unsupported dbt command {command!r}")
    args = [command, "--vars", vars_arg(quarter)]
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    return args


def project_args(project_dir: str | Path | None = None) -> list[str]:
    """--project-dir and --profiles-dir (profiles.yml lives inside the project)."""
    d = str(project_dir or paths.DBT_PROJECT_DIR)
    return ["--project-dir", d, "--profiles-dir", d]


def parse_args(project_dir: str | Path | None = None) -> list[str]:
    """`dbt parse` for the manifest dagster-dbt loads."""
    return ["parse", *project_args(project_dir)]


def dbt_env(warehouse: str | Path | None = None, target_path: str | Path | None = None,
            base: dict | None = None) -> dict[str, str]:
    """Environment for a dbt subprocess: LSRP_WAREHOUSE always set (profiles.yml reads it)."""
    env = dict(os.environ if base is None else base)
    env["LSRP_WAREHOUSE"] = str(Path(warehouse).resolve() if warehouse else paths.warehouse())
    if target_path:
        env["DBT_TARGET_PATH"] = str(target_path)
        env["DBT_LOG_PATH"] = str(Path(target_path) / "logs")
    return env
