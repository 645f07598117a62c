"""The portal's single sign-on against a real OpenID provider process (tests/oidc_provider.py), end to
end: the portal's /sign-in/oidc sends the browser to the provider, the provider's redirect comes back to
the callback, the ID token is checked against the provider's JWKS, and the user is signed in to their
LA's pages; refused sign-ins (no LA claim, a wrong audience, a replayed callback) are refused and audited."""
from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from portal import signin
from portal.app import COOKIE
from portal_support import make_portal
from test_portal_oidc import CLIENT_ID, CLIENT_SECRET, running_provider

CALLBACK = "http://localhost/sign-in/oidc/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc-portal"), CALLBACK) as base:
        yield base


@pytest.fixture
def portal(lsrp_home, monkeypatch, provider):
    for k, v in {"LSRP_OIDC_ISSUER": provider, "LSRP_OIDC_CLIENT_ID": CLIENT_ID,
                 "LSRP_OIDC_CLIENT_SECRET": CLIENT_SECRET, "LSRP_OIDC_REDIRECT_URI": CALLBACK}.items():
        monkeypatch.setenv(k, v)
    signin._CLIENTS.clear()
    return make_portal(lsrp_home)


def _to_provider_and_back(c, **test_params) -> str:
    """The portal's redirect to the provider, followed as a browser would; returns the callback path."""
    r = c.get("/sign-in/oidc")
    assert r.status_code == 303, r.text
    url = r.headers["location"] + "".join(f"&{k}={v}" for k, v in test_params.items())
    back = httpx.get(url, follow_redirects=False, timeout=5)
    assert back.status_code == 302 and back.headers["location"].startswith(CALLBACK)
    parts = urlsplit(back.headers["location"])
    return f"{parts.path}?{parts.query}"


def _audit(portal) -> list[dict]:
    return [dict(r) for r in portal.store.all("select * from audit order by seq")]


def test_sign_in_through_the_provider_lands_on_the_la_pages(portal):
    c = portal.client()
    before = c.get("/sign-in") and c.cookies.get(COOKIE)
    callback = _to_provider_and_back(c)
    r = c.get(callback)
    assert r.status_code == 303 and r.headers["location"] == "/la/202", r.text   # the provider's user is Camden's
    assert c.cookies.get(COOKIE) != before                                         # a new session at sign-in
    assert c.get("/la/202").status_code == 200 and c.get("/la/301").status_code in (403, 404)
    # the same callback again (a replay) is refused and audited
    again = portal.client().get(callback)
    assert again.status_code in (403, 404)
    assert any(a["action"] == "sign-in" and a["outcome"] == "ok" for a in _audit(portal))


@pytest.mark.parametrize("params", [{"test_user": "no_la"}, {"misbehave": "wrong_audience"},
                                    {"misbehave": "expired"}, {"misbehave": "wrong_issuer"}])
def test_refused_sign_ins_are_refused_and_audited(portal, params):
    c = portal.client()
    r = c.get(_to_provider_and_back(c, **params))
    assert r.status_code == 403 and "could not be signed in" in r.text
    assert c.get("/la/202", follow_redirects=False).status_code in (303, 401, 403)
    assert [a for a in _audit(portal) if a["action"] == "sign-in" and a["outcome"] == "failed"]
