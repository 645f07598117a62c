"""An LA's PDFs, compiled with Typst (the ``typst`` Python package: no browser):

- ``<slug>.pdf``, the scorecard: two A4 pages, the quarterly review's agenda.  Page one: every indicator's
  status in words with its value, target, England, region, neighbours, rank and last quarter's value, and
  what is compared with what; page two: what needs attention across the review's items (targets missed,
  biggest movers, slipped milestones, red risks, spend above plan, outstanding queries; for a return not
  accepted, its status and why).  Built from the pack's model and page one's own functions
  (``reports.pack``), so a change of wording there reaches the PDF.
- ``<slug>-appendix.pdf``: the detail (each area at a glance, the plan's milestones, risks and spend, every
  indicator's charts and figures, data quality, notes), from the same section functions the HTML pack is
  built from, turned into blocks (headings, paragraphs, lists, tables, charts).  Charts are the SVGs of
  ``reports.print_charts``, each with its text alternative.

How the data reaches Typst: one JSON document passed through ``sys_inputs`` and read in the template with
``json(bytes(sys.inputs.data))``.  Every text from a return is a JSON string, placed as a value (``[#x]`` of a
string is text), so nothing an LA typed is ever parsed as Typst markup.  Both files are tagged PDF/UA-1 with
a title, language, an outline from the headings, real table headers and alt text on every chart.
"""
from __future__ import annotations

import json
import logging
import os
import re
from datetime import date
from functools import lru_cache
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

from contracts import catalogue

from . import pack as P
from . import forecasts
from . import plan as plan_mod
from .common import NOT_APPLICABLE, STATUS_WORDS, UNAVAILABLE, area_sections, num, period_label, prev_quarter

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
PDF_STANDARDS = ["ua-1"]
MAX_ITEMS = 6          # per list on the scorecard's page two; the rest are counted and left to the appendix
MAX_TEXT = 300         # characters of one item's free text on the scorecard (whole in the appendix)
SERVICE_FOOTER = "Local SEND Reform Plans: quarterly data report. Official statistics in development."


# ------------------------------------------------------------------ text from the pack's HTML helpers
_TAGS = re.compile(r"<[^>]+>")


def plain(html: str) -> str:
    """The text of one of the pack's small HTML fragments (a status line, a lede): tags dropped, entities
    decoded, white space collapsed."""
    return " ".join(unescape(_TAGS.sub(" ", html)).split()).replace(" .", ".").replace(" :", ":")


def _clip(text, limit: int = MAX_TEXT) -> str:
    s = "" if text is None else str(text)
    return s if len(s) <= limit else s[:limit - 1] + "\u2026"


def _status(model) -> dict:
    """The pack's status line as text, on green (accepted), amber (with queries, or a later upload refused)
    or red (rejected, held or not received): the words say it, the colour repeats it."""
    st = model.data_quality.get("status") or "not_received"
    if not model.accepted:
        key = "missed"
    else:
        key = "met" if st == "accepted" and not model.notice else "within"
    return {"text": plain(P.status_line(model)), "key": key, "code": st}


def _meta(model, version: int, issued: date) -> str:
    return (f"LA code {model.code}, {model.region}. Version {version}, issued "
            f"{issued.day} {issued.strftime('%B %Y')}.")


def _title(model, what: str) -> str:
    return f"{model.name}: {period_label(model.period)} {what} - Local SEND Reform Plans"


# ------------------------------------------------------------------ page one
STATUS_KEY = {"met": "met", "within tolerance": "within", "missed": "missed"}
BASIS_WORDS = {
    "year_to_date": "year to date, April to the end of the quarter",
    "annualised": "annualised, the year to date scaled to a full year",
    "term": "a school term",
    "point_in_time": "at the end of the quarter",
}


def comparing(model) -> list[str]:
    """What is compared with what, said once: each period basis with the indicators on it, and how a
    year-to-date value meets a full year's target (pro-rated to the quarter)."""
    cat = catalogue.load()
    q = period_label(model.period)
    by: dict[str, list[str]] = {}
    pro_rata = []
    for ind in cat.indicators:
        m = model.indicators[ind.id]
        basis = P._field(m, "period_basis") or getattr(ind, "period_basis", None)
        if basis:
            by.setdefault(basis, []).append(ind.short)
        if getattr(ind, "compare_targets", "as_is") == "pro_rata":
            pro_rata.append(ind.short)
    out = []
    parts = [f"{BASIS_WORDS.get(b, b.replace('_', ' '))} ({len(names)})" for b, names in by.items()]
    if parts:
        out.append(f"What the values cover: " + "; ".join(parts) + "; each indicator's unit line says which.")
    if pro_rata and model.accepted:
        n = int(model.period[-1]) if model.period[-2] == "Q" else 4
        out.append(f"Year to date against a pro-rated target: {', '.join(pro_rata)} "
                   f"{'is' if len(pro_rata) == 1 else 'are'} counted from April, so {'its' if len(pro_rata) == 1 else 'their'} "
                   f"target is the year's target x {n}/4 for {q}; change for "
                   f"{'it' if len(pro_rata) == 1 else 'them'} is on annualised values. Every other target is "
                   "compared as set.")
    if model.accepted:
        out.append("Status: the value against this authority's own target for the quarter (met; within tolerance; "
                   "missed). Change says what it is measured against.")
    return out


def _basis_short(m: dict, ind) -> str:
    basis = P._field(m, "period_basis") or getattr(ind, "period_basis", None)
    return {"year_to_date": ", year to date", "annualised": ", annualised"}.get(basis, "")


def _previous(model, m: dict, decimals: int) -> str:
    prev = prev_quarter(model.period)
    for t in m["trajectory"]:
        if t["period"] == prev and t.get("actual_value") is not None:
            return num(t["actual_value"], decimals)
    return UNAVAILABLE


def glance_rows(model) -> list[dict]:
    """Page one's table: the pack's own at-a-glance values (reports.pack), one row per indicator, grouped by
    area."""
    cat = catalogue.load()
    rows = []
    for area in cat.areas:
        inds = cat.indicators_in(area["id"])
        if not inds:
            continue
        rows.append({"area": area["title"]})
        for ind in inds:
            m = model.indicators[ind.id]
            cur, lat = m["current"], m["latest"]
            term = P._field(m, "term_label")
            v = P.verdict_of(m)      # one verdict (marts.verdicts), the words the HTML page one uses
            status = v.get("status")
            words = (STATUS_WORDS.get(status, status) if status
                     else P.VERDICT_WORDS.get(v["verdict"], v["verdict"]) or NOT_APPLICABLE)
            rows.append({
                "area": None, "name": ind.short, "unit": ind.unit + (f", {term}" if term else _basis_short(m, ind)),
                "value": num(P._value(m), ind.decimals),
                "note": plain(P.value_html(ind, m))[len(num(P._value(m), ind.decimals)):].strip(),
                "target": num(P.target_of(m), ind.decimals) if model.accepted else P.NO_TARGET_WORDS,
                "status": words,
                "key": STATUS_KEY.get(status, "none"),
                "england": P.comparator(lat, "england", ind), "region": P.comparator(lat, "region", ind),
                "neighbours": num(lat.get("sn_mean"), ind.decimals), "rank": P.rank_band(lat),
                "previous": _previous(model, m, ind.decimals) if model.accepted else UNAVAILABLE,
                "change": P.change_words(ind, m)})
    return rows


# ------------------------------------------------------------------ page two
def _section(heading: str, items: list[str], empty: str, where: str = "the appendix") -> dict:
    more = None
    if len(items) > MAX_ITEMS:
        more = f"And {len(items) - MAX_ITEMS} more: see {where}."
    return {"heading": heading, "items": [_clip(x) for x in items[:MAX_ITEMS]], "empty": empty, "more": more}


def forecast_section(model) -> dict:
    """The year-end forecasts off course, then at risk, in words (reports/forecasts.py, marts.forecasts);
    those on course named in one line."""
    cat = catalogue.load()
    by: dict[str, list] = {"off course": [], "at risk": [], "on course": []}
    for ind in cat.indicators:
        f = model.indicators[ind.id].get("forecast") or {}
        if f.get("verdict") in by:
            by[f["verdict"]].append((ind, f))
    items = [f"{ind.short}: {forecasts.words(ind, f)}" for v in ("off course", "at risk") for ind, f in by[v]]
    if by["on course"]:
        items.append("On course: " + ", ".join(ind.short for ind, _ in by["on course"]) + ".")
    sec = _section(f"Forecast to the year end: {len(by['off course'])} off course, {len(by['at risk'])} at risk",
                   items, "No indicator has a year-end forecast verdict yet (too little data or no target).",
                   "page one of the web report")
    return sec


def _learn_from_section(model) -> list[dict]:
    """Who to learn from on the targets missed (reports.effective.learn_from), one line per target with
    someone to ask; nothing when no neighbour or LA in the region improved beyond noise."""
    cat = catalogue.load()
    items = []
    for ind_id, peers in (model.learn_from or {}).items():
        ind = cat.indicator(ind_id)
        if peers:
            why = model.learn_why.get(ind_id)
            items.append(f"{ind.short}{f' ({why})' if why else ''}: " + "; ".join(
                f"{p['name']} ({P.shown(p['change_value'], ind.decimals):+,.{ind.decimals}f} {P.change_unit(ind)})" for p in peers))
    if not items:
        return []
    return [_section(f"Who to learn from on the targets missed or forecast to be missed ({len(items)})", items, "",
                     "page one")]


def attention(model) -> list[dict]:
    """Everything the review should look at, across its items, each list in words."""
    q = period_label(model.period)
    out = []
    st = model.data_quality.get("status") or "not_received"
    if not model.accepted:
        why = {"rejected": "The return was rejected by the checks: its feedback says what to correct. No figure "
                           "from it, no trajectory and no plan is shown until a corrected return is accepted.",
               "held": "The return passed its checks but was held back by DfE's warehouse checks: "
                       + (model.notice.get("hold_reason") or "DfE will say why."),
               "not_received": "No return was received for the quarter."}.get(st, "")
        out.append({"heading": "The return", "items": [x for x in (plain(P.status_line(model)), why) if x],
                    "empty": "", "more": None})
    by = P._statuses(model)
    missed = []
    for ind in by["missed"]:
        m = model.indicators[ind.id]
        missed.append(f"{ind.short}: {P.with_unit(P._value(m), ind)} against a target of "
                      f"{P.with_unit(P.target_of(m), ind)}")
    if model.accepted:
        out.append(_section(f"Targets missed ({len(missed)})", missed, "None: every target with data was met or "
                            "within tolerance.", "page one"))
        out += _learn_from_section(model)
        within = [i.short for i in by["within tolerance"]]
        if within:
            out.append({"heading": f"Within tolerance ({len(within)})", "items": [", ".join(within) + "."],
                        "empty": "", "more": None})
    if model.accepted:
        out.append(forecast_section(model))
    up, down = P._movers(model)
    out.append(_section("Biggest deteriorations", [P._mover_item(i, m, c, b) for _, i, m, c, b in down[:3]],
                        "No indicator deteriorated meaningfully."))
    out.append(_section("Biggest improvements", [P._mover_item(i, m, c, b) for _, i, m, c, b in up[:3]],
                        "No indicator improved meaningfully."))
    own = (model.plan or {}).get("own") or {}
    if model.accepted and plan_mod._has_plan(model.plan or plan_mod.build_plan_empty()):
        ms = [m for m in own.get("milestones") or [] if m.get("slipped") or m.get("overdue")]
        items = []
        for m in ms:
            words = plan_mod._slip_words(m) if m["slippage_days"] else m["status"]
            due = ("due " + plan_mod.fmt_date(m["due"]) + ", not complete") if m.get("overdue") else \
                ("now " + plan_mod.fmt_date(m["due"]))
            items.append(f"{m['workstream']}: {m['milestone']} ({m['status']}; {words}; {due})")
        out.append(_section(f"Milestones slipped or overdue ({len(ms)})", items, "None slipped or overdue."))
        risks = [r for r in own.get("risks") or [] if r.get("residual_rag") == "Red" or r.get("movement") == "escalated"]
        items = [f"R{r['no']}. {r['description']}: residual {r['residual_rag']} ({r['residual_impact']}, "
                 f"{r['residual_likelihood']}); {plan_mod.MOVEMENT_WORDS.get(r['movement'], r['movement'])}"
                 for r in risks]
        out.append(_section(f"Risks red after mitigation or escalated ({len(risks)})", items,
                            "No risk is red after mitigation or escalated."))
        sv = plan_mod.spend_view(model.plan, model.period)
        over = [x for x in sv["rows"] if x["over"]]
        items = [f"{x['category']} ({x['funding_source']}): {x['actual_text']} spent against {x['projected_text']} "
                 f"projected to date ({x['variance_pct']})" for x in over]
        out.append(_section(f"Spend above plan ({len(over)})", items,
                            f"No spend line is more than {sv['margin']}% above its projection."))
    elif model.accepted:
        out.append({"heading": "Delivery plan", "items": [f"The return for {q} did not include the delivery plan, "
                    "risks or investment spend."], "empty": "", "more": None})
    queries = model.data_quality.get("queries") or []
    items = [f"{f['rule']} {(f.get('sheet') or '')}{'!' + f['cell'] if f.get('cell') else ''}: {f['message']}"
             + (f" (value: {f['value']})" if f.get("value") else "") for f in queries]
    if model.accepted:
        out.append(_section(f"Outstanding queries without a reason ({len(queries)})", items,
                            "No outstanding queries on this return.", "the appendix, data quality"))
    return out


def scorecard_data(model, version: int, issued: date, changed: list[str] | None, appendix_name: str | None) -> dict:
    q = period_label(model.period)
    reissue = None
    if version > 1:
        what = "; ".join(changed or []) or "no figures (re-issued)"
        reissue = f"Version {version}, re-issued {issued.day} {issued.strftime('%B %Y')}: figures changed for: {what}."
    note = ("The detail for each indicator (trajectory, neighbours, distribution, every figure), the delivery "
            "plan's milestones, risks and spend, data quality and notes are in the appendix"
            + (f", a separate file: {appendix_name}." if appendix_name else ".")
            + " Symbols: c suppressed, x not available, z not applicable.")
    return {
        "title": _title(model, "scorecard"), "footer": f"{model.name}, {q}. {SERVICE_FOOTER}",
        "caption": f"{q} quarterly data report: scorecard for the quarterly review",
        "la": {"name": model.name, "code": model.code, "region": model.region}, "meta": _meta(model, version, issued),
        "reissue": reissue, "status": _status(model), "lede": plain(P.lede(model)), "comparing": comparing(model),
        "table": {"caption": f"Every indicator, {q}: this authority's value, its target and status, England, "
                             f"{model.region} (region) and its statistical neighbours' average",
                  "head": ["Indicator", "Value", "Target", "Status", "England", "Region", "Neigh\u00adbours",
                           "Rank (band)", "Last quarter", "Change"],
                  "rows": glance_rows(model)},
        "key": "Rank 1 is best; bands run from A (best quarter of authorities) to D. Region: "
               f"{model.region}, pooled. Neighbours: the statistical neighbours' average. Last quarter: this "
               "authority's value for the previous quarter. Symbols: c suppressed, x not available, z not applicable.",
        "attention": attention(model), "appendix_note": note,
    }


# ------------------------------------------------------------------ the appendix: the pack's sections as blocks
# Which charts keep their table alternative in the appendix: the neighbours' comparison (each neighbour's value,
# c where suppressed, which the chart's alt text only summarises).  The trajectory's, the areas' and
# the distribution's figures are in each indicator's figures table and the chart's alt text; printing their tables
# too cost half the appendix's compile time (measured) and a third of its pages.
KEEP_TABLES = ("-bench",)


class _Blocks(HTMLParser):
    """The pack's section HTML as a flat list of blocks for Typst: headings, paragraphs, lists, tables,
    charts (its figure JSON drawn as SVG by reports.print_charts).  Text only: no markup passes through."""

    SKIP = {"script", "summary", "nav", "style"}

    def __init__(self, figures: dict):
        super().__init__(convert_charrefs=True)
        self.figures = figures
        self.blocks: list[dict] = []
        self.buf: list[str] = []
        self.skip = 0
        self.table = None
        self.cell = None
        self.row = None
        self.items = None
        self.item = None
        self.head_level = None
        self.in_caption = False
        self.chart_title = None
        self.in_chart_title = False
        self.in_desc = False
        self.num_cols = set()
        self.col = 0
        self.keep_details = False

    def _flush_par(self):
        text = " ".join("".join(self.buf).split())
        self.buf = []
        if text:
            self.blocks.append({"kind": "par", "text": text})

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag in self.SKIP or (tag == "details" and not self.keep_details):
            self.skip += 1
            return
        if self.skip:
            return
        if tag in ("span", "abbr", "strong", "em", "a") and "visually-hidden" not in cls:
            self._text(" ")   # inline pieces set side by side in HTML (a tag, then its note) never run together
        if re.fullmatch(r"h[1-6]", tag):
            self._flush_par()
            self.head_level = int(tag[1])
            self.head_page = "plan-start" in cls or a.get("id") in ("appendix",)
        elif tag == "p" or tag == "dl":
            if self.table is None and self.items is None:
                self._flush_par()
        elif tag in ("ul", "ol") and self.table is None:
            self._flush_par()
            self.items = []
        elif tag == "li" and self.items is not None:
            self.item = []
        elif tag == "table":
            self._flush_par()
            self.table = {"kind": "table", "caption": "", "head": [], "rows": [], "num": []}
            self.row = None
        elif tag == "caption":
            self.in_caption = True
            self.cap = []
        elif tag == "tr" and self.table is not None:
            self.row = []
            self.col = 0
        elif tag in ("td", "th") and self.table is not None:
            self.cell = []
            if "num" in cls and a.get("scope") == "col":
                self.table["num"].append(self.col)
            self._th_col = tag == "th" and a.get("scope") == "col"
            self.col += int(a.get("colspan") or 1)
        elif tag == "span" and "chart-title" in cls:
            self.in_chart_title = True
            self.chart_title = []
        elif tag == "span" and "chart-desc" in cls:
            self.in_desc = True
        elif tag == "div" and "chart" in cls and a.get("id") in self.figures:
            from .print_charts import svg, width_for, PRINT_WIDTH

            cid = a["id"]
            self.keep_details = cid.endswith(KEEP_TABLES)
            self._flush_par()
            self.blocks.append({"kind": "chart", "title": "".join(self.chart_title or []).strip(),
                                "alt": unescape(a.get("aria-label") or ""),
                                "svg": svg(self.figures[cid], width_for(cid)),
                                "width": round(min(1.0, width_for(cid) / PRINT_WIDTH), 3)})
        elif tag == "dt":
            self.buf.append("")
        elif tag == "dd":
            self.buf.append(": ")
        elif tag == "br":
            self._text(" ")
        elif tag in ("section",) and "plan-start" in cls:
            self.next_page = True

    def handle_endtag(self, tag):
        if tag in self.SKIP or (tag == "details" and not self.keep_details):
            self.skip -= 1
            return
        if self.skip:
            return
        if re.fullmatch(r"h[1-6]", tag) and self.head_level:
            text = " ".join("".join(self.buf).split())
            self.buf = []
            blk = {"kind": "heading", "level": self.head_level, "text": text}
            if getattr(self, "next_page", False) or self.head_page:
                blk["page"] = True
                self.next_page = False
            self.blocks.append(blk)
            self.head_level = None
        elif tag == "p" and self.table is None and self.items is None:
            self._flush_par()
        elif tag == "dt":
            pass
        elif tag == "dd":
            self._flush_par()
        elif tag == "li" and self.item is not None:
            self.items.append(" ".join("".join(self.item).split()))
            self.item = None
        elif tag in ("ul", "ol") and self.items is not None and self.table is None:
            if self.items:
                self.blocks.append({"kind": "list", "items": self.items})
            self.items = None
        elif tag == "caption":
            self.in_caption = False
            self.table["caption"] = " ".join("".join(self.cap).split())
        elif tag in ("td", "th") and self.cell is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            if not self.table["head"] and getattr(self, "_th_col", False):
                self.table["head"] = self.row
            else:
                self.table["rows"].append(self.row)
            self.row = None
        elif tag == "table" and self.table is not None:
            t = self.table
            n = len(t["head"]) or max((len(r) for r in t["rows"]), default=1)
            t["head"] = t["head"] or [""] * n
            t["rows"] = [(r + [""] * n)[:n] for r in t["rows"]]
            self.blocks.append(t)
            self.table = None
        elif tag == "span" and self.in_chart_title:
            self.in_chart_title = False
        elif tag == "span" and self.in_desc:
            self.in_desc = False

    def _text(self, data):
        if self.in_chart_title:
            self.chart_title.append(data)
            return
        if self.in_desc:
            return
        if self.in_caption:
            self.cap.append(data)
        elif self.cell is not None:
            self.cell.append(data)
        elif self.item is not None:
            self.item.append(data)
        else:
            self.buf.append(data)

    def handle_data(self, data):
        if self.skip:
            return
        self._text(data)

    def close(self):
        super().close()
        self._flush_par()


_FIGURE_JSON = re.compile(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', re.S)


_CHART_OR_DETAILS = re.compile(r'<div class="chart" id="([^"]+)"|<details\b.*?</details>', re.S)


def _drop_details(html: str) -> str:
    """The HTML without the table alternatives the appendix leaves out (every <details> but those after a
    KEEP_TABLES chart: _Blocks skips them anyway), so they are never parsed: they were half the tags
    (profiled)."""
    last = [""]

    def keep(m: re.Match) -> str:
        if m.group(1) is not None:
            last[0] = m.group(1)
            return m.group(0)
        return m.group(0) if last[0].endswith(KEEP_TABLES) else ""
    return _CHART_OR_DETAILS.sub(keep, html)


# The pack's own markup (reports.common.esc escapes every text and attribute), tokenised by two regular
# expressions instead of html.parser: parsing was the larger part of building the appendix (profiled).  A
# stray "<" that starts no tag is text, as html.parser has it.
_TOKEN = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s[^>]*)?)>|<!--.*?-->|([^<]+|<)", re.S)
_ATTR = re.compile(r"""([^\s=/>]+)(\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_RAW = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)   # skipped whole by _Blocks; their text is no markup


def _feed(p: _Blocks, html: str) -> None:
    """Calls ``p``'s handlers as html.parser would for this markup (tag and attribute names lower-cased,
    attribute values and text with their character references decoded)."""
    for m in _TOKEN.finditer(_RAW.sub("", html)):
        end, tag, attrs, text = m.groups()
        if text is not None:
            p.handle_data(unescape(text) if "&" in text else text)
        elif tag is None:
            continue   # a comment
        elif end:
            p.handle_endtag(tag.lower())
        else:
            pairs = [(k.lower(), unescape(v or w or x) if eq else None)
                     for k, eq, v, w, x in _ATTR.findall(attrs.rstrip("/"))] if attrs else []
            p.handle_starttag(tag.lower(), pairs)
            if attrs.endswith("/"):
                p.handle_endtag(tag.lower())


def blocks(html: str) -> list[dict]:
    figures = {cid: json.loads(body) for cid, body in _FIGURE_JSON.findall(html)}
    p = _Blocks(figures)
    _feed(p, _drop_details(_FIGURE_JSON.sub("", html)))
    p.close()
    return p.blocks


def appendix_html(model) -> str:
    """The pack's sections after page one, the same string the HTML pack shows (reports.pack.detail_html)."""
    return P.detail_html(model)


def appendix_data(model, version: int, issued: date) -> dict:
    q = period_label(model.period)
    bl = blocks(appendix_html(model))
    if not model.accepted:   # no return charts: said in one line, never a page of empty charts
        bl.insert(0, {"kind": "par", "text": f"The return for {q} was not accepted: no trajectory chart is drawn; "
                                             "the charts below are from the data DfE holds."})
    return {"title": _title(model, "appendix: detail behind the scorecard"),
            "footer": f"{model.name}, {q}, appendix. {SERVICE_FOOTER}",
            "caption": f"{q} quarterly data report: appendix to the scorecard",
            "la": {"name": model.name, "code": model.code, "region": model.region},
            "meta": _meta(model, version, issued), "status": _status(model), "blocks": bl}


# ------------------------------------------------------------------ compiling
@lru_cache(maxsize=None)
def _compiler():
    """One Typst compiler per process: fonts are found once, the templates read once."""
    import typst

    return typst.Compiler(root=str(TEMPLATES))


def compile_pdf(template: str, data: dict) -> bytes:
    return _compiler().compile(input=str(TEMPLATES / template), format="pdf",
                               sys_inputs={"data": json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)},
                               pdf_standards=PDF_STANDARDS)


_PAGE_COUNT = re.compile(rb"/Type\s*/Pages\s*/Count (\d+)")


def page_count(pdf: bytes) -> int | None:
    """The page count in the PDF's page tree, as Typst writes it (None if it cannot be read there)."""
    m = _PAGE_COUNT.search(pdf)
    return int(m.group(1)) if m else None


SCORECARD_STEPS = 5   # the sizes scorecard.typ tries for each part


def compile_scorecard(data: dict) -> bytes:
    """The scorecard, two pages: first laid out in its first sizes without measuring (most LAs: half the
    compile time), kept when that is two pages (with the page break between them, two pages means page one's
    table and key and page two's lists each fit their page); else compiled again, each part measured and set
    in the largest size that fits (scorecard.typ); else (the measuring can settle with the table at the top of
    page two, as for Isles of Scilly) both parts a size smaller at a time until it is two pages."""
    quick = compile_pdf("scorecard.typ", {**data, "fit": False})
    if page_count(quick) == 2:
        return quick
    fitted = compile_pdf("scorecard.typ", {**data, "fit": True})
    for step in range(1, SCORECARD_STEPS):
        if page_count(fitted) == 2:
            break
        fitted = compile_pdf("scorecard.typ", {**data, "fit": False, "step": step})
    return fitted


def file_names(slug: str) -> dict[str, str]:
    return {"pdf": f"{slug}.pdf", "pdf_appendix": f"{slug}-appendix.pdf"}


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_pack_pdfs(model, la_dir: Path, version: int = 1, issued: date | None = None,
                    changed: list[str] | None = None) -> list[Path]:
    """The scorecard and the appendix beside the pack; returns the files written ([] if either failed: a
    scorecard pointing at a missing appendix is not written)."""
    issued = issued or date.today()
    names = file_names(model.slug)
    la_dir = Path(la_dir)
    try:
        card = compile_scorecard(scorecard_data(model, version, issued, changed, names["pdf_appendix"]))
        app = compile_pdf("appendix.typ", appendix_data(model, version, issued))
    except Exception as exc:   # one pack's PDF failing must not stop the others
        log.warning("PDF failed for %s: %s", model.slug, exc)
        return []
    paths = [la_dir / names["pdf_appendix"], la_dir / names["pdf"]]
    _write(paths[0], app)
    _write(paths[1], card)
    return [paths[1], paths[0]]
