"""A small OpenID provider for the tests of ``portal.oidc``: a real HTTP server, run in a subprocess.

    python tests/oidc_provider.py      # prints "PORT <n>" on its first line, then serves 127.0.0.1:<n>

Environment: OIDC_TEST_CLIENT_ID, OIDC_TEST_CLIENT_SECRET, OIDC_TEST_REDIRECT_URI (the one registered
client). The issuer is ``http://127.0.0.1:<n>``.

Endpoints: the discovery document (also at ``/mismatch/.well-known/openid-configuration``, where it
still names the real issuer), ``/jwks`` (an RSA and an EC key, generated at start), ``/authorize``
(approves at once: redirects to the redirect URI with a code and the state, remembering the nonce and
the PKCE challenge), ``/token`` (client_secret_basic or _post, one-time code, redirect URI, PKCE S256
verifier), ``/userinfo``, and ``/_control`` (GET: what the last token request did; POST JSON
``{"auth_methods": [...]}``: the methods the discovery document advertises).

Test-only parameters of ``/authorize``:

* ``test_user``: ``la`` (default; a DfE Sign-in local-authority organisation in the ID token and
  userinfo), ``userinfo_la`` (the organisation in userinfo only), ``no_la`` (no organisation),
  ``school`` (a school's organisation: category 001);
* ``misbehave``: how to get the ID token wrong: ``wrong_issuer``, ``wrong_audience``,
  ``multi_aud_no_azp``, ``multi_aud_azp`` (correct), ``expired``, ``future_iat``, ``wrong_nonce``,
  ``no_nonce``, ``bad_signature`` (another key, under the published kid), ``unknown_kid`` (another key,
  under its own kid), ``alg_none``, ``hs256_public_key`` (HS256 with the public key's PEM as the HMAC
  secret), ``es256`` (correct, with the EC key), ``userinfo_wrong_sub``;
* ``deny=1``: redirect back with ``error=access_denied``.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import time
from urllib.parse import unquote_plus, urlencode

import uvicorn
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route

CLIENT_ID = os.environ.get("OIDC_TEST_CLIENT_ID", "lsrp-portal")
CLIENT_SECRET = os.environ.get("OIDC_TEST_CLIENT_SECRET", "s3cret")
REDIRECT_URI = os.environ.get("OIDC_TEST_REDIRECT_URI", "http://localhost:8000/auth/callback")
ISSUER = ""   # set in main() once the port is known

RSA = RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"})
EC = ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"})
OTHER = RSAKey.generate_key(2048, parameters={"kid": "rsa-other", "use": "sig", "alg": "RS256"})

LA_ORGANISATION = {
    "id": "3b5a2c1e-0000-4000-8000-000000000202",
    "name": "Camden",
    "category": {"id": "002", "name": "Local Authority"},
    "type": None, "urn": None, "uid": None, "ukprn": None,
    "establishmentNumber": "202",
    "status": {"id": 1, "name": "Open"},
    "legacyId": "1031237",
}
SCHOOL_ORGANISATION = {
    "id": "9c1d7a55-0000-4000-8000-000000112670",
    "name": "Abercrombie Primary School",
    "category": {"id": "001", "name": "Establishment"},
    "type": {"id": "01", "name": "Community School"},
    "urn": "112670", "uid": None, "ukprn": "10077263",
    "establishmentNumber": "2296",
    "status": {"id": 1, "name": "Open"},
    "legacyId": "18226",
}
USERS = {
    "la": {"sub": "user-la-202", "email": "officer@camden.example", "organisation": LA_ORGANISATION},
    "userinfo_la": {"sub": "user-la-ui", "email": "analyst@camden.example", "organisation": LA_ORGANISATION,
                    "_userinfo_only": ["organisation", "email"]},
    "no_la": {"sub": "user-none", "email": "nobody@example.org"},
    "school": {"sub": "user-school", "email": "head@school.example", "organisation": SCHOOL_ORGANISATION},
}

CODES: dict[str, dict] = {}
ACCESS_TOKENS: dict[str, dict] = {}
CONTROL = {"auth_methods": ["client_secret_basic", "client_secret_post"], "last_token_request": None}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def discovery(request: Request) -> JSONResponse:
    return JSONResponse({
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/authorize",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/userinfo",
        "jwks_uri": f"{ISSUER}/jwks",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": ["openid", "email", "profile", "organisation"],
        "token_endpoint_auth_methods_supported": CONTROL["auth_methods"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code"],
    })


def jwks(request: Request) -> JSONResponse:
    return JSONResponse(KeySet([RSA, EC]).as_dict(private=False))


async def control(request: Request) -> JSONResponse:
    if request.method == "POST":
        CONTROL.update(await request.json())
    return JSONResponse(CONTROL)


def authorize(request: Request):
    q = request.query_params
    if q.get("client_id") != CLIENT_ID or q.get("redirect_uri") != REDIRECT_URI:
        return PlainTextResponse("unknown client or redirect_uri", status_code=400)
    state = q.get("state", "")
    if q.get("deny"):
        return RedirectResponse(f"{REDIRECT_URI}?{urlencode({'error': 'access_denied', 'state': state})}", 302)
    if (q.get("response_type") != "code" or "openid" not in q.get("scope", "").split()
            or q.get("code_challenge_method") != "S256" or not q.get("code_challenge") or not q.get("nonce")):
        return RedirectResponse(f"{REDIRECT_URI}?{urlencode({'error': 'invalid_request', 'state': state})}", 302)
    code = secrets.token_urlsafe(24)
    CODES[code] = {
        "redirect_uri": q["redirect_uri"], "nonce": q["nonce"], "challenge": q["code_challenge"],
        "user": q.get("test_user", "la"), "misbehave": q.get("misbehave", ""), "at": time.time(),
    }
    return RedirectResponse(f"{REDIRECT_URI}?{urlencode({'code': code, 'state': state})}", 302)


def token_error(error: str, description: str, status: int = 400) -> JSONResponse:
    CONTROL["last_token_request"] = {"error": error, "error_description": description}
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def id_token_for(user: dict, grant: dict) -> str:
    now = int(time.time())
    bad = grant["misbehave"]
    claims = {"iss": ISSUER, "sub": user["sub"], "aud": CLIENT_ID, "iat": now, "exp": now + 300,
              "nonce": grant["nonce"], "auth_time": now}
    hidden = user.get("_userinfo_only", [])
    claims.update({k: v for k, v in user.items() if not k.startswith("_") and k not in hidden and k != "sub"})
    if bad == "wrong_issuer":
        claims["iss"] = "https://evil.example"
    elif bad == "wrong_audience":
        claims["aud"] = "another-client"
    elif bad == "multi_aud_no_azp":
        claims["aud"] = [CLIENT_ID, "another-client"]
    elif bad == "multi_aud_azp":
        claims["aud"] = [CLIENT_ID, "another-client"]
        claims["azp"] = CLIENT_ID
    elif bad == "expired":
        claims["iat"], claims["exp"] = now - 3600, now - 600
    elif bad == "future_iat":
        claims["iat"] = now + 3600
        claims["exp"] = now + 7200
    elif bad == "wrong_nonce":
        claims["nonce"] = "not-the-nonce"
    elif bad == "no_nonce":
        del claims["nonce"]

    if bad == "alg_none":
        header = {"alg": "none", "typ": "JWT", "kid": "rsa-1"}
        return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."
    if bad == "hs256_public_key":
        # the classic key-confusion forgery: HMAC "signed" with the verifier's public key
        header = {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        secret = RSA.as_pem(private=False)
        return f"{signing_input}.{b64url(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    if bad == "es256":
        return jwt.encode({"alg": "ES256", "kid": "ec-1"}, claims, EC)
    if bad == "bad_signature":
        return jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims, OTHER)
    if bad == "unknown_kid":
        return jwt.encode({"alg": "RS256", "kid": "rsa-other"}, claims, OTHER)
    return jwt.encode({"alg": "RS256", "kid": "rsa-1"}, claims, RSA)


async def token(request: Request) -> JSONResponse:
    form = await request.form()
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        method = "client_secret_basic"
        try:
            client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)   # RFC 6749 2.3.1
        except ValueError:
            return token_error("invalid_client", "bad Basic header", 401)
    elif "client_secret" in form:
        method = "client_secret_post"
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    else:
        return token_error("invalid_client", "no client authentication", 401)
    if method not in CONTROL["auth_methods"]:
        return token_error("invalid_client", f"{method} is not allowed", 401)
    if client_id != CLIENT_ID or not hmac.compare_digest(secret.encode(), CLIENT_SECRET.encode()):
        return token_error("invalid_client", "wrong client id or secret", 401)
    if form.get("grant_type") != "authorization_code":
        return token_error("unsupported_grant_type", "only authorization_code")
    grant = CODES.pop(form.get("code", ""), None)      # one-time: gone whatever happens next
    if grant is None or time.time() - grant["at"] > 60:
        return token_error("invalid_grant", "unknown, used or expired code")
    if form.get("redirect_uri") != grant["redirect_uri"]:
        return token_error("invalid_grant", "redirect_uri differs from the authorization request's")
    verifier = form.get("code_verifier", "")
    if not hmac.compare_digest(create_s256_code_challenge(verifier).encode(), grant["challenge"].encode()):
        return token_error("invalid_grant", "PKCE code_verifier does not match the code_challenge")
    user = USERS[grant["user"]]
    access_token = secrets.token_urlsafe(24)
    ACCESS_TOKENS[access_token] = {"user": user, "misbehave": grant["misbehave"]}
    CONTROL["last_token_request"] = {"ok": True, "auth_method": method}
    return JSONResponse({"access_token": access_token, "token_type": "Bearer", "expires_in": 300,
                         "id_token": id_token_for(user, grant)},
                        headers={"Cache-Control": "no-store"})


def userinfo(request: Request) -> JSONResponse:
    header = request.headers.get("authorization", "")
    entry = ACCESS_TOKENS.get(header[7:]) if header.startswith("Bearer ") else None
    if entry is None:
        return JSONResponse({"error": "invalid_token"}, status_code=401)
    info = {k: v for k, v in entry["user"].items() if not k.startswith("_")}
    if entry["misbehave"] == "userinfo_wrong_sub":
        info["sub"] = "someone-else"
    return JSONResponse(info)


app = Starlette(routes=[
    Route("/.well-known/openid-configuration", discovery),
    Route("/mismatch/.well-known/openid-configuration", discovery),
    Route("/jwks", jwks),
    Route("/authorize", authorize),
    Route("/token", token, methods=["POST"]),
    Route("/userinfo", userinfo, methods=["GET", "POST"]),
    Route("/_control", control, methods=["GET", "POST"]),
])


def main() -> None:
    global ISSUER
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    ISSUER = f"http://127.0.0.1:{port}"
    print(f"PORT {port}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[sock])


if __name__ == "__main__":
    sys.exit(main())
