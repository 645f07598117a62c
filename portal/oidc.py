"""OpenID Connect sign-in for the portal (DfE Sign-in or any OpenID provider).

The portal's routes use it in two steps::

    client = OidcClient(OidcConfig.from_env())        # once, at start-up (None: OIDC is off)
    url, pending = client.begin()                      # /sign-in: keep `pending` server-side, redirect to url
    identity = client.finish(dict(request.query_params), pending)   # /sign-in/oidc/callback

``finish`` returns an :class:`Identity`, or raises :class:`OidcError` whose ``str()`` is safe to show
to the user (the technical detail goes to this module's logger, and a short ``reason`` code is on the
exception for logs and tests).

A user whose claims carry no local-authority code signs in with ``Identity.la_code is None``: the
portal must refuse them (or treat them as DfE staff by some other rule). ``finish`` does not raise for
it, so the portal can tell "this person has no LA" from "the sign-in failed".

What is checked: the authorization code flow with PKCE (S256), a random ``state`` (compared in constant
time) and ``nonce``; a pending sign-in expires after 10 minutes and is good once (it is marked used in
the dict itself and its state is remembered in-process); the ID token's signature against the
provider's JWKS (RS256 or ES256 only: ``alg: none`` and HS* are refused, so a token "signed" with the
public key as an HMAC secret is refused), ``iss``, ``aud`` (and ``azp`` when there are several
audiences, or whenever it is present), ``exp``/``iat``/``nbf`` with a 60-second leeway, and ``nonce``;
the userinfo response's ``sub`` when userinfo is used.

JWT and JWK handling is joserfc's (Authlib 1.9's own ``authlib.jose`` is deprecated in its favour);
random values and the PKCE challenge are Authlib's; HTTP is httpx.
"""
from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

__all__ = ["OidcConfig", "OidcError", "Identity", "OidcClient", "PENDING_MAX_AGE"]

log = logging.getLogger(__name__)

#: Seconds a pending sign-in (from ``begin``) stays good for ``finish``.
PENDING_MAX_AGE = 600
#: Seconds the discovery document and the JWKS are cached.
METADATA_TTL = 3600
#: An ID token whose ``kid`` is not in the cached JWKS makes the client fetch the JWKS again
#: (the provider rotated its keys), at most once every this many seconds.
JWKS_MIN_REFRESH = 60
#: Clock-skew leeway (seconds) for ``exp``, ``iat`` and ``nbf``.
LEEWAY = 60
#: Signature algorithms accepted for ID tokens.
ALGORITHMS = ("RS256", "ES256")
#: DfE Sign-in's organisation category id for a local authority.
DFE_LA_CATEGORY = "002"

DEFAULT_LA_CLAIM = "organisation.establishmentNumber"
DEFAULT_SCOPES = "openid email profile organisation"

_GENERIC = "Sign-in failed. Please try again."
_UNAVAILABLE = "The sign-in service is not available at the moment. Please try again later."
_EXPIRED = "Your sign-in attempt has expired or was already used. Please sign in again."


class OidcError(Exception):
    """A refused or failed sign-in. ``str(error)`` is safe to show the user; ``reason`` is a short
    code for logs and tests (e.g. ``"state_mismatch"``, ``"id_token_invalid"``)."""

    def __init__(self, message: str = _GENERIC, *, reason: str = "error") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class OidcConfig:
    """The relying party's settings. ``la_claim`` is a claim name or a dotted path into the claims
    (``organisation.establishmentNumber``, the default, is where DfE Sign-in puts a local
    authority's three-digit LA code)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    la_claim: str = DEFAULT_LA_CLAIM
    redirect_uri: str
    scopes: str = DEFAULT_SCOPES

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OidcConfig | None:
        """None when ``LSRP_OIDC_ISSUER`` is unset or empty (OIDC sign-in is off); otherwise the
        config from ``LSRP_OIDC_*``. Raises ``ValueError`` naming every missing required variable."""
        env = os.environ if environ is None else environ
        issuer = env.get("LSRP_OIDC_ISSUER", "").strip()
        if not issuer:
            return None
        required = ("LSRP_OIDC_CLIENT_ID", "LSRP_OIDC_CLIENT_SECRET", "LSRP_OIDC_REDIRECT_URI")
        missing = [name for name in required if not env.get(name, "").strip()]
        if missing:
            raise ValueError(
                f"LSRP_OIDC_ISSUER is set, so OpenID Connect sign-in is on, but {', '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set: set "
                f"{'it' if len(missing) == 1 else 'them'}, or unset LSRP_OIDC_ISSUER.")
        return cls(
            issuer=issuer,
            client_id=env["LSRP_OIDC_CLIENT_ID"].strip(),
            client_secret=env["LSRP_OIDC_CLIENT_SECRET"].strip(),
            la_claim=env.get("LSRP_OIDC_LA_CLAIM", "").strip() or DEFAULT_LA_CLAIM,
            redirect_uri=env["LSRP_OIDC_REDIRECT_URI"].strip(),
            scopes=env.get("LSRP_OIDC_SCOPES", "").strip() or DEFAULT_SCOPES,
        )


@dataclass(frozen=True)
class Identity:
    """Who signed in. ``la_code`` is None when the claims carry no (local-authority) LA code."""

    subject: str
    email: str | None
    la_code: str | None
    issuer: str


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: Any, what: str) -> str:
    """Provider URLs must be https, except on the loopback interface (tests, local development)."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"{what} is missing")
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and _is_loopback(url)):
        return url
    raise ValueError(f"{what} must be an https URL, not {url!r}")


def claim_at(claims: Mapping[str, Any], path: str) -> Any:
    """The value at a claim name or dotted path, or None. A plain name that itself contains dots
    (``"https://example.org/la"``) is found too. A step that is a JSON object held as a string (some
    libraries pass DfE Sign-in's ``organisation`` claim so) is parsed."""
    if path in claims:
        return claims[path]
    node: Any = claims
    for step in path.split("."):
        if isinstance(node, str) and node.lstrip().startswith("{"):
            try:
                node = json.loads(node)
            except ValueError:
                return None
        if not isinstance(node, Mapping) or step not in node:
            return None
        node = node[step]
    return node


def la_code_from(claims: Mapping[str, Any], path: str) -> str | None:
    """The LA code at ``path``, as a non-empty string, or None.

    DfE Sign-in rule: when the object holding the claim has a ``category`` with an ``id`` (a DfE
    Sign-in organisation), it must be ``"002"`` (Local Authority); a school's organisation also has an
    ``establishmentNumber``, which is not an LA code."""
    value = claim_at(claims, path)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    if "." in path and path not in claims:
        parent = claim_at(claims, path.rsplit(".", 1)[0])
        if isinstance(parent, str):
            try:
                parent = json.loads(parent)
            except ValueError:
                parent = None
        category = parent.get("category") if isinstance(parent, Mapping) else None
        if isinstance(category, Mapping) and "id" in category and str(category["id"]) != DFE_LA_CATEGORY:
            log.info("OIDC: organisation category %r is not a local authority: no LA code",
                     category.get("id"))
            return None
    return value.strip()


class OidcClient:
    """The relying party. Safe to share between threads; create one at start-up."""

    def __init__(self, config: OidcConfig, http: httpx.Client | None = None) -> None:
        _check_url(config.issuer, "The OIDC issuer")
        _check_url(config.redirect_uri, "The OIDC redirect URI")
        self.config = config
        self._own_http = http is None
        self._http = http if http is not None else httpx.Client(timeout=10.0, follow_redirects=False)
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._jwks: KeySet | None = None
        self._jwks_at = 0.0
        self._used_states: dict[str, float] = {}
        self._registry = JWSRegistry(algorithms=list(ALGORITHMS))

    def close(self) -> None:
        """Close the HTTP client, when the OidcClient made it."""
        if self._own_http:
            self._http.close()

    def __enter__(self) -> OidcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- provider metadata ------------------------------------------------------------------------

    def _get_json(self, url: str, what: str) -> Any:
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            log.warning("OIDC: fetching the %s from %s failed: %s", what, url, e)
            raise OidcError(_UNAVAILABLE, reason="provider_unreachable") from e
        if response.status_code != 200:
            log.warning("OIDC: the %s at %s answered HTTP %s", what, url, response.status_code)
            raise OidcError(_UNAVAILABLE, reason="provider_unreachable")
        try:
            return response.json()
        except ValueError as e:
            log.warning("OIDC: the %s at %s is not JSON", what, url)
            raise OidcError(_UNAVAILABLE, reason="provider_bad_metadata") from e

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (cached for ``METADATA_TTL``), checked: its ``issuer``
        is the configured one, and its endpoints are https (or loopback)."""
        with self._lock:
            if self._metadata is not None and time.monotonic() - self._metadata_at < METADATA_TTL:
                return self._metadata
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        doc = self._get_json(url, "discovery document")
        if not isinstance(doc, dict):
            raise OidcError(_UNAVAILABLE, reason="provider_bad_metadata")
        if doc.get("issuer") != self.config.issuer:
            log.error("OIDC: the discovery document at %s names the issuer %r, but LSRP_OIDC_ISSUER is "
                      "%r: they must be identical", url, doc.get("issuer"), self.config.issuer)
            raise OidcError(_UNAVAILABLE, reason="discovery_issuer_mismatch")
        try:
            for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                _check_url(doc.get(name), f"The provider's {name}")
            if doc.get("userinfo_endpoint") is not None:
                _check_url(doc["userinfo_endpoint"], "The provider's userinfo_endpoint")
        except ValueError as e:
            log.error("OIDC: the discovery document at %s is unusable: %s", url, e)
            raise OidcError(_UNAVAILABLE, reason="provider_bad_metadata") from e
        with self._lock:
            self._metadata, self._metadata_at = doc, time.monotonic()
        return doc

    def _keys(self, force: bool = False) -> KeySet:
        with self._lock:
            age = time.monotonic() - self._jwks_at
            if self._jwks is not None and age < METADATA_TTL and not (force and age >= JWKS_MIN_REFRESH):
                return self._jwks
        doc = self._get_json(self.metadata()["jwks_uri"], "JWKS")
        try:
            keys = KeySet.import_key_set(doc)
        except (JoseError, ValueError, KeyError, TypeError) as e:
            log.error("OIDC: the provider's JWKS cannot be read: %s", e)
            raise OidcError(_UNAVAILABLE, reason="provider_bad_metadata") from e
        with self._lock:
            self._jwks, self._jwks_at = keys, time.monotonic()
        return keys

    # -- the flow ---------------------------------------------------------------------------------

    def begin(self) -> tuple[str, dict[str, Any]]:
        """The URL to send the browser to, and the pending sign-in to keep server-side (JSON-safe:
        ``state``, ``nonce``, ``code_verifier``, ``created_at`` in Unix seconds)."""
        endpoint = self.metadata()["authorization_endpoint"]
        pending = {
            "state": generate_token(43),
            "nonce": generate_token(43),
            "code_verifier": generate_token(64),   # letters and digits: valid PKCE (43..128)
            "created_at": time.time(),
        }
        params = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": self.config.scopes,
            "state": pending["state"],
            "nonce": pending["nonce"],
            "code_challenge": create_s256_code_challenge(pending["code_verifier"]),
            "code_challenge_method": "S256",
        }
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(params), pending

    def _claim_pending(self, query_state: str, pending: Mapping[str, Any]) -> None:
        """Refuse an expired, used or mismatched pending sign-in, then mark it used."""
        state = pending.get("state")
        created = pending.get("created_at")
        if not isinstance(state, str) or not state or not isinstance(created, (int, float)) \
                or not isinstance(pending.get("nonce"), str) or not isinstance(pending.get("code_verifier"), str):
            raise OidcError(_EXPIRED, reason="pending_invalid")
        if not hmac.compare_digest(query_state.encode(), state.encode()):
            raise OidcError(_GENERIC, reason="state_mismatch")
        now = time.time()
        if not (now - PENDING_MAX_AGE <= created <= now + LEEWAY):
            raise OidcError(_EXPIRED, reason="pending_expired")
        with self._lock:
            for s, t in list(self._used_states.items()):
                if t < now - PENDING_MAX_AGE - LEEWAY:
                    del self._used_states[s]
            if pending.get("used") or state in self._used_states:
                raise OidcError(_EXPIRED, reason="replay")
            self._used_states[state] = now
        if isinstance(pending, dict):
            pending["used"] = True

    def finish(self, query_params: Mapping[str, Any], pending: dict[str, Any]) -> Identity:
        """Complete the sign-in from the callback's query parameters and the pending sign-in from
        ``begin``. The pending sign-in is used up (``pending["used"]``) whatever the outcome, once
        its state matched. Raises OidcError; a missing LA claim is ``la_code=None``, not an error."""
        if not isinstance(pending, Mapping):
            raise OidcError(_EXPIRED, reason="pending_invalid")
        query_state = query_params.get("state")
        if not isinstance(query_state, str) or not query_state:
            raise OidcError(_GENERIC, reason="state_missing")
        self._claim_pending(query_state, pending)

        if query_params.get("error"):
            log.info("OIDC: the provider returned error=%r (%r)", query_params.get("error"),
                     query_params.get("error_description"))
            raise OidcError("Sign-in was cancelled or refused by the sign-in service.",
                            reason="provider_error")
        code = query_params.get("code")
        if not isinstance(code, str) or not code:
            raise OidcError(_GENERIC, reason="code_missing")

        tokens = self._exchange(code, pending["code_verifier"])
        claims = self._verify_id_token(tokens["id_token"], pending["nonce"])
        subject = claims["sub"]

        la_code = la_code_from(claims, self.config.la_claim)
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        if la_code is None or email is None:
            info = self._userinfo(tokens.get("access_token"), subject)
            if info is not None:
                if la_code is None:
                    la_code = la_code_from(info, self.config.la_claim)
                if email is None and isinstance(info.get("email"), str):
                    email = info["email"]
        if la_code is None:
            log.info("OIDC: %s signed in with no LA code at %r", subject, self.config.la_claim)
        return Identity(subject=subject, email=email, la_code=la_code, issuer=claims["iss"])

    def _exchange(self, code: str, code_verifier: str) -> dict[str, Any]:
        meta = self.metadata()
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "code_verifier": code_verifier,
        }
        # client_secret_post when the provider offers it: a secret goes as is, whereas Basic would
        # need the form-encoding of RFC 6749 2.3.1, which not every provider undoes. Otherwise
        # client_secret_basic (the default when the provider lists no methods).
        methods = meta.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        auth: httpx.BasicAuth | None = None
        if "client_secret_post" in methods:
            data["client_id"] = self.config.client_id
            data["client_secret"] = self.config.client_secret
        elif "client_secret_basic" in methods:
            auth = httpx.BasicAuth(urlencode({"": self.config.client_id})[1:],
                                   urlencode({"": self.config.client_secret})[1:])
        else:
            log.error("OIDC: the provider supports neither client_secret_post nor client_secret_basic "
                      "(%r)", methods)
            raise OidcError(_UNAVAILABLE, reason="provider_bad_metadata")
        try:
            response = self._http.post(meta["token_endpoint"], data=data, auth=auth,
                                       headers={"Accept": "application/json"})
        except httpx.HTTPError as e:
            log.warning("OIDC: the token endpoint failed: %s", e)
            raise OidcError(_UNAVAILABLE, reason="provider_unreachable") from e
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            detail = body if isinstance(body, dict) else response.text[:200]
            log.warning("OIDC: the token endpoint refused the code: HTTP %s %r",
                        response.status_code, detail)
            raise OidcError(_GENERIC, reason="token_refused")
        if not isinstance(body.get("id_token"), str):
            log.warning("OIDC: the token response has no id_token")
            raise OidcError(_GENERIC, reason="token_refused")
        return body

    def _verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        config = self.config
        try:
            try:
                token = jwt.decode(id_token, self._keys(), registry=self._registry)
            except JoseError as e:
                if getattr(e, "error", "") != "invalid_key_id":
                    raise
                token = jwt.decode(id_token, self._keys(force=True), registry=self._registry)
            claims = token.claims
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY,
                iss={"essential": True, "value": config.issuer},
                aud={"essential": True, "value": config.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
            ).validate(claims)
        except ExpiredTokenError as e:
            log.warning("OIDC: the ID token has expired: %s", e)
            raise OidcError(_GENERIC, reason="id_token_expired") from e
        except (JoseError, ValueError) as e:
            log.warning("OIDC: the ID token is refused: %s: %s", type(e).__name__, e)
            raise OidcError(_GENERIC, reason="id_token_invalid") from e
        aud = claims["aud"]
        azp = claims.get("azp")
        if (isinstance(aud, list) and len(aud) > 1) or azp is not None:
            if azp != config.client_id:
                log.warning("OIDC: the ID token's azp %r is not this client (aud %r)", azp, aud)
                raise OidcError(_GENERIC, reason="id_token_invalid")
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(token_nonce.encode(), nonce.encode()):
            log.warning("OIDC: the ID token's nonce does not match the sign-in's")
            raise OidcError(_GENERIC, reason="nonce_mismatch")
        return claims

    def _userinfo(self, access_token: Any, subject: str) -> dict[str, Any] | None:
        endpoint = self.metadata().get("userinfo_endpoint")
        if not endpoint or not isinstance(access_token, str) or not access_token:
            return None
        try:
            response = self._http.get(endpoint, headers={"Authorization": f"Bearer {access_token}",
                                                         "Accept": "application/json"})
        except httpx.HTTPError as e:
            log.warning("OIDC: the userinfo endpoint failed: %s", e)
            raise OidcError(_UNAVAILABLE, reason="provider_unreachable") from e
        if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
            # a signed (JWT) userinfo response is not supported: the claims must come as JSON
            log.warning("OIDC: the userinfo endpoint answered HTTP %s (%s)", response.status_code,
                        response.headers.get("content-type"))
            raise OidcError(_GENERIC, reason="userinfo_failed")
        try:
            info = response.json()
        except ValueError as e:
            raise OidcError(_GENERIC, reason="userinfo_failed") from e
        if not isinstance(info, dict) or info.get("sub") != subject:
            log.warning("OIDC: the userinfo response's sub is not the ID token's")
            raise OidcError(_GENERIC, reason="userinfo_subject_mismatch")
        return info
