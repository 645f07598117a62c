"""Uploads through the portal: streamed under the bound, checked as `lsrp validate` checks, handed to
the ledger with their sender, answered by the ingest, refused for another LA."""
from __future__ import annotations

import asyncio
import io
import json

import pytest

from contracts.validate import validate_file
from pipeline import ingest, ledger, warehouse
from portal_support import PERIOD, USERS, csrf_of, make_portal
from test_reader import GOOD_NAME, _broken


@pytest.fixture
def portal(lsrp_home):
    return make_portal(lsrp_home)


def upload(client, la: str, name: str, data: bytes, period: str = PERIOD):
    token = csrf_of(client.get(f"/la/{la}/upload").text)
    return client.post(f"/la/{la}/upload", data={"csrf": token, "period": period},
                       files={"file": (name, io.BytesIO(data), "application/octet-stream")})


def ingest_now() -> None:
    """What the daemon's batch run does with the pending events (pipeline/defs/ingest.py)."""
    pending = [e for e in ledger.events() if e.event_id not in ledger.done_ids()]
    with warehouse.session() as con:
        outcomes = ingest.process_batch(con, pending)
    ledger.mark_done_many([(o.event, o.result.status, o.feedback) for o in outcomes if o.error is None])


def test_upload_becomes_a_ledger_event_with_its_sender_and_reaches_a_final_status(portal, make_return):
    path = make_return(values={("plans_issued_20wk_ex", "Q2"): 999})     # a part above its total: E22
    c = portal.signed_in(USERS["la_a"])
    r = upload(c, "301", path.name, path.read_bytes())
    assert r.status_code == 303
    event_id = r.headers["location"].split("/")[2].split("?")[0]
    ev = ledger.event(event_id)
    assert ev.route == "return" and ev.la_code == "301" and ev.period == PERIOD and ev.name == path.name
    assert ledger.sender_of(event_id) == {"email": USERS["la_a"], "role": "la", "la_code": "301",
                                          "on_behalf_of": None, "via": "portal"}
    assert not list((portal.store.path.parent.parent / "inbox").rglob("*.xlsx"))   # nothing left for the sensor
    assert r.headers["location"] == f"/uploads/{event_id}?follow=1"
    page = c.get(r.headers["location"])                                # followed to its answer
    expected = validate_file(path)                                       # what `lsrp validate` says
    assert expected.status == "rejected"
    for f in expected.errors:
        assert f.rule in page.text and f"{f.sheet}!{f.cell}" in page.text
    assert "There is a problem" in page.text or "problems with this return" in page.text
    assert 'http-equiv="refresh"' in page.text and "Received: being checked" in page.text
    assert f'url=/uploads/{event_id}?follow=2"' in page.text and "Stop updating this page" in page.text
    assert 'http-equiv="refresh"' not in c.get(f"/uploads/{event_id}").text        # only when asked
    assert 'http-equiv="refresh"' not in c.get(f"/uploads/{event_id}?follow=41").text  # and not for ever
    ingest_now()
    page = c.get(f"/uploads/{event_id}")
    assert "Status: Rejected" in page.text and 'http-equiv="refresh"' not in page.text
    assert c.get(f"/uploads/{event_id}/feedback.json").json()["status"] == "rejected"
    assert ledger.invariant_problems(settle=0) == []


def test_corrected_upload_is_accepted(portal, make_return):
    path = make_return()
    c = portal.signed_in(USERS["la_a"])
    event_id = upload(c, "301", path.name, path.read_bytes()).headers["location"].split("/")[2].split("?")[0]
    ingest_now()
    page = c.get(f"/uploads/{event_id}").text
    assert "Status: Accepted" in page
    assert event_id in c.get("/la/301").text


def test_a_return_for_another_la_is_refused_and_kept(portal, make_return):
    path = make_return(la_code="302", la_name="Barnet")
    c = portal.signed_in(USERS["la_a"])
    r = upload(c, "301", path.name, path.read_bytes())
    event_id = r.headers["location"].split("/")[2].split("?")[0]
    ev = ledger.event(event_id)
    assert ev.route == "quarantine" and ev.la_code is None and "LA 302" in ev.reason
    page = c.get(f"/uploads/{event_id}").text
    assert "a return can be uploaded only for the local authority it is for" in page
    refusals = [e for e in portal.store.audit_entries() if e["action"] == "upload" and e["outcome"] == "refused"]
    assert refusals and event_id in refusals[0]["object"]
    b = portal.signed_in(USERS["la_b"])
    assert b.get(f"/uploads/{event_id}").status_code == 404            # not LA B's, though it names 302
    assert event_id not in b.get("/la/302").text
    ingest_now()
    assert ledger.done_record(event_id)["status"] == "rejected"


def test_cover_for_another_la_is_refused(portal, make_return, tmp_path):
    from conftest import edit_cells
    from contracts import layout as L

    path = make_return()
    edit_cells(path, {(L.COVER, L.COVER_LA): "302 Barnet"})
    c = portal.signed_in(USERS["la_a"])
    ev = ledger.event(upload(c, "301", path.name, path.read_bytes()).headers["location"].split("/")[2].split("?")[0])
    assert ev.route == "quarantine" and "cover sheet" in ev.reason


def test_dfe_uploads_on_behalf_of_an_la(portal, make_return):
    path = make_return()
    c = portal.signed_in(USERS["dfe"])
    event_id = upload(c, "301", path.name, path.read_bytes()).headers["location"].split("/")[2].split("?")[0]
    sender = ledger.sender_of(event_id)
    assert sender["role"] == "dfe" and sender["on_behalf_of"] == "301" and sender["email"] == USERS["dfe"]
    a = portal.signed_in(USERS["la_a"])
    assert "on behalf of 301" in a.get(f"/uploads/{event_id}").text


@pytest.mark.parametrize("kind,rule", [("csv", "E01"), ("zip_bomb_ratio", "E07"), ("vba_inside", "E02"),
                                       ("xlsm", "E02")])
def test_broken_files_get_the_inbox_rejection(portal, good_return, tmp_path, kind, rule):
    name, data = _broken(kind, good_return.read_bytes())
    (tmp_path / name).write_bytes(data)
    expected = [f.rule for f in validate_file(tmp_path / name).errors]
    assert rule in expected
    c = portal.signed_in(USERS["la_a"])
    event_id = upload(c, "301", name, data).headers["location"].split("/")[2].split("?")[0]
    page = c.get(f"/uploads/{event_id}").text
    for r in expected:
        assert r in page
    ingest_now()                                                     # the inbox's answer is the same
    feedback = c.get(f"/uploads/{event_id}/feedback.json").json()
    assert [f["rule"] for f in feedback["findings"] if f["level"] == "error"] == expected


def test_no_file_and_no_quarter_are_form_errors(portal):
    c = portal.signed_in(USERS["la_a"])
    token = csrf_of(c.get("/la/301/upload").text)
    r = c.post("/la/301/upload", files={"csrf": (None, token), "period": (None, PERIOD)})
    assert r.status_code == 400 and "Select a file" in r.text and "There is a problem" in r.text
    r = c.post("/la/301/upload", files={"csrf": (None, token), "period": (None, "1999-00-Q9"),
                                        "file": ("x.xlsx", b"abc")})
    assert r.status_code == 400 and "Select the quarter" in r.text
    assert ledger.events() == []


def test_upload_without_csrf_is_refused_and_nothing_kept(portal, good_return):
    c = portal.signed_in(USERS["la_a"])
    r = c.post("/la/301/upload", files={"period": (None, PERIOD), "file": (GOOD_NAME, good_return.read_bytes())})
    assert r.status_code == 403 and ledger.events() == []


def test_oversize_upload_is_cut_off_while_streaming(portal, monkeypatch):
    """A body far bigger than the bound, sent chunk by chunk straight to the ASGI app: the server answers
    413 having read little more than the bound, and never holds the body in memory."""
    monkeypatch.setenv("LSRP_MAX_UPLOAD_BYTES", str(256 * 1024))
    c = portal.signed_in(USERS["la_a"])
    token = csrf_of(c.get("/la/301/upload").text)
    cookie = "; ".join(f"{k}={v}" for k, v in c.cookies.items())
    boundary = "xYzBoundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"period\"\r\n\r\n{PERIOD}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{GOOD_NAME}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    chunk, chunks_total = b"\x00" * 65536, 2000                       # 131 MB offered
    pulled = 0

    async def receive():
        nonlocal pulled
        pulled += 1
        if pulled == 1:
            return {"type": "http.request", "body": head, "more_body": True}
        if pulled > chunks_total:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": chunk, "more_body": True}

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/la/301/upload", "raw_path": b"/la/301/upload", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost"), (b"cookie", cookie.encode()),
                         (b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
             "client": ("127.0.0.1", 5000), "server": ("localhost", 80)}
    import tracemalloc

    tracemalloc.start()
    asyncio.run(portal.app(scope, receive, send))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    assert pulled * 65536 < 256 * 1024 + 200 * 1024                  # stopped just past the bound
    assert pulled < 20
    assert peak < 8 * 1024 * 1024                                      # flat: never the body in memory
    assert ledger.events() == []
    assert not [p for p in (portal.store.path.parent.parent / "inbox").rglob("*") if p.is_file()]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert b"must be smaller than" in body


def test_declared_oversize_is_refused_before_reading(portal, monkeypatch):
    monkeypatch.setenv("LSRP_MAX_UPLOAD_BYTES", "1000")
    c = portal.signed_in(USERS["la_a"])
    token = csrf_of(c.get("/la/301/upload").text)
    r = c.post("/la/301/upload", data={"csrf": token, "period": PERIOD},
               files={"file": (GOOD_NAME, b"\x00" * 200_000)})
    assert r.status_code == 413 and "must be smaller than" in r.text


def test_the_check_is_stored_as_json(portal, good_return):
    c = portal.signed_in(USERS["la_a"])
    event_id = upload(c, "301", GOOD_NAME, good_return.read_bytes()).headers["location"].split("/")[2].split("?")[0]
    row = portal.store.one("select result from upload_checks where event_id = ?", (event_id,))
    assert json.loads(row["result"])["status"] == validate_file(good_return).status


def test_upload_is_kept_when_the_checker_cannot_run(portal, good_return, monkeypatch):
    from portal import uploads

    def broken(path, name, period=None):
        raise RuntimeError("no child process")
    monkeypatch.setattr(uploads, "check", broken)
    c = portal.signed_in(USERS["la_a"])
    r = upload(c, "301", GOOD_NAME, good_return.read_bytes())
    assert r.status_code == 303
    event_id = r.headers["location"].split("/")[2].split("?")[0]
    assert ledger.event(event_id).la_code == "301"
    assert "Received: being checked" in c.get(r.headers["location"]).text


def test_a_body_that_is_not_a_multipart_form_is_refused(portal):
    c = portal.signed_in(USERS["la_a"])
    c.get("/la/301/upload")
    r = c.post("/la/301/upload", content=b"<xml/>", headers={"content-type": "text/xml"})
    assert r.status_code == 400 and "did not arrive whole" in r.text
    assert ledger.events() == []


def test_the_template_download_is_that_years_blank_return(portal):
    from openpyxl import load_workbook

    c = portal.signed_in(USERS["la_a"])
    r = c.get("/templates/2027-28.xlsx")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "2027-28" in r.headers["content-disposition"] or "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content), read_only=True)
    assert "Cover" in wb.sheetnames
    assert c.get("/templates/1999-00.xlsx").status_code == 404


def test_stale_working_folders_are_swept(lsrp_home):
    import os

    from portal import uploads

    old = lsrp_home / "inbox" / ".portal-dead"
    old.mkdir(parents=True)
    (old / "upload.part").write_bytes(b"half")
    os.utime(old, (0, 0))
    fresh = lsrp_home / "inbox" / ".portal-live"
    fresh.mkdir()
    assert uploads.sweep() == 1 and not old.exists() and fresh.exists()


def test_safe_names_never_leave_their_folder():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from portal.uploads import NAME_BYTES, safe_name

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def check(name):
        out = safe_name(name)
        assert out not in ("", ".", "..") and "/" not in out and "\x00" not in out and "\\" not in out
        assert len(out.encode("utf-8")) <= NAME_BYTES
    check()
    assert safe_name("C:\\Users\\me\\return-301-x.xlsx") == "return-301-x.xlsx"
    assert safe_name("../../etc/passwd") == "passwd"


def test_a_quarter_other_than_the_covers_is_flagged_at_once(portal, good_return):
    c = portal.signed_in(USERS["la_a"])
    r = upload(c, "301", GOOD_NAME, good_return.read_bytes(), period="2026-27-Q1")    # the cover says Q2
    page = c.get(r.headers["location"]).text
    assert "E-PERIOD" in page
    ingest_now()
    event_id = r.headers["location"].split("/")[2].split("?")[0]
    assert "E-PERIOD" in [f["rule"] for f in c.get(f"/uploads/{event_id}/feedback.json").json()["findings"]]
