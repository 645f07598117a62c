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


def test_the_publication_builds_everything_but_dbt_unit_tests(tmp_path):
    args = dbt_args.publication_args("2026-27-Q2", tmp_path / "w.build.duckdb")
    assert args[:3] == dbt_args.build_args("2026-27-Q2", warehouse=tmp_path / "w.build.duckdb")
    assert args[3:] == ["--exclude-resource-type", "unit_test", "--log-level-file", "info"]
    assert "--select" not in args and "--exclude" not in args  # every model, seed and data test
    assert "unit_test" not in " ".join(dbt_args.build_args("2026-27-Q2"))  # the tests' builds run them


def test_state_path_is_one_folder_per_quarter_in_the_home(tmp_path):
    """dbt keeps its parse there between builds: the same vars each time, so partial parsing holds."""
    assert dbt_args.state_path("2026-27-Q2", tmp_path) == tmp_path / "dbt" / "2026-27-Q2"
    assert dbt_args.state_path("2026-27-Q2", tmp_path) != dbt_args.state_path("2026-27-Q3", tmp_path)
    with pytest.raises(ValueError):
        dbt_args.state_path("../x", tmp_path)


def test_the_sample_build_runs_every_dbt_unit_test(sample_warehouse):
    """The publication leaves dbt's unit tests out, so the suite's real build must run them all (and a
    failing one fails that build, and with it every test on the sample warehouse)."""
    import yaml

    defined = {t["name"] for f in (paths.DBT_PROJECT_DIR / "models").rglob("*.yml")
               for t in (yaml.safe_load(f.read_text()) or {}).get("unit_tests", [])}
    results = json.loads((sample_warehouse.parent / "target" / "run_results.json").read_text())["results"]
    ran = {r["unique_id"].split(".")[-1]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert defined and set(ran) == defined, (defined, ran)
    assert set(ran.values()) == {"pass"}


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


def test_the_dbt_resource_skips_dagster_dbts_own_dbt_start_ups():
    """No `dbt --version` subprocess and no in-process adapter before each build (about 2 s of CPU each);
    the names overridden are dagster-dbt's own, so an upgrade that renames them fails here, not silently."""
    import importlib.metadata

    from dagster_dbt import DbtCliResource
    from packaging import version

    from pipeline.defs.resources import LsrpDbtCli

    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))
    dbt = LsrpDbtCli(project_dir=str(paths.DBT_PROJECT_DIR), dbt_executable="/bin/false")  # would fail if started
    assert dbt._cli_version == version.parse(importlib.metadata.version("dbt-core"))
    assert dbt._cli_version.major < 2  # dbt Core, so dagster-dbt takes its dbt Core path
    assert dbt._initialize_dbt_core_adapter(["build"]) is None


def test_the_background_parse_has_the_publications_vars(tmp_path):
    """dbt reuses a saved parse only for the same --vars, so `lsrp run`'s early parse must match the build."""
    build = dbt_args.publication_args("2026-27-Q2", tmp_path / "w.build.duckdb")
    assert dbt_args.publication_parse_args("2026-27-Q2", tmp_path / "w.build.duckdb") == ["parse", *build[1:3]]


def test_lsrp_run_expects_the_quarter_asked_for_else_the_newest_in_the_inbox(tmp_path, monkeypatch):
    from pipeline.run import expected_quarter

    monkeypatch.setenv("LSRP_HOME", str(tmp_path))
    assert expected_quarter(None) is None  # no inbox yet: nothing to warm
    for folder in ("2026-27-Q1", "2026-27-Q2", "dfe_held", "broken", "2099-00-Q9"):
        (tmp_path / "inbox" / folder).mkdir(parents=True)
    assert expected_quarter(None) == "2026-27-Q2"
    assert expected_quarter("2026-27-Q1") == "2026-27-Q1"
    assert expected_quarter("2030-31-Q5") is None  # not a quarter of the collection


def test_the_console_names_a_mart_dbt_could_not_build():
    """A contracted mart whose key constraint fails is a dbt error, not a failed test: `lsrp run` names it."""
    from types import SimpleNamespace

    from pipeline.run import dbt_verdict

    results = {"results": [
        {"unique_id": "model.lsrp.trajectory", "status": "success"},
        {"unique_id": "model.lsrp.run_failures", "status": "error",
         "message": 'Runtime Error in model run_failures\nConstraint Error: duplicate key "r1"'},
        {"unique_id": "test.lsrp.x", "status": "skipped"}]}
    assert dbt_args.not_built(results) == ['run_failures (Constraint Error: duplicate key "r1")']
    run = SimpleNamespace(get_asset_check_evaluations=lambda: [], get_asset_materialization_events=lambda: [])
    assert dbt_verdict(run, results).endswith('; not built: run_failures (Constraint Error: duplicate key "r1")')
    assert "not built" not in dbt_verdict(run, {})
