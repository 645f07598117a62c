"""DfE's support view: one page per quarter listing every LA that may need support, and why.

The plan's monitoring section says DfE will use the returns to see "where additional support may be
needed".  An LA is listed when it meets at least one threshold in ``config/support_thresholds.yaml``:

- off trajectory: enough headline indicators missed (marts.trajectory);
- milestones slipped (marts.delivery_milestones);
- red residual risks (marts.risks);
- spend variance: actual above projection by more than the catalogue's margin (marts.investment_spend);
- return not received or rejected (marts.collection_status);
- queries without a reason (marts.outstanding_queries);
- plan parts not returned (an accepted return without milestones, spend, risks or sign-off).

Each reason links to its evidence further down the page.  The page is for DfE analysts only: it may
name signatories' roles but never shows emails, and all text from returns is escaped (HTML) or
neutralised against formula injection (CSV, ``reports.common.safe_cell``).

Integrator: call ``write_support(con, period, out_dir)`` from publish() with a read connection to the
built warehouse; it writes ``support-<period>.html`` and ``support-<period>.csv`` into ``out_dir`` and
returns their paths and the LAs listed.  It reads marts only, and
tolerates a warehouse built before the plan marts existed (those reasons are then "not available").
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from contracts.yaml_file import read_yaml

from reports.common import esc, page, period_label, safe_cell

THRESHOLDS_PATH = Path(__file__).resolve().parent.parent / "config" / "support_thresholds.yaml"
REASONS = {  # key -> label, in the review meeting's order
    "off_trajectory": "Off trajectory on headline indicators",
    "milestones_slipped": "Milestones slipped",
    "red_residual_risks": "Red residual risks",
    "spend_variance": "Spend above projection",
    "return_missing_or_rejected": "Return not received or rejected",
    "return_held": "Return held back by a warehouse check",
    "queries_without_reason": "Queries without a reason",
    "plan_parts_missing": "Plan parts not returned",
}
CSV_COLUMNS = ("period", "la_code", "la_name", "region_name", "return_status", "reason", "detail")


@dataclass
class Flag:
    reason: str           # a REASONS key
    detail: str           # one line, e.g. "2 of 7 headline indicators missed"
    evidence: list[list] = field(default_factory=list)  # table rows shown under the LA's evidence
    evidence_head: list[str] = field(default_factory=list)


@dataclass
class LASupport:
    la_code: str
    la_name: str
    region_name: str
    return_status: str
    flags: list[Flag] = field(default_factory=list)


def load_thresholds(path: Path | str | None = None) -> dict:
    return read_yaml(path or THRESHOLDS_PATH)


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


def assess(con, period: str, thresholds: dict | None = None) -> list[LASupport]:
    """Every LA for the period with its flags (an empty list when none applies), sorted by LA code."""
    th = thresholds or load_thresholds()
    las = _rows(con, "select la_code, la_name, region_name, status, accepted, n_unresolved_queries, "
                     "latest_submission_id, hold_reason, later_upload_status, later_upload_reason "
                     "from marts.collection_status where period = ? order by la_code",
                [period]) or []
    headline = list(th["off_trajectory"]["headline_indicators"])
    missed = _by_la(_rows(con, "select la_code, indicator_id, actual_value, comparable_target from marts.trajectory "
                               "where period = ? and status = 'missed' and indicator_id in (select unnest(?)) "
                               "order by indicator_id", [period, headline]))
    slipped = _by_la(_rows(con, "select la_code, workstream, milestone_quarter, milestone, first_due_date, due_date, "
                                "status, slippage_days from marts.delivery_milestones where period = ? and "
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
        m = missed.get(code, [])
        if len(m) >= th["off_trajectory"]["min_missed"]:
            s.flags.append(Flag("off_trajectory", f"{len(m)} of {len(headline)} headline indicators missed",
                                [[r["indicator_id"], r["actual_value"], r["comparable_target"]] for r in m],
                                ["Indicator", "Actual", "Target (like for like)"]))
        sl = slipped.get(code, [])
        if len(sl) >= th["milestones_slipped"]["min_slipped"]:
            s.flags.append(Flag("milestones_slipped", f"{len(sl)} milestone{'s' * (len(sl) != 1)} slipped or overdue",
                                [[r["workstream"], r["milestone_quarter"], r["milestone"], r["first_due_date"],
                                  r["due_date"], r["status"], r["slippage_days"]] for r in sl],
                                ["Workstream", "Quarter", "Milestone", "First due", "Now due", "Status",
                                 "Days slipped"]))
        rd = red.get(code, [])
        if len(rd) >= th["red_residual_risks"]["min_red"]:
            s.flags.append(Flag("red_residual_risks", f"{len(rd)} risk{'s' * (len(rd) != 1)} red after mitigation",
                                [[r["risk_no"], r["description"], r["residual_impact"], r["residual_likelihood"],
                                  r["movement"]] for r in rd],
                                ["Risk", "Description", "Residual impact", "Residual likelihood",
                                 "Since last quarter"]))
        ov = over.get(code, [])
        if len(ov) >= th["spend_variance"]["min_lines_over"]:
            s.flags.append(Flag("spend_variance", f"{len(ov)} spend line{'s' * (len(ov) != 1)} above projection",
                                [[r["category"], r["funding_source"], r["spend_quarter"], r["projected"],
                                  r["actual"], r["variance_pct"]] for r in ov],
                                ["Category", "Funding source", "Quarter", "Projected (GBP k)", "Actual (GBP k)",
                                 "Variance (%)"]))
        if la["status"] == "held" or la.get("later_upload_status") == "held":
            why = la.get("hold_reason") or la.get("later_upload_reason") or ""
            s.flags.append(Flag("return_held", f"Latest return held back: a warehouse check failed on it ({why[:200]})"))
        if la["status"] in th["return_missing_or_rejected"]["statuses"] and not la["accepted"]:
            words = "No return received" if la["status"] == "not_received" else "Latest return rejected"
            s.flags.append(Flag("return_missing_or_rejected", words))
        nq = int(la["n_unresolved_queries"] or 0)
        # a rejected return is flagged as such; its queries wait for the corrected return
        if la["status"] in ("accepted", "accepted_with_queries") and nq >= th["queries_without_reason"]["min_unresolved"]:
            qs = queries.get(code, [])
            s.flags.append(Flag("queries_without_reason", f"{nq} quer{'ies' if nq != 1 else 'y'} without a reason",
                                [[r["rule"], f"{r['sheet'] or ''}!{r['cell'] or ''}", r["message"]] for r in qs],
                                ["Rule", "Cell", "Query"]))
        if th["plan_parts_missing"]["enabled"] and la["accepted"] and planned is not None and code not in with_plan:
            s.flags.append(Flag("plan_parts_missing", "Accepted return without milestones, spend or risks"))
        out.append(s)
    return out


def listed(assessed: list[LASupport]) -> list[LASupport]:
    """The LAs to list: those with at least one flag, most reasons first, then by name."""
    return sorted((a for a in assessed if a.flags), key=lambda a: (-len(a.flags), a.la_name))


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


def render_html(period: str, rows: list[LASupport], n_las: int, thresholds: dict) -> str:
    label = period_label(period)
    head = ["Local authority", "Region", "Return", "Reasons", "Why it may need support"]
    body_rows = []
    for a in rows:
        links = "; ".join(f'<a href="#la-{esc(a.la_code)}-{esc(f.reason)}">{esc(REASONS[f.reason])}</a>: '
                          f'{esc(f.detail)}' for f in a.flags)
        body_rows.append(
            f'<tr><th scope="row" data-sort="{esc(a.la_name)}"><a href="#la-{esc(a.la_code)}">'
            f'{esc(a.la_code)} {esc(a.la_name)}</a></th><td>{esc(a.region_name)}</td>'
            f'<td>{esc((a.return_status or "").replace("_", " "))}</td>'
            f'<td class="num" data-sort="{len(a.flags)}">{len(a.flags)}</td><td>{links}</td></tr>')
    table = ('<div class="table-scroll" role="region" tabindex="0" aria-label="Local authorities that may need '
             'support"><table class="sortable"><caption>Local authorities that meet at least one threshold, '
             'most reasons '
             'first (select a column heading to sort)</caption><thead><tr>'
             + "".join(f'<th scope="col"{" class=num" if i == 3 else ""}>{esc(h)}</th>' for i, h in enumerate(head))
             + "</tr></thead><tbody>" + "".join(body_rows) + "</tbody></table></div>")
    evidence = []
    for a in rows:
        parts = [f'<section id="la-{esc(a.la_code)}"><h3>{esc(a.la_code)} {esc(a.la_name)}</h3>']
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
        parts.append("</section>")
        evidence.append("".join(parts))
    rules = "".join(f"<li>{esc(REASONS[k])}: {esc(_threshold_words(k, thresholds))}</li>" for k in REASONS)
    body = (f"<h1>Local authorities that may need support, {esc(label)}</h1>"
            f"<p>{len(rows)} of {n_las} local authorities meet at least one threshold. For DfE analysts; "
            "not for publication. Thresholds are set in config/support_thresholds.yaml.</p>"
            f"<p><a href=\"support-{esc(period)}.csv\">Download this list (CSV)</a></p>"
            f"<details><summary>Thresholds</summary><ul>{rules}</ul></details>"
            f"{table}<h2>Evidence</h2>{''.join(evidence)}<script>{SORT_JS}</script>")
    return page(f"Support view {label}", body, None, None, "LSRP quarterly data reports")


def _threshold_words(key: str, th: dict) -> str:
    t = th.get(key, {})
    return {
        "off_trajectory": f"at least {t.get('min_missed')} of {', '.join(t.get('headline_indicators', []))} missed",
        "milestones_slipped": f"at least {t.get('min_slipped')} milestone slipped, delayed or due and not started",
        "red_residual_risks": f"at least {t.get('min_red')} risk red after mitigation",
        "spend_variance": f"at least {t.get('min_lines_over')} spend line above projection by more than the margin",
        "return_missing_or_rejected": f"return status {' or '.join(t.get('statuses', []))}",
        "return_held": "a return that passed validation failed a warehouse check and was held back (always flagged)",
        "queries_without_reason": f"at least {t.get('min_unresolved')} query without a reason",
        "plan_parts_missing": "accepted return without plan parts" if t.get("enabled") else "off",
    }[key]


def write_csv(path: Path, period: str, rows: list[LASupport]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(CSV_COLUMNS)
        for a in rows:
            for f in a.flags:
                w.writerow([safe_cell(v) for v in (period, a.la_code, a.la_name, a.region_name, a.return_status,
                                                    REASONS[f.reason], f.detail)])


def write_support(con, period: str, out_dir: Path | str, thresholds: dict | None = None) -> dict:
    """Write support-<period>.html and .csv into out_dir; returns {"html", "csv", "listed": [la codes]}."""
    th = thresholds or load_thresholds()
    assessed = assess(con, period, th)
    rows = listed(assessed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    html_path, csv_path = out / f"support-{period}.html", out / f"support-{period}.csv"
    html_path.write_text(render_html(period, rows, len(assessed), th), encoding="utf-8")
    write_csv(csv_path, period, rows)
    return {"html": html_path, "csv": csv_path, "listed": [a.la_code for a in rows]}
