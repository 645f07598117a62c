"""One LA's quarterly data report: a JSON-able model of its figures (hashed for re-issue), and its HTML."""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date

from contracts import catalogue
from contracts.catalogue import Indicator

from . import charts, effective, forecasts, plan as plan_mod
from .common import (NAV_HERE, area_sections, shown, NOT_APPLICABLE, SUPPRESSED, UNAVAILABLE, active_title, better, change_text, change_unit,
                     chart_block, esc, is_suppressed, judge_change, num, page, period_label, prev_quarter, shift_quarters, slug,
                     status_tag, table, with_unit)
from .data import PeriodData

SERVICE = "Local SEND Reform Plan: quarterly data report"
DATA_QUALITY = "data_quality"


def _clean(v):
    if isinstance(v, float):
        return float(f"{v:.10g}")
    if isinstance(v, (date,)):
        return v.isoformat()
    return v


_PLAIN = (str, int, bool, type(None))


def _walk(o):
    # exact types first (most of a model), the general rule for anything else; the result, and so every
    # published hash, is the same as the general rule's alone
    t = type(o)
    if t is dict:
        return {k: _walk(v) for k, v in o.items()}
    if t is float:
        return float(f"{o:.10g}")
    if t in _PLAIN:
        return o
    if t is list or t is tuple:
        return [_walk(v) for v in o]
    if isinstance(o, dict):
        return {k: _walk(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_walk(v) for v in o]
    return _clean(o) if not hasattr(o, "isoformat") else o.isoformat()


def _canon(obj) -> str:
    return json.dumps(_walk(obj), sort_keys=True, separators=(",", ":"), default=str)


def _sha(obj) -> str:
    return hashlib.sha256(_canon(obj).encode()).hexdigest()


OWN_LATEST = ("numerator", "denominator", "la_value")
IDENTITY = ("la_code", "la_name", "region_name", "indicator_id", "period", "old_la_code", "new_la_code")


def own_figures(figures: dict) -> dict:
    """The part of an indicator's figures that belongs to the pack's LA itself (with a return not accepted,
    its last accepted quarter's figures too: only then, so no other pack's hash changes)."""
    out = {"baseline": figures["baseline"], "trajectory": figures["trajectory"],
           "current": figures["current"], "latest": {k: figures["latest"].get(k) for k in OWN_LATEST}}
    if figures.get("last_accepted"):
        out["last_accepted"] = figures["last_accepted"]
    return out


@dataclass
class PackModel:
    code: str
    name: str
    region: str
    period: str
    indicators: dict[str, dict]     # indicator id -> figures shown in the pack
    data_quality: dict
    accepted: bool = True           # False: rejected or not received; the pack shows what DfE holds, no trajectory
    plan: dict | None = None        # milestones, risks, spend (reports.plan.build_plan); None: no plan marts read
    # what the status line says beyond the standing return's status: a hold's reason, a later upload that
    # was rejected or held.  Not a figure, so not hashed: it never re-issues a pack as a new version
    notice: dict = field(default_factory=dict)
    # who to learn from on each missed target (reports.effective.learn_from): other LAs' figures, so a
    # comparator like the neighbours' values: not hashed
    learn_from: dict = field(default_factory=dict)
    learn_why: dict = field(default_factory=dict)   # indicator -> "target missed" / "forecast to miss"

    @property
    def slug(self) -> str:
        return f"{self.code}-{slug(self.name)}"

    def hashes(self) -> dict[str, str]:
        """Per-indicator hashes of the LA's OWN figures: its values, baseline, targets, statuses and
        data quality.  Comparators (England, region, neighbours, ranks) move a little with every
        other LA's resubmission; re-issuing 152 packs for that would bury the real corrections, so
        those refresh at the next quarterly publication or when the LA's own figures change."""
        h = {k: _sha(own_figures(v)) for k, v in self.indicators.items()}
        h[DATA_QUALITY] = _sha(self.data_quality)
        # the plan parts, each hashed on the LA's own rows (region and England spend context are comparators);
        # a pack with no plan parts hashes as before, so adding the sections re-issues no unchanged pack
        for part, rows in ((self.plan or {}).get("own") or {}).items():
            if rows:
                h[part] = _sha(rows)
        return h

    def figures_sha256(self, hashes: dict[str, str] | None = None) -> str:
        """One hash of the per-indicator ``hashes`` (computed here when not given)."""
        return _sha(self.hashes() if hashes is None else hashes)


# ------------------------------------------------------------------ model
def withheld(row: dict) -> bool:
    """Is another LA's value shown as c?  The marts' own primary suppression flag when they carry one."""
    if row.get("suppressed") is not None:
        return bool(row["suppressed"])
    return is_suppressed(row.get("numerator"), row.get("denominator"))


def _shared_distribution(data: PeriodData, ind: Indicator) -> tuple[list[dict], list[str], set[str]]:
    """Every LA with a published value in best-to-worst order, and the LAs withheld (c): the same for every
    pack, so built once per period and indicator (the entries are shared by the packs' models)."""
    cache = data.__dict__.setdefault("_distribution", {})
    if ind.id not in cache:
        dist, withheld_codes = [], []
        for c, row in data.la_values(ind.id, copy=False).items():
            if row.get("la_value") is None:
                continue
            if withheld(row):
                withheld_codes.append(c)
                continue
            dist.append({"code": c, "name": row["la_name"], "value": row["la_value"]})
        dist.sort(key=_dist_key, reverse=(ind.polarity == "high"))
        cache[ind.id] = (dist, sorted(withheld_codes), set(withheld_codes))
    return cache[ind.id]


def _dist_key(x: dict):
    return x["value"], x["code"]


def _distribution(data: PeriodData, ind: Indicator, code: str) -> tuple[list[dict], list[str]]:
    """The distribution a pack shows (its own LA always in it, even when others would see c) and the
    codes of the LAs left out as withheld."""
    dist, withheld_codes, withheld_set = _shared_distribution(data, ind)
    if code not in withheld_set:
        return list(dist), list(withheld_codes)
    row = data.la_values(ind.id, copy=False)[code]
    own = {"code": code, "name": row["la_name"], "value": row["la_value"]}
    return (sorted([*dist, own], key=_dist_key, reverse=(ind.polarity == "high")),
            [c for c in withheld_codes if c != code])


def build_model(data: PeriodData, code: str) -> PackModel:
    cat = catalogue.load()
    la = data.las[code]
    period = data.period
    inds: dict[str, dict] = {}
    st = data.status.get(code, {})
    accepted = bool(st.get("accepted"))
    for ind in cat.indicators:
        # a rejected or missing return has no plan figures this quarter: no trajectory is shown
        traj = data.trajectory.get((code, ind.id), []) if accepted else []
        cur = next((t for t in traj if t["period"] == period), None)
        bench = data.benchmark.get((code, ind.id, period)) or {}
        others = data.la_values(ind.id, copy=False)
        # neighbours, with other LAs' small counts suppressed
        nbs = []
        for nb in data.neighbours.get(code, []):
            row = others.get(nb)
            name = data.las.get(nb, {}).get("la_name") or (row or {}).get("la_name") or nb
            if row is None or row.get("la_value") is None:
                val = UNAVAILABLE
            elif withheld(row):
                val = SUPPRESSED
            else:
                val = row["la_value"]
            nbs.append({"code": nb, "name": name, "value": val})
        dist, supp = _distribution(data, ind, code)
        # the rule for a return not accepted (marts.verdicts): no verdict this quarter; the last accepted
        # quarter's own figures and verdict, labelled with that quarter
        last = st.get("last_accepted_period") if not accepted else None
        prev = next((t for t in data.trajectory.get((code, ind.id), []) if last and t["period"] == last), None)
        inds[ind.id] = {
            "baseline": {"value": traj[0]["baseline_value"], "period": traj[0]["baseline_period"]} if traj else None,
            "trajectory": [{k: t.get(k) for k in ("period", "period_type", "target_value", "actual_value",
                                                   "gap_to_target", "status", "comparable_target", "term_label")}
                           for t in traj],
            # the documented columns, plus any further verdict columns the marts carry (e.g. meaningful change)
            "current": {**{k: v for k, v in (cur or {}).items() if k not in IDENTITY},
                        **{k: (cur or {}).get(k) for k in ("actual_value", "target_value", "gap_to_target", "status",
                                                           "change_prev_quarter", "change_prev_year")}},
            "latest": {**{k: v for k, v in bench.items() if k not in IDENTITY},
                       **{k: bench.get(k) for k in ("numerator", "denominator", "la_value", "england_value",
                                                    "england_n_las", "region_value", "region_n_las", "sn_mean",
                                                    "sn_n", "rank", "n_ranked", "quartile_band")}},
            "neighbours": nbs,
            # the one verdict every view shows (marts.verdicts): not hashed, it follows from the figures
            "verdict": {k: v for k, v in data.verdict(code, ind.id).items()
                        if k in ("status", "verdict", "change_direction", "change_value", "change_basis")},
            # the year-end forecast (marts.forecasts): not hashed either, it follows from the figures
            "forecast": data.forecasts.get((code, ind.id)),
            "last_accepted": {"period": last, "actual_value": prev.get("actual_value"),
                              "target_value": prev.get("comparable_target") if prev.get("comparable_target") is not None
                              else prev.get("target_value"), "status": prev.get("status")} if prev else None,
            "distribution": dist,
            "n_suppressed": len(supp),
            "suppressed": supp,
        }
    # upload counts and times are not figures: a resubmission with the same figures does not re-issue the pack
    dq = {
        "status": st.get("status"),
        "queries": [{k: f.get(k) for k in ("rule", "sheet", "cell", "value", "message")}
                    for f in data.findings.get(code, [])],
        "revisions": [{k: v.get(k) for k in ("item_id", "quarter_period", "earlier_value", "later_value",
                                             "earlier_received_at", "later_received_at")}
                      for v in data.revisions.get(code, [])],
    }
    return PackModel(code=code, name=la["la_name"], region=la["region_name"], period=period, indicators=inds,
                     data_quality=dq, accepted=accepted, plan=plan_mod.build_plan(data, code, accepted),
                     notice=status_notice(st), **_learn_from(data, code, accepted))


def _learn_from(data: PeriodData, code: str, accepted: bool) -> dict:
    """The authorities to learn from on each target the LA missed this quarter or is forecast to miss at the year
    end (marts.verdicts, marts.forecasts; none without an accepted return)."""
    if not accepted:
        return {}
    missed = effective.missed_targets(data, code)
    off = set(forecasts.count_off_course(data.forecasts, code, [i.id for i in catalogue.load().indicators]))
    why = {i: "target missed" for i in missed} | {i: "forecast to miss the year-end target" for i in off - missed}
    return {"learn_from": effective.learn_from(data, code, missed | off), "learn_why": why}


def status_notice(st: dict) -> dict:
    """The collection_status facts the status line adds (marts.collection_status: hold_reason and
    later_upload_*); empty when there is nothing to add."""
    out = {}
    if st.get("rejection_reasons") and not st.get("accepted"):
        out["rejection_reasons"] = str(st["rejection_reasons"])
    if st.get("last_accepted_period") and not st.get("accepted"):
        out["last_accepted"] = str(st["last_accepted_period"])
    if st.get("hold_reason"):
        out["hold_reason"] = str(st["hold_reason"])
    if st.get("later_upload_status"):
        out["later"] = {"status": str(st["later_upload_status"]), "at": str(st.get("later_upload_at") or "")[:10],
                        "why": str(st.get("later_upload_reason") or "")}
    return out


def _notice_words(model: PackModel) -> str:
    """'A later upload on 2026-10-20 was rejected (E02).' and the like, said beside the status."""
    later = model.notice.get("later")
    if not later:
        return ""
    if later["status"] == "held":
        return (f" A later upload on {later['at']} was accepted by the checks but held back by DfE's warehouse "
                f"checks: {later['why']}")
    why = f" ({later['why']})" if later["why"] else ""
    return (f" A later upload on {later['at']} was {later['status']}{why}; see its feedback. "
            "The figures here are from the accepted return.")


# ------------------------------------------------------------------ page one: the review's agenda
def _value(m: dict):
    v = m["latest"].get("la_value")
    return m["current"].get("actual_value") if v is None else v


# Verdict columns from the marts (see docs in reports/README.md): used when present, so the packs also build
# from a warehouse without them.  Without them, any change that survives rounding counts as a change.
def _field(m: dict, key: str):
    for part in ("latest", "current"):
        if m[part].get(key) is not None:
            return m[part][key]
    return None


def target_of(m: dict):
    """The target on the value's own basis (e.g. year to date), else the target as returned."""
    t = _field(m, "comparable_target")
    return m["current"].get("target_value") if t is None else t


def change_of(ind: Indicator, m: dict) -> tuple[str, float | None, str | None, str | None]:
    """(direction, change, basis, note): direction is improved / worsened / increased / decreased /
    no meaningful change / not comparable."""
    v = m.get("verdict") or {}
    if v.get("change_direction") is not None:
        return v["change_direction"], v.get("change_value"), v.get("change_basis"), _field(m, "change_note")
    direction = _field(m, "change_direction")
    if direction is not None:
        return direction, _field(m, "change_value"), _field(m, "change_basis"), _field(m, "change_note")
    chg = m["current"].get("change_prev_quarter")
    if chg is None:
        return "not comparable", None, None, None
    return judge_change(ind, chg), chg, "previous quarter", None


def change_words(ind: Indicator, m: dict) -> str:
    """The change in a few words (the unit is beside the indicator's name), with what it is compared with:
    'Down 1.09, better (same term a year earlier)', 'Up 3.7 (previous quarter)', 'No meaningful change'."""
    direction, chg, basis, note = change_of(ind, m)
    if direction == "not comparable" or chg is None:
        return note or "Not comparable"   # words where a person reads it, never the data files' z
    if direction == "no meaningful change":
        words = "No meaningful change"
    else:
        r = shown(chg, ind.decimals)
        words = f"{'Up' if r > 0 else 'Down'} {abs(r):,.{ind.decimals}f}"
        if direction in ("improved", "worsened"):
            words += ", better" if direction == "improved" else ", worse"
    return f"{words} ({basis})" if basis else words


def _movers(model: PackModel) -> tuple[list[tuple], list[tuple]]:
    """Indicators that improved / worsened meaningfully, biggest first (judged against the indicator's
    no-change band, or its tolerance, so that different units can be compared)."""
    up, down = [], []
    for ind in catalogue.load().indicators:
        m = model.indicators[ind.id]
        direction, chg, basis, _ = change_of(ind, m)
        if direction not in ("improved", "worsened") or chg is None:
            continue
        scale = getattr(ind, "no_change_band", 0.0) or ind.tolerance or 1
        (up if direction == "improved" else down).append((abs(chg) / scale, ind, m, chg, basis))
    return sorted(up, key=lambda x: -x[0]), sorted(down, key=lambda x: -x[0])


def _mover_item(ind: Indicator, m: dict, chg: float, basis: str | None, period: str = "") -> str:
    r = shown(chg, ind.decimals)
    words = f"{'up' if r > 0 else 'down'} {abs(r):,.{ind.decimals}f} {change_unit(ind)}"
    since = f" on the {basis}" if basis else ""
    to = with_unit(_value(m), ind)
    if ind.compare_targets == "pro_rata" and _value(m) is not None and basis and "annualised" in basis:
        n = int(period[-1]) if "-Q" in period else 4
        to = f"{to} year to date ({with_unit(_value(m) * 4 / n, ind)} annualised)"
    return f"{ind.short}: {words}{since}, to {to}"


def _statuses(model: PackModel) -> dict[str, list[Indicator]]:
    out: dict[str, list[Indicator]] = {"met": [], "within tolerance": [], "missed": []}
    for ind in catalogue.load().indicators:
        s = verdict_of(model.indicators[ind.id])["status"]
        if s in out:
            out[s].append(ind)
    return out


def verdict_of(m: dict) -> dict:
    """The indicator's verdict (marts.verdicts): status and the words for it; a model built without the
    mart falls back to the trajectory's status."""
    v = m.get("verdict")
    if v and v.get("verdict"):
        return v
    s = m["current"].get("status")
    return {"status": s, "verdict": s or "not applicable"}


VERDICT_WORDS = {"met": "Met", "within tolerance": "Within tolerance", "missed": "Missed",
                 "no accepted return": "No accepted return", "no value": "No value this quarter",
                 "no better direction": "Not judged (neither higher nor lower is better)",
                 "small numbers": "Not judged (small numbers)", "no target": "No target this quarter",
                 "not applicable": "Not applicable"}


def _rejection_words(model: PackModel) -> str:
    """Why the standing return was rejected (its errors, from the feedback) and the last accepted quarter."""
    out = ""
    why = model.notice.get("rejection_reasons")
    if why:
        n = len([x for x in why.splitlines() if x.strip()])
        out += (f" It was rejected for {n} error{'s' * (n != 1)} (listed under What needs attention); the feedback "
                "file says how to put each right.")
    last = model.notice.get("last_accepted")
    if last:
        out += (f" The last accepted return is for {period_label(last)}: its figures and verdicts are in the "
                f"{period_label(last)} report; no verdict is given for {period_label(model.period)}.")
    return out


def status_line(model: PackModel) -> str:
    """What this pack is built from: said first, so a rejected or missing return is never mistaken for data."""
    q = period_label(model.period)
    st = (model.data_quality.get("status") or "not_received")
    if model.accepted:
        words = "accepted with queries" if st == "accepted_with_queries" else "accepted"
        later = _notice_words(model)
        if later:
            return (f'<div class="notice status-line" role="note"><p>Return for {esc(q)}: <strong>{esc(words)}'
                    f"</strong>. This report shows the authority's own figures, its trajectory targets and "
                    f"DfE-held data.{esc(later)}</p></div>")
        return (f'<p class="status-line">Return for {esc(q)}: <strong>{esc(words)}</strong>. This report shows '
                "the authority's own figures, its trajectory targets and DfE-held data.</p>")
    if st == "held":
        return (f'<div class="notice status-line" role="note"><p>Return for {esc(q)}: <strong>held back</strong>. '
                "It passed the return's checks, but a check in DfE's warehouse failed on it: "
                f"{esc(model.notice.get('hold_reason') or 'DfE will say why')} This report shows only the data "
                "DfE holds (attendance and exclusions) until a corrected return is accepted.</p></div>")
    words = "rejected" if st == "rejected" else "not received"
    return (f'<div class="notice status-line" role="note"><p>Return for {esc(q)}: {esc(words)}. This report shows '
            "only the data DfE holds (attendance and exclusions); figures from the return are not available (x) "
            f"and no trajectory is shown until a return is accepted.{esc(_rejection_words(model))}</p></div>")


def lede(model: PackModel) -> str:
    q = period_label(model.period)
    if not model.accepted:
        return ""
    by = _statuses(model)
    judged = sum(len(v) for v in by.values())
    return (f'<p class="lede">In {esc(q)}, {esc(model.name)} met {len(by["met"])} of {judged} trajectory '
            f'targets with data, was within tolerance on {len(by["within tolerance"])} and missed '
            f'{len(by["missed"])}.</p>')


def _compared(model: PackModel) -> int:
    """How many indicators have a change that can be judged this quarter (like for like)."""
    return sum(1 for ind in catalogue.load().indicators
               if change_of(ind, model.indicators[ind.id])[0] != "not comparable")


def review_items(model: PackModel) -> list[tuple[str, str, list[str]]]:
    """Everything the quarterly review discusses beyond the metric changes, as (key, title, items):
    the return itself (rejected, held, a later upload refused), targets missed, milestones slipped or
    overdue, risks red after mitigation, queries without a reason.  Empty lists are left out."""
    out: list[tuple[str, str, list[str]]] = []
    q = period_label(model.period)
    st = model.data_quality.get("status") or "not_received"
    if not model.accepted:
        words = {"rejected": "rejected", "held": "held back by a warehouse check",
                 "not_received": "not received"}.get(st, st.replace("_", " "))
        if model.notice.get("rejection_reasons"):
            out.append(("return", f"Return for {q} rejected: errors",
                        [x for x in model.notice["rejection_reasons"].splitlines() if x.strip()]))
        else:
            why = model.notice.get("hold_reason")
            out.append(("return", f"Return for {q}", [words + (f": {why}" if why else "")]))
    elif model.notice.get("later"):
        later = model.notice["later"]
        out.append(("return", "Return", [f"A later upload on {later['at']} was {later['status']}"
                                         + (f": {later['why']}" if later["why"] else "")]))
    missed = _statuses(model)["missed"]
    if missed:
        out.append(("missed", "Targets missed", [i.name for i in missed]))
    own = (model.plan or {}).get("own") or {}
    slipped = [m for m in own.get("milestones") or [] if m.get("slipped") or m.get("overdue")]
    if slipped:
        out.append(("milestones", "Milestones slipped or overdue",
                    [f"{m['milestone']} ({m['workstream']}; "
                     + (f"{m['slippage_days']} days later than first given" if m.get("slippage_days", 0) > 0
                        else "due and not complete" if m.get("overdue") else m.get("status") or "delayed") + ")"
                     for m in slipped]))
    red = [r for r in own.get("risks") or [] if str(r.get("residual_rag") or "").lower() == "red"]
    if red:
        out.append(("risks", "Risks red after mitigation", [f"Risk {r['no']}: {r['description']}" for r in red]))
    queries = model.data_quality.get("queries") or []
    if queries:
        out.append(("queries", "Queries without a reason",
                    [f"{f['rule']} ({f.get('sheet') or ''}{'!' + f['cell'] if f.get('cell') else ''}): {f['message']}"
                     for f in queries]))
    return out


def attention(model: PackModel) -> str:
    """The review's second item: the three biggest improvements and deteriorations, then everything else
    the review discusses (review_items).  Where nothing can be compared it says "no data", never "no change"."""
    up, down = _movers(model)
    q = period_label(model.period)
    n = _compared(model)
    if n == 0:
        none_up = none_down = f"No data: no indicator can be compared with an earlier period in {q}."
    else:
        only = "" if model.accepted else f" (DfE-held data only: no accepted return for {q})"
        none_up = f"No indicator improved meaningfully ({n} compared{only})."
        none_down = f"No indicator deteriorated meaningfully ({n} compared{only})."

    def block(title: str, items: list[str], empty: str) -> str:
        body = ("".join(f"<li>{esc(x)}</li>" for x in items) if items else f"<li>{esc(empty)}</li>")
        return f'<div class="box"><h3>{esc(title)}</h3><ul class="plain">{body}</ul></div>'

    out = ['<div class="two-up">',
           block("Biggest improvements", [_mover_item(i, m, c, b, model.period) for _, i, m, c, b in up[:3]], none_up),
           block("Biggest deteriorations", [_mover_item(i, m, c, b, model.period) for _, i, m, c, b in down[:3]], none_down),
           "</div>"]
    items = review_items(model)
    if items:
        out.append('<ul class="review-items">' + "".join(
            f'<li class="review-{esc(k)}"><strong>{esc(t)} ({len(xs)}):</strong> '
            + ("; ".join(esc(x) for x in xs) if len(xs) < 2 else
               '<ul class="plain">' + "".join(f"<li>{esc(x)}</li>" for x in xs) + "</ul>") + "</li>"
            for k, t, xs in items) + "</ul>")
    if not model.accepted:
        last = model.notice.get("last_accepted")
        out.append(f"<p>No verdict is given for {esc(q)} without an accepted return"
                   + (f"; the last accepted return is for {esc(period_label(last))}, in that quarter's report."
                      if last else ".") + "</p>")
    if model.accepted and not any(k == "missed" for k, _, _ in items):
        out.append("<p><strong>Targets missed:</strong> none.</p>")
    if model.accepted and not items:
        out.append("<p>No milestone slipped, no risk is red after mitigation and no query is outstanding.</p>")
    return "".join(out)


def small_base(m: dict) -> bool:
    return bool(_field(m, "small_base"))


def value_html(ind: Indicator, m: dict) -> str:
    """The value; on a small base, "small numbers" and its interval where the marts give one."""
    v = esc(num(_value(m), ind.decimals))
    if not small_base(m):
        return v
    lo, hi = _field(m, "ci_low"), _field(m, "ci_high")
    ci = f" ({num(lo, ind.decimals)} to {num(hi, ind.decimals)})" if lo is not None and hi is not None else ""
    return f'{v}<span class="unit">small numbers{esc(ci)}</span>'


def comparator(lat: dict, which: str, ind: Indicator) -> str:
    """England or region as printed in this pack: c where withheld so that no suppressed value can be worked back."""
    if lat.get(f"{which}_withheld"):
        return SUPPRESSED
    return num(lat.get(f"{which}_value"), ind.decimals)


def neighbours_note(lat: dict, n_neighbours: int) -> str:
    """How many neighbours the average is over, and how many are left out (withheld or missing)."""
    n = lat.get("sn_n") or 0
    if lat.get("sn_n_suppressed") is None:
        return f"{n} of {n_neighbours} neighbours"
    ns, nm = lat.get("sn_n_suppressed") or 0, lat.get("sn_n_missing") or 0
    return f"average of {n} of {n + ns + nm} neighbours; {ns} suppressed, {nm} not available"


def rank_band(lat: dict) -> str:
    if lat.get("small_base"):
        return "small numbers"
    if not lat.get("rank"):   # a person reads this cell: words, not the data files' z
        return "Not ranked"
    band = lat.get("quartile_band")
    return f"{lat['rank']} of {lat['n_ranked']}" + (f" ({band})" if band else "")


# page one's target without an accepted return: words where a person reads it (the data files keep z)
NO_TARGET_WORDS = "Not applicable"


def verdict_cell(m: dict) -> str:
    """The status as a tag when there is one; otherwise why there is none, in words (never a bare z)."""
    v = verdict_of(m)
    if v.get("status"):
        return status_tag(v["status"])
    return f'<span class="status-none">{esc(VERDICT_WORDS.get(v["verdict"], v["verdict"]))}</span>'


def basis_note(model: PackModel) -> str:
    """Say once what is compared with what for the year-to-date counts: a pro-rated target, an annualised change."""
    ytd = [i for i in catalogue.load().indicators if i.compare_targets == "pro_rata"]
    if not ytd:
        return ""
    period = model.period
    if not model.accepted:   # the figures with a target on page one are the last accepted quarter's
        period = next((m["last_accepted"]["period"] for m in model.indicators.values() if m.get("last_accepted")), None)
        if period is None:
            return ""
    n = int(period[-1]) if period[-2:-1] == "Q" else 4
    share = {1: "a quarter of", 2: "half", 3: "three quarters of", 4: "all of"}[n]
    names = "; ".join(i.name for i in ytd)
    return (f'<p class="key basis-note">Year to date: {esc(names)} count{"s" if len(ytd) == 1 else ""} from April, so '
            f"in {esc(period_label(period))} each is compared with {share} its full-year target "
            f"(the target pro-rated to the quarter), and its change on the previous quarter is on annualised "
            "values (the year-to-date figure scaled to a full year). Other indicators are compared as they are.</p>")


def at_a_glance(model: PackModel) -> str:
    cat = catalogue.load()
    q = period_label(model.period)
    rows = []
    for ind in cat.indicators:
        m = model.indicators[ind.id]
        cur, lat = m["current"], m["latest"]
        unit = ind.unit + (f", {_field(m, 'term_label')}" if _field(m, "term_label") else "")
        rows.append([f'<a href="#ind-{esc(ind.id)}">{esc(ind.short)}</a><span class="unit">{esc(unit)}</span>',
                     value_html(ind, m),
                     esc(num(target_of(m), ind.decimals) if model.accepted else NO_TARGET_WORDS),
                     verdict_cell(m),
                     esc(comparator(lat, "england", ind)), esc(comparator(lat, "region", ind)),
                     esc(num(lat.get("sn_mean"), ind.decimals)), esc(rank_band(lat)), esc(change_words(ind, m)),
                     forecast_cell(ind, m)])
    return table(f"Every indicator, {q}: this authority, its target, England, {model.region} and its statistical "
                 "neighbours' average, and where it is heading by the year end",
                 ["Indicator", "Value", "Target", "Status", "England", model.region, "Neighbours' average",
                  "Rank (band)", "Change", "Forecast, year end"],
                 rows, raw_cols=set(range(10)), num_cols={1, 2, 4, 5, 6})


def forecast_cell(ind: Indicator, m: dict) -> str:
    """The forecast verdict beside the status, with the projected value and its interval in words
    (reports/forecasts.py, from marts.forecasts)."""
    f = m.get("forecast")
    text = forecasts.words(ind, f)
    if f and f.get("verdict"):
        text = text.split(": ", 1)[1]   # the verdict is the bold word already
    elif text.startswith("no forecast"):
        text = text[len("no forecast"):].lstrip(": ")
    return (f'<span class="forecast" data-verdict="{esc((f or {}).get("verdict") or "")}">'
            f'<strong>{esc(forecasts.label(f))}</strong>{": " + esc(text) if text else ""}</span>')


def last_accepted_table(model: PackModel) -> str:
    """With a return not accepted: the last accepted quarter's own figures and verdicts, labelled with that
    quarter (the verdict of that quarter, not of this one)."""
    rows = []
    for ind in catalogue.load().indicators:
        la = model.indicators[ind.id].get("last_accepted")
        if not la or (la.get("actual_value") is None and la.get("target_value") is None):
            continue
        st = la.get("status")
        rows.append([ind.short, num(la.get("actual_value"), ind.decimals), num(la.get("target_value"), ind.decimals),
                     STATUS_WORDS_TABLE.get(st, "Not judged")])
    if not rows:
        return ""
    last = period_label(next(m["last_accepted"]["period"] for m in model.indicators.values() if m.get("last_accepted")))
    return ('<details class="last-accepted" open><summary>The last accepted return: ' + esc(last) + "</summary>"
            + table(f"Figures and verdicts from the last accepted return, {last} (no verdict is given for "
                    f"{period_label(model.period)})", ["Indicator", f"Value, {last}", f"Target, {last}",
                                                        f"Status, {last}"], rows, num_cols={1, 2})
            + "</details>")


STATUS_WORDS_TABLE = {"met": "Met", "within tolerance": "Within tolerance", "missed": "Missed"}


def page_one(model: PackModel) -> str:
    return ('<section class="sheet sheet-one" aria-labelledby="glance">'
            '<h2 id="glance">1. Progress on the metrics</h2>' + lede(model) + at_a_glance(model)
            + ("" if model.accepted else last_accepted_table(model))
            + basis_note(model)
            + '<p class="key">Rank 1 is best; bands run from A (best quarter of authorities) to D. '
            "Symbols: c suppressed, x not available, z not applicable.</p>"
            + '<h2 id="attention">2. What needs attention</h2>' + attention(model)
            + effective.pack_html(model.learn_from, model.learn_why) + "</section>")


# ------------------------------------------------------------------ page two: one chart per area
def _position(ind: Indicator, m: dict, code: str) -> float | None:
    """0-100: the share of other authorities this one is better than (neutral: higher than)."""
    lat = m["latest"]
    if ind.polarity != "neutral":
        rank, n = lat.get("rank"), lat.get("n_ranked")
        if not rank or not n or n < 2:
            return None
        return 100 * (n - rank) / (n - 1)
    vals = [x["value"] for x in m["distribution"]]
    me = _value(m)
    if me is None or len(vals) < 2 or not any(x["code"] == code for x in m["distribution"]):
        return None
    return 100 * sum(1 for v in vals if v < me) / (len(vals) - 1)


def _area_chart(area: dict, model: PackModel) -> str:
    inds = catalogue.load().indicators_in(area["id"])
    rows, trows = [], []
    for ind in inds:
        m = model.indicators[ind.id]
        pos = _position(ind, m, model.code)
        val = with_unit(_value(m), ind)
        # a compact label on the chart (units in the table and on page one): "13.0%", "£12.0m", "12.61"
        short_val = val if ind.unit in ("%", "GBP m") else num(_value(m), ind.decimals)
        rows.append((ind.short, pos, short_val, ind.polarity != "neutral"))
        where = NOT_APPLICABLE if pos is None else (
            f"better than {pos:.0f}%" if ind.polarity != "neutral" else f"higher than {pos:.0f}% (neither is better)")
        trows.append([ind.short, val, where])
    placed = [x for x in rows if x[1] is not None and x[3]]
    upper = sum(1 for x in placed if x[1] >= 50)
    if placed:
        title = active_title(f"{area['title']}: better than most on {upper} of {len(placed)}",
                             f"Better than most on {upper} of {len(placed)}")
    else:
        title = active_title(f"{area['title']}: no ranked figure this quarter", "No ranked figure this quarter")
    alt = (f"Dot chart of where {model.name} sits among authorities on each {area['title']} indicator, from 0 "
           "(worst) to 100 (better than every other authority): "
           + "; ".join(f"{t[0]} {t[2]}" for t in trows) + ".")
    tbl = table(f"{area['title']}: position among authorities", ["Indicator", "Value", "Position"], trows,
                num_cols={1})
    return chart_block(f"c-area-{area['id']}", title, alt, charts.area_fig(rows), tbl, "Show the table")


def page_two(model: PackModel) -> str:
    cat = catalogue.load()
    figs = "".join(_area_chart(a, model) for a in cat.areas if cat.indicators_in(a["id"]))
    return ('<section class="sheet sheet-two" aria-labelledby="areas">'
            '<h2 id="areas">3. Each area at a glance</h2><p class="key">Where this authority sits among all '
            "authorities on each indicator: right is better; a diamond marks an indicator where neither higher "
            'nor lower is better (placed by how many are lower).</p>'
            f'<div class="area-grid">{figs}</div></section>')


# ------------------------------------------------------------------ charts for one indicator
def _traj_title(ind: Indicator, m: dict, q: str) -> str:
    """The title says what the chart draws: a quarter's target only when there is one."""
    cur = m["current"]
    s = cur.get("status")
    b = better(ind, cur.get("change_prev_quarter"))
    short = ind.short
    has_targets = any(charts._target(t) is not None for t in m["trajectory"])
    if cur.get("actual_value") is None:
        return active_title(f"{short}: no {q} figure yet", f"No {q} figure yet")
    target = cur.get("comparable_target") if cur.get("comparable_target") is not None else cur.get("target_value")
    ytd = " (year to date, target pro-rated)" if ind.compare_targets == "pro_rata" else ""
    if target is not None and not s:
        # a target this quarter but no judgement (neither higher nor lower is better, or small numbers):
        # the title names the target the table lists, never "no target"
        return active_title(f"{short}: {q} figure against its {q} target{ytd}",
                            f"{short}: {q} figure against its {q} target", f"{q} figure against its target")
    if target is None or not s:
        if has_targets:
            return active_title(f"{short}: no {q} target; other periods' targets shown",
                                f"No {q} target; other targets shown")
        return active_title(f"{short}: no targets set", "No targets set")
    verb = {"met": "met its", "within tolerance": "within tolerance of its", "missed": "missed its"}[s]
    trend = "improved and " if b is True else ("worsened and " if b is False else "")
    if s == "within tolerance":
        trend = "improved, " if b is True else ("worsened, " if b is False else "")
    return active_title(f"{short} {trend}{verb} {q} target{ytd}", f"{short} {verb} {q} target{ytd}",
                        f"{short} {trend}{verb} {q} target", f"{short} {verb} {q} target",
                        f"{verb.capitalize()} {q} target")


def _traj_chart(ind, m, model, cid) -> str:
    q = period_label(model.period).split()[0]
    title = _traj_title(ind, m, q)
    rows = m["trajectory"]
    base = m["baseline"] or {}
    acts = [f"{period_label(t['period'])} {with_unit(t['actual_value'], ind)}" for t in rows
            if t["period_type"] == "quarter" and t["period"] <= model.period and t["actual_value"] is not None]
    tgts = [{**t, "target_value": charts._target(t)} for t in rows if charts._target(t) is not None]
    alt = (f"Line chart of {ind.name.rstrip('.')} for {model.name}. Baseline "
           f"{with_unit(base.get('value'), ind)} in {base.get('period') or UNAVAILABLE}. ")
    if tgts:
        alt += (f"Targets run from {with_unit(tgts[0]['target_value'], ind)} in {period_label(tgts[0]['period'])} to "
                f"{with_unit(tgts[-1]['target_value'], ind)} in {period_label(tgts[-1]['period'])}. ")
    alt += ("Actual values: " + "; ".join(acts) + ".") if acts else "No actual values yet."
    trows = [["Baseline " + (base.get("period") or ""), UNAVAILABLE, num(base.get("value"), ind.decimals), ""]]
    for t in rows:
        trows.append([period_label(t["period"]), num(charts._target(t), ind.decimals),
                      num(t["actual_value"], ind.decimals) if t["period"] <= model.period or t["period_type"] != "quarter"
                      else UNAVAILABLE, (t["status"] or "").capitalize() or "Not judged"])
    tbl = table(f"{ind.short}: baseline, targets and actuals ({ind.unit}"
                + ("; year to date, quarterly targets pro-rated" if ind.compare_targets == "pro_rata" else "") + ")",
                ["Period", "Target", "Actual", "Status"], trows, num_cols={1, 2})
    fig = charts.trajectory_fig(ind, rows, model.period, base)
    return chart_block(cid, title, alt, fig, tbl, f"Show the table for: {title}")


def _bench_chart(ind, m, model, cid) -> str:
    lat = m["latest"]
    d = ind.decimals
    la_val = _value(m)
    bars = [(f"{model.name} (this LA)", la_val, True)]
    vis, supp, miss = [], [], []
    for nb in m["neighbours"]:
        if nb["value"] == SUPPRESSED:
            supp.append(nb)
        elif nb["value"] == UNAVAILABLE:
            miss.append(nb)
        else:
            vis.append(nb)
    vis.sort(key=lambda x: x["value"], reverse=(ind.polarity == "high"))
    bars += [(nb["name"], nb["value"], False) for nb in vis]
    bars += [(f"{nb['name']} (c: suppressed)", None, False) for nb in supp]
    bars += [(f"{nb['name']} (x: not available)", None, False) for nb in miss]
    sn = lat.get("sn_mean")
    # the neighbours' average is drawn, since the title names it
    refs = [("Neighbours' average", sn, "dashdot"), ("England", lat.get("england_value"), "dash"),
            (model.region, lat.get("region_value"), "dot")]   # a withheld England or region is None: not drawn
    if la_val is None or sn is None:
        title = active_title(f"{ind.short}: compared with statistical neighbours", "Compared with statistical neighbours")
    else:
        diff = shown(la_val - sn, d)
        if diff == 0:
            rel = "in line with"
        elif ind.polarity == "neutral":
            rel = "higher than" if diff > 0 else "lower than"
        else:
            rel = "better than" if better(ind, diff) else "worse than"
        title = active_title(f"{ind.short} {rel} statistical neighbours' average",
                             f"{rel.capitalize()} statistical neighbours' average")
    alt = (f"Bar chart comparing {model.name} ({with_unit(la_val, ind)}) with its {len(m['neighbours'])} statistical "
           f"neighbours: {len(vis)} shown, {len(supp)} suppressed, {len(miss)} not available. Neighbours' average "
           f"{with_unit(sn, ind)}; {model.region} {with_unit(comparator(lat, 'region', ind), ind)}; England "
           f"{with_unit(comparator(lat, 'england', ind), ind)}.")
    rows = [[f"{model.name} (this LA)", num(la_val, d), ""]]
    rows += [[nb["name"], num(nb["value"], d), "statistical neighbour"] for nb in m["neighbours"]]
    rows.append(["Statistical neighbours' average", num(sn, d), neighbours_note(lat, len(m["neighbours"]))])
    rows.append([f"{model.region} (pooled)", comparator(lat, "region", ind), f"{lat.get('region_n_las') or 0} LAs"])
    rows.append(["England (pooled)", comparator(lat, "england", ind), f"{lat.get('england_n_las') or 0} LAs"])
    tbl = table(f"{ind.short}: {model.name} compared with neighbours, region and England ({ind.unit})",
                ["Area", "Value", "Note"], rows, num_cols={1})
    fig = charts.benchmark_fig(ind, bars, refs)
    return chart_block(cid, title, alt, fig, tbl, f"Show the table for: {title}")


def _authorities(n: int) -> str:
    return "1 authority's value is" if n == 1 else f"{n} authorities' values are"


def _dist_chart(ind, m, model, cid) -> str:
    d = ind.decimals
    dist = m["distribution"]
    vals = [x["value"] for x in dist]
    idx = next((i for i, x in enumerate(dist) if x["code"] == model.code), None)
    lat = m["latest"]
    la_val = _value(m)
    rank, n_ranked, band = lat.get("rank"), lat.get("n_ranked"), lat.get("quartile_band")
    order = "lowest to highest" if ind.polarity == "neutral" else "best to worst"
    if idx is None:
        title = active_title(f"{ind.short}: no figure to place among authorities", "No figure to compare")
    elif ind.polarity == "neutral":
        below = sum(1 for v in vals if v < la_val)
        pct = round(100 * below / max(len(vals), 1))
        title = active_title(f"{ind.short} higher than {pct}% of authorities", f"Higher than {pct}% of authorities")
    elif rank is None:   # placed in the distribution but not ranked (small numbers): never "ranked None of None"
        title = active_title(f"{ind.short}: shown among authorities, not ranked", "Not ranked among authorities")
    else:
        title = active_title(f"{ind.short} ranked {rank} of {n_ranked} authorities",
                             f"Ranked {rank} of {n_ranked} local authorities")
    label = f"{model.name}: {num(la_val, d)}"
    fig = charts.distribution_fig(ind, vals, idx, label, lat.get("england_value"),
                                  f"Local authorities, {order}")
    s = sorted(vals)

    def q(p):
        if not s:
            return None
        k = (len(s) - 1) * p
        f = int(k)
        return s[f] + (s[min(f + 1, len(s) - 1)] - s[f]) * (k - f)
    alt = (f"Bar chart of {ind.name} for {len(vals)} local authorities, ordered {order}. {model.name} is "
           + (f"ranked {rank} of {n_ranked}, quartile band {band}, " if rank else "")
           + f"at {with_unit(la_val, ind)}; the England figure is {with_unit(lat.get('england_value'), ind)}."
           + (f" {_authorities(m['n_suppressed'])} suppressed (c)." if m["n_suppressed"] else ""))
    rows = [["Local authorities shown", str(len(vals))], ["Suppressed (c)", str(m["n_suppressed"])],
            ["Lowest", num(q(0), d)], ["Lower quartile", num(q(0.25), d)], ["Median", num(q(0.5), d)],
            ["Upper quartile", num(q(0.75), d)], ["Highest", num(q(1), d)],
            [f"{model.name}", num(la_val, d)],
            ["Rank (1 = best)", f"{rank} of {n_ranked}" if rank else NOT_APPLICABLE],
            ["Quartile band (A = best)", band or NOT_APPLICABLE]]
    tbl = table(f"{ind.short}: spread across local authorities ({ind.unit}); every LA's value is in the downloads",
                ["Measure", "Value"], rows, num_cols={1})
    return chart_block(cid, title, alt, fig, tbl, f"Show the table for: {title}")


def _figures_table(ind, m, model) -> str:
    d = ind.decimals
    lat, cur = m["latest"], m["current"]
    q = period_label(model.period)
    rows = [
        [f"Value, {q}", with_unit(_value(m), ind)],
        ["Numerator", num(lat.get("numerator"), 0) if ind.is_rate else NOT_APPLICABLE],
        ["Denominator", num(lat.get("denominator"), 0) if ind.is_rate else NOT_APPLICABLE],
        [f"Target, {q}" + (" (on the value's basis)" if _field(m, "comparable_target") is not None else ""),
         with_unit(target_of(m), ind)],
        ["Status", VERDICT_WORDS.get(verdict_of(m)["verdict"], verdict_of(m)["verdict"])],
        ["Gap to target (actual minus target)", num(cur.get("gap_to_target"), d)],
        ["Change (as on page one: what it is compared with in brackets)", change_words(ind, m)],
        ["Change since last quarter" + (", annualised" if ind.compare_targets == "pro_rata" else ""),
         change_text(ind, cur.get("change_prev_quarter"))],
        ["Change since the same quarter last year", change_text(ind, cur.get("change_prev_year"))],
        *_year_earlier_row(ind, lat, model.period),
        [f"Statistical neighbours' average ({neighbours_note(lat, len(m['neighbours']))})",
         with_unit(lat.get("sn_mean"), ind)],
        [f"{model.region}, pooled ({lat.get('region_n_las') or 0} LAs)", with_unit(comparator(lat, "region", ind), ind)],
        [f"England, pooled ({lat.get('england_n_las') or 0} LAs)", with_unit(comparator(lat, "england", ind), ind)],
        ["Rank (1 = best)", f"{lat['rank']} of {lat['n_ranked']}" if lat.get("rank") else NOT_APPLICABLE],
        ["Quartile band (A = best)", lat.get("quartile_band") or NOT_APPLICABLE],
    ]
    return table(f"{ind.name}: figures for {model.name}, {q}", ["Measure", "Value"], rows, num_cols={1})


def _year_earlier_term(label: str | None) -> str | None:
    """'spring term 2027/28' -> 'spring term 2026/27'."""
    m = re.fullmatch(r"(.*) (\d{4})/(\d{2})", label or "")
    if not m:
        return None
    start = int(m[2]) - 1
    return f"{m[1]} {start}/{(start + 1) % 100:02d}"


def _year_earlier_row(ind: Indicator, lat: dict, period: str) -> list[list[str]]:
    """A termly measure's value for the same term a year earlier (the comparator its change is judged on),
    as published then (marts.benchmark prior_year_la_value); none for other measures."""
    if not ind.seasonal:
        return []
    then = period_label(shift_quarters(period, -4))
    term = _year_earlier_term(lat.get("term_label"))
    return [[f"Value, same term a year earlier ({term + ', ' if term else ''}{then})",
             with_unit(lat.get("prior_year_la_value"), ind)]]


# ------------------------------------------------------------------ HTML
def data_quality_html(model: PackModel) -> str:
    cat = catalogue.load()
    dq = model.data_quality
    out = [f"<p>Return status for {esc(period_label(model.period))}: "
           f"<strong>{esc((dq.get('status') or 'not received').replace('_', ' '))}</strong>.</p>"]
    if dq["queries"]:
        rows = [[f["rule"], f["sheet"] or "", f["cell"] or "", f["value"] or "", f["message"]] for f in dq["queries"]]
        out.append(table(f"Outstanding queries without a reason ({len(rows)})",
                         ["Rule", "Sheet", "Cell", "Value", "Message"], rows))
    else:
        out.append("<p>There are no outstanding queries on this return.</p>")
    if dq["revisions"]:
        rows = []
        for v in dq["revisions"]:
            try:
                label = cat.item(v["item_id"]).label
            except KeyError:
                label = v["item_id"]
            rows.append([label, period_label(v["quarter_period"]), num(v["earlier_value"], 0),
                         num(v["later_value"], 0), str(v["earlier_received_at"] or "")[:10],
                         str(v["later_received_at"] or "")[:10]])
        out.append(table(f"Revisions to earlier quarters ({len(rows)})",
                         ["Data item", "Quarter revised", "Earlier value", "Later value", "Earlier upload",
                          "Later upload"], rows, num_cols={2, 3}))
    else:
        out.append("<p>No earlier quarter has been revised.</p>")
    return "".join(out)


ABOUT = """
<p>Values are derived in the warehouse from the data items in each return (numerator divided by denominator,
times the multiplier in the indicator catalogue) and rounded only for display. England and regional figures for a
rate are pooled: the sum of numerators over the sum of denominators of the authorities with valid data; the number
of authorities is given. The statistical neighbours' figure is the mean of DfE's 10 nearest neighbours' values,
missing ones left out. Rank 1 is best, judged by the indicator's polarity; quartile bands run from A (best 25%) to D.
Indicators where neither higher nor lower is better have no rank or band (z).</p>
<p>Trajectory status compares the actual value with this authority's own target for the quarter: met; within
tolerance (missed by no more than the catalogue tolerance); or missed.</p>
<p><strong>Suppression:</strong> to protect individuals, a value about another authority is not shown (c) when its
numerator or denominator is a count between 1 and 4 (money and levels such as the DSG deficit are not counts and
are always shown). So that no withheld value can be worked back from what is published, a second value is withheld
where one alone would be (secondary suppression), and averages and totals leave withheld values out: the
neighbours' average says how many neighbours it covers. This authority's own values are always shown.</p>
<dl class="symbols"><dt>c</dt><dd>suppressed (a small count about another authority, or withheld so that one cannot be worked back)</dd><dt>x</dt><dd>not available</dd>
<dt>z</dt><dd>not applicable</dd><dt>low</dt><dd>rounds to zero</dd></dl>
"""


def detail_html(model: PackModel) -> str:
    """Everything after page one: page two, the plan's sections and the appendices.  The PDF appendix
    (reports/pdf.appendix_html) and the HTML pack show the same, so it is built once per model and read by both
    (the render worker compiles the PDFs first, then writes the HTML: its charts were being drawn twice)."""
    cached = model.__dict__.get("_detail_html")
    if cached is not None:
        return cached
    plan = model.plan or plan_mod.build_plan_empty()

    def indicator_section(ind):
        m = model.indicators[ind.id]
        traj = _traj_chart(ind, m, model, f"c-{ind.id}-traj") if model.accepted else ""
        return (traj + _bench_chart(ind, m, model, f"c-{ind.id}-bench")
                + _dist_chart(ind, m, model, f"c-{ind.id}-dist") + _figures_table(ind, m, model))

    _, sections = area_sections(indicator_section, "indicator", level=3)
    html = (page_two(model) + plan_mod.render_sections(plan, model.period, model.name, model.accepted)
            + '<div class="appendix"><h2 id="appendix">Appendix A: detail for each indicator</h2>'
            "<p>For each indicator: its trajectory against this authority's targets, a comparison with "
            "statistical neighbours, region and England, where it sits among all authorities, and every "
            f"figure in a table.</p>{sections}"
            # plan-start: the PDF and a printed page start Appendix B on a new page
            + '<h2 id="quality" class="plan-start">Appendix B: data quality</h2>' + data_quality_html(model)
            + '<h2 id="about">Appendix C: about these figures</h2>' + ABOUT + "</div>")
    model.__dict__["_detail_html"] = html
    return html


def render(model: PackModel, version: int, issued: date, changed: list[str] | None, downloads: dict[str, str],
           plotly_src: str = "../../assets/plotly.min.js", index_href: str = "../../index.html") -> str:
    """Page one (the review's agenda: progress on the metrics, what needs attention), page two (one chart per
    area), then the appendix: every indicator's detail, data quality and notes."""
    q = period_label(model.period)
    body = []
    if version > 1:
        what = "; ".join(changed or []) or "no figures (re-issued)"
        body.append(f'<div class="notice" role="note"><p>Version {version}, re-issued '
                    f"{issued.day} {issued.strftime('%B %Y')}: figures changed for: {esc(what)}.</p></div>")
    body.append(f'<p class="caption">{esc(q)} quarterly data report: agenda for the quarterly review</p>'
                f"<h1>{esc(model.name)}</h1>")
    body.append(f'<p class="meta">LA code {esc(model.code)}, {esc(model.region)}. Version {version}, issued '
                f"{issued.day} {issued.strftime('%B %Y')}.</p>")
    body.append(status_line(model))
    body.append(NAV_HERE)
    links = " ".join(f'<li><a href="{esc(href)}">{esc(label)}</a></li>' for label, href in downloads.items())
    body.append(f'<div class="downloads"><p>Downloads:</p><ul class="plain">{links}</ul></div>')
    body.append(page_one(model))
    body.append(detail_html(model))
    plan = model.plan or plan_mod.build_plan_empty()
    area_nav = area_sections(lambda ind: "", "indicator", level=3)[0]
    nav = [("glance", "1. Progress on the metrics"), ("attention", "2. What needs attention"),
           ("areas", "3. Each area at a glance"), *plan_mod.nav(plan, model.accepted),  # numbered as their headings
           ("appendix", "Appendix A: detail for each indicator"),
           *area_nav, ("quality", "Appendix B: data quality"), ("about", "Appendix C: about these figures")]
    return page(f"{model.name}: {q} quarterly data report - Local SEND Reform Plans", "".join(body), nav,
                plotly_src, SERVICE, home_href=index_href)
