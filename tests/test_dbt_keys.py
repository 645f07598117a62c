"""Each dbt model's key is checked once: a primary_key test (no NULL in it, no two rows share it: one
query and one Dagster check) or, on a contracted mart, a primary_key constraint DuckDB enforces -- never
again by a not_null or unique test on a key column, which would only repeat it as more dbt nodes (about
30 ms of dbt's own time each in every publication).  The test itself: tests/test_marts_fixture.py."""
from __future__ import annotations

from pathlib import Path

from contracts import metadata
from contracts.generate import mart_key
from contracts.yaml_file import read_yaml
from pipeline import paths

MODELS = paths.DBT_PROJECT_DIR / "models"


def _name(test) -> str:
    return test if isinstance(test, str) else next(iter(test))


def _args(test) -> dict:
    body = next(iter(test.values())) if isinstance(test, dict) else {}
    return (body or {}).get("arguments", body or {})


def _keyed() -> list[tuple[str, dict, list[list[str]]]]:
    """(file, model or source table, its keys) for every model and source table of the project."""
    out = []
    for yml in sorted(MODELS.rglob("*.yml")):
        doc = read_yaml(yml) or {}
        entries = doc.get("models", []) + [t for s in doc.get("sources", []) for t in s.get("tables", [])]
        for m in entries:
            keys = [list(_args(t)["columns"]) for t in m.get("data_tests") or [] if _name(t) == "primary_key"]
            keys += [list(c["columns"]) for c in m.get("constraints") or [] if c.get("type") == "primary_key"]
            out.append((str(yml.relative_to(MODELS)), m, keys))
    return out


def test_no_not_null_or_unique_test_on_a_key_column():
    repeated = []
    for file, m, keys in _keyed():
        key_cols = {c for k in keys for c in k}
        for col in m.get("columns") or []:
            for t in col.get("data_tests") or []:
                if col["name"] in key_cols and _name(t) in ("not_null", "unique"):
                    repeated.append(f"{file}: {m['name']}.{col['name']} {_name(t)}")
    assert not repeated, "the primary_key checks these already:\n" + "\n".join(repeated)


def test_every_key_is_a_primary_key():
    """A single-column unique test (with its not_null) is a primary_key test; the one key that may hold
    a NULL (a baseline has no target period) stays a unique_combination_of_columns test."""
    by_name = {m["name"]: (file, keys) for file, m, keys in _keyed()}
    assert len([k for _, keys in by_name.values() for k in keys]) >= 50
    unique_cols = [f"{file}: {m['name']}.{c['name']}" for file, m, _ in _keyed() for c in m.get("columns") or []
                   for t in c.get("data_tests") or [] if _name(t) == "unique"]
    assert not unique_cols
    combos = [m["name"] for _, m, _ in _keyed() for t in m.get("data_tests") or []
              if _name(t) == "unique_combination_of_columns"]
    # and the names a return must not repeat (raw_tables.yaml `distinct`, rule E44; tests/test_distinct_names.py)
    assert combos == ["int_plan_statements", "stg_plan_milestones", "stg_plan_risks"]
    assert by_name["trajectory"][1] == [["la_code", "indicator_id", "period"]]
    assert by_name["local_authorities"][1] == [["la_code"], ["new_la_code"]]


def test_contracted_marts_have_the_constraint_not_the_test():
    for file, m, keys in _keyed():
        if (m.get("config") or {}).get("contract", {}).get("enforced"):
            assert not [t for t in m.get("data_tests") or [] if _name(t) == "primary_key"], file
            assert keys == [mart_key(m)] and keys[0], f"{file}: a contracted mart declares its key"


def test_raw_tables_keys_generate_the_sources_primary_key_tests():
    tables = metadata.raw_tables()
    assert tables["catalogue_indicators"].key == ("indicator_id",)
    sources = {m["name"]: keys for file, m, keys in _keyed() if file == str(Path("staging", "_sources.yml"))}
    assert {n: [tuple(k) for k in ks] for n, ks in sources.items() if ks} == \
        {n: [t.key] for n, t in tables.items() if t.key}
    for t in tables.values():
        assert not [c for c in t.columns if c.name in t.key and set(map(_name, c.tests)) & {"not_null", "unique"}]
