"""The plan parts of an LA's pack (issue 10), in the quarterly review's order after the metrics:
milestones (a table and a timeline), risks (on Annex C's 5x5 matrix, this quarter against last) and
spend against plan by category, with region and England context.

The model is plain JSON-able data from the plan marts (``reports.data.PlanData``), hashed with the
pack so a changed milestone date, risk or spend line re-issues it.  The HTML comes from a Jinja2
template with autoescape: every text from a return (workstreams, milestones, risks, mitigations) is
escaped there and cut to the catalogue's text limits here.  Signatories and emails are not part of
the model at all: the marts do not carry them, and LA packs never show them.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from contracts import catalogue, inert
from contracts.plan_checks import quarter_end

from .common import NOT_APPLICABLE, UNAVAILABLE, period_label
from .data import PeriodData

STATUS_CLASS = {"Complete": "tag-met", "On track": "tag-met", "At risk": "tag-within", "Delayed": "tag-missed",
                "Not started": "tag-none"}
RAG_CLASS = {"Red": "rag-red", "Amber": "rag-amber", "Green": "rag-green"}
MOVEMENT_WORDS = {"new": "New this quarter", "escalated": "Escalated", "reduced": "Reduced",
                  "unchanged": "Unchanged"}
ELLIPSIS = "\u2026"


def clip(text, field: str) -> str | None:
    """Free text as shown: on one line, without control or text-direction characters, cut to the
    catalogue's limit for its own field.  Validation refuses all three (E40, E41, E28), so text within
    its bound is never cut; this keeps a pack bounded and inert whatever reaches the marts."""
    if text is None:
        return None
    s = " ".join(inert.clean(str(text)).split())
    n = catalogue.load().plan.limit(field)
    return s if len(s) <= n else s[: n - 1].rstrip() + ELLIPSIS


def _iso(d) -> str | None:
    return d.isoformat() if hasattr(d, "isoformat") else d


def _num(v):
    return None if v is None else round(float(v), 1)


# ------------------------------------------------------------------ model
def build_plan(data: PeriodData, code: str, accepted: bool) -> dict:
    """The plan parts shown in ``code``'s pack: its own milestones, risks and spend ('own'), and the
    region and England spend context ('context', not hashed: other LAs move it)."""
    plan = data.plan
    if not accepted:
        return build_plan_empty()
    ms = [{"workstream_no": r["workstream_no"], "workstream": clip(r["workstream"], "workstream"),
           "milestone": clip(r["milestone"], "milestone"), "quarter": r["milestone_quarter"],
           "first_due": _iso(r.get("first_due_date")), "due": _iso(r["due_date"]), "status": r["status"],
           "slippage_days": int(r.get("slippage_days") or 0), "slipped": bool(r.get("is_slipped")),
           "overdue": bool(r.get("is_overdue"))}
          for r in plan.milestones.get(code, [])]
    risks = [{"no": r["risk_no"], "description": clip(r["description"], "risk"),
              "mitigation": clip(r.get("mitigation"), "mitigation"),
              "impact": r["impact"], "likelihood": r["likelihood"],
              "rag": r.get("matrix_rag") or r.get("rag"), "stated_rag": r.get("rag"),
              "residual_impact": r["residual_impact"], "residual_likelihood": r["residual_likelihood"],
              "residual_rag": r.get("residual_matrix_rag") or r.get("residual_rag"),
              "previous_impact": r.get("previous_residual_impact"),
              "previous_likelihood": r.get("previous_residual_likelihood"),
              "previous_rag": r.get("previous_residual_rag"), "movement": r.get("movement") or "new"}
             for r in plan.risks.get(code, [])]
    spend = [{"category": r["category"], "funding_source": r["funding_source"], "quarter": r["spend_quarter"],
              "projected": _num(r["projected"]), "actual": _num(r["actual"]), "over": bool(r.get("over_margin"))}
             for r in plan.spend.get(code, [])]
    signoff = [{"icb": clip(r.get("icb_name"), "icb_name"), "sro": clip(r.get("sro"), "sro"),
                "position": r.get("position"), "role": clip(r.get("role"), "role"), "name": clip(r.get("name"), "name"),
                "signed_on": _iso(r.get("signed_on")), "signed": bool(r.get("is_signed"))}
               for r in plan.signoff.get(code, [])]
    region = data.las.get(code, {}).get("region_name")
    context = {"region": _by_category(plan.spend_region.get(region, []), data.period,
                                      _contributors(plan, data.period, region)),
               "england": _by_category(plan.spend_england, data.period, _contributors(plan, data.period))}
    own = {"milestones": ms, "risks": risks, "spend": spend}
    if signoff:   # hashed only when there is one, so a warehouse without the sign-off mart re-issues nothing
        own["signoff"] = signoff
    return {"own": own, "context": context}


def _to_date(rows: list[dict], period: str) -> list[dict]:
    """Spend lines for quarters up to the pack's own (an actual exists only for a quarter that has ended)."""
    q = period[-2:]
    return [r for r in rows if (r.get("spend_quarter") or r.get("quarter")) <= q]


def _contributors(plan, period: str, region: str | None = None) -> dict[str, int]:
    """Category -> number of LAs (in the region, or England) with an actual for it to date.  Counted from
    the LA rows: the mart's n_las is per category, funding source and quarter, so it undercounts a category.
    Counted once per period and region (every pack of the region asks the same)."""
    cache = plan.__dict__.setdefault("_contributors", {})
    if (period, region) not in cache:
        cache[(period, region)] = _count_contributors(plan, period, region)
    return cache[(period, region)]


def _count_contributors(plan, period: str, region: str | None) -> dict[str, int]:
    las: dict[str, set] = {}
    for code, rows in plan.spend.items():
        for r in _to_date(rows, period):
            if r.get("actual") is not None and (region is None or r.get("region_name") == region):
                las.setdefault(r["category"], set()).add(code)
    return {k: len(v) for k, v in las.items()}


def _by_category(rows: list[dict], period: str, n_las: dict[str, int] | None = None) -> dict[str, dict]:
    """Projected and actual to date per category over lines with an actual (and the number of LAs)."""
    out: dict[str, dict] = {}
    for r in _to_date(rows, period):
        if r.get("actual") is None:
            continue
        c = out.setdefault(r["category"], {"projected": 0.0, "actual": 0.0})
        c["projected"] += float(r["projected"] or 0)
        c["actual"] += float(r["actual"])
    return {k: {"projected": round(v["projected"], 1), "actual": round(v["actual"], 1),
                "n_las": (n_las or {}).get(k, 0)} for k, v in out.items()}


# ------------------------------------------------------------------ view (what the template shows)
def fmt_date(iso: str | None) -> str:
    if not iso:
        return UNAVAILABLE
    d = dt.date.fromisoformat(str(iso)[:10])
    return f"{d.day} {d.strftime('%b %Y')}"


def _quarter_label(q: str, period: str) -> str:
    return period_label(f"{period[:7]}-{q}")


def _pct(actual, projected) -> str:
    if actual is None or not projected:
        return NOT_APPLICABLE
    v = round(100 * (actual - projected) / projected, 1)
    return f"{v:+.1f}%" if v else "0.0%"


def _money(v) -> str:
    return UNAVAILABLE if v is None else f"{v:,.1f}"


def _slip_words(m: dict) -> str:
    days = m["slippage_days"]
    if days > 0:
        return f"{days} days later than first given"
    if days < 0:
        return f"{-days} days earlier than first given"
    return "Delayed (date unchanged)" if m["status"] == "Delayed" else "No slippage (on its first date)"


def milestones_view(own: dict, period: str) -> dict:
    rows = []
    for m in own["milestones"]:
        rows.append({**m, "marker": False, "quarter_label": _quarter_label(m["quarter"], period),
                     "first_due_text": fmt_date(m["first_due"]), "due_text": fmt_date(m["due"]),
                     "status_class": STATUS_CLASS.get(m["status"], "tag-none"), "slip_text": _slip_words(m)})
    year, q = period[:7], period[-2:]
    as_of = quarter_end(year, q).isoformat()
    # the timeline: every milestone by its current date, with the end of this report's quarter marked
    events = sorted(rows, key=lambda m: (m["due"] or "9999", m["workstream_no"]))
    timeline, marked = [], False
    for m in events:
        if not marked and (m["due"] or "9999") > as_of:
            timeline.append({"marker": True, "due_text": fmt_date(as_of)})
            marked = True
        timeline.append(m)
    if not marked:
        timeline.append({"marker": True, "due_text": fmt_date(as_of)})
    n_slipped = sum(1 for m in rows if m["slipped"])
    n_overdue = sum(1 for m in rows if m["overdue"])
    n_complete = sum(1 for m in rows if m["status"] == "Complete")
    return {"rows": rows, "timeline": timeline, "n": len(rows), "n_slipped": n_slipped, "n_overdue": n_overdue,
            "n_complete": n_complete, "as_of": fmt_date(as_of), "quarter": period_label(period),
            "n_workstreams": len({m["workstream_no"] for m in rows})}


def risks_view(own: dict) -> dict:
    plan = catalogue.load().plan
    risks = [{**r, "rag_class": RAG_CLASS.get(r["rag"], ""), "residual_class": RAG_CLASS.get(r["residual_rag"], ""),
              "movement_text": MOVEMENT_WORDS.get(r["movement"], r["movement"]),
              "previous_text": (f"{r['previous_impact']}, {r['previous_likelihood']} ({r['previous_rag']})"
                                if r["previous_impact"] else NOT_APPLICABLE)}
             for r in own["risks"]]
    grid = []
    for impact in plan.impacts:
        cells = []
        for li, likelihood in enumerate(plan.likelihoods):
            cells.append({"rag": plan.risk_matrix[impact][li], "rag_class": RAG_CLASS[plan.risk_matrix[impact][li]],
                          "now": [r["no"] for r in risks if (r["residual_impact"], r["residual_likelihood"])
                                  == (impact, likelihood)],
                          "last": [r["no"] for r in risks if r["movement"] != "new" and r["previous_impact"]
                                   and (r["previous_impact"], r["previous_likelihood"]) == (impact, likelihood)
                                   and (r["previous_impact"], r["previous_likelihood"])
                                   != (r["residual_impact"], r["residual_likelihood"])],
                          "same": [r["no"] for r in risks if r["previous_impact"] and r["movement"] != "new"
                                   and (r["previous_impact"], r["previous_likelihood"])
                                   == (r["residual_impact"], r["residual_likelihood"]) == (impact, likelihood)],
                          "likelihood": likelihood, "impact": impact})
        grid.append({"impact": impact, "cells": cells})
    short = [_short_likelihood(x) for x in plan.likelihoods]
    counts = {k: sum(1 for r in risks if r["movement"] == k) for k in MOVEMENT_WORDS}
    return {"rows": risks, "grid": grid, "likelihoods": short, "n": len(risks),
            "n_red": sum(1 for r in risks if r["residual_rag"] == "Red"), "counts": counts}


def _short_likelihood(label: str) -> dict:
    """'Very Unlikely (<10%)' -> {'name': 'Very unlikely', 'range': '<10%'} (the header wraps at 390 px)."""
    name, _, rest = label.partition(" (")
    return {"name": name[:1] + name[1:].lower(), "range": rest.rstrip(")"), "full": label}


def spend_view(plan_model: dict, period: str) -> dict:
    own, ctx = plan_model["own"], plan_model["context"]
    to_date = _to_date(own["spend"], period)
    lines: dict[tuple, dict] = {}
    for r in own["spend"]:
        k = (r["category"], r["funding_source"])
        x = lines.setdefault(k, {"category": k[0], "funding_source": k[1], "year_projected": 0.0, "projected": 0.0,
                                 "actual": 0.0, "has_actual": False, "over": False})
        x["year_projected"] += r["projected"] or 0
    for r in to_date:
        x = lines[(r["category"], r["funding_source"])]
        if r["actual"] is not None:
            x["projected"] += r["projected"] or 0
            x["actual"] += r["actual"]
            x["has_actual"] = True
        x["over"] |= r["over"]
    rows = []
    for x in lines.values():
        proj, act = (round(x["projected"], 1), round(x["actual"], 1)) if x["has_actual"] else (None, None)
        rows.append({**x, "projected_text": _money(proj), "actual_text": _money(act),
                     "variance_text": _money(None if act is None else round(act - proj, 1)),
                     "variance_pct": _pct(act, proj), "year_projected_text": _money(round(x["year_projected"], 1))})
    cats = sorted({x["category"] for x in lines.values()})
    own_cat = _by_category([{**r, "spend_quarter": r["quarter"]} for r in own["spend"]], period)
    context = []
    for c in cats:
        mine, reg, eng = own_cat.get(c), ctx.get("region", {}).get(c), ctx.get("england", {}).get(c)
        context.append({"category": c,
                        "own": _pct(mine["actual"], mine["projected"]) if mine else NOT_APPLICABLE,
                        "region": _pct(reg["actual"], reg["projected"]) if reg else NOT_APPLICABLE,
                        "region_n": reg["n_las"] if reg else 0,
                        "england": _pct(eng["actual"], eng["projected"]) if eng else NOT_APPLICABLE,
                        "england_n": eng["n_las"] if eng else 0})
    detail = [{**r, "quarter_label": _quarter_label(r["quarter"], period), "projected_text": _money(r["projected"]),
               "actual_text": _money(r["actual"]), "variance_pct": _pct(r["actual"], r["projected"])}
              for r in sorted(own["spend"], key=lambda r: (r["category"], r["funding_source"], r["quarter"]))]
    tp = sum(x["projected"] for x in lines.values() if x["has_actual"])
    ta = sum(x["actual"] for x in lines.values() if x["has_actual"])
    return {"rows": rows, "context": context, "detail": detail, "n_over": sum(1 for x in rows if x["over"]),
            "total_projected": _money(round(tp, 1)) if rows else UNAVAILABLE,
            "total_actual": _money(round(ta, 1)) if rows else UNAVAILABLE,
            "total_pct": _pct(ta, tp) if rows else NOT_APPLICABLE,
            "year_total": _money(round(sum(x["year_projected"] for x in lines.values()), 1)),
            "unit": catalogue.load().plan.spend_unit,
            "margin": catalogue.load().plan.spend_variance_margin_pct}


def signoff_view(own: dict) -> dict:
    """The ICB, the SRO and each signatory, with the statutory roles (catalogue plan_parts) that are
    missing or unsigned named, as the sign-off rules (E30 / Q09) see them.  Never an email."""
    rows = own.get("signoff") or []
    named = [r for r in rows if r["position"] is not None]
    statutory = list(catalogue.load().plan.statutory_roles)
    def key(role):
        return (role or "").strip().lower()
    signed = {key(r["role"]) for r in named if r["signed"]}
    out = [{"role": r["role"] or "(no role given)", "name": r["name"] or "not given",
            "signed_on": fmt_date(r["signed_on"]) if r["signed_on"] else "not signed",
            "statutory": key(r["role"]) in {key(x) for x in statutory}, "signed": r["signed"]} for r in named]
    return {"n": len(rows), "icb": rows[0]["icb"] if rows else None, "sro": rows[0]["sro"] if rows else None,
            "rows": out, "missing": [x for x in statutory if key(x) not in signed]}


@lru_cache(maxsize=1)
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=select_autoescape(["j2", "html"]),
                      trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    return env.get_template("plan_sections.html.j2")


def build_plan_empty() -> dict:
    return {"own": {"milestones": [], "risks": [], "spend": []}, "context": {}}


def _has_plan(plan_model: dict) -> bool:
    own = plan_model["own"]
    return bool(own["milestones"] or own["risks"] or own["spend"] or own.get("signoff"))


def nav(plan_model: dict, accepted: bool) -> list[tuple[str, str]]:
    """Contents entries for the sections render_sections writes (risks and spend only with a plan)."""
    out = [("milestones", "4. Milestones")]
    if accepted and _has_plan(plan_model):
        out += [("risks", "5. Risks"), ("spend", "6. Spend against plan"),
                ("signoff", "7. Sign-off and accountability")]
    return out


def render_sections(plan_model: dict, period: str, la_name: str, accepted: bool) -> str:
    """Sections 4-7 of the pack (after the metrics): milestones, risks, spend against plan, sign-off."""
    own = plan_model["own"]
    return _template().render(
        accepted=accepted, has_plan=_has_plan(plan_model), la_name=la_name, quarter=period_label(period),
        ms=milestones_view(own, period), rk=risks_view(own), sp=spend_view(plan_model, period),
        so=signoff_view(own))
