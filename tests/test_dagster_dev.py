"""`dagster dev -w workspace.yaml`, as the README says, serves the asset graph on localhost."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from pipeline import paths

QUERY = '{"query": "{ assetNodes { assetKey { path } groupName } }"}'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dagster_dev_serves_asset_graph(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "dagster_home"), "LSRP_HOME": str(tmp_path),
           "LSRP_WAREHOUSE": str(tmp_path / "warehouse.duckdb")}
    (tmp_path / "dagster_home").mkdir()
    (tmp_path / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.Popen([str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                            cwd=paths.REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        nodes, deadline = None, time.time() + 180
        while time.time() < deadline and nodes is None:
            time.sleep(2)
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/graphql", data=QUERY.encode(),
                                             headers={"Content-Type": "application/json"})
                body = json.loads(urllib.request.urlopen(req, timeout=10).read())
                nodes = body["data"]["assetNodes"] or None
            except Exception:
                assert proc.poll() is None, "dagster dev exited"
        assert nodes, "asset graph not served within 180 s"
        keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
        groups = {n["groupName"] for n in nodes}
        assert {"archived_returns", "validated_returns", "raw/submissions", "marts/benchmark", "benchmark_packs"} <= keys
        assert {"ingest", "marts", "publish"} <= groups
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
