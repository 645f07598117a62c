"""The portal in Debian chromium (playwright): an LA user signs in, uploads a return with an error, sees
the error with its cell, uploads the corrected file and sees it received, then answered.  axe-core finds
no serious or critical violations on any page on the way; at 390 px nothing scrolls sideways."""
from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest

from contracts.validate import validate_file
from portal_support import PASSWORD, USERS, make_portal
from test_portal_uploads import ingest_now

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


@pytest.fixture
def server(lsrp_home, monkeypatch):
    import uvicorn

    monkeypatch.setenv("LSRP_PORTAL_REFRESH_SECONDS", "120")   # axe must not race the page's own reload
    portal = make_portal(lsrp_home)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(portal.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1100, "height": 900})
        errors: list[str] = []
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.errors = errors
        yield pg
        browser.close()


def _axe(page, following: bool = False) -> None:
    """No serious or critical violation.  A page following an upload to its answer reloads itself (a meta
    refresh, asked for by the upload and stopped by a link on the page, at most about two minutes): axe's
    meta-refresh rule flags any timed reload, so on that page alone it is off; the same page without the
    reload is checked in full."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"rules": {"meta-refresh": {"enabled": False}}} if following else None
    results = Axe().run(page, options=options)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, results.generate_report()


def _no_sideways_scroll(page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    wide = page.evaluate("Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > 391"
                         " && !e.closest('.table-wrap')).map(e => e.tagName + '.' + e.className).slice(0, 5)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    if not page.locator('meta[http-equiv="refresh"]').count():
        _axe(page)                                                 # wide tables scroll, and take focus to
    page.set_viewport_size({"width": 1100, "height": 900})


def test_la_user_uploads_sees_the_error_then_sends_the_corrected_file(server, page, make_return, tmp_path):
    bad = make_return(values={("plans_issued_20wk_ex", "Q2"): 999})
    (error,) = validate_file(bad).errors
    good_dir = tmp_path / "good"
    good_dir.mkdir()
    good = good_dir / bad.name
    from conftest import make_return_file
    make_return_file(good_dir)

    page.goto(f"{server}/la/301")                                  # sent to sign in first
    assert "/sign-in" in page.url
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    _axe(page)
    page.fill("#email", USERS["la_a"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server}/la/301")
    _axe(page)
    _no_sideways_scroll(page)

    page.click("text=Upload a return")
    _axe(page)
    page.select_option("#period", "2026-27-Q2")
    page.set_input_files("#file", str(bad))
    page.click("button:has-text('Upload and check')")
    page.wait_for_url(f"{server}/uploads/*")
    summary = page.locator(".error-summary").inner_text()
    assert error.rule in summary and f"{error.sheet}!{error.cell}" in summary
    assert error.cell in page.locator("table").first.inner_text()
    assert "follow=1" in page.url and "Stop updating this page" in page.inner_text("main")
    _axe(page, following=True)
    page.click("text=Stop updating this page")
    assert page.locator('meta[http-equiv="refresh"]').count() == 0
    _axe(page)
    _no_sideways_scroll(page)

    page.goto(f"{server}/la/301/upload")
    page.select_option("#period", "2026-27-Q2")
    page.set_input_files("#file", str(good))
    page.click("button:has-text('Upload and check')")
    page.wait_for_url(f"{server}/uploads/*")
    assert "Status: Received: being checked" in page.inner_text("main")
    assert page.locator(".error-summary").count() == 0
    _axe(page, following=True)

    ingest_now()                                                   # what the daemon's batch run does
    page.reload()
    assert "Status: Accepted" in page.inner_text("main")
    page.click("text=Back to your returns")
    assert "Accepted" in page.locator("table:has-text('Every upload')").inner_text()
    _axe(page)
    assert page.errors == []


@pytest.mark.parametrize("who,paths", [
    ("dfe", ["/dfe", "/dfe/quarantine", "/dfe/audit", "/la/301", "/la/301/upload"]),
    ("admin", ["/admin/users"]),
])
def test_dfe_and_admin_pages_pass_axe_and_fit_a_phone(server, page, who, paths):
    page.goto(f"{server}/sign-in")
    page.fill("#email", USERS[who])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_load_state("load")
    for path in paths:
        page.goto(server + path)
        assert page.locator("h1").count() == 1, path
        _axe(page)
        _no_sideways_scroll(page)
    assert page.errors == []


def test_a_real_pack_draws_its_charts_under_the_portal_csp(server, page, sample_warehouse, lsrp_home):
    """The pack's own CSP (its inline chart script by hash, plotly from the portal) lets every chart draw:
    a blocked script or style would be a console error, and the charts would stay empty."""
    from datetime import date

    from reports.publish import publish

    publish(sample_warehouse, lsrp_home / "packs", "2026-27-Q2", la_codes=["301"], pdf=False, issued=date(2026, 11, 9))
    page.goto(f"{server}/sign-in")
    page.fill("#email", USERS["la_a"])
    page.fill("#password", PASSWORD)
    page.click("button:has-text('Sign in')")
    page.wait_for_url(f"{server}/la/301")
    page.click("a:has-text('Pack (HTML)')")
    n = page.locator("div.chart").count()
    assert n > 0
    page.wait_for_function(
        "n => Array.from(document.querySelectorAll('div.chart')).filter(d => d.classList.contains('js-plotly-plot') "
        "&& d.querySelector('svg')).length === n", arg=n, timeout=30_000)
    assert page.errors == []
    _axe(page)
