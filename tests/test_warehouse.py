"""pipeline.warehouse: raw schema as in docs/design.md, idempotent loads."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
import pytest

from contracts.catalogue import load
from contracts.findings import ERROR, QUERY, FileResult, Finding, ParsedReturn
from pipeline import warehouse

# docs/design.md, "Raw tables": every column the contract names (the loader may add more).
DESIGN_COLUMNS = {
    "submissions": ["submission_id", "la_code", "year", "quarter", "period", "file_name", "archive_path",
                    "received_at", "status", "n_errors", "n_queries", "n_unresolved_queries"],
    "return_values": ["submission_id", "la_code", "year", "quarter", "item_id", "value", "note"],
    "return_baselines": ["submission_id", "la_code", "indicator_id", "baseline_value", "baseline_period"],
    "return_targets": ["submission_id", "la_code", "indicator_id", "target_period", "target_value"],
    "findings": ["submission_id", "file_name", "la_code", "period", "level", "rule", "sheet", "cell", "value",
                 "message", "resolved"],
    "ees_attendance": ["time_period", "time_identifier", "geographic_level", "old_la_code", "new_la_code",
                       "la_name", "breakdown_topic", "breakdown", "sess_possible", "sess_overall",
                       "sess_unauthorised", "enrolments", "enrolments_pa_10_exact", "source_file_hash", "source_file"],
    "ees_exclusions": ["time_period", "time_identifier", "geographic_level", "old_la_code", "headcount",
                       "perm_excl", "susp", "source_file_hash", "source_file"],
    "catalogue_indicators": ["indicator_id", "polarity", "multiplier", "tolerance", "decimals", "unit"],
    "catalogue_data_items": ["item_id", "source", "dataset", "column", "breakdown"],
    "catalogue_indicator_terms": ["indicator_id", "role", "item_id"],
    "catalogue_target_periods": ["target_period"],
}


@pytest.fixture
def con(tmp_path):
    c = warehouse.connect(tmp_path / "deep" / "w.duckdb")
    warehouse.ensure_raw_schema(c)
    yield c
    c.close()


def _columns(con, table):
    return {r[0]: r[1] for r in con.execute(
        "select column_name, data_type from information_schema.columns where table_schema='raw' and table_name=?",
        [table]).fetchall()}


def _result(sha="abc", findings=(), quarter="Q2") -> FileResult:
    content = ParsedReturn(
        la_code="301", la_name="Barking and Dagenham", year="2026-27", quarter=quarter,
        values=pl.DataFrame({"item_id": ["requests_received", "requests_received", "population_0_25"],
                             "quarter": ["Q1", "Q2", "Q2"], "value": [10.0, 25.0, None],
                             "note": [None, "a reason", None], "cell": ["C10", "D10", "D11"]}),
        baselines=pl.DataFrame({"indicator_id": ["ehcp_20_week"], "baseline_value": [45.0],
                                "baseline_period": ["2025-26"], "note": [None], "cell": ["H5"]}),
        targets=pl.DataFrame({"indicator_id": ["ehcp_20_week"] * 2, "target_period": ["2026-27-Q2", "2026-27"],
                              "target_value": [50.0, 55.0], "cell": ["J5", "N5"]}),
    )
    return FileResult(file="lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx", sha256=sha,
                      findings=list(findings), content=content)


def _count(con, table, sid=None):
    where, params = ("where submission_id = ?", [sid]) if sid else ("", [])
    return con.execute(f"select count(*) from raw.{table} {where}", params).fetchall()[0][0]


def test_connect_creates_folder_and_schema_is_idempotent(tmp_path, con):
    assert (tmp_path / "deep" / "w.duckdb").exists()
    warehouse.ensure_raw_schema(con)  # second time: no error, no change
    for table, cols in DESIGN_COLUMNS.items():
        assert set(cols) <= set(_columns(con, table)), table
    types = _columns(con, "submissions")
    assert (types["received_at"], types["n_errors"]) == ("TIMESTAMP", "INTEGER")
    assert _columns(con, "return_values")["value"] == "DOUBLE"
    assert _columns(con, "findings")["resolved"] == "BOOLEAN"
    assert set(_columns(con, "ees_attendance").values()) <= {"VARCHAR", "TIMESTAMP"}


def test_load_catalogue_replaces(con):
    cat = load()
    first = warehouse.load_catalogue(con, cat)
    assert warehouse.load_catalogue(con) == first
    assert first["catalogue_indicators"] == len(cat.indicators) == _count(con, "catalogue_indicators")
    assert first["catalogue_data_items"] == len(cat.data_items)
    assert first["catalogue_target_periods"] == len(cat.target_periods)
    terms = con.execute("select role, item_id from raw.catalogue_indicator_terms where indicator_id='att_unauthorised_sen' "
                        "order by role, position").fetchall()
    assert terms == [("denominator", "att_sess_possible_ehcp"), ("denominator", "att_sess_possible_sen_support"),
                     ("numerator", "att_sess_unauthorised_ehcp"), ("numerator", "att_sess_unauthorised_sen_support")]
    dsg = con.execute("select is_rate, multiplier, polarity from raw.catalogue_indicators where indicator_id='dsg_deficit_gbp_m'").fetchall()
    assert dsg == [(False, 0.001, "low")]
    assert con.execute("select quarter, year_offset, time_identifier from raw.catalogue_dfe_held_terms order by quarter").fetchall() == [
        ("Q1", -1, "Spring term"), ("Q2", -1, "Summer term"), ("Q3", 0, "Autumn term"), ("Q4", 0, "Spring term")]


def test_record_submission_is_idempotent(con):
    findings = [Finding(QUERY, "Q01", "Large change.", sheet="Quarterly Return Template", cell="D10", value=25),
                Finding(QUERY, "Q02", "Outside range.", resolved=True)]
    r = _result(findings=findings)
    when = datetime(2026, 10, 15, 9, 30)
    for _ in range(2):
        assert warehouse.record_submission(con, r, "/archive/abc.xlsx", when) == "abc"
    row = con.execute("select la_code, year, quarter, period, status, n_errors, n_queries, n_unresolved_queries, "
                      "received_at, archive_path from raw.submissions").fetchall()
    assert row == [("301", "2026-27", "Q2", "2026-27-Q2", "accepted_with_queries", 0, 2, 1, when, "/archive/abc.xlsx")]
    # empty cells are not stored
    assert con.execute("select item_id, quarter, value, note from raw.return_values order by quarter").fetchall() == [
        ("requests_received", "Q1", 10.0, None), ("requests_received", "Q2", 25.0, "a reason")]
    assert _count(con, "return_baselines") == 1 and _count(con, "return_targets") == 2
    assert con.execute("select rule, value, resolved, period, la_code from raw.findings order by rule").fetchall() == [
        ("Q01", "25", False, "2026-27-Q2", "301"), ("Q02", None, True, "2026-27-Q2", "301")]


def test_rejected_submission_keeps_findings_only(con):
    r = _result(sha="bad", findings=[Finding(ERROR, "E05", "Not a number. Action required: enter a number.")])
    warehouse.record_submission(con, r, "/archive/bad.xlsx", datetime(2026, 10, 1))
    assert con.execute("select status, n_errors from raw.submissions").fetchall() == [("rejected", 1)]
    assert _count(con, "findings", "bad") == 1
    for table in ("return_values", "return_baselines", "return_targets"):
        assert _count(con, table) == 0


def test_unreadable_file_with_caller_supplied_identity(con):
    r = FileResult(file="odd.xlsx", sha256="odd", findings=[Finding(ERROR, "E01", "Wrong file.")])
    warehouse.record_submission(con, r, "/archive/odd", datetime(2026, 10, 1), la_code="301", year="2026-27", quarter="Q2")
    warehouse.record_submission(con, FileResult(file="x.pdf", sha256="x", findings=[Finding(ERROR, "E00", "No.")]),
                                "/archive/x", datetime(2026, 10, 1))
    assert con.execute("select submission_id, la_code, period from raw.submissions order by 1").fetchall() == [
        ("odd", "301", "2026-27-Q2"), ("x", None, None)]
    with pytest.raises(ValueError):
        warehouse.record_submission(con, FileResult(file="n.xlsx"), "/a", datetime(2026, 10, 1))


def test_resubmission_keeps_both_and_aware_times_are_utc(con):
    bst = timezone(timedelta(hours=1))
    warehouse.record_submission(con, _result("one"), "/a/one", datetime(2026, 10, 15, 10, 0, tzinfo=bst))
    warehouse.record_submission(con, _result("two"), "/a/two", datetime(2026, 10, 16, 9, 0))
    assert con.execute("select submission_id, received_at from raw.submissions order by 1").fetchall() == [
        ("one", datetime(2026, 10, 15, 9, 0)), ("two", datetime(2026, 10, 16, 9, 0))]
    assert _count(con, "return_values") == 4


def test_load_ees_keeps_text_and_is_idempotent_by_hash(con):
    df = pl.DataFrame({"time_period": [202526, 202526], "time_identifier": ["Summer term"] * 2,
                       "geographic_level": ["Local authority"] * 2, "old_la_code": ["201", "301"],
                       "breakdown": ["EHC plan"] * 2, "sess_possible": ["c", "1000"],
                       "school_type": ["Total", "Total"]})
    assert warehouse.load_ees(con, "attendance", df, "att.csv", "h1") == 2
    warehouse.load_ees(con, "attendance", df, "att.csv", "h1")
    warehouse.load_ees(con, "attendance", df.head(1), "att2.csv", "h2")
    rows = con.execute("select old_la_code, time_period, sess_possible, school_type, source_file, source_file_hash "
                       "from raw.ees_attendance order by source_file_hash, old_la_code").fetchall()
    assert rows == [("201", "202526", "c", "Total", "att.csv", "h1"), ("301", "202526", "1000", "Total", "att.csv", "h1"),
                    ("201", "202526", "c", "Total", "att2.csv", "h2")]
    assert _columns(con, "ees_attendance")["school_type"] == "VARCHAR"
    with pytest.raises(ValueError):
        warehouse.load_ees(con, "absence", df, "a.csv", "h3")


def test_table_counts(con):
    warehouse.record_submission(con, _result(), "/a", datetime(2026, 10, 15))
    counts = warehouse.table_counts(con)
    assert counts["raw.submissions"] == 1 and counts["raw.return_values"] == 2
    assert counts["raw.ees_exclusions"] == 0
    assert all(k.startswith("raw.") for k in counts)
