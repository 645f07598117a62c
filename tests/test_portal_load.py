"""The portal under load on localhost: 153 LA users (one per LA code), 20 at once, each signing in and
uploading its return (generated once with the project's sample generator) to the real service
(``lsrp serve``: the Dagster daemon's ingest answers every upload, the portal served by uvicorn).  One
implementation with the benchmark: ``benchmarks/portal_load.py``.

Asserts that every upload got its validation answer (the upload POST's redirect to its findings) and a
final status (the ingest's done record, and the upload's page saying so), and that the ledger's
invariant holds: 153 events, each archived, answered and one ``raw.submissions`` row.  The p95 times are
printed and written to ``$LSRP_HOME/portal_load.json``, not asserted (timed assertions on a shared
machine are flaky).  A few minutes: one service start, 153 checks and about as many ingested returns.
"""
from __future__ import annotations

import json

from benchmarks.portal_load import PERIOD, measure, report
from contracts.reference import la_codes


def test_153_la_users_upload_at_once_and_every_upload_is_answered(tmp_path):
    from synthetic import sample

    sample.generate(tmp_path / "sample", quarter=PERIOD, seed=2026, bomb_bytes=1024)
    home = tmp_path / "lsrp"
    figures = measure(home, tmp_path / "sample" / PERIOD, concurrency=20)
    print(report(figures))
    n = len(la_codes())
    assert n == 153
    assert figures["errors"] == [] and figures["uploads"] == n
    assert figures["validation_answers"] == n                # every POST answered with its findings page
    assert figures["final_statuses"] == n                    # every event answered by the daemon's ingest
    assert figures["shown_on_page"] == n                     # and its page says so
    assert figures["service_exit"] == 0
    assert figures["invariant_problems"] == []
    assert figures["ledger_events"] == figures["ledger_done"] == figures["raw_submissions"] == n
    written = json.loads((home / "portal_load.json").read_text(encoding="utf-8"))
    assert written["p95_validation_answer_s"] == figures["p95_validation_answer_s"] and len(written["results"]) == n
