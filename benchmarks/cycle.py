"""Benchmark the quarterly cycle on the full sample (153 LAs, Q1 and Q2 2026-27), stage by stage.

    uv run python benchmarks/cycle.py [--workdir DIR] [--no-pdf]

Prints a markdown table (the README's Performance section is a copy of its output).  Uses a fresh
LSRP_HOME so nothing of yours is touched.  Timings are wall-clock on whatever machine runs it.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--no-pdf", action="store_true")
    args = ap.parse_args()
    home = Path(args.workdir or tempfile.mkdtemp(prefix="lsrp-bench-"))
    os.environ["LSRP_HOME"] = str(home)
    os.environ["LSRP_WAREHOUSE"] = str(home / "warehouse.duckdb")
    os.environ["LSRP_PACK_PDF"] = "0"  # PDFs are timed as their own stage below

    from pipeline import paths, run, sample

    rows: list[tuple[str, float, str]] = []

    def stage(name, fn, note=lambda r: ""):
        t = time.perf_counter()
        out = fn()
        rows.append((name, time.perf_counter() - t, note(out)))
        print(f"{name}: {rows[-1][1]:.1f} s {rows[-1][2]}", flush=True)
        return out

    stage("generate sample (306 workbooks + EES CSVs)",
          lambda: sample.generate(home / "sample", quarter="2026-27-Q2", seed=2026))

    from contracts.validate import validate_file

    files = sorted((home / "sample").glob("2026-27-Q*/*.xlsx"))
    stage("validate every return (lsrp validate, in process)",
          lambda: [validate_file(f) for f in files], lambda r: f"{len(r)} files, {len(r) and 1}")
    rows[-1] = (rows[-1][0], rows[-1][1], f"{len(files)} files, {rows[-1][1] / len(files) * 1000:.0f} ms each")

    run.ensure_dagster_home()
    run.stage_sample("full")
    from dagster import DagsterInstance

    from pipeline.definitions import defs

    instance = DagsterInstance.get()
    stage("ingest: one Dagster run per LA and quarter", lambda: run.ingest_inbox(instance, defs, log=lambda s: None),
          lambda failed: f"{len(files) + 1} runs, {failed} failed")
    n_runs = len(files) + 1
    rows[-1] = (rows[-1][0], rows[-1][1], rows[-1][2] + f", {rows[-1][1] / n_runs:.2f} s per run")
    res = stage("publish: dbt build + packs (HTML, CSV, XLSX)", lambda: run.publish(instance, defs, "2026-27-Q2"),
                lambda r: "ok" if r.success else "FAILED")
    packs = sorted((paths.packs() / "2026-27-Q2" / "la").glob("*.html"))
    size = sum(p.stat().st_size for p in paths.packs().rglob("*") if p.is_file())
    rows.append(("size of a full set without PDFs", 0.0, f"{len(packs)} packs, {size / 1e6:.1f} MB "
                 f"(plotly.js once: {(paths.packs() / 'assets' / 'plotly.min.js').stat().st_size / 1e6:.1f} MB)"))
    if not args.no_pdf:
        from reports import write_pdfs

        pdfs = stage("PDF of every pack (chromium, 1 browser per core)", lambda: write_pdfs(packs),
                     lambda r: f"{len(r)} PDFs")
        pdf_size = sum(p.stat().st_size for p in pdfs)
        rows.append(("size of the PDFs", 0.0, f"{pdf_size / 1e6:.1f} MB"))
    rows.append(("total", sum(r[1] for r in rows), ""))

    print(f"\nMachine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}\n")
    print("| stage | seconds | notes |\n|---|---:|---|")
    for name, secs, note in rows:
        print(f"| {name} | {secs:.1f} | {note} |" if secs else f"| {name} | | {note} |")
    return 0 if res.success else 1


if __name__ == "__main__":
    sys.exit(main())
