"""An LA's pages (DfE sees every LA's): the collection calendar, uploads and their answers,
feedback, original files, outstanding queries and packs.

Each handler checks the object it serves against the signed-in user (``access.check_la``,
``records.event_for``, ``records.pack_file``...), then serves the path the product resolved.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, RedirectResponse

from pipeline import calendar

from portal import records, uploads
from portal.access import ANON, DATA_ROLES, DFE, SIGNED_IN, Denied, allow, check_la
from portal.store import portal_dir

log = logging.getLogger("portal")
STATIC = Path(__file__).parent / "static"
# Feedback HTML (contracts/feedback.py) is a static page with an inline stylesheet and no script.
FEEDBACK_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                "form-action 'none'; frame-ancestors 'none'")


def refresh_seconds() -> int:
    """How often an upload's page reloads itself while it follows the upload to its answer (env
    LSRP_PORTAL_REFRESH_SECONDS, default 3): a meta refresh, so it works without JavaScript."""
    return int(os.environ.get("LSRP_PORTAL_REFRESH_SECONDS", "3"))


# A timed reload is a WCAG 2.2.1 (timing adjustable) concern: the page reloads itself only when the
# person has just uploaded (the redirect after the upload asks for it) or asked for it, for at most
# MAX_FOLLOW reloads (about two minutes), and says so with a link that stops it.  Otherwise the page
# offers "Check again" and "Update this page automatically" links instead.
MAX_FOLLOW = 40


def _la(ctx) -> str:
    from contracts.reference import la_codes

    la = ctx.request.path_params["la"]
    check_la(ctx.user, la, f"LA {la}")
    if la not in set(la_codes()):  # DfE sees every LA, but only LAs that exist
        raise Denied(f"LA {la}", "not an LA code")
    return la


def _today() -> date:
    return date.today()


# ------------------------------------------------------------------ static
@allow(ANON, *SIGNED_IN)
async def stylesheet(ctx):
    return FileResponse(STATIC / "portal.css", media_type="text/css")


@allow(ANON, *SIGNED_IN)
async def favicon(ctx):
    """Browsers ask for /favicon.ico on their own; an empty answer, not a 404 in every page's console."""
    from starlette.responses import Response

    return Response(status_code=204)


@allow(ANON, *SIGNED_IN)
async def health(ctx):
    """For ``lsrp serve`` (or a load balancer) to tell the portal is up: it answers, and its store opens."""
    from starlette.responses import PlainTextResponse

    ctx.store.one("select 1 as ok")
    return PlainTextResponse("ok")


# ------------------------------------------------------------------ an LA's home
@allow(*DATA_ROLES)
async def la_home(ctx):
    from contracts.catalogue import years
    from contracts.reference import la_names

    la = _la(ctx)
    today = _today()
    return ctx.render(
        "la_home.html", la=la, la_name=la_names().get(la, la), today=today,
        open_window=calendar.open_collection(today), next_window=calendar.next_window(today),
        collections=calendar.collections(), years=years(), uploads=records.uploads_of_la(la),
        queries=records.outstanding_queries(la), packs=records.pack_versions(la))


@allow(*DATA_ROLES)
async def template_download(ctx):
    """That collection year's blank return, written by the same code as ``lsrp template``."""
    from contracts.catalogue import years
    from pipeline import template

    year = ctx.request.path_params["year"]
    if year not in years():
        return ctx.render("error.html", status=404, title="Page not found", message="There is no template for that year.")
    folder = portal_dir() / "templates" / year
    path = folder / template.default_file_name(year=year)
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{path.name}.tmp"
        template.write(tmp, year=year)
        tmp.replace(path)
    return FileResponse(path, filename=path.name,
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


# ------------------------------------------------------------------ uploading
def _periods() -> list:
    return calendar.collections()


def _default_period(today: date) -> str:
    win = calendar.open_collection(today) or calendar.next_window(today)
    return (win or calendar.collections()[-1]).period


@allow(*DATA_ROLES)
async def upload_form(ctx):
    from contracts.reference import la_names

    la = _la(ctx)
    return ctx.render("upload.html", la=la, la_name=la_names().get(la, la), periods=_periods(),
                      period=_default_period(_today()), max_mb=uploads.max_bytes() / 1024 / 1024)


def _upload_error(ctx, la: str, message: str, status: int = 400, period: str | None = None):
    from contracts.reference import la_names

    return ctx.render("upload.html", status=status, la=la, la_name=la_names().get(la, la), periods=_periods(),
                      period=period or _default_period(_today()), max_mb=uploads.max_bytes() / 1024 / 1024,
                      error=message)


@allow(*DATA_ROLES)
async def upload(ctx):
    """Stream, check, hand to the ledger, then show the upload's page (POST-redirect-GET)."""
    la = _la(ctx)
    try:
        received = await uploads.stream_form(ctx.request)
    except uploads.TooLarge:
        limit = uploads.max_bytes() / 1024 / 1024
        ctx.audit("upload", "refused", obj=f"LA {la}", reason=f"larger than {limit:g} MB (stopped reading)")
        return _upload_error(ctx, la, f"The selected file must be smaller than {limit:g} MB", status=413)
    except uploads.BadForm as exc:
        ctx.audit("upload", "refused", obj=f"LA {la}", reason=f"malformed form: {exc}")
        return _upload_error(ctx, la, "The upload did not arrive whole. Select the file and try again.")
    try:  # checking (a child process, up to LSRP_PARSE_SECONDS) and the ledger's fsyncs: off the event loop
        return await run_in_threadpool(_take, ctx, la, received)
    finally:
        received.discard()


def _take(ctx, la: str, received: uploads.Received):
    from contracts.reference import la_names

    from portal import auth

    if not auth.csrf_ok(ctx.session, received.fields.get("csrf")):
        ctx.audit("csrf", "refused", obj=ctx.request.url.path)
        return ctx.render("error.html", status=403, title="Your session has ended",
                          message="The page you came from had expired. Go back, reload it and try again.")
    period = received.fields.get("period", "")
    if period not in {c.period for c in _periods()}:
        return _upload_error(ctx, la, "Select the quarter this return is for")
    if received.path is None or not received.filename or received.size == 0:
        return _upload_error(ctx, la, "Select a file" if not received.filename else "The selected file is empty",
                             period=period)
    name = uploads.safe_name(received.filename)
    try:
        result = uploads.check(received.path, name, period)
    except Exception:  # the checker could not run: the upload is still kept, and the ingest answers it
        log.exception("could not check an upload at once")
        result = None
    refusal = uploads.refusal_for(name, result, la)
    sender = {"email": ctx.user["email"], "role": ctx.user["role"], "la_code": la,
              "on_behalf_of": la if ctx.user["role"] == DFE else None, "via": "portal"}
    ev = uploads.hand_off(received, name, period, sender, refusal)
    if result is not None:
        ctx.store.run("insert or replace into upload_checks (event_id, result, checked_at) values (?, ?, datetime('now'))",
                      (ev.event_id, uploads.result_json(result)))
    ctx.audit("upload", "refused" if refusal else "received", obj=f"event {ev.event_id}", la=la,
              la_name=la_names().get(la), file=name, period=period, check=getattr(result, "status", None),
              reason=refusal)
    return RedirectResponse(f"/uploads/{ev.event_id}?follow=1", status_code=303)


# ------------------------------------------------------------------ an upload's page and its files
def _check_of(ctx, event_id: str) -> dict | None:
    row = ctx.store.one("select result from upload_checks where event_id = ?", (event_id,))
    return json.loads(row["result"]) if row else None


@allow(*DATA_ROLES)
async def upload_page(ctx):
    ev = records.event_for(ctx.user, ctx.request.path_params["event_id"])
    status = records.status_of(ev.event_id)
    check = _check_of(ctx, ev.event_id)
    findings = (check or {}).get("findings", [])
    done = status in records.FINAL
    follow = _follow(ctx)
    following = not done and 0 < follow <= MAX_FOLLOW
    return ctx.render("upload_status.html", ev=ev, la=records.owner_la(ev), state=status, check=check,
                      errors=[f for f in findings if f["level"] == "error"],
                      queries=[f for f in findings if f["level"] == "query"],
                      sender=records.ledger.sender_of(ev.event_id), done=done, following=following,
                      refresh=f"{refresh_seconds()};url=/uploads/{ev.event_id}?follow={follow + 1}" if following else None,
                      every=refresh_seconds(),
                      feedback=done and records.feedback_file(ev, "html") is not None)


def _follow(ctx) -> int:
    raw = ctx.request.query_params.get("follow", "0")
    return int(raw) if raw.isdigit() and len(raw) < 4 else 0


@allow(*DATA_ROLES)
async def feedback_file(ctx):
    ev = records.event_for(ctx.user, ctx.request.path_params["event_id"])
    kind = ctx.request.path_params["kind"]
    path = records.feedback_file(ev, kind) if kind in ("html", "json") else None
    if path is None:
        return ctx.render("error.html", status=404, title="Page not found",
                          message="This upload has no feedback yet: it is still being checked.")
    ctx.audit("download", "ok", obj=f"event {ev.event_id} feedback.{kind}", la=records.owner_la(ev))
    if kind == "json":
        return FileResponse(path, media_type="application/json")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers={"content-security-policy": FEEDBACK_CSP})


@allow(*DATA_ROLES)
async def original_file(ctx):
    ev = records.event_for(ctx.user, ctx.request.path_params["event_id"])
    ctx.audit("download", "ok", obj=f"event {ev.event_id} original", la=records.owner_la(ev))
    return FileResponse(ev.archive_path, media_type="application/octet-stream",
                        headers={"content-disposition": f"attachment; filename*=UTF-8''{quote(ev.name)}"})


upload.streams_body = True   # the guard leaves the body to the handler, which streams it under the bound


def warm_checker() -> None:
    """Start the checking child's fork server (it imports the validator once) and the ledger's
    routing tables in the background, so the first upload is answered as fast as the rest."""
    import threading

    def warm():
        import tempfile
        from pathlib import Path

        try:
            from contracts.isolation import validate_isolated
            from pipeline.defs.partitions import la_codes  # noqa: F401  (the ledger's routing imports Dagster)
            with tempfile.TemporaryDirectory() as tmp:
                empty = Path(tmp) / "warm.xlsx"
                empty.write_bytes(b"")
                validate_isolated(empty, None, original_name="warm.xlsx")
        except Exception:  # only a warm-up: the first upload pays instead
            pass
    threading.Thread(target=warm, daemon=True, name="portal-warm").start()
