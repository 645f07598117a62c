"""The benchmark's two scale modes: N years of history behind the newest quarter, and N synthetic LAs.

History (``replicate_history``).  Ingesting 6,000 workbooks one by one would take the benchmark an
hour, and what slows the newest quarter is not how the history got there but how much of it there
is: rows in the raw tables dbt reads, events in the upload ledger that every ingest lists, done
records and batches.  So one quarter's real returns are ingested by `lsrp run` (the donor), and
their rows are replicated for each earlier quarter with the period shifted:

- the quarters are the N collection years before 2026-27 (2016-17 to 2025-26 for N = 10), Q1 to Q4.
  The code's collection calendar, Dagster period partitions and catalogue years start at 2026-27,
  but the warehouse and dbt key everything on the period text and never look a year up, so
  history before 2026-27 needs no special case; the newest quarter stays 2026-27-Q2, exactly as in
  the main cycle.  Its ingest and publication are what is measured, with and without the history.
- a history Q1 copies the donor's Q1 return of the same LA; Q2 to Q4 copy its Q2 return, with
  the workbook's Q2 column repeated as Q3 (and Q4), so a later quarter's return carries as many
  filled quarter columns as a real one would.  Rejected returns stay rejected (findings only).
- rows go into the raw tables created by the product's own DDL (``warehouse.ensure_raw_schema``,
  generated from contracts/metadata/raw_tables.yaml); every table holding a submission's rows
  (those with a ``submission_id`` column) is copied, and raw.upload_ledger mirrors the events.
- ledger events, done records and one batch per quarter are written with the ledger's own writers
  (``ledger.write_json_atomic``, ``ledger.mark_done``, ``ledger.new_batch``), with sequence numbers
  and receipt times before the real uploads, and their archived bytes are the donor's files.
  Only the fsyncs are skipped (a benchmark fixture need not survive a power cut; 24,000 fsyncs
  would take a minute here).
- not replicated: the Dagster instance's records of the history's runs (40 quarters of runs and
  materialisations); the period partitions do not reach back before 2026-27.

Synthetic LAs (``write_synthetic_reference``).  The LA list is contracts/reference/ref_las.csv and
its neighbours (the one copy: Python reads it, dbt seeds it).  The benchmark copies the project to
a temporary folder, writes there a reference of the 153 real LAs plus clones with free 3-digit
codes (each a copy of a real LA's row and its 10 statistical neighbours, with its own code, E-code
and name), and runs that copy (``PYTHONPATH``).  synthetic/sample.py generates the clones' returns
(calibration falls back to their region's figures), and the product's validation checks them
against that reference as it checks real ones: nothing in the product changes.
"""
from __future__ import annotations

import csv
import os
import shutil
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from unittest import mock

HISTORY_QUARTERS = ("Q1", "Q2", "Q3", "Q4")
# where each history quarter's return comes from: the donor's Q1 or Q2 return
DONOR_QUARTER = {"Q1": "Q1", "Q2": "Q2", "Q3": "Q2", "Q4": "Q2"}
# month a quarter's returns arrive (its collection window), year offset from the year's start
ARRIVES = {"Q1": (7, 0), "Q2": (10, 0), "Q3": (1, 1), "Q4": (4, 1)}
# tables whose `quarter` is the return's quarter (elsewhere: a milestone's or a spend line's quarter, or
# the workbook column, contracts/metadata/raw_tables.yaml)
RETURN_QUARTER = ("submissions", "plan_cover")
PROJECT_IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "target", "logs", "__pycache__", "*.duckdb",
                                        ".pytest_cache")


def year_label(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def history_periods(years: int, first_collected: int = 2026) -> list[tuple[str, str]]:
    """(year, quarter) of the ``years`` collection years before 2026-27, oldest first."""
    return [(year_label(y), q) for y in range(first_collected - years, first_collected) for q in HISTORY_QUARTERS]


@contextmanager
def _home(home: Path):
    """The product's paths (pipeline.paths reads LSRP_HOME on every call) point at ``home``."""
    old = {k: os.environ.get(k) for k in ("LSRP_HOME", "LSRP_WAREHOUSE")}
    os.environ["LSRP_HOME"] = str(home)
    os.environ["LSRP_WAREHOUSE"] = str(home / "warehouse.duckdb")
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _donor_returns(con, year: str) -> list[tuple]:
    """The donor's newest upload per LA for its Q1 and Q2, with the ledger's facts about its bytes."""
    return con.execute(
        """select s.submission_id, s.la_code, s.quarter, s.file_name, l.size, l.sha256, l.archive_path
           from (select *, row_number() over (partition by la_code, period order by event_seq desc) as n
                 from donor.raw.submissions
                 where la_code is not null and year = ? and quarter in ('Q1', 'Q2')) s
           join donor.raw.upload_ledger l on l.event_id = s.submission_id
           where s.n = 1 order by s.quarter, s.la_code""", [year]).fetchall()


def replicate_history(home: Path, donor_db: Path, years: int, donor_year: str = "2026-27") -> dict:
    """Write ``years`` years of quarterly history into the fresh LSRP_HOME ``home`` (its warehouse,
    ledger and archive), copied from the returns in ``donor_db``; returns counts.  See the module
    docstring for what is copied and why it is faithful."""
    from pipeline import ledger, warehouse  # the product's own writers, under this home

    with _home(home), mock.patch("os.fsync"):
        if ledger.events():
            raise RuntimeError(f"{home}: history must be written before any real upload (its sequence numbers come first)")
        con = warehouse.connect()
        try:
            warehouse.ensure_raw_schema(con)
            con.execute("ATTACH ? AS donor (READ_ONLY)", [str(donor_db)])
            donors = _donor_returns(con, donor_year)
            by_q = {q: [d for d in donors if d[2] == q] for q in ("Q1", "Q2")}
            if not by_q["Q1"] or not by_q["Q2"]:
                raise RuntimeError(f"{donor_db}: the donor needs accepted or rejected returns for {donor_year} Q1 and Q2")
            blobs = _copy_blobs(donors, ledger.blobs_dir())
            mapping, seq = [], 0
            for year, q in history_periods(years):
                month, offset = ARRIVES[q]
                arrived = datetime(int(year[:4]) + offset, month, 14, 9)
                attempts = {}
                for i, (sid, la, _, name, size, sha, _path) in enumerate(by_q[DONOR_QUARTER[q]]):
                    seq += 1
                    ev = ledger.Event(
                        event_id=f"{seq:08d}", seq=seq, received_at=(arrived + timedelta(seconds=i)).isoformat(
                            timespec="microseconds"), name=name, name_hex=name.encode().hex(), folder=f"{year}-{q}",
                        folder_hex=f"{year}-{q}".encode().hex(), size=size, sha256=sha, archive_path=blobs[sha],
                        route=ledger.ROUTE_RETURN, la_code=la, period=f"{year}-{q}", reason=None,
                        inbox_key=f"history|{year}-{q}|{name}",
                        received_path=str(ledger.received_dir() / f"{seq:08d}" / name))
                    ledger.write_json_atomic(ledger.events_dir() / f"{ev.event_id}.json", asdict(ev))
                    mapping.append((sid, ev.event_id, seq, year, q, ev.received_at, ev.archive_path))
                    attempts[ev.event_id] = 1
                ledger.new_batch(attempts)
            counts = _copy_rows(con, mapping)
            statuses = dict(con.execute("select submission_id, status from raw.submissions").fetchall())
            for m in mapping:
                ledger.mark_done(ledger.event(m[1]), statuses[m[1]], [])
        finally:
            con.close()
    counts["events"] = len(mapping)
    return counts


def _copy_blobs(donors: list[tuple], blobs: Path) -> dict[str, str]:
    """The donor's archived bytes, copied into this home's content-addressed archive."""
    blobs.mkdir(parents=True, exist_ok=True)
    out = {}
    for *_, sha, path in donors:
        target = blobs / Path(path).name
        if not target.exists():
            shutil.copy2(path, target)
        out[sha] = str(target)
    return out


def _copy_rows(con, mapping: list[tuple]) -> dict[str, int]:
    """Every submission table's rows of each donor return, once per history quarter that copies it."""
    from pipeline import warehouse

    con.execute("create temp table history_map (old_sid varchar, new_sid varchar, seq bigint, year varchar, "
                "quarter varchar, received_at varchar, archive_path varchar)")
    con.executemany("insert into history_map values (?, ?, ?, ?, ?, ?, ?)", mapping)
    have = {(t, c) for t, c in con.execute("select table_name, column_name from information_schema.columns "
                                           "where table_catalog = 'donor' and table_schema = 'raw'").fetchall()}
    override = {"submission_id": "m.new_sid", "year": "m.year", "quarter": "m.quarter",
                "period": "m.year || '-' || m.quarter", "event_seq": "m.seq",
                "received_at": "m.received_at::timestamp", "archive_path": "m.archive_path"}
    counts = {}
    con.execute("begin")
    try:
        for table, columns in warehouse.RAW_TABLES.items():
            if "submission_id" not in columns or table == "upload_ledger":
                continue
            cols = [c for c in columns if (table, c) in have]
            exprs = []
            for c in cols:
                if table == "return_values" and c == "quarter":
                    exprs.append("x.quarter_as as quarter")  # the workbook column, repeated for Q3/Q4 below
                elif c == "quarter" and table not in RETURN_QUARTER:
                    exprs.append(f't."{c}"')              # a milestone's or spend line's own quarter
                elif c in override:
                    exprs.append(f"{override[c]} as \"{c}\"")
                else:
                    exprs.append(f't."{c}"')
            src = f"donor.raw.{table} t join history_map m on t.submission_id = m.old_sid"
            if table == "return_values":
                # Q3 and Q4 returns: the Q2 column again as Q3 (and Q4): cumulative flows stay non-decreasing
                src += (" join (select * from (values ('Q1', 'Q1'), ('Q2', 'Q2'), ('Q2', 'Q3'), ('Q2', 'Q4')) "
                        "v(quarter_from, quarter_as)) x on x.quarter_from = t.quarter and x.quarter_as <= m.quarter")
            con.execute(f"insert into raw.{table} by name select {', '.join(exprs)} from {src}")
            counts[table] = con.execute(f"select count(*) from raw.{table}").fetchall()[0][0]
        con.execute(
            """insert into raw.upload_ledger by name
               select m.new_sid as event_id, m.seq, m.received_at::timestamp as received_at, l.name, l.name_hex,
                      m.year || '-' || m.quarter as folder, l.size, l.sha256, m.archive_path, l.route, l.la_code,
                      m.year || '-' || m.quarter as period, l.reason
               from donor.raw.upload_ledger l join history_map m on l.event_id = m.old_sid""")
        counts["upload_ledger"] = con.execute("select count(*) from raw.upload_ledger").fetchall()[0][0]
        con.execute("commit")
    except Exception:
        con.execute("rollback")
        raise
    return counts


# ------------------------------------------------------------------ synthetic LAs
def project_copy(repo: Path, dest: Path) -> Path:
    """The project's source (no virtualenv, git, data or build output) in ``dest``."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(repo, dest, ignore=PROJECT_IGNORE)
    return dest


def free_codes(taken: set[str], predecessors: set[str] = frozenset()) -> list[str]:
    """3-digit codes no current LA uses: 100-999 first, then 000-099, and last the codes of the
    predecessor authorities the neighbours file still lists (835 Dorset, 909 Cumbria, ...): 847."""
    codes = [f"{i:03d}" for i in [*range(100, 1000), *range(100)] if f"{i:03d}" not in taken]
    return [c for c in codes if c not in predecessors] + [c for c in codes if c in predecessors]


def write_synthetic_reference(ref_dir: Path, n_las: int) -> list[str]:
    """Rewrite ref_las.csv and ref_statistical_neighbours.csv in ``ref_dir`` (a project copy's
    contracts/reference) for ``n_las`` LAs: the real ones, then clones of them in turn; returns the
    codes in file order.  A clone keeps its original's region, type and 10 neighbours (all real LAs)."""
    las_csv, sn_csv = ref_dir / "ref_las.csv", ref_dir / "ref_statistical_neighbours.csv"
    with las_csv.open(newline="", encoding="utf-8") as fh:
        las = list(csv.DictReader(fh))
    with sn_csv.open(newline="", encoding="utf-8") as fh:
        sn = list(csv.DictReader(fh))
    if n_las <= len(las):
        return [r["old_la_code"] for r in las]
    current = {r["old_la_code"] for r in las}
    predecessors = {r["old_la_code"] for r in sn} - current
    codes = free_codes(current, predecessors)
    if n_las > len(las) + len(codes):
        raise ValueError(f"at most {len(las) + len(codes)} LAs have distinct 3-digit codes; asked for {n_las}")
    used = set(codes[:n_las - len(las)])
    sn = [r for r in sn if r["old_la_code"] not in used]  # a reused predecessor code: its old rows go
    neighbours = {}
    for r in sn:
        neighbours.setdefault(r["old_la_code"], []).append(r)
    new_las, new_sn = [], []
    for i, code in enumerate(codes[:n_las - len(las)]):
        src = las[i % len(las)]
        name = f"Synthetic {code} {src['la_name']}"
        new_las.append(src | {"old_la_code": code, "new_la_code": f"{src['new_la_code'][:3]}9{int(code):05d}",
                              "la_name": name})
        new_sn += [r | {"old_la_code": code, "la_name": name} for r in neighbours[src["old_la_code"]]]
    for path, rows, base in ((las_csv, new_las, las), (sn_csv, new_sn, sn)):
        with path.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(base[0]))
            w.writeheader()
            w.writerows(base + rows)
    return [r["old_la_code"] for r in las + new_las]
