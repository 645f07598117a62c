"""The plan parts of the return (issue 10): template sheets with data validation, reader, contracts and
every plan rule both firing and not firing, on real xlsx files written by pipeline.template."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from openpyxl import load_workbook

from contracts import layout as L
from contracts import plan_checks, reader
from contracts.catalogue import load
from contracts.findings import ERROR, QUERY
from contracts.validate import validate_file
from pipeline import template
from synthetic import plan_sample
from pipeline.plan_sheets import LISTS_SHEET
from reports.common import safe_cell
from tests.conftest import good_content

CAT = load()
PLAN = CAT.plan
LA = {"old_la_code": "301", "la_name": "Barking and Dagenham", "region_name": "London"}
YEAR = CAT.collection_year


def parts(quarter: str = "Q2", cases: tuple[str, ...] = ()) -> dict:
    return plan_sample.plan_parts(LA, YEAR, quarter, seed=7, cases=cases)


def write_return(folder, quarter: str = "Q2", plan: dict | None = None, cells: dict | None = None):
    content = good_content(quarter)
    if plan is not None:
        plan_sample.apply(content, plan)
    path = folder / L.file_name(CAT.template_version, "301", "Barking and Dagenham")
    template.write(path, content=content)
    if cells:
        wb = load_workbook(path)
        for (sheet, ref), value in cells.items():
            if ref == "__delete__":
                del wb[sheet]
            else:
                wb[sheet][ref] = value
        wb.save(path)
    return path


def plan_findings(result):
    return [f for f in result.findings if f.rule in plan_checks.PLAN_ERROR_RULES
            or f.rule in ("Q06", "Q07", "Q08", "Q09", "Q10")]


def rules_of(result) -> list[str]:
    return sorted(f.rule for f in plan_findings(result))


@pytest.mark.parametrize("quarter", ["Q1", "Q2"])
def test_clean_plan_is_accepted_and_read_back(tmp_path, quarter):
    p = parts(quarter)
    r = validate_file(write_return(tmp_path, quarter, p))
    assert plan_findings(r) == [], [f.message for f in plan_findings(r)]
    assert r.status == "accepted", [f.message for f in r.findings]
    plan = r.content.plan
    assert plan.present and plan.filled and plan.icb_name == p["icb_name"] and plan.sro == p["sro"]
    assert plan.signatories.height == len(PLAN.statutory_roles)
    assert plan.signatories["signed_on"].null_count() == 0
    assert plan.milestones.height == len(p["workstreams"]) * len(PLAN.milestone_quarters)
    first = p["workstreams"][0]["milestones"]["Q2"]
    row = plan.milestones.filter(workstream_no=1, quarter="Q2").row(0, named=True)
    assert (row["milestone"], row["due_date"], row["status"]) == (first["milestone"], first["due_date"],
                                                                  first["status"])
    assert plan.risks.height == len(p["risks"]) <= PLAN.max_risks
    assert plan.risks["residual_rag"].null_count() == 0
    # actual spend only for quarters that have ended; projected for all four
    spend = plan.spend
    assert spend.filter(spend["actual"].is_not_null())["quarter"].unique().sort().to_list() == \
        ["Q1", "Q2"][: ["Q1", "Q2"].index(quarter) + 1]
    assert spend["projected"].null_count() == 0


def test_template_has_list_validation_from_the_catalogue(tmp_path):
    wb = load_workbook(write_return(tmp_path, "Q2", parts()))
    lists = wb[LISTS_SHEET]
    assert lists.sheet_state == "hidden"
    columns = {lists.cell(1, c).value: [lists.cell(r, c).value for r in range(2, lists.max_row + 1)
                                        if lists.cell(r, c).value is not None]
               for c in range(1, lists.max_column + 1)}
    assert columns["status"] == list(PLAN.statuses)
    assert columns["category"] == list(PLAN.spend_categories)
    assert columns["funding_source"] == list(PLAN.funding_sources)
    assert columns["impact"] == list(PLAN.impacts) and columns["likelihood"] == list(PLAN.likelihoods)
    assert columns["rag"] == list(PLAN.rags)

    def validated(sheet, ref):
        return [dv.formula1 for dv in wb[sheet].data_validations.dataValidation
                if dv.type == "list" and ref in dv.sqref]

    r = L.PLAN_FIRST_ROW
    assert validated(L.RISK_SHEET, L.cell(L.RISK_COLS["impact"], r)) == [f"={LISTS_SHEET}!$D$2:$D$6"]
    assert validated(L.RISK_SHEET, L.cell(L.RISK_COLS["residual_rag"], r)) == [f"={LISTS_SHEET}!$F$2:$F$4"]
    assert validated(L.SPEND_SHEET, L.cell(L.SPEND_COLS["category"], r))
    assert validated(L.SPEND_SHEET, L.cell(L.SPEND_COLS["funding_source"], r))
    assert validated(L.PLAN_SHEET, L.cell(L.milestone_col(PLAN, "Q3", "status"), r))
    # the existing sheets and cells are where they were
    assert wb.sheetnames[:3] == [L.COVER, L.RETURN, L.GUIDANCE]


def test_matrix_is_annex_c_as_data():
    assert PLAN.impacts[0] == "Crisis" and PLAN.likelihoods[-1] == "Very Likely (>90%)"
    assert PLAN.matrix_rag("Crisis", "Very Likely (>90%)") == "Red"
    assert PLAN.matrix_rag("Negligible", "Very Unlikely (<10%)") == "Green"
    assert PLAN.matrix_rag("Moderate", "Possible (30-60%)") == "Amber"
    assert PLAN.matrix_rag("Huge", "Possible (30-60%)") is None
    # RAG never falls as impact or likelihood rises
    order = {"Green": 0, "Amber": 1, "Red": 2}
    for i, impact in enumerate(PLAN.impacts):
        row = [order[x] for x in PLAN.risk_matrix[impact]]
        assert row == sorted(row)
        if i:
            above = [order[x] for x in PLAN.risk_matrix[PLAN.impacts[i - 1]]]
            assert all(a >= b for a, b in zip(above, row))


# (case, quarter, plan cases, mutate(parts), edits, rule, level, rejected)
def _long(p):
    p["risks"][0]["mitigation"] = "x" * (PLAN.limit("mitigation") + 1)


def _bad_status(p):
    p["workstreams"][0]["milestones"]["Q3"]["status"] = "Done"


def _bad_impact(p):
    p["risks"][1]["impact"] = "Huge"


def _bad_category(p):
    p["spend"][0]["category"] = "Biscuits"


def _bad_date(p):
    p["workstreams"][0]["milestones"]["Q4"]["due_date"] = "next spring"


def _negative_spend(p):
    p["spend"][1]["projected"]["Q3"] = -5


def _incomplete_risk(p):
    p["risks"][0]["likelihood"] = None


def _bad_email(p):
    p["signatories"][0]["email"] = "not an email"


def _same_workstream_twice(p):
    # the hostile-return case that once stopped a national publication: the same name, other case and spaces
    p["workstreams"][1]["workstream"] = "  " + p["workstreams"][0]["workstream"].upper() + " "


def _same_risk_twice(p):
    p["risks"][1]["description"] = p["risks"][0]["description"] + "  "


def _overspend_with_reason(p):
    p["spend"][0]["actual"]["Q2"] = p["spend"][0]["projected"]["Q2"] * 1.5
    p["spend"][0]["notes"] = "Recruitment brought forward from Q3"


CASES = [
    ("six_risks", "Q2", ("six_risks",), None, "E29", ERROR),
    ("wrong_rag", "Q2", ("wrong_rag",), None, "Q06", QUERY),
    ("overspend", "Q2", ("overspend",), None, "Q07", QUERY),
    ("past_not_started", "Q2", ("past_not_started",), None, "Q08", QUERY),
    ("missing_signatory_later", "Q2", ("missing_signatory",), None, "Q09", QUERY),
    ("missing_signatory_initial", "Q0", ("missing_signatory",), None, "E30", ERROR),
    ("missing_signatory_q1", "Q1", ("missing_signatory",), None, "Q09", QUERY),
    ("text_too_long", "Q2", (), _long, "E28", ERROR),
    ("status_not_in_list", "Q2", (), _bad_status, "E27", ERROR),
    ("impact_not_in_list", "Q2", (), _bad_impact, "E27", ERROR),
    ("category_not_in_list", "Q2", (), _bad_category, "E27", ERROR),
    ("date_not_valid", "Q2", (), _bad_date, "E31", ERROR),
    ("negative_spend", "Q2", (), _negative_spend, "E32", ERROR),
    ("risk_incomplete", "Q2", (), _incomplete_risk, "E33", ERROR),
    ("email_not_valid", "Q2", (), _bad_email, "E34", ERROR),
    ("workstream_named_twice", "Q2", (), _same_workstream_twice, "E44", ERROR),
    ("risk_named_twice", "Q2", (), _same_risk_twice, "E44", ERROR),
]


@pytest.mark.parametrize("case,quarter,cases,mutate,rule,level", CASES, ids=[c[0] for c in CASES])
def test_each_plan_rule_fires(tmp_path, case, quarter, cases, mutate, rule, level):
    p = parts(quarter, cases)
    if mutate:
        mutate(p)
    r = validate_file(write_return(tmp_path, quarter, p))
    found = [f for f in plan_findings(r) if f.rule == rule]
    assert len(found) == 1, [(f.rule, f.message) for f in plan_findings(r)]
    f = found[0]
    assert f.level == level and "Action required:" in f.message and f.sheet and f.cell
    assert r.status == ("rejected" if level == ERROR else "accepted_with_queries")
    if level == QUERY and rule != "Q09":
        assert not f.resolved  # the sample's broken cases give no reason
    # one mistake, one finding: nothing else in the plan parts
    assert {g.rule for g in plan_findings(r)} == {rule}, [(g.rule, g.message) for g in plan_findings(r)]


def test_query_resolved_by_a_reason(tmp_path):
    p = parts("Q2")
    _overspend_with_reason(p)
    r = validate_file(write_return(tmp_path, "Q2", p))
    (f,) = [f for f in r.findings if f.rule == "Q07"]
    assert f.resolved and "50% above" in f.message and f.cell == L.cell(L.spend_col("actual", "Q2"), L.PLAN_FIRST_ROW)


def test_rag_query_names_the_matrix_rag(tmp_path):
    p = parts("Q2", ("wrong_rag",))
    r = validate_file(write_return(tmp_path, "Q2", p))
    (f,) = [f for f in r.findings if f.rule == "Q06"]
    risk = p["risks"][0]
    assert f"gives {PLAN.matrix_rag(risk['impact'], risk['likelihood'])}" in f.message
    assert f.cell == L.cell(L.RISK_COLS["rag"], L.PLAN_FIRST_ROW)


def test_milestone_in_the_future_not_started_is_fine(tmp_path):
    p = parts("Q2")
    m = p["workstreams"][0]["milestones"]["Q4"]
    m.update(status="Not started", due_date=dt.date(2027, 2, 1))
    r = validate_file(write_return(tmp_path, "Q2", p))
    assert "Q08" not in rules_of(r)


@pytest.mark.proves("Q10")
def test_blank_or_missing_plan_parts(tmp_path):
    # optional while catalogue plan_parts.required is false: a return without them passes as before
    blank = validate_file(write_return(tmp_path, "Q2", None))
    assert rules_of(blank) == [] and blank.status == "accepted" and not blank.content.plan.filled
    old = validate_file(write_return(tmp_path, "Q2", None, cells={(s, "__delete__"): None for s in L.PLAN_SHEETS}))
    assert rules_of(old) == [] and old.status == "accepted" and not old.content.plan.present
    # once required, each is queried
    required = dataclasses.replace(CAT, plan=dataclasses.replace(PLAN, required=True))
    wb, _ = reader.read_workbook(write_return(tmp_path, "Q2", None, cells={(L.RISK_SHEET, "__delete__"): None})
                                 .read_bytes(), "x.xlsx")
    (f,) = plan_checks.check_plan(wb, _head("Q2"), required)
    assert f.rule == "Q10" and "'Risks'" in f.message


def _head(quarter):
    from contracts.rules import Header
    return Header(la_code="301", la_name="Barking and Dagenham", year=YEAR, quarter=quarter, layout_ok=True)


def test_text_limits_apply_to_cover_text(tmp_path):
    p = parts("Q2")
    p["icb_name"] = "N" * (PLAN.limit("icb_name") + 5)
    r = validate_file(write_return(tmp_path, "Q2", p))
    (f,) = [f for f in r.findings if f.rule == "E28"]
    assert f.cell == L.COVER_ICB and str(PLAN.limit("icb_name")) in f.message


def test_safe_cell_neutralises_formulas():
    for s in ("=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1"):
        assert safe_cell(s) == "'" + s
    assert safe_cell("Recruit leads") == "Recruit leads"
    assert safe_cell(-3.5) == -3.5 and safe_cell(None) is None


def test_formula_text_in_a_return_is_kept_as_text(tmp_path):
    p = parts("Q2")
    p["risks"][0]["mitigation"] = "=1+1"
    r = validate_file(write_return(tmp_path, "Q2", p))
    assert r.content.plan.risks["mitigation"][0] == "=1+1"
    assert safe_cell(r.content.plan.risks["mitigation"][0]) == "'=1+1"


CASE_RULE = {"six_risks": "E29", "wrong_rag": "Q06", "overspend": "Q07", "past_not_started": "Q08",
             "missing_signatory": "Q09"}


def test_sample_generator_plan_parts(tmp_path):
    """The generator's returns: every LA's plan parts valid except the declared cases, each of which
    raises exactly its rule; slips keep the first date in the notes; one risk escalates in Q2."""
    import json

    from synthetic import sample

    codes = ["301", "308", "330", "892", "942", "815", "886", "801", "808", "873"]
    sample.generate(tmp_path, la_codes=codes, bomb_bytes=1_000_000)
    manifest = json.loads((tmp_path / "MANIFEST.json").read_text())
    assert set(manifest["plan_cases"].values()) == set(plan_sample.PLAN_CASES)
    for rec in manifest["returns"]:
        r = validate_file(tmp_path / rec["path"])
        if "renamed_row_label" in rec["broken"]:
            continue  # the structure stage stops before the plan parts
        expected = sorted(CASE_RULE[c] for c in rec["plan_cases"])
        assert rules_of(r) == expected, (rec["path"], [f.message for f in plan_findings(r)])
        plan = r.content.plan
        assert plan.filled and 3 <= plan.milestones["workstream_no"].max() <= 4
        assert plan.signatories.filter(plan.signatories["name"].is_not_null()).height >= 4
        assert plan.spend["category"].null_count() == 0 and plan.spend["funding_source"].null_count() == 0


def test_support_page_escapes_and_csv_neutralises(tmp_path):
    """Text from returns is escaped in the support page and neutralised in its CSV."""
    import csv as csv_mod

    from reports import support

    a = support.LASupport("301", "=HYPERLINK(\"x\")", "London", "accepted_with_queries", [
        support.Flag("red_residual_risks", "+1 risk red", [[1, "<script>alert(1)</script>", "Crisis",
                                                            "Likely (60-90%)", "escalated"]], ["Risk", "Description",
                                                                                               "Impact", "Likelihood",
                                                                                               "Movement"])])
    html = support.render_html("2026-27-Q2", [a], 153, support.load_thresholds())
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    path = tmp_path / "s.csv"
    support.write_csv(path, "2026-27-Q2", [a])
    row = next(csv_mod.DictReader(path.open(encoding="utf-8")))
    assert row["la_name"].startswith("'=") and row["detail"] == "'+1 risk red"


def test_template_limits_free_text_length(tmp_path):
    wb = load_workbook(write_return(tmp_path, "Q2", parts()))
    ws = wb[L.RISK_SHEET]
    ref = L.cell(L.RISK_COLS["mitigation"], L.PLAN_FIRST_ROW)
    (dv,) = [dv for dv in ws.data_validations.dataValidation if dv.type == "textLength" and ref in dv.sqref]
    assert dv.formula1 == str(PLAN.limit("mitigation"))
