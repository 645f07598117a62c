"""The service's small parts, without starting it: what `lsrp serve` starts and from where, the code
location's name, the daemon's console filter, and when an empty upload is answered."""
from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import yaml

from pipeline import ledger, paths, serve


def test_every_tool_comes_from_beside_the_interpreter_never_path(monkeypatch):
    from pipeline.defs.dbt_project import dbt_executable

    monkeypatch.setenv("PATH", "/nonexistent")
    bin_dir = Path(sys.executable).parent
    assert Path(dbt_executable()).parent == bin_dir
    monkeypatch.setattr(serve, "portal_available", lambda: True)
    daemon, web, portal = serve.service_processes("0.0.0.0", 3000, webserver=True, portal_port=3100)
    assert daemon[:3] == [sys.executable, "-m", "pipeline.daemon"] and daemon[3:] == ["run", "-w", "workspace.yaml"]
    assert web[0] == str(bin_dir / "dagster-webserver") and web[-4:] == ["-h", "0.0.0.0", "-p", "3000"]
    assert portal == [sys.executable, "-m", "portal", "--host", "0.0.0.0", "--port", "3100"]
    monkeypatch.setattr(serve, "portal_available", lambda: False)
    assert len(serve.service_processes(webserver=False, portal_port=3100)) == 1  # no portal package: not started


def test_a_stale_manifest_is_prepared_with_this_environments_dbt_from_a_bare_path(tmp_path):
    """dagster-dbt's own preparer runs "dbt" from PATH: `.venv/bin/lsrp run` from a service unit or cron (no venv
    on PATH) failed at import whenever a model had changed since the manifest.  Ours runs the dbt beside the
    interpreter.  A copy of the project (its seeds folder beside it), a bare PATH, a separate process."""
    import shutil
    import subprocess

    shutil.copytree(paths.DBT_PROJECT_DIR, tmp_path / "dbt_project", ignore=shutil.ignore_patterns("target", "logs"))
    shutil.copytree(paths.REPO / "contracts" / "reference", tmp_path / "contracts" / "reference")
    code = ("import sys; from dagster_dbt import DbtProject; from pipeline.defs.dbt_project import _Preparer; "
            "p = DbtProject(project_dir=sys.argv[1], profiles_dir=sys.argv[1]); _Preparer().prepare(p); "
            "print(p.manifest_path)")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "dbt_project")], capture_output=True, text=True,
                          env={"HOME": os.environ.get("HOME", "/tmp"), "PATH": "/usr/bin:/bin"}, cwd=paths.REPO,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "dbt_project" / "target" / "manifest.json").is_file()


def test_the_code_location_is_named_lsrp_wherever_the_clone_is():
    """The clone's folder name (e.g. a worktree's) would otherwise be the project's location name, and
    Dagster warns on every load that it does not match workspace.yaml's."""
    from dagster.components.core.component_tree import ComponentTree

    tree = ComponentTree.for_project(paths.REPO / "pipeline" / "defs")
    workspace = yaml.safe_load((paths.REPO / "workspace.yaml").read_text())
    assert tree.code_location_name == "lsrp" == workspace["load_from"][0]["python_module"]["location_name"]


def test_the_daemon_console_logs_what_changed_only():
    from pipeline.daemon import ChangedOnly

    f = ChangedOnly()
    rec = lambda msg, level=logging.INFO: logging.LogRecord("dagster.daemon.SensorDaemon", level, "", 0, msg, None, None)  # noqa: E731
    seen = [m for m in ["Checking for new runs for sensor: inbox_sensor",
                        "Sensor inbox_sensor skipped: Nothing new",
                        "Checking for new runs for sensor: inbox_sensor",
                        "Sensor inbox_sensor skipped: Nothing new",
                        "Sensor republish_sensor skipped: Nothing new",
                        "Launching run for inbox_sensor",
                        "Sensor inbox_sensor skipped: Nothing new"] if f.filter(rec(m))]
    assert seen == ["Sensor inbox_sensor skipped: Nothing new", "Sensor republish_sensor skipped: Nothing new",
                    "Launching run for inbox_sensor", "Sensor inbox_sensor skipped: Nothing new"]
    assert f.filter(rec("Checking for new runs for sensor: x", logging.WARNING))
    polls = ["Collected 1 runs for monitoring", "Checking run abc", "Collected 1 runs for monitoring",
             "Checking run abc", "Priority sorting and checking tag concurrency limits for queued runs.",
             "Launched 1 runs."]
    assert [m for m in polls if f.filter(rec(m))] == ["Checking run abc", "Launched 1 runs."]


def test_an_empty_upload_is_answered_after_the_empty_wait_not_an_hour(tmp_path, monkeypatch):
    monkeypatch.setenv("LSRP_EMPTY_SECONDS", "30")
    empty = tmp_path / "lsrp-quarterly-return-September-2026-301-barking.xlsx"
    empty.write_bytes(b"")
    now = time.time()
    os.utime(empty, (now - 20, now - 20))
    assert ledger.settle_state(empty, 10, now) == "waiting"   # settled, but may still be being written
    os.utime(empty, (now - 31, now - 31))
    assert ledger.settle_state(empty, 10, now) == "ready"     # answered as an empty file (E03)
    partial = tmp_path / "lsrp-quarterly-return-September-2026-308-enfield.xlsx"
    partial.write_bytes(b"PK\x03\x04" + b"\0" * 100)         # a zip still being written: still awaited
    os.utime(partial, (now - 31, now - 31))
    assert ledger.settle_state(partial, 10, now) == "waiting"


def test_lsrp_status_says_who_is_in_from_the_ledger(lsrp_home, capsys):
    from pipeline import cli, live_status

    assert cli.main(["status", "--quarter", "2026-27-Q2", "--missing"]) == 0
    out = capsys.readouterr().out
    assert "2026-27-Q2: window" in out and "deadline 2026-10-30" in out and "0 of 153 LAs in" in out
    assert "missing: 201 City of London" in out
    assert live_status.read()["quarters"][0]["received"] == 0 and live_status.parquet_path().exists()


def test_live_status_follows_the_warehouses_rule_for_the_standing_upload():
    """The newest accepted, unheld upload stands (int_latest_uploads); else the newest."""
    from types import SimpleNamespace as E

    from pipeline.live_status import _standing

    ok, bad, held = E(event_id="a", seq=1), E(event_id="b", seq=2), E(event_id="c", seq=3)
    answers = {"a": "accepted", "b": "rejected", "c": "accepted_with_queries"}
    assert _standing([ok, bad], answers, set()) is ok            # a later rejected upload never undoes it
    assert _standing([ok, bad, held], answers, {"c"}) is ok      # nor does a later held one
    assert _standing([ok, bad, held], answers, set()) is held    # a later accepted one replaces it
    assert _standing([bad], answers, set()) is bad               # nothing accepted: the newest
