"""Realistic, deterministic sample returns for the 153 LAs (``lsrp sample``).

``generate(out_dir, quarter, seed, la_codes)`` writes, for every quarter of the collection year up
to ``quarter``:

- ``out_dir/<period>/<DfE file name>``: one filled return per LA, written by the product's own
  template writer.  One workbook per LA per year is resubmitted each quarter, so the Q2 file has
  the Q1 and Q2 columns filled and cover quarter Q2.  Flows are cumulative year to date, stocks
  end of quarter.  About 10% of returns after Q1 revise the previous quarter (some with a note).
  In the latest quarter (from Q2 on) a few returns are broken the way LA staff break them.
- ``out_dir/dfe_held/{attendance,exclusions}_by_sen_<time_period>_<term>.csv``: the DfE-held
  data in EES tidy format, LA rows plus Regional and National rows that pool the LA rows.
- ``out_dir/broken/``: one file per kind of unreadable upload (corrupt zip, empty, CSV renamed
  .xlsx, misnamed file, password protected, macro-enabled, zip bomb).
- ``out_dir/MANIFEST.json``: every file with its LA, period and intended revision or breakage.

Values are calibrated on real DfE statistics (see ``synthetic.calibration``); every LA draws from
its own random stream (seeded by ``seed`` and its code), so a subset of LAs gets the same values
as the full run.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import struct
import zipfile
from functools import lru_cache
from pathlib import Path

from contracts import layout as L
from contracts import metadata
from contracts.catalogue import QUARTERS, Catalogue, for_year, load
from contracts.catalogue import years as catalogue_years
from contracts.metadata import formula
from pipeline import template
from synthetic import plan_sample
from synthetic.calibration import profiles, read_las
from synthetic.la_year import LAYear, _clip, _cum, _hinted_items, _ln, _rng, _share_hint, realised
from synthetic.plan_years import build_plan_years

PERIOD_RE = re.compile(r"^(?P<year>\d{4}-\d{2})-(?P<q>Q[1-4])$")
TERMS = ("Autumn term", "Spring term", "Summer term")
TERM_SLUG = {"Autumn term": "autumn", "Spring term": "spring", "Summer term": "summer"}
SEN_STATUSES = ("EHC plan", "SEN support", "No SEN")
BROKEN_KINDS = (
    ("renamed_row_label", "text_in_count"),
    ("negative_count", "text_na"),
    ("numerator_above_denominator",),
    ("cover_code_mismatch",),
    ("quarter_column_empty", "year_cell_edited"),
)
# DfE-held: sessions an enrolment can attend per term; share of the year's suspensions per term
SESSIONS_PER_TERM = {"Autumn term": 136, "Spring term": 118, "Summer term": 124}
TERM_ABSENCE_FACTOR = {"Autumn term": 0.92, "Spring term": 1.0, "Summer term": 1.09}
TERM_EXCL_SHARE = {"Autumn term": 0.36, "Spring term": 0.36, "Summer term": 0.28}
# England annual rates per 100 pupils by SEN status (DfE 2022/23 order of magnitude)
SUSP_RATE = {"EHC plan": 22.0, "SEN support": 26.0, "No SEN": 6.5}
PERM_RATE = {"EHC plan": 0.14, "SEN support": 0.32, "No SEN": 0.07}
DEFAULT_BOMB_BYTES = 201_000_000
PLAN_START_ACADEMIC = 2025   # terms of academic years after 2025/26 carry the plan's trends


# --------------------------------------------------------------------------------------------
# helpers


def quarters_up_to(period: str, cat: Catalogue | None = None) -> list[str]:
    """Quarter periods of the plan from Q1 of the first collection year up to ``period`` (e.g.
    2028-29-Q4: the twelve quarters 2026-27-Q1 to 2028-29-Q4)."""
    cat = cat or load()
    m = PERIOD_RE.match(period)
    if not m:
        raise ValueError(f"quarter must look like 2026-27-Q2, got {period!r}")
    plan_years = catalogue_years()
    if m["year"] not in plan_years:
        raise ValueError(f"the plan's collection years are {', '.join(plan_years)}: {m['year']} is not one of them")
    out = []
    for year in plan_years[: plan_years.index(m["year"]) + 1]:
        last = QUARTERS.index(m["q"]) + 1 if year == m["year"] else len(QUARTERS)
        out += [f"{year}-{q}" for q in QUARTERS[:last]]
    return out


def dfe_term_for(period: str, cat: Catalogue | None = None) -> tuple[str, str]:
    """(time_period, time_identifier) of the EES term that feeds a quarter, from the catalogue."""
    cat = cat or load()
    m = PERIOD_RE.match(period)
    spec = cat.dfe_held_terms[m["q"]]
    start = int(m["year"][:4]) + int(spec["year_offset"])
    return f"{start}{(start + 1) % 100:02d}", spec["time_identifier"]


def _previous_term(tp: str, term: str) -> tuple[str, str]:
    i = TERMS.index(term)
    if i > 0:
        return tp, TERMS[i - 1]
    start = int(tp[:4]) - 1
    return f"{start}{(start + 1) % 100:02d}", TERMS[-1]


# --------------------------------------------------------------------------------------------
# one LA's year


def _flow(rng, annual: float, sd: float = 0.12, season=(1.0, 0.9, 1.1, 1.0)) -> list[int]:
    return [max(0, round(annual / 4 * season[i] * _ln(rng, sd))) for i in range(4)]


def _subset(rng, incs: list[int], share: float, sd: float = 0.06) -> list[int]:
    return [min(x, max(0, round(x * _clip(share * _ln(rng, sd), 0.0, 1.0)))) for x in incs]


def _build_year(la: dict, p: LAProfile, seed: int, cat: Catalogue) -> LAYear:
    rng = _rng(seed, la["old_la_code"], "year")
    y = LAYear(la, p)
    v = y.values

    def put(item: str, series: list[float]) -> None:
        for q, x in zip(QUARTERS, series):
            v[(item, q)] = x

    # --- EHCP demand: SEN2 calendar 2023 grown to 2026-27 (requests ~ +8%/yr, caseload ~ +10%/yr)
    g_req = 1.26 * _ln(rng, 0.08)
    g_case = 1.27 * _ln(rng, 0.05)
    req = _flow(rng, p.requests_received * g_req)
    put("requests_received", _cum(req))
    s_assess = p.requests_to_assess / p.requests_received if p.requests_received else 0.65
    s_not = p.requests_not_to_assess / p.requests_received if p.requests_received else 0.25
    to_assess = _subset(rng, req, s_assess)
    not_assess = [min(r - a, n) for r, a, n in zip(req, to_assess, _subset(rng, req, s_not))]
    put("requests_decided_to_assess", _cum(to_assess))
    put("requests_decided_not_to_assess", _cum(not_assess))
    put("requests_mediation", _cum(_subset(rng, req, p.requests_mediation / max(p.requests_received, 1), 0.25)))
    put("requests_tribunal", _cum(_subset(rng, req, p.requests_tribunal / max(p.requests_received, 1), 0.25)))
    plans = _flow(rng, p.plans_issued_ex * g_req, 0.15, (0.95, 1.0, 1.05, 1.0))
    put("plans_issued_ex", _cum(plans))
    pct_now = _clip(p.pct_20wk + rng.gauss(1.5, 4.0), 2.0, 99.0)
    put("plans_issued_20wk_ex", _cum(_subset(rng, plans, pct_now / 100, 0.08)))
    case0 = p.ehcplans * g_case
    caseload = [round(case0 * (1 + 0.024 * i) * _ln(rng, 0.004)) for i in range(4)]
    put("ehcps_maintained", caseload)
    sh_main = p.mainstream / p.ehcplans
    sh_ind = p.independent / p.ehcplans
    sh_nms = p.non_maintained / p.ehcplans
    put("ehcps_mainstream", [round(c * _clip(sh_main * (1 + 0.004 * i) * _ln(rng, 0.005), 0, 0.95)) for i, c in enumerate(caseload)])
    put("ehcps_independent_special", [round(c * sh_ind * (1 + 0.01 * i) * _ln(rng, 0.01)) for i, c in enumerate(caseload)])
    put("ehcps_non_maintained_special", [round(c * sh_nms * _ln(rng, 0.02)) for c in caseload])
    # England: about 3.1% of 0-25 year olds hold an EHCP; prevalence varies by area
    pop = round(case0 / (0.031 * _ln(rng, 0.17)), -1)
    put("population_0_25", [pop] * 4)
    pupils = round(pop * 0.39 * _ln(rng, 0.05))
    put("pupils_on_roll", [pupils] * 4)
    y.pupils_on_roll = pupils

    # --- NEET (NCCIS, 16-17): cohort and NEET/NK counts from the LA's published percentages
    cohort = p.neet_cohort_1617 * 1.03
    c_ehcp = cohort * p.cohort_ehcp_pct / 100 * 1.08
    c_sen = cohort * p.cohort_sen_support_pct / 100
    pct_e = _clip(p.neet_nk_ehcp_pct * _ln(rng, 0.08), 0.5, 60)
    pct_s = _clip(p.neet_nk_sen_support_pct * _ln(rng, 0.08), 0.5, 60)
    ce = [max(1, round(c_ehcp * _ln(rng, 0.01))) for _ in range(4)]
    cs = [max(1, round(c_sen * _ln(rng, 0.01))) for _ in range(4)]
    put("neet_cohort_ehcp", ce)
    put("neet_nk_ehcp", [min(c, round(c * pct_e / 100 * _ln(rng, 0.06))) for c in ce])
    put("neet_cohort_sen_support", cs)
    put("neet_nk_sen_support", [min(c, round(c * pct_s / 100 * _ln(rng, 0.06))) for c in cs])

    # --- Experts at Hand: the offer rolls out over the year
    settings = max(1, round(pupils / 430 * _ln(rng, 0.08)))
    put("eah_settings", [settings] * 4)
    access0 = rng.uniform(0.12, 0.6)
    step = rng.uniform(0.03, 0.14)
    put("eah_settings_with_access", [round(settings * min(1.0, access0 + step * i)) for i in range(4)])
    per_k = rng.uniform(1.2, 6.0)
    put("eah_cyp_supported", _cum([round(pupils * per_k / 1000 * (1 + 0.15 * i) * _ln(rng, 0.1)) for i in range(4)]))

    # --- Confidence
    med = _flow(rng, max(p.requests_mediation, 2) * g_req, 0.2)
    put("mediation_concluded", _cum(med))
    put("mediation_no_appeal", _cum(_subset(rng, med, rng.uniform(0.68, 0.93), 0.05)))
    resp = _flow(rng, case0 * rng.uniform(0.03, 0.16), 0.2, (1.0, 0.6, 1.3, 1.1))
    put("parent_survey_responses", _cum(resp))
    put("parent_survey_positive", _cum(_subset(rng, resp, rng.uniform(0.35, 0.72), 0.06)))

    # --- Finance (GBP thousands): budget scales with caseload; most LAs overspend
    budget = case0 * rng.uniform(15.5, 24.0)
    b_q = [round(budget / 4 * f) for f in (0.98, 1.0, 1.0, 1.02)]
    over = rng.gauss(0.045, 0.05)
    if rng.random() < 0.1:                                   # a few LAs carry a surplus and underspend
        opening = -budget * rng.uniform(0.02, 0.06)
        over = rng.gauss(-0.004, 0.004)
    else:
        opening = budget * _clip(0.2 * _ln(rng, 0.7), 0.03, 0.9)
    spend_q = [round(b * (1 + over + rng.gauss(0, 0.006))) for b in b_q]
    iss_share = _clip((sh_ind + sh_nms) * rng.uniform(2.4, 3.8), 0.02, 0.38)
    put("hn_budget_ytd", _cum(b_q))
    put("hn_spend_ytd", _cum(spend_q))
    put("iss_spend_ytd", _cum([round(s * iss_share * _ln(rng, 0.03)) for s in spend_q]))
    dsg, d = [], opening
    for b, s in zip(b_q, spend_q):
        d += s - b
        dsg.append(round(d))
    put("dsg_deficit", dsg)

    # --- DfE-held fixed effects
    y.ehcp_pupils = round(case0 * 0.74 * _ln(rng, 0.05))
    y.sen_support_pupils = round(pupils * 0.137 * _ln(rng, 0.1))
    for s in SEN_STATUSES:
        ov, un = p.absence[s]["Overall"], p.absence[s]["Unauthorised"]
        y.absence[s] = (ov * 0.99 * _ln(rng, 0.03), un * 1.02 * _ln(rng, 0.05))
    y.excl_mult = _ln(rng, 0.35)

    _hinted_items(y, seed, cat)
    _baselines_and_targets(y, rng, cat, pct_now, pop, budget, opening, over, iss_share)
    return y


TARGET_YEARS = {"Q1": 0.25, "Q2": 0.5, "Q3": 0.75, "Q4": 1.0}


def _seasonal_factor(ind, target_period: str, cat: Catalogue) -> float:
    """DfE-held figures are termly: a quarter's target is set for the term that feeds it (summer
    absence runs higher, autumn lower; summer has fewer exclusions).  Baselines and year-end targets
    are spring-term figures, because the year end compares with Q4, which the spring term feeds."""
    if ind.source != "dfe_held":
        return 1.0
    quarter = target_period[-2:] if PERIOD_RE.match(target_period) else "Q4"
    term = cat.dfe_held_terms[quarter]["time_identifier"]
    factor = TERM_ABSENCE_FACTOR if ind.area == "attendance" else TERM_EXCL_SHARE
    return factor[term] / factor["Spring term"]  # baselines are spring-term figures


def _hinted_baseline(ind, y: LAYear, names: dict, cat: Catalogue) -> tuple[float, str]:
    """(baseline, period) from the indicator's sample hint; without one, its own Q1 value a year earlier."""
    hint = ind.sample or {}
    period = str(hint.get("baseline_period") or _previous_year(cat.collection_year))
    if "baseline" in hint:
        return float(eval(_compiled(hint["baseline"]), {"__builtins__": {}}, names)), period
    v = formula.evaluate(ind, y.values, "Q1")
    return (0.0 if v is None else v), period


@lru_cache(maxsize=None)
def _compiled(expr: str):
    return compile(expr, "<catalogue sample hint>", "eval")


def _previous_year(year: str) -> str:
    start = int(year[:4]) - 1
    return f"{start}-{(start + 1) % 100:02d}"


def _baselines_and_targets(y: LAYear, rng, cat, pct_now, pop, budget, opening, over, iss_share) -> None:
    p = y.profile
    sen_pos = {s: y.absence[s] for s in SEN_STATUSES}
    w_e, w_s = y.ehcp_pupils, y.sen_support_pupils
    unauth_sen = (sen_pos["EHC plan"][1] * w_e + sen_pos["SEN support"][1] * w_s) / max(w_e + w_s, 1)
    susp = (SUSP_RATE["EHC plan"] * w_e + SUSP_RATE["SEN support"] * w_s) / max(w_e + w_s, 1) * y.excl_mult
    perm = (PERM_RATE["EHC plan"] * w_e + PERM_RATE["SEN support"] * w_s) / max(w_e + w_s, 1) * y.excl_mult
    # The catalogue's sample hints (catalogue.yaml `sample`) give each indicator's baseline as an
    # expression over these calibrated quantities; an indicator without one starts from its own Q1 value.
    names = dict(profile=p, absence=sen_pos, unauth_sen=unauth_sen, susp=susp, perm=perm, pop=pop,
                 pct_now=pct_now, budget=budget, opening=opening, over=over, iss_share=iss_share,
                 spring_excl_share=TERM_EXCL_SHARE["Spring term"], ln=lambda sd: _ln(rng, sd),
                 gauss=rng.gauss, uniform=rng.uniform, clip=_clip, max=max, min=min)
    base = {ind.id: _hinted_baseline(ind, y, names, cat) for ind in cat.indicators}
    ambition = rng.uniform(0.5, 1.5)
    y.ambition = ambition
    weak = None
    if rng.random() < 0.05:
        weak = rng.choice([i.id for i in cat.indicators if i.polarity != "neutral"])
    y.weak_target = weak
    for ind in cat.indicators:
        b, period = base[ind.id]
        signed = any(cat.item(i).allow_negative for i in ind.numerator)  # e.g. a deficit (surplus < 0)
        b = b if signed else max(b, 0.0)
        y.baselines[ind.id] = (round(b, ind.decimals), period)
        sign = {"high": 1, "low": -1, "neutral": 0}[ind.polarity]
        for tp in cat.target_periods:
            t_years = TARGET_YEARS.get(tp[-2:], None) if tp[-3] == "-" and tp[-2] == "Q" else None
            if t_years is None:
                t_years = 1.0 + (int(tp[:4]) - int(cat.collection_year[:4]))
            hint = ind.sample or {}
            step = float(hint.get("improve", 0.0)) * ambition
            if not ind.is_rate:  # a level such as the deficit: plan to cut it by a share a year
                val = b - abs(b) * 0.06 * ambition * t_years
            elif ind.polarity == "neutral":
                val = b * (1 + float(hint.get("drift", 0.0)) * t_years)
            elif "target_floor" in hint:  # e.g. spend against budget: plan back down to the floor
                floor = float(hint["target_floor"])
                val = max(floor, b - step * t_years) if b > floor else b
            else:
                val = b + sign * step * t_years * (1 - 0.1 * (t_years - 1))
            if ind.id == weak:
                val = b - sign * max(step * 0.5, 10 ** -ind.decimals) * t_years
            val *= _seasonal_factor(ind, tp, cat)
            if ind.unit == "%":
                val = _clip(val, 0, 100)
            elif not signed:
                val = max(val, 0.0)
            y.targets[(ind.id, tp)] = round(val, ind.decimals)
    if weak and rng.random() < 0.5:
        y.target_notes[weak] = "Target reflects expected rise in demand in 2026-27 before new provision opens."


# --------------------------------------------------------------------------------------------
# revisions and breakage

REVISABLE = (  # (item, direction): directions that keep every rule (subset <= total, flows cumulative)
    ("requests_received", 1), ("plans_issued_20wk_ex", -1), ("ehcps_maintained", 1),
    ("hn_spend_ytd", 1), ("eah_cyp_supported", 1), ("neet_nk_ehcp", -1), ("parent_survey_responses", 1),
)
REVISION_NOTES = (
    "Q1 revised: late-recorded requests added after data cleanse.",
    "Q1 figure corrected following case management system reconciliation.",
    "Revised after finance month-end adjustments.",
    "Q1 corrected: duplicate records removed.",
)


def _plan_revisions(y: LAYear, seed: int, quarters: list[str]) -> dict[str, list[dict]]:
    """Revisions per submitted quarter: in quarter k (k >= 2) about 10% of LAs revise quarter k-1."""
    out: dict[str, list[dict]] = {}
    code = y.la["old_la_code"]
    for k, period in enumerate(quarters):
        if k == 0:
            continue
        rng = _rng(seed, code, "revision", period)
        if rng.random() >= 0.10:
            continue
        item, direction = rng.choice(REVISABLE)
        prev_q = QUARTERS[k - 1]
        old = y.values[(item, prev_q)]
        new = max(0, round(old * (1 + direction * rng.uniform(0.03, 0.12))))
        if new == old:
            new = old + direction if old + direction >= 0 else old + 1
        # keep the rules: flows cumulative (prev <= this quarter), subsets within their total
        # (by the change made, not the one drawn: a downward revision of a zero becomes an upward one)
        if new > old and load().item(item).measure == "flow":
            new = min(new, y.values[(item, QUARTERS[k])])
        if new < old and load().item(item).measure == "flow" and k >= 2:
            new = max(new, y.values[(item, QUARTERS[k - 2])])   # nor below the quarter before it
        if new == old:
            continue
        note = rng.choice(REVISION_NOTES) if rng.random() < 0.6 else None
        out[period] = [{"item": item, "quarter": prev_q, "from": old, "to": new, "note": note}]
    return out


def _content(y: LAYear, quarter: str, values: dict, notes: dict) -> template.ReturnContent:
    la = y.la
    slug = L.slugify(la["la_name"]).replace("-", ".")
    return template.ReturnContent(
        la_code=la["old_la_code"], la_name=la["la_name"], quarter=quarter,
        values=dict(values), item_notes=dict(notes),
        baselines=dict(y.baselines), targets=dict(y.targets), target_notes=dict(y.target_notes),
        contact="SEND data team", email=f"send.data@{slug[:20]}.gov.uk",
    )


def _apply_breakage(kinds, content: template.ReturnContent, q: str, la_rows: list[dict],
                    year: str | None = None) -> tuple[str, list]:
    """Change the content the way staff break returns; returns (year text, post-save edits)."""
    year = year or load().collection_year
    edits: list = []
    lay = L.layout()
    for kind in kinds:
        if kind == "renamed_row_label":
            edits.append((L.RETURN, L.cell(L.NAME_COL, lay.item_rows["requests_received"]),
                          "Requests for EHC needs assessments received (all ages)"))
        elif kind == "text_in_count":
            content.values[("requests_mediation", q)] = "12 (est)"
        elif kind == "text_na":
            content.values[("neet_nk_sen_support", q)] = "n/a"
        elif kind == "negative_count":
            content.values[("mediation_concluded", q)] = -3
        elif kind == "numerator_above_denominator":
            content.values[("plans_issued_20wk_ex", q)] = content.values[("plans_issued_ex", q)] + 7
        elif kind == "cover_code_mismatch":
            other = next(r for r in la_rows if r["old_la_code"] != content.la_code
                         and r["region_name"] == next(x for x in la_rows if x["old_la_code"] == content.la_code)["region_name"])
            edits.append((L.COVER, L.COVER_LA, f"{other['old_la_code']} {other['la_name']}"))
        elif kind == "quarter_column_empty":
            for key in [k for k in content.values if k[1] == q]:
                del content.values[key]
        elif kind == "year_cell_edited":
            edits.append((L.RETURN, L.YEAR_CELL, year.replace("-", "/") + " Quarterly Data"))
    return year, edits


def _save(path: Path, year: str, content: template.ReturnContent, edits=()) -> None:
    wb = template.build_workbook(year, content)
    for sheet, ref, value in edits:
        wb[sheet][ref] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


# --------------------------------------------------------------------------------------------
# DfE-held EES CSVs

# the columns this model computes; other measures of the dataset come from catalogue hints (_hinted_ees)
ATT_COLS = ("sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised", "enrolments",
            "enrolments_pa_10_exact", "sess_overall_percent", "sess_unauthorised_percent",
            "enrolments_pa_10_exact_percent")
EXC_COLS = ("headcount", "perm_excl", "perm_excl_rate", "susp", "susp_rate", "one_plus_susp")
GEO_COLS = metadata.ees_common()["geo"] + metadata.ees_common()["breakdown"]
TINY_LAS = ("201", "420")  # City of London, Isles of Scilly: small counts suppressed ("c")


def _years_into_plan(tp: str) -> int:
    """Academic years of the plan a term is into: 0 before 2026/27 (the terms the 2026-27 Q1 and Q2
    returns are fed by, so the quick start's sample is what it was), 1 in 2026/27, 2 in 2027/28, ..."""
    return max(0, int(tp[:4]) - PLAN_START_ACADEMIC)


def _improve_of(dataset: str, column: str, breakdown: str | None = None) -> tuple[float, str] | None:
    """(planned improvement a year, indicator id) of the DfE-held indicator whose numerator is this EES
    column (catalogue sample hint `improve`)."""
    cat = load()
    for ind in cat.indicators:
        items = [cat.item(i) for i in ind.numerator]
        if ind.source == "dfe_held" and any(it.dataset == dataset and it.column == column
                                            and breakdown in (None, it.breakdown) for it in items):
            return float((ind.sample or {}).get("improve", 0.0)), ind.id
    return None


def _absence_trend(y: LAYear, seed: int, tp: str, status: str) -> tuple[float, float]:
    """(overall %, unauthorised %) for a term: the LA's realised share of its planned improvement a
    year (as synthetic.plan_years does for the returns' indicators)."""
    ov, un = y.absence[status]
    n, found = _years_into_plan(tp), _improve_of("attendance", "sess_overall", status)
    if not n or not found or not ov:
        return ov, un
    improve, ind_id = found
    new = max(ov * 0.3, ov - n * improve * y.ambition * realised(seed, y.la["old_la_code"], ind_id))
    return new, un * new / ov


def _exclusion_trend(y: LAYear, seed: int, tp: str) -> float:
    """The factor on the LA's exclusion rates for a term: its planned improvement in suspensions, a share
    of its baseline a year, realised as for the other indicators."""
    n, found = _years_into_plan(tp), _improve_of("exclusions", "susp")
    if not n or not found:
        return 1.0
    improve, ind_id = found
    base = (y.baselines.get(ind_id) or (0.0, ""))[0]
    if not base:
        return 1.0
    return max(0.3, 1 - n * improve / base * y.ambition * realised(seed, y.la["old_la_code"], ind_id))


def _term_counts(y: LAYear, seed: int, tp: str, term: str) -> tuple[dict, dict]:
    rng = _rng(seed, y.la["old_la_code"], "dfe", tp, term)
    growth = 1 + 0.08 * (int(tp[:4]) - 2025)
    enrol = {"EHC plan": round(y.ehcp_pupils * growth * _ln(rng, 0.01)),
             "SEN support": round(y.sen_support_pupils * _ln(rng, 0.01))}
    enrol["No SEN"] = max(0, round(y.pupils_on_roll * _ln(rng, 0.005)) - enrol["EHC plan"] - enrol["SEN support"])
    att, exc = {}, {}
    for s in SEN_STATUSES:
        n = enrol[s]
        poss = round(n * SESSIONS_PER_TERM[term] * rng.uniform(0.95, 0.98))
        ov_rate, un_rate = _absence_trend(y, seed, tp, s)
        f = TERM_ABSENCE_FACTOR[term] * _ln(rng, 0.03)
        ov = round(poss * ov_rate * f / 100)
        un = min(ov, round(poss * un_rate * f * _ln(rng, 0.04) / 100))
        pa = min(n, round(n * _clip(ov_rate * f * 2.9 * _ln(rng, 0.04), 1, 95) / 100))
        att[s] = {"sess_possible": poss, "sess_overall": ov, "sess_authorised": ov - un,
                  "sess_unauthorised": un, "enrolments": n, "enrolments_pa_10_exact": pa}
        share = TERM_EXCL_SHARE[term] * _exclusion_trend(y, seed, tp)
        mu_s = n * SUSP_RATE[s] / 100 * share * y.excl_mult * _ln(rng, 0.12)
        mu_p = n * PERM_RATE[s] / 100 * share * y.excl_mult
        susp = max(0, round(rng.gauss(mu_s, math.sqrt(mu_s) if mu_s > 0 else 0)))
        perm = max(0, round(rng.gauss(mu_p, math.sqrt(mu_p) if mu_p > 0 else 0)))
        one_plus = min(n, round(susp / (rng.uniform(2.0, 2.6) if s != "No SEN" else rng.uniform(1.4, 1.8))))
        exc[s] = {"headcount": n, "perm_excl": perm, "susp": susp, "one_plus_susp": one_plus}
    _hinted_ees(y, seed, tp, term, {"attendance": att, "exclusions": exc})
    return att, exc


def _hinted_ees(y: LAYear, seed: int, tp: str, term: str, counts: dict) -> None:
    """EES measures the model above does not write (a DfE-held item on a new column): a share of the
    column its catalogue hint names, per SEN status, from their own stream."""
    for it in load().dfe_held_items:
        data = counts.get(it.dataset)
        if data is None or it.column in data[SEN_STATUSES[0]]:
            continue
        hint = _share_hint(it)
        rng = _rng(seed, y.la["old_la_code"], "dfe-hint", tp, term, it.column)
        for s in SEN_STATUSES:
            base = data[s][hint["share_of"]]
            data[s][it.column] = min(base, round(base * rng.uniform(*hint["share"])))


@lru_cache(maxsize=None)
def _extra_columns(dataset: str, written: tuple[str, ...]) -> tuple[str, ...]:
    """The dataset's EES measures (contracts.metadata) this generator's model does not write itself."""
    return tuple(c for c in metadata.ees_datasets()[dataset].contract_measures if c not in written)


def _pct(a: float, b: float, dp: int = 2) -> str:
    return "" if not b else f"{round(100 * a / b, dp):.{dp}f}"


def _att_row(c: dict) -> dict:
    r = {k: str(c[k]) for k in ATT_COLS[:6] + _extra_columns("attendance", ATT_COLS)}
    r["sess_overall_percent"] = _pct(c["sess_overall"], c["sess_possible"])
    r["sess_unauthorised_percent"] = _pct(c["sess_unauthorised"], c["sess_possible"])
    r["enrolments_pa_10_exact_percent"] = _pct(c["enrolments_pa_10_exact"], c["enrolments"])
    return r


def _exc_row(c: dict) -> dict:
    return {"headcount": str(c["headcount"]), "perm_excl": str(c["perm_excl"]),
            "perm_excl_rate": _pct(c["perm_excl"], c["headcount"]), "susp": str(c["susp"]),
            "susp_rate": _pct(c["susp"], c["headcount"]), "one_plus_susp": str(c["one_plus_susp"]),
            **{k: str(c[k]) for k in _extra_columns("exclusions", EXC_COLS)}}


def _add(acc: dict, c: dict) -> None:
    for k, x in c.items():
        acc[k] = acc.get(k, 0) + x


def write_dfe_held(out_dir: Path, years: list[LAYear], seed: int, terms: list[tuple[str, str]]) -> list[dict]:
    """EES tidy CSVs, one per dataset and term; National/Regional rows pool the LA rows."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for tp, term in terms:
        rows = {"attendance": [], "exclusions": []}
        nat = {"attendance": {}, "exclusions": {}}
        reg: dict = {"attendance": {}, "exclusions": {}}
        la_rows = {"attendance": [], "exclusions": []}
        for y in years:
            att, exc = _term_counts(y, seed, tp, term)
            for ds, data, fmt in (("attendance", att, _att_row), ("exclusions", exc, _exc_row)):
                total: dict = {}
                for s in SEN_STATUSES:
                    _add(total, data[s])
                for s in SEN_STATUSES + ("Total",):
                    c = data[s] if s != "Total" else total
                    _add(nat[ds].setdefault(s, {}), c)
                    _add(reg[ds].setdefault((y.la["region_code"], y.la["region_name"]), {}).setdefault(s, {}), c)
                    r = fmt(c)
                    if ds == "exclusions" and y.la["old_la_code"] in TINY_LAS and s != "Total":
                        rate_of = {"perm_excl": "perm_excl_rate", "susp": "susp_rate"}
                        for k in ("perm_excl", "susp", "one_plus_susp"):
                            if 0 < c[k] < 3:
                                r[k] = "c"
                                if k in rate_of:
                                    r[rate_of[k]] = "c"
                    la_rows[ds].append((y.la, s, r))
        for ds, fmt in (("attendance", _att_row), ("exclusions", _exc_row)):
            base = {"time_period": tp, "time_identifier": term, "country_code": "E92000001",
                    "country_name": "England", "breakdown_topic": "SEN status"}
            for s in SEN_STATUSES + ("Total",):
                rows[ds].append({**base, "geographic_level": "National", "breakdown": s, **fmt(nat[ds][s])})
            for (rc, rn), by_s in sorted(reg[ds].items()):
                for s in SEN_STATUSES + ("Total",):
                    rows[ds].append({**base, "geographic_level": "Regional", "region_code": rc, "region_name": rn,
                                     "breakdown": s, **fmt(by_s[s])})
            for la, s, r in la_rows[ds]:
                rows[ds].append({**base, "geographic_level": "Local authority", "region_code": la["region_code"],
                                 "region_name": la["region_name"], "new_la_code": la["new_la_code"],
                                 "old_la_code": la["old_la_code"], "la_name": la["la_name"], "breakdown": s, **r})
            own = ATT_COLS if ds == "attendance" else EXC_COLS
            cols = GEO_COLS + own + _extra_columns(ds, own)
            path = out_dir / f"{ds}_by_sen_{tp}_{TERM_SLUG[term]}.csv"
            with open(path, "w", newline="", encoding="utf-8") as fh:
                w = csv.DictWriter(fh, fieldnames=cols, lineterminator="\n")
                w.writeheader()
                for r in rows[ds]:
                    w.writerow({c: r.get(c, "") for c in cols})
            written.append({"path": str(path.relative_to(out_dir.parent)), "dataset": ds, "time_period": tp,
                            "time_identifier": term, "rows": len(rows[ds])})
    return written


# --------------------------------------------------------------------------------------------
# unreadable uploads


def _cfb_encrypted(seed: int) -> bytes:
    """A minimal OLE2 compound file with EncryptionInfo + EncryptedPackage streams: what Excel
    writes for a password-protected workbook (agile encryption, version 4.4)."""
    sec = 512
    info_xml = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" '
                b'xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
                b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
                b'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="c2FtcGxlc2FsdHNhbHQxMg=="/>'
                b'<keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password">'
                b'<p:encryptedKey spinCount="100000" saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
                b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"/>'
                b'</keyEncryptor></keyEncryptors></encryption>')
    info = (struct.pack("<HHI", 4, 4, 0x40) + info_xml).ljust(4096, b"\0")
    rnd = _rng(seed, "encrypted")
    pkg = struct.pack("<Q", 9876) + bytes(rnd.getrandbits(8) for _ in range(8192 - 8))
    n_info, n_pkg = len(info) // sec, len(pkg) // sec
    first_info, first_pkg = 2, 2 + n_info
    n_sectors = 2 + n_info + n_pkg
    fat = [0xFFFFFFFF] * (sec // 4)
    fat[0], fat[1] = 0xFFFFFFFD, 0xFFFFFFFE
    for start, n in ((first_info, n_info), (first_pkg, n_pkg)):
        for i in range(start, start + n - 1):
            fat[i] = i + 1
        fat[start + n - 1] = 0xFFFFFFFE
    assert n_sectors <= len(fat)

    def entry(name: str, typ: int, left=0xFFFFFFFF, right=0xFFFFFFFF, child=0xFFFFFFFF, start=0, size=0) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0" if name else b""
        return (raw.ljust(64, b"\0") + struct.pack("<HBB", len(raw), typ, 1 if typ else 0)
                + struct.pack("<III", left, right, child) + b"\0" * 16 + struct.pack("<I", 0) + b"\0" * 16
                + struct.pack("<IQ", start, size))

    dirs = (entry("Root Entry", 5, child=1, start=0xFFFFFFFE)
            + entry("EncryptionInfo", 2, right=2, start=first_info, size=len(info))
            + entry("EncryptedPackage", 2, start=first_pkg, size=len(pkg))
            + entry("", 0))
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 0x1000, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
              + struct.pack("<I", 0) + b"\xff" * (4 * 108))
    assert len(header) == 512 and len(dirs) == 512
    return header + struct.pack(f"<{len(fat)}I", *fat) + dirs + info + pkg


def _macro_enabled(xlsx: bytes) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(xlsx))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
                data = data.replace(b"<Default ", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default ', 1)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>",
                                    b'<Relationship Id="rIdVBA1" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
            z.writestr(info, data)
        vba = bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 504 + b"Attribute VB_Name = \"ThisWorkbook\"\r\nSub Workbook_Open()\r\nEnd Sub\r\n"
        z.writestr("xl/vbaProject.bin", vba)
    return buf.getvalue()


def _zip_bomb(path: Path, uncompressed_bytes: int) -> None:
    """An xlsx-shaped zip whose sheet XML inflates to ``uncompressed_bytes`` (ratio ~1000:1)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                   '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
                   'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
                   '<sheet name="Cover" sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                   '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
        head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        tail = b"</sheetData></worksheet>"
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(head)
            left = uncompressed_bytes - len(head) - len(tail)
            chunk = b" " * (1 << 20)
            while left > 0:
                n = min(left, len(chunk))
                fh.write(chunk[:n])
                left -= n
            fh.write(tail)


def write_broken_uploads(out_dir: Path, years: list[LAYear], seed: int,
                         bomb_bytes: int = DEFAULT_BOMB_BYTES) -> list[dict]:
    cat = load()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = _rng(seed, "broken-uploads")
    pick = [years[i % len(years)] for i in rng.sample(range(len(years)), min(len(years), 7))]
    while len(pick) < 7:
        pick.append(pick[len(pick) % len(years)])

    def name(y: LAYear, ext: str = "xlsx") -> str:
        return L.file_name(cat.template_version, y.la["old_la_code"], y.la["la_name"])[:-4] + ext

    def good_bytes(y: LAYear) -> bytes:
        buf = io.BytesIO()
        template.build_workbook(cat.collection_year, _content(y, "Q2", {k: v for k, v in y.values.items() if k[1] in ("Q1", "Q2")}, {})).save(buf)
        return buf.getvalue()

    out = []

    def rec(path: Path, y: LAYear, kind: str, desc: str) -> None:
        out.append({"path": str(path.relative_to(out_dir.parent)), "la_code": y.la["old_la_code"],
                    "la_name": y.la["la_name"], "kind": kind, "description": desc, "bytes": path.stat().st_size})

    y = pick[0]
    p = out_dir / name(y)
    data = good_bytes(y)
    p.write_bytes(data[: int(len(data) * 0.6)])
    rec(p, y, "corrupt_zip", "xlsx truncated part-way through the upload: not a readable zip")
    y = pick[1]
    p = out_dir / name(y)
    p.write_bytes(b"")
    rec(p, y, "empty_file", "0-byte file")
    y = pick[2]
    p = out_dir / name(y)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Data item", "Q1", "Q2"])
    for it in cat.return_items:
        w.writerow([it.label, y.values[(it.id, "Q1")], y.values[(it.id, "Q2")]])
    p.write_text(buf.getvalue(), encoding="utf-8")
    rec(p, y, "csv_renamed_xlsx", "CSV export saved with an .xlsx name")
    y = pick[3]
    p = out_dir / f"LSRP return Q2 FINAL v2 ({y.la['la_name']}).xlsx"
    p.write_bytes(good_bytes(y))
    rec(p, y, "misnamed_file", "a valid return whose file name was changed and no longer follows the convention")
    y = pick[4]
    p = out_dir / name(y)
    p.write_bytes(_cfb_encrypted(seed))
    rec(p, y, "password_protected", "OLE2 compound file with EncryptionInfo/EncryptedPackage streams (Excel password)")
    y = pick[5]
    p = out_dir / name(y, "xlsm")
    p.write_bytes(_macro_enabled(good_bytes(y)))
    rec(p, y, "macro_enabled", ".xlsm: content type macroEnabled and xl/vbaProject.bin")
    y = pick[6]
    p = out_dir / name(y)
    _zip_bomb(p, bomb_bytes)
    rec(p, y, "zip_bomb", f"sheet XML inflates to {bomb_bytes:,} bytes (compression ratio ~1000:1)")
    out[-1]["uncompressed_bytes"] = bomb_bytes
    return out


# --------------------------------------------------------------------------------------------
# entry point


def choose_plan_cases(years: list[LAYear], broken: dict, seed: int, period: str) -> dict[str, str]:
    """LA code -> the plan parts' broken case in the latest quarter (synthetic.plan_sample.PLAN_CASES).

    six_risks (an error) goes to an LA already rejected for its figures at the content stage, so the
    number of rejected returns stays as it was; the four query cases go to distinct LAs with clean
    figures.  Deterministic for a seed, like everything else in the sample."""
    content_broken = [c for c, kinds in broken.items()
                      if not {"renamed_row_label", "quarter_column_empty", "year_cell_edited",
                              "cover_code_mismatch"} & set(kinds)]
    clean = [y.la["old_la_code"] for y in years if y.la["old_la_code"] not in broken]
    rng = _rng(seed, "plan-cases", period)
    out: dict[str, str] = {}
    if content_broken:
        out[sorted(content_broken)[0]] = "six_risks"
    queries = [c for c in plan_sample.PLAN_CASES if c != "six_risks"]
    for code, case in zip(rng.sample(clean, min(len(clean), len(queries))), queries):
        out[code] = case
    return out


def build_years(seed: int, la_codes: list[str] | None = None) -> list[LAYear]:
    cat = load()
    las = read_las()
    if la_codes:
        wanted = [str(c) for c in la_codes]
        unknown = sorted(set(wanted) - {r["old_la_code"] for r in las})
        if unknown:
            raise ValueError(f"unknown LA code(s): {', '.join(unknown)}")
        las = [r for r in las if r["old_la_code"] in wanted]
    prof = profiles()
    return [_build_year(la, prof[la["old_la_code"]], seed, cat) for la in las]


def generate(out_dir: Path, quarter: str = "2026-27-Q2", seed: int = 2026,
             la_codes: list[str] | None = None, bomb_bytes: int = DEFAULT_BOMB_BYTES,
             earlier_term: bool | None = None) -> str:
    """Write sample returns, DfE-held CSVs, unreadable uploads and MANIFEST.json; return a summary.

    The returns cover ``la_codes`` (default all 153); the DfE-held CSVs always cover all 153 LAs
    (DfE holds them for everyone, and England/regional rows need them), for the terms feeding the
    generated quarters plus, by default for a full run only, the term before (``earlier_term``).
    ``bomb_bytes`` sizes the zip bomb in ``broken/`` (default just over 200 MB inflated).
    """
    cat = load()
    out_dir = Path(out_dir)
    quarters = quarters_up_to(quarter, cat)
    years = build_years(seed, la_codes)
    all_las = read_las()
    manifest: dict = {"seed": seed, "quarter": quarter, "template_version": cat.template_version,
                      "collection_year": cat.collection_year, "quarters": quarters,
                      **({"years": sorted({p[:7] for p in quarters})} if quarters[-1][:7] != cat.collection_year else {}),
                      "la_codes": [y.la["old_la_code"] for y in years], "returns": []}

    # broken returns in the latest quarter (from Q2 on): 5 LAs in a full run, fewer in a small one
    broken: dict[str, tuple[str, ...]] = {}
    if len(quarters) >= 2:
        n = min(len(BROKEN_KINDS), max(1, len(years) // 3)) if len(years) < 20 else len(BROKEN_KINDS)
        rng = _rng(seed, "broken-returns", quarters[-1])
        chosen = rng.sample(range(len(years)), n)
        for idx, kinds in zip(chosen, BROKEN_KINDS):
            broken[years[idx].la["old_la_code"]] = kinds

    plan_cases = choose_plan_cases(years, broken, seed, quarters[-1])
    manifest["plan_cases"] = plan_cases

    counts = {p: 0 for p in quarters}
    n_rev = n_rev_notes = 0
    plan_years = list(dict.fromkeys(p[:7] for p in quarters))
    by_year = _plan_years(years, plan_years, seed)
    for i, y0 in enumerate(years):
        code = y0.la["old_la_code"]
        for year in plan_years:  # one workbook per LA and year, resubmitted each quarter
            y, cat_y = by_year[year][i], for_year(year)
            year_quarters = [p for p in quarters if p.startswith(year)]
            n_rev, n_rev_notes = _write_year(out_dir, y, cat_y, year, year_quarters, quarters[-1], seed, broken,
                                             plan_cases, all_las, counts, manifest, n_rev, n_rev_notes)

    q_terms = [dfe_term_for(p, cat) for p in quarters]
    if earlier_term is None:
        earlier_term = not la_codes
    terms = list(dict.fromkeys(([_previous_term(*q_terms[0])] if earlier_term else []) + q_terms))
    dfe_years = years if len(years) == len(all_las) else build_years(seed, None)
    manifest["dfe_held"] = write_dfe_held(out_dir / "dfe_held", dfe_years, seed, terms)
    manifest["dfe_held_terms"] = {p: {"time_period": tp, "time_identifier": t}
                                  for p, (tp, t) in zip(quarters, q_terms)}
    manifest["broken_uploads"] = write_broken_uploads(out_dir / "broken", years, seed, bomb_bytes)
    (out_dir / "MANIFEST.json").write_text(json.dumps(manifest, indent=1, default=str) + "\n", encoding="utf-8")

    lines = [f"Sample returns (seed {seed}, {len(years)} LAs) written to {out_dir}"]
    for p in quarters:
        lines.append(f"  {p}: {counts[p]} returns")
    lines.append(f"  revisions of an earlier quarter: {n_rev} ({n_rev_notes} with a note)")
    detail = ", ".join(f"{c}: {'+'.join(k)}" for c, k in broken.items())
    lines.append(f"  broken returns in {quarters[-1]}: {len(broken)}" + (f" ({detail})" if broken else ""))
    lines.append(f"  targets weaker than baseline: {sum(1 for y in years if y.weak_target)} LAs")
    lines.append(f"  DfE-held EES files: {len(manifest['dfe_held'])} in dfe_held/")
    lines.append(f"  unreadable uploads: {len(manifest['broken_uploads'])} in broken/")
    return "\n".join(lines)


def _plan_years(years: list[LAYear], plan_years: list[str], seed: int) -> dict[str, list[LAYear]]:
    if len(plan_years) == 1:
        return {plan_years[0]: years}
    return build_plan_years(years, plan_years, seed)


def _write_year(out_dir: Path, y: LAYear, cat: Catalogue, year: str, quarters: list[str], last: str, seed: int,
                broken: dict, plan_cases: dict, all_las: list[dict], counts: dict, manifest: dict,
                n_rev: int, n_rev_notes: int) -> tuple[int, int]:
    """One LA's workbook of one collection year, as resubmitted each quarter (Q2 has Q1 and Q2 filled)."""
    code = y.la["old_la_code"]
    revisions = _plan_revisions(y, seed, quarters)
    values: dict = {}
    notes: dict = {}
    fname = L.file_name(cat.template_version, code, y.la["la_name"])
    for k, period in enumerate(quarters):
        q = QUARTERS[k]
        for it in cat.return_items:
            values[(it.id, q)] = y.values[(it.id, q)]
        for rev in revisions.get(period, []):
            values[(rev["item"], rev["quarter"])] = rev["to"]
            if rev["note"]:
                notes[rev["item"]] = rev["note"]
        content = _content(y, q, values, notes)
        cases = (plan_cases.get(code),) if period == last and code in plan_cases else ()
        plan_sample.apply(content, plan_sample.plan_parts(y.la, year, q, seed, cases, cat))
        edits: list = []
        kinds = broken.get(code) if period == last else None
        if kinds:
            _, edits = _apply_breakage(kinds, content, q, all_las, year)
        path = out_dir / period / fname
        _save(path, year, content, edits)
        counts[period] += 1
        revs = revisions.get(period, [])
        n_rev += len(revs)
        n_rev_notes += sum(1 for r in revs if r["note"])
        manifest["returns"].append({
            "path": str(path.relative_to(out_dir)), "la_code": code, "la_name": y.la["la_name"],
            "period": period, "quarter": q, "revisions": revs, "broken": list(kinds or []),
            "weak_target": y.weak_target, "plan_cases": list(cases),
        })
    return n_rev, n_rev_notes


def file_digest(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
