"""The full generated sample (153 LAs, Q1 and Q2) through the product's ingest code and one real
`dbt build`: every dbt test passes, and every England figure in marts.benchmark equals a pooled
figure recomputed here in plain Python from the workbooks and EES CSVs, not from the warehouse."""
import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from contracts.catalogue import load
from contracts.findings import REJECTED
from pipeline import dbt_args, ingest, paths, sample, warehouse

QUARTER = "2026-27-Q2"
PERIODS = ("2026-27-Q1", "2026-27-Q2")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("full")
    src = tmp / "sample"
    sample.generate(src, quarter=QUARTER, seed=2026)
    db = tmp / "warehouse.duckdb"
    con = warehouse.connect(db)
    warehouse.ensure_raw_schema(con)
    warehouse.load_catalogue(con)
    accepted = {}  # (la, period) -> ParsedReturn, in arrival order
    for period in PERIODS:
        for f in sorted((src / period).glob("*.xlsx")):
            la = ingest.la_code_from_name(f.name)
            up = ingest.archive_upload(f, f"{period}/{la}", tmp / "archive")
            result = ingest.check_upload(con, up, la, period)
            warehouse.record_submission(con, result, up.archive_path, up.received_datetime,
                                        la_code=la, year=period[:7], quarter=period[-2:])
            if result.status != REJECTED:
                accepted[(la, period)] = result.content
    from contracts.ees import validate_ees_csv

    ees_files = sorted((src / "dfe_held").glob("*.csv"))
    for f in ees_files:
        dataset = f.name.split("_")[0]
        df, findings = validate_ees_csv(f, dataset)
        assert df is not None and not [x for x in findings if x.level == "error"], f.name
        warehouse.load_ees(con, dataset, df, f.name, ingest.sha256_of(f))
    con.close()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *dbt_args.build_args(QUARTER), *dbt_args.project_args()],
        env=dbt_args.dbt_env(db, target_path=tmp / "target"), capture_output=True, text=True,
        cwd=paths.DBT_PROJECT_DIR, timeout=1200)
    con = duckdb.connect(str(db), read_only=True)
    yield run, con, accepted, ees_files
    con.close()


def test_one_dbt_build_passes_every_test_on_the_full_sample(built):
    run, con, accepted, _ = built
    assert run.returncode == 0, run.stdout[-5000:]
    assert "ERROR=0" in run.stdout and "WARN=0" in run.stdout
    las = con.execute("select count(distinct la_code) from marts.collection_status").fetchone()[0]
    assert las == 153
    assert len({la for la, p in accepted if p == QUARTER}) >= 140


def _item_values(accepted) -> dict:
    """(la, period, item) -> value, from the newest accepted return containing that quarter."""
    out = {}
    for (la, period), parsed in sorted(accepted.items(), key=lambda kv: kv[0][1]):  # Q2 overwrites Q1
        for row in parsed.values.iter_rows(named=True):
            if row["value"] is not None:
                out[(la, f"{parsed.year}-{row['quarter']}", row["item_id"])] = row["value"]
    return out


def _ees_values(files) -> dict:
    cat = load()
    by_key = {(i.dataset, i.column, i.breakdown): i.id for i in cat.dfe_held_items}
    term_of = {}
    for period in PERIODS:
        spec = cat.dfe_held_terms[period[-2:]]
        start = int(period[:4]) + spec["year_offset"]
        term_of[(f"{start}{(start + 1) % 100:02d}", spec["time_identifier"])] = period
    out = {}
    for f in files:
        dataset = f.name.split("_")[0]
        for row in csv.DictReader(open(f, encoding="utf-8")):
            period = term_of.get((row["time_period"], row["time_identifier"]))
            if period is None or row["geographic_level"] != "Local authority":
                continue
            for (ds, col, br), item in by_key.items():
                if ds == dataset and br == row["breakdown"]:
                    try:
                        out[(row["old_la_code"], period, item)] = float(row[col])
                    except ValueError:  # c, x, z, low: not available
                        pass
    return out


def test_england_figures_recomputed_independently(built):
    _, con, accepted, ees_files = built
    values = {**_item_values(accepted), **_ees_values(ees_files)}
    las = {k[0] for k in values}
    checked = 0
    for ind in load().indicators:
        for period in PERIODS:
            nums, dens = [], []
            for la in las:
                num = [values.get((la, period, i)) for i in ind.numerator]
                den = [values.get((la, period, i)) for i in ind.denominator]
                if None in num or None in den or (den and sum(den) == 0):
                    continue
                nums.append(sum(num))
                dens.append(sum(den) if den else 1)
            expected = sum(nums) / sum(dens) * ind.multiplier if nums else None
            got = con.execute("select any_value(england_value), any_value(england_n_las) from marts.benchmark "
                              "where indicator_id = ? and period = ?", [ind.id, period]).fetchone()
            assert got[1] == len(nums), (ind.id, period)
            assert got[0] == pytest.approx(expected, rel=1e-9), (ind.id, period)
            checked += 1
    assert checked == 2 * len(load().indicators)
