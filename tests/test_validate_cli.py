"""`lsrp validate`: text and JSON output, exit codes, no tracebacks; feedback files; speed."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from contracts import layout as L
from contracts.feedback import write_feedback
from contracts.validate import cli, validate_file
from pipeline.cli import main as lsrp_main

LAY = L.layout()
NEG_CELL = L.cell(L.quarter_col("Q2"), LAY.item_rows["ehcps_non_maintained_special"])
TEXT_CELL = L.cell(L.quarter_col("Q2"), LAY.item_rows["ehcps_maintained"])


@pytest.fixture
def bad_return(make_return):
    return make_return(values={("ehcps_non_maintained_special", "Q2"): -4,
                               ("ehcps_maintained", "Q2"): "12 (est)"})


@pytest.fixture
def queried_return(make_return):
    return make_return(file_name=L.file_name("September-2026", "302", "Barnet"), la_code="302", la_name="Barnet",
                       values={("eah_settings_with_access", "Q2"): 20})


def test_text_output_accepted(good_return, capsys):
    assert cli([str(good_return)], "text") == 0
    out = capsys.readouterr().out
    assert "ACCEPTED" in out and "1 file(s) checked: 1 accepted" in out


def test_text_output_rejected_shows_cell_and_action(bad_return, capsys):
    assert cli([str(bad_return)], "text") == 1
    out = capsys.readouterr().out
    assert "REJECTED" in out
    assert f"ERROR E20  Quarterly Return Template!{NEG_CELL}  value '-4'" in out
    assert f"ERROR E19  Quarterly Return Template!{TEXT_CELL}  value '12 (est)'" in out
    assert "Action required:" in out
    assert "1 rejected" in out
    assert "Traceback" not in out


def test_text_groups_errors_before_queries(make_return, capsys):
    p = make_return(values={("eah_settings_with_access", "Q2"): 20, ("requests_received", "Q2"): 310.5})
    assert cli([str(p)], "text") == 1
    lines = capsys.readouterr().out.splitlines()
    levels = [ln.split()[0] for ln in lines if ln.startswith("  ")]
    assert levels == sorted(levels)  # ERROR... then QUERY...
    assert levels[0] == "ERROR" and levels[-1] == "QUERY"


def test_json_output_shape(good_return, bad_return, queried_return, capsys):
    assert cli([str(good_return), str(bad_return), str(queried_return)], "json") == 1
    doc = json.loads(capsys.readouterr().out)  # exactly one JSON object
    assert list(doc) == ["files"]
    assert [f["status"] for f in doc["files"]] == ["accepted", "rejected", "accepted_with_queries"]
    for f in doc["files"]:
        assert set(f) == {"file", "status", "findings"}
        for finding in f["findings"]:
            assert set(finding) == {"level", "rule", "sheet", "cell", "value", "message"}
            assert finding["value"] is None or isinstance(finding["value"], str)
    bad = doc["files"][1]
    assert any(x["rule"] == "E20" and x["cell"] == NEG_CELL and x["level"] == "error" for x in bad["findings"])


def test_json_queries_only_exit_zero(queried_return, capsys):
    assert cli([str(queried_return)], "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["files"][0]["status"] == "accepted_with_queries"


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_usage_problems_exit_2(kind, tmp_path, capsys):
    target = tmp_path / "nope.xlsx" if kind == "missing" else tmp_path
    assert cli([str(target)], "text") == 2
    err = capsys.readouterr()
    assert "lsrp validate:" in err.err and err.out == ""
    assert "Traceback" not in err.err


def test_broken_file_via_lsrp_main(tmp_path, capsys):
    p = tmp_path / "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    assert lsrp_main(["validate", str(p), "--format", "json"]) == 1
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["files"][0]["findings"][0]["rule"] == "E05"
    assert "Traceback" not in out.out + out.err


def test_subprocess_no_traceback(bad_return, tmp_path):
    (tmp_path / "other").mkdir()
    garbage = tmp_path / "other" / "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    garbage.write_bytes(b"PK\x03\x04 broken zip")
    proc = subprocess.run([sys.executable, "-m", "pipeline.cli", "validate", str(bad_return), str(garbage)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "E06" in proc.stdout and "E20" in proc.stdout


def test_original_name_used_for_archive_copy(good_return, tmp_path):
    archived = tmp_path / "3f9a0c.xlsx"
    archived.write_bytes(good_return.read_bytes())
    assert validate_file(archived).status == "rejected"  # the hash name breaks the convention
    r = validate_file(archived, original_name=good_return.name)
    assert r.status == "accepted" and r.file == good_return.name


def test_feedback_files(bad_return, tmp_path):
    result = validate_file(bad_return)
    html_path, json_path = write_feedback(result, tmp_path / "fb")
    html = html_path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en-GB">' in html
    assert "<title>Rejected:" in html and "<script" not in html.lower()
    assert '<th scope="col">Cell</th>' in html and NEG_CELL in html and "12 (est)" in html
    assert "Status: Rejected" in html and "<caption>" in html
    assert json.loads(json_path.read_text(encoding="utf-8")) == result.to_dict()
    ok = validate_file(bad_return.parent / bad_return.name)  # same file: same names, no crash
    write_feedback(ok, tmp_path / "fb")


def test_validate_bytes_matches_validate_file(good_return, bad_return):
    from contracts.validate import validate_bytes

    for p in (good_return, bad_return):
        a, b = validate_file(p), validate_bytes(p.read_bytes(), p.name)
        assert (a.status, a.sha256, [f.to_dict() for f in a.findings]) == \
            (b.status, b.sha256, [f.to_dict() for f in b.findings])
    assert [f.rule for f in validate_bytes(b"", "x.csv").errors] == ["E01"]


def test_json_values_as_typed(bad_return, capsys):
    cli([str(bad_return)], "json")
    found = {f["rule"]: f["value"] for f in json.loads(capsys.readouterr().out)["files"][0]["findings"]}
    assert found["E20"] == "-4" and found["E19"] == "12 (est)"
