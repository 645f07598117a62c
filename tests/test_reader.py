"""Safe opening of uploads: every broken-file kind is rejected with its own rule, never an exception."""
from __future__ import annotations

import io
import zipfile

import pytest

from contracts import layout as L
from contracts import reader
from contracts.catalogue import load
from contracts.validate import ValidationContext, validate_file

GOOD_NAME = L.file_name(load().template_version, "301", "Barking and Dagenham")


def _zip(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _with_members(good: bytes, extra: dict[str, bytes], replace: dict[str, bytes] | None = None) -> bytes:
    replace = replace or {}
    members = {}
    with zipfile.ZipFile(io.BytesIO(good)) as zf:
        for n in zf.namelist():
            members[n] = replace.get(n, zf.read(n))
    members.update(extra)
    return _zip(members)


def _broken(kind: str, good: bytes) -> tuple[str, bytes]:
    if kind == "corrupt":
        return GOOD_NAME, b"this is not a spreadsheet at all\n" * 20
    if kind == "truncated":
        return GOOD_NAME, good[: len(good) // 2]
    if kind == "zip_not_excel":
        return GOOD_NAME, _zip({"readme.txt": b"hello"})
    if kind == "empty":
        return GOOD_NAME, b""
    if kind == "xls":
        return GOOD_NAME.replace(".xlsx", ".xls"), good
    if kind == "csv":
        return GOOD_NAME.replace(".xlsx", ".csv"), b"a,b\n1,2\n"
    if kind == "no_extension":
        return GOOD_NAME.replace(".xlsx", ""), good
    if kind == "password_ole2":
        return GOOD_NAME, reader.OLE2_MAGIC + b"\x00" * 4000
    if kind == "xlsm":
        return GOOD_NAME.replace(".xlsx", ".xlsm"), good
    if kind == "vba_inside":
        return GOOD_NAME, _with_members(good, {"xl/vbaProject.bin": b"\x00" * 100})
    if kind == "macro_content_type":
        with zipfile.ZipFile(io.BytesIO(good)) as zf:
            ct = zf.read("[Content_Types].xml").decode()
        ct = ct.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                        "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        return GOOD_NAME, _with_members(good, {}, {"[Content_Types].xml": ct.encode()})
    if kind == "zip_bomb_ratio":
        return GOOD_NAME, _with_members(good, {"xl/media/padding.bin": b"\x00" * (3 * 1024 * 1024)})
    if kind == "unsafe_xml":
        bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">&lol2;</Types>')
        return GOOD_NAME, _with_members(good, {}, {"[Content_Types].xml": bomb})
    if kind == "unreadable_workbook":
        return GOOD_NAME, _zip({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<not-a-workbook"})
    raise ValueError(kind)


BROKEN = [
    ("corrupt", "E06"), ("truncated", "E06"), ("zip_not_excel", "E06"), ("empty", "E03"),
    ("xls", "E01"), ("csv", "E01"), ("no_extension", "E01"), ("password_ole2", "E05"),
    ("xlsm", "E02"), ("vba_inside", "E02"), ("macro_content_type", "E02"),
    ("zip_bomb_ratio", "E07"), ("unsafe_xml", "E06"), ("unreadable_workbook", "E25"),
]


@pytest.mark.parametrize("kind,rule", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_rejected(kind, rule, good_return, tmp_path):
    name, data = _broken(kind, good_return.read_bytes())
    path = tmp_path / name
    path.write_bytes(data)
    result = validate_file(path)
    assert result.status == "rejected"
    assert [f.rule for f in result.errors] == [rule], [f.message for f in result.findings]
    f = result.errors[0]
    assert "Action required:" in f.message
    assert f.file == name
    assert result.content is None


@pytest.mark.proves("E04")
def test_oversized_rejected_with_configured_limit(good_return, tmp_path, monkeypatch):
    path = tmp_path / GOOD_NAME
    path.write_bytes(good_return.read_bytes())
    r = validate_file(path, ValidationContext(max_bytes=1000))
    assert [f.rule for f in r.errors] == ["E04"]
    assert "limit" in r.errors[0].message
    monkeypatch.setenv("LSRP_MAX_UPLOAD_BYTES", "2000")
    assert [f.rule for f in validate_file(path).errors] == ["E04"]
    monkeypatch.setenv("LSRP_MAX_UPLOAD_BYTES", str(10 * 1024 * 1024))
    assert validate_file(path).status == "accepted"


@pytest.mark.proves("E07")
def test_zip_bomb_total_size(good_return, tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_UNCOMPRESSED_BYTES", 1000)
    path = tmp_path / GOOD_NAME
    path.write_bytes(good_return.read_bytes())
    assert [f.rule for f in validate_file(path).errors] == ["E07"]


def test_open_upload_never_raises(tmp_path):
    data, findings = reader.open_upload(tmp_path / "missing.xlsx")
    assert data is None and [f.rule for f in findings] == ["E25"]


def test_valid_upload_passes_open_and_reads(good_return):
    data, findings = reader.open_upload(good_return)
    assert findings == [] and data
    wb, findings = reader.read_workbook(data, good_return.name)
    assert findings == []
    assert set(L.REQUIRED_SHEETS) <= set(wb.sheets)
    ws = wb.sheets[L.RETURN]
    # indices match Excel even though column A and the first rows are empty
    assert ws.at(L.YEAR_CELL) == L.year_label(load().collection_year)
    assert ws.get(1, 1) is None
    lay = L.layout()
    assert reader.text(ws.get(lay.item_rows["requests_received"], L.NAME_COL)) == \
        load().item("requests_received").label


def test_parsed_return_long_form(good_return):
    r = validate_file(good_return)
    assert r.status == "accepted", [f.message for f in r.findings]
    c = r.content
    assert (c.la_code, c.la_name, c.year, c.quarter, c.period) == \
        ("301", "Barking and Dagenham", "2026-27", "Q2", "2026-27-Q2")
    lay = L.layout()
    row = c.values.filter(item_id="requests_received", quarter="Q2").row(0, named=True)
    assert row["value"] == 310.0
    assert row["cell"] == L.cell(L.quarter_col("Q2"), lay.item_rows["requests_received"])
    assert c.values.height == 2 * len(load().return_items)  # Q1 and Q2; empty Q3/Q4 not stored
    assert set(c.values.columns) == {"item_id", "quarter", "value", "note", "cell"}
    assert c.baselines.height == len(load().indicators)
    assert c.targets.height == len(load().indicators) * len(load().target_periods)
    assert r.sha256 and len(r.sha256) == 64


@pytest.mark.parametrize("raw,expected", [
    (12, 12.0), (12.5, 12.5), (" 7 ", 7.0), ("-3", -3.0), ("12 (est)", None), ("n/a", None),
    ("1,234", None), (True, None), ("", None), (float("nan"), None),
])
def test_to_number(raw, expected):
    assert reader.to_number(raw) == expected
