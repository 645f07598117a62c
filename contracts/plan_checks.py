"""Checks on the plan parts of a return: delivery milestones, investment spend, risks and sign-off.

The rules (ids, levels, messages) are registered in ``contracts.rules`` with the others; this module
holds the checks.  Lists, limits, the Annex C matrix and the spend margin come from the catalogue
(``plan_parts``).  "Past" means before the end of the quarter being reported, never the wall clock,
so the same file always gets the same findings.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata

from contracts import emails
from contracts import layout as L
from contracts.catalogue import QUARTERS, Catalogue, load
from contracts.findings import Finding
from contracts.reader import PlanRow, read_plan_rows, text, to_date, to_number
from contracts.rules import Header, finding, fmt, la_names, period_label

PLAN_ERROR_RULES = ("E27", "E28", "E29", "E30", "E31", "E32", "E33", "E34", "E40", "E41", "E42", "E43", "E44")
MAX_FINDINGS_PER_RULE = 20
QUARTER_END = {"Q0": (0, 3, 31), "Q1": (0, 6, 30), "Q2": (0, 9, 30), "Q3": (0, 12, 31), "Q4": (1, 3, 31)}
WHAT = {  # field -> how a message names it
    "role": "signatory role", "name": "signatory name", "email": "signatory email", "date": "date signed",
    "workstream": "workstream", "building_block": "building block", "outcome": "outcome",
    "success_measures": "success measures", "lead": "responsible lead", "milestone": "milestone",
    "due_date": "anticipated date", "status": "status", "trajectory": "target trajectory",
    "category": "spend category", "funding_source": "funding source", "description": "risk",
    "impact": "impact", "likelihood": "likelihood", "rag": "RAG", "mitigation": "mitigation",
    "residual_impact": "residual impact", "residual_likelihood": "residual likelihood",
    "residual_rag": "residual RAG", "notes": "notes", "icb_name": "Integrated Care Board", "sro": "SRO",
}


def quarter_end(year: str, quarter: str) -> dt.date:
    """The last day of a financial quarter: 2026-27 Q4 -> 2027-03-31."""
    add, month, day = QUARTER_END[quarter]
    return dt.date(int(year[:4]) + add, month, day)


def _what(field: str) -> str:
    base = field.split("_", 1)[1] if field[:2] in ("Q1", "Q2", "Q3", "Q4") and field[2] == "_" else field
    prefix = f"{field[:2]} " if base != field else ""
    return prefix + WHAT.get(base, base.replace("_", " "))


def check_plan(wb, head: Header, cat: Catalogue | None = None) -> list[Finding]:
    """Every plan rule on a workbook whose structure passed.  Never raises for bad content."""
    cat = cat or load()
    plan = cat.plan
    if plan is None:
        return []
    rows = read_plan_rows(wb, cat)
    if not rows.filled:
        if not plan.required:
            return []  # an earlier template, or plan parts left blank: see catalogue plan_parts.required
        what = (f"missing (no {', '.join(repr(s) for s in rows.missing_sheets)} sheet)"
                if rows.missing_sheets else "blank")
        return [finding("Q10", sheet=L.COVER, what=what)]
    out: list[Finding] = []   # free text (lengths, controls, formulas): contracts.text_checks
    out += _lists(rows, cat)
    out += _signatories(rows, head, plan)
    out += _milestones(rows, head, plan)
    out += _spend(rows, head, plan)
    out += _risks(rows, plan)
    out += _distinct(rows)
    return _capped(out)


# The parsed table each list of plan rows becomes (contracts/reader.py parse_plan).
_ROWS_OF_TABLE = {"milestones": "workstreams", "spend": "spend", "risks": "risks", "signatories": "signatories"}


def name_key(value) -> str:
    """How the warehouse tells two names apart, made coarser so that anything it would take as the
    same name (lower(trim(x)) in stg_plan_milestones) is the same here: case folded, every run of
    whitespace one space, Unicode compatibility forms folded."""
    return " ".join(unicodedata.normalize("NFKC", text(value)).casefold().split())


def _distinct(rows) -> list[Finding]:
    """E44: a column raw_tables.yaml marks `distinct` repeats a name within the return."""
    from contracts import metadata

    out: list[Finding] = []
    for table_name, table in metadata.parsed_tables().items():
        for column in (table.parsed or {}).get("distinct", []):
            seen: dict[str, PlanRow] = {}
            for r in getattr(rows, _ROWS_OF_TABLE[table_name], []):
                key = name_key(r.raw.get(column))
                if not key:
                    continue
                if key in seen:
                    out.append(finding("E44", sheet=r.sheet, cell=r.cells[column], value=r.text(column),
                                       what=_what(column), first_row=seen[key].row))
                else:
                    seen[key] = r
    return out


def _capped(found: list[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS_PER_RULE of each rule, so one systematic mistake does not bury the rest."""
    seen: dict[str, int] = {}
    out = []
    for f in found:
        seen[f.rule] = seen.get(f.rule, 0) + 1
        if seen[f.rule] <= MAX_FINDINGS_PER_RULE:
            out.append(f)
    return out


def _check_choice(r: PlanRow, field: str, allowed: tuple[str, ...]) -> list[Finding]:
    v = text(r.raw.get(field))
    if not v or " ".join(v.split()).lower() in {a.lower() for a in allowed}:
        return []
    return [finding("E27", sheet=r.sheet, cell=r.cells[field], value=v, what=_what(field),
                    options="; ".join(allowed))]


def _lists(rows, cat: Catalogue) -> list[Finding]:
    plan = cat.plan
    blocks = tuple(b["title"] for b in cat.building_blocks)
    out = []
    for r in rows.workstreams:
        out += _check_choice(r, "building_block", blocks)
        for q in plan.milestone_quarters:
            out += _check_choice(r, f"{q}_status", plan.statuses)
    for r in rows.spend:
        out += _check_choice(r, "category", plan.spend_categories)
        out += _check_choice(r, "funding_source", plan.funding_sources)
    for r in rows.risks:
        for prefix in ("", "residual_"):
            out += _check_choice(r, f"{prefix}impact", plan.impacts)
            out += _check_choice(r, f"{prefix}likelihood", plan.likelihoods)
            out += _check_choice(r, f"{prefix}rag", plan.rags)
    return out


def _incomplete(r: PlanRow, what: str, missing: list[str]) -> Finding:
    return finding("E33", sheet=r.sheet, cell=r.cells[missing[0]], value=None, row=r.row, what=what,
                   missing=" and ".join(_what(m) for m in missing))


def _date_or_error(r: PlanRow, field: str, out: list[Finding]):
    v = r.raw.get(field)
    if v is None or (isinstance(v, str) and not v.strip()):
        return None
    d = to_date(v)
    if d is None:
        out.append(finding("E31", sheet=r.sheet, cell=r.cells[field], value=v, what=_what(field)))
    return d


def _signatories(rows, head: Header, plan) -> list[Finding]:
    out: list[Finding] = []
    signed: set[str] = set()
    for r in rows.signatories:
        role, name, email = r.text("role"), r.text("name"), r.text("email")
        when = _date_or_error(r, "date", out)
        if not (name or email or r.raw.get("date") is not None):
            continue  # a statutory role the template lists, not yet signed
        missing = [f for f, v in (("role", role), ("name", name), ("email", email), ("date", r.raw.get("date")))
                   if v is None or v == ""]
        if missing:
            out.append(_incomplete(r, f"the signatory '{name or role or email}'", missing))
        if role and name and when is not None:
            signed.add(" ".join(role.split()).lower())
    out += _emails(rows.signatories, head)
    initial = head.quarter == plan.initial_quarter
    for role in plan.statutory_roles:
        if role.lower() not in signed:
            out.append(finding("E30" if initial else "Q09", sheet=L.COVER,
                               cell=L.cell(L.SIGNATORY_COLS["name"], L.SIGNATORY_FIRST_ROW), role=role))
    return out


def _emails(signatories: list[PlanRow], head: Header) -> list[Finding]:
    """E34 an address that is not a work email; Q15 one on another LA's known domain; Q16 another
    signatory for a role already listed.  One address for two roles is not queried: one person may
    hold two roles (an interim chief executive who is also the DCS)."""
    out: list[Finding] = []
    first: dict[str, PlanRow] = {}
    for r in signatories:
        role, email = " ".join(r.text("role").split()), r.text("email")
        if not (r.text("name") or email):
            continue  # a statutory role the template lists, not yet signed
        problem = emails.email_problem(email) if email else None
        if problem:
            out.append(finding("E34", sheet=r.sheet, cell=r.cells["email"], value=email, what=_what("email"),
                               reason=problem))
        other = emails.other_la(email, head.la_code) if email and not problem else None
        if other:
            # the value is the domain, not the address: queries reach the LA's pack, and emails never do
            out.append(finding("Q15", sheet=r.sheet, cell=r.cells["email"], value=emails.domain(email),
                               role=role or "signatory",
                               domain=emails.domain(email), other=f"{other} {la_names()[other]}",
                               la=f"{head.la_code} {head.la_name}" if head.la_code else "this local authority"))
        seen = first.setdefault(role.lower(), r) if role else r
        if seen is not r:
            out.append(finding("Q16", sheet=r.sheet, cell=r.cells["role"], value=role, role=role,
                               first_row=seen.row, first=seen.text("name") or "no name"))
    return out


def _milestones(rows, head: Header, plan) -> list[Finding]:
    out: list[Finding] = []
    year = head.year or ""
    as_of = quarter_end(year, head.quarter) if re.match(r"^\d{4}-\d{2}$", year) and head.quarter else None
    for r in rows.workstreams:
        name = r.text("workstream") or f"row {r.row}"
        missing = [f for f in ("workstream", "building_block", "lead") if not r.text(f)]
        if missing:
            out.append(_incomplete(r, f"workstream '{name}'", missing))
        for q in plan.milestone_quarters:
            milestone, status = r.text(f"{q}_milestone"), r.text(f"{q}_status")
            due = _date_or_error(r, f"{q}_due_date", out)
            has_date = r.raw.get(f"{q}_due_date") is not None
            if not (milestone or status or has_date):
                continue
            missing = [f"{q}_{f}" for f, v in (("milestone", milestone), ("due_date", has_date),
                                              ("status", status)) if not v]
            if missing:
                out.append(_incomplete(r, f"the {q} milestone of '{name}'", missing))
            if (as_of and due and due <= as_of and status.lower() == plan.not_started.lower()):
                out.append(finding("Q08", sheet=r.sheet, cell=r.cells[f"{q}_status"], value=status,
                                   resolved=bool(r.text("notes")), quarter=q, milestone=milestone, status=status,
                                   workstream=name, due=due.isoformat(),
                                   period=period_label(year, head.quarter),
                                   notes_cell=r.cells["notes"]))
    return out


def _spend(rows, head: Header, plan) -> list[Finding]:
    out: list[Finding] = []
    qi = QUARTERS.index(head.quarter) if head.quarter in QUARTERS else 3
    margin = plan.spend_variance_margin_pct
    for r in rows.spend:
        amounts = {}
        for kind in ("projected", "actual"):
            for q in QUARTERS:
                f = f"{kind}_{q}"
                v = r.raw.get(f)
                if v is None or (isinstance(v, str) and not v.strip()):
                    continue
                n = to_number(v)
                if n is None or n < 0:
                    out.append(finding("E32", sheet=r.sheet, cell=r.cells[f], value=v,
                                       what=f"{kind} spend {q}", unit=plan.spend_unit))
                else:
                    amounts[f] = n
        missing = [f for f in ("category", "funding_source") if not r.text(f)]
        if missing:
            out.append(_incomplete(r, f"spend row {r.row}", missing))
        for q in QUARTERS[:qi + 1]:
            p, a = amounts.get(f"projected_{q}"), amounts.get(f"actual_{q}")
            if a is None:
                continue
            if p is None:
                out.append(_incomplete(r, f"the {q} actual spend", [f"projected_{q}"]))
                continue
            if a > p * (1 + margin / 100) and a - p > 1e-9:
                over = f"{(a - p) / p * 100:.0f}% above" if p > 0 else "above"
                out.append(finding("Q07", sheet=r.sheet, cell=r.cells[f"actual_{q}"], value=a,
                                   resolved=bool(r.text("notes")), period=period_label(head.year or "", q),
                                   category=r.text("category"), source=r.text("funding_source") or "no source",
                                   actual=fmt(a), over=over, projected=fmt(p), unit=plan.spend_unit,
                                   margin=f"{margin:g}", notes_cell=r.cells["notes"]))
    return out


def _risks(rows, plan) -> list[Finding]:
    out: list[Finding] = []
    if len(rows.risks) > plan.max_risks:
        last = rows.risks[-1]
        out.append(finding("E29", sheet=L.RISK_SHEET, cell=last.cells["description"], value=len(rows.risks),
                           n=len(rows.risks), max=plan.max_risks))
    for n, r in enumerate(rows.risks, start=1):
        desc = r.text("description")
        missing = [f for f in ("description", "impact", "likelihood", "rag", "mitigation", "residual_impact",
                               "residual_likelihood", "residual_rag") if not r.text(f)]
        if missing:
            out.append(_incomplete(r, f"risk {n}", missing))
        for prefix, when in (("", "before mitigation"), ("residual_", "after mitigation")):
            impact, likelihood = r.text(f"{prefix}impact"), r.text(f"{prefix}likelihood")
            stated = r.text(f"{prefix}rag")
            expected = plan.matrix_rag(_canon(impact, plan.impacts), _canon(likelihood, plan.likelihoods))
            stated_c = _canon(stated, plan.rags)
            if expected and stated_c and stated_c != expected:
                out.append(finding("Q06", sheet=r.sheet, cell=r.cells[f"{prefix}rag"], value=stated,
                                   resolved=bool(r.text("notes")), n=n, risk=_short(desc), stated=stated_c,
                                   when=when, expected=expected, impact=_canon(impact, plan.impacts),
                                   likelihood=_canon(likelihood, plan.likelihoods),
                                   notes_cell=r.cells["notes"]))
    return out


def _canon(v: str, allowed: tuple[str, ...]) -> str | None:
    t = " ".join(v.split()).lower()
    return next((a for a in allowed if a.lower() == t), None)


def _short(s: str, n: int = 60) -> str:
    return s if len(s) <= n else s[: n - 3].rstrip() + "..."
