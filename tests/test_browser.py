"""Open a pack and the overview in Debian chromium (playwright): charts render, no console errors, axe-core
finds no serious or critical WCAG violations.  Screenshots go to the tmp dir (and LSRP_SCREENSHOT_DIR if set)."""
from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from reports import publish  # noqa: E402

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
PERIOD = "2026-27-Q2"


@pytest.fixture(scope="module")
def site(sample_warehouse, tmp_path_factory):
    """Packs rendered from the marts dbt built from the committed sample (801 is rejected there)."""
    root = tmp_path_factory.mktemp("browser")
    out = root / "out"
    publish(sample_warehouse, out, PERIOD, la_codes=["301", "308", "801"], pdf=False, issued=date(2026, 11, 2))
    return root, out


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _pages(out: Path) -> list[tuple[str, Path]]:
    (pack,) = (out / PERIOD / "la").glob("301-*.html")
    (rejected,) = (out / PERIOD / "la").glob("801-*.html")
    return [("pack-301", pack), ("pack-801-rejected", rejected), ("overview", out / PERIOD / "overview.html"),
            ("index", out / "index.html"), ("dfe-index", out / "dfe" / "index.html")]


def _wait_for_charts(page) -> int:
    n = page.locator("div.chart").count()
    if n:
        page.wait_for_function(
            "n => Array.from(document.querySelectorAll('div.chart')).filter(d => d.classList.contains('js-plotly-plot') "
            "&& d.querySelector('svg')).length === n", arg=n, timeout=30_000)
    return n


@pytest.mark.parametrize("which", ["pack-301", "overview", "index"])
def test_no_sideways_scroll_on_a_phone(site, browser, which):
    """At 390 px wide the page never scrolls sideways (wide tables scroll inside their own box), and no chart
    is wider than the screen."""
    _, out = site
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(dict(_pages(out))[which].resolve().as_uri())
    _wait_for_charts(page)
    page.wait_for_timeout(300)     # plotly's responsive resize
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    widest = page.evaluate("Math.max(0, ...Array.from(document.querySelectorAll('.main-svg'))"
                           ".map(s => s.getBoundingClientRect().right))")
    assert widest <= 390
    page.close()


@pytest.mark.parametrize("which", ["pack-301", "pack-801-rejected", "overview", "index", "dfe-index"])
def test_page_renders_and_passes_axe(site, browser, which):
    from axe_playwright_python.sync_playwright import Axe

    root, out = site
    path = dict(_pages(out))[which]
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.goto(path.resolve().as_uri())
    page.wait_for_load_state("load")
    n_containers = _wait_for_charts(page)
    if "index" not in which:
        assert n_containers > 0
    rendered = page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot')).filter(d => d.querySelector('svg')).length")
    assert rendered == n_containers
    assert errors == []

    shot = root / f"{which}.png"
    page.screenshot(path=str(shot), full_page=False)
    if os.environ.get("LSRP_SCREENSHOT_DIR"):
        d = Path(os.environ["LSRP_SCREENSHOT_DIR"])
        d.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, d / shot.name)
    assert shot.stat().st_size > 5_000

    # keyboard: the skip link is the first stop; every chart container is focusable
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    if n_containers:
        page.focus("div.chart")
        assert page.evaluate("document.activeElement.getAttribute('role')") == "img"

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, results.generate_report()
    page.close()


CELLS_CUT = """() => {
  const out = [];
  for (const el of document.querySelectorAll('.sheet-one th, .sheet-one td')) {
    // a cell's content wider than the cell (cut or spilling), or a tag wider than its cell
    if (el.scrollWidth > el.clientWidth + 1) out.push('cell: ' + el.textContent.trim().slice(0, 40));
    for (const t of el.querySelectorAll('.tag, .status-none')) {
      const a = t.getBoundingClientRect(), b = el.getBoundingClientRect();
      if (a.right > b.right + 1 || a.left < b.left - 1) out.push('tag: ' + t.textContent.trim());
    }
  }
  return out;
}"""
BOX_OVERFLOW = """() => Array.from(document.querySelectorAll('.sheet-one .table-scroll'))
  .filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.getAttribute('aria-label').slice(0, 40))"""


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("which", ["pack-301", "pack-801-rejected"])
def test_page_one_has_no_cut_or_overflowing_cell(site, browser, which, width):
    """Issue 20: page one at a phone's 390 px and a laptop's 1280 px.  No cell's content is cut or spills out of
    it (e.g. a status read as "Within tole"); at 1280 px the main table fits its box (no 6 px overflow), and at
    390 px the page never scrolls sideways (the table may scroll in its own box, its cells whole)."""
    _, out = site
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(dict(_pages(out))[which].resolve().as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate(CELLS_CUT) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # the at-a-glance table fits its box: at 390 px each indicator is a card, no column hidden past the edge
    assert page.evaluate(BOX_OVERFLOW) == []
    page.close()
