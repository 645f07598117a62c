"""`lsrp`: the command line for analysts and LA data officers.

Each subcommand imports its module lazily so `lsrp validate` starts fast and never needs dbt or
Dagster.  Usage problems exit 2 (argparse's convention); anything unexpected is reported in one
line rather than as a traceback.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_template(args) -> int:
    from pipeline import template

    out = Path(args.output or template.default_file_name(year=args.year))
    template.write(out, year=args.year)
    print(f"Wrote blank quarterly return template ({args.year or 'current year'}) to {out}")
    return 0


def _cmd_sample(args) -> int:
    from synthetic import sample

    summary = sample.generate(Path(args.out), quarter=args.quarter, seed=args.seed,
                              la_codes=args.la or None)
    print(summary)
    return 0


def _cmd_validate(args) -> int:
    from contracts import validate

    return validate.cli(args.files, fmt=args.format)


def _cmd_run(args) -> int:
    from pipeline import run

    return run.main(args)


def _cmd_serve(args) -> int:
    from pipeline import serve

    return serve.serve_main(args)


def _cmd_health(args) -> int:
    from pipeline import serve

    return serve.health_main(args)


def _cmd_publish(args) -> int:
    from pipeline import serve

    return serve.publish_main(args)


def _cmd_status(args) -> int:
    """Who is in, from the upload ledger (the live collection status), and rewrite its files."""
    from pipeline import live_status

    live_status.write()
    doc = live_status.read() or {"quarters": []}
    quarters = [q for q in doc["quarters"] if args.quarter in (None, q["period"])]
    if not quarters:
        print(f"No quarter {args.quarter or ''} has opened yet.".replace("  ", " "))
        return 1
    for q in quarters[: None if args.quarter else 1]:
        counts: dict[str, int] = {}
        for r in q["las"]:
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        print(f"{q['period']}: window {q['window']} (opens {q['opens']}, deadline {q['deadline']}); "
              f"{q['received']} of {len(q['las'])} LAs in: "
              + ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in sorted(counts.items())))
        if args.missing and q["missing"]:
            names = {r["la_code"]: r["la_name"] for r in q["las"]}
            print("  missing: " + "; ".join(f"{c} {names[c]}" for c in q["missing"]))
    print(f"(also in {live_status.json_path()} and {live_status.parquet_path().name})")
    return 0


def _cmd_users(args) -> int:
    from portal import users_cli  # the one place pipeline calls up into the portal: the command line

    return users_cli.run(args)


def _cmd_forecast(args) -> int:
    from forecasting.cli import run as forecast_run

    return forecast_run(args.file, horizon=args.horizon, level=args.level, do_backtest=args.backtest, out=args.out,
                        period_basis=args.period_basis, seasonal=args.seasonal)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lsrp", description="Local SEND Reform Plan quarterly returns")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("template", help="write the blank quarterly return workbook")
    t.add_argument("-o", "--output", help="output file (default: DfE's file name in the current folder)")
    from contracts.catalogue import years
    t.add_argument("--year", default=None, choices=years(),
                   help="collection year (that year's template: the catalogue's years overlay)")
    t.set_defaults(func=_cmd_template)

    s = sub.add_parser("sample", help="generate realistic sample returns for the 153 LAs")
    s.add_argument("--out", default="data/sample", help="output folder")
    s.add_argument("--quarter", default="2026-27-Q2", help="last quarter to generate, e.g. 2026-27-Q2")
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--la", action="append", help="only this LA code (repeatable)")
    s.set_defaults(func=_cmd_sample)

    v = sub.add_parser("validate", help="check return workbooks exactly as DfE's ingest does")
    v.add_argument("files", nargs="+", help="xlsx files to check")
    v.add_argument("--format", choices=("text", "json"), default="text")
    v.set_defaults(func=_cmd_validate)

    r = sub.add_parser("run", help="run the whole quarterly cycle once: ingest, warehouse, packs")
    r.add_argument("--sample", choices=("full", "small", "none"), default="none",
                   help="first put a generated sample into the inbox (full = all 153 LAs)")
    r.add_argument("--quarter", default=None, help="quarter to publish (default: latest with returns); with "
                   "--sample full, the sample is generated up to it (e.g. 2028-29-Q4: the whole plan)")
    r.add_argument("--no-pdf", action="store_true",
                   help="skip the PDF version of each pack (about 40 s for 153 packs on 2 cores)")
    r.set_defaults(func=_cmd_run)

    sv = sub.add_parser("serve", help="run the collection as a service: Dagster daemon (inbox sensor, "
                                      "schedules, retries), web server and portal; SIGTERM stops them all")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=3000)
    sv.add_argument("--no-webserver", action="store_true", help="do not start the web server (the Dagster UI)")
    sv.add_argument("--portal-port", type=int, default=3100, help="the portal's port (when portal/ is installed)")
    sv.add_argument("--no-portal", action="store_true", help="do not start the portal")
    sv.add_argument("--health-port", type=int, default=3001,
                    help="port of the health endpoint GET /healthz (200 healthy, 503 not); 0: none")
    sv.set_defaults(func=_cmd_serve)

    h = sub.add_parser("health", help="is the service up? exit 0 healthy, 1 not (daemon heartbeats, web server, portal)")
    h.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    h.set_defaults(func=_cmd_health)

    st = sub.add_parser("status", help="who is in: each LA's latest upload and status for a quarter (live, from the ledger)")
    st.add_argument("--quarter", default=None, help="e.g. 2026-27-Q2 (default: the newest opened)")
    st.add_argument("--missing", action="store_true", help="list the LAs with no upload")
    st.set_defaults(func=_cmd_status)

    pb = sub.add_parser("publish", help="publish a quarter now, through the running service's run queue")
    pb.add_argument("--quarter", required=True, help="e.g. 2026-27-Q2")
    pb.add_argument("--no-wait", action="store_true", help="submit the run and return")
    pb.add_argument("--timeout", type=float, default=3600, help="seconds to follow the run (default 3600)")
    pb.set_defaults(func=_cmd_publish)

    u = sub.add_parser("users", help="portal accounts: add (prints a one-time link to set the password), "
                                     "list, disable, enable, reset")
    u.add_argument("action", choices=("add", "list", "disable", "enable", "reset"))
    u.add_argument("--email", help="the user's email address (add, disable, enable, reset)")
    u.add_argument("--la", help="LA code: an LA user bound to this LA (add)")
    u.add_argument("--role", choices=("la", "dfe", "admin"), help="default: la when --la is given (add)")
    u.set_defaults(func=_cmd_users)
    fc = sub.add_parser("forecast", help="project a tidy series (area code, period, value[, numerator, "
                                         "denominator]) with intervals, or backtest the method on it")
    fc.add_argument("file", type=Path, help="tidy CSV: area_code, period, value, optional numerator, denominator")
    fc.add_argument("--horizon", type=int, help="steps ahead (default: to the end of the plan year)")
    fc.add_argument("--level", type=float, default=80, help="interval coverage in per cent (default 80)")
    fc.add_argument("--backtest", action="store_true", help="forecast from each origin what came next and score it")
    fc.add_argument("--out", type=Path, help="write the projections here (default: standard output)")
    fc.add_argument("--period-basis", default="point_in_time", choices=("point_in_time", "year_to_date",
                                                                        "annualised", "term"),
                    help="year_to_date: a cumulative flow projected to the full year (default point_in_time)")
    fc.add_argument("--seasonal", action="store_true", help="compare the same term a year earlier")
    fc.set_defaults(func=_cmd_forecast)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:  # the user gets one clear line, not a traceback
        print(f"lsrp {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
