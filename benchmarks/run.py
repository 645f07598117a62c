"""The committed benchmark: the national cycle, a resubmission, validation and bare reads, in one run.

    uv run python -m benchmarks.run                 # everything (the cycle twice: without and with PDFs)
    uv run python -m benchmarks.run --no-pdf        # skip the cycle with PDFs (the slowest part)
    uv run python -m benchmarks.run --repeat 5      # medians of 5 runs of the cheap measures (default 3)

Every cycle runs `lsrp run` as a fresh process on a fresh LSRP_HOME (the full sample: 153 LAs,
2026-27 Q1 and Q2, generated once into --workdir and reused), exactly as an analyst would.  Stage
times come from the Dagster instance the cycle leaves behind (runs and step timings, and the packs
asset's own stage metadata), not from parsing its console, so they stay right whatever the ingest
does inside (one run per return, or one per batch).  Peak memory is the largest resident set of
any process the cycle started.  Prints a markdown table; the README's Performance section is a copy.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-27-Q2"
BIN = Path(sys.executable).parent


def _median(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


# ------------------------------------------------------------------ bare reads
def read_openpyxl(files: list[Path]) -> int:
    """Every cell of every sheet, the way a plain script would read them."""
    from openpyxl import load_workbook

    n = 0
    for f in files:
        wb = load_workbook(f, read_only=True, data_only=True)
        for ws in wb.worksheets:
            for row in ws.iter_rows(values_only=True):
                n += len(row)
        wb.close()
    return n


def read_calamine(files: list[Path]) -> int:
    from python_calamine import CalamineWorkbook

    n = 0
    for f in files:
        wb = CalamineWorkbook.from_path(str(f))
        for name in wb.sheet_names:
            for row in wb.get_sheet_by_name(name).to_python():
                n += len(row)
    return n


# ------------------------------------------------------------------ the cycle
def _child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _env(home: Path, pdf: bool) -> dict:
    env = {**os.environ, "LSRP_HOME": str(home), "LSRP_WAREHOUSE": str(home / "warehouse.duckdb"),
           "DAGSTER_HOME": str(home / "dagster_home")}
    env.pop("LSRP_PACK_PDF", None)
    if not pdf:
        env["LSRP_PACK_PDF"] = "0"
    return env


def run_lsrp(home: Path, args: list[str], pdf: bool) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run([str(BIN / "lsrp"), "run", *args], cwd=REPO, env=_env(home, pdf), capture_output=True,
                          text=True)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:], sep="\n", file=sys.stderr)
    return secs, proc


def fresh_home(workdir: Path, name: str, sample: Path) -> Path:
    home = workdir / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copytree(sample, home / "sample")  # `lsrp run --sample full` uses $LSRP_HOME/sample when present
    return home


def stage_times(home: Path) -> dict:
    """From the Dagster instance the cycle left: the ingest phase (every run before the publication,
    first start to last end), dbt and the packs steps of the newest publication, and the packs
    asset's own stage timings."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home / "dagster_home")
    instance = dg.DagsterInstance.from_config(str(home / "dagster_home"))
    try:
        records = instance.get_run_records()
        pubs = sorted((r for r in records if r.dagster_run.job_name == "publish_job"), key=lambda r: r.start_time)
        if not pubs:
            return {}
        pub = pubs[-1]
        ingest = [r for r in records if r.dagster_run.job_name != "publish_job" and r.start_time
                  and r.start_time < pub.start_time and (len(pubs) < 2 or r.start_time > pubs[-2].end_time)]
        out = {"ingest": (max(r.end_time for r in ingest) - min(r.start_time for r in ingest)) if ingest else 0.0,
               "ingest_runs": len(ingest), "publish_run": pub.end_time - pub.start_time}
        for s in instance.get_run_step_stats(pub.dagster_run.run_id):
            if s.end_time and s.start_time:
                out[f"step:{s.step_key}"] = s.end_time - s.start_time
        mats = instance.fetch_materializations(dg.AssetKey("benchmark_packs"), limit=1).records
        if mats:
            meta = mats[0].asset_materialization.metadata
            out["packs"] = {k: getattr(v, "value", v) for k, v in meta.items()
                            if k in ("stage_seconds", "packs_written", "packs_unchanged", "packs_not_rendered",
                                     "pdfs_written", "total_bytes")}
        return out
    finally:
        instance.dispose()


def correct_one_value(src: Path, dst: Path) -> None:
    """What an LA does (as tests/test_end_to_end.py): open its return, fix one figure, upload it
    again under the same name."""
    import openpyxl

    from contracts import layout as L

    wb = openpyxl.load_workbook(src)
    ws = wb[L.RETURN]
    cell = ws.cell(row=L.layout().item_rows["plans_issued_20wk_ex"], column=L.quarter_col("Q2"))
    cell.value = int(cell.value) - 3
    dst.parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)


def pack_sizes(home: Path) -> dict:
    la = home / "packs" / PERIOD / "la"
    files = [p for p in la.iterdir() if p.is_file()] if la.exists() else []
    pdfs = [p for p in files if p.suffix == ".pdf"]
    total = sum(p.stat().st_size for p in (home / "packs").resolve().rglob("*") if p.is_file())
    return {"packs": len([p for p in files if p.suffix == ".html"]), "total_mb": total / 1e6,
            "pdf_mb_each": (sum(p.stat().st_size for p in pdfs) / len(pdfs) / 1e6) if pdfs else None,
            "html_kb_each": statistics.median([p.stat().st_size for p in files if p.suffix == ".html"] or [0]) / 1e3}


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workdir", default=None, help="keep everything here (default: a new temporary folder)")
    ap.add_argument("--repeat", type=int, default=3, help="runs of the cheap measures; the median is shown")
    ap.add_argument("--no-pdf", action="store_true", help="skip the cycle with PDFs")
    ap.add_argument("--sample", choices=("full", "small"), default="full",
                    help="small: the committed 10-LA sample, to check the benchmark itself quickly")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    ap.add_argument("--history-years", type=int, default=0, help="scale mode (not implemented yet: see README)")
    ap.add_argument("--synthetic-las", type=int, default=0, help="scale mode (not implemented yet: see README)")
    args = ap.parse_args(argv)
    if args.history_years or args.synthetic_las:
        print("The scale modes are not implemented yet (README, Performance).", file=sys.stderr)
        return 2
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="lsrp-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str, str]] = []
    figures: dict = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
                     "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "load_average_at_start": os.getloadavg()[0]}

    def row(name: str, secs: float | None, note: str = "") -> None:
        rows.append((name, "" if secs is None else f"{secs:.1f}", note))
        print(f"{name}: {'' if secs is None else f'{secs:.1f} s'} {note}", flush=True)

    sample = workdir / "sample" if args.sample == "full" else REPO / "sample_returns"
    if not (sample / PERIOD).exists():
        from pipeline import sample as sample_mod

        print(f"Generating the full sample into {sample} (once) ...", flush=True)
        sample_mod.generate(sample, quarter=PERIOD, seed=2026)
    q2 = sorted((sample / PERIOD).glob("*.xlsx"))
    every = sorted(sample.glob("2026-27-Q*/*.xlsx"))
    figures["sample"] = f"{args.sample}: {len(every)} returns"

    # the code location loads once (dbt manifest prepared) so no cycle pays for a first parse
    subprocess.run([sys.executable, "-c", "import pipeline.definitions"], cwd=REPO, check=True,
                   env=_env(workdir / "warmup", False))

    # bare reads and validation: medians
    t_opx, _ = _median(lambda: read_openpyxl(q2), args.repeat)
    t_cal, _ = _median(lambda: read_calamine(q2), args.repeat)
    t_opx_all, _ = _median(lambda: read_openpyxl(every), 1)
    figures.update(openpyxl_153=t_opx, calamine_153=t_cal, openpyxl_all=t_opx_all)
    row(f"bare openpyxl read, {len(q2)} Q2 returns", t_opx, f"median of {args.repeat}")
    row(f"bare calamine read, same {len(q2)} files", t_cal, f"median of {args.repeat}")

    def validate():
        return subprocess.run([str(BIN / "lsrp"), "validate", "--format", "json", *map(str, q2)], cwd=REPO,
                              capture_output=True, text=True)
    t_val, proc = _median(validate, args.repeat)
    figures["validate_153"] = t_val
    row(f"`lsrp validate`, {len(q2)} returns in one process", t_val,
        f"median of {args.repeat}, process start included; {t_val / t_opx:.2f}x openpyxl, {t_val / t_cal:.1f}x calamine"
        + ("" if proc.returncode in (0, 1) else f" (exit {proc.returncode})"))

    # the whole cycle without PDFs, from a cold process
    home = fresh_home(workdir, "cycle-no-pdf", sample)
    secs, proc = run_lsrp(home, ["--sample", args.sample, "--no-pdf"], pdf=False)
    st = stage_times(home)
    figures["cycle_no_pdf"] = {"seconds": secs, "ok": proc.returncode == 0, "stages": st, "sizes": pack_sizes(home)}
    row(f"whole cycle without PDFs ({len(every)} returns, cold process)", secs,
        f"{secs / t_opx_all:.0f}x a bare openpyxl read of the {len(every)} files ({t_opx_all:.1f} s)"
        + ("" if proc.returncode == 0 else " FAILED"))
    if st:
        row("  ingest (first run start to last run end)", st["ingest"], f"{st['ingest_runs']} Dagster run(s)")
        row("  publication run", st["publish_run"])
        for k, v in st.items():
            if k.startswith("step:"):
                row(f"    step {k[5:]}", v)
        for k, v in (st.get("packs", {}).get("stage_seconds") or {}).items():
            row(f"      packs: {k}", v)
    sz = figures["cycle_no_pdf"]["sizes"]
    row("  packs on disk", None, f"{sz['packs']} packs, {sz['total_mb']:.0f} MB in all, HTML {sz['html_kb_each']:.0f} KB each")

    # one resubmission through to its re-issued pack (and PDF, in the PDF cycle below)
    def resubmit(h: Path, pdf: bool) -> tuple[float, dict]:
        src = next((sample / PERIOD).glob("*-301-*.xlsx"))
        correct_one_value(src, h / "inbox" / PERIOD / src.name)
        before = json.loads((h / "packs" / PERIOD / "manifest.json").read_text())["packs"]["301"]["version"]
        secs, proc = run_lsrp(h, ["--sample", "none"], pdf=pdf)
        after = json.loads((h / "packs" / PERIOD / "manifest.json").read_text())["packs"]["301"]["version"]
        st = stage_times(h)
        return secs, {"ok": proc.returncode == 0, "version": f"{before}->{after}", "stages": st,
                      "pdf": (h / "packs" / PERIOD / "la" / "301-barking-and-dagenham.pdf").exists()}

    peak = _child_peak_mb()
    secs, info = resubmit(home, pdf=False)
    figures["resubmission_no_pdf"] = {"seconds": secs, **info}
    inner = (info["stages"].get("ingest", 0) + info["stages"].get("publish_run", 0)) if info["stages"] else None
    row("one resubmission to its re-issued pack (cold process)", secs,
        f"pack version {info['version']}; inside the runs: {inner:.1f} s" if inner is not None else "")
    if info["stages"]:
        for k, v in info["stages"].items():
            if k.startswith("step:"):
                row(f"    step {k[5:]}", v)

    if not args.no_pdf:
        home = fresh_home(workdir, "cycle-pdf", sample)
        secs, proc = run_lsrp(home, ["--sample", args.sample], pdf=True)
        st = stage_times(home)
        figures["cycle_pdf"] = {"seconds": secs, "ok": proc.returncode == 0, "stages": st, "sizes": pack_sizes(home)}
        row(f"whole cycle with PDFs (cold process)", secs, "" if proc.returncode == 0 else "FAILED")
        pdf_s = (st.get("packs", {}).get("stage_seconds") or {}).get("PDFs")
        if pdf_s:
            row("    packs: PDFs", pdf_s, f"{pdf_s / max(1, st['packs'].get('pdfs_written', 1)):.2f} s a PDF")
        sz = figures["cycle_pdf"]["sizes"]
        row("  packs on disk", None, f"{sz['total_mb']:.0f} MB in all, PDF {sz['pdf_mb_each'] or 0:.2f} MB each")
        peak = max(peak, _child_peak_mb())
        secs, info = resubmit(home, pdf=True)
        figures["resubmission_pdf"] = {"seconds": secs, **info}
        inner = (info["stages"].get("ingest", 0) + info["stages"].get("publish_run", 0)) if info["stages"] else 0
        row("one resubmission to its re-issued pack and PDF (cold process)", secs,
            f"pack version {info['version']}, PDF {'written' if info['pdf'] else 'MISSING'}; inside the runs: {inner:.1f} s")
    peak = max(peak, _child_peak_mb())
    figures["peak_rss_mb"] = peak
    row("peak memory (largest process of any cycle)", None, f"{peak:.0f} MB")

    print(f"\nMachine: {figures['machine']}; {figures['date']}; load average at start "
          f"{figures['load_average_at_start']:.1f}\n")
    print("| measure | seconds | notes |\n|---|---:|---|")
    for name, secs, note in rows:
        print(f"| {name} | {secs} | {note} |")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1, default=str))
    ok = figures["cycle_no_pdf"]["ok"] and figures["resubmission_no_pdf"]["ok"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
