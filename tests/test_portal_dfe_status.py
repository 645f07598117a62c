"""DfE's collection-status page follows the warehouse's standing rule (int_latest_uploads, written once for the
ledger in pipeline.live_status): a later rejected upload never undoes an accepted return, on this page as in the
live status file and the packs."""
from __future__ import annotations

import re

from pipeline import live_status
from portal_support import PERIOD, USERS, make_portal, seed_event


def _row(html: str, code: str) -> str:
    m = re.search(rf"<tr><td>{code}</td>.*?</tr>", html, re.S)
    assert m, f"no row for {code}"
    return m.group(0)


def test_an_accepted_return_stands_over_a_later_rejected_upload(lsrp_home):
    portal = make_portal(lsrp_home)
    accepted = seed_event(lsrp_home, "301", status="accepted")
    later = seed_event(lsrp_home, "301", status="rejected")
    only = seed_event(lsrp_home, "302", status="rejected")

    page = portal.signed_in(USERS["dfe"]).get(f"/dfe?period={PERIOD}").text
    row = _row(page, "301")
    assert f'href="/uploads/{accepted.event_id}">Accepted</a>' in row
    assert f'href="/uploads/{later.event_id}"' in row and "a later upload, rejected" in row
    row = _row(page, "302")
    assert f'href="/uploads/{only.event_id}">Rejected</a>' in row and "a later upload" not in row
    assert re.search(r"<dt>Accepted</dt><dd>1</dd>", page) and re.search(r"<dt>Rejected</dt><dd>1</dd>", page)
    assert re.search(r"<dt>Not received</dt><dd>151</dd>", page)

    # the live status file says the same (one rule, one function)
    rows = {r["la_code"]: r for r in live_status.quarter(PERIOD)}
    doc = next(q for q in live_status.build()["quarters"] if q["period"] == PERIOD)
    for r in doc["las"]:
        assert r["status"] == rows[r["la_code"]]["status"]
    assert rows["301"]["status"] == "accepted" and rows["301"]["latest_upload_status"] == "rejected"


def test_only_dfe_sees_the_status_page(lsrp_home):
    portal = make_portal(lsrp_home)
    seed_event(lsrp_home, "301", status="accepted")
    assert portal.signed_in(USERS["la_a"]).get(f"/dfe?period={PERIOD}").status_code in (403, 404)
    assert portal.signed_in(None).get(f"/dfe?period={PERIOD}").status_code in (303, 401, 403, 404)
