"""A new indicator, and a new DfE-held EES measure, added to the catalogue YAML and nowhere else.

In a temporary copy of the project only ``contracts/catalogue.yaml`` is edited: one LA-return data
item with an indicator built on it, and one DfE-held item on an EES column no model knew
(``enrolments_pa_50_exact``, severe absence) with its indicator.  Then, in the copy, the generated
files are regenerated (``python -m contracts.generate``) and the product runs as an analyst runs it:
template -> sample (3 LAs, one quarter) -> validate -> ``lsrp run`` (ingest into the warehouse, one
real dbt build, packs).  Each step must show both additions.  One build serves both tests.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import openpyxl
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
QUARTER = "2026-27-Q1"
LAS = ("301", "308", "330")
YEAR_EARLIER_TERM = "202425"   # spring term 2024/25 feeds 2025-26-Q1, a year before QUARTER's spring 2025/26
COPY_IGNORE = shutil.ignore_patterns(".venv", ".git", "data", "target", "logs", "__pycache__", "*.duckdb",
                                     "sample_returns", "benchmarks", ".pytest_cache")

NEW_ITEM = {"id": "ehcps_reviewed_in_time", "area": "ehcp_demand", "source": "la_return", "unit": "plans",
            "measure": "stock", "within": "ehcps_maintained",
            "label": "of which with an annual review completed within 12 months"}
NEW_INDICATOR = {
    "id": "annual_review_timeliness", "area": "ehcp_demand", "building_block": "timely_assessment",
    "source": "la_return", "name": "EHCPs with an annual review completed within 12 months (%)",
    "short": "Annual reviews in time", "numerator": ["ehcps_reviewed_in_time"],
    "denominator": ["ehcps_maintained"], "multiplier": 100, "unit": "%", "polarity": "high", "decimals": 1,
    "tolerance": 2.0, "range": [0, 100], "period_basis": "point_in_time", "compare_targets": "as_is",
    "seasonal": False, "no_change_band": 1.0, "min_denominator": 30, "sample": {"improve": 3.0}}
NEW_EES_ITEM = {"id": "att_severe_absentees_ehcp", "area": "attendance", "source": "dfe_held", "unit": "pupils",
                "measure": "term", "label": "Severe absentees (50%+ sessions missed), pupils with an EHCP",
                "dataset": "attendance", "column": "enrolments_pa_50_exact", "breakdown": "EHC plan",
                "sample": {"share_of": "enrolments_pa_10_exact", "share": [0.1, 0.25]}}
NEW_EES_INDICATOR = {
    "id": "att_severe_ehcp", "area": "attendance", "building_block": "inclusive_mainstream", "source": "dfe_held",
    "name": "Severe absence rate, pupils with an EHCP", "short": "Severe absence, EHCP",
    "numerator": ["att_severe_absentees_ehcp"], "denominator": ["att_enrolments_ehcp"], "multiplier": 100,
    "unit": "%", "polarity": "low", "decimals": 1, "tolerance": 0.5, "range": [0, 40], "period_basis": "term",
    "compare_targets": "as_is", "seasonal": True, "no_change_band": 0.5, "min_denominator": 30,
    "sample": {"baseline": "clip(absence['EHC plan'][0] * 0.6, 0, 40)", "baseline_period": "2024-25",
               "improve": 0.5}}


def _run(project: Path, env: dict, *args: str) -> str:
    res = subprocess.run([sys.executable, *args], cwd=project, env=env, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, f"{args}: exit {res.returncode}\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The project copy with both additions, run end to end once."""
    tmp = tmp_path_factory.mktemp("new-indicator")
    project = tmp / "project"
    shutil.copytree(ROOT, project, ignore=COPY_IGNORE)
    cat_path = project / "contracts" / "catalogue.yaml"
    cat = yaml.safe_load(cat_path.read_text(encoding="utf-8"))
    cat["data_items"] += [NEW_ITEM, NEW_EES_ITEM]
    cat["indicators"] += [NEW_INDICATOR, NEW_EES_INDICATOR]
    cat_path.write_text(yaml.safe_dump(cat, sort_keys=False, allow_unicode=True), encoding="utf-8")

    env = {**os.environ, "PYTHONPATH": str(project), "LSRP_HOME": str(tmp / "home"),
           "DAGSTER_HOME": str(tmp / "dagster_home"), "LSRP_PACK_PDF": "0"}
    env.pop("LSRP_WAREHOUSE", None)
    out = {"project": project, "tmp": tmp, "env": env}
    out["generated"] = _run(project, env, "-m", "contracts.generate")
    template = tmp / "template.xlsx"
    _run(project, env, "-m", "pipeline.cli", "template", "-o", str(template))
    out["template"] = template
    sample = tmp / "sample"
    _run(project, env, "-m", "pipeline.cli", "sample", "--out", str(sample), "--quarter", QUARTER,
         *[a for la in LAS for a in ("--la", la)])
    out["sample"] = sample
    returns = sorted((sample / QUARTER).glob("*.xlsx"))
    out["validated"] = json.loads(_run(project, env, "-c", (
        "import json, sys\nfrom contracts.validate import validate_file\nout = []\n"
        "for f in sys.argv[1:]:\n"
        "    r = validate_file(f)\n"
        "    out.append({'status': r.status, 'errors': [x.rule for x in r.errors],\n"
        "                'items': sorted(set(r.content.values['item_id'])),\n"
        "                'baselines': sorted(r.content.baselines['indicator_id'])})\n"
        "print(json.dumps(out))"), *map(str, returns)))
    inbox = tmp / "home" / "inbox"
    for folder in (QUARTER, "dfe_held"):
        shutil.copytree(sample / folder, inbox / folder)
    # DfE's spring term a year before the quarter's, for every LA (the generator's own EES writer): the
    # new termly measure then has a like-for-like change, so an effective-practice list
    _run(project, env, "-c", "import sys\nfrom pathlib import Path\nfrom synthetic import sample\n"
         "sample.write_dfe_held(Path(sys.argv[1]), sample.build_years(2026), 2026, [(sys.argv[2], 'Spring term')])",
         str(inbox / "dfe_held"), YEAR_EARLIER_TERM)
    out["run"] = _run(project, env, "-m", "pipeline.cli", "run", "--quarter", QUARTER, "--no-pdf")
    con = duckdb.connect(str(tmp / "home" / "warehouse.duckdb"), read_only=True)
    try:
        out["q"] = lambda sql, *p: con.execute(sql, list(p)).fetchall()
        yield out
    finally:
        con.close()


def _packs_text(tmp: Path) -> str:
    """The HTML packs of the sample's LAs for the quarter."""
    la_dir = tmp / "home" / "packs" / QUARTER / "la"
    packs = [p for la in LAS for p in la_dir.glob(f"{la}-*.html")]
    assert len(packs) == len(LAS), packs
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in packs)


def test_regenerated_files_take_the_new_ees_measure(built):
    project = built["project"]
    assert "enrolments_pa_50_exact" in (project / "dbt_project/models/staging/stg_ees_attendance.sql").read_text()
    assert "'enrolments_pa_50_exact' as ees_column" in \
        (project / "dbt_project/models/intermediate/int_ees_values.sql").read_text()
    assert "enrolments_pa_50_exact" in (project / "dbt_project/models/staging/_sources.yml").read_text()
    # nothing else had to change: the copy is now up to date
    assert _run(project, built["env"], "-m", "contracts.generate", "--check") == ""


def test_new_indicator_end_to_end(built):
    ind, item = NEW_INDICATOR, NEW_ITEM
    # template: the new data item has a row, the indicator a baseline/target row
    wb = openpyxl.load_workbook(built["template"])
    text = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value}
    assert item["label"] in text and ind["name"] in text
    # sample and validation: every LA's return has the item and a baseline for the indicator, and passes
    assert len(built["validated"]) == len(LAS)
    for r in built["validated"]:
        assert r["errors"] == [] and r["status"].startswith("accepted"), r
        assert item["id"] in r["items"] and ind["id"] in r["baselines"]
    # warehouse and dbt: raw values, the indicator computed in the marts for every LA
    q = built["q"]
    assert q("select count(distinct la_code) from raw.return_values where item_id = ?", item["id"]) == [(len(LAS),)]
    rows = q("select la_code, la_value, england_value from marts.benchmark "
             "where indicator_id = ? and period = ? and la_value is not null", ind["id"], QUARTER)
    assert {r[0] for r in rows} == set(LAS)  # the LAs that returned, and no other
    assert all(0 <= r[1] <= 100 and r[2] is not None for r in rows), rows
    assert q("select count(*) from marts.trajectory where indicator_id = ? and baseline_value is not null",
             ind["id"])[0][0] >= len(LAS)
    # forecasts (issue 21): every LA gets a year-end forecast of it, or the reason there is none, with no code
    fc = {r[0]: r for r in q("select la_code, value, verdict, reason from marts.forecasts "
                             "where indicator_id = ? and period_type = 'year_end'", ind["id"])}
    assert set(LAS) <= set(fc) and all(fc[la][1] is not None or fc[la][3] for la in LAS), fc
    # packs: the indicator is shown
    assert ind["short"] in _packs_text(built["tmp"])


def test_new_ees_measure_end_to_end(built):
    ind, item = NEW_EES_INDICATOR, NEW_EES_ITEM
    column = item["column"]
    # sample: the EES CSV carries the new column, with a number on every LA row
    csv = next((built["sample"] / "dfe_held").glob("attendance_by_sen_*.csv"))
    header, *lines = csv.read_text().splitlines()
    assert column in header.split(",")
    # warehouse: loaded as published, typed and mapped to the data item by dbt
    q = built["q"]
    assert q("select count(*) from raw.ees_attendance where geographic_level = 'Local authority' "
             f"and try_cast({column} as double) is not null")[0][0] > 0
    rows = q("select la_code, la_value, term_label from marts.benchmark where indicator_id = ? and period = ?",
             ind["id"], QUARTER)
    assert set(LAS) <= {r[0] for r in rows}
    mine = [r for r in rows if r[0] in LAS]
    assert all(r[1] is not None and 0 <= r[1] <= 40 for r in mine), mine
    assert all("spring term 2025/26" == r[2] for r in mine), mine
    # validation took its baseline and target; packs show it
    assert all(ind["id"] in r["baselines"] for r in built["validated"])
    assert ind["short"] in _packs_text(built["tmp"])


def test_lsrp_run_parses_the_dbt_project_while_it_ingests(built):
    """`lsrp run` starts dbt's parse of the quarter's publication as ingest begins, with the build's own
    --vars and target folder, so the build (a fresh home's first of this quarter) re-reads nothing
    instead of parsing the whole project; and none of that parse's log reaches the console."""
    by_invocation: dict[str, list[dict]] = {}
    log = built["tmp"] / "home" / "dbt" / QUARTER / "dbt.log"
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.startswith("{"):
            info = json.loads(line)["info"]
            by_invocation.setdefault(info["invocation_id"], []).append(info)
    commands = [events[0]["msg"] for events in by_invocation.values()]
    codes = [{e["code"] for e in events} for events in by_invocation.values()]
    assert len(by_invocation) == 2, commands
    parse, build = codes
    assert "I024" in parse           # the parse found no saved parse: it parsed the project
    assert "I024" not in build       # ("Unable to do partial parsing"): the build reused it
    assert "partial parsing" not in built["run"]


def test_new_indicator_gets_an_effective_practice_list(built):
    """marts.effective_practice takes its indicators, bands and polarity from the catalogue: the new termly
    measure is listed (like for like, the same term a year earlier), with the evidence, and no code changed."""
    ind = NEW_EES_INDICATOR
    rows = built["q"]("select then_period, change_basis, value_now - value_then - change_value, beat_by, "
                      "no_change_band, polarity from marts.effective_practice where indicator_id = ? and period = ?",
                      ind["id"], QUARTER)
    assert rows, "no effective-practice entry for the new indicator"
    assert all(r[0] == "2025-26-Q1" and r[1] == "same term a year earlier" and abs(r[2]) < 1e-9
               and r[3] > r[4] == ind["no_change_band"] and r[5] == ind["polarity"] for r in rows), rows[:3]
    overview = (built["tmp"] / "home" / "packs" / QUARTER / "overview.html").read_text(encoding="utf-8")
    assert f"{ind['name']}: {len(rows)} LAs beat their neighbours" in overview
