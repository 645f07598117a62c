"""Shared helpers for the portal tests: an app on a fresh LSRP_HOME, users of every role, signed-in clients."""
from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.testclient import TestClient

from portal import auth
from portal.app import create_app

PASSWORD = "correct horse battery staple"
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
