"""`lsrp serve`, `lsrp health`, `lsrp publish`: the collection as a well-behaved service.

``serve``
  1. writes the instance configuration and sets up the instance's storage once, in this process,
     before any child starts (the daemon and the web server creating a fresh SQLite storage at once
     both stamp its schema: "table alembic_version already exists");
  2. starts the daemon, the web server and (when ``portal/__main__.py`` exists) the portal, all in
     one new process group, each from this environment's bin folder (never PATH);
  3. becomes the subreaper of everything below it (Linux), so a run worker or dbt whose parent died
     is still its descendant and is stopped with the rest;
  4. answers ``GET /healthz`` on ``--health-port`` (JSON, 200 healthy / 503 not);
  5. on SIGTERM or SIGINT (or a child dying): SIGTERM to the group, then SIGKILL after
     LSRP_STOP_SECONDS (20) to the group and any descendant left; a run still in progress is then
     marked failed ("interrupted by the service stopping"), so run retries relaunch it when the
     service starts again.  Nothing it started outlives it.

``health`` (exit 0 healthy, 1 not): the serve process alive, every daemon the instance needs
heartbeating within LSRP_HEARTBEAT_SECONDS (120), the web server's ``/server_info`` and the portal's
``/healthz`` answering.  ``publish``: a publish_job run for one quarter submitted to the service's run
queue (so it waits for the one writer slot), followed to its end, retries included.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline import paths

IN_FLIGHT = ("STARTING", "STARTED", "CANCELING")
DONE = ("SUCCESS", "FAILURE", "CANCELED")
INTERRUPTED = ("Interrupted: the service (lsrp serve) stopped while this run was in progress; run retries "
               "launch it again when the service starts.")


def record_path() -> Path:
    """What `lsrp serve` is running (pid, process group, ports), for `lsrp health`."""
    return paths.home() / "service.json"


def portal_available() -> bool:
    return (paths.REPO / "portal" / "__main__.py").exists()


def service_processes(host: str = "127.0.0.1", port: int = 3000, webserver: bool = True,
                      portal_port: int | None = None) -> list[list[str]]:
    """The commands `lsrp serve` starts from the repository folder: the daemon (sensors, schedules,
    run queue, retries, monitoring; ``pipeline/daemon.py``: dagster-daemon logging only what
    changed), unless turned off the web server, and the portal when a port is given and the portal
    package is there.  Every tool comes from beside ``sys.executable``, never from PATH."""
    from pipeline.defs.dbt_project import env_tool

    env_tool("dagster-daemon")  # installed here (pipeline.daemon runs its code, with a quieter console)
    cmds = [[sys.executable, "-m", "pipeline.daemon", "run", "-w", "workspace.yaml"]]
    if webserver:
        cmds.append([env_tool("dagster-webserver"), "-w", "workspace.yaml", "-h", host, "-p", str(port)])
    if portal_port and portal_available():
        cmds.append([sys.executable, "-m", "portal", "--host", host, "--port", str(portal_port)])
    return cmds


def _name(cmd: list[str]) -> str:
    return cmd[2] if len(cmd) > 2 and cmd[1] == "-m" else Path(cmd[0]).name


def prepare_instance() -> Path:
    """dagster.yaml written and every storage of the instance created and migrated, here, once."""
    from pipeline import run

    home = run.ensure_dagster_home()
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        instance.upgrade()
        instance.get_runs(limit=1)
        instance.all_instigator_state()
        instance.get_daemon_heartbeats()
    return home


# ------------------------------------------------------------------ processes
def _become_subreaper() -> bool:
    """PR_SET_CHILD_SUBREAPER: orphans below us are re-parented to us, not to init."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0
    except Exception:
        return False


def _die_with_parent() -> None:
    """In a child, before exec: SIGTERM it if `lsrp serve` itself is killed (kill -9, OOM), so the
    daemon and the web server do not carry on as orphans; the daemon's run workers are then stopped
    by the service manager (KillMode=control-group) or found at the next start (run monitoring,
    the run_worker_watchdog sensor)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, pgid, state) for every process."""
    out = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            out[int(p.name)] = (int(fields[1]), int(fields[2]), fields[0])
        except (OSError, ValueError, IndexError):
            continue
    return out


def descendants(root: int | None = None) -> list[int]:
    """Every live process below ``root`` (default: this one)."""
    root = root or os.getpid()
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, state) in table.items():
        if state != "Z":
            children.setdefault(ppid, []).append(pid)
    out, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def group_members(pgid: int) -> list[int]:
    return [pid for pid, (_, g, state) in _proc_table().items() if g == pgid and state != "Z"]


def _reap(keep: set[int]) -> None:
    """Collect orphans that died under us (we are their subreaper), not our own Popen children."""
    for pid, (ppid, _, state) in _proc_table().items():
        if ppid == os.getpid() and state == "Z" and pid not in keep:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)


def _signal_all(pgid: int | None, sig: int) -> None:
    if pgid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for pid in descendants():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def stop_all(procs: list[subprocess.Popen], pgid: int | None, grace: float) -> None:
    """SIGTERM to the group and every descendant, SIGKILL after ``grace`` seconds; all reaped."""
    keep = {p.pid for p in procs}
    _signal_all(pgid, signal.SIGTERM)
    end = time.time() + grace
    while time.time() < end and (descendants() or (pgid and group_members(pgid))):
        _reap(keep)
        for p in procs:
            p.poll()
        time.sleep(0.2)
    if descendants() or (pgid and group_members(pgid)):
        _signal_all(pgid, signal.SIGKILL)
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(timeout=10)
    end = time.time() + 10
    while time.time() < end and descendants():
        _reap(keep)
        time.sleep(0.1)
    _reap(keep)


def mark_interrupted_runs(instance) -> list[str]:
    """Runs the service's workers were running, still in progress once every worker is gone, are
    marked failed, so run retries relaunch them at the next start (a worker that handled SIGTERM
    has failed its own run already).  A run whose worker is still alive (another process's, e.g.
    `lsrp run` in process, which names no worker) is left alone."""
    import dagster as dg

    from pipeline import ledger
    from pipeline.defs.service import worker_pid

    statuses = [dg.DagsterRunStatus(s) for s in IN_FLIGHT]
    marked = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=statuses)):
        pid = worker_pid(instance, run.run_id)
        if (pid is not None and not ledger.pid_alive(pid)) or (pid is None and run.status == dg.DagsterRunStatus.STARTING):
            instance.report_run_failed(run, message=INTERRUPTED)
            marked.append(run.run_id)
    return marked


# ------------------------------------------------------------------ health
def _http_ok(url: str, timeout: float = 3) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200, f"HTTP {resp.status}"
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"


def daemon_health(instance, max_age: float | None = None) -> tuple[bool, str]:
    max_age = float(max_age or os.environ.get("LSRP_HEARTBEAT_SECONDS", 120))
    beats = instance.get_daemon_heartbeats()
    now = time.time()
    problems = []
    for daemon in instance.get_required_daemon_types():
        beat = beats.get(daemon)
        if beat is None:
            problems.append(f"{daemon}: no heartbeat yet")
        elif now - beat.timestamp > max_age:
            problems.append(f"{daemon}: last heartbeat {now - beat.timestamp:.0f} s ago")
    return not problems, "; ".join(problems) or f"{len(instance.get_required_daemon_types())} daemons heartbeating"


def checks(record: dict | None, instance=None) -> dict[str, dict]:
    """Each part of the service: {"ok": bool, "detail": str}."""
    out: dict[str, dict] = {}
    if record is None:
        return {"serve": {"ok": False, "detail": f"not running (no {record_path()})"}}
    pid = record.get("pid")
    alive = bool(pid) and Path(f"/proc/{pid}").exists()
    out["serve"] = {"ok": alive, "detail": f"pid {pid}" + ("" if alive else " is gone")}
    try:
        if instance is None:
            import dagster as dg

            with dg.DagsterInstance.get() as inst:
                ok, detail = daemon_health(inst)
        else:
            ok, detail = daemon_health(instance)
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"
    out["daemon"] = {"ok": ok, "detail": detail}
    host = record.get("host", "127.0.0.1")
    if record.get("port"):
        ok, detail = _http_ok(f"http://{host}:{record['port']}/server_info")
        out["webserver"] = {"ok": ok, "detail": detail}
    if record.get("portal_port"):
        ok, detail = _http_ok(f"http://{host}:{record['portal_port']}/healthz")
        out["portal"] = {"ok": ok, "detail": detail}
    return out


def read_record() -> dict | None:
    try:
        return json.loads(record_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def health_main(args) -> int:
    from pipeline import run

    run.ensure_dagster_home()
    result = checks(read_record())
    healthy = all(c["ok"] for c in result.values())
    if getattr(args, "json", False):
        print(json.dumps({"healthy": healthy, "checks": result}))
    else:
        for name, c in result.items():
            print(f"{name:10} {'ok' if c['ok'] else 'FAILING':8} {c['detail']}")
        print("healthy" if healthy else "NOT healthy")
    return 0 if healthy else 1


def _health_server(host: str, port: int, record: dict, instance) -> ThreadingHTTPServer:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in ("/healthz", "/health"):
                self.send_error(404)
                return
            with lock:
                result = checks(record, instance)
            healthy = all(c["ok"] for c in result.values())
            body = json.dumps({"healthy": healthy, "checks": result}).encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # the service log says what changed, not every poll
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="lsrp-health", daemon=True).start()
    return server


# ------------------------------------------------------------------ serve
def serve_main(args) -> int:
    """Run the collection as a service until SIGTERM or SIGINT (or a child stops)."""
    stop = threading.Event()
    why = {"signal": None}

    def _on_signal(signum, _frame):
        why["signal"] = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)

    home = prepare_instance()
    import dagster as dg

    env = {**os.environ, "DAGSTER_HOME": str(home), "LSRP_HOME": str(paths.home())}
    portal_port = None if args.no_portal else args.portal_port
    cmds = service_processes(args.host, args.port, webserver=not args.no_webserver, portal_port=portal_port)
    _become_subreaper()
    procs: list[subprocess.Popen] = []
    pgid = None
    for cmd in cmds:
        if stop.is_set():
            break
        p = subprocess.Popen(cmd, cwd=paths.REPO, env=env, process_group=pgid or 0, preexec_fn=_die_with_parent)
        pgid = pgid or p.pid
        procs.append(p)
    record = {"pid": os.getpid(), "pgid": pgid, "host": args.host,
              "port": None if args.no_webserver else args.port,
              "portal_port": portal_port if any(c[1:3] == ["-m", "portal"] for c in cmds) else None,
              "health_port": args.health_port or None, "started": time.time(),
              "children": {_name(c): p.pid for c, p in zip(cmds, procs)}}
    tmp = record_path().with_suffix(".tmp")
    record_path().parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, record_path())
    instance = dg.DagsterInstance.get()
    server = None
    if args.health_port:
        try:
            server = _health_server(args.host, args.health_port, record, instance)
        except OSError as exc:
            print(f"lsrp serve: health endpoint not started on port {args.health_port}: {exc}", file=sys.stderr)
    ui = f" UI: http://{args.host}:{args.port}." if not args.no_webserver else ""
    portal = f" Portal: http://{args.host}:{portal_port}." if record["portal_port"] else ""
    health = f" Health: http://{args.host}:{args.health_port}/healthz." if server else ""
    print(f"Serving {paths.home()} (DAGSTER_HOME={home}); inbox {paths.inbox()}; analysts read "
          f"{paths.home() / 'published'}.{ui}{portal}{health} SIGTERM or Ctrl-C stops.", flush=True)
    code = 0
    try:
        while not stop.wait(1):
            _reap({p.pid for p in procs})
            dead = [(c, p) for c, p in zip(cmds, procs) if p.poll() is not None]
            if dead:
                names = ", ".join(f"{_name(c)} (exit {p.returncode})" for c, p in dead)
                print(f"lsrp serve: {names} stopped; stopping the rest.", file=sys.stderr, flush=True)
                code = 1
                break
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"lsrp serve: stopping ({why['signal'] or 'a child stopped'}) ...", flush=True)
        if server is not None:
            server.shutdown()
        stop_all(procs, pgid, float(os.environ.get("LSRP_STOP_SECONDS", 20)))
        try:
            marked = mark_interrupted_runs(instance)
            if marked:
                print(f"lsrp serve: {len(marked)} run(s) in progress marked failed; run retries launch them "
                      f"again at the next start: {', '.join(marked)}", flush=True)
        except Exception as exc:
            print(f"lsrp serve: could not mark runs in progress failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        instance.dispose()
        with contextlib.suppress(OSError):
            if (read_record() or {}).get("pid") == os.getpid():
                record_path().unlink()
        print("lsrp serve: stopped.", flush=True)
    return code


# ------------------------------------------------------------------ publish by hand
def publish_main(args) -> int:
    """Submit publish_job for ``args.quarter`` to the service's run queue and follow it to its end."""
    from pipeline import run
    from pipeline.defs.dbt_project import env_tool
    from pipeline.defs.partitions import period_partitions

    if args.quarter not in period_partitions.get_partition_keys():
        print(f"lsrp publish: {args.quarter} is not a quarter of the collection "
              f"({', '.join(period_partitions.get_partition_keys())}).", file=sys.stderr)
        return 2
    run.ensure_dagster_home()
    import dagster as dg

    request = uuid.uuid4().hex[:12]
    tags = {"dagster/partition": args.quarter, "lsrp/trigger": "lsrp publish", "lsrp/request": request}
    import tempfile

    from pipeline.defs.jobs import SERVICE_LOGS

    with tempfile.NamedTemporaryFile("w", suffix=".json", prefix="lsrp-publish-") as cfg:
        json.dump(SERVICE_LOGS, cfg)  # JSON is YAML
        cfg.flush()
        cmd = [env_tool("dagster"), "job", "launch", "-w", "workspace.yaml", "-j", "publish_job",
               "--tags", json.dumps(tags), "-c", cfg.name]
        done = subprocess.run(cmd, cwd=paths.REPO, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        print(f"lsrp publish: could not submit the run:\n{(done.stderr or done.stdout)[-2000:]}", file=sys.stderr)
        return 1
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"lsrp/request": request}), limit=1)
        if not runs:
            print("lsrp publish: the run was submitted but cannot be found in the instance "
                  f"(DAGSTER_HOME={os.environ.get('DAGSTER_HOME')}).", file=sys.stderr)
            return 1
        current = runs[0]
        print(f"Submitted publish_job for {args.quarter}: run {current.run_id} (queued behind any run writing "
              "the warehouse).", flush=True)
        if args.no_wait:
            return 0
        deadline = time.time() + args.timeout
        shown = None
        while time.time() < deadline:
            current = instance.get_run_by_id(current.run_id)
            status = current.status.value
            if status != shown:
                print(f"  {time.strftime('%H:%M:%S')} {current.run_id[:8]} {status.lower()}", flush=True)
                shown = status
            if status in DONE:
                retry = _retry_of(instance, current) if status == "FAILURE" else None
                if retry is None:
                    return _outcome(instance, current, args.quarter)
                print(f"  run retries launched {retry.run_id} (retry {retry.tags.get('dagster/retry_number')})",
                      flush=True)
                current, shown = retry, None
            time.sleep(1)
        print(f"lsrp publish: still {shown} after {args.timeout:.0f} s; it goes on in the service "
              f"(run {current.run_id}).", file=sys.stderr)
        return 1


def _retry_of(instance, run, wait: float = 90):
    """The run retries' relaunch of a failed run, or None when it will not be retried."""
    import dagster as dg

    end = time.time() + wait
    while time.time() < end:
        run = instance.get_run_by_id(run.run_id)
        will = run.tags.get("dagster/will_retry")
        if will is not None and will.lower() != "true":
            return None
        children = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/parent_run_id": run.run_id}), limit=1)
        if children:
            return children[0]
        if will is None and not instance.run_retries_enabled:
            return None
        time.sleep(1)
    return None


def _outcome(instance, run, quarter: str) -> int:
    import dagster as dg

    took = ""
    rec = instance.get_run_record_by_id(run.run_id)
    if rec and rec.start_time and rec.end_time:
        took = f" in {rec.end_time - rec.start_time:.0f} s"
    if run.status != dg.DagsterRunStatus.SUCCESS:
        print(f"Publication of {quarter} {run.status.value.lower()}{took} (run {run.run_id}); see the run in the "
              "Dagster UI.", file=sys.stderr)
        return 1
    meta = {}
    recs = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=dg.AssetKey("benchmark_packs"),
                                                                 asset_partitions=[quarter]), limit=1).records
    if recs and recs[0].run_id == run.run_id and recs[0].asset_materialization:
        meta = {k: getattr(v, "value", v) for k, v in recs[0].asset_materialization.metadata.items()}
    packs = (f": {meta.get('packs_written', 0)} pack(s) written, {meta.get('packs_unchanged', 0)} unchanged, "
             f"{meta.get('packs_not_rendered', 0)} carried over") if meta else ""
    print(f"Published {quarter}{took}{packs}. Packs: {paths.packs() / 'index.html'}; analysts' copy: "
          f"{paths.home() / 'published'}.", flush=True)
    return 0
