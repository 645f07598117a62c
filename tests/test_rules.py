"""Every rule both firing and not firing, on real xlsx files written by pipeline.template."""
from __future__ import annotations

import polars as pl
import pytest

from contracts import layout as L
from contracts import rules, schemas
from contracts.catalogue import load
from contracts.findings import ERROR, QUERY
from contracts.validate import ValidationContext, validate_file

CAT = load()
LAY = L.layout()
RET, COV = L.RETURN, L.COVER


def qcell(item: str, q: str = "Q2") -> str:
    return L.cell(L.quarter_col(q), LAY.item_rows[item])


def tcell(ind: str, period: str) -> str:
    return L.cell(LAY.target_col(period, CAT), LAY.indicator_rows[ind])


def bcell(ind: str) -> str:
    return L.cell(L.TARGET_BASELINE_COL, LAY.indicator_rows[ind])


ROW = LAY.item_rows["requests_received"]
OLD = "lsrp-quarterly-return-June-2026-301-barking-and-dagenham.xlsx"

# (case id, make_return overrides, rule expected, cell expected or None)
FIRING = [
    ("E08_bad_name", {"file_name": "barking-return.xlsx"}, "E08", None),
    ("E08_upper_ext", {"file_name": L.file_name(CAT.template_version, "301", "x").replace(".xlsx", ".XLSX")}, "E08", None),
    ("E09_name_version", {"file_name": OLD}, "E09", None),
    ("E09_cover_version", {"cells": {(COV, L.COVER_VERSION): "June-2026"}}, "E09", L.COVER_VERSION),
    ("E10_cover_renamed", {"cells": {(COV, "__rename__"): "Cover sheet"}}, "E10", None),
    ("E10_return_renamed", {"cells": {(RET, "__rename__"): "Return"}}, "E10", None),
    ("E11_row_renamed", {"cells": {(RET, f"B{ROW}"): "Requests received"}}, "E11", f"B{ROW}"),
    ("E11_row_cleared", {"cells": {(RET, f"B{ROW}"): None}}, "E11", f"B{ROW}"),
    ("E12_column_a", {"cells": {(RET, "A30"): "note"}}, "E12", "A30"),
    ("E13_no_code", {"cells": {(COV, L.COVER_LA): "Barking and Dagenham"}}, "E13", L.COVER_LA),
    ("E13_unknown_code", {"cells": {(COV, L.COVER_LA): "999 Nowhere"}}, "E13", L.COVER_LA),
    ("E13_empty", {"cells": {(COV, L.COVER_LA): None}}, "E13", L.COVER_LA),
    ("E14_code_mismatch", {"cells": {(COV, L.COVER_LA): "302 Barnet"}}, "E14", L.COVER_LA),
    ("E15_not_consecutive", {"cells": {(RET, L.YEAR_CELL): "2026-28 Quarterly Data"}}, "E15", L.YEAR_CELL),
    ("E15_bad_format", {"cells": {(RET, L.YEAR_CELL): "2026/27"}}, "E15", L.YEAR_CELL),
    ("E16_wrong_year", {"year": "2025-26"}, "E16", L.YEAR_CELL),
    ("E17_bad_quarter", {"cells": {(COV, L.COVER_QUARTER): "Q5"}}, "E17", L.COVER_QUARTER),
    ("E17_empty_quarter", {"cells": {(COV, L.COVER_QUARTER): None}}, "E17", L.COVER_QUARTER),
    ("E18_missing_earlier", {"values": {("population_0_25", "Q1"): None}}, "E18", qcell("population_0_25", "Q1")),
    ("E18_missing_reported", {"values": {("mediation_concluded", "Q2"): None}}, "E18", qcell("mediation_concluded")),
    ("E19_text", {"values": {("ehcps_maintained", "Q2"): "12 (est)"}}, "E19", qcell("ehcps_maintained")),
    ("E19_na", {"values": {("requests_tribunal", "Q1"): "n/a"}}, "E19", qcell("requests_tribunal", "Q1")),
    ("E19_baseline", {"baselines": {"neet_ehcp": ("about 16", "2025-26")}}, "E19", bcell("neet_ehcp")),
    ("E19_target", {"targets": {("neet_ehcp", "2027-28"): "tbc"}}, "E19", tcell("neet_ehcp", "2027-28")),
    ("E20_negative", {"values": {("ehcps_non_maintained_special", "Q2"): -4}}, "E20",
     qcell("ehcps_non_maintained_special")),
    ("E21_fraction", {"values": {("requests_received", "Q2"): 310.5}}, "E21", qcell("requests_received")),
    ("E22_within", {"values": {("plans_issued_20wk_ex", "Q2"): 200}}, "E22", qcell("plans_issued_20wk_ex")),
    ("E22_within_stock", {"values": {("neet_nk_ehcp", "Q1"): 301}}, "E22", qcell("neet_nk_ehcp", "Q1")),
    ("E23_decided", {"values": {("requests_decided_to_assess", "Q2"): 250}}, "E23",
     qcell("requests_decided_not_to_assess")),
    ("E24_flow_falls", {"values": {("eah_cyp_supported", "Q2"): 190}}, "E24", qcell("eah_cyp_supported")),
    ("Q01_stock_jump", {"values": {("ehcps_maintained", "Q2"): 3200}}, "Q01", qcell("ehcps_maintained")),
    ("Q01_stock_drop", {"values": {("eah_settings_with_access", "Q2"): 20}}, "Q01", qcell("eah_settings_with_access")),
    ("Q02_catalogue_range", {"values": {("ehcps_mainstream", "Q2"): 200, ("ehcps_mainstream", "Q1"): 200}},
     "Q02", qcell("ehcps_mainstream")),
    ("Q04_target_weaker_low", {"targets": {("neet_ehcp", "2028-29"): 20}}, "Q04", tcell("neet_ehcp", "2028-29")),
    ("Q04_dfe_held_year_end", {"targets": {("att_overall_ehcp", "2027-28"): 13.4}}, "Q04",
     tcell("att_overall_ehcp", "2027-28")),
    ("Q04_target_weaker_high", {"targets": {("ehcp_20_week", "2026-27-Q3"): 40}}, "Q04",
     tcell("ehcp_20_week", "2026-27-Q3")),
    ("Q05_baseline_missing", {"baselines": {"ehcp_20_week": (None, None)}}, "Q05", bcell("ehcp_20_week")),
    ("Q05_baseline_period_missing", {"baselines": {"ehcp_20_week": (45, None)}}, "Q05",
     L.cell(L.TARGET_BASELINE_PERIOD_COL, LAY.indicator_rows["ehcp_20_week"])),
]


@pytest.mark.parametrize("case,overrides,rule,cell", FIRING, ids=[c[0] for c in FIRING])
def test_rule_fires(case, overrides, rule, cell, make_return):
    result = validate_file(make_return(**overrides))
    hits = [f for f in result.findings if f.rule == rule]
    assert hits, f"{rule} did not fire: {[(f.rule, f.message) for f in result.findings]}"
    f = hits[0]
    if cell:
        assert cell in [h.cell for h in hits]
    assert f.level == rules.RULES[rule].level
    assert "Action required:" in f.message
    assert f.file == result.file
    assert result.status == ("rejected" if f.level == ERROR else result.status)
    if f.level == QUERY and not result.errors:
        assert result.status == "accepted_with_queries"


# Near misses: each would be a finding under a careless rule; none may fire.
NOT_FIRING = [
    ("good", {}),
    ("E11_row_name_whitespace", {"cells": {(RET, f"B{ROW}"): f"  {CAT.item('requests_received').label} "}}),
    ("E13_name_spacing", {"cells": {(COV, L.COVER_LA): " 301  Barking and Dagenham "}}),
    ("E17_lowercase_quarter", {"cells": {(COV, L.COVER_QUARTER): "q2"}}),
    ("E18_later_quarter_empty", {}),  # Q3/Q4 are empty in a Q2 return
    ("E19_number_as_text", {"values": {("requests_tribunal", "Q1"): "5"}}),
    ("E20_negative_allowed", {"values": {("dsg_deficit", "Q2"): -1000, ("dsg_deficit", "Q1"): -900}}),
    ("E20_zero", {"values": {("requests_tribunal", "Q1"): 0, ("requests_tribunal", "Q2"): 0}}),
    ("E21_money_decimal", {"values": {("hn_spend_ytd", "Q2"): 31000.25}}),
    ("E22_equal", {"values": {("plans_issued_20wk_ex", "Q2"): 185}}),
    ("E23_equal", {"values": {("requests_decided_to_assess", "Q2"): 230}}),
    ("E24_flow_flat", {"values": {("mediation_concluded", "Q2"): 20, ("mediation_no_appeal", "Q2"): 15}}),
    ("Q01_change_at_threshold", {"values": {("eah_settings_with_access", "Q2"): 90}}),
    ("Q01_flow_not_queried", {"values": {("requests_tribunal", "Q2"): 100}}),
    ("Q04_target_equal_baseline", {"targets": {("neet_ehcp", "2028-29"): 16.0}}),
    ("Q04_neutral", {"targets": {("ehcp_requests_rate", "2028-29"): 200.0}}),
    # termly DfE-held data is seasonal: a summer-term (Q2) absence target may sit above the baseline
    ("Q04_dfe_held_quarter_target", {"targets": {("att_overall_ehcp", "2026-27-Q2"): 13.4}}),
]


@pytest.mark.parametrize("case,overrides", NOT_FIRING, ids=[c[0] for c in NOT_FIRING])
def test_rule_does_not_fire(case, overrides, make_return):
    result = validate_file(make_return(**overrides))
    assert result.findings == [], [(f.rule, f.cell, f.message) for f in result.findings]
    assert result.status == "accepted"


# Test modules whose tests prove rules fire: a test names the rule it proves either with
# @pytest.mark.proves("E26") or as the ``rule`` argument of a parametrised firing test.
RULE_TEST_MODULES = ("tests.test_rules", "tests.test_reader", "tests.test_ees", "tests.test_plan_rules",
                     "tests.test_text_rules")


def rules_named_by_tests() -> dict[str, list[str]]:
    """Rule id -> the tests that prove it fires, collected from the tests themselves (not a hand list)."""
    import importlib
    import inspect

    named: dict[str, list[str]] = {}
    for mod_name in RULE_TEST_MODULES:
        mod = importlib.import_module(mod_name)
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            if not name.startswith("test_"):
                continue
            for m in getattr(fn, "pytestmark", []):
                ids: list[str] = []
                if m.name == "proves":
                    ids = list(m.args)
                elif m.name == "parametrize":
                    argnames = [a.strip() for a in (m.args[0].split(",") if isinstance(m.args[0], str) else m.args[0])]
                    if "rule" in argnames:
                        i = argnames.index("rule")
                        ids = [case[i] for case in m.args[1] if case[i]]
                for rid in ids:
                    named.setdefault(rid, []).append(f"{mod_name}::{name}")
    return named


def test_every_rule_has_a_test():
    """Every rule in the registry is proved to fire by a test that names it, and no test names a rule
    the registry does not hold."""
    named = rules_named_by_tests()
    assert sorted(set(rules.RULES) - set(named)) == [], "rules no test proves"
    assert sorted(set(named) - set(rules.RULES)) == [], "tests naming rules outside the registry"


def test_rule_collection_sees_both_ways_of_naming():
    named = rules_named_by_tests()
    assert "tests.test_rules::test_rule_fires" in named["E22"]                  # parametrised
    assert named["E26"] == ["tests.test_rules::test_contracts_map_failures_to_findings"]   # marker
    assert "tests.test_ees::test_rule_fires" in named["D06"]


@pytest.mark.proves("E-PERIOD")
def test_return_uploaded_to_another_quarter_is_rejected(make_return):
    """E-PERIOD: ingest knows the collection (inbox/<period>/) the file went to; the cover must agree."""
    from pipeline.ingest import expected_period_error

    result = validate_file(make_return(quarter="Q2"))
    f = expected_period_error(result, "2026-27-Q1")
    assert (f.rule, f.level, f.sheet, f.cell, f.value) == ("E-PERIOD", ERROR, COV, L.COVER_QUARTER, "Q2")
    assert "uploaded to the 2026-27-Q1 collection" in f.message and "Action required:" in f.message
    assert f.file == result.file
    assert expected_period_error(result, "2026-27-Q2") is None


@pytest.mark.proves("Q11")
def test_locked_baseline_or_target_changed(make_return):
    """After the initial return is accepted its baselines and targets are locked: a later return
    stating others gets query Q11 at each changed cell (never an error); the same values get nothing."""
    from contracts.validate import LockedPlan, ValidationContext
    from tests.conftest import good_content

    good = good_content("Q2")
    locked = ValidationContext(locked=LockedPlan("2026-27-Q0", {i: b for i, (b, _) in good.baselines.items()},
                                                 dict(good.targets)))
    assert validate_file(make_return(), locked).findings == []
    ind = CAT.indicator("ehcp_20_week")
    r = validate_file(make_return(baselines={ind.id: (40.0, "2025-26")}, targets={(ind.id, "2027-28"): 50.0},
                                  target_notes={ind.id: "Corrected after the SEN2 revision"}), locked)
    row = L.layout().indicator_rows[ind.id]
    assert [(f.rule, f.cell, f.value, f.resolved) for f in r.findings] == [
        ("Q11", L.cell(L.TARGET_BASELINE_COL, row), 40.0, True),
        ("Q11", L.cell(L.layout().target_col("2027-28", CAT), row), 50.0, True)]
    assert r.status == "accepted_with_queries"
    assert all("Action required:" in f.message and "2026-27-Q0" in f.message for f in r.findings)
    assert f"The baseline of '{ind.name}' is 40" in r.findings[0].message
    # no initial return accepted yet: nothing is locked, so nothing is queried
    assert validate_file(make_return(baselines={ind.id: (40.0, "2025-26")})).findings == []


def test_message_is_dfe_style(make_return):
    r = validate_file(make_return(values={("requests_decided_not_to_assess", "Q2"): -4,
                                          ("requests_decided_not_to_assess", "Q1"): -4}))
    f = next(f for f in r.findings if f.rule == "E20" and f.cell == qcell("requests_decided_not_to_assess"))
    assert f.message == ("Q2 2026-27 'Requests decided: not to assess' is negative (-4). "
                         "Action required: enter a count of zero or more.")
    assert (f.sheet, f.value) == (RET, -4)


def test_query_resolved_by_note(make_return):
    r = validate_file(make_return(values={("ehcps_maintained", "Q2"): 3200},
                                  item_notes={"ehcps_maintained": "Boundary change moved 1,100 plans to us"}))
    q = [f for f in r.findings if f.rule == "Q01"]
    assert q and all(f.resolved for f in q)
    assert r.status == "accepted_with_queries"
    r = validate_file(make_return(targets={("neet_ehcp", "2028-29"): 20}, target_notes={"neet_ehcp": "new cohort"}))
    assert [f.resolved for f in r.findings if f.rule == "Q04"] == [True]
    r = validate_file(make_return(values={("ehcps_maintained", "Q2"): 3200}))
    assert [f.resolved for f in r.findings if f.rule == "Q01"] == [False]


@pytest.mark.proves("Q02")
def test_national_range_from_context(make_return, good_return):
    # good placement_mainstream Q2 = 820 / 2050 = 40%
    near = ValidationContext(national={"placement_mainstream": (42.0, 1.0)})  # 39..45
    far = ValidationContext(national={"placement_mainstream": (60.0, 2.0)})   # 54..66
    assert validate_file(good_return, near).findings == []
    hits = [f for f in validate_file(good_return, far).findings if f.rule == "Q02"]
    assert [f.cell for f in hits] == [qcell("ehcps_mainstream")]
    assert "54 to 66" in hits[0].message and hits[0].value == 40.0


@pytest.mark.proves("Q03")
def test_revised_earlier_quarter(make_return, tmp_path):
    previous = validate_file(make_return(quarter="Q1", values={("ehcps_maintained", "Q1"): 1990}))
    assert previous.status == "accepted" and previous.content.quarter == "Q1"
    ctx = ValidationContext(previous=previous.content)
    r = validate_file(make_return(), ctx)
    assert [(f.rule, f.cell, f.value) for f in r.findings] == [("Q03", qcell("ehcps_maintained", "Q1"), 2000.0)]
    assert "from 1,990" in r.findings[0].message
    assert r.status == "accepted_with_queries"
    # unchanged earlier quarter: no query
    same = validate_file(make_return(quarter="Q1"))
    assert validate_file(make_return(), ValidationContext(previous=same.content)).findings == []
    # resolved by a note
    r = validate_file(make_return(item_notes={"ehcps_maintained": "SEN2 cleanse"}), ctx)
    assert [f.resolved for f in r.findings] == [True]


def test_structure_error_stops_content_checks(make_return):
    r = validate_file(make_return(cells={(RET, f"B{ROW}"): "Requests received"},
                                  values={("ehcps_maintained", "Q2"): "n/a"}))
    assert {f.rule for f in r.findings} == {"E11"}
    assert r.content is None


@pytest.mark.proves("E26")
def test_contracts_map_failures_to_findings():
    bad = pl.DataFrame({"item_id": ["requests_received", "not_an_item", "requests_received"],
                        "quarter": ["Q1", "Q9", "Q1"], "value": [1.0, float("inf"), 2.0],
                        "note": [None, None, None], "cell": ["F11", "G11", "F11"]})
    found = schemas.validate_table(bad, "values", sheet=RET)
    assert found and {f.rule for f in found} == {"E26"}
    cols = " ".join(f.message for f in found)
    assert "item_id" in cols and "quarter" in cols and "value" in cols
    assert "G11" in [f.cell for f in found]
    assert all("Action required:" in f.message for f in found)


def test_contracts_pass_on_parsed_return(good_return):
    parsed = validate_file(good_return).content
    assert schemas.validate_parsed(parsed) == []
    schemas.ValuesSchema.validate(parsed.values)
    schemas.BaselinesSchema.validate(parsed.baselines)
    schemas.TargetsSchema.validate(parsed.targets)


@pytest.mark.proves("E25")
def test_unexpected_exception_becomes_finding(good_return, monkeypatch):
    from contracts import validate as V

    def boom(*a, **k):
        raise RuntimeError("kaboom")

    monkeypatch.setattr(V.rules, "check_content", boom)
    r = validate_file(good_return)
    assert [f.rule for f in r.errors] == ["E25"]
    assert "could not be read" in r.errors[0].message


def test_compute_indicators(good_return):
    df = rules.compute_indicators(validate_file(good_return).content)
    v = df.filter(indicator_id="ehcp_20_week", quarter="Q2")["value"][0]
    assert v == pytest.approx(95 / 185 * 100)


def test_rule_table():
    table = rules.rule_table()
    assert len({r["id"] for r in table}) == len(table)
    for r in table:
        assert r["level"] in (ERROR, QUERY)
        if r["id"][0] in "EQ":
            assert "Action required:" in r["template"]


def test_weaker_targets_one_query_per_indicator(make_return):
    r = validate_file(make_return(targets={("neet_ehcp", "2026-27-Q2"): 17, ("neet_ehcp", "2027-28"): 18}))
    q = [f for f in r.findings if f.rule == "Q04"]
    assert [(f.cell, f.value) for f in q] == [(tcell("neet_ehcp", "2027-28"), 18)]
    assert "(also 2026-27-Q2)" in q[0].message
