"""Publish a quarter: LA packs (HTML, PDF, CSV, XLSX), the national overview and the index page.

Layout under ``out_dir``::

    assets/plotly.min.js                     plotly.js, once, referenced relatively (packs open offline)
    index.html                               every period's overview and packs
    <period>/overview.html                   national overview for DfE analysts
    <period>/manifest.json                   per pack: version, issue date, figures hash, per-indicator hashes
    <period>/la/<code>-<slug>.html           the pack
    <period>/la/<code>-<slug>.pdf            its scorecard, two A4 pages (Typst, reports/pdf.py)
    <period>/la/<code>-<slug>-appendix.pdf   the detail behind it
    <period>/la/<code>-<slug>-figures.csv|.xlsx   the pack's figures
    <period>/la-v<n>/...                     version n of each pack re-issued since (the same files, kept)

A pack is re-issued only when the LA's own figures change (values, targets, statuses, queries and
revisions; comparators refresh with them or at the next quarterly publication); an unchanged
pack is skipped.  A re-issued pack carries "Version n, re-issued <date>: figures changed for: ...".
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import plotly

from contracts import catalogue

from . import downloads as dl
from . import overview as overview_mod
from .common import NAV_HERE, page, period_key, period_label
from .data import load_period
from . import pdf as pdf_mod
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
    carried: list[Path] = field(default_factory=list)      # packs not looked at (a resubmission of other LAs)
    stages: dict[str, float] = field(default_factory=dict)  # seconds per stage


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


@dataclass
class _Issue:
    """One pack to (re)write, decided in the parent; rendered in a worker process."""
    model: object          # PackModel
    version: int
    issued: date
    changed: list[str] | None
    pdf: bool = False      # compile its scorecard and appendix PDFs (Typst) beside it


def _pack_files(stem: str, pdf: bool = True) -> dict[str, str]:
    """A pack's files, relative to its period's folder; the PDFs (scorecard and appendix) only when written."""
    files = {"html": f"la/{stem}.html", "csv": f"la/{stem}-figures.csv", "xlsx": f"la/{stem}-figures.xlsx"}
    if pdf:
        files.update({k: f"la/{v}" for k, v in pdf_mod.file_names(stem).items()})
    return files


ALL_LAS_CSV, ALL_LAS_XLSX = dl.ALL_LAS_CSV, dl.ALL_LAS_XLSX   # <period>/: every LA's values, once for all packs


def _downloads(stem: str, pdf: bool = True) -> dict[str, str]:
    """The pack's download links; the PDFs only when they were written."""
    links = {"This report's figures as CSV": f"{stem}-figures.csv",
             "This report's figures as Excel (XLSX)": f"{stem}-figures.xlsx",
             "Every local authority's values as CSV": f"../{ALL_LAS_CSV}",
             "Every local authority's values as Excel (XLSX)": f"../{ALL_LAS_XLSX}"}
    if pdf:
        names = pdf_mod.file_names(stem)
        links["Scorecard as PDF (2 pages)"] = names["pdf"]
        links["Appendix as PDF (the detail)"] = names["pdf_appendix"]
    return links


def _render_pack(issue: _Issue, las: dict, la_dir: Path) -> tuple[str, list[Path]]:
    """Write one pack's PDFs (when asked), CSV, XLSX and HTML (each to a temporary name, then renamed: the
    packs release hard-links unchanged files, so nothing may be rewritten in place).  The HTML links the PDFs
    only when they were written.  Returns (LA code, PDFs written)."""
    model = issue.model
    stem = model.slug
    for old in pdf_mod.file_names(stem).values():   # an old PDF no longer matches the pack
        (la_dir / old).unlink(missing_ok=True)
    pdfs = pdf_mod.write_pack_pdfs(model, la_dir, issue.version, issue.issued, issue.changed) if issue.pdf else []
    rows = dl.figure_rows(model, las)
    dl.write_csv(la_dir / f"{stem}-figures.csv", dl.FIGURE_COLUMNS, rows)
    # every LA's values are in the period's shared all-las.xlsx (linked from the pack), not copied into each pack
    dl.write_xlsx(la_dir / f"{stem}-figures.xlsx", f"{model.name}: {period_label(model.period)} figures",
                  [("Figures", dl.FIGURE_COLUMNS, rows, None), *dl.plan_sheets(model)])
    _atomic_write(la_dir / f"{stem}.html", render(model, issue.version, issue.issued, issue.changed,
                                                  _downloads(stem, bool(pdfs))))
    return model.code, pdfs


# ------------------------------------------------------------------ rendering in worker processes
_WORKER: dict = {}   # in a worker: the LAs and the folder, given once when it starts


def _init_worker(las: dict, la_dir: str) -> None:
    _WORKER.update(las=las, la_dir=Path(la_dir))


def _render_batch(issues: list[_Issue]) -> list[tuple[str, list[Path]]]:
    return [_render_pack(i, _WORKER["las"], _WORKER["la_dir"]) for i in issues]


def warm() -> None:
    """Load what every pack render needs (the catalogue, the plan template, xlsxwriter, polars through the
    plan's contracts).  Imported as ``reports.publish`` by the workers' forkserver and called there once, so
    each worker forks with it loaded instead of loading it again."""
    import xlsxwriter  # noqa: F401

    from . import plan

    catalogue.load()
    plan._template()
    dl._fast_sheet_class()
    import typst  # noqa: F401  (the compiler itself is made in each worker: it starts threads)


class _Renderer:
    """Renders each pack as soon as its model is decided: in worker processes (one per core) once ``START``
    packs are waiting, here when fewer are to be rendered (a resubmission, or a republication where little
    changed: starting workers would cost more than it saves).

    The workers start after the first few models, so their start-up (a forkserver that imports and warms the
    report modules once, then forks them) runs beside the rest of the models; packs go to them in small
    batches, so they render while the models are still being built."""

    START, BATCH = 8, 4

    def __init__(self, las: dict, la_dir: Path, workers: int | None = None):
        self.las, self.la_dir = las, la_dir
        self.workers = max(1, workers or int(os.environ.get("LSRP_PACK_WORKERS", 0)) or (os.cpu_count() or 1))
        self.pending: list[_Issue] = []
        self.futures: list = []
        self.ex = None
        self.results: list[tuple[str, list[Path]]] = []   # (LA code, PDFs written) per pack rendered

    def _start(self) -> None:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # forkserver: the workers fork from a clean server that has imported the report modules once,
        # not from this (threaded) Dagster process
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["reports._warm"])
        self.ex = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_init_worker,
                                      initargs=(self.las, str(self.la_dir)))

    def _submit(self) -> None:
        for k in range(0, len(self.pending), self.BATCH):
            self.futures.append(self.ex.submit(_render_batch, self.pending[k:k + self.BATCH]))
        self.pending = []

    def add(self, issue: _Issue) -> None:
        self.pending.append(issue)
        if self.ex is None and self.workers > 1 and len(self.pending) >= self.START:
            self._start()
        if self.ex is not None and len(self.pending) >= self.BATCH:
            self._submit()

    def finish(self) -> None:
        """Render what is still waiting and wait for every pack (a worker's exception is raised here)."""
        if self.ex is None:
            for i in self.pending:
                self.results.append(_render_pack(i, self.las, self.la_dir))
            self.pending = []
            return
        self._submit()
        for f in self.futures:
            self.results.extend(f.result())
        self.futures = []

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.ex is not None:
            self.ex.shutdown(wait=True, cancel_futures=exc[0] is not None)


def render_packs(issues: list[_Issue], las: dict, la_dir: Path, workers: int | None = None) -> list:
    """Render packs in worker processes (one per core), or here for a few; returns (code, PDFs) per pack."""
    with _Renderer(las, la_dir, workers) as r:
        for i in issues:
            r.add(i)
        r.finish()
    return r.results


def shared_model(model, data):
    """``model`` with every LA's values as nobody's own pack shows them: each small count is c, including
    one of the LA ``model`` was built for (its own values are in its figures CSV and XLSX)."""
    from dataclasses import replace

    from .pack import withheld

    inds = {}
    for ind_id, m in model.indicators.items():
        row = data.la_values(ind_id).get(model.code)
        if row is not None and row.get("la_value") is not None and withheld(row):
            m = {**m, "distribution": [x for x in m["distribution"] if x["code"] != model.code],
                 "suppressed": sorted([*m["suppressed"], model.code])}
        inds[ind_id] = m
    return replace(model, indicators=inds)


def write_all_las(period_dir: Path, model, data) -> None:
    """<period>/all-las.csv (tidy) and all-las.xlsx (one row per LA, a numeric column per indicator): every
    LA's values once for all the packs, each small count c."""
    shared = shared_model(model, data)
    dl.write_csv(period_dir / ALL_LAS_CSV, dl.ALL_LAS_COLUMNS, dl.all_las_rows(shared, data.las))
    head, rows, dec = dl.all_las_wide(shared, data.las)
    dl.write_xlsx(period_dir / ALL_LAS_XLSX, f"Every local authority's values: {period_label(model.period)}",
                  [("All LAs", head, rows, dec)], about=dl.ALL_LAS_ABOUT)


def publish(warehouse_path: Path, out_dir: Path, period: str, la_codes: list[str] | None = None,
            pdf: bool = True, issued: date | None = None, only_las: list[str] | None = None,
            workers: int | None = None) -> PublishResult:
    """Write packs for every LA that returned data for ``period`` (or just ``la_codes``), the overview and
    the index.  Unchanged packs are skipped; changed ones are re-issued with a version note.

    ``only_las`` (a resubmission: the LAs whose returns changed since the quarter was published) limits
    the packs even looked at to those LAs; every other pack already published is carried over untouched.
    """
    t0 = time.perf_counter()
    result = PublishResult()
    clock = _Clock(result.stages)
    issued = issued or date.today()
    out_dir = Path(out_dir)
    # a resubmission (only_las) or a few packs (la_codes) need every LA's row for the period (the overview)
    # but only their own whole trajectories
    wanted_las = only_las if only_las is not None else la_codes
    data = load_period(Path(warehouse_path), period, trajectory_las=wanted_las)
    cat = catalogue.load()
    period_dir = out_dir / period
    la_dir = period_dir / "la"
    la_dir.mkdir(parents=True, exist_ok=True)
    copy_plotly(out_dir)
    manifest_path = period_dir / "manifest.json"
    manifest = _load_manifest(manifest_path)
    manifest["period"] = period
    packs = manifest.setdefault("packs", {})
    names = {i.id: i.short for i in cat.indicators}
    names[DATA_QUALITY] = "data quality section"
    clock("load marts")

    # every LA gets a pack, whatever became of its return: a rejected or missing one is built from DfE-held data
    codes = sorted(data.status) or sorted(data.las)
    if la_codes is not None:
        wanted = set(la_codes)
        codes = [c for c in codes if c in wanted]
    if only_las is not None:
        wanted = set(only_las)
        carried = [c for c in codes if c not in wanted and c in packs and _files_exist(period_dir, packs[c])]
        result.carried = [period_dir / packs[c]["files"]["html"] for c in carried]
        for c in carried:
            result.versions[c] = packs[c]["version"]
        codes = [c for c in codes if c not in set(carried)]
    if wanted_las is not None and not set(codes) <= set(wanted_las):   # e.g. another LA's pack files were lost
        data = load_period(Path(warehouse_path), period)
    want_pdf = _pdf_enabled(pdf)
    issues: list[_Issue] = []
    first_model = None
    with _Renderer(data.las, la_dir, workers) as renderer:
        for code in codes:
            model = build_model(data, code)
            first_model = first_model or model
            issue = _decide(model, packs, data, period_dir, issued, names, result, want_pdf)
            if issue is not None:
                issues.append(issue)
                renderer.add(issue)
        clock("pack models")
        shared = (ALL_LAS_CSV, ALL_LAS_XLSX)
        if first_model is not None and (issues or not all((period_dir / f).exists() for f in shared)):
            write_all_las(period_dir, first_model, data)   # while the workers render
        renderer.finish()
    clock("render packs")   # with their PDFs, compiled in the same workers, when asked for
    by_code = {i.model.code: i for i in issues}
    for code, pdfs in renderer.results:
        result.pdfs.extend(pdfs)
        if want_pdf and not pdfs:   # the PDFs failed (logged): the manifest lists only files written
            files = packs[code]["files"]
            for k in pdf_mod.file_names(by_code[code].model.slug):
                files.pop(k, None)
    _atomic_write(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))

    result.overview = period_dir / "overview.html"
    _atomic_write(result.overview, overview_mod.render_overview(data, issued))
    result.index = write_index(out_dir)
    _write_support(warehouse_path, period, out_dir)
    write_dfe_index(out_dir)
    clock("overview, index, DfE views")

    result.total_bytes = sum(p.stat().st_size for p in out_dir.rglob("*") if p.is_file())
    result.seconds = time.perf_counter() - t0
    return result


def _decide(model, packs: dict, data, period_dir: Path, issued: date, names: dict,
            result: PublishResult, pdf: bool = False) -> _Issue | None:
    """Skip a pack whose figures are unchanged and whose files are all there; else its version and what
    changed (updating its entry in the manifest's ``packs``, and ``result``)."""
    code = model.code
    prev = packs.get(code)
    files = _pack_files(model.slug, pdf)   # PDFs asked for and missing: re-written at the same version
    html_path = period_dir / "la" / f"{model.slug}.html"
    hashes = model.hashes()
    digest = model.figures_sha256(hashes)
    ret_status = (data.status.get(code) or {}).get("status") or "not_received"
    notice = model.notice or {}
    same_links = prev is not None and ("pdf" in prev.get("files", {})) == pdf   # PDFs turned on or off: re-render
    if (prev and prev.get("figures_sha256") == digest and same_links and (prev.get("notice") or {}) == notice
            and _files_exist(period_dir, {**prev, "files": files})):
        result.skipped.append(html_path)
        result.versions[code] = prev["version"]
        prev["status"] = ret_status
        return None
    pack_issued = issued
    earlier = list((prev or {}).get("earlier", []))
    if prev and prev.get("figures_sha256") == digest:     # files lost or the status note changed: same version
        version, changed = int(prev.get("version", 1)), prev.get("changed") or None
        pack_issued = date.fromisoformat(prev.get("issued", issued.isoformat()))
    elif prev:
        version = int(prev.get("version", 1)) + 1
        old = prev.get("indicators", {})
        changed = [names.get(k, k) for k in hashes if old.get(k) != hashes[k]]
        earlier.append(_keep_earlier(period_dir, prev))
    else:
        version, changed = 1, None
    for old_file in (prev or {}).get("files", {}).values():   # e.g. the per-pack all-LAs CSV of old
        if old_file not in files.values():
            (period_dir / old_file).unlink(missing_ok=True)
    packs[code] = {"version": version, "issued": pack_issued.isoformat(), "la_name": model.name,
                   "figures_sha256": digest, "indicators": hashes, "files": files,
                   "changed": changed or [], "status": ret_status, "notice": notice, "earlier": earlier}
    result.written.append(html_path)
    result.versions[code] = version
    return _Issue(model, version, pack_issued, changed, pdf)


def _keep_earlier(period_dir: Path, prev: dict) -> dict:
    """Keep the version being replaced, so an LA can still fetch every version it was sent: its files are
    hard-linked (copied across file systems) into ``la-v<n>/`` before the new version is rendered over
    ``la/`` (the renderer replaces files by rename, so the kept links still hold the old bytes)."""
    n = int(prev.get("version", 1))
    folder = period_dir / f"la-v{n}"
    folder.mkdir(exist_ok=True)
    kept = {}
    for kind, rel in prev.get("files", {}).items():
        src, dst = period_dir / rel, folder / Path(rel).name
        if not src.is_file():
            continue
        if not dst.exists():
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        kept[kind] = f"la-v{n}/{dst.name}"
    return {"version": n, "issued": prev.get("issued"), "files": kept}


def _files_exist(period_dir: Path, entry: dict) -> bool:
    files = entry.get("files", {})
    return all((period_dir / files[k]).exists() for k in ("html", "csv", "xlsx", "pdf", "pdf_appendix")
               if k in files) and "html" in files


class _Clock:
    """Seconds per stage of a publication, for the asset's metadata and the benchmark."""

    def __init__(self, into: dict):
        self.into, self.t = into, time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.into[stage] = self.into.get(stage, 0.0) + now - self.t
        self.t = now


STATUS_WORDS = {"accepted": "Accepted", "accepted_with_queries": "Accepted with queries",
                "rejected": "Rejected: DfE-held data only", "held": "Held back: DfE-held data only",
                "not_received": "Not received: DfE-held data only"}


def _periods(out_dir: Path) -> list[str]:
    return sorted((p.parent.name for p in out_dir.glob("*/manifest.json")), key=period_key, reverse=True)


@lru_cache(maxsize=None)
def _template(name: str):
    """A Jinja2 template from reports/templates, autoescaped (page bodies; the shell is common.page); compiled
    once per process."""
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
# PDFs are compiled with Typst (reports/pdf.py) from each pack's model, in the render workers, as the pack is
# written.  Chromium is only for the browser tests (tests/test_browser.py and the like).
def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def _pdf_job(args) -> list[Path]:
    model, la_dir, version, issued, changed = args
    return pdf_mod.write_pack_pdfs(model, Path(la_dir), version, issued, changed)


def write_pdfs(models: list, la_dir: Path, version: int = 1, issued: date | None = None,
               workers: int | None = None) -> list[Path]:
    """Each pack model's scorecard and appendix PDFs in ``la_dir`` (Typst; no browser), compiled in worker
    processes (one per core) when there are several.  Returns the PDFs written; a pack whose PDF fails is
    logged and left out.  ``publish`` compiles them itself, beside each pack's HTML."""
    models = list(models)
    if not models:
        return []
    issued = issued or date.today()
    jobs = [(m, str(la_dir), version, issued, None) for m in models]
    workers = max(1, min(workers or (os.cpu_count() or 1), len(models)))
    if workers == 1 or len(models) < 4:
        return [p for j in jobs for p in _pdf_job(j)]
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("forkserver")) as ex:
        return [p for ps in ex.map(_pdf_job, jobs, chunksize=4) for p in ps]
