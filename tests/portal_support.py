"""Shared helpers for the portal tests: an app on a fresh LSRP_HOME, users of every role, signed-in clients."""
from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from portal import auth
from portal.app import create_app

PASSWORD = "correct horse battery staple"
# Argon2 at production cost is ~0.2 s a hash here; the tests check the flow, not the cost, so they
# hash cheaply (the stored hash still names its own parameters: verification works either way).
auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Portal:
    app: object
    store: object

    def client(self) -> TestClient:
        # localhost: cookies are not Secure there, so the test client (plain http) sends them back
        return TestClient(self.app, base_url="http://localhost", follow_redirects=False)

    def add(self, email: str, role: str, la: str | None = None) -> dict:
        user, token = auth.add_user(self.store, email, role, la)
        auth.set_password(self.store, token, PASSWORD)
        return user

    def signed_in(self, email: str | None, password: str = PASSWORD) -> TestClient:
        c = self.client()
        if email is not None:
            r = sign_in(c, email, password)
            assert r.status_code == 303, r.text
        return c


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def sign_in(c: TestClient, email: str, password: str = PASSWORD):
    token = csrf_of(c.get("/sign-in").text)
    return c.post("/sign-in", data={"email": email, "password": password, "csrf": token})


def make_portal(home) -> Portal:
    app = create_app(f"sqlite:///{home}/portal/portal.db")
    p = Portal(app, app.state.store)
    p.add("a@la301.example.gov.uk", "la", "301")
    p.add("b@la302.example.gov.uk", "la", "302")
    p.add("analyst@education.gov.uk", "dfe")
    p.add("admin@education.gov.uk", "admin")
    return p


USERS = {"anonymous": None, "la_a": "a@la301.example.gov.uk", "la_b": "b@la302.example.gov.uk",
         "dfe": "analyst@education.gov.uk", "admin": "admin@education.gov.uk"}


PERIOD = "2026-27-Q2"
PACK_HTML = "<!DOCTYPE html><html lang='en'><head><title>Pack {code}</title></head><body><h1>Pack {code} v{v}</h1>" \
            "<script src=\"../../assets/plotly.min.js\"></script><script>window.x = {v};</script></body></html>"


def seed_event(home, la: str, status: str = "rejected", sender: dict | None = None):
    """A ledger event for LA ``la`` with its done record and feedback files, as a run leaves them."""
    import json

    from pipeline import ledger

    folder = home / "inbox" / f".seed-{la}-{len(ledger.events())}"
    folder.mkdir(parents=True)
    path = folder / f"lsrp-quarterly-return-September-2026-{la}-seeded.xlsx"
    path.write_bytes(f"not really a workbook for {la}".encode())
    ev = ledger.receive(path, PERIOD, sender=sender)
    fb = home / "feedback" / PERIOD / la
    fb.mkdir(parents=True, exist_ok=True)
    html, js = fb / f"seed-{ev.event_id}.html", fb / f"seed-{ev.event_id}.json"
    html.write_text(f"<html><body>feedback for {la}</body></html>")
    js.write_text(json.dumps({"file": ev.name, "status": status, "findings": []}))
    ledger.mark_done(ev, status, [str(html), str(js)])
    return ev


def seed_packs(home) -> None:
    """Two releases as pipeline/release.py leaves them: packs -> the newer; the older kept beside it."""
    import json
    import os

    releases = home / ".packs-releases"
    for release, version in (("r1", 1), ("r2", 2)):
        root = releases / release
        (root / PERIOD / "la").mkdir(parents=True)
        (root / "assets").mkdir()
        (root / "assets" / "plotly.min.js").write_text("/* plotly */")
        (root / "dfe").mkdir()
        (root / "dfe" / "index.html").write_text("<html><body>DfE index</body></html>")
        (root / PERIOD / "overview.html").write_text("<html><body>Overview</body></html>")
        (root / PERIOD / "all-las.csv").write_text("la_code,value\n301,1\n")
        packs = {}
        for code in ("301", "302"):
            stem = f"{code}-pack"
            for kind, name in (("html", f"{stem}.html"), ("csv", f"{stem}-figures.csv"),
                               ("xlsx", f"{stem}-figures.xlsx"), ("pdf", f"{stem}.pdf")):
                text = PACK_HTML.format(code=code, v=version) if kind == "html" else f"{code} v{version}"
                (root / PERIOD / "la" / name).write_text(text)
            packs[code] = {"version": version, "issued": "2026-11-09", "la_name": code,
                           "files": {"html": f"la/{stem}.html", "csv": f"la/{stem}-figures.csv",
                                     "xlsx": f"la/{stem}-figures.xlsx", "pdf": f"la/{stem}.pdf"}}
        (root / PERIOD / "manifest.json").write_text(json.dumps({"period": PERIOD, "packs": packs}))
    os.symlink(os.path.relpath(releases / "r2", home), home / "packs")
