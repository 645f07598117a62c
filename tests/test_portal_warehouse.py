"""The portal's audit trail reaches the warehouse as the run failures do: its JSONL log -> raw.portal_audit
(the pooled raw/portal_audit asset) -> stg_portal_audit -> marts.portal_audit."""
from __future__ import annotations

import dagster as dg

from pipeline import release, warehouse
from portal_support import USERS, make_portal


def test_audit_log_loads_and_builds_the_mart(lsrp_home):
    portal = make_portal(lsrp_home)
    portal.signed_in(USERS["la_a"]).get("/la/302")               # a sign-in and a refusal
    rows = release.read_portal_audit()
    assert {(r["action"], r["outcome"]) for r in rows} >= {("sign-in", "ok"), ("access", "refused")}
    with warehouse.session() as con:
        assert warehouse.load_portal_audit(con, rows) == len(rows)
        assert warehouse.load_portal_audit(con, rows + rows[:1]) == len(rows)   # a line twice: once
    from pipeline.definitions import defs
    from pipeline.defs.warehouse_dbt import lsrp_dbt_assets

    with dg.instance_for_test() as instance:
        result = dg.materialize([lsrp_dbt_assets], instance=instance, resources={"dbt": defs.resources["dbt"]},
                                partition_key="2026-27-Q2", selection=dg.AssetSelection.assets(["marts", "portal_audit"],
                                                                                        ["staging", "stg_portal_audit"]))
    assert result.success
    with warehouse.session() as con:
        got = con.execute("select action, outcome, is_refusal from marts.portal_audit order by seq").fetchall()
    assert ("access", "refused", True) in got and ("sign-in", "ok", False) in got


def test_the_portal_never_opens_the_live_warehouse():
    """Any connection to the live file, even read-only, stops the one writer: the portal reads only the
    analysts' published copy (records.published_warehouse)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "portal"
    for f in root.glob("*.py"):
        tree = ast.parse(f.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "warehouse" and getattr(node.value, "id", "") == "paths":
                raise AssertionError(f"{f.name} uses paths.warehouse()")
            if isinstance(node, ast.ImportFrom) and node.module == "pipeline" and any(a.name == "warehouse" for a in node.names):
                raise AssertionError(f"{f.name} imports pipeline.warehouse")
