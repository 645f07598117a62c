"""Alerts through real channels, each once: a local SMTP server (aiosmtpd) and a local webhook
receiver (http.server), started here; the product's own sensor, ingest batch and schedule raise them.

One Dagster instance, no daemon: the inbox sensor's tick is run and its batch executed in process,
as tests/test_end_to_end.py does.  Also checked on the way: the live collection status after the
batch, an empty upload answered as empty, the runs' LA/quarter/outcome tags and the
``return_accepted`` check's severities.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from pipeline import ledger, paths, template
from test_end_to_end import tick

Q2 = "2026-27-Q2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receivers(monkeypatch):
    """An SMTP server and a webhook receiver on localhost; the alerts configured to use both."""
    from aiosmtpd.controller import Controller

    mails, posts = [], []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            mails.append(envelope.content.decode("utf-8", "replace"))
            return "250 OK"

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):
            posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    smtp = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
    smtp.start()
    web = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    monkeypatch.setenv("LSRP_ALERT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("LSRP_ALERT_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("LSRP_ALERT_MAIL_TO", "collections@example.gov.uk")
    monkeypatch.setenv("LSRP_ALERT_WEBHOOK", f"http://127.0.0.1:{web.server_address[1]}/hook")
    try:
        yield mails, posts
    finally:
        smtp.stop()
        web.shutdown()


def _subjects(mails, posts) -> tuple[list[str], list[str]]:
    subj = [next(line[len("Subject: "):] for line in m.splitlines() if line.startswith("Subject: ")) for m in mails]
    return sorted(subj), sorted(p["title"] for p in posts)


def _aged(path):
    past = time.time() - 120
    os.utime(path, (past, past))
    return path


def test_alerts_arrive_once_at_email_and_webhook(lsrp_home, dagster_instance, receivers):
    from pipeline import live_status
    from pipeline.definitions import defs

    mails, posts = receivers
    instance = dagster_instance
    inbox = paths.inbox() / Q2
    inbox.mkdir(parents=True)
    good = next((paths.SAMPLE_DIR / Q2).glob("*-308-*.xlsx"))
    _aged(shutil.copy2(good, inbox / good.name))
    stray = inbox / "LSRP return Q2 FINAL v2.xlsx"          # no LA code: quarantined
    template.write(stray)
    _aged(stray)
    empty = inbox / "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    empty.write_bytes(b"")                                     # 0 bytes, empty for 2 minutes (> 60 s)
    _aged(empty)

    (run_request,) = tick(instance, defs)                      # one batch: all three uploads

    # the empty upload is answered, as empty (E03), not awaited for an hour as an incomplete zip
    (ev,) = [e for e in ledger.events() if e.la_code == "301"]
    record = ledger.done_record(ev.event_id)
    assert record["status"] == "rejected"
    feedback = next(p for p in record["feedback"] if p.endswith(".json"))
    assert "is empty (0 bytes)" in open(feedback, encoding="utf-8").read()

    # live status: who is in, straight after the batch, without a publication
    doc = live_status.read()
    q2 = next(q for q in doc["quarters"] if q["period"] == Q2)
    las = {r["la_code"]: r for r in q2["las"]}
    assert las["308"]["status"] == "accepted" and las["308"]["latest_upload_at"]
    assert las["301"]["status"] == "rejected" and las["301"]["late"]          # after the 30 October deadline
    assert q2["deadline"] == "2026-10-30" and "308" not in q2["missing"] and len(q2["missing"]) == 151
    assert live_status.parquet_path().exists()

    # the run says which LAs and quarter it carried and what became of them
    (run,) = instance.get_runs(filters=dg.RunsFilter(job_name="ingest_batch_job"))
    assert run.tags["lsrp/las"] == "301,308" and run.tags["lsrp/quarter"] == Q2
    assert run.tags["lsrp/quarantined"] == "1"
    final = instance.get_run_by_id(run.run_id).tags
    assert final["lsrp/rejected"] == "301,quarantine" and final["lsrp/accepted"] == "308"
    # rejected: return_accepted fails as an ERROR; the accepted return passes
    checks = {(e.partition, e.passed, e.severity) for e in _check_evaluations(instance)}
    assert ("301|2026-27-Q2", False, dg.AssetCheckSeverity.ERROR) in checks
    assert ("308|2026-27-Q2", True, dg.AssetCheckSeverity.WARN) in checks
    # the raw tables ingest loaded are materialized (no "not materialized yet" warning in the UI)
    for t in ("submissions", "return_values", "return_baselines", "return_targets", "findings"):
        assert instance.fetch_materializations(dg.AssetKey(["raw", t]), limit=1).records, t

    # a run failure that will not be retried (no run retries on this instance)
    @dg.op
    def boom():
        raise RuntimeError("the warehouse disk is full")

    @dg.job
    def failing_job():
        boom()

    result = failing_job.execute_in_process(instance=instance, raise_on_error=False,
                                            tags={"lsrp/las": "886", "lsrp/quarter": Q2})
    failure = result.get_run_failure_event()
    sensor = defs.resolve_sensor_def("record_run_failures")
    for _ in range(2):  # raised twice (a sensor re-evaluating): sent once
        sensor(dg.build_run_status_sensor_context(sensor_name="record_run_failures", dagster_instance=instance,
                                                  dagster_run=result.dagster_run, dagster_event=failure)
               .for_run_failure())

    # the deadline morning's digest of LAs still missing
    digest = defs.resolve_schedule_def("deadline_digest")
    for _ in range(2):
        request = digest(dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 10, 30, 8)))
    assert request.partition_key == Q2
    assert isinstance(digest(dg.build_schedule_context(instance=instance,
                                                       scheduled_execution_time=datetime(2026, 10, 29, 8))),
                      dg.SkipReason)

    # each alert once, at both channels; a second tick sends nothing again
    assert tick(instance, defs) == []
    mail_subjects, hook_titles = _subjects(mails, posts)
    expected = sorted([
        "[LSRP] Upload quarantined: LSRP return Q2 FINAL v2.xlsx",
        "[LSRP] Return rejected after the deadline: LA 301 2026-27-Q2",
        "[LSRP] Run failed, not retried: failing_job 2026-27-Q2",
        "[LSRP] 151 LA(s) still missing on the 2026-27-Q2 deadline",
    ])
    assert mail_subjects == expected and hook_titles == expected
    digest_mail = next(m for m in mails if "still missing" in m)
    assert "313 " in digest_mail and "308 Enfield" not in digest_mail
    assert any("the warehouse disk is full" in p["text"] for p in posts)


def _check_evaluations(instance):
    records = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("validated_returns"), "return_accepted"), limit=50)
    return [r.evaluation for r in records if r.evaluation]
