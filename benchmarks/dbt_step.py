"""Where the dbt step of the newest publication went, second by second, from what it left behind.

    uv run python -m benchmarks.dbt_step $LSRP_HOME

Reads the Dagster instance in $LSRP_HOME/dagster_home (the step's own events and logs), dbt's
dbt.log and run_results.json in the step's state folder (pipeline.dbt_args.state_path), and prints
one row per part of the step: before dbt starts, dbt's start-up, its parse, its nodes, after it.
"""
from __future__ import annotations

import collections
import json
import sys
from datetime import datetime
from pathlib import Path

STEP = "lsrp_dbt_assets"


def _ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def step_events(home: Path, run_index: int = -1) -> tuple[str, list[tuple[float, str, str]]]:
    """(quarter, [(timestamp, event type, message)]) of the dbt step in a publish run."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home / "dagster_home"))
    try:
        runs = sorted((r for r in instance.get_run_records() if r.dagster_run.job_name == "publish_job"),
                      key=lambda r: r.start_time)
        run = runs[run_index].dagster_run
        out = [(e.timestamp, e.dagster_event.event_type_value if e.dagster_event else "LOG", e.user_message or "")
               for e in instance.all_logs(run.run_id) if e.step_key == STEP]
        return run.tags.get("dagster/partition", ""), out
    finally:
        instance.dispose()


def dbt_phases(target: Path, launched: float, finished: float) -> dict[str, float]:
    """Timestamps of the dbt invocation that ran between ``launched`` and ``finished`` (dbt.log and its
    rotated files): its first log line, the end of parsing, its last log line; and whether it parsed
    the whole project (its saved parse was not reused)."""
    by_inv: dict[str, list[dict]] = collections.defaultdict(list)
    for f in sorted(target.glob("dbt.log*"), key=lambda f: -int(f.suffix[1:]) if f.suffix[1:].isdigit() else 0):
        for line in f.read_text().splitlines():
            if line.startswith("{"):
                info = json.loads(line)["info"]
                by_inv[info.get("invocation_id")].append(info)
    mine = next(v for v in by_inv.values() if launched - 1 <= _ts(v[0]["ts"]) <= finished)
    code: dict[str, float] = {}
    for e in mine:
        code.setdefault(e["code"], _ts(e["ts"]))
    return {"first_log": _ts(mine[0]["ts"]), "parsed": code.get("W006", code.get("Q027")),
            "last_log": _ts(mine[-1]["ts"]), "full_parse": "I024" in code}


def attribution(home: Path, run_index: int = -1) -> list[tuple[str, float]]:
    from pipeline.dbt_args import state_path

    quarter, ev = step_events(home, run_index)
    start = next(t for t, k, _ in ev if k == "STEP_START")
    end = next(t for t, k, _ in ev if k in ("STEP_SUCCESS", "STEP_FAILURE"))
    logs = [(t, m) for t, k, m in ev if k == "LOG"]
    staged = next(t for t, m in logs if m.startswith("dbt build for"))
    launched = next(t for t, m in logs if m.startswith("Running dbt command"))
    finished = next(t for t, m in logs if m.startswith("Finished dbt command"))
    target = state_path(quarter, home)
    p = dbt_phases(target, launched, finished)
    rows = [("step start to stage_build done (warehouse copied)", staged - start),
            ("dagster-dbt before dbt starts", launched - staged),
            ("dbt: process start (imports) to its first log line", p["first_log"] - launched),
            (f"dbt: parse ({'full' if p['full_parse'] else 'partial'})", p["parsed"] - p["first_log"]),
            ("dbt: nodes and artifacts (parse end to its last log line)", p["last_log"] - p["parsed"]),
            ("dbt: exit", finished - p["last_log"]),
            ("after dbt: verdict, swap_in, published copy", end - finished)]
    if run_index == -1:  # run_results.json is the newest build's
        kinds = collections.defaultdict(lambda: [0, 0.0])
        rr = json.loads((target / "run_results.json").read_text())
        for r in rr["results"]:
            k = kinds[r["unique_id"].split(".")[0]]
            k[0] += 1
            k[1] += r["execution_time"]
        rows += [(f"  (dbt's run_results: elapsed {rr['elapsed_time']:.1f} s; "
                  + "; ".join(f"{n} {kind}s {s:.1f} s summed over its threads" for kind, (n, s) in kinds.items())
                  + ")", None)]
    return rows + [("the step", end - start)]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    home = Path(argv[0] if argv else "data").resolve()
    print("| part of the dbt step | seconds |\n|---|---:|")
    for name, secs in attribution(home, int(argv[1]) if len(argv) > 1 else -1):
        print(f"| {name} | {'' if secs is None else f'{secs:.2f}'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
