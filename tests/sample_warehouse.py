"""A small warehouse built the way the product builds it, for tests that read marts.

The committed sample (``sample_returns/``: 10 LAs, Q1 and Q2 2026-27, three Q2 returns broken) goes
through the product's own ingest checks (``pipeline.ingest.check_upload``, in a bounded child process,
with the previous accepted return for revisions), ``pipeline.warehouse.record_submission``, the DfE-held
EES CSVs through ``contracts.ees``, and a real ``dbt build`` (models and every dbt test).  The report
tests render from what dbt built, so they can only see data the pipeline can produce.

Known cases in the sample (``sample_returns/MANIFEST.json``): 801, 815 and 942 are rejected in Q2;
301 and 330 revise a Q1 figure; 808 sets a target weaker than its baseline (a query).  LAs outside the
ten (e.g. 313, 821, Barking and Dagenham's neighbours) sent nothing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from contracts.ees import validate_ees_csv
from pipeline import dbt_args, ingest, paths, warehouse

PERIOD = "2026-27-Q2"
PERIODS = ("2026-27-Q1", "2026-27-Q2")
SAMPLE_LAS = ["301", "308", "330", "801", "808", "815", "873", "886", "892", "942"]
REJECTED_Q2 = ["801", "815", "942"]
# Received times of the sample uploads: each LA's Q1 in July, Q2 in October (file order within a day).
RECEIVED = {"2026-27-Q1": datetime(2026, 7, 14, 9), "2026-27-Q2": datetime(2026, 10, 14, 9)}


def ingest_file(con, path: Path, period: str, archive: Path, when: datetime):
    """One upload through the product's checks into the raw tables; returns the FileResult."""
    os.utime(path, (when.timestamp(), when.timestamp()))   # receipt time = file time (archive_upload)
    la = ingest.la_code_from_name(path.name)
    up = ingest.archive_upload(path, f"{period}/{la}", archive)
    result = ingest.check_upload(con, up, la, period)
    warehouse.record_submission(con, result, up.archive_path, up.received_datetime,
                                la_code=la, year=period[:7], quarter=period[-2:])
    return result


def load_dfe_held(con, folder: Path) -> None:
    for f in sorted(folder.glob("*.csv")):
        dataset = "attendance" if f.name.startswith("attendance") else "exclusions"
        df, findings = validate_ees_csv(f, dataset)
        assert df is not None and not [x for x in findings if x.level == "error"], (f.name, findings)
        warehouse.load_ees(con, dataset, df, f.name, f.name)


def dbt_build(db: Path, quarter: str, target: Path, select: str | None = None, command: str = "build") -> None:
    """A real `dbt build` (models and tests; ``command="run"``: models only) of ``db`` for ``quarter``;
    fails with dbt's own output."""
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *dbt_args.build_args(quarter, select=select, command=command),
         *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=target), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=900)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]


def build_sample_warehouse(root: Path, quarter: str = PERIOD) -> Path:
    """``root/warehouse.duckdb`` with the committed sample up to ``quarter`` loaded and dbt built."""
    root.mkdir(parents=True, exist_ok=True)
    db = root / "warehouse.duckdb"
    con = warehouse.connect(db)
    try:
        warehouse.ensure_raw_schema(con)
        warehouse.load_catalogue(con)
        for period in (p for p in PERIODS if p <= quarter):
            src = root / "inbox" / period
            shutil.copytree(paths.SAMPLE_DIR / period, src)
            for i, f in enumerate(sorted(src.glob("*.xlsx"))):
                ingest_file(con, f, period, root / "archive", RECEIVED[period].replace(minute=i))
        load_dfe_held(con, paths.SAMPLE_DIR / "dfe_held")
    finally:
        con.close()
    dbt_build(db, quarter, root / "target")
    return db


def copy_warehouse(db: Path, to: Path) -> Path:
    """A private copy of a built warehouse (and its archive) for a test that changes it."""
    shutil.copytree(db.parent, to, ignore=shutil.ignore_patterns("target", "inbox"))
    return to / db.name


# The whole plan (issue 21): a few LAs, each other's statistical neighbours, generated to the last quarter
PLAN_LAS = ["301", "308", "821", "313", "307", "312"]
PLAN_LAST = "2028-29-Q4"


def build_plan_warehouse(root: Path, la_codes: list[str] = PLAN_LAS, quarter: str = PLAN_LAST) -> tuple[Path, dict]:
    """``root/warehouse.duckdb`` with a generated sample of ``la_codes`` for every quarter up to ``quarter``
    (``lsrp sample``'s generator), ingested by the product's checks and dbt built; returns (db, {(la,
    period): FileResult}).  Each return is received in its collection window (config/collection_calendar.yaml)."""
    from pipeline import calendar
    from synthetic import sample

    root.mkdir(parents=True, exist_ok=True)
    inbox = root / "inbox"
    sample.generate(inbox, quarter=quarter, seed=2026, la_codes=la_codes, bomb_bytes=1_000_000)
    db = root / "warehouse.duckdb"
    con = warehouse.connect(db)
    results = {}
    try:
        warehouse.ensure_raw_schema(con)
        warehouse.load_catalogue(con)
        windows = {c.period: c for c in calendar.collections()}
        for period in sample.quarters_up_to(quarter):
            opens = windows[period].opens
            for i, f in enumerate(sorted((inbox / period).glob("*.xlsx"))):
                when = datetime(opens.year, opens.month, opens.day, 9, i)
                results[(ingest.la_code_from_name(f.name), period)] = ingest_file(con, f, period, root / "archive", when)
        load_dfe_held(con, inbox / "dfe_held")
    finally:
        con.close()
    dbt_build(db, quarter, root / "target")
    return db, results
