"""Signing in and out: local accounts, the one-time set-password link, and the OpenID Connect hook.

OpenID Connect is another module (``portal/oidc.py``, written separately).  These routes use only its
agreed interface: ``OidcConfig.from_env()`` (None when unconfigured), ``OidcClient(config)``,
``client.begin() -> (url, pending)`` and ``client.finish(query, pending) -> identity`` (``.subject``,
``.email``, ``.la_code``) or ``OidcError``.  When ``LSRP_OIDC_ISSUER`` is not set, or the module is
absent, the routes say OIDC is not configured.
"""
from __future__ import annotations

import os

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse

from portal import auth
from portal.access import ADMIN, ANON, DFE, LA, SIGNED_IN, allow
from portal.store import now_text


def home_for(user: dict | None) -> str:
    if user is None:
        return "/sign-in"
    return {LA: f"/la/{user['la_code']}", DFE: "/dfe", ADMIN: "/admin/users"}[user["role"]]


def _safe_next(target: str | None, user: dict) -> str:
    """Only a path on this site (never //host or a scheme): no open redirect after sign-in."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return home_for(user)


@allow(ANON, *SIGNED_IN)
async def home(ctx):
    return RedirectResponse(home_for(ctx.user), status_code=303)


@allow(ANON, *SIGNED_IN)
async def sign_in_form(ctx):
    if ctx.user:
        return RedirectResponse(home_for(ctx.user), status_code=303)
    return ctx.render("sign_in.html", next=ctx.request.query_params.get("next", ""), oidc=oidc_available())


@allow(ANON, *SIGNED_IN)
async def sign_in(ctx):
    email = ctx.form.get("email", "").strip()
    # Argon2 takes tens of milliseconds by design: off the event loop
    user, why = await run_in_threadpool(auth.check_password, ctx.store, email, ctx.form.get("password", ""), ctx.address)
    if user is None:
        ctx.audit("sign-in", "failed", obj=email, reason=why, method="password")
        return ctx.render("sign_in.html", status=200, next=ctx.form.get("next", ""), oidc=oidc_available(),
                          email=email, error=auth.SIGN_IN_REFUSED)
    ctx.rotate(user)
    ctx.audit("sign-in", "ok", obj=user["email"], method="password")
    return RedirectResponse(_safe_next(ctx.form.get("next"), user), status_code=303)


@allow(*SIGNED_IN)
async def sign_out(ctx):
    ctx.audit("sign-out", "ok", obj=ctx.user["email"])
    ctx.sign_out()
    return ctx.render("message.html", title="You have signed out", message="You have signed out of the portal.")


@allow(ANON, *SIGNED_IN)
async def set_password_form(ctx):
    user = auth.token_user(ctx.store, ctx.request.path_params["token"])
    if user is None:
        return ctx.render("message.html", status=404, title="This link has expired",
                          message="This link has expired or has been used. Ask DfE for a new one.")
    return ctx.render("set_password.html", account=user["email"], min_length=auth.MIN_PASSWORD_LENGTH)


@allow(ANON, *SIGNED_IN)
async def set_password(ctx):
    token = ctx.request.path_params["token"]
    password, again = ctx.form.get("password", ""), ctx.form.get("confirm", "")
    try:
        if password != again:
            raise auth.UserError("Enter the same password twice")
        user = auth.set_password(ctx.store, token, password)
    except auth.UserError as exc:
        account = auth.token_user(ctx.store, token)
        if account is None:
            return ctx.render("message.html", status=404, title="This link has expired", message=str(exc))
        return ctx.render("set_password.html", account=account["email"], min_length=auth.MIN_PASSWORD_LENGTH,
                          error=str(exc))
    ctx.store.audit("password-set", "ok", user=user, address=ctx.address, obj=user["email"])
    return ctx.render("message.html", title="Your password is set",
                      message="Your password is set. You can now sign in.", link=("/sign-in", "Sign in"))


# ------------------------------------------------------------------ OpenID Connect hook
def load_oidc():
    """The OIDC module, or None when unconfigured (no LSRP_OIDC_ISSUER) or not installed.
    Tests replace this function with a fake."""
    if not os.environ.get("LSRP_OIDC_ISSUER"):
        return None
    try:
        from portal import oidc  # written separately; the portal works without it
    except ImportError:
        return None
    return oidc


_CLIENTS: dict = {}


def _client():
    """The OIDC client for the current configuration, one per process: it caches the provider's
    discovery document and keys, and remembers the states already used (replays)."""
    mod = load_oidc()
    config = mod.OidcConfig.from_env() if mod else None
    if not config:
        return None, None
    key = (id(mod), repr(config))
    if key not in _CLIENTS:
        _CLIENTS[key] = mod.OidcClient(config)
    return mod, _CLIENTS[key]


def oidc_available() -> bool:
    try:
        return _client()[1] is not None
    except Exception:
        return False


def _not_configured(ctx):
    return ctx.render("message.html", status=404, title="Single sign-on is not configured",
                      message="Sign in with your email address and password.", link=("/sign-in", "Sign in"))


def _unavailable(ctx, exc: Exception):
    """The identity provider could not be reached or answered oddly: said plainly, and audited."""
    ctx.audit("sign-in", "failed", reason=f"{type(exc).__name__}: {exc}", method="oidc")
    return ctx.render("message.html", status=503, title="Single sign-on is not available",
                      message="Your organisation's sign-in could not be reached. Try again later, or sign in "
                              "with your email address and password.", link=("/sign-in", "Sign in"))


@allow(ANON, *SIGNED_IN)
async def oidc_begin(ctx):
    try:  # the provider's discovery may be fetched here: off the event loop
        mod, client = await run_in_threadpool(_client)
        if client is None:
            return _not_configured(ctx)
        url, pending = await run_in_threadpool(client.begin)
    except Exception as exc:
        return _unavailable(ctx, exc)
    session = ctx.ensure_session()
    session["data"]["oidc"] = pending      # state, nonce and code verifier stay on the server
    auth.save_session_data(ctx.store, session)
    return RedirectResponse(url, status_code=303)


@allow(ANON, *SIGNED_IN)
async def oidc_callback(ctx):
    try:
        mod, client = await run_in_threadpool(_client)
    except Exception as exc:
        return _unavailable(ctx, exc)
    if client is None:
        return _not_configured(ctx)
    pending = (ctx.session or {}).get("data", {}).pop("oidc", None)
    if ctx.session:
        auth.save_session_data(ctx.store, ctx.session)   # a pending state is used once
    try:
        if not pending:
            raise mod.OidcError("no sign-in in progress in this session")
        # the token exchange is a request to the provider: off the event loop
        identity = await run_in_threadpool(client.finish, dict(ctx.request.query_params), pending)
        user = user_for_identity(ctx.store, identity)
    except (mod.OidcError, auth.UserError) as exc:
        ctx.audit("sign-in", "failed", reason=str(exc), method="oidc")
        return ctx.render("message.html", status=403, title="You could not be signed in",
                          message=refusal_text(exc), link=("/sign-in", "Try again"))
    except Exception as exc:  # the provider failed in a way the module did not name
        return _unavailable(ctx, exc)
    ctx.rotate(user)
    ctx.audit("sign-in", "ok", obj=user["email"], method="oidc", subject=identity.subject)
    return RedirectResponse(home_for(user), status_code=303)


def refusal_text(exc: Exception) -> str:
    if isinstance(exc, auth.UserError):
        return str(exc)
    return "Your organisation's sign-in did not complete. Try again, or ask DfE for an account."


def user_for_identity(store, identity) -> dict:
    """The LA user an OIDC identity maps to: found by subject (then email), or created, bound to the
    LA code the identity provider asserts.  No LA claim, or an unknown LA code: refused."""
    from contracts.reference import la_codes

    la = (identity.la_code or "").strip() or None
    if la is None:
        raise auth.UserError("Your account does not say which local authority you work for, so you cannot "
                             "sign in here. Ask your organisation's administrator.")
    if la not in set(la_codes()):
        raise auth.UserError(f"Your account names the local authority code '{la}', which is not the code of "
                             "an English local authority.")
    user = store.one("select * from users where oidc_subject = ?", (identity.subject,)) \
        or auth.user_by_email(store, identity.email or "")
    if user is None:
        email = auth.normalise_email(identity.email or "")
        uid = store.run("insert into users (email, role, la_code, oidc_subject, created_at) values (?, 'la', ?, ?, ?)",
                        (email, la, identity.subject, now_text()))
        user = auth.get_user(store, uid)
        store.audit("user-add", "ok", user={"email": "oidc", "role": "system"}, obj=email, la=la, via="oidc")
        return user
    if user["disabled"] or user["role"] != LA or user["la_code"] != la:
        raise auth.UserError("Your account cannot be used to sign in here. Ask DfE.")
    if user["oidc_subject"] is None:
        store.run("update users set oidc_subject = ? where id = ?", (identity.subject, user["id"]))
    return user
