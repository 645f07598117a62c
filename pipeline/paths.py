"""Where the product keeps its files.  Everything generated lives under LSRP_HOME (default ./data)."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO / "dbt_project"
SAMPLE_DIR = REPO / "sample_returns"


def home() -> Path:
    return Path(os.environ.get("LSRP_HOME", REPO / "data")).resolve()


def inbox() -> Path:        # LAs' returns and DfE-held EES CSVs arrive here
    return home() / "inbox"


def archive() -> Path:      # byte-identical copies named by content hash, never overwritten
    return home() / "archive"


def feedback() -> Path:     # per-return feedback (HTML + JSON)
    return home() / "feedback"


def packs() -> Path:        # published benchmark packs
    return home() / "packs"


def warehouse() -> Path:    # the DuckDB file
    return Path(os.environ.get("LSRP_WAREHOUSE", home() / "warehouse.duckdb")).resolve()
