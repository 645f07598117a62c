"""The benchmark's scale modes (benchmarks/scale.py), piece by piece: a whole scale run takes minutes.

- History: a donor home gets a few real returns through the product's ledger and ingest; its rows
  are replicated for a year of history into a fresh home; the ledger then reads back every event as
  answered, its archived bytes check out, the next real upload is numbered after the history, and
  dbt's staging models and their tests accept the raw rows.
- Synthetic LAs: the reference written for a project copy has unique 3-digit codes and 10
  neighbours for each clone, and a clone's generated return passes `lsrp validate` in that copy.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from benchmarks import scale
from pipeline import paths

SAMPLE = paths.SAMPLE_DIR
DONOR_LAS = ("301", "330", "801")     # 801's Q2 return is rejected in the committed sample


def _use_home(monkeypatch, home: Path) -> None:
    monkeypatch.setenv("LSRP_HOME", str(home))
    monkeypatch.setenv("LSRP_WAREHOUSE", str(home / "warehouse.duckdb"))


@pytest.fixture(scope="module")
def history_home(tmp_path_factory) -> Path:
    """A donor (3 LAs' Q1 and Q2 through the ledger and the batch ingest), then one year of history."""
    from pipeline import ingest, ledger, warehouse

    mp = pytest.MonkeyPatch()
    donor = tmp_path_factory.mktemp("donor")
    _use_home(mp, donor)
    try:
        for period in ("2026-27-Q1", "2026-27-Q2"):
            (donor / "inbox" / period).mkdir(parents=True)
            for f in sorted((SAMPLE / period).glob("*.xlsx")):
                if ledger.la_code_from_name(f.name) in DONOR_LAS:
                    shutil.copy2(f, donor / "inbox" / period / f.name)
        events = [ledger.receive(p, folder) for folder, p in ledger.inbox_files()]
        with warehouse.session() as con:
            outcomes = ingest.process_batch(con, events)
        assert all(o.error is None for o in outcomes), [o.error for o in outcomes]
    finally:
        mp.undo()
    home = tmp_path_factory.mktemp("history")
    home.rmdir()
    home.mkdir()
    counts = scale.replicate_history(home, donor / "warehouse.duckdb", years=1)
    assert counts["events"] == counts["submissions"] == counts["upload_ledger"] == 4 * len(DONOR_LAS)
    return home


def test_history_reads_back_through_the_ledger(history_home, monkeypatch):
    from pipeline import ledger

    _use_home(monkeypatch, history_home)
    events = ledger.events()
    assert [e.seq for e in events] == list(range(1, 13))
    assert {e.period for e in events} == {f"2025-26-Q{q}" for q in range(1, 5)}
    assert [e.received_at for e in events] == sorted(e.received_at for e in events)
    assert ledger.done_ids() == {e.event_id for e in events}          # nothing left for the next ingest
    assert set(ledger.batch_attempts().values()) == {1}
    for e in events:
        ledger.upload_of(e)                                            # the archived bytes match the hash
        assert Path(e.archive_path).is_relative_to(history_home)
    # the next real upload is numbered after the history
    inbox = history_home / "inbox" / "2026-27-Q1"
    inbox.mkdir(parents=True)
    src = next((SAMPLE / "2026-27-Q1").glob("*-308-*.xlsx"))
    shutil.copy2(src, inbox / src.name)
    ev = ledger.receive(inbox / src.name, "2026-27-Q1")
    assert ev.seq == 13 and ev.route == ledger.ROUTE_RETURN


def test_history_rows_are_shifted_and_complete(history_home):
    con = duckdb.connect(str(history_home / "warehouse.duckdb"), read_only=True)
    try:
        subs = con.execute("select submission_id, la_code, period, quarter, status, event_seq, archive_path "
                           "from raw.submissions order by event_seq").fetchall()
        assert len(subs) == 12 and all(s[0] == f"{s[5]:08d}" for s in subs)
        assert {s[2] for s in subs} == {f"2025-26-Q{q}" for q in range(1, 5)}
        rejected = [s for s in subs if s[4] == "rejected"]
        assert {(s[1], s[3]) for s in rejected} == {("801", "Q2"), ("801", "Q3"), ("801", "Q4")}
        cols = dict(con.execute(
            """select s.quarter, list(distinct v.quarter order by v.quarter) from raw.return_values v
               join raw.submissions s using (submission_id) where s.la_code = '301' group by 1""").fetchall())
        assert cols == {"Q1": ["Q1"], "Q2": ["Q1", "Q2"], "Q3": ["Q1", "Q2", "Q3"], "Q4": ["Q1", "Q2", "Q3", "Q4"]}
        assert con.execute("select count(*) from raw.return_values where submission_id in "
                           "(select submission_id from raw.submissions where status = 'rejected')").fetchall()[0][0] == 0
        assert con.execute("select count(*) from raw.findings f join raw.submissions s using (submission_id) "
                           "where f.period <> s.period").fetchall()[0][0] == 0
        # milestones and spend lines keep their own quarters; the cover takes the return's
        assert con.execute("select count(distinct quarter) from raw.plan_milestones").fetchall()[0][0] > 1
        assert con.execute("select count(*) from raw.plan_cover c join raw.submissions s using (submission_id) "
                           "where c.quarter <> s.quarter or c.year <> s.year").fetchall()[0][0] == 0
        ledger_rows = con.execute("select event_id, period, archive_path from raw.upload_ledger").fetchall()
        assert {r[0] for r in ledger_rows} == {s[0] for s in subs}
    finally:
        con.close()


def test_history_passes_the_staging_tests(history_home, tmp_path):
    """dbt's staging models and their tests (uniqueness of each submission's rows among them)."""
    from pipeline import dbt_args

    db = tmp_path / "w.duckdb"
    shutil.copy2(history_home / "warehouse.duckdb", db)
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")),
         *dbt_args.build_args("2026-27-Q1", select="+path:models/staging"), "--indirect-selection", "cautious",
         *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp_path / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=600)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "PASS=" in run.stdout


@pytest.fixture(scope="module")
def synthetic_project(tmp_path_factory) -> tuple[Path, list[str]]:
    project = scale.project_copy(paths.REPO, tmp_path_factory.mktemp("synth") / "project")
    codes = scale.write_synthetic_reference(project / "contracts" / "reference", 160)
    return project, codes


def test_synthetic_reference(synthetic_project):
    project, codes = synthetic_project
    ref = project / "contracts" / "reference"
    with (ref / "ref_las.csv").open(newline="", encoding="utf-8") as fh:
        las = list(csv.DictReader(fh))
    with (ref / "ref_statistical_neighbours.csv").open(newline="", encoding="utf-8") as fh:
        sn = list(csv.DictReader(fh))
    assert len(las) == len(codes) == len(set(codes)) == 160
    assert all(re.fullmatch(r"\d{3}", c) for c in codes)
    assert len({r["new_la_code"] for r in las}) == 160
    assert all(re.fullmatch(r"E(06|07|08|09|10)\d{6}", r["new_la_code"]) for r in las)
    real = set(codes[:153])
    for code in codes[153:]:
        mine = [r for r in sn if r["old_la_code"] == code]
        assert len(mine) == 10 and {r["sn_old_la_code"] for r in mine} <= real
    # the real reference is untouched
    assert (paths.REPO / "contracts" / "reference" / "ref_las.csv").read_text().count("\n") == 154
    with pytest.raises(ValueError, match="at most 1000"):
        scale.write_synthetic_reference(ref, 1001)


def test_synthetic_reference_of_1000(tmp_path):
    """Every 3-digit code in use, the predecessor authorities' codes (835 Dorset, ...) last: each LA
    still has exactly one neighbour per rank (dbt's primary_key test on la_code and sn_rank)."""
    for f in ("ref_las.csv", "ref_statistical_neighbours.csv"):
        shutil.copy2(paths.REPO / "contracts" / "reference" / f, tmp_path / f)
    codes = scale.write_synthetic_reference(tmp_path, 1000)
    assert len(set(codes)) == 1000
    with (tmp_path / "ref_statistical_neighbours.csv").open(newline="", encoding="utf-8") as fh:
        keys = [(r["old_la_code"], r["sn_rank"]) for r in csv.DictReader(fh)]
    assert len(keys) == len(set(keys)) == 10000


def test_synthetic_return_validates_in_the_copy(synthetic_project, tmp_path):
    """A clone's generated return is accepted in the project copy (the real project does not know it)."""
    project, codes = synthetic_project
    clone = codes[153]
    env = {**os.environ, "PYTHONPATH": str(project)}
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from synthetic import sample; "
                    "sample.generate(Path(sys.argv[1]), quarter='2026-27-Q1', la_codes=[sys.argv[2]])",
                    str(tmp_path / "s"), clone], cwd=project, env=env, check=True, capture_output=True)
    (f,) = (tmp_path / "s" / "2026-27-Q1").glob("*.xlsx")
    assert f"-{clone}-synthetic-" in f.name
    lsrp = Path(sys.executable).with_name("lsrp")
    run = subprocess.run([str(lsrp), "validate", "--format", "json", str(f)], cwd=project, env=env,
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "accepted" in json.dumps(json.loads(run.stdout))
    # the real project rejects it: its LA list has no such code
    real = subprocess.run([str(lsrp), "validate", "--format", "json", str(f)], cwd=paths.REPO,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, capture_output=True, text=True)
    assert real.returncode != 0
