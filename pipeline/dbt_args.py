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


def vars_arg(quarter: str, warehouse: str | Path | None = None) -> str:
    """The JSON for dbt's --vars: the quarter (a Dagster partition key) and, when given, the DuckDB
    file to build (profiles.yml prefers the var to LSRP_WAREHOUSE, so no caller edits os.environ)."""
    out = {"quarter": validate_quarter(quarter)}
    if warehouse is not None:
        out["warehouse"] = str(Path(warehouse).resolve())
    return json.dumps(out)


def build_args(quarter: str, select: str | None = None, exclude: str | None = None,
               command: str = "build", warehouse: str | Path | None = None, unit_tests: bool = True) -> list[str]:
    """Arguments after `dbt`, e.g. ["build", "--vars", '{"quarter": "2026-27-Q2"}'].

    ``unit_tests=False`` leaves dbt's unit tests out (they test the SQL on fixed inputs, not the data,
    so the test suite runs them and the publication does not: publication_args).
    No --project-dir/--profiles-dir: dagster-dbt adds its own; use project_args() elsewhere.
    """
    if command not in ("build", "run", "test", "seed", "compile"):
        raise ValueError(f"unsupported dbt command {command!r}")
    args = [command, "--vars", vars_arg(quarter, warehouse)]
    if select:
        args += ["--select", select]
    if exclude:
        args += ["--exclude", exclude]
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    return args


def publication_args(quarter: str, warehouse: str | Path) -> list[str]:
    """The publication's `dbt build` (Dagster's dbt assets): every model, seed and data test of
    ``quarter`` into the build copy ``warehouse``; no unit tests, as dbt advises for production (the
    test suite runs them against a real build: tests/sample_warehouse.py).  Dagster gets dbt's events
    on stdout as before; only the file log is shorter."""
    return [*build_args(quarter, warehouse=warehouse, unit_tests=False),
            # dbt.log at info, not debug: a debug log of ~350 nodes is ~8 MB of JSON written each build
            "--log-level-file", "info"]


def publication_parse_args(quarter: str, warehouse: str | Path) -> list[str]:
    """`dbt parse` with exactly the --vars of publication_args (dbt keeps a saved parse only for the
    same vars and profile), so a publication that follows it in the same target folder (state_path)
    re-reads nothing: `lsrp run` starts it while the inbox is ingested."""
    return ["parse", "--vars", vars_arg(quarter, warehouse)]


def state_path(quarter: str, home: str | Path | None = None) -> Path:
    """dbt's target folder for the publication builds of ``quarter`` in one LSRP_HOME.

    Kept from build to build so dbt's partial parsing works: dbt discards its saved parse whenever
    the --vars or the profile (the warehouse path) differ from the parse that saved it, so the
    manifest prepared without vars, or a fresh folder per run (dagster-dbt's default), means a full
    parse of the project on every build.  The vars are the same for every build of one quarter in
    one home, so from the second build on dbt re-reads only what changed.
    """
    return Path(home or paths.home()) / "dbt" / validate_quarter(quarter)


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


# dbt's node statuses (run_results.json): models/seeds "success", tests "pass"/"warn"/"fail".
_OK = {"success", "pass"}


def summarise_run_results(run_results: dict) -> dict[str, int]:
    """Counts by status from dbt's run_results.json (its structured output, not its console text)."""
    counts: dict[str, int] = {}
    for r in run_results.get("results", []):
        status = str(r.get("status", "unknown")).lower()
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


def not_built(run_results: dict) -> list[str]:
    """The models and seeds dbt could not build, each with what its error says (a contracted mart
    whose key or not-null constraint fails is one of these, not a failed test)."""
    out = []
    for r in run_results.get("results", []):
        if r.get("status") == "error":
            lines = [line.strip() for line in (r.get("message") or "error").splitlines() if line.strip()]
            # dbt's first line only says where ("Runtime Error in model x (path)"); the next says what
            what = " ".join(lines[1:] if len(lines) > 1 and " Error in " in lines[0] else lines)
            out.append(f"{r['unique_id'].split('.')[-1]} ({what[:160]})")
    return out


def verdict(counts: dict[str, int]) -> str:
    """One line for the console, e.g. 'passed: 152 ok, 2 warn' or 'FAILED: 1 fail, 3 skipped of 156'."""
    total = sum(counts.values())
    bad = {k: v for k, v in counts.items() if k not in _OK | {"warn"}}
    ok = sum(v for k, v in counts.items() if k in _OK)
    parts = [f"{ok} ok"] + [f"{v} {k}" for k, v in counts.items() if k not in _OK]
    return f"{'FAILED' if bad or not total else 'passed'}: {', '.join(parts)} of {total}"
