"""`lsrp template` writes DfE's workbook conventions from the catalogue."""
import openpyxl

from contracts import layout as L
from contracts.catalogue import load
from pipeline.cli import main


def test_blank_template_follows_dfe_conventions(tmp_path):
    out = tmp_path / "t.xlsx"
    assert main(["template", "-o", str(out), "--year", "2027-28"]) == 0
    wb = openpyxl.load_workbook(out)
    cat = load()
    # the plan parts (issue 10) follow the original three sheets, then the hidden lists
    assert wb.sheetnames == [L.COVER, L.RETURN, L.GUIDANCE, *L.PLAN_SHEETS, "Lists"]
    ws = wb[L.RETURN]
    assert ws[L.YEAR_CELL].value == "2027-28 Quarterly Data"
    assert wb[L.COVER][L.COVER_VERSION].value == cat.template_version
    assert all(ws.cell(row=r, column=1).value is None for r in range(1, ws.max_row + 1))  # column A empty
    lay = L.layout()
    for item in cat.return_items:  # every LA data item has its row, named in column B, id in C
        assert ws.cell(row=lay.item_rows[item.id], column=L.NAME_COL).value == item.label
        assert ws.cell(row=lay.item_rows[item.id], column=L.ID_COL).value == item.id
    for ind in cat.indicators:  # every indicator has baseline and target cells
        assert ws.cell(row=lay.indicator_rows[ind.id], column=L.NAME_COL).value == ind.name
    assert not set(i.id for i in cat.dfe_held_items) & set(lay.item_rows)  # DfE-held data is not asked for
    # data validation on the input cells: numbers >= 0 for counts, a list for the quarter
    q2 = L.cell(L.quarter_col("Q2"), lay.item_rows["requests_received"])
    assert any(q2 in str(dv.sqref) and dv.type == "decimal" for dv in ws.data_validations.dataValidation)
    assert any(L.COVER_QUARTER in str(dv.sqref) and dv.type == "list"
               for dv in wb[L.COVER].data_validations.dataValidation)


def test_default_file_name_and_la_file_name():
    assert L.file_name("September-2026", "301", "Barking and Dagenham") == \
        "lsrp-quarterly-return-September-2026-301-barking-and-dagenham.xlsx"
    assert L.FILE_NAME_RE.match(L.file_name("September-2026", "873", "Bristol, City of"))
