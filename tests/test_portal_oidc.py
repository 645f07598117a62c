"""``portal.oidc`` against a real OpenID provider process (tests/oidc_provider.py, uvicorn, one per module).

Each sign-in goes the whole way: ``begin`` -> the provider's /authorize (followed with httpx, which
answers with the redirect to our redirect URI) -> ``finish`` (token exchange, JWKS, userinfo)."""
from __future__ import annotations

import contextlib
import logging
import os
import select
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from portal.oidc import Identity, OidcClient, OidcConfig, OidcError

PROVIDER = Path(__file__).with_name("oidc_provider.py")
CLIENT_ID = "lsrp-portal"
CLIENT_SECRET = "s3cret&with:odd+chars"
REDIRECT_URI = "http://localhost:8000/auth/callback"


@pytest.fixture(scope="module")
def issuer(tmp_path_factory):
    with running_provider(tmp_path_factory.mktemp("oidc"), REDIRECT_URI) as base:
        yield base


@contextlib.contextmanager
def running_provider(folder, redirect_uri: str):
    """The test OpenID provider (tests/oidc_provider.py) in its own process; yields its issuer URL."""
    log_path = folder / "provider.log"
    env = {**os.environ, "OIDC_TEST_CLIENT_ID": CLIENT_ID, "OIDC_TEST_CLIENT_SECRET": CLIENT_SECRET,
           "OIDC_TEST_REDIRECT_URI": redirect_uri}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen([sys.executable, str(PROVIDER)], stdout=subprocess.PIPE, stderr=log_file,
                                env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        line = proc.stdout.readline().decode() if ready else ""
        if not line.startswith("PORT "):
            raise RuntimeError(f"the test provider did not start: {line!r} {log_path.read_text()}")
        base = f"http://127.0.0.1:{int(line.split()[1])}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"the test provider is not answering: {log_path.read_text()}")
            time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        proc.stdout.close()


def config(issuer: str, **changes) -> OidcConfig:
    return OidcConfig(**{"issuer": issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                         "redirect_uri": REDIRECT_URI, **changes})


@pytest.fixture(scope="module")
def client(issuer):
    with OidcClient(config(issuer)) as c:
        yield c


@pytest.fixture
def make_client(issuer):
    """A new OidcClient (its own caches and used states), closed after the test."""
    made = []

    def make(**changes) -> OidcClient:
        made.append(OidcClient(config(**{"issuer": issuer, **changes})))
        return made[-1]
    yield make
    for c in made:
        c.close()


def authorize(client: OidcClient, **test_params) -> tuple[dict, dict]:
    """begin, then follow the authorization URL (plus the provider's test-only parameters): the
    callback's query parameters and the pending sign-in."""
    url, pending = client.begin()
    if test_params:
        url += "&" + urlencode(test_params)
    response = httpx.get(url, follow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return dict(parse_qsl(urlsplit(location).query)), pending


def refused(client: OidcClient, params: dict, pending: dict) -> OidcError:
    with pytest.raises(OidcError) as info:
        client.finish(params, pending)
    return info.value


def last_token_request(issuer: str) -> dict:
    return httpx.get(f"{issuer}/_control").json()["last_token_request"]


# -- configuration ---------------------------------------------------------------------------------

def test_from_env():
    assert OidcConfig.from_env({}) is None
    assert OidcConfig.from_env({"LSRP_OIDC_ISSUER": ""}) is None
    with pytest.raises(ValueError, match="LSRP_OIDC_CLIENT_SECRET, LSRP_OIDC_REDIRECT_URI are not set"):
        OidcConfig.from_env({"LSRP_OIDC_ISSUER": "https://idp.example", "LSRP_OIDC_CLIENT_ID": "x"})
    env = {"LSRP_OIDC_ISSUER": "https://idp.example", "LSRP_OIDC_CLIENT_ID": "id",
           "LSRP_OIDC_CLIENT_SECRET": "secret", "LSRP_OIDC_REDIRECT_URI": "https://portal.example/auth/callback"}
    c = OidcConfig.from_env(env)
    assert (c.issuer, c.client_id, c.client_secret, c.redirect_uri) == (
        "https://idp.example", "id", "secret", "https://portal.example/auth/callback")
    assert c.la_claim == "organisation.establishmentNumber"
    assert c.scopes == "openid email profile organisation"
    assert "secret" not in repr(c)
    assert OidcConfig.from_env({**env, "LSRP_OIDC_LA_CLAIM": "la_code"}).la_claim == "la_code"


def test_plain_http_is_refused_off_loopback():
    with pytest.raises(ValueError, match="https"):
        OidcClient(config("http://idp.example"))
    with pytest.raises(ValueError, match="https"):
        OidcClient(config("https://idp.example", redirect_uri="http://portal.example/auth/callback"))


# -- sign-ins that succeed -------------------------------------------------------------------------

def test_happy_path(client, issuer):
    url, _ = client.begin()
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["code_challenge_method"] == "S256" and query["scope"] == "openid email profile organisation"
    params, pending = authorize(client)
    assert set(pending) == {"state", "nonce", "code_verifier", "created_at"}
    identity = client.finish(params, pending)
    assert identity == Identity(subject="user-la-202", email="officer@camden.example", la_code="202",
                                issuer=issuer)
    assert pending["used"] is True
    assert last_token_request(issuer) == {"ok": True, "auth_method": "client_secret_post"}


def test_client_secret_basic_when_it_is_the_only_method(issuer, make_client):
    httpx.post(f"{issuer}/_control", json={"auth_methods": ["client_secret_basic"]})
    try:
        basic = make_client()
        assert basic.finish(*authorize(basic)).la_code == "202"
        assert last_token_request(issuer) == {"ok": True, "auth_method": "client_secret_basic"}
    finally:
        httpx.post(f"{issuer}/_control", json={"auth_methods": ["client_secret_basic", "client_secret_post"]})


def test_la_claim_from_userinfo_when_not_in_the_id_token(client):
    identity = client.finish(*authorize(client, test_user="userinfo_la"))
    assert (identity.subject, identity.email, identity.la_code) == ("user-la-ui", "analyst@camden.example", "202")


@pytest.mark.parametrize("misbehave", ["es256", "multi_aud_azp"])
def test_also_accepted(client, misbehave):
    assert client.finish(*authorize(client, misbehave=misbehave)).la_code == "202"


def test_another_la_claim_path(make_client):
    legacy = make_client(la_claim="organisation.legacyId")
    assert legacy.finish(*authorize(legacy)).la_code == "1031237"


@pytest.mark.parametrize("user", ["no_la", "school"])
def test_no_la_code_is_none_not_an_error(client, user):
    """Documented: a user with no LA organisation signs in with la_code None (the portal refuses them);
    a school's organisation has an establishmentNumber too, which is not an LA code."""
    identity = client.finish(*authorize(client, test_user=user))
    assert identity.la_code is None and identity.email


# -- sign-ins that are refused ---------------------------------------------------------------------

def test_pkce_verifier_is_checked_by_the_provider(client, issuer, caplog):
    params, pending = authorize(client)
    pending["code_verifier"] = "x" * 64
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        assert refused(client, params, pending).reason == "token_refused"
    assert "PKCE" in last_token_request(issuer)["error_description"]
    assert "PKCE" in caplog.text


@pytest.mark.parametrize(("misbehave", "reason", "logged"), [
    ("wrong_issuer", "id_token_invalid", "Invalid claim: 'iss'"),
    ("wrong_audience", "id_token_invalid", "Invalid claim: 'aud'"),
    ("multi_aud_no_azp", "id_token_invalid", "azp None is not this client"),
    ("expired", "id_token_expired", "expired"),
    ("future_iat", "id_token_invalid", "issued in the future"),
    ("wrong_nonce", "nonce_mismatch", "nonce does not match"),
    ("no_nonce", "nonce_mismatch", "nonce does not match"),
    ("bad_signature", "id_token_invalid", "BadSignatureError"),
    ("unknown_kid", "id_token_invalid", "No key for kid: 'rsa-other'"),
    ("alg_none", "id_token_invalid", "'none' is not allowed"),
    ("hs256_public_key", "id_token_invalid", "'HS256' is not allowed"),
])
def test_bad_id_token_is_refused(client, misbehave, reason, logged, caplog):
    with caplog.at_level(logging.WARNING, logger="portal.oidc"):
        error = refused(client, *authorize(client, misbehave=misbehave))
    assert error.reason == reason
    assert logged in caplog.text
    assert str(error) == "Sign-in failed. Please try again."


def test_unknown_kid_fetches_the_jwks_again_then_refuses(make_client):
    fresh = make_client()
    assert fresh.finish(*authorize(fresh)).la_code == "202"
    fetched = fresh._jwks_at
    assert refused(fresh, *authorize(fresh, misbehave="unknown_kid")).reason == "id_token_invalid"
    assert fresh._jwks_at == fetched            # fetched again at most once a minute
    fresh._jwks_at -= 120
    assert refused(fresh, *authorize(fresh, misbehave="unknown_kid")).reason == "id_token_invalid"
    assert fresh._jwks_at > fetched             # a rotated key would have been found


def test_userinfo_for_another_subject_is_refused(client):
    params, pending = authorize(client, test_user="userinfo_la", misbehave="userinfo_wrong_sub")
    assert refused(client, params, pending).reason == "userinfo_subject_mismatch"


def test_replayed_pending_is_refused(client):
    params, pending = authorize(client)
    copy = dict(pending)
    client.finish(params, pending)
    assert refused(client, params, pending).reason == "replay"
    # a copy without the "used" mark (say, a session restored from before) is caught by the state set
    assert refused(client, params, copy).reason == "replay"


def test_provider_codes_are_one_time(client, issuer, make_client):
    params, pending = authorize(client)
    copy = dict(pending)
    client.finish(params, pending)
    other_process = make_client()   # knows nothing of the states used here
    assert refused(other_process, params, copy).reason == "token_refused"
    assert last_token_request(issuer)["error"] == "invalid_grant"


def test_tampered_or_missing_state_is_refused(client):
    params, pending = authorize(client)
    state = params["state"]
    tampered = state[:-1] + ("y" if state.endswith("x") else "x")   # always another state (1 in 64 ended in x)
    assert refused(client, {**params, "state": tampered}, pending).reason == "state_mismatch"
    assert refused(client, {"code": params["code"]}, pending).reason == "state_missing"
    other_params, other_pending = authorize(client)
    assert refused(client, other_params, pending).reason == "state_mismatch"   # another sign-in's callback
    assert "used" not in pending   # a mismatched callback does not use the pending sign-in up


def test_error_and_missing_code_are_refused(client):
    params, pending = authorize(client, deny="1")
    assert params["error"] == "access_denied"
    error = refused(client, params, pending)
    assert error.reason == "provider_error" and "cancelled or refused" in str(error)
    params, pending = authorize(client)
    assert refused(client, {"state": params["state"]}, pending).reason == "code_missing"


def test_pending_older_than_ten_minutes_is_refused(client):
    params, pending = authorize(client)
    pending["created_at"] -= 601
    error = refused(client, params, pending)
    assert error.reason == "pending_expired" and "expired" in str(error)


def test_discovery_naming_another_issuer_is_refused(issuer, make_client):
    wrong = make_client(issuer=f"{issuer}/mismatch")
    error = refused(wrong, {"state": "s", "code": "c"}, {"state": "s", "nonce": "n", "code_verifier": "v" * 43,
                                                         "created_at": time.time()})
    assert error.reason == "discovery_issuer_mismatch"
    with pytest.raises(OidcError, match="not available"):
        wrong.begin()
