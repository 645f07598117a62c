"""`lsrp template` writes DfE's workbook conventions from the catalogue."""
import openpyxl

from contracts import layout as L
from contracts import catalogue
from contracts.catalogue import for_year, load
from pipeline.cli import main


def test_blank_template_follows_dfe_conventions(tmp_path):
    out = tmp_path / "t.xlsx"
    assert main(["template", "-o", str(out), "--year", "2027-28"]) == 0
    wb = openpyxl.load_workbook(out)
    cat = for_year("2027-28")  # that year's template: its own version, inherited rows
    assert cat.template_version == "September-2027"
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


def test_each_collection_year_inherits_the_year_before_unless_it_changes_it(tmp_path):
    base, y27, y28 = (for_year(y) for y in ("2026-27", "2027-28", "2028-29"))
    assert catalogue.years() == ("2026-27", "2027-28", "2028-29") and base is load()
    assert [c.collection_year for c in (base, y27, y28)] == ["2026-27", "2027-28", "2028-29"]
    # 2027-28 changes the template version and the milestone quarters; everything else is inherited
    assert base.plan.milestone_quarters == ("Q2", "Q3", "Q4")
    assert y27.plan.milestone_quarters == y28.plan.milestone_quarters == ("Q1", "Q2", "Q3", "Q4")
    assert y27.plan.risk_matrix == base.plan.risk_matrix and y27.indicators == base.indicators
    assert (y27.target_periods, y27.query_thresholds) == (base.target_periods, base.query_thresholds)
    assert catalogue.year_of_version("September-2028") == "2028-29"
    # an overlay may change one indicator's field by id; the others are inherited untouched
    changed = catalogue._overlay({"indicators": [{"id": "a", "tolerance": 1}, {"id": "b", "tolerance": 2}]},
                                 {"indicators": {"b": {"tolerance": 3}}})
    assert changed["indicators"] == [{"id": "a", "tolerance": 1}, {"id": "b", "tolerance": 3}]
    # the Delivery Plan sheet of 2027-28 has a milestone for every quarter (four more columns)
    widths = {}
    for year in ("2026-27", "2027-28"):
        out = tmp_path / f"{year}.xlsx"
        assert main(["template", "-o", str(out), "--year", year]) == 0
        widths[year] = openpyxl.load_workbook(out)[L.PLAN_SHEET].max_column
    assert widths["2027-28"] == widths["2026-27"] + len(L.MILESTONE_FIELDS)


def test_lsrp_validate_checks_a_return_against_its_own_year(tmp_path):
    """Without a collection folder, the file name's template version says which year's catalogue applies."""
    from contracts.validate import validate_file
    from tests.conftest import make_return_file

    r = validate_file(make_return_file(tmp_path / "a", year="2027-28"))
    assert r.status == "accepted" and r.content.year == "2027-28", [f.message for f in r.findings]
    # a 2027-28 workbook renamed as a 2026-27 one is that year's template only in name
    renamed = make_return_file(tmp_path / "b", year="2027-28",
                               file_name=L.file_name("September-2026", "301", "Barking and Dagenham"))
    assert {f.rule for f in validate_file(renamed).errors} == {"E09"}
