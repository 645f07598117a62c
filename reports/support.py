"""DfE's support view: one page per quarter with the short list of LAs that may need support, and why.

The plan's monitoring section says DfE will use the returns to see "where additional support may be
needed".  An LA meets a threshold in ``config/support_thresholds.yaml`` when:

- off trajectory: enough headline indicators missed (marts.verdicts: the one verdict every view shows; a
  return not accepted has none this quarter, so it is never listed for an older return's targets);
- milestones slipped (marts.delivery_milestones);
- red residual risks (marts.risks);
- spend variance: actual above projection by more than the catalogue's margin (marts.investment_spend);
- return not received, rejected or held back (marts.collection_status, with the rejection's errors);
- queries without a reason (marts.collection_status / marts.outstanding_queries);
- plan parts not returned (an accepted return without milestones, spend or risks).

Issue 20: each LA gets a severity score (config ``severity``: weights, caps, ``list_at``), shown on the page.
The page lists LAs scoring at least ``list_at`` -- every return not accepted first, then by score -- with
each reason in words (catalogue names) and the points it adds, links to the LA's pack and its errors and
queries (relative, inside the published folder), and the evidence collapsed.  The CSV keeps every LA that
meets a threshold, with its score.  For DfE analysts only: no emails; text from returns is escaped (HTML) or
neutralised against formula injection (CSV, ``reports.common.safe_cell``).

Integrator: ``write_support(con, period, out_dir)`` writes ``support-<period>.html`` and ``.csv`` into
``out_dir`` and returns their paths, the LAs listed and the LAs flagged.  It reads marts only, and tolerates
a warehouse built before the plan marts or marts.verdicts existed.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from contracts.yaml_file import read_yaml

from reports import forecasts as fc
from reports.common import esc, page, period_label, safe_cell, slug

THRESHOLDS_PATH = Path(__file__).resolve().parent.parent / "config" / "support_thresholds.yaml"
REASONS = {  # key -> label, in the review meeting's order
    "off_trajectory": "Off trajectory on headline indicators",
    "forecast_off_course": "Forecast to miss headline targets",
    "milestones_slipped": "Milestones slipped",
    "red_residual_risks": "Red residual risks",
    "spend_variance": "Spend above projection",
    "return_missing_or_rejected": "Return not received or rejected",
    "return_held": "Return held back by a warehouse check",
    "queries_without_reason": "Queries without a reason",
    "plan_parts_missing": "Plan parts not returned",
}


@dataclass
class Flag:
    reason: str           # a REASONS key
    detail: str           # one line in words, e.g. "3 of 7 headline indicators missed: ..."
    evidence: list[list] = field(default_factory=list)  # table rows shown under the LA's evidence
    evidence_head: list[str] = field(default_factory=list)
    points: float = 0.0   # what this reason adds to the LA's severity score (config severity.weights)


@dataclass
class LASupport:
    la_code: str
    la_name: str
    region_name: str
    return_status: str
    flags: list[Flag] = field(default_factory=list)
    listed: bool = False  # on the short list: score at least severity.list_at

    @property
    def score(self) -> float:
        return round(sum(f.points for f in self.flags), 1)

    @property
    def not_accepted(self) -> bool:
        return any(f.reason in ("return_missing_or_rejected", "return_held") and f.points for f in self.flags)


def load_thresholds(path: Path | str | None = None) -> dict:
    return read_yaml(path or THRESHOLDS_PATH)


SEVERITY_DEFAULTS = {"list_at": 50, "weights": {"return_not_accepted": 100, "off_trajectory": 60,
                                                 "forecast_off_course": 15, "critical_milestones": 8,
                                                 "red_residual_risks": 8, "queries_without_reason": 2,
                                                 "spend_variance": 2},
                     "caps": {"critical_milestones": 3, "red_residual_risks": 3, "queries_without_reason": 5,
                              "spend_variance": 3},
                     "critical_slippage_days": 60}


def severity(th: dict) -> dict:
    """The severity settings (config severity), with the defaults for any left out."""
    sv = th.get("severity") or {}
    return {"list_at": sv.get("list_at", SEVERITY_DEFAULTS["list_at"]),
            "weights": {**SEVERITY_DEFAULTS["weights"], **(sv.get("weights") or {})},
            "caps": {**SEVERITY_DEFAULTS["caps"], **(sv.get("caps") or {})},
            "critical_slippage_days": sv.get("critical_slippage_days", SEVERITY_DEFAULTS["critical_slippage_days"])}


def _rows(con, sql: str, params: list) -> list[dict] | None:
    """Rows as dicts; None when a table is missing (a warehouse built before it existed)."""
    try:
        cur = con.execute(sql, params)
    except duckdb.CatalogException:
        return None
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _by_la(rows: list[dict] | None) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows or []:
        out.setdefault(r["la_code"], []).append(r)
    return out


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _critical(r: dict, days: int) -> bool:
    return (r.get("slippage_days") or 0) >= days or bool(r.get("is_past_not_started")) or bool(r.get("is_overdue"))


def assess(con, period: str, thresholds: dict | None = None) -> list[LASupport]:
    """Every LA for the period with its flags (an empty list when none applies) and severity score, by LA code.
    Off trajectory reads marts.verdicts, the one verdict the packs, downloads and overview show: a return not
    accepted has no verdict this quarter, so it is listed for its return, never for targets in an older one."""
    th = thresholds or load_thresholds()
    sv = severity(th)
    w, cap = sv["weights"], sv["caps"]
    las = _rows(con, "select * from marts.collection_status where period = ? order by la_code", [period]) or []
    headline = list(th["off_trajectory"]["headline_indicators"])
    names = {r["indicator_id"]: r["indicator_name"] for r in
             _rows(con, "select indicator_id, indicator_name from marts.indicators", []) or []}
    verdict_rows = _rows(con, "select la_code, indicator_id, status from marts.verdicts where period = ? "
                              "and indicator_id in (select unnest(?))", [period, headline])
    if verdict_rows is None:   # a warehouse built before marts.verdicts: the same rule on the trajectory
        verdict_rows = _rows(con, "select t.la_code, t.indicator_id, case when s.accepted then t.status end as status "
                                  "from marts.trajectory as t join marts.collection_status as s "
                                  "on s.la_code = t.la_code and s.period = t.period where t.period = ? "
                                  "and t.indicator_id in (select unnest(?))", [period, headline]) or []
    judged = _by_la([r for r in verdict_rows if r["status"]])
    traj = {(r["la_code"], r["indicator_id"]): r for r in _rows(
        con, "select la_code, indicator_id, actual_value, comparable_target from marts.trajectory where period = ? "
             "and indicator_id in (select unnest(?))", [period, headline]) or []}
    forecasts = fc.load(con, period)
    slipped = _by_la(_rows(con, "select * from marts.delivery_milestones where period = ? and "
                                "(is_slipped or is_past_not_started) order by workstream_no, milestone_quarter",
                           [period]))
    red = _by_la(_rows(con, "select la_code, risk_no, description, residual_impact, residual_likelihood, movement "
                            "from marts.risks where period = ? and is_red_residual order by risk_no", [period]))
    over = _by_la(_rows(con, "select la_code, category, funding_source, spend_quarter, projected, actual, variance_pct "
                             "from marts.investment_spend where level = 'la' and period = ? and over_margin "
                             "order by category, funding_source, spend_quarter", [period]))
    planned = _rows(con, "select distinct la_code from marts.delivery_milestones where period = ? union "
                         "select distinct la_code from marts.risks where period = ? union "
                         "select distinct la_code from marts.investment_spend where level = 'la' and period = ?",
                    [period, period, period])
    with_plan = {r["la_code"] for r in planned or []}
    queries = _by_la(_rows(con, "select la_code, rule, sheet, cell, message from marts.outstanding_queries "
                                "where period = ? order by rule, cell", [period]))
    out = []
    for la in las:
        code = la["la_code"]
        s = LASupport(code, la["la_name"], la["region_name"], la["status"])
        accepted = bool(la["accepted"])
        if la["status"] == "held" or la.get("later_upload_status") == "held":
            why = la.get("hold_reason") or la.get("later_upload_reason") or ""
            s.flags.append(Flag("return_held", f"Latest return held back: a warehouse check failed on it ({why[:200]})",
                                points=w["return_not_accepted"] if not accepted else 0))
        if la["status"] in th["return_missing_or_rejected"]["statuses"] and not accepted:
            if la["status"] == "not_received":
                words = "No return received"
            else:
                errs = sorted({x.split(" ", 1)[0] for x in (la.get("rejection_reasons") or "").splitlines() if x.strip()})
                words = "Latest return rejected" + (f" (errors {', '.join(errs)}; each in the evidence)" if errs else "")
            last = la.get("last_accepted_period")
            words += f"; last accepted return {period_label(last)}" if last else "; no accepted return yet"
            s.flags.append(Flag("return_missing_or_rejected", words,
                                [[x] for x in (la.get("rejection_reasons") or "").splitlines() if x.strip()],
                                ["Error (from the feedback)"], points=w["return_not_accepted"]))
        rows = judged.get(code, [])
        m = [r for r in rows if r["status"] == "missed"]
        if accepted and rows and len(m) >= th["off_trajectory"]["min_missed"]:
            share = len(m) / len(rows)
            missed_names = [names.get(r["indicator_id"], r["indicator_id"]) for r in m]
            s.flags.append(Flag(
                "off_trajectory",
                f"{len(m)} of {len(rows)} headline indicators with a verdict missed: " + "; ".join(missed_names),
                [[names.get(r["indicator_id"], r["indicator_id"]),
                  (traj.get((code, r["indicator_id"])) or {}).get("actual_value"),
                  (traj.get((code, r["indicator_id"])) or {}).get("comparable_target")] for r in m],
                ["Indicator", "Actual", "Target (like for like)"], points=w["off_trajectory"] * share))
        fl = _forecast_flag(forecasts, code, headline, names, th, w) if accepted else None
        if fl:
            s.flags.append(fl)
        sl = slipped.get(code, [])
        if accepted and len(sl) >= th["milestones_slipped"]["min_slipped"]:
            crit = [r for r in sl if _critical(r, sv["critical_slippage_days"])]
            s.flags.append(Flag("milestones_slipped",
                                f"{_plural(len(sl), 'milestone')} slipped or overdue, {len(crit)} critical"
                                + (": " + "; ".join(str(r["milestone"]) for r in crit[:3]) if crit else ""),
                                [[r["workstream"], r["milestone_quarter"], r["milestone"], r["first_due_date"],
                                  r["due_date"], r["status"], r["slippage_days"] or 0,
                                  "yes" if _critical(r, sv["critical_slippage_days"]) else "no"] for r in sl],
                                ["Workstream", "Quarter", "Milestone", "First due", "Now due", "Status",
                                 "Days slipped", "Critical"],
                                points=w["critical_milestones"] * min(len(crit), cap["critical_milestones"])))
        rd = red.get(code, [])
        if accepted and len(rd) >= th["red_residual_risks"]["min_red"]:
            s.flags.append(Flag("red_residual_risks", f"{_plural(len(rd), 'risk')} red after mitigation: "
                                + "; ".join(str(r["description"]) for r in rd[:3]),
                                [[r["risk_no"], r["description"], r["residual_impact"], r["residual_likelihood"],
                                  r["movement"]] for r in rd],
                                ["Risk", "Description", "Residual impact", "Residual likelihood",
                                 "Since last quarter"],
                                points=w["red_residual_risks"] * min(len(rd), cap["red_residual_risks"])))
        ov = over.get(code, [])
        if accepted and len(ov) >= th["spend_variance"]["min_lines_over"]:
            s.flags.append(Flag("spend_variance", f"{_plural(len(ov), 'spend line')} above projection",
                                [[r["category"], r["funding_source"], r["spend_quarter"], r["projected"],
                                  r["actual"], r["variance_pct"]] for r in ov],
                                ["Category", "Funding source", "Quarter", "Projected (GBP k)", "Actual (GBP k)",
                                 "Variance (%)"],
                                points=w["spend_variance"] * min(len(ov), cap["spend_variance"])))
        # the queries on the return that stands: the same count the overview and the pack give
        qs = queries.get(code, [])
        nq = int(la["n_unresolved_queries"] or 0)
        if accepted and nq >= th["queries_without_reason"]["min_unresolved"]:
            s.flags.append(Flag("queries_without_reason", f"{nq} quer{'ies' if nq != 1 else 'y'} without a reason",
                                [[r["rule"], f"{r['sheet'] or ''}!{r['cell'] or ''}", r["message"]] for r in qs],
                                ["Rule", "Cell", "Query"],
                                points=w["queries_without_reason"] * min(nq, cap["queries_without_reason"])))
        if th["plan_parts_missing"]["enabled"] and accepted and planned is not None and code not in with_plan:
            s.flags.append(Flag("plan_parts_missing", "Accepted return without milestones, spend or risks"))
        s.listed = bool(s.flags) and s.score >= sv["list_at"]
        out.append(s)
    return out


def _forecast_flag(forecasts: dict, code: str, headline: list[str], names: dict, th: dict, w: dict) -> Flag | None:
    """Forecast to miss N headline targets (marts.forecasts: the year-end interval misses by more than the
    tolerance), a reason of its own: DfE can offer support before the target is missed."""
    off = fc.count_off_course(forecasts, code, headline)
    if len(off) < (th.get("forecast_off_course") or {}).get("min_off_course", 1):
        return None
    rows = [forecasts[(code, i)] for i in off]
    return Flag("forecast_off_course",
                f"forecast to miss {len(off)} headline target{'s' if len(off) != 1 else ''}: "
                + "; ".join(names.get(i, i) for i in off),
                [[names.get(r["indicator_id"], r["indicator_id"]), r["value"], r["lower"], r["upper"],
                  r["target_value"]] for r in rows],
                ["Indicator", "Forecast, year end", "80% range from", "to", "Year-end target"],
                points=w.get("forecast_off_course", 0) * len(off) / max(1, len(headline)))


def flagged(assessed: list[LASupport]) -> list[LASupport]:
    """Every LA meeting at least one threshold, by severity (returns not accepted first), then by name."""
    return sorted((a for a in assessed if a.flags), key=lambda a: (not a.not_accepted, -a.score, a.la_name))


def listed(assessed: list[LASupport]) -> list[LASupport]:
    """The short list: LAs scoring at least severity.list_at, returns not accepted first, then by score."""
    return [a for a in flagged(assessed) if a.listed]


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.1f}".rstrip("0").rstrip(".") if not v.is_integer() else f"{int(v):,}"
    return str(v)


SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('thead th').forEach(function (th, i) {
    var b = document.createElement('button'); b.type = 'button'; b.textContent = th.textContent;
    th.textContent = ''; th.appendChild(b);
    b.addEventListener('click', function () {
      var asc = th.getAttribute('aria-sort') !== 'ascending';
      t.querySelectorAll('thead th').forEach(function (o) { o.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
      var rows = Array.prototype.slice.call(t.tBodies[0].rows);
      rows.sort(function (a, c) {
        var x = a.cells[i].getAttribute('data-sort') || a.cells[i].textContent,
            y = c.cells[i].getAttribute('data-sort') || c.cells[i].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return asc ? r : -r;
      });
      rows.forEach(function (r) { t.tBodies[0].appendChild(r); });
    });
  });
});
"""


def _pack_href(period: str, a: LASupport) -> str:
    """The LA's pack from dfe/support-<period>.html: a relative link inside the published packs folder."""
    return f"../{period}/la/{a.la_code}-{slug(a.la_name)}.html"


def _score_words(sv: dict) -> str:
    w, cap = sv["weights"], sv["caps"]
    return (f"Score = {w['return_not_accepted']:g} for a return not received, rejected or held back; "
            f"+ {w['off_trajectory']:g} x the share of headline indicators with a verdict that missed their target "
            f"(when at least the threshold below are missed); + {w['forecast_off_course']:g} x the share of headline "
            f"indicators forecast off course for the year end; + {w['critical_milestones']:g} per critical milestone "
            f"slipped (slipped {sv['critical_slippage_days']} days or more, or due and not done; at most "
            f"{cap['critical_milestones']}); + {w['red_residual_risks']:g} per risk red after mitigation (at most "
            f"{cap['red_residual_risks']}); + {w['queries_without_reason']:g} per query without a reason (at most "
            f"{cap['queries_without_reason']}); + {w['spend_variance']:g} per spend line above projection (at most "
            f"{cap['spend_variance']}). Listed: a score of {sv['list_at']:g} or more.")


def summary_words(rows: list[LASupport], flagged_rows: list[LASupport], n_las: int) -> str:
    """How many LAs are listed and why, in words."""
    counts: dict[str, int] = {}
    for a in rows:
        for f in a.flags:
            if f.points:
                counts[f.reason] = counts.get(f.reason, 0) + 1
    why = "; ".join(f"{n} for {REASONS[k].lower()}" for k, n in
                    sorted(counts.items(), key=lambda kv: list(REASONS).index(kv[0])))
    n_ret = sum(1 for a in rows if a.not_accepted)
    return (f"{len(rows)} of {n_las} local authorities are listed: {n_ret} without an accepted return (listed "
            f"first), {len(rows) - n_ret} by their score. Reasons among those listed: {why or 'none'}. "
            f"A further {len(flagged_rows) - len(rows)} meet at least one threshold but score below the list's "
            "threshold: they are in the CSV with their scores.")


def render_html(period: str, rows: list[LASupport], n_las: int, thresholds: dict,
                flagged_rows: list[LASupport] | None = None) -> str:
    label = period_label(period)
    sv = severity(thresholds)
    flagged_rows = rows if flagged_rows is None else flagged_rows
    head = ["Local authority", "Return", "Score", "Why it may need support", "Links"]
    body_rows = []
    for a in rows:
        why = "".join(f"<li>{esc(REASONS[f.reason])}: {esc(f.detail)}"
                      + (f' <span class="key">(+{round(f.points, 1):g})</span>' if f.points else "") + "</li>"
                      for f in a.flags)
        pack = _pack_href(period, a)
        body_rows.append(
            f'<tr id="la-{esc(a.la_code)}"><th scope="row" data-sort="{esc(a.la_name)}">{esc(a.la_name)} '
            f'<span class="unit">{esc(a.la_code)}, {esc(a.region_name)}</span></th>'
            f'<td>{esc((a.return_status or "").replace("_", " "))}</td>'
            f'<td class="num" data-sort="{a.score:g}">{a.score:g}</td><td><ul class="plain">{why}</ul></td>'
            f'<td class="links"><a href="{esc(pack)}">Pack</a><br><a href="{esc(pack)}#attention">Feedback and queries</a>'
            f'<br><a href="#ev-{esc(a.la_code)}">Evidence</a></td></tr>')
    table = ('<div class="table-scroll" role="region" tabindex="0" aria-label="Local authorities that may need '
             'support"><table class="sortable"><caption>Local authorities that may need support, highest score '
             'first; returns not accepted first (select a column heading to sort)</caption><thead><tr>'
             + "".join(f'<th scope="col"{" class=num" if i == 2 else ""}>{esc(h)}</th>' for i, h in enumerate(head))
             + "</tr></thead><tbody>" + "".join(body_rows) + "</tbody></table></div>")
    evidence = []
    for a in rows:
        parts = [f'<details id="ev-{esc(a.la_code)}"><summary>{esc(a.la_name)} ({esc(a.la_code)}): evidence</summary>']
        for f in a.flags:
            parts.append(f'<h4 id="la-{esc(a.la_code)}-{esc(f.reason)}">{esc(REASONS[f.reason])}: {esc(f.detail)}</h4>')
            if f.evidence:
                # each evidence table scrolls in its own box, so the page never scrolls sideways at 390 px
                parts.append(f'<div class="table-scroll" role="region" tabindex="0" aria-label="{esc(a.la_name)}: '
                             f'{esc(REASONS[f.reason])}"><table><thead><tr>'
                             + "".join(f'<th scope="col">{esc(h)}</th>' for h in f.evidence_head)
                             + "</tr></thead><tbody>"
                             + "".join("<tr>" + "".join(f"<td>{esc(_cell(v))}</td>" for v in r) + "</tr>"
                                       for r in f.evidence) + "</tbody></table></div>")
        parts.append("</details>")
        evidence.append("".join(parts))
    rules = "".join(f"<li>{esc(REASONS[k])}: {esc(_threshold_words(k, thresholds))}</li>" for k in REASONS)
    body = (f"<h1>Local authorities that may need support, {esc(label)}</h1>"
            f'<p class="lede">{esc(summary_words(rows, flagged_rows, n_las))}</p>'
            "<p>For DfE analysts; not for publication. Weights and thresholds are set in "
            "config/support_thresholds.yaml.</p>"
            f"<p><strong>How the list is ranked.</strong> {esc(_score_words(sv))}</p>"
            f"<p><a href=\"support-{esc(period)}.csv\">Download every LA that meets a threshold, with its score (CSV)</a></p>"
            f"<details><summary>Thresholds for each reason</summary><ul>{rules}</ul></details>"
            f"{table}<h2>Evidence</h2><p>Each LA's evidence, one at a time.</p>{''.join(evidence)}"
            f"<script>{SORT_JS}</script>")
    return page(f"Support view {label}", body, None, None, "LSRP quarterly data reports")


def _threshold_words(key: str, th: dict) -> str:
    t = th.get(key, {})
    return {
        "off_trajectory": f"at least {t.get('min_missed')} of the {len(t.get('headline_indicators', []))} headline "
                          f"indicators ({'; '.join(_indicator_names().get(i, i) for i in t.get('headline_indicators', []))}) missed",
        "forecast_off_course": f"at least {t.get('min_off_course', 1)} headline indicator whose year-end "
                               "forecast interval misses the target by more than its tolerance",
        "milestones_slipped": f"at least {t.get('min_slipped')} milestone slipped, delayed or due and not started",
        "red_residual_risks": f"at least {t.get('min_red')} risk red after mitigation",
        "spend_variance": f"at least {t.get('min_lines_over')} spend line above projection by more than the margin",
        "return_missing_or_rejected": f"return status {' or '.join(t.get('statuses', []))}",
        "return_held": "a return that passed validation failed a warehouse check and was held back (always flagged)",
        "queries_without_reason": f"at least {t.get('min_unresolved')} query without a reason",
        "plan_parts_missing": "accepted return without plan parts" if t.get("enabled") else "off",
    }[key]


def _indicator_names() -> dict[str, str]:
    from contracts import catalogue
    return {i.id: i.name for i in catalogue.load().indicators}


CSV_COLUMNS = ("period", "la_code", "la_name", "region_name", "return_status", "score", "listed", "reason", "detail",
               "points")


def write_csv(path: Path, period: str, rows: list[LASupport]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for a in rows:
            for f in a.flags:
                w.writerow([safe_cell(v) for v in (period, a.la_code, a.la_name, a.region_name, a.return_status,
                                                    f"{a.score:g}", "yes" if a.listed else "no",
                                                    REASONS[f.reason], f.detail, f"{round(f.points, 1):g}")])


def write_support(con, period: str, out_dir: Path | str, thresholds: dict | None = None) -> dict:
    """Write support-<period>.html (the short list) and .csv (every LA meeting a threshold, with its score) into
    out_dir; returns {"html", "csv", "listed": [la codes on the short list], "flagged": [every flagged LA]}."""
    th = thresholds or load_thresholds()
    assessed = assess(con, period, th)
    every = flagged(assessed)
    rows = [a for a in every if a.listed]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / f"support-{period}.html", out / f"support-{period}.csv"
    html_path.write_text(render_html(period, rows, len(assessed), th, every), encoding="utf-8")
    write_csv(csv_path, period, every)
    return {"html": html_path, "csv": csv_path, "listed": [a.la_code for a in rows],
            "flagged": [a.la_code for a in every]}
