"""National overview for DfE analysts: collection status, trajectory status, trends, spread, regions.

DfE-internal: values are not suppressed here (suppression protects other LAs in LA-facing packs).
"""
from __future__ import annotations

from datetime import date

from contracts import catalogue

from . import charts, effective, forecasts
from .common import (NAV_HERE, NOT_APPLICABLE, active_title, area_sections, change_unit, chart_block, compare_quarters,
                     esc, num, on_basis, page, period_key, period_label, table, with_unit)
from .data import PeriodData
from .pack import SERVICE

STATUS_ORDER = [("accepted", "Accepted"), ("accepted_with_queries", "Accepted with queries"),
                ("rejected", "Rejected"), ("held", "Held back (a warehouse check failed on it)")]


def _names(data: PeriodData, codes) -> str:
    codes = sorted(codes, key=lambda c: data.las.get(c, {}).get("la_name", c))
    return ", ".join(f"{data.las.get(c, {}).get('la_name', c)} ({c})" for c in codes)


def _collection(data: PeriodData) -> str:
    st = data.status
    groups = [("Submitted (a return received)", [c for c, s in st.items() if s.get("received")])]
    for key, label in STATUS_ORDER:
        groups.append((label, [c for c, s in st.items() if s.get("received") and s.get("status") == key]))
    groups.append(("Not received", [c for c, s in st.items() if not s.get("received")]))
    rows = []
    for label, codes in groups:
        lst = (f"<details><summary>{len(codes)} LAs: show names</summary><p>{esc(_names(data, codes))}</p></details>"
               if codes else "none")
        rows.append([esc(label), str(len(codes)), lst])
    n_resub = sum(1 for s in st.values() if (s.get("n_resubmissions") or 0) > 0)
    # queries wait on an accepted return (a rejected one's queries wait for the corrected return): the
    # support view counts the same LAs
    n_unres = sum(1 for s in st.values() if s.get("accepted") and (s.get("n_unresolved_queries") or 0) > 0)
    return (table(f"Collection status, {period_label(data.period)} ({len(st)} local authorities)",
                  ["Status", "Number of LAs", "Local authorities"], rows, raw_cols={0, 2}, num_cols={1})
            + f"<p>{n_resub} LAs resubmitted at least once; {n_unres} accepted returns have queries without a "
              "reason.</p>")


def _service_alerts(data: PeriodData) -> str:
    """What the service could not do by itself: uploads it could not file, and runs that failed for good
    (a failed run that Dagster will retry is not an alert yet)."""
    quarantined = [[esc(str(r.get("received_at") or "")[:16]), esc(r.get("file_name") or ""),
                    esc(r.get("folder") or "(inbox root)"), esc(r.get("reason") or "")] for r in data.quarantined]
    failed = [[esc(str(r.get("failed_at") or "")[:16]), esc(r.get("job_name") or ""),
               esc(" ".join(x for x in (r.get("la_code"), r.get("period")) if x) or "-"),
               esc((r.get("message") or "")[:200])] for r in data.run_failures if not r.get("will_retry")]
    held = [[esc(_names(data, [c])), esc(s.get("status") or ""),
             esc(s.get("hold_reason") or (s.get("later_upload_reason") if s.get("later_upload_status") == "held" else "")
                 or "")] for c, s in sorted(data.status.items())
            if s.get("status") == "held" or s.get("later_upload_status") == "held"]
    out = ["<p>Uploads that could not be filed under an LA and quarter were archived and rejected with "
           "feedback; returns held back passed validation but failed a check in the warehouse, so the quarter "
           "was published without them; failed runs listed here will not be retried automatically. Each needs "
           "a person.</p>"]
    out.append(table(f"Returns held back ({len(held)})", ["Local authority", "Standing status", "Why"], held,
                     raw_cols={0, 1, 2}) if held else "<p>No return is held back.</p>")
    out.append(table(f"Uploads not filed ({len(quarantined)})", ["Received", "File name", "Folder", "Reason"],
                     quarantined, raw_cols={0, 1, 2, 3}) if quarantined else "<p>No upload is waiting to be filed.</p>")
    out.append(table(f"Failed runs not retried ({len(failed)})", ["Failed at", "Job", "LA and quarter", "Message"],
                     failed, raw_cols={0, 1, 2, 3}) if failed else "<p>No failed run needs attention.</p>")
    return "".join(out)


def _off_trajectory(data: PeriodData) -> str:
    cat = catalogue.load()
    labels, met, within, missed, rows = [], [], [], [], []
    for ind in cat.indicators:
        by = {"met": [], "within tolerance": [], "missed": []}
        for la in data.status:
            v = data.verdict(la, ind.id)   # marts.verdicts: no accepted return, no verdict
            if v.get("status") in by:
                by[v["status"]].append(la)
        labels.append(ind.short)
        met.append(len(by["met"]))
        within.append(len(by["within tolerance"]))
        missed.append(len(by["missed"]))
        names = (f"<details><summary>{len(by['missed'])} LAs missed: show names</summary>"
                 f"<p>{esc(_names(data, by['missed']))}</p></details>") if by["missed"] else "none"
        rows.append([esc(ind.name), str(len(by["met"])), str(len(by["within tolerance"])), str(len(by["missed"])),
                     names])
    worst = max(range(len(labels)), key=lambda i: missed[i]) if labels else None
    title = active_title(f"Most targets missed: {labels[worst]} ({missed[worst]} LAs)",
                         f"{labels[worst]} had the most missed targets", "Trajectory status by indicator") \
        if worst is not None and missed[worst] else "No trajectory targets were missed"
    top = sorted(range(len(labels)), key=lambda i: -missed[i])[:3]
    alt = ("Stacked bar chart of the number of LAs that met, were within tolerance of, or missed their own target for "
           f"{period_label(data.period)}, for each of {len(labels)} indicators. Most missed: " +
           "; ".join(f"{labels[i]} ({missed[i]} LAs)" for i in top) + ". The table gives every count.")
    tbl = table(f"Trajectory status by indicator, {period_label(data.period)}",
                ["Indicator", "Met", "Within tolerance", "Missed", "LAs that missed"], rows,
                raw_cols={0, 4}, num_cols={1, 2, 3})
    counts = table(f"Number of LAs by trajectory status, {period_label(data.period)}",
                   ["Indicator", "Met", "Within tolerance", "Missed"],
                   [[lab, str(m), str(w), str(x)] for lab, m, w, x in zip(labels, met, within, missed)],
                   num_cols={1, 2, 3})
    fig = charts.status_counts_fig(labels, met, within, missed)
    return chart_block("c-status", title, alt, fig, counts, f"Show the table for: {title}") + tbl


def _term_label(ind, period: str) -> str | None:
    """'Spring term 2025/26' for a DfE-held termly figure's quarter (catalogue dfe_held_terms), else None."""
    from .downloads import indicator_time_columns
    if ind.source != "dfe_held":
        return None
    tp, term = indicator_time_columns(ind, period)
    return f"{term} {tp[:4]}/{tp[4:]}" if term and len(tp) == 6 else None


def england_trend(data: PeriodData, ind) -> tuple[list[str], list[str], list[float], list[int]]:
    """England's figure by quarter as the packs compare it: (periods, labels, values, LAs contributing).
    A year-to-date count is annualised; a termly figure is shown once per term (the same spring term feeds
    Q4 and the next Q1), labelled with its term."""
    eng = data.england.get(ind.id, {})
    periods, labels, values, n_las, seen = [], [], [], [], set()
    for p in sorted((p for p in data.bench_periods if p in eng), key=period_key):
        term = _term_label(ind, p)
        if term in seen:
            continue
        if term:
            seen.add(term)
        periods.append(p)
        labels.append(term or period_label(p))
        values.append(on_basis(ind, eng[p][0], p))
        n_las.append(int(eng[p][1] or 0))
    return periods, labels, values, n_las


VERB = {"improved": "improved", "worsened": "worsened", "increased": "rose", "decreased": "fell",
        "no meaningful change": "showed no meaningful change"}


def what_changed(data: PeriodData, ind) -> dict:
    """England's change this quarter by the packs' own rule (common.compare_quarters: the period basis, the
    season, the no-change band), the LAs contributing then and now, and the statement in words."""
    eng = data.england.get(ind.id, {})
    c = compare_quarters(ind, {p: v for p, (v, _) in eng.items()}, data.period)
    n_now = int((eng.get(data.period) or (None, 0))[1] or 0)
    n_then = int((eng.get(c["then_period"]) or (None, 0))[1] or 0)
    then_label = _term_label(ind, c["then_period"]) or period_label(c["then_period"])
    now_label = _term_label(ind, data.period) or period_label(data.period)
    annual = " a year" if ind.compare_targets == "pro_rata" else ""
    if c["direction"] == "not comparable":
        words = (f"England {ind.name}: not compared, no figure for the {c['basis'].replace(', annualised', '')}"
                 + (f" ({then_label})" if c["now"] is not None else "") + ".")
    else:
        words = (f"England {ind.name} {VERB[c['direction']]} on the {c['basis']}: {with_unit(c['then'], ind)}{annual} "
                 f"in {then_label}, {with_unit(c['now'], ind)}{annual} in {now_label}")
        if c["direction"] == "no meaningful change":
            words += f" (within the no-change band of {num(ind.no_change_band, ind.decimals)} {change_unit(ind)})"
        words += "."
    if c["direction"] != "not comparable" and n_then and n_now != n_then:
        words += f" LAs contributing: {n_then} then, {n_now} now."
    return {**c, "n_now": n_now, "n_then": n_then, "words": words}


def summary(data: PeriodData) -> str:
    """The quarter in brief, at the top: returns, coverage, what changed in England (by name), off trajectory."""
    cat = catalogue.load()
    st = data.status
    n = len(st)
    count = lambda key: sum(1 for s in st.values() if s.get("status") == key)  # noqa: E731
    accepted = sum(1 for s in st.values() if s.get("accepted"))
    items = [f"Returns: {accepted} of {n} accepted ({count('accepted_with_queries')} with queries), "
             f"{count('rejected')} rejected, {count('held')} held back, {count('not_received')} not received. "
             "An LA without an accepted return has no verdict this quarter in any view."]
    changes = {ind.id: what_changed(data, ind) for ind in cat.indicators}
    cover = [(ind, c) for ind in cat.indicators for c in [changes[ind.id]]
             if ind.source != "dfe_held" and c["n_then"] and c["n_now"] != c["n_then"]]
    if cover:
        ind, c = max(cover, key=lambda x: abs(x[1]["n_now"] - x[1]["n_then"]))
        items.append(f"Coverage: LAs contributing to England's figures from returns changed from {c['n_then']} "
                     f"in {period_label(c['then_period'])} to {c['n_now']} in {period_label(data.period)} "
                     f"(e.g. {ind.name}); a change in England's figure may partly be a change in who contributes.")
    for key, label in (("improved", "Improved meaningfully in England"), ("worsened", "Worsened meaningfully in England")):
        names = [ind.name for ind in cat.indicators if changes[ind.id]["direction"] == key]
        items.append(f"{label} ({len(names)}): " + ("; ".join(names) if names else "none") + ".")
    nm = sum(1 for c in changes.values() if c["direction"] == "no meaningful change")
    nc = sum(1 for c in changes.values() if c["direction"] == "not comparable")
    items.append(f"No meaningful change (within each indicator's no-change band): {nm}; not comparable yet "
                 f"(no like-for-like earlier figure): {nc}. Termly measures are compared with the same term a year "
                 "earlier; year-to-date counts on annualised values.")
    missed = {ind.name: sum(1 for la in st if data.verdict(la, ind.id).get("status") == "missed")
              for ind in cat.indicators}
    top = sorted(((k, v) for k, v in missed.items() if v), key=lambda kv: -kv[1])[:3]
    if top:
        items.append("Most LAs off trajectory: " + "; ".join(f"{k} ({v} LAs)" for k, v in top) + ".")
    items.append(f'<a href="../dfe/support-{esc(data.period)}.html">The support list</a> ranks the LAs that may need '
                 "support.")
    return '<ul class="summary">' + "".join(
        f"<li>{x if x.startswith('<a ') else esc(x)}</li>" for x in items) + "</ul>"


def _indicator(data: PeriodData, ind) -> str:
    d = ind.decimals
    q = period_label(data.period)
    # national trend: England pooled value by quarter, on the packs' basis (annualised; one point per term)
    periods, labels, vals, n_las = england_trend(data, ind)
    basis = " (annualised)" if ind.compare_targets == "pro_rata" else ""
    out = []
    ch = what_changed(data, ind)
    if ch["direction"] != "not comparable":
        verb = VERB[ch["direction"]]
        title = active_title(f"England {ind.short} {verb} on the {ch['basis']}",
                             f"England {ind.short} {verb}", f"England {ind.short}: {ch['direction']}",
                             f"England figure {verb}")
    elif vals:
        title = active_title(f"England {ind.short}: {with_unit(vals[-1], ind)} in {q}", f"England figure for {q}")
    else:
        title = "No England figure yet"
    alt = (f"Line chart of the England figure (pooled) for {ind.name}{basis}: " +
           "; ".join(f"{lab} {with_unit(v, ind)} from {n} LAs" for lab, v, n in zip(labels, vals, n_las)) + ". "
           + ch["words"])
    tbl = table(f"{ind.short}: England (pooled) by {'term' if ind.source == 'dfe_held' else 'quarter'}{basis} ({ind.unit})",
                ["Term" if ind.source == "dfe_held" else "Quarter", "England", "LAs contributing"],
                [[lab, num(v, d), str(n)] for lab, v, n in zip(labels, vals, n_las)], num_cols={1, 2})
    out.append(f'<p class="what-changed" data-indicator="{esc(ind.id)}" data-direction="{esc(ch["direction"])}">'
               f"{esc(ch['words'])}</p>")
    out.append(chart_block(f"c-{ind.id}-trend", title, alt, charts.trend_fig(ind, periods, vals, labels), tbl,
                           f"Show the table for: {title}"))
    # spread across LAs
    rows = [r for r in data.la_values(ind.id).values() if r.get("la_value") is not None]
    rows.sort(key=lambda r: r["la_value"])
    v = [r["la_value"] for r in rows]
    if v:
        def qt(p):
            k = (len(v) - 1) * p
            f = int(k)
            return v[f] + (v[min(f + 1, len(v) - 1)] - v[f]) * (k - f)
        ratio = (qt(0.75) - qt(0.25))
        title = active_title(f"{ind.short}: middle half of LAs spans {num(ratio, d)} {change_unit(ind)}",
                             f"Middle half of LAs spans {num(ratio, d)} {change_unit(ind)}",
                             "Spread across local authorities")
        alt = (f"Box plot with every LA as a point for {ind.name}, {q}: {len(v)} LAs; lowest {rows[0]['la_name']} "
               f"{with_unit(v[0], ind)}; median {with_unit(qt(0.5), ind)}; highest {rows[-1]['la_name']} "
               f"{with_unit(v[-1], ind)}.")
        trows = [["LAs with data", str(len(v))], ["Lowest", f"{num(v[0], d)} ({rows[0]['la_name']})"],
                 ["Lower quartile", num(qt(0.25), d)], ["Median", num(qt(0.5), d)],
                 ["Upper quartile", num(qt(0.75), d)], ["Highest", f"{num(v[-1], d)} ({rows[-1]['la_name']})"]]
        tbl = table(f"{ind.short}: spread across LAs, {q} ({ind.unit})", ["Measure", "Value"], trows, num_cols={1})
        out.append(chart_block(f"c-{ind.id}-spread", title, alt,
                               charts.spread_fig(ind, v, [r["la_name"] for r in rows]), tbl,
                               f"Show the table for: {title}"))
    # regional comparison (pooled)
    reg: dict[str, tuple] = {}
    e_now = None
    for r in data.la_values(ind.id).values():
        # a row may withhold its region figure (secondary suppression in that LA's pack): take one that shows it
        if r.get("region_name") and r.get("region_value") is not None and r["region_name"] not in reg:
            reg[r["region_name"]] = (r.get("region_value"), r.get("region_n_las"))
        e_now = r.get("england_value") if e_now is None else e_now
    if reg:
        order = sorted(reg, key=lambda k: (reg[k][0] is None, reg[k][0] or 0), reverse=False)
        if ind.polarity == "high":
            order = sorted(reg, key=lambda k: -(reg[k][0] or 0))
        best = order[0]
        title = active_title(f"{best} best region for {ind.short}" if ind.polarity != "neutral"
                             else f"{best} lowest region for {ind.short}",
                             f"{best} {'best' if ind.polarity != 'neutral' else 'lowest'} of {len(reg)} regions")
        alt = (f"Bar chart of pooled regional figures for {ind.name}, {q}, with England "
               f"{with_unit(e_now, ind)} as a reference line: " +
               "; ".join(f"{k} {with_unit(reg[k][0], ind)} ({reg[k][1]} LAs)" for k in order) + ".")
        tbl = table(f"{ind.short}: regions (pooled), {q} ({ind.unit})", ["Region", "Value", "LAs contributing"],
                    [[k, num(reg[k][0], d), str(reg[k][1] or 0)] for k in order] +
                    [["England", num(e_now, d), ""]], num_cols={1, 2})
        out.append(chart_block(f"c-{ind.id}-region", title, alt,
                               charts.regional_fig(ind, order, [reg[k][0] for k in order], e_now), tbl,
                               f"Show the table for: {title}"))
    return "".join(out)


def _plan(data: PeriodData) -> str:
    """Delivery plans nationally (issue 10): milestones slipped, red residual risks, spend against projection
    by region, with the LAs named and a link to the support view (which gives each LA's evidence)."""
    plan = data.plan
    q = data.period[-2:]
    ms = [r for rows in plan.milestones.values() for r in rows]
    rk = [r for rows in plan.risks.values() for r in rows]
    with_plan = set(plan.milestones) | set(plan.risks) | set(plan.spend)
    returned = set(data.returned())
    slipped = {r["la_code"] for r in ms if r.get("is_slipped")}
    overdue = {r["la_code"] for r in ms if r.get("is_overdue")}
    red = {r["la_code"] for r in rk if r.get("is_red_residual")}
    escalated = {r["la_code"] for r in rk if r.get("movement") == "escalated"}
    over = {c for c, rows in plan.spend.items() if any(r.get("over_margin") for r in rows)}
    statutory = {r.strip().lower() for r in catalogue.load().plan.statutory_roles}
    unsigned = {c for c, rows in plan.signoff.items()
                if statutory - {(r.get("role") or "").strip().lower() for r in rows if r.get("is_signed")}}

    def names(codes) -> str:
        return (f"<details><summary>{len(codes)} LAs: show names</summary><p>{esc(_names(data, codes))}</p></details>"
                if codes else "none")
    rows = [
        [esc("Accepted returns with a delivery plan"), f"{len(with_plan & returned)} of {len(returned)}",
         names(returned - with_plan)],
        [esc(f"Milestones slipped (of {len(ms)})"), str(sum(1 for r in ms if r.get("is_slipped"))), names(slipped)],
        [esc("Milestones due and not complete"), str(sum(1 for r in ms if r.get("is_overdue"))), names(overdue)],
        [esc(f"Risks red after mitigation (of {len(rk)})"), str(sum(1 for r in rk if r.get("is_red_residual"))),
         names(red)],
        [esc("Risks escalated since last quarter"), str(sum(1 for r in rk if r.get("movement") == "escalated")),
         names(escalated)],
        [esc("Spend lines above projection by more than the margin"),
         str(sum(1 for rows in plan.spend.values() for r in rows if r.get("over_margin"))), names(over)],
        [esc("Returns not signed by every statutory signatory"), str(len(unsigned)), names(unsigned)],
    ]
    out = [f'<p><a href="../dfe/support-{esc(data.period)}.html">LAs that may need support, '
           f"{esc(period_label(data.period))}</a>: every LA with its reasons and evidence.</p>",
           table(f"Delivery plans, {period_label(data.period)}: milestones, risks, spend and sign-off",
                 ["Measure", "Number", "Local authorities"], rows, raw_cols={0, 2}, num_cols={1})]

    # LAs contributing an actual to date, counted from the LA rows (the mart's n_las is per spend line)
    contributing: dict[str | None, set] = {}
    for code, rs in plan.spend.items():
        if any(r["spend_quarter"] <= q and r.get("actual") is not None for r in rs):
            contributing.setdefault(data.las.get(code, {}).get("region_name"), set()).add(code)

    def to_date(rs, n):
        proj = sum(float(r["projected"] or 0) for r in rs if r["spend_quarter"] <= q and r.get("actual") is not None)
        act = sum(float(r["actual"]) for r in rs if r["spend_quarter"] <= q and r.get("actual") is not None)
        pct = num(100 * (act - proj) / proj, 1) if proj else NOT_APPLICABLE
        return [num(proj, 1), num(act, 1), pct, str(n)]
    srows = [[reg, *to_date(rs, len(contributing.get(reg, ())))] for reg, rs in sorted(plan.spend_region.items())]
    if plan.spend_england:
        srows.append(["England", *to_date(plan.spend_england, sum(len(v) for v in contributing.values()))])
    unit = catalogue.load().plan.spend_unit
    if srows:
        out.append(table(f"Investment spend to date against projection by region, {period_label(data.period)} "
                         f"({unit}; lines with an actual)",
                         ["Region", "Projected", "Actual", "Variance (%)", "LAs"], srows, num_cols={1, 2, 3, 4}))
    else:
        out.append("<p>No investment spend has been returned for this quarter.</p>")
    return "".join(out)


def forecast_table(data: PeriodData) -> str:
    """Per indicator, how many LAs are on course, at risk or off course for the year-end target (marts.forecasts,
    reports/forecasts.py), and who is off course: DfE can offer support before a target is missed."""
    rows = []
    for ind in catalogue.load().indicators:
        by: dict[str, list[str]] = {"on course": [], "at risk": [], "off course": [], None: []}
        for la in sorted(data.status):
            f = data.forecasts.get((la, ind.id)) or {}
            by[f.get("verdict")].append(la)
        off = (f"<details><summary>{len(by['off course'])} LAs: show names</summary>"
               f"<p>{esc(_names(data, by['off course']))}</p></details>") if by["off course"] else "none"
        rows.append([esc(ind.name), str(len(by["on course"])), str(len(by["at risk"])), str(len(by["off course"])),
                     str(len(by[None])), off])
    year_end = next((f["period"] for f in data.forecasts.values()), None)
    when = f" ({forecasts.by_month(year_end)})" if year_end else ""
    return ('<p class="key">From each LA\'s figures up to ' + esc(period_label(data.period)) + ": the year-end value "
            "projected with an 80% interval (method in the README, Forecasts). On course: the whole interval meets "
            "the target; at risk: it straddles the target or its tolerance; off course: all of it misses by more "
            "than the tolerance. No verdict: no accepted return, too little data, small numbers, no target or no "
            "better direction.</p>"
            + table(f"LAs by forecast verdict for the year end{when}, from {period_label(data.period)}",
                    ["Indicator", "On course", "At risk", "Off course", "No verdict", "LAs forecast off course"],
                    rows, raw_cols={0, 5}, num_cols={1, 2, 3, 4})
            + _no_verdict_reasons(data))


def _no_verdict_reasons(data: PeriodData) -> str:
    """Why the forecasts without a verdict have none, most common first (at the plan's last quarter every
    year-end forecast lies beyond the plan's targets: the table alone would read as 153 unexplained blanks)."""
    from collections import Counter

    why = Counter(forecasts.REASON_WORDS.get(f.get("reason"), f.get("reason")) or "no forecast"
                  for f in data.forecasts.values() if not f.get("verdict"))
    if not why:
        return ""
    top = "; ".join(f"{esc(r)} ({n})" for r, n in why.most_common(4))
    return f'<p class="key">Why there is no verdict (LAs x indicators): {top}.</p>'


def render_overview(data: PeriodData, issued: date, plotly_src: str = "../assets/plotly.min.js") -> str:
    q = period_label(data.period)
    body = [f'<p class="caption">{esc(q)}</p><h1>National overview</h1>',
            f'<p class="meta">For DfE analysts. Produced {issued.day} {issued.strftime("%B %Y")}. Values about '
            "individual LAs are not suppressed on this page: do not share it outside DfE.</p>",
            '<p><a href="../dfe/index.html">All national overviews</a></p>',
            '<h2 id="summary">The quarter in brief</h2>', summary(data), NAV_HERE,
            '<h2 id="collection">Collection status</h2>', _collection(data),
            '<h2 id="alerts">Service alerts</h2>', _service_alerts(data),
            '<h2 id="trajectory">LAs off trajectory by indicator</h2>', _off_trajectory(data),
            '<h2 id="learn">Who to learn from: effective practice</h2>', effective.overview_html(data),
            '<h2 id="plans">Delivery plans: milestones, risks and spend</h2>', _plan(data),
            '<h2 id="forecasts">Forecast to the year end by indicator</h2>', forecast_table(data)]
    area_nav, sections = area_sections(lambda ind: _indicator(data, ind))
    nav = [("summary", "The quarter in brief"), ("collection", "Collection status"), ("alerts", "Service alerts"), ("trajectory", "Off trajectory"),
           ("learn", "Who to learn from"),
           ("plans", "Delivery plans"), ("forecasts", "Forecast to the year end"),
           *area_nav]
    body.append(sections)
    body.append("<h2 id='about'>About these figures</h2><p>England and regional figures for rates are pooled "
                "(sum of numerators over sum of denominators of LAs with valid data); levels are the mean over "
                f"contributing LAs. Symbols: x not available, z not applicable ({NOT_APPLICABLE}).</p>")
    nav.append(("about", "About these figures"))
    return page(f"National overview, {q} - Local SEND Reform Plans", "".join(body), nav, plotly_src, SERVICE,
                home_href="../dfe/index.html")
