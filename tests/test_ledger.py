"""Bounded, isolated parsing and the period's own collection year (no Dagster here)."""
import zipfile
from pathlib import Path

from contracts import reader
from contracts.isolation import validate_isolated
from contracts.validate import ValidationContext, validate_file
from pipeline import ingest


def huge_dimension_copy(src: Path, dest: Path, ref: str = "A1:XFD1048576") -> Path:
    """A real return whose data sheet declares ``ref`` as its used range (a few KB on disk)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet") and b"<dimension ref=" in data:
                start = data.index(b"<dimension ref=") + len(b'<dimension ref="')
                data = data[:start] + ref.encode() + data[data.index(b'"', start):]
            zout.writestr(info, data)
    return dest


def test_declared_dimension_is_checked_before_reading(good_return, tmp_path):
    huge = huge_dimension_copy(good_return, tmp_path / good_return.name)
    assert huge.stat().st_size < 64 * 1024
    data, found = reader.open_upload(huge)
    assert data is None and found[0].rule == "E07"
    assert "A1:XFD1048576" in found[0].message and "Action required" in found[0].message
    assert reader.open_upload(good_return)[0] is not None  # the template itself is well inside the bounds


def test_isolated_validation_matches_in_process_and_bounds_crashes(good_return, tmp_path):
    same = validate_isolated(good_return)
    direct = validate_file(good_return)
    assert same.status == direct.status == "accepted"
    assert same.content.values.equals(direct.content.values)
    slow = validate_isolated(good_return, timeout=0.001)
    assert slow.status == "rejected" and "longer than" in slow.errors[0].message
    assert "Action required" in slow.errors[0].message
    starved = validate_isolated(good_return, memory_bytes=64 * 1024 * 1024)  # the reader cannot even start
    assert starved.status == "rejected" and starved.errors[0].rule == "E25"
    assert starved.sha256 == direct.sha256


def test_a_later_plan_year_is_accepted_under_its_own_period(tmp_path, lsrp_home):
    from tests.conftest import make_return_file

    path = make_return_file(tmp_path, year="2027-28")
    upload = ingest.Upload(path.name, str(path), "x", str(path), "2027-07-10T09:00:00", path.stat().st_size)
    from pipeline import warehouse

    with warehouse.session() as con:
        ok = ingest.check_upload(con, upload, "301", "2027-28-Q2")
        wrong = ingest.check_upload(con, upload, "301", "2026-27-Q2")
    assert ok.status != "rejected", [f.message for f in ok.errors]
    # a 2027-28 workbook in the 2026-27 collection: not that year's template (E09; E16 if the version matched)
    assert {f.rule for f in wrong.errors} & {"E09", "E16"}, [f.message for f in wrong.errors]
    assert validate_file(path, ValidationContext(expected_year="2027-28")).status != "rejected"
