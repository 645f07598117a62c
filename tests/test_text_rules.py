"""Text is data (issue 18): control characters (E40), text-direction controls (E41), length bounds on
every free-text cell (E28), formulas in text cells (E42) or saved without a value (E43), and the
signatories' emails (E34 with email-validator, Q15 another LA's domain, Q16 a role listed twice).
Each rule fires, names its cell and says "Action required"; clean text does not fire it."""
from __future__ import annotations

import json

import pytest

from contracts import emails, inert
from contracts import layout as L
from contracts.catalogue import load
from contracts.validate import cli, format_text, validate_file
from tests.test_plan_rules import parts, write_return

CAT = load()
PLAN = CAT.plan
LAY = L.layout(CAT)
RET, COV = L.RETURN, L.COVER
NOTES = L.cell(L.ITEM_NOTES_COL, LAY.item_rows["requests_received"])
VALUE = L.cell(L.quarter_col("Q1"), LAY.item_rows["requests_received"])
BASELINE_PERIOD = L.cell(L.TARGET_BASELINE_PERIOD_COL, LAY.indicator_rows["ehcp_20_week"])
MITIGATION = L.cell(L.RISK_COLS["mitigation"], L.PLAN_FIRST_ROW)
SIGNATORY_EMAIL = L.cell(L.SIGNATORY_COLS["email"], L.SIGNATORY_FIRST_ROW)
SIGNATORY_ROLE = L.cell(L.SIGNATORY_COLS["role"], L.SIGNATORY_FIRST_ROW + 1)
ESC_TITLE = "_x001B_]0;pwned-title_x0007_"   # how Excel saves ESC ] 0 ; ... BEL: calamine reads it back raw


def _found(result, rule):
    return [f for f in result.findings if f.rule == rule]


def _one(result, rule, sheet, cell):
    (f,) = _found(result, rule)
    assert (f.sheet, f.cell) == (sheet, cell) and "Action required:" in f.message, f
    return f


@pytest.mark.proves("E40")
def test_control_characters_are_refused_and_shown_not_sent(make_return):
    r = validate_file(make_return(cells={(RET, NOTES): "Reason " + ESC_TITLE, (COV, L.COVER_SRO): "A_x0000_B"}))
    (notes,) = [f for f in _found(r, "E40") if f.cell == NOTES]
    assert notes.sheet == RET and "[U+001B] (ESCAPE)" in notes.message and "[U+0007]" in notes.message
    assert "\x1b" not in notes.message + str(notes.value) and "[U+001B]]0;pwned-title" in notes.value
    assert [f.cell for f in _found(r, "E40")] == [L.COVER_SRO, NOTES] and r.status == "rejected"


def test_tab_and_line_breaks_only_where_the_cell_takes_lines(make_return):
    r = validate_file(make_return(cells={(RET, NOTES): "first line\nsecond\tline",
                                         (RET, BASELINE_PERIOD): "2025-26\n"[:-1] + "\t"}))
    assert [f.cell for f in _found(r, "E40")] == [BASELINE_PERIOD]   # notes take lines; a period does not


@pytest.mark.proves("E41")
def test_text_direction_controls_are_refused(tmp_path):
    p = parts()
    p["risks"][0]["mitigation"] = "Escalate \u202eon track\u202c"
    r = validate_file(write_return(tmp_path, plan=p))
    f = _one(r, "E41", L.RISK_SHEET, MITIGATION)
    assert "[U+202E] (RIGHT-TO-LEFT OVERRIDE)" in f.message and "\u202e" not in f.message + str(f.value)


@pytest.mark.proves("E28")
@pytest.mark.parametrize("sheet,cell,field", [(RET, NOTES, "notes"), (RET, BASELINE_PERIOD, "baseline_period"),
                                              (COV, L.COVER_CONTACT, "contact")])
def test_every_free_text_cell_has_a_length_bound(make_return, sheet, cell, field):
    limit = PLAN.limit(field)
    at_bound = validate_file(make_return(cells={(sheet, cell): "y" * limit}))
    assert _found(at_bound, "E28") == []
    r = validate_file(make_return(cells={(sheet, cell): "y" * 40_000 if field == "notes" else "y" * (limit + 1)}))
    f = _one(r, "E28", sheet, cell)
    assert f"the limit is {limit}" in f.message and len(f.message) < 400


@pytest.mark.proves("E42", "E43")
def test_formula_in_a_notes_cell_and_in_a_value_cell_are_both_reported(make_return, capsys):
    path = make_return(cells={(RET, NOTES): '=HYPERLINK("http://x","y")', (RET, VALUE): "=100+50"})
    r = validate_file(path)
    f = _one(r, "E42", RET, NOTES)
    assert "type the value, not a formula" in f.message and '=HYPERLINK("http://x","y")' in f.message
    g = _one(r, "E43", RET, VALUE)
    assert "type the value, not a formula" in g.message
    assert _found(r, "E18") == []        # the value cell is reported once, for what it is
    assert cli([str(path)], "text") == 1
    out = capsys.readouterr().out
    assert f"ERROR E42  {RET}!{NOTES}" in out and f"ERROR E43  {RET}!{VALUE}" in out


def test_a_formula_typed_as_text_in_a_plan_cell_is_text(tmp_path):
    """The template stores '=1+1' typed into a plan cell as text: no formula, nothing to refuse
    (the downloads neutralise it, reports.common.safe_cell)."""
    p = parts()
    p["risks"][0]["mitigation"] = "=1+1"
    r = validate_file(write_return(tmp_path, plan=p))
    assert _found(r, "E42") == [] and r.status != "rejected"


@pytest.mark.proves("E34")
@pytest.mark.parametrize("address", ['"><svg/onload=alert(1)>@barkinganddagenham.gov.uk',
                                     "{{7*7}}@barkinganddagenham.gov.uk", "=1+1@barkinganddagenham.gov.uk",
                                     "ann.ray\u202e@barkinganddagenham.gov.uk", "ann.ray@localhost"])
def test_hostile_email_addresses_are_refused(tmp_path, address):
    p = parts()
    p["signatories"][0]["email"] = address
    r = validate_file(write_return(tmp_path, plan=p))
    f = _one(r, "E34", COV, SIGNATORY_EMAIL)
    assert "\u202e" not in f.message and r.status == "rejected"


def test_work_addresses_pass():
    for a in ("ann.ray@barkinganddagenham.gov.uk", "o'neil-smith+send@nhs.net", "A.Ray@Example.gov.uk"):
        assert emails.email_problem(a) is None, a


@pytest.mark.proves("Q15")
def test_another_las_domain_is_queried(tmp_path):
    p = parts()
    p["signatories"][0]["email"] = "ann.ray@enfield.gov.uk"        # 308 Enfield's, as LA Chief Executive of 301
    r = validate_file(write_return(tmp_path, plan=p))
    f = _one(r, "Q15", COV, SIGNATORY_EMAIL)
    assert "308 Enfield" in f.message and "LA Chief Executive" in f.message and r.status == "accepted_with_queries"
    assert "ann.ray" not in f.message + str(f.value)   # queries reach the LA's pack; emails never do
    assert emails.other_la("a@send.enfield.gov.uk", "301") == "308"       # a subdomain too
    assert emails.other_la("a@barkinganddagenham.gov.uk", "301") is None  # its own
    assert emails.other_la("a@nhs.net", "301") is None


@pytest.mark.proves("Q16")
def test_a_role_already_listed_is_queried(tmp_path):
    p = parts()
    p["signatories"][1].update(role=p["signatories"][0]["role"], email="zed.fox@barkinganddagenham.gov.uk")
    r = validate_file(write_return(tmp_path, plan=p))
    f = _one(r, "Q16", COV, SIGNATORY_ROLE)
    assert "LA Chief Executive" in f.message and f"row {L.SIGNATORY_FIRST_ROW}" in f.message


def test_clean_return_fires_none_of_them(tmp_path):
    r = validate_file(write_return(tmp_path, plan=parts()))
    assert [f for f in r.findings if f.rule in ("E28", "E34", "E40", "E41", "E42", "E43", "Q15", "Q16")] == []


def test_terminal_and_json_output_show_no_raw_control_or_bidi(make_return, capsys, tmp_path):
    name = L.file_name(CAT.template_version, "301", "Barking and Dagenham")
    path = make_return(cells={(RET, NOTES): ESC_TITLE + "\u202e", (RET, VALUE): "12" + ESC_TITLE})
    r = validate_file(path)
    text = format_text(r)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text and "[U+001B]" in text
    cli([str(path)], "json")
    doc = capsys.readouterr().out
    assert not any(c in doc for c in "\x1b\x07\u202e") and json.loads(doc)["files"][0]["file"] == name
    weird = tmp_path / "x\x1b]0;t\x07.xlsx"
    weird.write_bytes(path.read_bytes())
    assert "\x1b" not in format_text(validate_file(weird))


def test_visible_and_clean():
    assert inert.visible("a\x1bb\u202ec\n") == "a[U+001B]b[U+202E]c[U+000A]"
    assert inert.visible("Café – ok") == "Café – ok"
    assert inert.clean("a\x00b\u202ec\nd") == "abc d"
    assert inert.controls("a\tb\n", multiline=True) == [] and inert.controls("a\tb", multiline=False) == ["\t"]
