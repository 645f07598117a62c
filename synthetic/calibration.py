"""Real published DfE statistics that the sample generator is calibrated on.

Reads the EES tidy files in ``shared/calibration`` (Open Government Licence v3):

- SEN2 ``ehcp/requests.csv`` and ``ehcp/timeliness_20_week.csv`` (calendar year 2023) and
  ``ehcp/caseload.csv`` (January 2024, ``time_period`` 202324), ``geographic_level == "Local authority"``;
- NCCIS 16-17 NEET and not known 2024 (``neet/UD_NEETNK_LA_dashboard_2024_final.csv``);
- absence by SEN status 2022/23 (``absence/absence_by_sen_status_201718_202223.csv``).

LAs are matched on the 3-digit ``old_la_code``, which survived the 2023 changes (North Yorkshire,
Somerset and Buckinghamshire appear in the SEN2 files under their pre-2023 E-codes).  Where an LA's
figure is ``x`` (unavailable), ``c`` (suppressed) or absent, the profile falls back to its region's
pooled figure (or England's), scaled by the LA's size; ``published`` records which fields are the
LA's own published figures so callers can tell real from imputed.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from contracts import reference
from pipeline.paths import REPO


def calibration_dir() -> Path:
    """The published statistics the sample is calibrated on: the subset the product ships in
    ``synthetic/calibration_data`` (see its README), or LSRP_CALIBRATION_DIR for the full release."""
    return Path(os.environ.get("LSRP_CALIBRATION_DIR") or REPO / "synthetic" / "calibration_data")


def read_las() -> list[dict[str, str]]:
    """The 153 LAs of the reference seed, in file order."""
    return reference.las()


def _rows(rel: str) -> list[dict[str, str]]:
    with open(calibration_dir() / rel, newline="", encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def num(v: str | None) -> float | None:
    """An EES cell as a number; symbols (x, c, z, low) and blanks are None."""
    if v is None:
        return None
    try:
        return float(v)
    except ValueError:
        return None


SEN2_REQUESTS = ("requests_received_in_year", "requests_decided_to_assess",
                 "requests_decided_not_to_assess", "mediation_related_request", "tribunal_related_request")
SEN2_TIMELINESS = ("plans_issued_den_ex", "plans_issued_20_weeks_ex")
SEN2_CASELOAD = ("ehcplans", "mainstream_total", "special_independent", "special_non_maintained")
_BREAKDOWN = {"ehcp/requests.csv": "All requests for EHC needs assessments",
              "ehcp/timeliness_20_week.csv": "All EHC plans issued",
              "ehcp/caseload.csv": "All EHC plans"}


@lru_cache(maxsize=None)
def sen2(rel: str, time_period: str) -> dict[str, dict[str, dict[str, str]]]:
    """SEN2 headline rows for one period: {"la": {old_la_code: row}, "region": {name: row}, "national": row}."""
    out: dict = {"la": {}, "region": {}, "national": {}}
    for r in _rows(rel):
        if r["time_period"] != time_period or r["breakdown"] != _BREAKDOWN[rel]:
            continue
        lvl = r["geographic_level"]
        if lvl == "Local authority":
            out["la"][r["old_la_code"]] = r
        elif lvl == "Regional":
            out["region"][r["region_name"]] = r
        elif lvl == "National":
            out["national"] = r
    return out


@dataclass
class LAProfile:
    """One LA's real published figures (or region/England fall-backs), latest year."""

    old_la_code: str
    new_la_code: str
    la_name: str
    region_code: str
    region_name: str
    # SEN2 calendar year 2023 (flows) and January 2024 (caseload)
    requests_received: float = 0.0
    requests_to_assess: float = 0.0
    requests_not_to_assess: float = 0.0
    requests_mediation: float = 0.0
    requests_tribunal: float = 0.0
    plans_issued_ex: float = 0.0
    plans_20wk_ex: float = 0.0
    ehcplans: float = 0.0
    mainstream: float = 0.0
    independent: float = 0.0
    non_maintained: float = 0.0
    # NCCIS 2024
    neet_cohort_1617: float = 0.0
    cohort_ehcp_pct: float = 0.0
    neet_nk_ehcp_pct: float = 0.0
    cohort_sen_support_pct: float = 0.0
    neet_nk_sen_support_pct: float = 0.0
    # absence 2022/23, % of possible sessions, by SEN status
    absence: dict[str, dict[str, float]] = field(default_factory=dict)  # status -> {Overall, Unauthorised}
    published: set[str] = field(default_factory=set)  # fields that are the LA's own published figures

    @property
    def pct_20wk(self) -> float:
        return 100.0 * self.plans_20wk_ex / self.plans_issued_ex if self.plans_issued_ex else 50.0


def _ratio(row: dict, a: str, b: str) -> float | None:
    x, y = num(row.get(a)), num(row.get(b))
    return x / y if x is not None and y else None


@lru_cache(maxsize=None)
def profiles() -> dict[str, LAProfile]:
    """Profiles for the 153 LAs, keyed by old_la_code."""
    req = sen2("ehcp/requests.csv", "2023")
    tim = sen2("ehcp/timeliness_20_week.csv", "2023")
    cas = sen2("ehcp/caseload.csv", "202324")
    neet = {r["old_la_code"]: r for r in _rows("neet/UD_NEETNK_LA_dashboard_2024_final.csv")
            if r["geographic_level"] == "Local authority"}
    neet_reg = {r["region_name"]: r for r in _rows("neet/UD_NEETNK_LA_dashboard_2024_final.csv")
                if r["geographic_level"] == "Regional"}
    neet_nat = next(r for r in _rows("neet/UD_NEETNK_LA_dashboard_2024_final.csv")
                    if r["geographic_level"] == "National")
    absence_rows = [r for r in _rows("absence/absence_by_sen_status_201718_202223.csv")
                    if r["time_period"] == "202223"]
    abs_la: dict[str, dict[str, dict[str, float]]] = {}
    abs_name: dict[str, str] = {}
    abs_nat: dict[str, dict[str, float]] = {}
    for r in absence_rows:
        status = {"EHCP or Statement": "EHC plan", "SEN support": "SEN support", "No SEN": "No SEN"}.get(r["characteristic"])
        if status is None or r["Absence measure"] not in ("Overall", "Unauthorised"):
            continue
        v = num(r["Percentage"])
        if v is None:
            continue
        if r["geographic_level"] == "Local authority":
            abs_la.setdefault(r["new_la_code"], {}).setdefault(status, {})[r["Absence measure"]] = v
            abs_name[r["la_name"]] = r["new_la_code"]
        elif r["geographic_level"] == "National":
            abs_nat.setdefault(status, {})[r["Absence measure"]] = v

    out: dict[str, LAProfile] = {}
    for la in read_las():
        code = la["old_la_code"]
        p = LAProfile(code, la["new_la_code"], la["la_name"], la["region_code"], la["region_name"])
        reg = la["region_name"]
        # caseload first: it is published for every LA and sizes every fall-back
        c = cas["la"].get(code, {})
        p.ehcplans = num(c.get("ehcplans")) or num(cas["region"][reg]["ehcplans"]) / 15
        if num(c.get("ehcplans")) is not None:
            p.published.add("ehcplans")
        for attr, col in (("mainstream", "mainstream_total"), ("independent", "special_independent"),
                          ("non_maintained", "special_non_maintained")):
            v = num(c.get(col))
            if v is None:
                v = p.ehcplans * _ratio(cas["region"][reg], col, "ehcplans")
            else:
                p.published.add(attr)
            setattr(p, attr, v)
        # requests (2023)
        r = req["la"].get(code, {})
        for attr, col in (("requests_received", "requests_received_in_year"), ("requests_to_assess", "requests_decided_to_assess"),
                          ("requests_not_to_assess", "requests_decided_not_to_assess"),
                          ("requests_mediation", "mediation_related_request"), ("requests_tribunal", "tribunal_related_request")):
            v = num(r.get(col))
            if v is None:
                # requests per plan held nationally, split as the region splits them
                v = (p.ehcplans * num(req["national"]["requests_received_in_year"]) / num(cas["national"]["ehcplans"])
                     * _ratio(req["region"][reg], col, "requests_received_in_year"))
            else:
                p.published.add(attr)
            setattr(p, attr, v)
        # 20-week timeliness (2023)
        t = tim["la"].get(code, {})
        den, n20 = num(t.get("plans_issued_den_ex")), num(t.get("plans_issued_20_weeks_ex"))
        if den is None or n20 is None:
            den = p.ehcplans * num(tim["national"]["plans_issued_den_ex"]) / num(cas["national"]["ehcplans"])
            n20 = den * _ratio(tim["region"][reg], "plans_issued_20_weeks_ex", "plans_issued_den_ex")
        else:
            p.published.update({"plans_issued_ex", "plans_20wk_ex"})
        p.plans_issued_ex, p.plans_20wk_ex = den, n20
        # NEET (2024)
        n = neet.get(code)
        nr = neet_reg.get(reg, neet_nat)
        cohort = num(n.get("Cohort_DJFavg")) if n else None
        if cohort is None:
            cohort = p.ehcplans * num(neet_nat["Cohort_DJFavg"]) / num(cas["national"]["ehcplans"])
        p.neet_cohort_1617 = cohort
        for attr, col in (("cohort_ehcp_pct", "cohort_EHCP_percent"), ("neet_nk_ehcp_pct", "NEET_NK_EHCP_percent"),
                          ("cohort_sen_support_pct", "cohort_SENDsupport_percent"),
                          ("neet_nk_sen_support_pct", "NEET_NK_SENDsupport_percent")):
            v = num(n.get(col)) if n else None
            # a 0% SEN support cohort is a recording gap in NCCIS, not a real zero
            if v is None or (attr.startswith("cohort") and v < 0.5):
                v = num(nr.get(col)) or num(neet_nat[col])
            else:
                p.published.add(attr)
            setattr(p, attr, v)
        # absence (2022/23)
        ecode = la["new_la_code"] if la["new_la_code"] in abs_la else abs_name.get(la["la_name"])
        if ecode is None and la["la_name"] in ("Cumberland", "Westmorland and Furness"):
            ecode = abs_name.get("Cumbria")
        a = abs_la.get(ecode or "", {})
        p.absence = {s: dict(a.get(s) or abs_nat[s]) for s in ("EHC plan", "SEN support", "No SEN")}
        if a:
            p.published.add("absence")
        out[code] = p
    return out
