"""Sign-in, sessions and the security basics of every response."""
from __future__ import annotations

import pytest

from portal import auth
from portal.app import COOKIE
from portal_support import PASSWORD, USERS, csrf_of, make_portal, sign_in


@pytest.fixture
def portal(lsrp_home):
    return make_portal(lsrp_home)


def test_no_default_password_and_the_link_works_once(portal):
    user, token = auth.add_user(portal.store, "new@la301.example.gov.uk", "la", "301")
    assert user["password_hash"] is None
    c = portal.client()
    assert sign_in(c, "new@la301.example.gov.uk", "").status_code == 200   # no password to guess
    page = c.get(f"/set-password/{token}")
    assert page.status_code == 200
    r = c.post(f"/set-password/{token}", data={"password": PASSWORD, "confirm": PASSWORD, "csrf": csrf_of(page.text)})
    assert "Your password is set" in r.text
    stored = portal.store.one("select password_hash from users where id = ?", (user["id"],))["password_hash"]
    assert stored.startswith("$argon2")
    assert c.get(f"/set-password/{token}").status_code == 404                 # used up
    assert sign_in(c, "new@la301.example.gov.uk").status_code == 303


def test_session_id_changes_at_sign_in_and_cookie_flags(portal):
    c = portal.client()
    c.get("/sign-in")
    before = c.cookies.get(COOKIE)
    assert before
    r = sign_in(c, USERS["la_a"])
    assert r.status_code == 303 and r.headers["location"] == "/la/301"
    after = c.cookies.get(COOKIE)
    assert after and after != before                                     # no session fixation
    assert portal.store.one("select count(*) n from sessions where id_hash = ?",
                            (auth._digest(before),))["n"] == 0          # the old id is gone
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie   # localhost


def test_cookie_is_secure_outside_localhost(portal):
    from starlette.testclient import TestClient

    c = TestClient(portal.app, base_url="https://portal.example.gov.uk", follow_redirects=False)
    r = c.get("/sign-in")
    assert "secure" in r.headers["set-cookie"].lower()


def test_sign_out_ends_the_session(portal):
    c = portal.signed_in(USERS["la_a"])
    page = c.get("/la/301")
    assert page.status_code == 200
    r = c.post("/sign-out", data={"csrf": csrf_of(page.text)})
    assert "You have signed out" in r.text
    assert c.get("/la/301").status_code == 303                           # back to sign-in


def test_idle_timeout(portal, monkeypatch):
    c = portal.signed_in(USERS["la_a"])
    portal.store.run("update sessions set last_seen = '2000-01-01T00:00:00'")
    r = c.get("/la/301")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


def test_csrf_required_on_every_post(portal):
    c = portal.signed_in(USERS["admin"])
    r = c.post("/admin/users", data={"email": "x@example.gov.uk", "role": "dfe"})
    assert r.status_code == 403
    r = c.post("/admin/users", data={"email": "x@example.gov.uk", "role": "dfe", "csrf": "forged"})
    assert r.status_code == 403
    assert portal.store.one("select count(*) n from users where email = 'x@example.gov.uk'")["n"] == 0
    anon = portal.client()
    assert anon.post("/sign-in", data={"email": USERS["la_a"], "password": PASSWORD}).status_code == 403
    actions = [e["action"] for e in portal.store.audit_entries()]
    assert actions.count("csrf") == 3


def test_throttle_after_repeated_failures_with_one_message(portal):
    c = portal.client()
    first = sign_in(c, USERS["la_a"], "wrong password")
    for _ in range(auth.MAX_FAILURES_PER_ACCOUNT):
        sign_in(c, USERS["la_a"], "wrong password")
    r = sign_in(c, USERS["la_a"])                     # the right password, but paused
    assert r.status_code == 200 and auth.SIGN_IN_REFUSED in r.text
    assert auth.SIGN_IN_REFUSED in first.text
    unknown = sign_in(c, "nobody@example.gov.uk", "x")
    assert auth.SIGN_IN_REFUSED in unknown.text      # the same words whatever the reason
    reasons = [e["detail"] for e in portal.store.audit_entries() if e["action"] == "sign-in"]
    assert any("throttled" in d for d in reasons)
    assert sign_in(portal.client(), USERS["la_b"]).status_code == 303   # another account is not paused


def test_throttle_per_address(portal, monkeypatch):
    monkeypatch.setattr(auth, "MAX_FAILURES_PER_ADDRESS", 3)
    c = portal.client()
    for i in range(3):
        sign_in(c, f"guess{i}@example.gov.uk", "x")
    assert sign_in(c, USERS["la_b"]).status_code == 200                # paused for this address


def test_security_headers_on_every_response(portal):
    c = portal.client()
    for path in ("/sign-in", "/static/portal.css", "/no-such-page", "/la/301"):
        h = c.get(path).headers
        csp = h["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] in ("same-origin", "no-referrer")


def test_no_inline_script_or_style_in_portal_pages(portal):
    c = portal.signed_in(USERS["la_a"])
    for path in ("/la/301", "/la/301/upload", "/sign-in"):
        html = c.get(path).text
        assert "<script" not in html and "<style" not in html and " style=" not in html


def test_disabled_user_is_signed_out(portal):
    c = portal.signed_in(USERS["la_a"])
    uid = auth.user_by_email(portal.store, USERS["la_a"])["id"]
    auth.set_disabled(portal.store, uid, True)
    assert c.get("/la/301").status_code == 303
    assert sign_in(portal.client(), USERS["la_a"]).status_code == 200


def test_open_redirect_after_sign_in_is_refused(portal):
    c = portal.client()
    token = csrf_of(c.get("/sign-in").text)
    r = c.post("/sign-in", data={"email": USERS["la_a"], "password": PASSWORD, "csrf": token,
                                 "next": "//evil.example.com/"})
    assert r.headers["location"] == "/la/301"


def test_audit_trail_is_append_only_and_exported(portal, lsrp_home):
    import json
    import sqlite3

    sign_in(portal.client(), USERS["la_a"])
    with pytest.raises(sqlite3.DatabaseError):
        portal.store.run("delete from audit")
    with pytest.raises(sqlite3.DatabaseError):
        portal.store.run("update audit set outcome = 'x'")
    lines = [json.loads(x) for x in (lsrp_home / "portal" / "audit.jsonl").read_text().splitlines()]
    assert any(e["action"] == "sign-in" and e["outcome"] == "ok" for e in lines)


def test_lsrp_users_add_prints_a_one_time_link(lsrp_home, capsys):
    from pipeline.cli import main
    from portal.store import Store

    assert main(["users", "add", "--la", "301", "--email", "officer@la301.example.gov.uk"]) == 0
    out = capsys.readouterr().out
    assert "/set-password/" in out
    user = auth.user_by_email(Store(), "officer@la301.example.gov.uk")
    assert user["role"] == "la" and user["la_code"] == "301" and user["password_hash"] is None
    assert main(["users", "add", "--la", "999", "--email", "x@example.gov.uk"]) == 2
    assert main(["users", "add", "--role", "dfe", "--email", "analyst@education.gov.uk"]) == 0
    assert main(["users", "disable", "--email", "analyst@education.gov.uk"]) == 0
    assert auth.user_by_email(Store(), "analyst@education.gov.uk")["disabled"] == 1
    actions = [e["action"] for e in Store().audit_entries()]
    assert actions.count("user-add") == 2 and "user-disable" in actions


def test_admin_adds_and_disables_users(portal):
    c = portal.signed_in(USERS["admin"])
    token = csrf_of(c.get("/admin/users").text)
    r = c.post("/admin/users", data={"csrf": token, "email": "new@la305.example.gov.uk", "role": "la", "la_code": "305"})
    assert r.status_code == 200 and "/set-password/" in r.text
    uid = auth.user_by_email(portal.store, "new@la305.example.gov.uk")["id"]
    assert c.post(f"/admin/users/{uid}/disable", data={"csrf": token}).status_code == 303
    assert auth.get_user(portal.store, uid)["disabled"] == 1
    r = c.post("/admin/users", data={"csrf": token, "email": "bad@example.gov.uk", "role": "la", "la_code": "999"})
    assert r.status_code == 400 and "There is a problem" in r.text


def test_expired_sessions_and_old_failures_are_pruned(portal):
    sign_in(portal.client(), USERS["la_a"], "wrong")
    portal.store.run("update sessions set last_seen = '2000-01-01T00:00:00'")
    portal.store.run("update sign_in_failures set at = '2000-01-01T00:00:00'")
    portal.client().get("/sign-in")                                     # a new visitor's session
    assert portal.store.one("select count(*) n from sessions")["n"] == 1
    assert portal.store.one("select count(*) n from sign_in_failures")["n"] == 0


def test_hsts_over_https(portal):
    from starlette.testclient import TestClient

    c = TestClient(portal.app, base_url="https://portal.example.gov.uk", follow_redirects=False)
    assert "max-age" in c.get("/sign-in").headers["strict-transport-security"]
    assert "strict-transport-security" not in portal.client().get("/sign-in").headers


def test_access_log_hides_set_password_tokens():
    import logging

    from portal.__main__ import HideTokens

    record = logging.LogRecord("uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/set-password/SECRET", "1.1", 200), None)
    HideTokens().filter(record)
    assert "SECRET" not in record.getMessage() and "/set-password/" in record.getMessage()
