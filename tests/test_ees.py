"""The EES tidy-data contract for DfE-held attendance and exclusions CSVs."""
from __future__ import annotations

import pytest

from contracts.ees import GEO_COLUMNS, MEASURES, validate_ees_csv

HEADER = {
    ds: list(GEO_COLUMNS) + ["breakdown_topic", "breakdown"] + list(MEASURES[ds])
    for ds in MEASURES
}
NAT = ["202425", "Autumn term", "National", "E92000001", "England", "", "", "", "", ""]
REG = ["202425", "Autumn term", "Regional", "E92000001", "England", "E12000007", "London", "", "", ""]
LA = ["202425", "Autumn term", "Local authority", "E92000001", "England", "E12000007", "London",
      "E09000002", "301", "Barking and Dagenham"]
MEAS = {"attendance": ["1000", "120", "90", "30", "50", "12"],
        "exclusions": ["5000", "3", "0.06", "400", "8.0", "c"]}


def _rows(dataset: str) -> list[list[str]]:
    rows = []
    for geo in (NAT, REG, LA):
        for bd in ("EHC plan", "SEN support"):
            rows.append(geo + ["SEN status", bd] + MEAS[dataset])
    return rows


def _write(tmp_path, dataset, rows, header=None) -> object:
    header = header or HEADER[dataset]
    p = tmp_path / f"{dataset}.csv"
    p.write_text("\n".join(",".join(r) for r in [header] + rows) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize("dataset", ["attendance", "exclusions"])
def test_good_file_passes(dataset, tmp_path):
    rows = _rows(dataset)
    rows[-1][-1] = "low"  # EES symbols are fine
    rows[-2][-2] = "x"
    df, findings = validate_ees_csv(_write(tmp_path, dataset, rows), dataset)
    assert findings == [], [f.message for f in findings]
    assert df is not None and df.height == 6
    assert df["time_period"].dtype.is_(__import__("polars").String)


def test_four_digit_period_and_extra_percent_column(tmp_path):
    rows = [r + ["12.0"] for r in _rows("attendance")]
    for r in rows:
        r[0] = "2025"
        r[1] = "Calendar year"
    df, findings = validate_ees_csv(_write(tmp_path, "attendance", rows, HEADER["attendance"] + ["sess_overall_percent"]),
                                    "attendance")
    assert findings == []


def _set(rows, i, col, value, dataset="attendance"):
    rows[i][HEADER[dataset].index(col)] = value
    return rows


# (case, mutate(rows) -> rows, rule, expected cell or None)
CASES = [
    ("period_bad", lambda r: _set(r, 0, "time_period", "2024-25"), "D02", "A2"),
    ("period_not_consecutive", lambda r: _set(r, 1, "time_period", "202426"), "D02", "A3"),
    ("time_identifier", lambda r: _set(r, 2, "time_identifier", "Autum term"), "D03", "B4"),
    ("geographic_level", lambda r: _set(r, 2, "geographic_level", "LA"), "D04", "C4"),
    ("country_code", lambda r: _set(r, 0, "country_code", "England"), "D05", "D2"),
    ("region_code_missing", lambda r: _set(r, 2, "region_code", ""), "D05", "F4"),
    ("new_la_code_bad", lambda r: _set(r, 4, "new_la_code", "E12000007"), "D05", "H6"),
    ("new_la_code_missing", lambda r: _set(r, 4, "new_la_code", ""), "D05", "H6"),
    ("old_la_code_bad", lambda r: _set(r, 5, "old_la_code", "30"), "D05", "I7"),
    ("duplicate", lambda r: r + [list(r[4])], "D06", None),
    ("measure_text", lambda r: _set(r, 4, "sess_overall", "n/a"), "D07", "N6"),
    ("measure_blank", lambda r: _set(r, 4, "sess_overall", ""), "D08", "N6"),
]


@pytest.mark.parametrize("case,mutate,rule,cell", CASES, ids=[c[0] for c in CASES])
def test_rule_fires(case, mutate, rule, cell, tmp_path):
    df, findings = validate_ees_csv(_write(tmp_path, "attendance", mutate(_rows("attendance"))), "attendance")
    assert df is None
    hits = [f for f in findings if f.rule == rule]
    assert hits, [(f.rule, f.message) for f in findings]
    if cell:
        assert cell in [f.cell for f in hits]
    assert all("Action required:" in f.message for f in findings)
    assert all(f.file == "attendance.csv" for f in findings)


@pytest.mark.proves("D01")
def test_missing_column(tmp_path):
    header = [c for c in HEADER["exclusions"] if c != "susp"]
    rows = [r[:-3] + r[-2:] for r in _rows("exclusions")]
    df, findings = validate_ees_csv(_write(tmp_path, "exclusions", rows, header), "exclusions")
    assert df is None and [f.rule for f in findings] == ["D01"] and "'susp'" in findings[0].message


@pytest.mark.proves("D09")
def test_unreadable_and_unknown_dataset(tmp_path):
    df, findings = validate_ees_csv(tmp_path / "missing.csv", "attendance")
    assert df is None and [f.rule for f in findings] == ["D09"]
    p = _write(tmp_path, "attendance", _rows("attendance"))
    df, findings = validate_ees_csv(p, "absence")
    assert df is None and [f.rule for f in findings] == ["D09"]
