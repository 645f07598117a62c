"""Sample generator (synthetic.sample) and published-figure returns (synthetic.published)."""
from __future__ import annotations

import csv
import json
import time
import zipfile
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from contracts import layout as L
from contracts.catalogue import QUARTERS, load
from synthetic import sample
from synthetic.calibration import num, profiles, sen2

CAT = load()
LAY = L.layout(CAT)


def read_return(path: Path) -> dict:
    """Cover LA, year text, {(item, quarter): value}, {indicator: (baseline, period)}, targets."""
    wb = CalamineWorkbook.from_path(str(path))
    cover = wb.get_sheet_by_name(L.COVER).to_python(skip_empty_area=False)
    ret = wb.get_sheet_by_name(L.RETURN).to_python(skip_empty_area=False)

    def at(rows, ref):
        col = ord(ref[0]) - ord("A")
        r = int(ref[1:]) - 1
        return rows[r][col] if r < len(rows) and col < len(rows[r]) else None

    values = {}
    for it in CAT.return_items:
        row = ret[LAY.item_rows[it.id] - 1]
        for q in QUARTERS:
            v = row[L.quarter_col(q) - 1]
            if v != "":
                values[(it.id, q)] = v
    baselines, targets = {}, {}
    for ind in CAT.indicators:
        row = ret[LAY.indicator_rows[ind.id] - 1]
        baselines[ind.id] = (row[L.TARGET_BASELINE_COL - 1], row[L.TARGET_BASELINE_PERIOD_COL - 1])
        for p in CAT.target_periods:
            targets[(ind.id, p)] = row[LAY.target_col(p, CAT) - 1]
    return {"la": at(cover, L.COVER_LA), "quarter": at(cover, L.COVER_QUARTER), "year": at(ret, L.YEAR_CELL),
            "labels": {r: ret[r - 1][L.NAME_COL - 1] for r in LAY.row_names if r - 1 < len(ret)},
            "values": values, "baselines": baselines, "targets": targets}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample_full")
    t0 = time.perf_counter()
    summary = sample.generate(out, quarter="2026-27-Q2", seed=2026, bomb_bytes=5_000_000)
    elapsed = time.perf_counter() - t0
    print(f"\nfull sample (153 LAs, Q1+Q2) generated in {elapsed:.1f}s")
    manifest = json.loads((out / "MANIFEST.json").read_text())
    return out, summary, manifest, elapsed


def test_summary_and_counts(full):
    out, summary, manifest, elapsed = full
    assert "2026-27-Q1: 153 returns" in summary and "2026-27-Q2: 153 returns" in summary
    for period in ("2026-27-Q1", "2026-27-Q2"):
        files = sorted((out / period).glob("*.xlsx"))
        assert len(files) == 153
        assert all(L.FILE_NAME_RE.match(f.name) for f in files)
    # no time limit here: a loaded CI machine is not a benchmark (benchmarks/cycle.py measures it)


def test_deterministic_and_subset_consistent(tmp_path, full):
    out_full = full[0]
    codes = ["301", "856", "942"]
    a, b = tmp_path / "a", tmp_path / "b"
    sample.generate(a, seed=7, la_codes=codes, bomb_bytes=1_000_000)
    sample.generate(b, seed=7, la_codes=codes, bomb_bytes=1_000_000)
    for f in sorted((a / "2026-27-Q2").glob("*.xlsx")):
        assert read_return(f) == read_return(b / "2026-27-Q2" / f.name)
    for f in (a / "dfe_held").glob("*.csv"):
        assert f.read_bytes() == (b / "dfe_held" / f.name).read_bytes()
    # per-LA random streams: a subset run gives the same figures as the full run (same seed)
    c = tmp_path / "c"
    sample.generate(c, seed=2026, la_codes=codes, quarter="2026-27-Q1", bomb_bytes=1_000_000)
    for f in (c / "2026-27-Q1").glob("*.xlsx"):
        assert read_return(f)["values"] == read_return(out_full / "2026-27-Q1" / f.name)["values"]


def test_flows_cumulative_and_subsets_within(full):
    out, _, manifest, _ = full
    broken = {r["la_code"] for r in manifest["returns"] if r["broken"]}
    for rec in manifest["returns"]:
        if rec["period"] != "2026-27-Q2" or rec["la_code"] in broken:
            continue
        r = read_return(out / rec["path"])
        assert r["la"].startswith(rec["la_code"] + " ") and r["quarter"] == "Q2"
        v = r["values"]
        for it in CAT.return_items:
            assert isinstance(v[(it.id, "Q1")], float) and isinstance(v[(it.id, "Q2")], float)
            if not it.allow_negative:
                assert v[(it.id, "Q1")] >= 0
            if it.measure == "flow":
                assert v[(it.id, "Q2")] >= v[(it.id, "Q1")], (rec["la_code"], it.id)
            if it.within:
                for q in ("Q1", "Q2"):
                    assert v[(it.id, q)] <= v[(it.within, q)], (rec["la_code"], it.id, q)
        for ind in CAT.indicators:
            assert r["baselines"][ind.id][0] != "" and str(r["baselines"][ind.id][1]).split(" ")[0] in ("2023-24", "2024-25", "2025-26")
            assert all(r["targets"][(ind.id, p)] != "" for p in CAT.target_periods)


def test_revisions_recorded_and_present(full):
    out, summary, manifest, _ = full
    revs = [(rec, rv) for rec in manifest["returns"] for rv in rec["revisions"]]
    assert 8 <= len(revs) <= 30, len(revs)
    assert any(rv["note"] for _, rv in revs) and any(not rv["note"] for _, rv in revs)
    for rec, rv in revs:
        q2 = read_return(out / rec["path"])
        q1 = read_return(out / "2026-27-Q1" / Path(rec["path"]).name)
        assert q1["values"][(rv["item"], "Q1")] == rv["from"]
        assert q2["values"][(rv["item"], "Q1")] == rv["to"] != rv["from"]


def test_weak_targets_exist(full):
    out, _, manifest, _ = full
    weak = [r for r in manifest["returns"] if r["weak_target"] and r["period"] == "2026-27-Q1"]
    assert 2 <= len(weak) <= 20
    rec = weak[0]
    r = read_return(out / rec["path"])
    ind = CAT.indicator(rec["weak_target"])
    base = r["baselines"][ind.id][0]
    t = r["targets"][(ind.id, "2026-27")]
    assert (t < base) if ind.polarity == "high" else (t > base)


def test_baselines_near_published(full):
    out, _, manifest, _ = full
    prof = profiles()
    checked = 0
    for rec in manifest["returns"]:
        if rec["period"] != "2026-27-Q1":
            continue
        p = prof[rec["la_code"]]
        b = read_return(out / rec["path"])["baselines"]
        if "plans_issued_ex" in p.published and p.plans_issued_ex >= 20:
            assert abs(b["ehcp_20_week"][0] - p.pct_20wk) <= 6, rec["la_code"]
            checked += 1
        if "mainstream" in p.published:
            assert abs(b["placement_mainstream"][0] - 100 * p.mainstream / p.ehcplans) <= 3
        if "neet_nk_ehcp_pct" in p.published:
            assert b["neet_ehcp"][0] == pytest.approx(p.neet_nk_ehcp_pct, abs=0.1)
    assert checked > 130


def test_quarterly_figures_realistic(full):
    out, _, manifest, _ = full
    vals = [read_return(out / r["path"])["values"] for r in manifest["returns"]
            if r["period"] == "2026-27-Q1"]
    caseload = sum(v[("ehcps_maintained", "Q1")] for v in vals)
    pop = sum(v[("population_0_25", "Q1")] for v in vals)
    assert 650_000 < caseload < 850_000            # ~576k at January 2024, growing ~10% a year
    assert 0.027 < caseload / pop < 0.036          # England ~3.1% of 0-25s hold an EHCP
    req = sum(v[("requests_received", "Q1")] for v in vals)
    assert 35_000 < req < 60_000                   # ~138k in 2023, quarterly, growing
    budgets = [v[("hn_budget_ytd", "Q1")] * 4 / 1000 for v in vals]  # GBP m a year
    assert min(budgets) < 5 and max(budgets) > 200
    deficits = [v[("dsg_deficit", "Q1")] for v in vals]
    assert any(d < 0 for d in deficits) and max(deficits) > 30_000
    assert len({tuple(sorted(v.items())) for v in vals}) == len(vals)  # no two LAs alike


def _ees(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_ees_national_and_regional_rows_pool_la_rows(full):
    out = full[0]
    files = sorted((out / "dfe_held").glob("*.csv"))
    names = {f.name for f in files}
    for tp, term in (("202526", "spring"), ("202526", "summer")):
        assert f"attendance_by_sen_{tp}_{term}.csv" in names and f"exclusions_by_sen_{tp}_{term}.csv" in names
    for f in files:
        rows = _ees(f)
        counts = [c for c in rows[0] if c in sample.ATT_COLS[:6] + ("headcount", "perm_excl", "susp", "one_plus_susp")]
        las = [r for r in rows if r["geographic_level"] == "Local authority"]
        assert len({r["old_la_code"] for r in las}) == 153
        nat = [r for r in rows if r["geographic_level"] == "National"]
        assert all(r["region_code"] == r["new_la_code"] == r["la_name"] == "" for r in nat)
        for n in nat:
            for c in counts:
                la_vals = [r[c] for r in las if r["breakdown"] == n["breakdown"]]
                visible = sum(int(x) for x in la_vals if x != "c")
                if "c" in la_vals:
                    assert int(n[c]) > visible
                else:
                    assert int(n[c]) == visible, (f.name, n["breakdown"], c)
        for reg in [r for r in rows if r["geographic_level"] == "Regional"]:
            la_vals = [r for r in las if r["region_code"] == reg["region_code"] and r["breakdown"] == reg["breakdown"]]
            c = counts[0]
            assert int(reg[c]) == sum(int(r[c]) for r in la_vals)
        if f.name.startswith("attendance"):
            ehcp = next(r for r in nat if r["breakdown"] == "EHC plan")
            sup = next(r for r in nat if r["breakdown"] == "SEN support")
            assert 10.5 < float(ehcp["sess_overall_percent"]) < 14.5
            assert 8.0 < float(sup["sess_overall_percent"]) < 11.5
            assert float(ehcp["sess_overall_percent"]) == pytest.approx(
                100 * int(ehcp["sess_overall"]) / int(ehcp["sess_possible"]), abs=0.006)
        else:
            sen = [r for r in nat if r["breakdown"] in ("EHC plan", "SEN support")]
            rate = 100 * sum(int(r["susp"]) for r in sen) / sum(int(r["headcount"]) for r in sen)
            assert 5 < rate < 13   # per term; ~20-30 per 100 a year


def test_broken_returns_in_q2(full):
    out, summary, manifest, _ = full
    broken = [r for r in manifest["returns"] if r["broken"]]
    assert 3 <= len(broken) <= 5 and all(r["period"] == "2026-27-Q2" for r in broken)
    kinds = {k for r in broken for k in r["broken"]}
    assert {"renamed_row_label", "text_in_count", "negative_count", "numerator_above_denominator",
            "cover_code_mismatch", "quarter_column_empty", "year_cell_edited"} <= kinds
    for rec in broken:
        # still the LA's only Q2 file
        assert len(list((out / "2026-27-Q2").glob(f"*-{rec['la_code']}-*.xlsx"))) == 1
        r = read_return(out / rec["path"])
        v = r["values"]
        for kind in rec["broken"]:
            if kind == "renamed_row_label":
                assert r["labels"][LAY.item_rows["requests_received"]] != CAT.item("requests_received").label
            elif kind == "text_in_count":
                assert v[("requests_mediation", "Q2")] == "12 (est)"
            elif kind == "text_na":
                assert v[("neet_nk_sen_support", "Q2")] == "n/a"
            elif kind == "negative_count":
                assert v[("mediation_concluded", "Q2")] < 0
            elif kind == "numerator_above_denominator":
                assert v[("plans_issued_20wk_ex", "Q2")] > v[("plans_issued_ex", "Q2")]
            elif kind == "cover_code_mismatch":
                assert not r["la"].startswith(rec["la_code"] + " ")
            elif kind == "quarter_column_empty":
                assert not any(q == "Q2" for _, q in v) and r["quarter"] == "Q2"
            elif kind == "year_cell_edited":
                assert not L.YEAR_RE.match(r["year"])


def test_broken_uploads(full):
    out, _, manifest, _ = full
    ups = {u["kind"]: out / u["path"] for u in manifest["broken_uploads"]}
    assert set(ups) == {"corrupt_zip", "empty_file", "csv_renamed_xlsx", "misnamed_file",
                        "password_protected", "macro_enabled", "zip_bomb"}
    for p in ups.values():
        assert p.exists() and p.stat().st_size < 200_000
    assert not zipfile.is_zipfile(ups["corrupt_zip"])
    assert ups["empty_file"].stat().st_size == 0
    assert ups["csv_renamed_xlsx"].read_bytes().startswith(b"Data item,")
    assert not L.FILE_NAME_RE.match(ups["misnamed_file"].name) and zipfile.is_zipfile(ups["misnamed_file"])
    enc = ups["password_protected"].read_bytes()
    assert enc[:8] == bytes.fromhex("D0CF11E0A1B11AE1")
    assert "EncryptionInfo".encode("utf-16-le") in enc and "EncryptedPackage".encode("utf-16-le") in enc
    with zipfile.ZipFile(ups["macro_enabled"]) as z:
        assert "xl/vbaProject.bin" in z.namelist() and b"macroEnabled" in z.read("[Content_Types].xml")
    assert ups["macro_enabled"].suffix == ".xlsm"
    with zipfile.ZipFile(ups["zip_bomb"]) as z:
        info = z.getinfo("xl/worksheets/sheet1.xml")
        assert info.file_size >= 5_000_000 and info.file_size / info.compress_size > 100


def test_default_zip_bomb_is_over_200mb_but_small(tmp_path):
    p = tmp_path / "bomb.xlsx"
    sample._zip_bomb(p, sample.DEFAULT_BOMB_BYTES)
    with zipfile.ZipFile(p) as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 200_000_000
    assert p.stat().st_size < 200 * 1024


def test_dfe_held_terms_follow_catalogue():
    assert sample.dfe_term_for("2026-27-Q1") == ("202526", "Spring term")
    assert sample.dfe_term_for("2026-27-Q2") == ("202526", "Summer term")
    assert sample.dfe_term_for("2026-27-Q3") == ("202627", "Autumn term")
    with pytest.raises(ValueError):
        sample.quarters_up_to("2026-Q2")
    # the whole plan: every quarter of 2026-27 to 2028-29, and no year beyond it
    assert sample.quarters_up_to("2027-28-Q2")[3:] == ["2026-27-Q4", "2027-28-Q1", "2027-28-Q2"]
    assert sample.dfe_term_for("2027-28-Q1") == ("202627", "Spring term")
    with pytest.raises(ValueError, match="collection years"):
        sample.quarters_up_to("2029-30-Q1")


# ---------------------------------------------------------------------------------------------
# published returns: pooling the LA Q4 values reproduces DfE's England and regional figures

@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from synthetic.published import suppressed_las, write_published_returns

    out = tmp_path_factory.mktemp("published")
    paths = write_published_returns(out, 2023)
    return paths, suppressed_las(2023)


def test_published_returns_pool_to_published_rates(published):
    from synthetic.calibration import read_las

    paths, suppressed = published
    assert len(paths) == 153
    region_of = {r["old_la_code"]: r["region_name"] for r in read_las()}
    sums: dict = {}
    for p in paths:
        r = read_return(p)
        assert r["quarter"] == "Q4"
        code = L.FILE_NAME_RE.match(p.name)["code"]
        for num_item, den_item in (("plans_issued_20wk_ex", "plans_issued_ex"),
                                   ("requests_decided_not_to_assess", "requests_received")):
            if (den_item, "Q4") not in r["values"]:
                continue
            for q in QUARTERS:   # cumulative, integers
                assert r["values"][(num_item, q)] <= r["values"][(den_item, q)]
            for geo in ("England", region_of[code]):
                acc = sums.setdefault((num_item, geo), [0, 0])
                acc[0] += r["values"][(num_item, "Q4")]
                acc[1] += r["values"][(den_item, "Q4")]
    tim = sen2("ehcp/timeliness_20_week.csv", "2023")
    req = sen2("ehcp/requests.csv", "2023")
    regions_with_gaps = {"plans_issued_20wk_ex": {region_of[c] for c in suppressed.get("plans_issued_ex", [])},
                         "requests_decided_not_to_assess": {region_of[c] for c in suppressed.get("requests_received", [])}}
    checks = [("plans_issued_20wk_ex", tim, "PC_plans_issued_20_weeks_ex"),
              ("requests_decided_not_to_assess", req, "request_not_assess_pc")]
    for item, rows, col in checks:
        n, d = sums[(item, "England")]
        assert 100 * n / d == pytest.approx(num(rows["national"][col]), abs=0.05 + 1e-9), item
        for region, row in rows["region"].items():
            n, d = sums[(item, region)]
            tol = 0.05 + 1e-9 if region not in regions_with_gaps[item] else 1.0
            assert 100 * n / d == pytest.approx(num(row[col]), abs=tol), (item, region)


def test_committed_sample_is_complete_and_small():
    root = Path(__file__).resolve().parent.parent / "sample_returns"
    manifest = json.loads((root / "MANIFEST.json").read_text())
    paths = [r["path"] for r in manifest["returns"]] + [d["path"] for d in manifest["dfe_held"]] \
        + [u["path"] for u in manifest["broken_uploads"]]
    assert all((root / p).exists() for p in paths)
    assert (root / "README.md").exists()
    assert sum(f.stat().st_size for f in root.rglob("*") if f.is_file()) < 3_000_000
    assert {r["period"] for r in manifest["returns"]} == {"2026-27-Q1", "2026-27-Q2"}
    assert any(r["broken"] for r in manifest["returns"]) and any(r["revisions"] for r in manifest["returns"])


def test_the_whole_plan_has_no_unseeded_rejection(tmp_path):
    """Every return of the three plan years passes the checks except the seeded broken ones (in the last
    quarter).  The LAs are those where the first whole-plan sample broke its own rules: a 'not to assess'
    count clamped to a dipping total (888, 356: E24) and a downward revision of a zero that became an upward
    one above the next quarter (420: E24); the others are a spread of regions."""
    from contracts.validate import validate_file

    las = ["420", "888", "356", "201", "821", "301", "808", "873", "330", "936"]
    sample.generate(tmp_path, quarter="2028-29-Q4", seed=2026, la_codes=las, bomb_bytes=1000)
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    seeded = {r["path"] for r in manifest["returns"] if r["broken"]}
    assert len({r["period"] for r in manifest["returns"]}) == 12
    rejected = {r["path"]: sorted({f.rule for f in res.findings if f.level == "error"})
                for r in manifest["returns"] for res in [validate_file(tmp_path / r["path"])]
                if res.status == "rejected"}
    assert set(rejected) == seeded, rejected
