"""The access-control matrix: every route in the app's own route table, for anonymous, LA A (301),
LA B (302), a DfE user and an admin, against LA A's objects.  A route added without a rule, or
without a row here, fails.  Then object-level refusals: LA A asking for LA B's things."""
from __future__ import annotations

import pytest

from portal.access import allowed_roles
from portal_support import PERIOD, USERS, csrf_of, make_portal, seed_event, seed_packs

ROLES = ("anonymous", "la_a", "la_b", "dfe", "admin")
# outcome per role, in ROLES order: ok (2xx, or a redirect that is not to sign-in), signin (sent to sign in),
# forbidden (403: the role may not use the route), hidden (404: no such object for this user)
LA_A_ONLY = ("signin", "ok", "hidden", "ok", "forbidden")
DATA = ("signin", "ok", "ok", "ok", "forbidden")
DFE_ONLY = ("signin", "forbidden", "forbidden", "ok", "forbidden")
EVERYONE = ("ok",) * 5
EXPECTED = {
    ("GET", "/"): ("signin", "ok", "ok", "ok", "ok"),
    ("GET", "/static/portal.css"): EVERYONE,
    ("GET", "/healthz"): EVERYONE,
    ("GET", "/favicon.ico"): ("204",) * 5,                        # empty, for browsers that ask
    ("GET", "/sign-in"): EVERYONE,
    ("POST", "/sign-in"): EVERYONE,
    ("GET", "/sign-in/oidc"): ("hidden",) * 5,                     # not configured here
    ("GET", "/sign-in/oidc/callback"): ("hidden",) * 5,
    ("POST", "/sign-out"): ("forbidden", "ok", "ok", "ok", "ok"),
    ("GET", "/set-password/{token}"): ("hidden",) * 5,             # an unknown token
    ("POST", "/set-password/{token}"): ("hidden",) * 5,
    ("GET", "/la/{la}"): LA_A_ONLY,
    ("GET", "/la/{la}/upload"): LA_A_ONLY,
    ("POST", "/la/{la}/upload"): ("forbidden", "bad", "hidden", "bad", "forbidden"),   # bad: no file sent
    ("GET", "/templates/{year}.xlsx"): DATA,
    ("GET", "/uploads/{event_id}"): LA_A_ONLY,
    ("GET", "/uploads/{event_id}/feedback.{kind}"): LA_A_ONLY,
    ("GET", "/uploads/{event_id}/original"): LA_A_ONLY,
    ("GET", "/packs/index.html"): DATA,
    ("GET", "/packs/assets/{name}"): DATA,
    ("GET", "/packs/dfe/{name}"): DFE_ONLY,
    ("GET", "/packs/{period}/{folder}/{name}"): LA_A_ONLY,
    ("GET", "/packs/{period}/{name}"): DATA,
    ("GET", "/packs/releases/{release}/assets/{name}"): DATA,
    ("GET", "/packs/releases/{release}/{period}/{folder}/{name}"): LA_A_ONLY,
    ("GET", "/packs/releases/{release}/{period}/{name}"): DATA,
    ("GET", "/packs/{rest:path}"): ("hidden",) * 5,
    ("GET", "/dfe"): DFE_ONLY,
    ("GET", "/dfe/quarantine"): DFE_ONLY,
    ("GET", "/dfe/audit"): ("signin", "forbidden", "forbidden", "ok", "ok"),
    ("GET", "/admin/users"): ("signin", "forbidden", "forbidden", "forbidden", "ok"),
    ("POST", "/admin/users"): ("forbidden", "forbidden", "forbidden", "forbidden", "bad"),   # bad: no email
    ("POST", "/admin/users/{user_id}/disable"): ("forbidden", "forbidden", "forbidden", "forbidden", "ok"),
    ("POST", "/admin/users/{user_id}/enable"): ("forbidden", "forbidden", "forbidden", "forbidden", "ok"),
}


@pytest.fixture
def world(lsrp_home):
    portal = make_portal(lsrp_home)
    seed_packs(lsrp_home)
    a = seed_event(lsrp_home, "301")
    b = seed_event(lsrp_home, "302")
    spare = portal.add("spare@la301.example.gov.uk", "la", "301")
    params = {"la": "301", "event_id": a.event_id, "kind": "html", "token": "not-a-token", "year": "2026-27",
              "period": PERIOD, "folder": "la", "release": "r1", "user_id": str(spare["id"]), "rest": "a/b/c/d/e/f"}
    return portal, a, b, params


def _table(app):
    return [(m, r.path, r) for r in app.routes for m in sorted(r.methods - {"HEAD"})]


def test_every_route_has_a_rule_and_a_row(lsrp_home):
    from portal.app import create_app

    app = create_app(f"sqlite:///{lsrp_home}/p.db")
    table = _table(app)
    assert all(allowed_roles(r.handler) for _, _, r in table), \
        [p for _, p, r in table if not allowed_roles(r.handler)]
    assert {(m, p) for m, p, _ in table} == set(EXPECTED)


def test_a_handler_without_a_rule_is_refused_to_everyone(lsrp_home, monkeypatch):
    from portal import routes
    from portal.app import create_app

    async def no_rule(ctx):
        return None
    monkeypatch.setattr(routes, "ROUTES", routes.ROUTES + [("/forgotten", no_rule, ("GET",))])
    portal = make_portal(lsrp_home)
    app = create_app(f"sqlite:///{lsrp_home}/portal/portal.db")
    from starlette.testclient import TestClient
    for email in USERS.values():
        c = TestClient(app, base_url="http://localhost", follow_redirects=False)
        if email:
            from portal_support import sign_in
            sign_in(c, email)
        assert c.get("/forgotten").status_code in (303, 403)
    assert portal


def _url(path: str, params: dict, name_for: dict) -> str:
    out = path.replace("{rest:path}", params["rest"])
    for key, value in {**params, **name_for}.items():
        out = out.replace("{" + key + "}", value)
    return out


def _outcome(r) -> str:
    if r.status_code in (301, 302, 303, 307):
        return "signin" if r.headers["location"].startswith("/sign-in") else "ok"
    return {200: "ok", 403: "forbidden", 404: "hidden", 400: "bad"}.get(r.status_code, str(r.status_code))


NAMES = {  # the {name} each route family gets: LA A's own objects
    "/packs/assets/{name}": "plotly.min.js", "/packs/dfe/{name}": "index.html",
    "/packs/{period}/{folder}/{name}": "301-pack.html", "/packs/{period}/{name}": "all-las.csv",
    "/packs/releases/{release}/assets/{name}": "plotly.min.js",
    "/packs/releases/{release}/{period}/{folder}/{name}": "301-pack.html",
    "/packs/releases/{release}/{period}/{name}": "all-las.csv",
}


def test_access_matrix(world):
    portal, a, b, params = world
    failures = []
    for role, email in USERS.items():
        c = portal.signed_in(email)
        token = csrf_of(c.get("/sign-in" if email is None else "/static/portal.css").text) if email is None else None
        if email is not None:  # a page with a form: the session's CSRF token
            page = c.get("/admin/users" if role == "admin" else ("/dfe" if role == "dfe" else f"/la/{USERS and ('301' if role == 'la_a' else '302')}"))
            token = csrf_of(page.text)
        for (method, path), expected in EXPECTED.items():
            if path == "/sign-out":
                continue  # last, below: it ends the session
            url = _url(path, params, {"name": NAMES.get(path, "")})
            if method == "GET":
                r = c.get(url)
            elif path == "/la/{la}/upload":
                r = c.post(url, files={"csrf": (None, token), "period": (None, PERIOD)})
            else:
                r = c.post(url, data={"csrf": token})
            got, want = _outcome(r), expected[ROLES.index(role)]
            if got != want:
                failures.append(f"{role} {method} {url}: {got} ({r.status_code}), expected {want}")
        r = c.post("/sign-out", data={"csrf": token})
        want = EXPECTED[("POST", "/sign-out")][ROLES.index(role)]
        if _outcome(r) != want:
            failures.append(f"{role} POST /sign-out: {_outcome(r)}, expected {want}")
    assert failures == [], "\n".join(failures)


def _refused_in_audit(portal, fragment: str) -> bool:
    return any(e["action"] == "access" and e["outcome"] == "refused" and fragment in (e["object"] or "")
               for e in portal.store.audit_entries())


def test_la_a_cannot_reach_la_b_objects(world):
    portal, a, b, _ = world
    c = portal.signed_in(USERS["la_a"])
    asks = {
        f"/uploads/{b.event_id}": f"event {b.event_id}",
        f"/uploads/{b.event_id}/feedback.html": f"event {b.event_id}",
        f"/uploads/{b.event_id}/feedback.json": f"event {b.event_id}",
        f"/uploads/{b.event_id}/original": f"event {b.event_id}",
        f"/packs/{PERIOD}/la/302-pack.html": "302-pack.html",
        f"/packs/{PERIOD}/la/302-pack.pdf": "302-pack.pdf",
        f"/packs/releases/r1/{PERIOD}/la/302-pack.html": "302-pack.html",
        f"/packs/releases/r1/{PERIOD}/la/302-pack-figures.csv": "302-pack-figures.csv",
        "/la/302": "LA 302",
        "/uploads/../302": "",
        f"/packs/{PERIOD}/la/..%2f..%2fportal%2fportal.db": "portal.db",
        f"/packs/%2e%2e/la/302-pack.html": "302-pack.html",
        f"/packs/{PERIOD}/%2e%2e%2fmanifest.json": "manifest.json",
        "/packs/releases/%2e%2e/2026-27-Q2/la/301-pack.html": "release ..",
        "/uploads/00000001%2f..%2f00000002": "",
    }
    for url, fragment in asks.items():
        r = c.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert "302" not in r.text.replace("Page not found", "") or url == "/uploads/../302", url
        if fragment:
            assert _refused_in_audit(portal, fragment), url


def test_la_pages_show_only_their_own(world):
    portal, a, b, _ = world
    c = portal.signed_in(USERS["la_a"])
    home = c.get("/la/301").text
    assert a.name in home and b.name not in home
    assert "301-pack.html" in home and "302-pack" not in home
    assert f"/packs/releases/r1/{PERIOD}/la/301-pack.html" in home          # the earlier version too
    pack = c.get(f"/packs/{PERIOD}/la/301-pack.html")
    assert pack.status_code == 200 and "v2" in pack.text
    assert c.get(f"/packs/releases/r1/{PERIOD}/la/301-pack.html").text.count("v1") == 1


def test_pack_csp_allows_only_its_own_inline_script(world):
    import base64
    import hashlib

    portal, *_ = world
    c = portal.signed_in(USERS["la_a"])
    r = c.get(f"/packs/{PERIOD}/la/301-pack.html")
    csp = r.headers["content-security-policy"]
    digest = base64.b64encode(hashlib.sha256(b"window.x = 2;").digest()).decode()
    assert f"'sha256-{digest}'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"


def test_downloads_are_audited(world):
    portal, a, b, _ = world
    c = portal.signed_in(USERS["dfe"])
    assert c.get(f"/uploads/{b.event_id}/original").content.startswith(b"not really")
    assert c.get(f"/uploads/{b.event_id}/feedback.json").json()["status"] == "rejected"
    c.get(f"/packs/{PERIOD}/la/302-pack-figures.csv")
    objects = [e["object"] for e in portal.store.audit_entries() if e["action"] == "download"]
    assert f"event {b.event_id} original" in objects and f"event {b.event_id} feedback.json" in objects
    assert f"pack {PERIOD}/la/302-pack-figures.csv" in objects


def test_dfe_pages_list_every_la(world):
    portal, a, b, _ = world
    c = portal.signed_in(USERS["dfe"])
    status = c.get(f"/dfe?period={PERIOD}").text
    assert "Barking and Dagenham" in status and f"/uploads/{a.event_id}" in status and f"/uploads/{b.event_id}" in status
    assert c.get("/dfe/audit").status_code == 200


def test_quarantine_page_lists_quarantined_uploads_and_run_failures(world, lsrp_home):
    from pipeline import ledger, release

    portal, *_ = world
    folder = lsrp_home / "inbox" / ".q"
    folder.mkdir()
    (folder / "no-code-here.xlsx").write_bytes(b"x")
    ev = ledger.receive(folder / "no-code-here.xlsx", PERIOD)
    release.record_run_failure({"run_id": "r1", "job_name": "publish_job", "period": PERIOD, "la_code": None,
                                "failed_at": "2026-11-09T06:00:00+00:00", "message": "dbt failed", "retry_number": 2,
                                "max_retries": 2})
    page = portal.signed_in(USERS["dfe"]).get("/dfe/quarantine").text
    assert f"/uploads/{ev.event_id}" in page and "no 3-digit LA code" in page
    assert "publish_job" in page and "dbt failed" in page and "look at the run" in page


def test_dfe_gets_no_page_for_a_code_that_is_not_an_la(world):
    portal, *_ = world
    c = portal.signed_in(USERS["dfe"])
    assert c.get("/la/999").status_code == 404 and c.get("/la/999/upload").status_code == 404
