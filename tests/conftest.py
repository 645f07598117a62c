"""Shared fixtures.  ``make_return`` writes a valid, fully filled return that passes every rule."""
from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from contracts import layout as L
from contracts.catalogue import QUARTERS, for_year, load, years
from pipeline.template import ReturnContent, write

# Plausible cumulative (flow) or end-of-quarter (stock) figures for one LA, Q1..Q4.
GOOD_VALUES: dict[str, tuple[float, float, float, float]] = {
    "population_0_25": (80000, 80000, 80000, 80000),
    "requests_received": (150, 310, 460, 620),
    "requests_decided_to_assess": (100, 210, 320, 430),
    "requests_decided_not_to_assess": (40, 80, 120, 160),
    "requests_mediation": (10, 20, 30, 40),
    "requests_tribunal": (5, 10, 15, 20),
    "plans_issued_ex": (90, 185, 280, 370),
    "plans_issued_20wk_ex": (45, 95, 140, 190),
    "ehcps_maintained": (2000, 2050, 2100, 2150),
    "ehcps_mainstream": (800, 820, 840, 860),
    "ehcps_independent_special": (150, 152, 155, 158),
    "ehcps_non_maintained_special": (30, 30, 31, 31),
    "neet_cohort_ehcp": (300, 300, 300, 300),
    "neet_nk_ehcp": (45, 45, 45, 45),
    "neet_cohort_sen_support": (900, 900, 900, 900),
    "neet_nk_sen_support": (90, 90, 90, 90),
    "eah_settings": (120, 120, 120, 120),
    "eah_settings_with_access": (60, 70, 80, 90),
    "pupils_on_roll": (40000, 40000, 40000, 40000),
    "eah_cyp_supported": (200, 420, 650, 900),
    "mediation_concluded": (20, 40, 60, 80),
    "mediation_no_appeal": (15, 30, 45, 60),
    "parent_survey_responses": (100, 200, 300, 400),
    "parent_survey_positive": (60, 120, 180, 240),
    "hn_budget_ytd": (15000, 30000, 45000, 60000),
    "hn_spend_ytd": (15500, 31000, 46500, 62000),
    "iss_spend_ytd": (2000.5, 4000, 6000, 8000),
    "dsg_deficit": (20000, 22000, 24000, 26000),
}
# Baselines (2025-26) per indicator; targets improve on them by polarity.
GOOD_BASELINES: dict[str, float] = {
    "att_overall_ehcp": 12.5, "att_overall_sen_support": 9.5, "att_persistent_ehcp": 35.0,
    "att_unauthorised_sen": 3.0, "exc_suspension_sen": 20.0, "exc_permanent_sen": 0.2,
    "ehcp_requests_rate": 75.0, "ehcp_requests_refused": 25.0, "ehcp_20_week": 45.0,
    "ehcp_caseload_rate": 240.0, "placement_mainstream": 38.0, "placement_independent": 9.0,
    "neet_ehcp": 16.0, "neet_sen_support": 11.0, "eah_settings_access": 40.0, "eah_cyp_rate": 4.0,
    "mediation_no_appeal_pct": 70.0, "parent_positive_pct": 55.0, "hn_spend_vs_budget": 105.0,
    "iss_spend_share": 13.0, "dsg_deficit_gbp_m": 18.0,
}


def pytest_configure(config):
    config.addinivalue_line("markers", "proves(rule_id, ...): the test proves that rule fires "
                                       "(tests/test_rules.py::test_every_rule_has_a_test collects these)")


def good_content(quarter: str = "Q2", la_code: str = "301", la_name: str = "Barking and Dagenham") -> ReturnContent:
    cat = load()
    upto = QUARTERS.index(quarter) + 1 if quarter in QUARTERS else 0  # the initial return (Q0): no figures yet
    values = {(item, q): v[i] for item, v in GOOD_VALUES.items() for i, q in enumerate(QUARTERS[:upto])}
    baselines, targets = {}, {}
    for ind in cat.indicators:
        b = GOOD_BASELINES[ind.id]
        baselines[ind.id] = (b, "2025-26")
        step = {"low": -0.01, "high": 0.01, "neutral": 0.0}[ind.polarity]
        for k, p in enumerate(cat.target_periods, start=1):
            targets[(ind.id, p)] = round(b * (1 + step * k), 3)
    return ReturnContent(la_code=la_code, la_name=la_name, quarter=quarter, values=values,
                         baselines=baselines, targets=targets, contact="A Person", email="a.person@example.gov.uk")


def make_return_file(folder: Path, *, quarter: str = "Q2", la_code: str = "301",
                     la_name: str = "Barking and Dagenham", file_name: str | None = None,
                     values: dict | None = None, item_notes: dict | None = None,
                     baselines: dict | None = None, targets: dict | None = None,
                     target_notes: dict | None = None, year: str | None = None,
                     cells: dict | None = None, drop_values: list | None = None) -> Path:
    """Write a valid Q2 return, with overrides.

    values/baselines/targets/notes: merged into the good content (a value of None empties the cell).
    cells: {(sheet, "B5"): value} targeted edits made with openpyxl after writing.
    """
    content = good_content(quarter, la_code, la_name)
    content.values.update(values or {})
    for k in drop_values or []:
        content.values.pop(k, None)
    content.item_notes.update(item_notes or {})
    content.baselines.update(baselines or {})
    content.targets.update(targets or {})
    content.target_notes.update(target_notes or {})
    cat = for_year(year) if year in years() else load()  # that year's template version in the name
    path = Path(folder) / (file_name or L.file_name(cat.template_version, la_code, la_name))
    write(path, year, content)
    if cells:
        edit_cells(path, cells)
    return path


def edit_cells(path: Path, cells: dict) -> Path:
    """Targeted edits: {(sheet, ref): value}; {(old, "__rename__"): new} renames a sheet."""
    wb = load_workbook(path)
    for (sheet, ref), value in cells.items():
        if ref == "__rename__":
            wb[sheet].title = value
        else:
            wb[sheet][ref] = value
    wb.save(path)
    return path


@pytest.fixture
def make_return(tmp_path):
    """make_return(**overrides) -> Path of a filled return in tmp_path (see make_return_file)."""
    def _make(**kw) -> Path:
        return make_return_file(tmp_path, **kw)
    return _make


@pytest.fixture(scope="session")
def good_return(tmp_path_factory) -> Path:
    """One valid Q2 return shared by read-only tests."""
    return make_return_file(tmp_path_factory.mktemp("good"))


@pytest.fixture()
def dagster_instance(tmp_path):
    """A real Dagster instance with the event log `lsrp` configures (one SQLite file, pooled: pipeline/event_log.py)."""
    import dagster as dg

    events = {"module": "pipeline.event_log", "class": "PooledSqliteEventLogStorage",
              "config": {"base_dir": str(tmp_path / "dagster_events")}}
    with dg.instance_for_test(overrides={"event_log_storage": events}) as instance:
        yield instance


@pytest.fixture()
def lsrp_home(tmp_path, monkeypatch):
    """A fresh LSRP_HOME (inbox, archive, warehouse, packs) for one test; PDFs off, 5 s settle time."""
    monkeypatch.setenv("LSRP_HOME", str(tmp_path))
    monkeypatch.setenv("LSRP_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("LSRP_PACK_PDF", "0")
    monkeypatch.setenv("LSRP_SETTLE_SECONDS", "5")
    return tmp_path


@pytest.fixture(scope="session")
def sample_warehouse(tmp_path_factory) -> Path:
    """The committed sample (10 LAs, Q1 and Q2) through the product's ingest checks and a real `dbt build`
    (tests/sample_warehouse.py).  Shared and read-only: a test that changes it takes ``copy_warehouse``."""
    from sample_warehouse import build_sample_warehouse

    return build_sample_warehouse(tmp_path_factory.mktemp("sample-warehouse"))
