"""The portal in Debian chromium under the real service: ``lsrp serve`` (the Dagster daemon and the portal,
``benchmarks.portal_load.Service``) on a fresh home with short settle times, one start for the whole walk.

An LA user (LA 301) signs in; uploads a return with an error and sees the error with its cell; uploads
the corrected file and the page, reloading itself, reaches "Accepted" once the daemon's ingest run has
answered it; after ``lsrp publish`` through the service's queue, opens this quarter's pack and fetches its
CSV and XLSX; edits the URL to LA 302's pack and is refused, the refusal in the audit trail.  axe-core
finds no serious or critical violation on any page.  A couple of minutes: one service start, one
publication.
"""
from __future__ import annotations

import json
import shutil
import time

import pytest

from benchmarks.portal_load import PASSWORD, PERIOD, Service, add_users, la_email
from conftest import make_return_file
from contracts.validate import validate_file

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def _axe(page) -> None:
    """No serious or critical violation.  Called only on pages that do not reload themselves (axe's
    meta-refresh rule and a reload mid-run would both make it fail for the wrong reason)."""
    from axe_playwright_python.sync_playwright import Axe

    assert page.locator('meta[http-equiv="refresh"]').count() == 0, page.url
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, f"{page.url}\n{results.generate_report()}"


def _main_text(page) -> str:
    """The page's main text; empty while the page is reloading itself."""
    from playwright.sync_api import Error

    try:
        return page.inner_text("main", timeout=2000)
    except Error:
        return ""


def _wait_text(page, text: str, timeout: float, svc: Service) -> None:
    """The upload's page follows the event by reloading itself (meta refresh): wait, never reload it here."""
    end = time.time() + timeout
    while time.time() < end:
        if text in _main_text(page):
            return
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not on {page.url} after {timeout:.0f} s:\n{_main_text(page)}\n{svc.tail()}")


def _upload(page, base: str, path) -> None:
    page.goto(f"{base}/la/301/upload")
    _axe(page)
    page.select_option("#period", PERIOD)
    page.set_input_files("#file", str(path))
    page.click("button:has-text('Upload and check')")
    page.wait_for_url(f"{base}/uploads/*")


def _returns(tmp_path):
    bad_dir, good_dir = tmp_path / "bad", tmp_path / "good"
    bad_dir.mkdir()
    good_dir.mkdir()
    bad = make_return_file(bad_dir, values={("plans_issued_20wk_ex", "Q2"): 999})   # a part above its total
    return bad, make_return_file(good_dir)


def test_la_user_in_chromium_under_the_daemon(tmp_path):
    from playwright.sync_api import sync_playwright

    bad, good = _returns(tmp_path)
    (error,) = validate_file(bad).errors
    home = tmp_path / "lsrp"
    add_users(home, [(la_email("301"), "la", "301"), (la_email("302"), "la", "302")])
    # the page reloads every 4 s for up to 40 reloads: 160 s for the daemon to answer, on a busy machine
    svc = Service(home, LSRP_PORTAL_REFRESH_SECONDS="4").start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            _walk(page, svc, error, bad, good)
            assert errors == []
            _refused(page, svc)
            browser.close()
    finally:
        assert svc.stop() == 0, svc.tail()


def _walk(page, svc: Service, error, bad, good) -> None:
    base = svc.url
    page.goto(f"{base}/la/301")                                      # sent to sign in first
    assert "/sign-in" in page.url
    _axe(page)
    page.fill("#email", la_email("301"))
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{base}/la/301")
    _axe(page)

    _upload(page, base, bad)                                         # the error, with its cell, at once
    summary = page.locator(".error-summary").inner_text()
    assert error.rule in summary and f"{error.sheet}!{error.cell}" in summary
    page.click("text=Stop updating this page")
    _axe(page)

    _upload(page, base, good)                                        # the page follows it to the daemon's answer
    assert page.locator(".error-summary").count() == 0
    _wait_text(page, "Status: Accepted", 180, svc)
    _axe(page)

    out = svc.publish()                                              # through the service's run queue
    assert out.returncode == 0 and f"Published {PERIOD}" in out.stdout, out.stdout + out.stderr + svc.tail()
    page.goto(f"{base}/la/301")
    assert "Accepted" in page.locator("table:has-text('Every upload')").inner_text()
    _axe(page)
    links = {kind: page.locator(f"a:has-text('{label}')").first.get_attribute("href")
             for kind, label in (("csv", "Figures (CSV)"), ("xlsx", "Figures (XLSX)"))}
    for kind, href in links.items():                                 # with the browser's own session
        r = page.request.get(base + href)
        assert r.status == 200 and PERIOD in href and len(r.body()) > 100, (kind, href, r.status)
    assert page.request.get(base + links["xlsx"]).body()[:2] == b"PK"
    page.click("a:has-text('Pack (HTML)')")
    page.wait_for_load_state("load")
    assert f"/packs/{PERIOD}/la/" in page.url and "301" in page.url
    _axe(page)


def _refused(page, svc: Service) -> None:
    """LA 302's pack by editing the URL: refused, and the refusal audited against LA 301's user."""
    from portal.store import Store

    manifest = json.loads((svc.home / "packs" / PERIOD / "manifest.json").read_text(encoding="utf-8"))
    other = f"/packs/{PERIOD}/{manifest['packs']['302']['files']['html']}"
    response = page.goto(svc.url + other)
    assert response.status in (403, 404)
    assert "Barnet" not in page.inner_text("main")                  # nothing of LA 302's pack
    _axe(page)
    store = Store(f"sqlite:///{svc.home}/portal/portal.db")
    refusals = [e for e in store.audit_entries() if e["outcome"] == "refused" and e["actor"] == la_email("301")]
    assert any("302" in (e["object"] or "") and e["action"] == "access" for e in refusals), refusals
