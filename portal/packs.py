"""Packs through the portal: each pack file looked up in its period's manifest and checked against
the user's LA (``records.pack_file``), then served with a Content-Security-Policy that lets the pack's
own charts run and nothing else."""
from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from starlette.responses import FileResponse, RedirectResponse, Response

from portal import records
from portal.access import ANON, DATA_ROLES, SIGNED_IN, Denied, allow


def pack_csp(html: str) -> str:
    """The CSP a pack is served with.  Packs ship their chart script inline (reports/common.py, so a
    pack opens offline as one file) and plotly styles its charts with inline styles, so a pack gets
    a policy of its own: scripts only from this site plus the exact inline scripts the pack holds
    (by hash: nothing injected would run), styles inline, nothing else from anywhere."""
    hashes = [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
              for attrs, body in re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
              if "src=" not in attrs and "application/json" not in attrs]
    script = " ".join(["'self'"] + [f"'sha256-{h}'" for h in hashes])
    return (f"default-src 'self'; script-src {script}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def serve_pack_path(path: Path) -> Response:
    if path.suffix == ".html":
        html = path.read_text(encoding="utf-8")
        return Response(html, media_type="text/html; charset=utf-8", headers={"content-security-policy": pack_csp(html)})
    media = {".pdf": "application/pdf", ".csv": "text/csv; charset=utf-8", ".js": "text/javascript",
             ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}.get(path.suffix,
                                                                                                "application/octet-stream")
    disposition = {} if path.suffix in (".pdf", ".js") else {"content-disposition": f"attachment; filename=\"{path.name}\""}
    return FileResponse(path, media_type=media, headers=disposition)


def _params(ctx) -> tuple[str | None, str, str]:
    p = ctx.request.path_params
    return p.get("release"), p.get("period", ""), p.get("name", "")


@allow(*DATA_ROLES)
async def pack(ctx):
    release, period, name = _params(ctx)
    folder = ctx.request.path_params["folder"]     # la/, or la-v<n>/ for an earlier version
    path = records.pack_file(ctx.user, release, period, folder, name)
    ctx.audit("download", "ok", obj=f"pack {period}/{folder}/{name}" + (f" (release {release})" if release else ""))
    return serve_pack_path(path)


@allow(*DATA_ROLES)
async def pack_shared(ctx):
    release, period, name = _params(ctx)
    path = records.shared_file(ctx.user, release, period, name)
    ctx.audit("download", "ok", obj=f"pack file {period}/{name}")
    return serve_pack_path(path)


@allow(*DATA_ROLES)
async def pack_asset(ctx):
    release, _, name = _params(ctx)
    return serve_pack_path(records.asset_file(release, name))


@allow(*DATA_ROLES)
async def packs_index(ctx):
    """A pack's "all reports" link: the user's own home (the LAs' index lists every LA)."""
    from portal.signin import home_for

    return RedirectResponse(home_for(ctx.user), status_code=303)


@allow(ANON, *SIGNED_IN)
async def pack_not_found(ctx):
    """Anything else under /packs/ (a path with '..' or an encoded '/', say): refused and audited
    like any object the user may not see."""
    raise Denied(f"packs/{ctx.request.path_params.get('rest', '')}", "no such pack file")
