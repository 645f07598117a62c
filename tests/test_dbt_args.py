import json

import pytest

from pipeline import dbt_args, paths


def test_build_args_carries_the_quarter_as_json_vars():
    args = dbt_args.build_args("2026-27-Q2")
    assert args == ["build", "--vars", '{"quarter": "2026-27-Q2"}']
    assert json.loads(args[2]) == {"quarter": "2026-27-Q2"}


def test_build_args_select_and_exclude():
    args = dbt_args.build_args("2027-28-Q1", select="marts", exclude="revisions")
    assert args == ["build", "--vars", '{"quarter": "2027-28-Q1"}', "--select", "marts", "--exclude", "revisions"]


def test_other_commands():
    assert dbt_args.build_args("2026-27-Q4", command="run")[0] == "run"
    with pytest.raises(ValueError):
        dbt_args.build_args("2026-27-Q4", command="clean")


@pytest.mark.parametrize("bad", ["2026-27", "2026-28-Q1", "2026-27-Q5", "2026-27-q2", "26-27-Q1", "", "2026-27-Q2 "])
def test_bad_quarters_are_rejected(bad):
    with pytest.raises(ValueError):
        dbt_args.build_args(bad)


def test_century_rollover_is_consecutive():
    assert dbt_args.validate_quarter("2099-00-Q3") == "2099-00-Q3"


def test_project_and_parse_args_point_at_the_project():
    d = str(paths.DBT_PROJECT_DIR)
    assert dbt_args.project_args() == ["--project-dir", d, "--profiles-dir", d]
    assert dbt_args.parse_args("x") == ["parse", "--project-dir", "x", "--profiles-dir", "x"]


def test_dbt_env_always_sets_the_warehouse(tmp_path):
    env = dbt_args.dbt_env(tmp_path / "w.duckdb", target_path=tmp_path / "t", base={"PATH": "/bin"})
    assert env["LSRP_WAREHOUSE"] == str((tmp_path / "w.duckdb").resolve())
    assert env["DBT_TARGET_PATH"] == str(tmp_path / "t")
    assert env["PATH"] == "/bin"


def test_partition_key_and_build_file_go_to_dbt_as_vars(tmp_path):
    """The dbt assets pass the quarter partition key and the build copy as vars; profiles.yml reads the
    var 'warehouse' before LSRP_WAREHOUSE, so no caller edits os.environ."""
    args = dbt_args.build_args("2026-27-Q3", warehouse=tmp_path / "w.build.duckdb")
    assert json.loads(args[2]) == {"quarter": "2026-27-Q3", "warehouse": str((tmp_path / "w.build.duckdb").resolve())}
    profile = (paths.DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "var('warehouse', env_var('LSRP_WAREHOUSE'" in profile
    from pipeline.defs.partitions import period_partitions

    for key in period_partitions.get_partition_keys():  # every partition key is a quarter dbt accepts
        assert dbt_args.validate_quarter(key) == key


def test_dbt_verdict_from_run_results():
    ok = {"results": [{"status": "success"}] * 3 + [{"status": "pass"}] * 5 + [{"status": "warn"}]}
    assert dbt_args.summarise_run_results(ok) == {"pass": 5, "success": 3, "warn": 1}
    assert dbt_args.verdict(dbt_args.summarise_run_results(ok)) == "passed: 8 ok, 1 warn of 9"
    bad = {"results": [{"status": "success"}, {"status": "fail"}, {"status": "skipped"}]}
    assert dbt_args.verdict(dbt_args.summarise_run_results(bad)).startswith("FAILED: 1 ok, 1 fail, 1 skipped")
    assert dbt_args.verdict({}).startswith("FAILED")  # nothing ran is not a pass


def test_changed_las_tag_names_the_packs_to_re_render():
    from pipeline.defs.packs import CHANGED_LAS_TAG, changed_las

    assert changed_las({CHANGED_LAS_TAG: "886,308,308"}) == ["308", "886"]
    assert changed_las({}) is None and changed_las({CHANGED_LAS_TAG: ""}) is None
