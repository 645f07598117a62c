"""Portal load: every LA's user signs in and uploads its return, ``concurrency`` at once, against the real
service (``lsrp serve``: the Dagster daemon and the uvicorn-served portal, no Dagster UI) on its own
LSRP_HOME.  One implementation for ``tests/test_portal_load.py`` and ``benchmarks/run.py`` (``--portal-only``).

Two times per upload, both from the moment its POST is sent:
- **validation answer**: the upload POST's response (the portal has streamed, checked in the ingest's
  child process and handed the file to the ledger; the next page shows the findings);
- **final status**: the event's done record written by the daemon's ingest run (its mtime: the ledger
  writes it once, atomically, when the run has answered the event).

Users' passwords are hashed cheaply (Argon2 at minimum cost, which the stored hash names): sign-in is
not what is measured, and 153 production-cost hashes would load the 2 cores the uploads share.
"""
from __future__ import annotations

import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PERIOD = "2026-27-Q2"
LSRP = str(Path(sys.executable).with_name("lsrp"))
PASSWORD = "load test passphrase 2026"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FINAL_WORDS = {"accepted": "Status: Accepted", "accepted_with_queries": "Status: Accepted with queries",
               "rejected": "Status: Rejected"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service_env(home: Path, **extra: str) -> dict:
    """The service's environment: this home only, short settle time and sensor interval (uploads are
    picked up within seconds), no PDFs, no automatic republication during a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LSRP_", "DAGSTER_"))}
    env.update({"LSRP_HOME": str(home), "LSRP_PACK_PDF": "0", "LSRP_SETTLE_SECONDS": "1",
                "LSRP_SENSOR_INTERVAL": "2", "LSRP_REPUBLISH_SECONDS": "3600", **extra})
    return env


class Service:
    """``lsrp serve --no-webserver`` with the portal, in its own process group (session)."""

    def __init__(self, home: Path, **extra_env: str):
        self.home, self.env = home, service_env(home, **extra_env)
        self.port, self.health_port = free_port(), free_port()
        self.log = home.parent / f"{home.name}-serve.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300) -> "Service":
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(
                [LSRP, "serve", "--no-webserver", "--portal-port", str(self.port), "--health-port", str(self.health_port)],
                cwd=REPO, env=self.env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"lsrp serve exited {self.proc.returncode}\n{self.tail()}")
            try:  # healthy: the daemon's heartbeats and the portal's /healthz (pipeline/serve.py checks)
                with urllib.request.urlopen(f"http://127.0.0.1:{self.health_port}/healthz", timeout=3) as r:
                    if r.status == 200 and json.loads(r.read())["checks"].get("portal", {}).get("ok"):
                        return
            except Exception:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"the service was not healthy within {timeout:.0f} s\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""

    def stop(self, timeout: float = 90) -> int | None:
        """SIGTERM to `lsrp serve` (it stops its whole group), then SIGKILL to the group if anything is left."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait()

    def publish(self, quarter: str = PERIOD, timeout: float = 900) -> subprocess.CompletedProcess:
        """``lsrp publish`` through the running service's run queue (waits for the outcome)."""
        return subprocess.run([LSRP, "publish", "--quarter", quarter], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=timeout)


def add_users(home: Path, users: list[tuple[str, str, str | None]], password: str = PASSWORD) -> None:
    """Accounts in the home's portal store ((email, role, la) each), with a password already set."""
    from argon2 import PasswordHasher

    from portal import auth
    from portal.store import Store

    hasher, auth._hasher = auth._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        store = Store(f"sqlite:///{home}/portal/portal.db")
        for email, role, la in users:
            _, token = auth.add_user(store, email, role, la)
            auth.set_password(store, token, password)
    finally:
        auth._hasher = hasher


def la_email(code: str) -> str:
    return f"officer@la{code}.example.gov.uk"


def returns_by_la(folder: Path) -> dict[str, Path]:
    """The sample's returns, by the LA code in their names."""
    from pipeline.ledger import la_code_from_name

    return {la_code_from_name(p.name): p for p in sorted(Path(folder).glob("*.xlsx"))}


def _csrf(html: str) -> str:
    m = CSRF.search(html)
    if not m:
        raise AssertionError("no CSRF token on the page")
    return m.group(1)


def upload_one(base: str, la: str, path: Path, period: str = PERIOD) -> dict:
    """One LA user: sign in, open the upload form, send the file.  ``answer_s``: the POST alone."""
    import httpx

    with httpx.Client(base_url=base, follow_redirects=False, timeout=120) as c:
        r = c.post("/sign-in", data={"email": la_email(la), "password": PASSWORD, "csrf": _csrf(c.get("/sign-in").text)})
        if r.status_code != 303:
            return {"la": la, "error": f"sign-in answered {r.status_code}"}
        token = _csrf(c.get(f"/la/{la}/upload").text)
        data = path.read_bytes()
        sent_at, t0 = time.time(), time.perf_counter()
        r = c.post(f"/la/{la}/upload", data={"csrf": token, "period": period},
                   files={"file": (path.name, data, "application/octet-stream")})
        answer = time.perf_counter() - t0
        where = r.headers.get("location", "")
        if r.status_code != 303 or not where.startswith("/uploads/"):
            return {"la": la, "error": f"upload answered {r.status_code}"}
        findings = c.get(where).status_code          # the page with the findings opens
        return {"la": la, "event_id": where.split("/")[2].split("?")[0], "sent_at": sent_at, "answer_s": answer,
                "page_status": findings}


def upload_all(base: str, files: dict[str, Path], concurrency: int = 20) -> tuple[list[dict], float]:
    """Every LA's upload, ``concurrency`` users at once; returns the results and the wall time."""
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(lambda item: upload_one(base, *item), sorted(files.items())))
    return results, time.perf_counter() - t0


def wait_answered(home: Path, results: list[dict], timeout: float = 600) -> None:
    """Fill each result's ``final_s`` from its done record (written once by the ingest run) as it appears."""
    done = home / "archive" / "ledger" / "done"
    end = time.time() + timeout
    pending = [r for r in results if "event_id" in r]
    while pending and time.time() < end:
        for r in list(pending):
            p = done / f"{r['event_id']}.json"
            if p.exists():
                r["final_s"] = p.stat().st_mtime - r["sent_at"]
                r["status"] = json.loads(p.read_text(encoding="utf-8"))["status"]
                pending.remove(r)
        time.sleep(0.5)


def confirm_pages(base: str, results: list[dict], concurrency: int = 20) -> None:
    """The final status as each LA user sees it on the upload's page (``shown``: True when it says so)."""
    def one(r: dict) -> None:
        import httpx

        with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as c:
            c.post("/sign-in", data={"email": la_email(r["la"]), "password": PASSWORD,
                                     "csrf": _csrf(c.get("/sign-in").text)})
            r["shown"] = FINAL_WORDS.get(r.get("status"), "?") in c.get(f"/uploads/{r['event_id']}").text

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, [r for r in results if "status" in r]))


def _stat(pid: str) -> list[str]:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()   # [0] is the state, [1] the parent, [11:15] the CPU times


def portal_cpu(port: int) -> float | None:
    """CPU seconds used so far by the portal serving ``port`` and every process below it (the checker's
    fork server and the children it reaped): a figure a busy machine disturbs far less than the wall
    clock.  None where there is no /proc."""
    if not os.path.isdir("/proc"):
        return None
    tick, parent, cpu, root = os.sysconf("SC_CLK_TCK"), {}, {}, None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = _stat(pid)
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                args = fh.read().split(b"\0")
        except (OSError, IndexError):
            continue
        if args[1:3] == [b"-m", b"portal"] and str(port).encode() in args:   # python -m portal ... --port N
            root = int(pid)
        parent[int(pid)], cpu[int(pid)] = int(fields[1]), sum(int(x) for x in fields[11:15]) / tick
    tree = {root} if root else set()
    while grown := {p for p, pp in parent.items() if pp in tree and p not in tree}:
        tree |= grown
    return sum(cpu[p] for p in tree) if tree else None


def percentile(values: list[float], q: float = 0.95) -> float | None:
    """Nearest rank: the smallest value at or above which lie ``q`` of the values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)] if ordered else None


def summary(results: list[dict], wall: float, concurrency: int) -> dict:
    answers = [r["answer_s"] for r in results if "answer_s" in r]
    finals = [r["final_s"] for r in results if "final_s" in r]
    return {"uploads": len(results), "concurrency": concurrency, "upload_wall_s": round(wall, 2),
            "validation_answers": len(answers), "final_statuses": len(finals),
            "shown_on_page": sum(1 for r in results if r.get("shown")),
            "p95_validation_answer_s": percentile(answers), "p50_validation_answer_s": percentile(answers, 0.5),
            "p95_final_status_s": percentile(finals), "p50_final_status_s": percentile(finals, 0.5),
            "errors": [r for r in results if "error" in r][:5], "load_average": os.getloadavg(),
            "statuses": {s: sum(1 for r in results if r.get("status") == s) for s in {r.get("status") for r in results}}}


def measure(home: Path, sample_q2: Path, concurrency: int = 20, codes: list[str] | None = None) -> dict:
    """Start the service on ``home``, upload every LA's return through the portal, wait for every answer,
    confirm it on the portal, stop the service; the figures (also written to ``home/portal_load.json``)."""
    files = returns_by_la(sample_q2)
    if codes is not None:
        files = {c: files[c] for c in codes}
    home.mkdir(parents=True, exist_ok=True)
    add_users(home, [(la_email(c), "la", c) for c in files])
    svc = Service(home).start()
    try:
        cpu = portal_cpu(svc.port)
        results, wall = upload_all(svc.url, files, concurrency)
        cpu = None if cpu is None else portal_cpu(svc.port) - cpu
        wait_answered(home, results)
        confirm_pages(svc.url, results, concurrency)
    finally:
        code = svc.stop()
    figures = {**summary(results, wall, concurrency), "service_exit": code, "log": str(svc.log),
               "portal_cpu_per_upload_s": None if cpu is None else cpu / len(files),
               **ledger_check(home)}
    (home / "portal_load.json").write_text(json.dumps({**figures, "results": results}, indent=1, default=str))
    return figures


def ledger_check(home: Path) -> dict:
    """The upload ledger's invariant on ``home`` once the service has stopped (nothing holds the
    warehouse then): every upload one event, archived, answered, in raw.submissions."""
    import duckdb

    from pipeline import ledger

    saved = {k: os.environ.get(k) for k in ("LSRP_HOME", "LSRP_WAREHOUSE")}
    os.environ.update(LSRP_HOME=str(home), LSRP_WAREHOUSE=str(home / "warehouse.duckdb"))
    try:  # the ledger's functions find the home through the environment
        problems = ledger.invariant_problems(settle=0)
        events, done = len(ledger.events()), len(ledger.done_ids())
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute("select count(*) from raw.submissions").fetchone()[0]
    return {"ledger_events": events, "ledger_done": done, "raw_submissions": rows, "invariant_problems": problems}


def report(f: dict) -> str:
    fmt = lambda v: "n/a" if v is None else f"{v:.2f} s"  # noqa: E731
    return (f"portal load: {f['uploads']} LA users, {f['concurrency']} at once, uploads sent in {f['upload_wall_s']:.1f} s; "
            f"validation answer p95 {fmt(f['p95_validation_answer_s'])} (p50 {fmt(f['p50_validation_answer_s'])}); "
            f"final status p95 {fmt(f['p95_final_status_s'])} (p50 {fmt(f['p50_final_status_s'])}); "
            f"portal CPU {fmt(f.get('portal_cpu_per_upload_s'))} an upload; load average {f['load_average'][0]:.1f}")


if __name__ == "__main__":
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="lsrp-portal-load-"))
    print(report(measure(out / "home", Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "sample_returns" / PERIOD)))
