"""`lsrp run`: the whole quarterly cycle once, from the command line, through the Dagster jobs.

It does what the inbox sensor and the publication schedule do, without the UI: one ingest run per
LA and quarter with something new in the inbox, then the publication run (marts + packs).  Runs are
recorded in a persistent Dagster instance (``$LSRP_HOME/dagster_home``) so ``dagster dev`` shows them.
"""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
import time
from pathlib import Path

from pipeline import paths

MARKER = "# Written by lsrp (pipeline/run.py DAGSTER_YAML)"

# One consolidated SQLite event log instead of Dagster's default database per run: measured 6.5x
# faster per ingest run (1.8 s instead of 11.6 s on a loaded 2-core machine; 1.2-1.3 s idle), and
# with one pooled engine per process instead of a connection per event (pipeline/event_log.py).
# Turning off per-step stdout capture made no measurable difference, so the UI keeps it.
#
# Running as a service (dagster-daemon):
# - one writer: every job carries the tag lsrp/writer and every op that writes the warehouse is in
#   the pool "warehouse"; both are limited to one run in progress, so the run queue holds a
#   publication until the ingest runs in flight finish (and the other way round);
# - run_retries: a failed run (a lock held too long, a killed worker) is launched again, twice;
# - run_monitoring: runs that never start or never finish cancelling are failed; the default run
#   launcher cannot resume a run (max_resume_run_attempts 0) or see its worker die, which the
#   run_worker_watchdog sensor does instead; a run over max_runtime_seconds is stopped.
DAGSTER_YAML = MARKER + """; rewritten when it changes.  Local settings go in a file without this line.
telemetry:
  enabled: false
event_log_storage:
  module: pipeline.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {base}
run_coordinator:
  module: dagster._core.run_coordinator
  class: QueuedRunCoordinator
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: lsrp/writer
        limit: 1
  pools:
    granularity: run
    default_limit: 1
run_retries:
  enabled: true
  max_retries: {max_retries}
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  cancel_timeout_seconds: 180
  max_resume_run_attempts: 0
  max_runtime_seconds: {max_runtime}
  poll_interval_seconds: {poll}
sensors:
  use_threads: true
  num_workers: 4
"""


def instance_config(home: Path) -> str:
    """The dagster.yaml `lsrp` writes; LSRP_RUN_MAX_RETRIES, LSRP_RUN_MAX_SECONDS and
    LSRP_MONITOR_SECONDS tune it (the tests shorten them)."""
    return DAGSTER_YAML.format(base=home / "history" / "events",
                               max_retries=int(os.environ.get("LSRP_RUN_MAX_RETRIES", 2)),
                               max_runtime=int(os.environ.get("LSRP_RUN_MAX_SECONDS", 4 * 3600)),
                               poll=int(os.environ.get("LSRP_MONITOR_SECONDS", 30)))


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME (default $LSRP_HOME/dagster_home) with the instance configuration above.  A
    dagster.yaml `lsrp` wrote (or the older one without the service settings) is brought up to date;
    one written by hand is left alone."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.home() / "dagster_home")
    home.mkdir(parents=True, exist_ok=True)
    yaml_path = home / "dagster.yaml"
    current = yaml_path.read_text(encoding="utf-8") if yaml_path.exists() else None
    ours = current is None or current.startswith(MARKER) or (
        current.startswith("telemetry:") and "ConsolidatedSqliteEventLogStorage" in current
        and "run_retries" not in current)
    wanted = instance_config(home)
    if ours and current != wanted:
        tmp = yaml_path.with_name("dagster.yaml.tmp")
        tmp.write_text(wanted, encoding="utf-8")
        os.replace(tmp, yaml_path)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def stage_sample(kind: str, quarter: str = "2026-27-Q2", seed: int = 2026) -> Path:
    """Put a sample into the inbox as if LAs had uploaded it: ``full`` generates all 153 LAs."""
    if kind == "small":
        source = paths.SAMPLE_DIR
    else:
        from synthetic import sample

        source = paths.home() / "sample"
        if not (source / quarter).exists():
            print(f"Generating the full sample (153 LAs, up to {quarter}) in {source} ...", flush=True)
            print(sample.generate(source, quarter=quarter, seed=seed, la_codes=None), flush=True)
    from pipeline import ledger

    inbox = paths.inbox()
    # a sample file already received into the ledger is not uploaded again (that would be a new event)
    received = {(e.folder, e.name) for e in ledger.events()}
    for folder in sorted(p for p in source.iterdir() if p.is_dir() and p.name != "broken"):
        target = inbox / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():
            if f.is_file() and not (target / f.name).exists() and (folder.name, f.name) not in received:
                shutil.copy2(f, target / f.name)  # keep the upload time
    return inbox


# Analysts see our progress lines, not Dagster's step-by-step debug log (that stays in the UI).
# Dagster's console logger prints a failed step's stack trace; `lsrp run` says what failed in its own
# words (publish, dbt_verdict) and the full record stays in the Dagster instance and the log file.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def ingest_inbox(instance, defs, log=print) -> int:
    """What the inbox sensor does, without waiting for files to settle: receive every inbox file
    into the upload ledger, then run each upload event not yet processed (including any left over
    by a killed run), one run per event, with the sensor's own run requests."""
    import dagster as dg

    from pipeline.defs.sensors import dfe_held_requests, pending_requests, receive_inbox

    received, _ = receive_inbox(settle=0)
    runs = pending_requests(instance, log=None) + dfe_held_requests(settle=0)[0]
    if received:
        log(f"  received {len(received)} upload(s) into the ledger")
    failed = 0
    started = time.time()
    for i, r in enumerate(runs, 1):
        if r.run_key and r.run_key.startswith("dfe_held:") and instance.get_runs(
                filters=dg.RunsFilter(tags={"dagster/run_key": r.run_key}), limit=1):
            continue  # that DfE-held file is loaded already
        job = defs.resolve_job_def(r.job_name)
        res = job.execute_in_process(instance=instance, partition_key=r.partition_key, run_config=QUIET,
                                     tags={**r.tags, "dagster/run_key": r.run_key, "lsrp/trigger": "lsrp run"},
                                     raise_on_error=False)
        failed += not res.success
        if i % 25 == 0 or i == len(runs):
            log(f"  ingest {i}/{len(runs)} runs ({time.time() - started:.0f} s)")
    return failed


def expected_quarter(requested: str | None) -> str | None:
    """The quarter this `lsrp run` will publish, as far as it is known before ingest: the one asked
    for, else the newest quarter folder in the inbox (uploads and the sample land in
    inbox/<quarter>/).  A wrong guess costs only a parse nobody uses: each quarter parses into its
    own folder (dbt_args.state_path)."""
    from pipeline.defs.partitions import period_partitions

    keys = set(period_partitions.get_partition_keys())
    if requested:
        return requested if requested in keys else None
    inbox = paths.inbox()
    folders = [p.name for p in inbox.iterdir() if p.is_dir() and p.name in keys] if inbox.is_dir() else []
    return max(folders, default=None)


def start_dbt_parse(defs, quarter: str | None):
    """Start dbt's parse for the publication of ``quarter`` in the background, so it overlaps
    ingest, which leaves a core idle for much of its time.  A home's first build of a quarter would
    otherwise parse the whole project (about 4 s of dbt's own Python) before building; after this
    the build re-reads only what changed.  The dbt resource runs it exactly as the publication's
    dbt step runs dbt (same environment, flags and target folder).  Returns the running
    invocation, or None when there is nothing to gain (no quarter, or this home already holds
    that quarter's parse)."""
    from pipeline import release
    from pipeline.dbt_args import publication_parse_args, state_path

    if quarter is None or (state_path(quarter) / "partial_parse.msgpack").exists():
        return None
    try:
        return defs.resources["dbt"].cli(publication_parse_args(quarter, release.build_path(paths.warehouse())),
                                         target_path=state_path(quarter), raise_on_error=False)
    except Exception:  # an optimisation only: the build parses for itself
        return None


def finish_dbt_parse(invocation) -> None:
    """Wait for the background parse before dbt builds into the same target folder (two dbt
    processes must not write one folder).  Its outcome does not matter: a failed parse leaves no
    saved parse, and the build parses for itself and reports any error itself."""
    if invocation is not None:
        # dagster-dbt echoes dbt's log lines to stdout; the console is for our progress lines (dbt
        # keeps its own dbt.log in the target folder)
        with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
            invocation.wait()


def dbt_verdict(result, run_results: dict | None = None) -> str:
    """dbt's outcome from the run's structured events (one asset check per dbt test, one
    materialisation per model or seed) and from dbt's run_results.json for the models it could not
    build, not from its console text."""
    from pipeline.dbt_args import not_built

    checks = result.get_asset_check_evaluations()
    failed = [f"{c.asset_key.to_user_string()}:{c.check_name}" for c in checks if not c.passed]
    built = sum(1 for e in result.get_asset_materialization_events()
                if e.asset_key and e.asset_key.path[0] not in ("raw", "benchmark_packs"))
    errors = not_built(run_results or {})
    words = f"{built} models/seeds built, {len(checks) - len(failed)} of {len(checks)} tests passed"
    return (words + (f"; not built: {', '.join(errors[:5])}" if errors else "")
            + (f"; failed: {', '.join(failed[:5])}" if failed else ""))


def _run_results(quarter: str) -> dict:
    """The quarter's last dbt build's run_results.json ({} when dbt did not write one)."""
    import json

    from pipeline.dbt_args import state_path

    try:
        return json.loads((state_path(quarter) / "run_results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def publish(instance, defs, quarter: str, log=print, tags: dict | None = None):
    """The publication run for one quarter (the partition of the dbt assets and the packs).  dbt
    prints every model and test; that goes to a log file, and the console gets a one-line verdict
    built from the run's asset checks and materialisations."""
    job = defs.resolve_job_def("publish_job")
    log_path = paths.home() / "logs" / f"publish-{quarter}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w", encoding="utf-8") as fh, contextlib.redirect_stdout(fh):
        result = job.execute_in_process(instance=instance, raise_on_error=False, run_config=QUIET,
                                        partition_key=quarter, tags={**(tags or {}), "lsrp/trigger": "lsrp run"})
    log(f"  dbt build: {dbt_verdict(result, _run_results(quarter))} (full log: {log_path})")
    for why in failure_reasons(result):
        log(f"  Not published: {why}")
    if result.success:
        from pipeline import release

        log(f"  Analysts' read-only copy: {release.published_dir() / 'warehouse.duckdb'} (+ parquet/ per mart)")
    return result


def failure_reasons(result) -> list[str]:
    """Each failed step's own message, first line only (never its stack trace)."""
    out = []
    for event in result.get_step_failure_events():
        error = event.step_failure_data.error
        message = (error.message if error else "") or "failed"
        out.append(f"{event.step_key}: {message.split(': ', 1)[-1].splitlines()[0][:600]}")
    return out


def summary(quarter: str, published: bool = True) -> str:
    from pipeline import warehouse
    from pipeline.defs.partitions import la_codes

    with warehouse.session() as con:
        rows = con.execute(
            """with latest as (
                 select *, row_number() over (partition by la_code, period order by received_at desc) as n
                 from raw.submissions where la_code is not null)
               select period, status, count(*) from latest where n = 1 group by 1, 2 order by 1, 2""").fetchall()
        total = con.execute("select count(*) from raw.submissions").fetchall()[0][0]
        held = con.execute("select la_code, period, hold_test from raw.submissions where held_at is not null "
                           "and period <= ? order by period, la_code", [quarter]).fetchall()
    by_period: dict[str, dict[str, int]] = {}
    for period, status, n in rows:
        by_period.setdefault(period, {})[status] = n
    n_las = len(la_codes())
    lines = [f"Summary ({total} uploads archived and checked; latest upload per LA and quarter):"]
    for period, counts in sorted(by_period.items()):
        received = sum(counts.values())
        lines.append(f"  {period}: {received} of {n_las} LAs returned; accepted {counts.get('accepted', 0)}, "
                     f"accepted with queries {counts.get('accepted_with_queries', 0)}, "
                     f"rejected {counts.get('rejected', 0)}")
    for la, period, test in held:
        lines.append(f"  Held back: LA {la}'s {period} return passed validation but failed the warehouse check "
                     f"{test}; published without it (its pack and feedback say why).")
    index = paths.packs() / "index.html"
    if published and index.exists():
        lines.append(f"  Packs for {quarter}: {index}")
    else:
        lines.append(f"  No packs were published for {quarter} (the previous release, if any, stands).")
    lines.append(f"  Feedback per return: {paths.feedback()}")
    return "\n".join(lines)


def main(args) -> int:
    ensure_dagster_home()
    from dagster import DagsterInstance

    from pipeline.definitions import defs
    from pipeline.defs.warehouse_dbt import latest_period_with_returns

    t0 = time.time()
    if getattr(args, "no_pdf", False):
        os.environ["LSRP_PACK_PDF"] = "0"
    if args.sample != "none":
        # `--sample full --quarter 2028-29-Q4` generates the whole plan up to that quarter (synthetic/);
        # without --quarter, the quick start's Q1 and Q2 of 2026-27
        stage_sample(args.sample, **({"quarter": args.quarter} if args.quarter and args.sample == "full" else {}))
    instance = DagsterInstance.get()
    parse = start_dbt_parse(defs, expected_quarter(args.quarter))
    print(f"Ingesting the inbox {paths.inbox()} ...", flush=True)
    try:
        failed = ingest_inbox(instance, defs)
    finally:
        finish_dbt_parse(parse)
    quarter = args.quarter or latest_period_with_returns()
    if quarter is None:
        print("No accepted return in the warehouse: nothing to publish.")
        return 1
    from pipeline.defs.partitions import period_partitions

    if quarter not in period_partitions.get_partition_keys():
        print(f"{quarter} is not a quarter of the collection (the partitions run "
              f"{period_partitions.get_partition_keys()[0]} to {period_partitions.get_partition_keys()[-1]}).",
              file=sys.stderr)
        return 1
    pdf_note = ("" if os.environ.get("LSRP_PACK_PDF") == "0"
                else "; PDFs (Typst, no browser) about 35 s more on 2 idle cores, --no-pdf skips them")
    print(f"Building the warehouse (dbt) and publishing packs for {quarter} "
          f"(about 20 s for HTML, CSV and XLSX{pdf_note}) ...", flush=True)
    # a quarter published before: publish as the republish sensor would, re-rendering only the packs
    # of the LAs whose returns were loaded since (the run tag it sets); else the whole quarter
    from pipeline.defs.service import republish_requests

    again = next((r for r in republish_requests(instance) if r.partition_key == quarter), None)
    result = publish(instance, defs, quarter, tags=again.tags if again else None)
    print(summary(quarter, published=result.success))
    print(f"Done in {time.time() - t0:.0f} s.")
    if failed or not result.success:
        print(f"{failed} ingest run(s) failed{'' if result.success else ' and the publication run failed'}; "
              f"see the Dagster UI (dagster dev -w workspace.yaml).", file=sys.stderr)
        return 1
    return 0
