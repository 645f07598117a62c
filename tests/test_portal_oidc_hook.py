"""The OpenID Connect hook, against a fake of portal.oidc's agreed interface (the real module is
written separately): begin stores the pending state server-side; the callback maps the identity to
an LA user (created on first sign-in), refuses a missing or unknown LA claim, and rotates the session."""
from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from portal import signin
from portal.app import COOKIE
from portal_support import make_portal


class FakeOidcError(Exception):
    pass


class FakeConfig:
    @staticmethod
    def from_env():
        return FakeConfig()


class FakeClient:
    def __init__(self, config):
        self.config = config

    def begin(self):
        return "https://idp.example.gov.uk/authorize?state=s1", {"state": "s1", "nonce": "n1", "code_verifier": "v1"}

    def finish(self, query, pending):
        if query.get("state") != pending["state"]:
            raise FakeOidcError("state mismatch")
        return SimpleNamespace(subject=query["sub"], email=query.get("email"), la_code=query.get("la") or None)


FAKE = SimpleNamespace(OidcClient=FakeClient, OidcError=FakeOidcError, OidcConfig=FakeConfig)


@pytest.fixture
def portal(lsrp_home, monkeypatch):
    monkeypatch.setattr(signin, "load_oidc", lambda: FAKE)
    return make_portal(lsrp_home)


def _begin(c):
    r = c.get("/sign-in/oidc")
    assert r.status_code == 303 and r.headers["location"].startswith("https://idp.example.gov.uk/")
    return c.cookies.get(COOKIE)


def test_sign_in_page_offers_oidc(portal):
    assert "/sign-in/oidc" in portal.client().get("/sign-in").text


def test_first_sign_in_creates_an_la_user_and_rotates_the_session(portal):
    c = portal.client()
    before = _begin(c)
    stored = [json.loads(r["data"]) for r in portal.store.all("select data from sessions")]
    assert {"state": "s1", "nonce": "n1", "code_verifier": "v1"} in [d.get("oidc") for d in stored]
    r = c.get("/sign-in/oidc/callback", params={"state": "s1", "sub": "idp|42", "email": "Officer@LA301.example.gov.uk",
                                                "la": "301"})
    assert r.status_code == 303 and r.headers["location"] == "/la/301"
    assert c.cookies.get(COOKIE) != before
    user = portal.store.one("select * from users where oidc_subject = 'idp|42'")
    assert user["role"] == "la" and user["la_code"] == "301" and user["password_hash"] is None
    assert c.get("/la/301").status_code == 200 and c.get("/la/302").status_code == 404
    # the second time the same user is found, not created again
    c2 = portal.client()
    _begin(c2)
    c2.get("/sign-in/oidc/callback", params={"state": "s1", "sub": "idp|42", "email": "x@la301.example.gov.uk",
                                             "la": "301"})
    assert portal.store.one("select count(*) n from users where oidc_subject = 'idp|42'")["n"] == 1


@pytest.mark.parametrize("params,why", [
    ({"state": "s1", "sub": "idp|1", "email": "a@x.gov.uk"}, "does not say which local authority"),
    ({"state": "s1", "sub": "idp|2", "email": "b@x.gov.uk", "la": "999"}, "not the code of an English"),
    ({"state": "wrong", "sub": "idp|3", "email": "c@x.gov.uk", "la": "301"}, "did not complete"),
])
def test_refusals(portal, params, why):
    c = portal.client()
    _begin(c)
    r = c.get("/sign-in/oidc/callback", params=params)
    assert r.status_code == 403 and why in r.text
    assert portal.store.one("select count(*) n from users where oidc_subject = ?", (params["sub"],))["n"] == 0
    assert any(e["action"] == "sign-in" and e["outcome"] == "failed" for e in portal.store.audit_entries())


def test_callback_without_begin_is_refused(portal):
    r = portal.client().get("/sign-in/oidc/callback", params={"state": "s1", "sub": "idp|9", "la": "301"})
    assert r.status_code == 403


def test_pending_state_is_used_once(portal):
    c = portal.client()
    _begin(c)
    ok = {"state": "s1", "sub": "idp|5", "email": "e@la301.example.gov.uk", "la": "301"}
    c.get("/sign-in/oidc/callback", params={**ok, "state": "wrong"})
    assert c.get("/sign-in/oidc/callback", params=ok).status_code == 403


def test_an_existing_user_of_another_la_is_refused(portal):
    c = portal.client()
    _begin(c)
    r = c.get("/sign-in/oidc/callback", params={"state": "s1", "sub": "idp|7", "email": "b@la302.example.gov.uk",
                                                "la": "301"})
    assert r.status_code == 403


def test_not_configured_without_the_module(lsrp_home, monkeypatch):
    monkeypatch.setenv("LSRP_OIDC_ISSUER", "https://idp.example.gov.uk")
    monkeypatch.setattr(signin, "load_oidc", lambda: None)
    c = make_portal(lsrp_home).client()
    assert "not configured" in c.get("/sign-in/oidc").text
    assert "/sign-in/oidc" not in c.get("/sign-in").text


def test_load_oidc_is_none_when_unconfigured(monkeypatch):
    monkeypatch.delenv("LSRP_OIDC_ISSUER", raising=False)
    assert signin.load_oidc() is None


def test_an_unreachable_provider_is_a_plain_page(portal, monkeypatch):
    def down(self):
        raise OSError("connection refused")
    monkeypatch.setattr(FakeClient, "begin", down)
    r = portal.client().get("/sign-in/oidc")
    assert r.status_code == 503 and "could not be reached" in r.text and "Traceback" not in r.text
