"""Publish a quarter: LA packs (HTML, PDF, CSV, XLSX), the national overview and the index page.

Layout under ``out_dir``::

    assets/plotly.min.js                     plotly.js, once, referenced relatively (packs open offline)
    index.html                               every period's overview and packs
    <period>/overview.html                   national overview for DfE analysts
    <period>/manifest.json                   per pack: version, issue date, figures hash, per-indicator hashes
    <period>/la/<code>-<slug>.html|.pdf      the pack
    <period>/la/<code>-<slug>-figures.csv|.xlsx   the pack's figures

A pack is re-issued only when the LA's own figures change (values, targets, statuses, queries and
revisions; comparators refresh with them or at the next quarterly publication); an unchanged
pack is skipped.  A re-issued pack carries "Version n, re-issued <date>: figures changed for: ...".
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import plotly

from contracts import catalogue

from . import downloads as dl
from . import overview as overview_mod
from .common import NAV_HERE, page, period_key, period_label
from .data import load_period
from .pack import DATA_QUALITY, SERVICE, build_model, render

log = logging.getLogger(__name__)


@dataclass
class PublishResult:
    written: list[Path] = field(default_factory=list)      # pack HTML files written (new or re-issued)
    skipped: list[Path] = field(default_factory=list)      # pack HTML files whose figures had not changed
    overview: Path | None = None
    index: Path | None = None
    total_bytes: int = 0                                   # everything under out_dir after publishing
    pdfs: list[Path] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)  # la_code -> version now published
    seconds: float = 0.0


def plotly_js_path() -> Path:
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def copy_plotly(out_dir: Path) -> Path:
    dst = out_dir / "assets" / "plotly.min.js"
    src = plotly_js_path()
    dst.parent.mkdir(parents=True, exist_ok=True)
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        shutil.copyfile(src, dst)
    return dst


def _atomic_write(path: Path, text: str | bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    if isinstance(text, bytes):
        tmp.write_bytes(text)
    else:
        tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load_manifest(path: Path) -> dict:
    if path.exists():
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            log.warning("manifest %s unreadable; packs will be re-issued", path)
    return {"packs": {}}


def _pdf_enabled(pdf: bool) -> bool:
    return pdf and os.environ.get("LSRP_PACK_PDF", "1") != "0"


def publish(warehouse_path: Path, out_dir: Path, period: str, la_codes: list[str] | None = None,
            pdf: bool = True, issued: date | None = None) -> PublishResult:
    """Write packs for every LA that returned data for ``period`` (or just ``la_codes``), the overview and
    the index.  Unchanged packs are skipped; changed ones are re-issued with a version note."""
    t0 = time.perf_counter()
    issued = issued or date.today()
    out_dir = Path(out_dir)
    data = load_period(Path(warehouse_path), period)
    cat = catalogue.load()
    period_dir = out_dir / period
    la_dir = period_dir / "la"
    la_dir.mkdir(parents=True, exist_ok=True)
    copy_plotly(out_dir)
    manifest_path = period_dir / "manifest.json"
    manifest = _load_manifest(manifest_path)
    manifest["period"] = period
    packs = manifest.setdefault("packs", {})
    result = PublishResult()
    names = {i.id: i.short for i in cat.indicators}
    names[DATA_QUALITY] = "data quality section"

    # every LA gets a pack, whatever became of its return: a rejected or missing one is built from DfE-held data
    codes = sorted(data.status) or sorted(data.las)
    if la_codes is not None:
        wanted = set(la_codes)
        codes = [c for c in codes if c in wanted]
    for code in codes:
        model = build_model(data, code)
        stem = model.slug
        html_path = la_dir / f"{stem}.html"
        files = {"html": f"la/{stem}.html", "pdf": f"la/{stem}.pdf", "csv": f"la/{stem}-figures.csv",
                 "csv_all_las": f"la/{stem}-all-las.csv", "xlsx": f"la/{stem}-figures.xlsx"}
        digest = model.figures_sha256()
        prev = packs.get(code)
        ret_status = (data.status.get(code) or {}).get("status") or "not_received"
        if prev and prev.get("figures_sha256") == digest and all(
                (period_dir / files[k]).exists() for k in ("html", "csv", "csv_all_las", "xlsx")):
            result.skipped.append(html_path)
            result.versions[code] = prev["version"]
            prev["status"] = ret_status
            continue
        hashes = model.hashes()
        pack_issued = issued
        if prev and prev.get("figures_sha256") == digest:     # files lost: rewrite the same version
            version, changed = int(prev.get("version", 1)), prev.get("changed") or None
            pack_issued = date.fromisoformat(prev.get("issued", issued.isoformat()))
        elif prev:
            version = int(prev.get("version", 1)) + 1
            old = prev.get("indicators", {})
            changed = [names.get(k, k) for k in hashes if old.get(k) != hashes[k]]
        else:
            version, changed = 1, None
        downloads = {"This report's figures as CSV": f"{stem}-figures.csv",
                     "Every local authority's values as CSV": f"{stem}-all-las.csv",
                     "All figures as Excel (XLSX)": f"{stem}-figures.xlsx",
                     "This report as PDF": f"{stem}.pdf"}
        rows = dl.figure_rows(model, data.las)
        every = dl.all_las_rows(model, data.las)
        dl.write_csv(la_dir / f"{stem}-figures.csv", dl.FIGURE_COLUMNS, rows)
        dl.write_csv(la_dir / f"{stem}-all-las.csv", dl.ALL_LAS_COLUMNS, every)
        wide_head, wide_rows, wide_dec = dl.all_las_wide(model, data.las)
        dl.write_xlsx(la_dir / f"{stem}-figures.xlsx", f"{model.name}: {period_label(period)} figures",
                      [("Figures", dl.FIGURE_COLUMNS, rows, None), ("All LAs", wide_head, wide_rows, wide_dec),
                       *dl.plan_sheets(model)])
        _atomic_write(html_path, render(model, version, pack_issued, changed, downloads))
        stale_pdf = la_dir / f"{stem}.pdf"
        if stale_pdf.exists():
            stale_pdf.unlink()   # the old PDF no longer matches; write_pdfs makes a new one
        packs[code] = {"version": version, "issued": pack_issued.isoformat(), "la_name": model.name,
                       "figures_sha256": digest, "indicators": hashes, "files": files,
                       "changed": changed or [], "status": ret_status}
        result.written.append(html_path)
        result.versions[code] = version
    _atomic_write(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))

    result.overview = period_dir / "overview.html"
    _atomic_write(result.overview, overview_mod.render_overview(data, issued))
    result.index = write_index(out_dir)
    _write_support(warehouse_path, period, out_dir)
    write_dfe_index(out_dir)

    if _pdf_enabled(pdf):
        todo = result.written + [p for p in result.skipped if not p.with_suffix(".pdf").exists()]
        result.pdfs = write_pdfs(todo)
    result.total_bytes = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    result.seconds = time.perf_counter() - t0
    return result


STATUS_WORDS = {"accepted": "Accepted", "accepted_with_queries": "Accepted with queries",
                "rejected": "Rejected: DfE-held data only", "not_received": "Not received: DfE-held data only"}


def _periods(out_dir: Path) -> list[str]:
    return sorted((p.parent.name for p in out_dir.glob("*/manifest.json")), key=period_key, reverse=True)


def _template(name: str):
    """A Jinja2 template from reports/templates, autoescaped (page bodies; the shell is common.page)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return env.get_template(name)


def write_index(out_dir: Path) -> Path:
    """out_dir/index.html, for LAs: every published period (newest first), every LA's report with the status
    of its return.  The DfE-only overview is not linked from here (it has its own index: dfe/index.html)."""
    periods, nav = [], []
    for p in _periods(out_dir):
        man = _load_manifest(out_dir / p / "manifest.json")
        items = sorted(man.get("packs", {}).items(), key=lambda kv: kv[1].get("la_name", kv[0]))
        packs = [{"href": info["files"]["html"], "name": info.get("la_name", code), "code": code,
                  "status": STATUS_WORDS.get(info.get("status"), "Accepted"),
                  "version": info.get("version", 1), "issued": info.get("issued")} for code, info in items]
        periods.append({"period": p, "label": period_label(p), "packs": packs})
        nav.append((f"p-{p}", period_label(p)))
    body = _template("la_index.html.j2").render(periods=periods, nav_here=NAV_HERE)
    path = out_dir / "index.html"
    _atomic_write(path, page("Quarterly data reports - Local SEND Reform Plans", body, nav, None, SERVICE))
    return path


def _write_support(warehouse_path, period: str, out_dir: Path) -> None:
    """DfE's support view for the quarter, beside the overviews in dfe/ (never linked from the LAs' index)."""
    import duckdb

    from . import support

    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        support.write_support(con, period, out_dir / "dfe")
    finally:
        con.close()


def write_dfe_index(out_dir: Path) -> Path:
    """out_dir/dfe/index.html: the national overviews and support views, for DfE analysts only (unsuppressed)."""
    overviews = [{"period": p, "label": period_label(p),
                  "support": (out_dir / "dfe" / f"support-{p}.html").exists()}
                 for p in _periods(out_dir) if (out_dir / p / "overview.html").exists()]
    body = _template("dfe_index.html.j2").render(overviews=overviews)
    path = out_dir / "dfe" / "index.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, page("National overviews - Local SEND Reform Plans", body, None, None, SERVICE))
    return path


# ------------------------------------------------------------------ PDF
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--no-pdf-header-footer",
                  "--run-all-compositor-stages-before-draw", "--virtual-time-budget=15000"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _one_pdf(chromium: str, html: Path, timeout: float) -> Path | None:
    out = html.with_suffix(".pdf")
    tmp_out = html.with_name(html.stem + ".pdf.tmp")
    with tempfile.TemporaryDirectory(prefix="lsrp-chromium-") as profile:
        cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={tmp_out}",
               html.resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            log.warning("PDF timed out for %s", html)
            return None
    if proc.returncode != 0 or not tmp_out.exists() or tmp_out.stat().st_size == 0:
        log.warning("PDF failed for %s: %s", html, proc.stderr.decode(errors="replace")[-500:])
        tmp_out.unlink(missing_ok=True)
        return None
    os.replace(tmp_out, out)
    return out


PRINT_WIDTH_PX = 718    # 190 mm at 96 px per inch


def _pdf_chunk(job: tuple[str, list[str], float]) -> list[str]:
    """Print a chunk of packs from ONE browser (start-up once, not per pack): about 4 s a pack,
    most of it plotly drawing the charts, against about 8 s for a chromium process per pack."""
    from playwright.sync_api import sync_playwright

    chromium, htmls, timeout = job
    done = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[f for f in CHROMIUM_FLAGS if f != "--headless"
                                                                    and not f.startswith("--virtual")])
        # drawn at the printed width (A4 less margins), so the charts fit the page as they are printed
        page = browser.new_page(viewport={"width": PRINT_WIDTH_PX, "height": 1000})
        for html in map(Path, htmls):
            tmp_out = html.with_name(html.stem + ".pdf.tmp")
            try:
                page.goto(html.resolve().as_uri(), wait_until="load", timeout=timeout * 1000)
                page.emulate_media(media="print")
                page.pdf(path=str(tmp_out), format="A4", print_background=True, tagged=True, outline=True,
                         margin={"top": "12mm", "bottom": "12mm", "left": "10mm", "right": "10mm"})
                os.replace(tmp_out, html.with_suffix(".pdf"))
                done.append(str(html.with_suffix(".pdf")))
            except Exception as exc:  # one pack's PDF failing must not stop the others
                log.warning("PDF failed for %s: %s", html, exc)
                tmp_out.unlink(missing_ok=True)
        browser.close()
    return done


def write_pdfs(paths: list[Path], workers: int | None = None, timeout: float = 120) -> list[Path]:
    """Print each pack HTML to a PDF beside it with headless chromium.  Skips (with a warning) when
    chromium is absent; returns the PDFs written."""
    paths = [Path(p) for p in paths]
    if not paths:
        return []
    chromium = find_chromium()
    if chromium is None:
        log.warning("chromium not found on PATH: %d PDF(s) not written", len(paths))
        return []
    workers = max(1, min(workers or (os.cpu_count() or 2), len(paths)))
    try:
        import playwright  # noqa: F401
    except ImportError:  # fall back to a chromium process per pack
        with ThreadPoolExecutor(max_workers=workers) as ex:
            done = list(ex.map(lambda p: _one_pdf(chromium, p, timeout), paths))
        return [p for p in done if p is not None]
    chunks = [[str(p) for p in paths[i::workers]] for i in range(workers)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as ex:
        done = [d for chunk in ex.map(_pdf_chunk, [(chromium, c, timeout) for c in chunks]) for d in chunk]
    return [Path(d) for d in done]
