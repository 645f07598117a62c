"""DfE's pages (every LA's collection status, quarantine and run failures, the audit trail, the
published overview and support views) and the admin's user management."""
from __future__ import annotations

from datetime import date

from starlette.responses import RedirectResponse

from pipeline import calendar

from portal import auth, records
from portal.access import ADMIN, DFE, allow
from portal.packs import serve_pack_path


def _period(ctx) -> str:
    wanted = ctx.request.query_params.get("period")
    known = [c.period for c in calendar.collections()]
    if wanted in known:
        return wanted
    today = date.today()
    win = calendar.open_collection(today)
    return win.period if win else calendar.latest_period(today)


@allow(DFE)
async def dfe_status(ctx):
    """Every LA's return for a period: the upload that stands (the warehouse's rule, pipeline.live_status:
    a later rejected or held upload never undoes an accepted one) and the newest upload beside it."""
    from pipeline import live_status

    period = _period(ctx)
    las = sorted(live_status.quarter(period), key=lambda r: r["la_name"])
    counts: dict[str, int] = {}
    for la in las:
        counts[la["status"]] = counts.get(la["status"], 0) + 1
    return ctx.render("dfe_status.html", period=period, periods=calendar.collections(), las=las, counts=counts,
                      packs_periods=records.periods(), dfe_views=records.dfe_views())


@allow(DFE)
async def quarantine(ctx):
    from pipeline import release

    failures = list(reversed(release.read_run_failures()))[:200]
    return ctx.render("quarantine.html", rows=records.quarantined(), failures=failures)


@allow(DFE, ADMIN)
async def audit_trail(ctx):
    return ctx.render("audit.html", entries=ctx.store.audit_entries())


@allow(DFE)
async def dfe_view(ctx):
    """A published DfE view (packs/dfe/: the overviews' index and the support views)."""
    name = ctx.request.path_params["name"]
    path = records.dfe_file(name)
    ctx.audit("download", "ok", obj=f"dfe/{name}")
    return serve_pack_path(path)


# ------------------------------------------------------------------ admin
@allow(ADMIN)
async def users_page(ctx):
    return ctx.render("users.html", users=auth.users(ctx.store), roles=auth.ROLES)


def set_password_link(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/set-password/{token}"


@allow(ADMIN)
async def add_user(ctx):
    f = ctx.form
    role = f.get("role", "la")
    try:
        user, token = auth.add_user(ctx.store, f.get("email", ""), role, f.get("la_code", "").strip() or None)
    except auth.UserError as exc:
        return ctx.render("users.html", status=400, users=auth.users(ctx.store), roles=auth.ROLES, error=str(exc),
                          form=f)
    ctx.audit("user-add", "ok", obj=user["email"], new_role=user["role"], la=user["la_code"])
    return ctx.render("users.html", users=auth.users(ctx.store), roles=auth.ROLES, added=user,
                      link=set_password_link(str(ctx.request.base_url), token))


def _user_change(disabled: bool):
    async def change(ctx):
        try:
            uid = int(ctx.request.path_params["user_id"])
        except ValueError:
            uid = -1
        user = auth.get_user(ctx.store, uid)
        if user is None:
            return ctx.render("error.html", status=404, title="Page not found", message="There is no such user.")
        if user["id"] == ctx.user["id"] and disabled:
            return ctx.render("users.html", status=400, users=auth.users(ctx.store), roles=auth.ROLES,
                              error="You cannot disable your own account")
        auth.set_disabled(ctx.store, user["id"], disabled)
        ctx.audit("user-disable" if disabled else "user-enable", "ok", obj=user["email"])
        return RedirectResponse("/admin/users", status_code=303)
    change.__name__ = "disable_user" if disabled else "enable_user"
    return allow(ADMIN)(change)


disable_user = _user_change(True)
enable_user = _user_change(False)
