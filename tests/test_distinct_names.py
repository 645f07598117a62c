"""The names the warehouse keys on are checked at the door: every `distinct` column in
contracts/metadata/raw_tables.yaml has both the validation rule (E44, contracts/plan_checks.py) and a
dbt test on its staging model, so the two cannot drift apart."""
from __future__ import annotations

import yaml

from contracts import metadata, plan_checks
from pipeline import paths

# parsed table -> (staging model, the column holding the warehouse's key for the name)
STAGING = {"milestones": ("stg_plan_milestones", "workstream_key"), "risks": ("stg_plan_risks", "risk_key")}


def _staging_tests(model: str) -> list[dict]:
    doc = yaml.safe_load((paths.DBT_PROJECT_DIR / "models" / "staging" / "stg_plan.yml").read_text())
    (m,) = [m for m in doc["models"] if m["name"] == model]
    return m.get("data_tests", [])


def test_every_distinct_column_has_its_rule_and_its_dbt_test():
    declared = {(t, c) for t, table in metadata.parsed_tables().items() for c in (table.parsed or {}).get("distinct", [])}
    assert declared == {("milestones", "workstream"), ("risks", "description")}  # add new ones to STAGING
    for table, column in declared:
        assert table in plan_checks._ROWS_OF_TABLE
        model, key = STAGING[table]
        combos = [t["unique_combination_of_columns"]["arguments"]["combination_of_columns"]
                  for t in _staging_tests(model) if "unique_combination_of_columns" in t]
        assert any("submission_id" in c and key in c for c in combos), (model, combos)
    for model, expr in (("stg_plan_milestones", "lower(trim(workstream)) as workstream_key"),
                        ("stg_plan_risks", "lower(trim(description)) as risk_key")):
        assert expr in (paths.DBT_PROJECT_DIR / "models" / "staging" / f"{model}.sql").read_text()


def test_the_rule_folds_at_least_what_the_warehouse_folds():
    # the warehouse's key is lower(trim(x)); the rule's must call every such pair the same
    for a, b in [("Local specialist places", "local specialist places"), ("A", " a "),
                 ("Ünïcode", "üNÏCODE"), ("Two  spaces", "two spaces"), ("ﬁnance", "finance")]:
        assert plan_checks.name_key(a) == plan_checks.name_key(b)
    assert plan_checks.name_key("Places") != plan_checks.name_key("Placements")
