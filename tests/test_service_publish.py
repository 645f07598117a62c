"""The writer side as deployed: a real `dagster-daemon run -w workspace.yaml` on a temporary
DAGSTER_HOME written by the same function `lsrp` uses, a few returns from the committed sample.

One scenario in one test (the phases depend on each other, and pytest-xdist would split separate
tests across workers):
1. ingest while another process holds the live warehouse open read-only: the writers wait (lock
   retry with backoff) and no run fails; the publication launched meanwhile waits in the queue
   until the ingest runs finish (one writer at a time);
2. an LA corrects its return after publication; the republish sensor requests publication by
   itself, while an analyst holds the published copy open;
3. that publication is killed (kill -9 of its run worker) in the middle of `dbt build`: dbt dies
   with it, the live warehouse, the analysts' copy and the packs are the previous ones; the
   run is marked failed (by its code server, or else the watchdog), the failure is recorded, run retries relaunch it, and the retry
   re-issues the LA's pack (version 2) and replaces the copy the analyst still holds open.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipeline import paths, serve
from test_end_to_end import _correct_one_value

PERIOD = "2026-27-Q2"
LAS = ("301", "308")
WRITER = {"lsrp/writer": "warehouse"}


def _wait(what: str, predicate, timeout: float, every: float = 0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _runs(instance, **filters):
    import dagster as dg

    return [r for r in instance.get_run_records(filters=dg.RunsFilter(**filters))]


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process (an analyst) holding a DuckDB file open read-only."""
    code = ("import sys, time; from pipeline import warehouse; "
            "c = warehouse.connect(sys.argv[1], read_only=True); "  # waits if a writer has it right now
            "print(c.execute('select 1').fetchone()[0], flush=True); time.sleep(float(sys.argv[2])); "
            "print(c.execute('select count(*) from information_schema.tables').fetchone()[0], flush=True)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(path), str(seconds)], stdout=subprocess.PIPE, text=True,
                            cwd=paths.REPO)
    assert proc.stdout.readline().strip() == "1", "the reader could not open the file"
    return proc


def _procs_of(home: Path) -> list[tuple[int, int, str]]:
    """(pid, ppid, cmdline) of processes whose environment has this LSRP_HOME."""
    out = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if f"LSRP_HOME={home}".encode() not in (p / "environ").read_bytes().split(b"\0"):
                continue
            cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (p / "stat").read_text().rsplit(")", 1)[1].split()
            if stat[0] != "Z":
                out.append((int(p.name), int(stat[1]), cmd))
        except OSError:
            continue
    return out


def _dbt_builds(home: Path) -> list[tuple[int, int, str]]:
    return [p for p in _procs_of(home) if "dbt" in p[2] and " build " in p[2]]


def _manifest(home: Path) -> dict:
    return json.loads((home / "packs" / PERIOD / "manifest.json").read_text(encoding="utf-8"))["packs"]


def _published_value(home: Path, la: str):
    with duckdb.connect(str(home / "published" / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select la_value from marts.benchmark where la_code = ? and indicator_id = 'ehcp_20_week' "
                           "and period = ?", [la, PERIOD]).fetchone()[0]


@pytest.fixture
def service(tmp_path, monkeypatch):
    home = tmp_path / "lsrp"
    env = {"LSRP_HOME": str(home), "LSRP_WAREHOUSE": str(home / "warehouse.duckdb"), "LSRP_PACK_PDF": "0",
           "LSRP_SETTLE_SECONDS": "1", "LSRP_REPUBLISH_SECONDS": "3", "LSRP_WATCHDOG_SECONDS": "2",
           "LSRP_FAILURE_SENSOR_SECONDS": "2", "LSRP_MONITOR_SECONDS": "5",
           "DAGSTER_HOME": str(home / "dagster_home")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    from pipeline import run, warehouse

    run.ensure_dagster_home()  # the instance configuration `lsrp serve` writes
    with warehouse.session():  # the live file exists before anyone can hold it
        pass
    for la in LAS:
        src = next((paths.SAMPLE_DIR / PERIOD).glob(f"*-{la}-*.xlsx"))
        (paths.inbox() / PERIOD).mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, paths.inbox() / PERIOD / src.name)
    import dagster as dg

    # the instance's storages are created here, before the daemon starts: two processes creating a
    # fresh SQLite storage at once can both stamp its schema ("more than one head"), and the code
    # server then fails to load
    instance = dg.DagsterInstance.get()
    instance.get_runs(limit=1)
    instance.all_instigator_state()
    [cmd] = serve.service_processes(webserver=False)
    log = open(tmp_path / "daemon.log", "w")
    daemon = subprocess.Popen(cmd, cwd=paths.REPO, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        yield home, instance
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
        for pid, _, _ in _procs_of(home):  # run workers and code servers the daemon started
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()
        instance.dispose()


def _launch_publication(home: Path) -> None:
    subprocess.run([str(Path(sys.executable).with_name("dagster")), "job", "launch", "-w", "workspace.yaml",
                    "-j", "publish_job", "--tags", json.dumps({"dagster/partition": PERIOD})], cwd=paths.REPO, check=True,
                   capture_output=True, timeout=180)


def test_one_writer_atomic_publication_and_automatic_republication(service):
    import dagster as dg

    home, instance = service
    live = home / "warehouse.duckdb"
    done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}

    # 1. ingest while the live file is held open; publication queued behind the ingest runs
    # every upload is named by an ingest batch run (one run for what a sensor tick received)
    ingest = _wait("the inbox sensor's ingest runs", lambda: sum(
        int(r.dagster_run.tags.get("lsrp/events", "0")) for r in _runs(instance, job_name="ingest_batch_job"))
        >= len(LAS) or None, 120)
    _wait("an ingest run to start", lambda: _runs(instance, statuses=[dg.DagsterRunStatus.STARTED]), 120, 0.2)
    holder = _hold(live, 6)
    _launch_publication(home)
    holder.wait(timeout=60)
    _wait("ingest and the first publication", lambda: all(r.dagster_run.status in done for r in _runs(instance)) and
          len(_runs(instance, job_name="publish_job")) == 1, 600)
    records = _runs(instance)
    assert {r.dagster_run.job_name: r.dagster_run.status for r in records if r.dagster_run.status != dg.DagsterRunStatus.SUCCESS} == {}, \
        "no run fails while another process holds the live warehouse"
    publish1 = _runs(instance, job_name="publish_job")[0]
    assert publish1.start_time >= max(r.end_time for r in _runs(instance, job_name="ingest_batch_job")), \
        "the publication waited for the ingest runs in flight"
    spans = sorted((r.start_time, r.end_time) for r in records)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), "one writer at a time"
    assert (home / "packs").is_symlink() and set(_manifest(home)) >= {"301", "308"}
    assert all(p["version"] == 1 for p in _manifest(home).values())
    assert {p.stem for p in (home / "published" / "parquet").glob("*.parquet")} >= {"benchmark", "collection_status"}
    la = "301"
    before = _published_value(home, la)
    live_id, copy_id, packs_target = live.stat().st_ino, (home / "published" / "warehouse.duckdb").stat().st_ino, \
        (home / "packs").resolve()

    # 2. the LA corrects its return; the republish sensor asks for publication by itself
    sent = next((paths.SAMPLE_DIR / PERIOD).glob(f"*-{la}-*.xlsx"))
    _correct_one_value(sent, paths.inbox() / PERIOD / sent.name)  # what it sent, corrected, uploaded again
    analyst = _hold(home / "published" / "warehouse.duckdb", 1800)  # outlives the slowest republication
    # 3. ... and that publication is killed in the middle of dbt build
    dbt = _wait("dbt build of the automatic republication", lambda: _dbt_builds(home), 480, 0.1)
    dbt_pid, worker_pid, _ = dbt[0]
    republish = _runs(instance, job_name="publish_job", tags={"lsrp/trigger": "republish_sensor"})
    assert len(republish) == 1, "the republish sensor requested the publication"
    os.kill(worker_pid, signal.SIGKILL)
    _wait("dbt to die with its run worker", lambda: not any(p[0] == dbt_pid for p in _procs_of(home)), 10, 0.1)
    assert live.stat().st_ino == live_id and (home / "packs").resolve() == packs_target, "previous marts and packs served"
    assert (home / "published" / "warehouse.duckdb").stat().st_ino == copy_id
    assert _published_value(home, la) == before and _manifest(home)[la]["version"] == 1

    killed = republish[0].dagster_run.run_id
    _wait("the killed run marked failed", lambda: instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE, 60)
    retry = _wait("the run retry to finish", lambda: [r for r in _runs(instance, tags={"dagster/parent_run_id": killed})
                                                     if r.dagster_run.status in done], 600)
    assert retry[0].dagster_run.status == dg.DagsterRunStatus.SUCCESS
    assert _manifest(home)[la]["version"] == 2 and all(p["version"] == 1 for c, p in _manifest(home).items() if c != la)
    assert _published_value(home, la) < before
    assert (home / "published" / "warehouse.duckdb").stat().st_ino != copy_id, "the analysts' copy was replaced"
    assert analyst.poll() is None, "the analyst's connection to the old copy is undisturbed"
    analyst.kill()
    failures = [json.loads(line) for line in (home / "run_failures.jsonl").read_text().splitlines()]
    assert [(f["run_id"], f["job_name"], f["period"]) for f in failures] == [(killed, "publish_job", PERIOD)]
    assert not _dbt_builds(home), "no orphaned dbt"
    assert not list(home.glob("*.build.duckdb")), "the killed build's copy was cleaned up"
