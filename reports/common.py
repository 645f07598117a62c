"""Shared pieces for packs and the overview: formatting, symbols, HTML shell, tables, chart blocks."""
from __future__ import annotations

import html
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources

from contracts import catalogue, inert
from contracts.catalogue import Indicator

# DfE's published symbols
SUPPRESSED, UNAVAILABLE, NOT_APPLICABLE, LOW = "c", "x", "z", "low"

# Suppression rule (documented in every pack's "About these figures"): a value about an LA other
# than the pack's own is shown as "c" when its numerator or denominator is a count of 1 to 4 (primary
# suppression; the marts' int_disclosure adds secondary suppression on top).
# Zero is not disclosive and is shown; levels without a denominator (money) are never suppressed.
SMALL_COUNT = 5

STATUS_CLASS = {"met": "tag-met", "within tolerance": "tag-within", "missed": "tag-missed"}
STATUS_WORDS = {"met": "Met", "within tolerance": "Within tolerance", "missed": "Missed"}

FOCUS, GREY, GREY_EDGE = "#12436D", "#BFBFBF", "#6f777b"
PALETTE = ("#12436D", "#28A197", "#801650", "#F46A25")
TEXT = "#0b0c0c"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif'


def esc(x) -> str:
    """Escaped for HTML text or an attribute.  Control and text-direction characters are dropped: the
    rules keep them out of accepted returns (E40, E41), and this holds for whatever else reaches a page."""
    s = "" if x is None else str(x)
    return html.escape(s if s.isprintable() else inert.clean(s), quote=True)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def is_suppressed(numerator, denominator, ind: Indicator | None = None) -> bool:
    """Primary suppression of another LA's value.  Prefer the benchmark mart's ``suppressed`` column
    (the marts apply the catalogue's rule, and secondary suppression builds on it).  Given ``ind``,
    a level or a rate of money is never suppressed: money and levels are not counts."""
    if ind is not None and not ind.small_count_suppression:
        return False
    for n in (numerator, denominator):
        if n is not None and 0 < n < SMALL_COUNT:
            return True
    return False


CHANGE_DIRECTIONS = ("improved", "worsened", "increased", "decreased", "no meaningful change", "not comparable")


def change_words(ind: Indicator, row: dict) -> str:
    """A trajectory or benchmark row's change in words, on the like-for-like basis the mart chose:
    "up 1.2 percentage points on the same term a year earlier (worsened)", "no meaningful change on
    the previous quarter", "not comparable: no same term a year earlier yet"."""
    direction = row.get("change_direction") or "not comparable"
    basis = row.get("change_basis") or "previous quarter"
    on = f"on the {basis}"
    if direction == "not comparable":
        return f"not comparable: {row.get('change_note') or 'no comparable period'}"
    delta = row.get("change_value")
    if direction == "no meaningful change" or delta is None:
        return f"no meaningful change {on}"
    word = "up" if delta > 0 else "down"
    return f"{word} {abs(shown(delta, ind.decimals)):,.{ind.decimals}f} {change_unit(ind)} {on} ({direction})"


def judge_change(ind: Indicator, change) -> str:
    """The one rule for what a change means (int_indicator_verdicts says the same in SQL): within the
    catalogue's no-change band once rounded as shown is "no meaningful change"; a neutral indicator
    increased or decreased; otherwise improved or worsened by its polarity; no change: not comparable."""
    if change is None:
        return "not comparable"
    if abs(shown(change, ind.decimals)) <= (getattr(ind, "no_change_band", 0.0) or 0.0) + 1e-9:
        return "no meaningful change"
    if ind.polarity == "neutral":
        return "increased" if change > 0 else "decreased"
    return "improved" if (ind.polarity == "high") == (change > 0) else "worsened"


def quarter_number(period: str) -> int | None:
    return int(period.rsplit("-Q", 1)[1]) if "-Q" in period else None


def shift_quarters(period: str, n: int) -> str:
    """'2026-27-Q2' shifted by n quarters (negative: earlier)."""
    i = int(period[:4]) * 4 + (quarter_number(period) or 4) - 1 + n
    y, q = divmod(i, 4)
    return f"{y}-{str(y + 1)[2:]}-Q{q + 1}"


def on_basis(ind: Indicator, value, period: str):
    """A value on the basis changes are judged on: a year-to-date count that accumulates (compare_targets
    pro_rata) scaled to a full year (x 4/n at Qn), as the packs and int_indicator_verdicts do; else as is."""
    if value is None or getattr(ind, "compare_targets", "as_is") != "pro_rata" or not quarter_number(period):
        return value
    return value * 4.0 / quarter_number(period)


def compare_quarters(ind: Indicator, values: dict[str, float], period: str) -> dict:
    """The packs' change rule applied to any series of quarterly values (e.g. England's): a seasonal
    (termly) measure against the same quarter a year earlier, never the previous term; others against the
    previous quarter, annualised when the value accumulates; judged with the no-change band.  Returns
    {direction, change, basis, then, now, then_period} (then/now on the basis compared)."""
    if getattr(ind, "seasonal", False):
        then_p = shift_quarters(period, -4)
        basis = "same term a year earlier" if getattr(ind, "period_basis", "") == "term" else "same quarter a year earlier"
    else:
        then_p = shift_quarters(period, -1)
        basis = "previous quarter, annualised" if getattr(ind, "compare_targets", "") == "pro_rata" else "previous quarter"
    now, then = values.get(period), values.get(then_p)
    if getattr(ind, "seasonal", False):
        a, b = now, then
    else:
        a, b = on_basis(ind, now, period), on_basis(ind, then, then_p)
    change = None if a is None or b is None else a - b
    return {"direction": judge_change(ind, change), "change": change, "basis": basis, "then": b, "now": a,
            "then_period": then_p}


def period_label(period: str) -> str:
    """'2026-27-Q2' -> 'Q2 2026-27'; '2026-27' -> '2026-27 (year end)'."""
    if "-Q" in period:
        year, q = period.rsplit("-", 1)
        return f"{q} {year}"
    return f"{period} (year end)"


def prev_quarter(period: str) -> str:
    year, q = period.rsplit("-", 1)
    n = int(q[1])
    if n > 1:
        return f"{year}-Q{n - 1}"
    y0 = int(year[:4]) - 1
    return f"{y0}-{str(y0 + 1)[2:]}-Q4"


def period_key(period: str) -> tuple:
    """Sort key: quarters within a year, then the year end."""
    if "-Q" in period:
        year, q = period.rsplit("-", 1)
        return (year, int(q[1]))
    return (period, 5)


def shown(v, decimals: int) -> float:
    """v rounded as the warehouse rounds it (DuckDB round(): the exact value, halves away from zero).

    Python's round() sends exact halves to even (12.25 -> 12.2), DuckDB's to 12.3; a status judged
    in the marts at the displayed precision must agree with the figure the pack prints.
    """
    f = float(v)
    q = round(f, decimals)
    # round() is exact (the float nearest the correctly rounded decimal) except at a tie, where it goes to
    # even; only a value within a hair of a half at the displayed precision takes the (10x slower) decimal
    # rule, which a pack asks ~1,500 times
    if abs(abs(f - q) * 10.0 ** decimals - 0.5) > 1e-6:
        return q
    return float(Decimal(f).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP))


def num(v, decimals: int) -> str:
    """A value for display, rounded to the catalogue's decimals ('x' when missing)."""
    if v is None:
        return UNAVAILABLE
    if isinstance(v, str):
        return v
    r = shown(float(v), decimals)
    if r == 0 and v != 0:
        return LOW
    return f"{r:,.{decimals}f}"


def with_unit(v, ind: Indicator) -> str:
    s = num(v, ind.decimals)
    if s in (UNAVAILABLE, SUPPRESSED, NOT_APPLICABLE, LOW):
        return s
    if ind.unit == "%":
        return f"{s}%"
    if ind.unit == "GBP m":
        return f"-£{s[1:]}m" if s.startswith("-") else f"£{s}m"
    return f"{s} {ind.unit}"


def change_unit(ind: Indicator) -> str:
    return "percentage points" if ind.unit == "%" else ind.unit


def better(ind: Indicator, delta) -> bool | None:
    """Is a change in this direction an improvement?  None for neutral indicators or no change."""
    if delta is None or ind.polarity == "neutral" or shown(delta, ind.decimals) == 0:
        return None
    return (delta > 0) if ind.polarity == "high" else (delta < 0)


def change_text(ind: Indicator, delta) -> str:
    if delta is None:
        return UNAVAILABLE
    r = shown(delta, ind.decimals)
    if r == 0:
        return "no change"
    word = "up" if r > 0 else "down"
    s = f"{word} {abs(r):,.{ind.decimals}f} {change_unit(ind)}"
    b = better(ind, delta)
    if b is not None:
        s += " (better)" if b else " (worse)"
    return s


def words(s: str) -> int:
    return len(s.split())


def active_title(*candidates: str) -> str:
    """The first candidate of 10 words or fewer (GSS: short active titles)."""
    for c in candidates:
        if words(c) <= 10:
            return c
    return " ".join(candidates[-1].split()[:10])


def status_tag(status: str | None) -> str:
    """A status as a tag; no status is the EES symbol z (not applicable), as in every table and download."""
    if not status:
        return f'<span class="tag tag-none">{NOT_APPLICABLE}</span>'
    return f'<span class="tag {STATUS_CLASS.get(status, "tag-none")}">{esc(STATUS_WORDS.get(status, status))}</span>'


def table(caption: str, head: list[str], rows: list[list], row_header: bool = True, num_cols: set[int] | None = None,
          raw_cols: set[int] | None = None) -> str:
    """An accessible table: caption, th scope=col, first cell of each row a th scope=row."""
    num_cols = num_cols or set()
    raw_cols = raw_cols or set()
    # a focusable scroll container: a wide table scrolls inside itself, the page never scrolls sideways
    out = [f'<div class="table-scroll" role="region" tabindex="0" aria-label="{esc(caption)}">'
           f"<table><caption>{esc(caption)}</caption><thead><tr>"]
    for i, h in enumerate(head):
        cls = ' class="num"' if i in num_cols else ""
        out.append(f'<th scope="col"{cls}>{esc(h)}</th>')
    out.append("</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>")
        for i, cell in enumerate(r):
            txt = cell if i in raw_cols else esc(cell)
            cls = ' class="num"' if i in num_cols else ""
            if i == 0 and row_header:
                out.append(f'<th scope="row"{cls}>{txt}</th>')
            else:
                out.append(f"<td{cls}>{txt}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _json(fig: dict) -> str:
    # keep "</script>" impossible inside the JSON block
    return json.dumps(fig, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")


def chart_block(chart_id: str, title: str, alt: str, fig: dict, table_html: str, summary: str) -> str:
    """A figure: active title + description in a figcaption, the chart container (role=img, aria-label,
    keyboard focusable), its figure JSON, and a <details> table alternative."""
    return (
        f'<figure class="chart-figure" aria-labelledby="{chart_id}-title">'
        f'<figcaption><span class="chart-title" id="{chart_id}-title">{esc(title)}</span>'
        f'<span class="chart-desc">{esc(alt)}</span></figcaption>'
        f'<div class="chart" id="{chart_id}" role="img" tabindex="0" aria-label="{esc(title + ". " + alt)}"></div>'
        f'<script type="application/json" data-chart="{chart_id}">{_json(fig)}</script>'
        f"<details><summary>{esc(summary)}</summary>{table_html}</details>"
        "</figure>"
    )


def static_text(name: str) -> str:
    return resources.files("reports").joinpath("static", name).read_text(encoding="utf-8")


NAV_HERE = "<!--nav-->"   # where page() puts the contents list (after the h1)


def page(title: str, body: str, nav: list[tuple[str, str]] | None, plotly_src: str | None, service: str,
         home_href: str | None = None) -> str:
    """The GOV.UK-like shell: lang, title, skip link, header/nav/main/footer landmarks."""
    nav_html = ""
    if nav:
        items = "".join(f'<li><a href="#{esc(a)}">{esc(t)}</a></li>' for a, t in nav)
        nav_html = f'<nav class="contents" aria-label="Contents"><h2>Contents</h2><ul>{items}</ul></nav>'
    home = f'<a href="{esc(home_href)}">{esc(service)}</a>' if home_href else esc(service)
    scripts = ""
    if plotly_src:
        scripts = (f'<script src="{esc(plotly_src)}" charset="utf-8"></script>'
                   f'<script type="application/json" id="chart-base">{_json(BASE_LAYOUT)}</script>'
                   f'<script>{static_text("render.js")}</script>')
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{static_text('reports.css')}</style></head><body>"
        '<a class="skip-link" href="#main">Skip to main content</a>'
        f'<header class="site"><div class="container"><p>{home}</p></div></header>'
        f'<div class="container"><main id="main" tabindex="-1">{body.replace(NAV_HERE, nav_html)}</main></div>'
        '<footer class="site"><div class="container"><p>Department for Education: Local SEND Reform Plans, '
        "quarterly data reports. Official statistics in development; figures are provisional.</p></div></footer>"
        f"{scripts}</body></html>\n"
    )


# ------------------------------------------------------------------ figure dict helpers
BASE_LAYOUT = {
    "margin": {"l": 60, "r": 20, "t": 30, "b": 50},
    "font": {"family": FONT, "color": TEXT, "size": 13},
    "paper_bgcolor": "#ffffff",
    "plot_bgcolor": "#ffffff",
    "showlegend": False,
    "hoverlabel": {"bgcolor": "#ffffff", "font": {"color": TEXT}},
    "legend": {"font": {"color": TEXT}},
    "xaxis": {"gridcolor": "#e5e6e7", "linecolor": TEXT, "tickfont": {"color": TEXT}, "zeroline": False},
    "yaxis": {"gridcolor": "#e5e6e7", "linecolor": TEXT, "tickfont": {"color": TEXT}, "zeroline": False},
}


def merge(base: dict, over: dict) -> dict:
    """Deep merge (the same as render.js does in the browser)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def base_layout(height: int, **kw) -> dict:
    """A chart's own layout; the shared BASE_LAYOUT is written once per page and merged in the browser."""
    return {"height": height, **kw}


def full_figure(fig: dict) -> dict:
    """The figure exactly as the browser draws it (for validation with plotly.graph_objects)."""
    return {"data": fig["data"], "layout": merge(BASE_LAYOUT, fig["layout"])}


def r(v, decimals: int):
    """Round for chart JSON (2 digits beyond display, keeps files small)."""
    return None if v is None else round(float(v), decimals + 2)


def area_sections(render, section_class: str = "", level: int = 2) -> tuple[list[tuple[str, str]], str]:
    """A heading per catalogue area and a section per indicator, in catalogue order: the one place the
    section structure of the packs and the overview comes from.  ``render(ind)`` gives a section's body;
    ``level`` is the areas' heading level (indicators one below)."""
    nav, out = [], []
    cls = f' class="{section_class}"' if section_class else ""
    h, hi = f"h{level}", f"h{level + 1}"
    for area in catalogue.load().areas:
        inds = catalogue.load().indicators_in(area["id"])
        if not inds:
            continue
        nav.append((f"area-{area['id']}", area["title"]))
        out.append(f'<{h} id="area-{esc(area["id"])}">{esc(area["title"])}</{h}>')
        for ind in inds:
            out.append(f'<section{cls} aria-labelledby="ind-{esc(ind.id)}"><{hi} id="ind-{esc(ind.id)}">'
                       f"{esc(ind.name)}</{hi}>{render(ind)}</section>")
    return nav, "".join(out)


FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A value safe to write to a CSV or XLSX cell: text from a return that a spreadsheet would run
    as a formula (starting =, +, -, @, tab or carriage return) gets a leading apostrophe, as OWASP
    advises against CSV injection.  Numbers, dates and None pass through, so "-3" typed as a number
    stays a number."""
    if isinstance(value, str) and not value.isprintable():
        value = inert.clean(value, keep_lines=True)   # no control or bidi character reaches a download
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
