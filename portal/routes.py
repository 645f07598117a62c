"""The route table: (path, handler, methods).  Each handler carries its own access rule (``@allow``);
``tests/test_portal_access.py`` walks this table, so a route added without a rule fails there."""
from __future__ import annotations

from portal import dfe, packs, pages, signin

PACK = "/packs/{period}/{folder}/{name}"   # folder: la, or la-v<n> (an earlier version)
RELEASE = "/packs/releases/{release}"

ROUTES = [
    ("/", signin.home, ("GET",)),
    ("/static/portal.css", pages.stylesheet, ("GET",)),
    ("/healthz", pages.health, ("GET",)),
    ("/favicon.ico", pages.favicon, ("GET",)),
    ("/sign-in", signin.sign_in_form, ("GET",)),
    ("/sign-in", signin.sign_in, ("POST",)),
    ("/sign-in/oidc", signin.oidc_begin, ("GET",)),
    ("/sign-in/oidc/callback", signin.oidc_callback, ("GET",)),
    ("/sign-out", signin.sign_out, ("POST",)),
    ("/set-password/{token}", signin.set_password_form, ("GET",)),
    ("/set-password/{token}", signin.set_password, ("POST",)),
    ("/la/{la}", pages.la_home, ("GET",)),
    ("/la/{la}/upload", pages.upload_form, ("GET",)),
    ("/la/{la}/upload", pages.upload, ("POST",)),
    ("/templates/{year}.xlsx", pages.template_download, ("GET",)),
    ("/uploads/{event_id}", pages.upload_page, ("GET",)),
    ("/uploads/{event_id}/feedback.{kind}", pages.feedback_file, ("GET",)),
    ("/uploads/{event_id}/original", pages.original_file, ("GET",)),
    ("/packs/index.html", packs.packs_index, ("GET",)),
    ("/packs/assets/{name}", packs.pack_asset, ("GET",)),
    ("/packs/dfe/{name}", dfe.dfe_view, ("GET",)),
    (PACK, packs.pack, ("GET",)),
    ("/packs/{period}/{name}", packs.pack_shared, ("GET",)),
    (RELEASE + "/assets/{name}", packs.pack_asset, ("GET",)),
    (RELEASE + PACK[len("/packs"):], packs.pack, ("GET",)),
    (RELEASE + "/{period}/{name}", packs.pack_shared, ("GET",)),
    ("/packs/{rest:path}", packs.pack_not_found, ("GET",)),
    ("/dfe", dfe.dfe_status, ("GET",)),
    ("/dfe/quarantine", dfe.quarantine, ("GET",)),
    ("/dfe/audit", dfe.audit_trail, ("GET",)),
    ("/admin/users", dfe.users_page, ("GET",)),
    ("/admin/users", dfe.add_user, ("POST",)),
    ("/admin/users/{user_id}/disable", dfe.disable_user, ("POST",)),
    ("/admin/users/{user_id}/enable", dfe.enable_user, ("POST",)),
]
