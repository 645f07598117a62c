"""Synthetic plan parts for sample returns: workstreams and milestones, investment spend, risks and
sign-off, as an LA would fill them in, quarter by quarter, with the known broken cases.

Each LA has its own random stream (seed, LA code), so its plan is the same in every quarter's
workbook except where a quarter moves it on: statuses advance as dates pass, actual spend is
entered for quarters that have ended, one risk's residual likelihood changes, and (for some LAs)
a milestone slips, keeping the date first given in the Notes.

Broken cases (``PLAN_CASES``), applied to the reported quarter only:
- six_risks: a sixth risk (error E29);
- wrong_rag: a stated RAG that is not the Annex C matrix's (query Q06);
- overspend: actual spend 40% above the projection, no reason (query Q07);
- past_not_started: a milestone due before the quarter end still "Not started" (query Q08);
- missing_signatory: the ICB NHS Place Director's row left unsigned (query Q09 after the initial return).
"""
from __future__ import annotations

import datetime as dt
import random

from contracts import reference
from contracts.catalogue import QUARTERS, Catalogue, load
from contracts.plan_checks import quarter_end

PLAN_CASES = ("six_risks", "wrong_rag", "overspend", "past_not_started", "missing_signatory")
FIRST = ("Alex", "Sam", "Jo", "Priya", "Tom", "Aisha", "Chris", "Helen", "Mo", "Ruth", "Dan", "Femi")
LAST = ("Patel", "Jones", "Smith", "Khan", "Taylor", "Brown", "Okafor", "Evans", "Walsh", "Hughes")
WORKSTREAMS = (  # (building block id, workstream, outcome, success measure, milestones Q2..Q4)
    ("experts_at_hand", "Experts at Hand offer", "Specialist advice reaches mainstream settings early",
     "Requests for EHC needs assessment per 10,000; SEN support in mainstream",
     ("Recruit EP and SALT leads", "Offer live in first school cluster", "Offer in all clusters")),
    ("inclusive_mainstream", "Inclusive mainstream schools", "More pupils with SEND thrive in mainstream",
     "Absence of pupils with SEN; suspensions of pupils with SEN",
     ("Inclusion framework agreed with schools", "Training for SENCOs completed", "Inclusion bases open")),
    ("timely_assessment", "Timely assessment", "EHC plans issued within 20 weeks",
     "EHC plans issued within 20 weeks (%)",
     ("Assessment backlog triaged", "New casework system live", "20-week rate at target")),
    ("specialist_provision", "Local specialist places", "Fewer placements out of area",
     "Placements in independent special schools (%)",
     ("Sufficiency plan approved", "Capital works started", "New places ready for September")),
    ("adulthood", "Preparing for adulthood", "Young people with SEND stay in education or work",
     "NEET or not known, 16-17 with EHC plans",
     ("Post-16 pathways mapped", "Supported internships expanded", "Transition plans at Year 9")),
)
RISKS = (
    "Recruitment of educational psychologists and therapists falls short",
    "Schools do not engage with the inclusion framework",
    "High needs deficit grows faster than the recovery plan",
    "Casework system delivery is delayed",
    "Capital works for new places overrun",
    "ICB capacity for joint commissioning is reduced",
    "Demand for assessments rises faster than forecast",
)
MITIGATION = ("Joint recruitment campaign with neighbouring LAs and the ICB",
              "Headteacher board co-owns the framework; termly review",
              "Monthly DSG monitoring at the SEND board; savings plan",
              "Supplier milestones in contract; interim manual process",
              "Contingency in capital budget; phased opening",
              "Escalation through the partnership board",
              "Experts at Hand triage before requests")


def _rng(seed: int, *parts) -> random.Random:
    return random.Random("|".join(str(p) for p in (seed, "plan", *parts)))


def _person(rng: random.Random, domain: str) -> tuple[str, str]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    return f"{first} {last}", f"{first.lower()}.{last.lower()}@{domain}"


def _due(year: str, quarter: str, rng: random.Random) -> dt.date:
    """A date inside the quarter, 2-10 weeks before its end."""
    return quarter_end(year, quarter) - dt.timedelta(days=rng.randint(14, 70))


def plan_parts(la: dict, year: str, quarter: str, seed: int, cases: tuple[str, ...] = (),
               cat: Catalogue | None = None) -> dict:
    """The plan fields of a ``template.ReturnContent`` for one LA's return for ``quarter``."""
    cat = cat or load()
    plan = cat.plan
    code, name = la["old_la_code"], la["la_name"]
    rng = _rng(seed, code)
    la_domain, icb_domain = reference.la_email_domain(name), "nhs.net"
    qi = QUARTERS.index(quarter) if quarter in QUARTERS else -1  # the initial return (Q0): nothing ended yet
    as_of = quarter_end(year, quarter)
    blocks = {b["id"]: b["title"] for b in cat.building_blocks}

    # sign-off: the statutory roles, signed in June 2026 with the plan
    signatories = []
    for role in plan.statutory_roles:
        person, email = _person(rng, icb_domain if role.startswith("ICB") else la_domain)
        signatories.append({"role": role, "name": person, "email": email,
                            "date": dt.date(int(year[:4]), 6, rng.randint(8, 18))})
    sro = _person(rng, la_domain)[0]
    if "missing_signatory" in cases:
        row = next(s for s in signatories if s["role"] == "ICB NHS Place Director")
        row.update(name=None, email=None, date=None)

    # workstreams and milestones: statuses follow the dates; one LA in four has a slipping milestone
    slips = rng.random() < 0.25
    workstreams = []
    for w in rng.sample(WORKSTREAMS, rng.randint(3, 4)):
        block, title, outcome, measure, steps = w
        lead = _person(rng, la_domain)[0]
        milestones, notes = {}, None
        for mq, step in zip(plan.milestone_quarters, steps):
            due = _due(year, mq, rng)
            done = rng.random() < 0.8  # drawn every quarter, so later draws match between quarters
            if due <= as_of:
                status = "Complete" if done else "Delayed"
            else:
                status = "On track" if QUARTERS.index(mq) <= qi + 1 else "Not started"
            milestones[mq] = {"milestone": step, "due_date": due, "status": status,
                              "trajectory": f"{measure.split(';')[0]}: on plan"}
        workstreams.append({"workstream": title, "building_block": blocks[block], "outcome": outcome,
                            "success_measures": measure, "lead": f"{lead}, Head of service",
                            "milestones": milestones, "notes": notes})
    if slips and qi >= 1:  # from Q2 the Q3 milestone of the first workstream slips six weeks
        m = workstreams[0]["milestones"]["Q3"]
        first = m["due_date"]
        m.update(due_date=first + dt.timedelta(days=42), status="Delayed")
        workstreams[0]["notes"] = f"Q3 milestone first due {first.isoformat()}: supplier delay"
    if "past_not_started" in cases:
        m = workstreams[-1]["milestones"][plan.milestone_quarters[0]]
        m.update(due_date=as_of - dt.timedelta(days=20), status=plan.not_started)
        workstreams[-1]["notes"] = None

    # spend: 4 lines, GBP thousands, actuals for quarters that have ended (within the margin)
    spend = []
    sources = plan.funding_sources
    for category in rng.sample(plan.spend_categories[:4], 4):
        annual = rng.choice((80, 120, 150, 200, 250, 300))
        projected = {q: round(annual * s, 1) for q, s in zip(QUARTERS, (0.2, 0.25, 0.25, 0.3))}
        factors = [rng.uniform(0.8, 1.08) for _ in QUARTERS]  # all four drawn: same stream every quarter
        actual = {q: round(projected[q] * f, 1) for q, f in zip(QUARTERS[:qi + 1], factors)}
        spend.append({"category": category, "funding_source": rng.choice(sources[:4]),
                      "projected": projected, "actual": actual, "notes": None})
    if "overspend" in cases:
        spend[0]["actual"][quarter] = round(spend[0]["projected"][quarter] * 1.4, 1)

    # risks: 3-5, rated on the matrix; one risk's residual likelihood rises in Q2 (escalating)
    risks = []
    for i, desc in enumerate(rng.sample(RISKS, rng.randint(3, 5))):
        impact = rng.choice(plan.impacts[:3])
        li = rng.randint(1, 3)
        ri = max(0, li - rng.randint(1, 2))
        if i == 0 and qi >= 1:
            ri = min(len(plan.likelihoods) - 1, li + 1)  # escalating since Q1
        risks.append(_risk(plan, desc, impact, plan.likelihoods[li], impact, plan.likelihoods[ri],
                           MITIGATION[RISKS.index(desc)]))
    if "six_risks" in cases:
        extra = [r for r in RISKS if r not in {x["description"] for x in risks}]
        while len(risks) <= plan.max_risks:
            d = extra[len(risks) % len(extra)]
            risks.append(_risk(plan, d, "Marginal", plan.likelihoods[2], "Marginal", plan.likelihoods[1],
                               MITIGATION[RISKS.index(d)]))
    if "wrong_rag" in cases:
        r = risks[0]
        r["rag"] = next(x for x in plan.rags if x != r["rag"])
        r["notes"] = None
    return {"icb_name": f"NHS {la.get('region_name', 'England')} Integrated Care Board (sample)",
            "sro": f"{sro}, Director of Education", "signatories": signatories,
            "workstreams": workstreams, "spend": spend, "risks": risks}


def _risk(plan, desc: str, impact: str, likelihood: str, r_impact: str, r_likelihood: str, mitigation: str) -> dict:
    return {"description": desc, "impact": impact, "likelihood": likelihood,
            "rag": plan.matrix_rag(impact, likelihood), "mitigation": mitigation,
            "residual_impact": r_impact, "residual_likelihood": r_likelihood,
            "residual_rag": plan.matrix_rag(r_impact, r_likelihood), "notes": None}


def apply(content, parts: dict) -> None:
    """Set the plan fields on a ``template.ReturnContent``."""
    for k, v in parts.items():
        setattr(content, k, v)
