"""The portal's web application: routes, the access guard, security headers, error pages.

Every request goes through ``guarded``: it finds the session (cookie -> server-side row), the user
and their role; refuses a role the handler does not allow (anonymous GETs are sent to sign in);
checks the CSRF token of every POST; runs the handler; and turns any failure into a plain page
(never a traceback).  ``SecurityHeaders`` adds the Content-Security-Policy and friends to every
response that has not set its own (packs set a narrower one of their own: ``pages.serve_pack``).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from portal import auth
from portal.access import ANON, Denied, allowed_roles, role_of
from portal.store import Store

log = logging.getLogger("portal")
HERE = Path(__file__).parent
COOKIE = "lsrp_session"
FORM_BYTES = 64 * 1024     # a POST other than an upload is a small form
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
           "referrer-policy": "same-origin", "x-frame-options": "DENY",
           "cross-origin-opener-policy": "same-origin", "permissions-policy": "camera=(), microphone=(), geolocation=()"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass
class Ctx:
    """What a handler needs: the store, the user, the session, the client's address, the form."""
    store: Store
    templates: Environment
    request: Request
    session: dict | None
    user: dict | None
    address: str
    form: dict = field(default_factory=dict)
    new_cookie: str | None = None        # set when the session was created or rotated
    clear_cookie: bool = False

    @property
    def role(self) -> str:
        return role_of(self.user)

    def audit(self, action: str, outcome: str, obj: str | None = None, **detail) -> None:
        self.store.audit(action, outcome, user=self.user, address=self.address, obj=obj, **detail)

    def ensure_session(self) -> dict:
        """An anonymous session to carry a CSRF token (the sign-in form) or OIDC's pending state."""
        if self.session is None:
            self.new_cookie, self.session = auth.new_session(self.store, None)
        return self.session

    def rotate(self, user: dict, data: dict | None = None) -> None:
        """Sign-in: a brand-new session id for the user; the old session (and its id) is gone."""
        auth.end_session(self.store, self.session)
        self.new_cookie, self.session = auth.new_session(self.store, user["id"], data)
        self.user = user

    def sign_out(self) -> None:
        auth.end_session(self.store, self.session)
        self.session, self.user, self.clear_cookie = None, None, True

    def render(self, name: str, status: int = 200, **context) -> HTMLResponse:
        csrf = self.ensure_session()["csrf"] if self.session or name in CSRF_PAGES else None
        html = self.templates.get_template(name).render(
            user=self.user, role=self.role, csrf=csrf, path=self.request.url.path, **context)
        return HTMLResponse(html, status_code=status)


CSRF_PAGES = {"sign_in.html", "set_password.html"}   # forms shown before sign-in


def templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    from portal import records
    env.globals.update(status_words=records.STATUS_WORDS)
    return env


def secure_cookies(request: Request) -> bool:
    """Secure outside localhost (env LSRP_PORTAL_SECURE_COOKIES=1/0 overrides): behind a TLS
    reverse proxy the host is the public name, so the cookie is only ever sent over HTTPS."""
    forced = os.environ.get("LSRP_PORTAL_SECURE_COOKIES", "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOCAL_HOSTS


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def error_page(ctx: Ctx | None, status: int, title: str, message: str) -> Response:
    if ctx is None:
        return HTMLResponse(f"<!DOCTYPE html><html lang=en><title>{title}</title><h1>{title}</h1><p>{message}</p>",
                            status_code=status)
    return ctx.render("error.html", status=status, title=title, message=message)


async def _read_form(request: Request) -> dict:
    """A small urlencoded form, read within FORM_BYTES (the upload form is streamed by its handler)."""
    from urllib.parse import parse_qsl

    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_BYTES:
            raise ValueError("form too large")
    return dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))


async def guarded(request: Request, handler, store: Store, env: Environment) -> Response:
    session = auth.load_session(store, request.cookies.get(COOKIE))
    user = auth.get_user(store, session["user_id"]) if session and session["user_id"] else None
    if user and user["disabled"]:
        user = None
    ctx = Ctx(store, env, request, session, user, client_address(request))
    try:
        response = await _dispatch(ctx, handler)
    except Denied as exc:
        ctx.audit("access", "refused", obj=exc.what, reason=exc.reason, path=request.url.path)
        response = error_page(ctx, 404, "Page not found", "There is no such page, or you cannot see it.")
    except Exception:  # logged for the operator; the person sees a plain page, never a traceback
        log.exception("error in %s %s", request.method, request.url.path)
        response = error_page(ctx, 500, "Sorry, there is a problem with the service",
                              "Try again later. If you were uploading a return, check its page before sending it again.")
    return _with_cookie(ctx, response, request)


async def _dispatch(ctx: Ctx, handler) -> Response:
    request = ctx.request
    if ctx.role not in allowed_roles(handler):
        if ctx.role == ANON and request.method == "GET":
            return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)
        ctx.audit("access", "refused", obj=request.url.path, reason=f"role {ctx.role} not allowed")
        return error_page(ctx, 403, "You cannot use this page", "Your account does not give access to this page.")
    if request.method == "POST" and not getattr(handler, "streams_body", False):
        try:
            ctx.form = await _read_form(request)
        except ValueError:
            return error_page(ctx, 413, "The form is too large", "Go back and try again.")
        if not auth.csrf_ok(ctx.session, ctx.form.get("csrf")):
            ctx.audit("csrf", "refused", obj=request.url.path)
            return error_page(ctx, 403, "Your session has ended",
                              "The page you came from had expired. Go back, reload it and try again.")
    return await handler(ctx)


def _with_cookie(ctx: Ctx, response: Response, request: Request) -> Response:
    if ctx.new_cookie:
        response.set_cookie(COOKIE, ctx.new_cookie, httponly=True, samesite="lax", secure=secure_cookies(request),
                            path="/", max_age=auth.MAX_SESSION_HOURS * 3600)
    elif ctx.clear_cookie:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=secure_cookies(request))
    return response


class SecurityHeaders:
    """ASGI middleware: the security headers on every response (a handler's own CSP wins)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                have = {k.decode("latin-1").lower() for k, _ in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS.items() if k not in have]
                if scope.get("scheme") == "https":  # behind the TLS proxy (--proxy): browsers keep to HTTPS
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)
        await self.app(scope, receive, send_with_headers)


def create_app(db_url: str | None = None) -> Starlette:
    """The portal.  ``db_url``: its database (default env LSRP_PORTAL_DB, else
    sqlite:///$LSRP_HOME/portal/portal.db)."""
    from portal import routes

    from portal.uploads import sweep

    store, env = Store(db_url), templates()
    sweep()

    def route(path: str, handler, methods=("GET",)) -> Route:
        async def endpoint(request: Request) -> Response:
            return await guarded(request, handler, store, env)
        r = Route(path, endpoint, methods=list(methods), name=handler.__name__)
        r.handler = handler            # the access test reads each route's rule from here
        return r

    app = Starlette(routes=[route(p, h, m) for p, h, m in routes.ROUTES])
    app.state.store = store
    app.add_middleware(SecurityHeaders)
    return app
