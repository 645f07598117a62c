"""`lsrp serve` as deployed: the real command (``.venv/bin/lsrp serve``, as a service unit runs it) in
its own session, on fresh homes, stopped with SIGTERM as systemd stops it.

Two tests, few daemon starts:

1. five start / health / SIGTERM cycles on a fresh home each, daemon only (the web server is
   started in test 2): each start answers its health endpoint and ``lsrp health``; each stop leaves
   no process behind;
2. one home, the whole service (daemon + web server): uploads answered and in the live status within
   a minute (an empty one answered as empty), ``lsrp publish`` through the run queue with an ingest
   run waiting for it, a second publication stopped mid-``dbt build`` by SIGTERM (nothing left
   running, the run failed), the next start retrying it to success; then the log of the whole
   session: no location-name warning, no repeated skip lines, few lines.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


from pipeline import paths
from test_service_publish import _dbt_builds, _procs_of

Q2 = "2026-27-Q2"
LSRP = str(Path(sys.executable).with_name("lsrp"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, predicate, timeout: float, every: float = 0.5, log: Path | None = None):
    end = time.time() + timeout
    while time.time() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tail}")


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as r:
            return json.loads(r.read()) if r.status == 200 else None
    except Exception:
        return None


def _env(home: Path, **extra) -> dict:
    # a bare PATH, as a service unit has: every tool must come from beside sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSRP_", "DAGSTER_"))}
    env.update({"PATH": "/usr/bin:/bin", "LSRP_HOME": str(home), "LSRP_PACK_PDF": "0", "LSRP_SETTLE_SECONDS": "1",
                "LSRP_SENSOR_INTERVAL": "2", **extra})
    return env


class Serve:
    def __init__(self, home: Path, env: dict, *args: str):
        self.home, self.env, self.args = home, env, args
        self.log = home.parent / f"{home.name}-serve.log"
        self.health_port = _free_port()
        self.proc = None

    def start(self):
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen([LSRP, "serve", "--health-port", str(self.health_port), *self.args],
                                         cwd=paths.REPO, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        return self

    def wait_healthy(self, timeout: float = 240) -> dict:
        return _wait("the service's health endpoint", lambda: _healthz(self.health_port), timeout, log=self.log)

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM, as systemd sends it; nothing of the service may be left running."""
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        _wait("every process of the service to be gone", lambda: not _procs_of(self.home), 15, log=self.log)
        return code

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        for pid, _, _ in _procs_of(self.home):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_serve_starts_on_a_fresh_home_five_times_and_stops_clean(tmp_path):
    for i in range(5):
        home = tmp_path / f"home{i}"
        svc = Serve(home, _env(home), "--no-webserver", "--no-portal").start()
        try:
            started = time.time()
            health = svc.wait_healthy()
            assert health["healthy"] and health["checks"]["daemon"]["ok"], health
            if i == 0:  # the operator's command answers too (exit 0), from the record serve wrote
                out = subprocess.run([LSRP, "health"], env=_env(home), cwd=paths.REPO, capture_output=True,
                                     text=True, timeout=120)
                assert out.returncode == 0, out.stdout + out.stderr
            assert svc.stop() == 0
            log = svc.log.read_text(errors="replace")
            assert "alembic_version" not in log and "Traceback" not in log.split("stopping")[0], log[-3000:]
            assert not (home / "service.json").exists()
            print(f"cycle {i}: healthy after {time.time() - started:.0f} s")
        finally:
            svc.kill()


def _live(home: Path) -> dict:
    try:
        doc = json.loads((home / "published" / "collection_status_live.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {r["la_code"]: r for q in doc["quarters"] if q["period"] == Q2 for r in q["las"]}


def _drop(home: Path, la: str | None = None, empty_name: str | None = None) -> None:
    inbox = home / "inbox" / Q2
    inbox.mkdir(parents=True, exist_ok=True)
    if empty_name:
        (inbox / empty_name).write_bytes(b"")
        return
    src = next((paths.SAMPLE_DIR / Q2).glob(f"*-{la}-*.xlsx"))
    part = inbox / f".{src.name}.part"
    shutil.copyfile(src, part)
    os.rename(part, inbox / src.name)


def test_the_service_ingests_publishes_stops_mid_publication_and_retries(tmp_path):
    import dagster as dg

    home = tmp_path / "lsrp"
    port = _free_port()
    env = _env(home, LSRP_EMPTY_SECONDS="5", LSRP_REPUBLISH_SECONDS="3600", LSRP_WATCHDOG_SECONDS="2",
               LSRP_FAILURE_SENSOR_SECONDS="2", LSRP_MONITOR_SECONDS="5")
    svc = Serve(home, env, "--port", str(port), "--no-portal").start()
    instance = None
    try:
        health = svc.wait_healthy(360)
        assert health["checks"]["webserver"]["ok"], health

        # uploads: two returns and an empty file; each answered in the live status within a minute
        dropped = time.time()
        for la in ("301", "308"):
            _drop(home, la)
        _drop(home, empty_name="lsrp-quarterly-return-September-2026-815-north-yorkshire.xlsx")
        live = _wait("the uploads in the live collection status", lambda: (lambda s: s if all(
            s.get(la, {}).get("status") not in (None, "not_received", "processing") for la in ("301", "308", "815"))
            else None)(_live(home)), 120, log=svc.log)
        took = time.time() - dropped
        assert took < 60, f"answered after {took:.0f} s"
        assert live["308"]["status"] == "accepted" and live["301"]["status"].startswith("accepted")
        assert live["815"]["status"] == "rejected"        # the empty file: answered as empty, not awaited
        feedback = json.loads(next((home / "feedback").rglob("*815*.json")).read_text(encoding="utf-8"))
        assert "is empty (0 bytes)" in json.dumps(feedback)

        os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
        instance = dg.DagsterInstance.get()
        ingest = _wait("the ingest runs to finish", lambda: (lambda runs: runs if runs and all(
            r.is_finished for r in runs) else None)(instance.get_runs(filters=dg.RunsFilter(job_name="ingest_batch_job"))),
            120)
        # each run says which LAs and quarter it carried (a tick's uploads: one run or two here)
        assert {la for r in ingest for la in r.tags["lsrp/las"].split(",")} == {"301", "308", "815"}
        assert {r.tags["lsrp/quarter"] for r in ingest} == {Q2}

        # publishing by hand, through the run queue; an upload meanwhile waits for the one writer
        publish = subprocess.Popen([LSRP, "publish", "--quarter", Q2], cwd=paths.REPO, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        started = _wait("the publication to start", lambda: instance.get_runs(filters=dg.RunsFilter(
            job_name="publish_job", statuses=[dg.DagsterRunStatus.STARTED])), 300, 0.3, log=svc.log)
        _drop(home, "330")
        out, _ = publish.communicate(timeout=600)
        assert publish.returncode == 0, out
        assert f"Published {Q2}" in out and "pack(s) written" in out, out
        second = _wait("the upload's ingest run to finish", lambda: [r for r in instance.get_run_records(
            filters=dg.RunsFilter(job_name="ingest_batch_job", tags={"lsrp/las": "330"})) if r.end_time], 300)
        pub = instance.get_run_record_by_id(started[0].run_id)
        assert second[0].start_time >= pub.end_time, "the ingest run waited for the publication (one writer)"
        assert _live(home)["330"]["status"].startswith("accepted")

        # a second publication, stopped by SIGTERM in the middle of dbt build
        subprocess.run([LSRP, "publish", "--quarter", Q2, "--no-wait"], cwd=paths.REPO, env=env, check=True,
                       capture_output=True, timeout=300)
        _wait("dbt build of the second publication", lambda: _dbt_builds(home), 300, 0.1, log=svc.log)
        killed = instance.get_runs(filters=dg.RunsFilter(job_name="publish_job",
                                                         statuses=[dg.DagsterRunStatus.STARTED]))[0]
        assert svc.stop() == 0                             # and no process of the service left
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE

        # the next start retries it to success
        svc.start()
        retry = _wait("the retry of the interrupted publication", lambda: [
            r for r in instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id": killed.run_id}))
            if r.is_finished], 600, 1, log=svc.log)
        assert retry[0].status == dg.DagsterRunStatus.SUCCESS
        assert svc.stop() == 0

        # the log of the whole session says what changed, once
        log = svc.log.read_text(errors="replace")
        lines = log.splitlines()
        print(f"service log: {len(lines)} lines over {time.time() - dropped:.0f} s")
        assert "does not match the name" not in log, "the code location is named lsrp everywhere"
        assert not [line for line in lines if "Skipping" in line and "already completed" in line]
        skips = [line.split(" - ")[-1] for line in lines if " skipped: " in line]
        assert len(skips) == len(set(skips)) or len(skips) < 20, skips
        # entries, not lines: the stack traces of the run this test interrupts on purpose (and of the code
        # server stopped under it) are one entry each however many frames they print
        entries = [line for line in lines if line.strip() and not line[:1].isspace()
                   and not line.startswith(("Traceback", "Stack Trace", "The above exception", "During handling"))]
        print(f"service log: {len(entries)} entries")
        assert len(entries) < 200, "\n".join(entries[-80:])
        assert not any('"info": {"name": "' in line for line in lines), "dbt's events stay in its log file"
    finally:
        if instance is not None:
            instance.dispose()
        os.environ.pop("DAGSTER_HOME", None)
        svc.kill()
