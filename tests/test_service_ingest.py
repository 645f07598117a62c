"""The ingest side as deployed: the real ``dagster-daemon`` with the inbox sensor, a temporary
DAGSTER_HOME (the dagster.yaml ``lsrp`` writes), a 1 s settle time and real returns.

One daemon session runs every scenario in turn; each ends with ``invariant_problems() == []``:
every file that entered the inbox has one ledger event per upload, an archive copy, a feedback
file and one raw.submissions row.
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
import openpyxl
import pytest
import yaml

from contracts import layout as L
from pipeline import ledger, paths
from tests.test_ledger import huge_dimension_copy

Q2 = "2026-27-Q2"
SAMPLE = paths.SAMPLE_DIR / Q2
HOLD_SECONDS = 2  # every first attempt pauses mid-ingest this long, so a worker can be killed there
IN_PROGRESS = ("QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING")


def sample(code: str) -> Path:
    return next(SAMPLE.glob(f"*-{code}-*.xlsx"))


class Service:
    """The daemon in its own process group, with the environment the tests share."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.proc = None
        self.log = tmp / "daemon.log"
        self.env = {**os.environ, "LSRP_HOME": str(tmp / "lsrp"), "LSRP_WAREHOUSE": str(tmp / "lsrp" / "warehouse.duckdb"),
                    "DAGSTER_HOME": str(tmp / "dagster_home"), "LSRP_SETTLE_SECONDS": "1",
                    "LSRP_SENSOR_INTERVAL": "1", "LSRP_RUN_STALE_SECONDS": "180", "LSRP_PACK_PDF": "0",
                    "LSRP_TEST_HOLD_SECONDS": str(HOLD_SECONDS)}

    def start(self):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster-daemon"), "run", "-w", "workspace.yaml"],
                                         cwd=paths.REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def kill(self):
        """kill -9 the daemon, its code server and anything else in its process group."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("service")
    svc = Service(tmp)
    saved = {k: os.environ.get(k) for k in svc.env if k.startswith(("LSRP_", "DAGSTER_HOME"))}
    os.environ.update({k: svc.env[k] for k in saved})
    from pipeline import run

    home = run.ensure_dagster_home()  # the instance configuration `lsrp` writes, as deployed
    cfg = yaml.safe_load((home / "dagster.yaml").read_text())
    if not ({"run_queue", "run_coordinator"} & set(cfg) or "runs" in (cfg.get("concurrency") or {})):
        # on 2 cores a dozen run workers starting at once crawl; the deployed config may set its own
        cfg.setdefault("concurrency", {})["runs"] = {"max_concurrent_runs": 3}
        (home / "dagster.yaml").write_text(yaml.safe_dump(cfg))
    svc.start()
    try:
        yield svc
    finally:
        svc.kill()
        for claim in ledger.claims_dir().glob("*.json") if ledger.claims_dir().exists() else []:
            try:  # run workers outlive a killed daemon if they run in their own session
                os.kill(json.loads(claim.read_text())["pid"], signal.SIGKILL)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def drop(src: Path | bytes, folder: str, name: str | bytes | None = None, mtime: float | None = None) -> Path:
    """Upload a file as an LA would: written under a temporary name, then renamed into place."""
    target_dir = paths.inbox() / folder if folder else paths.inbox()
    target_dir.mkdir(parents=True, exist_ok=True)
    name = name or src.name
    data = src if isinstance(src, bytes) else Path(src).read_bytes()
    part = target_dir / f".upload-{time.monotonic_ns()}.part"
    part.write_bytes(data)
    if mtime is not None:
        os.utime(part, (mtime, mtime))
    final = os.path.join(os.fsencode(target_dir), os.fsencode(name))
    os.rename(part, final)
    return Path(os.fsdecode(final))


def wait_for(what: str, cond, service: Service, timeout: float = 600):  # a loaded 2-core box is slow
    end = time.time() + timeout
    while time.time() < end:
        value = cond()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n--- daemon log ---\n{service.tail()}")


def events_named(name: str, folder: str | None = None) -> list[ledger.Event]:
    return [e for e in ledger.events() if e.name == name and (folder is None or e.folder == folder)]


def all_done(n_events: int):
    """Every event answered and no run still going (so the warehouse can be read)."""
    import dagster as dg

    evs = ledger.events()
    if len(evs) != n_events or not all(ledger.done_record(e.event_id) for e in evs):
        return False
    with dg.DagsterInstance.get() as instance:
        return not instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus(s) for s in IN_PROGRESS]), limit=1)


def query(sql: str, *params):
    con = duckdb.connect(str(paths.warehouse()), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def latest_for(la: str, period: str = Q2, before: int = 10**9):
    """The LA's latest accepted submission (among events before ``before``), ordered as dbt's
    int_latest_uploads orders uploads."""
    return query("""select submission_id, sha256 from raw.submissions
                    where la_code = ? and period = ? and status <> 'rejected' and event_seq < ?
                    qualify row_number() over (order by received_at desc, submission_id desc) = 1""",
                 la, period, before)[0]


def runs_of(event_id: str):
    """The statuses of the ingest runs whose batch named the event."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        return [r.status for r in instance.get_runs(filters=dg.RunsFilter(job_name="ingest_batch_job"))
                if event_id in ledger.batch(r.tags["lsrp/batch"])["events"]]


def corrected(src: Path, dest: Path, delta: int) -> Path:
    wb = openpyxl.load_workbook(src)
    ws = wb[L.RETURN]
    row = L.layout().item_rows["plans_issued_20wk_ex"]
    cell = ws.cell(row=row, column=L.quarter_col("Q2"))
    cell.value = int(cell.value) + delta
    ws.cell(row=row, column=L.ITEM_NOTES_COL, value="Corrected figure")
    wb.save(dest)
    return dest


def test_every_upload_gets_exactly_one_answer_under_the_daemon(service, tmp_path):
    # --- a batch as LAs send it, with every kind of trouble -----------------------------------
    drop(sample("301"), Q2)
    drop(sample("301"), "2026-27-Q1")                            # the same bytes in another folder
    drop(sample("308"), Q2)                                      # its run worker is killed below
    drop(huge_dimension_copy(sample("330"), tmp_path / sample("330").name), Q2)
    drop(sample("801"), Q2, name=b"lsrp-quarterly-return-September-2026-801-\xff\xfe.xlsx")  # not UTF-8
    drop(sample("886"), Q2, name=sample("886").name.replace("-886-", "-999-"))              # unknown LA
    drop(sample("892"), "2026-27-Q9")                            # not a collection quarter
    drop(sample("815"), "")                                      # the inbox root
    # an upload paused mid-copy: half the bytes, a pause longer than the settle time, the rest
    slow = paths.inbox() / Q2 / sample("873").name
    data = sample("873").read_bytes()
    with open(slow, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(3)
        f.write(data[len(data) // 2:])

    # kill -9 the run worker of 308 mid-ingest (it has claimed its event, nothing is committed)
    ev308 = wait_for("308 received", lambda: events_named(sample("308").name), service)[0]

    def claimed():
        for claim in ledger.claims_dir().glob("*.json") if ledger.claims_dir().exists() else []:
            c = json.loads(claim.read_text())
            if ev308.event_id in c["events"]:
                return c["pid"]
    pid = wait_for("308's run to claim its event", claimed, service)
    assert ledger.done_record(ev308.event_id) is None
    os.kill(pid, signal.SIGKILL)

    wait_for("every upload answered", lambda: all_done(9), service)
    assert ledger.invariant_problems() == []
    assert "FAILURE" in {s.value for s in runs_of(ev308.event_id)} and len(runs_of(ev308.event_id)) >= 2

    rows = {r[0]: r[1:] for r in query("select submission_id, la_code, period, status, quarantine_reason "
                                       "from raw.submissions")}
    by_name = {(e.folder, e.name): e for e in ledger.events()}
    # same bytes in two folders: two events, both recorded, the Q2 acceptance untouched
    q2, q1 = by_name[(Q2, sample("301").name)], by_name[("2026-27-Q1", sample("301").name)]
    assert q2.sha256 == q1.sha256 and q2.archive_path == q1.archive_path
    # accepted, possibly with the sample's plan-part queries (MANIFEST plan_cases)
    assert rows[q2.event_id][:2] == ("301", Q2) and rows[q2.event_id][2] in ("accepted", "accepted_with_queries")
    assert rows[q1.event_id][2] == "rejected"
    assert rows[ev308.event_id][2] in ("accepted", "accepted_with_queries")
    # never read half-written: one event, with every byte
    (ev873,) = events_named(sample("873").name)
    assert ev873.size == len(data) and rows[ev873.event_id][2] in ("accepted", "accepted_with_queries")
    # the huge-dimension workbook: rejected with a clear message, nobody else affected
    (huge,) = events_named(sample("330").name)
    message = query("select message from raw.findings where submission_id = ?", huge.event_id)[0][0]
    assert rows[huge.event_id][2] == "rejected" and "A1:XFD1048576" in message and "Action required" in message
    # unroutable uploads: quarantined with a reason and feedback, la_code NULL
    quarantined = [e for e in ledger.events() if e.route == "quarantine"]
    assert len(quarantined) == 4
    for e in quarantined:
        assert rows[e.event_id][0] is None and rows[e.event_id][2] == "rejected" and rows[e.event_id][3]
        feedback = ledger.done_record(e.event_id)["feedback"]
        assert all(Path(f).parent == paths.feedback() / "quarantine" and Path(f).exists() for f in feedback)
    assert any(bytes.fromhex(e.name_hex).endswith(b"-801-\xff\xfe.xlsx") for e in quarantined)  # exact bytes

    # --- newest received wins: a copy that kept an old mtime, then going back to an earlier file ---
    n = 9
    v1 = sample("886")
    v2 = corrected(v1, tmp_path / v1.name, -2)
    for version, mtime in ((v1, None), (v2, time.time() - 400 * 86400), (v1, None)):  # v2 as `cp -p` left it
        drop(version, Q2, mtime=mtime)
        n += 1
        wait_for("the upload received", lambda: len(ledger.events()) == n, service)
    wait_for("the versions answered", lambda: all_done(n), service)
    assert ledger.invariant_problems() == []
    v1_again, v2_event = ledger.events()[-1], ledger.events()[-2]
    # before the LA went back, the `cp -p` copy (older mtime, later receipt) was the newest
    assert latest_for("886", before=v1_again.seq)[0] == v2_event.event_id
    assert latest_for("886") == (v1_again.event_id, v1_again.sha256)  # the LA went back: its first file wins
    assert v1_again.sha256 == ledger.events()[-3].sha256 != ledger.events()[-2].sha256

    # --- kill -9 the daemon itself mid-ingest, then restart it ----------------------------------
    drop(sample("942"), Q2)
    n += 1
    wait_for("942 received", lambda: len(ledger.events()) == n, service)
    newest = ledger.events()[-1].event_id
    wait_for("its run to start", lambda: any(newest in json.loads(c.read_text())["events"]
                                             for c in ledger.claims_dir().glob("*.json")), service)
    service.kill()
    assert ledger.done_record(newest) is None
    service.start()
    wait_for("every upload answered after the restart", lambda: all_done(n), service)
    assert ledger.invariant_problems() == []
    counts = query("select count(*), count(distinct submission_id) from raw.submissions")[0]
    assert counts == (n, n)
