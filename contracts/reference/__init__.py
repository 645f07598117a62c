"""Reference data owned by the contracts layer: the 153 LAs (codes, names, regions) and DfE's
statistical neighbours.  The CSVs here are the one copy; dbt loads them as seeds (``seed-paths`` in
``dbt_project/dbt_project.yml`` points here), Python callers read them through this module.
Sources and notes on the data: README.md beside this file."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
LAS_CSV = HERE / "ref_las.csv"
NEIGHBOURS_CSV = HERE / "ref_statistical_neighbours.csv"


@lru_cache(maxsize=1)
def _las() -> tuple[dict[str, str], ...]:
    with LAS_CSV.open(newline="", encoding="utf-8") as fh:
        return tuple(csv.DictReader(fh))


def las() -> list[dict[str, str]]:
    """The 153 LAs, one dict per ref_las.csv row, in file order."""
    return [dict(r) for r in _las()]


def la_codes() -> list[str]:
    """Old 3-digit LA codes, in file order."""
    return [r["old_la_code"] for r in _las()]


def la_names() -> dict[str, str]:
    """Old 3-digit LA code -> LA name."""
    return {r["old_la_code"].strip(): r["la_name"].strip() for r in _las()}


def la_email_domain(la_name: str) -> str:
    """The email domain taken as an LA's own: its name's letters and digits, at most 20, then .gov.uk
    ("Barking and Dagenham" -> barkinganddagenham.gov.uk).  There is no published list of LA email
    domains here, so this pattern is the one known domain per LA: the sample generator's signatories
    use it (synthetic/plan_sample.py), and the sign-off checks (query Q15) compare addresses with it."""
    return "".join(ch for ch in la_name.lower() if ch.isalnum())[:20] + ".gov.uk"


@lru_cache(maxsize=1)
def la_email_domains() -> dict[str, str]:
    """Known LA email domain -> old 3-digit LA code (one per LA; see ``la_email_domain``)."""
    return {la_email_domain(name): code for code, name in la_names().items()}
