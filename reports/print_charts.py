"""The printed pack's charts as static SVG, drawn server-side from the same plotly figure dicts (reports.charts).

The PDF needs no plotly: drawing ~70 charts with plotly.js in chromium cost ~2.5 s a pack, and its SVG made the
PDFs heavy.  This draws the subset of plotly the packs use: scatter traces (lines, markers, text) and bars (either
orientation, overlaid), on category or linear axes, with line shapes, annotations and a horizontal legend.  It
draws what the figure dict says, so the print shows the same numbers as the screen: value labels are the
figure's own text (formatted by reports.common.shown), and line dash, marker shape and labels tell the series
apart without colour, as on screen.  A figure using anything else raises Unsupported, and its page is printed
with plotly as before.

``print_html(html)`` turns a pack's HTML into its print HTML: each chart container gets its SVG, the figure
JSON and the plotly scripts are dropped and the table alternatives are opened (render.js opens them on print).
"""
from __future__ import annotations

import base64
import json
import math
import re
from functools import lru_cache
from html import unescape

from .common import BASE_LAYOUT, FONT, TEXT, merge
from .charts import wrap

# Chart widths in CSS px as printed (A4 less margins, less the container's padding); the area charts sit two
# to a row (.area-grid).  The SVG scales to its container, so these only set the text size relative to it.
PRINT_WIDTH = 678
NARROW = {"c-area-": 329}
CHAR_W = 0.56           # mean glyph width of the sans-serif UI fonts, in ems (for margins and wrapping)
LINE_H = 1.2


class Unsupported(ValueError):
    """A figure this module does not draw (its page is printed with plotly)."""


@lru_cache(maxsize=2)
def _template(name: str):
    from jinja2 import Environment, PackageLoader

    env = Environment(loader=PackageLoader("reports", "templates"), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    return env.get_template(name)


# ------------------------------------------------------------------ small helpers
def _f(v: float) -> str:
    """A coordinate: one decimal is enough at print resolution and keeps the PDF small."""
    return f"{v:.1f}".removesuffix(".0")


def _lines(text) -> list[str]:
    return str(text).split("<br>") if text is not None else []


def rewrap(label: str, width: int) -> str:
    """A label's words on lines of up to ``width`` characters (plotly's <br> line breaks)."""
    return wrap(" ".join(_lines(label)), width)


def text_width(text: str, size: float) -> float:
    return max((len(x) for x in _lines(text)), default=0) * size * CHAR_W


def _dash(dash: str | None, width: float) -> str:
    """plotly's dash patterns, scaled by line width as plotly scales them."""
    d = max(width, 3)
    return {"dot": f"{d},{d}", "dash": f"{3 * d},{3 * d}", "longdash": f"{5 * d},{5 * d}",
            "dashdot": f"{3 * d},{d},{d},{d}", "longdashdot": f"{5 * d},{2 * d},{d},{2 * d}"}.get(dash or "", "")


def nice_ticks(lo: float, hi: float, target: int) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks


def tick_text(v: float, ticks: list[float]) -> str:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1
    dec = 0
    while dec < 6 and abs(round(step * 10 ** dec) - step * 10 ** dec) > 1e-6:
        dec += 1
    s = f"{abs(v):,.{dec}f}"
    return ("\u2212" + s) if v < 0 and s.strip("0.,") else s


# ------------------------------------------------------------------ axes
class Axis:
    """One axis: category (band per category) or linear; maps a value to a pixel."""

    def __init__(self, spec: dict, letter: str, traces: list[dict], shapes: list[dict], is_bar_value: bool):
        self.spec = spec
        self.letter = letter
        self.reversed = spec.get("autorange") == "reversed"
        vals = [v for t in traces for v in _values(t, letter)]
        self.category = spec.get("type") == "category" or any(isinstance(v, str) for v in vals)
        if self.category:
            cats = list(spec.get("categoryarray") or [])
            # each category's place, looked up once per bar (a distribution has ~150: a list's index() was
            # quadratic, and the larger part of drawing it)
            self.index = {}
            for i, c in enumerate(cats):
                self.index.setdefault(c, i)
            for v in vals:
                if v is not None and v not in self.index:
                    self.index[v] = len(cats)
                    cats.append(v)
            self.cats = cats
            self.labels: dict[str, str] = {}
            self.lo, self.hi = -0.5, len(cats) - 0.5
            return
        nums = [float(v) for v in vals if v is not None]
        nums += [float(s[f"{letter}{k}"]) for s in shapes if s.get(f"{letter}ref") == letter for k in (0, 1)]
        if spec.get("range"):
            self.lo, self.hi = map(float, spec["range"])
        elif any(t.get("type") == "bar" and _bar_pos_letter(t) == letter for t in traces):
            # bars' positions: a unit band around each
            self.lo, self.hi = min(nums, default=0) - 0.5, max(nums, default=1) + 0.5
        else:
            tozero = spec.get("rangemode") == "tozero" or is_bar_value
            lo, hi = min(nums, default=0), max(nums, default=1)
            if tozero:
                lo, hi = min(lo, 0), max(hi, 0)
            span = (hi - lo) or abs(hi) or 1
            # plotly pads an autorange by ~5% for markers; bars keep their zero end
            self.lo = lo if (tozero and lo == 0) else lo - 0.05 * span
            self.hi = hi if (tozero and hi == 0) else hi + 0.05 * span
            if self.hi <= self.lo:      # every value zero: plotly's 0 to 1
                self.hi = self.lo + 1
        self.p0 = self.p1 = 0.0

    def place(self, p0: float, p1: float) -> None:
        """Pixel range: x left to right; y bottom to top (p0 > p1)."""
        self.p0, self.p1 = (p1, p0) if self.reversed else (p0, p1)

    def px(self, v) -> float | None:
        if v is None:
            return None
        if self.category:
            v = self.index.get(v)
            if v is None:
                return None
        return self.p0 + (float(v) - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def band(self) -> float:
        return abs(self.p1 - self.p0) / max(self.hi - self.lo, 1e-9)

    def ticks(self) -> list[tuple[float, str]]:
        if self.category:
            return [(c, self.labels.get(c, c)) for c in self.cats]
        if self.spec.get("showticklabels") is False and self.spec.get("showgrid") is False:
            return []
        if self.spec.get("tickvals"):
            vals = [float(v) for v in self.spec["tickvals"]]
        else:
            length = abs(self.p1 - self.p0)
            vals = nice_ticks(self.lo, self.hi, max(2, int(length / (80 if self.letter == "x" else 45))))
            vals = [v for v in vals if self.lo - 1e-9 <= v <= self.hi + 1e-9]
        return [(v, tick_text(v, vals)) for v in vals]


def _bar_pos_letter(t: dict) -> str:
    return "y" if t.get("orientation") == "h" else "x"


def _values(t: dict, letter: str) -> list:
    if letter in t:
        return list(t[letter])
    if t.get("type") == "bar" and f"{letter}0" in t:     # x0/dx: positions generated
        other = "y" if letter == "x" else "x"
        n = len(t.get(other) or [])
        return [t[f"{letter}0"] + i * t.get(f"d{letter}", 1) for i in range(n)]
    return []


def _per_point(v, i: int, default=None):
    if isinstance(v, list):
        return v[i] if i < len(v) else default
    return default if v is None else v


# ------------------------------------------------------------------ markers
def marker_path(symbol: str, x: float, y: float, size: float) -> str:
    r = size / 2
    base = symbol.replace("-open", "")
    if base == "square":
        return f"M{_f(x - r)},{_f(y - r)}H{_f(x + r)}V{_f(y + r)}H{_f(x - r)}Z"
    if base == "diamond":
        d = r * 1.3
        return f"M{_f(x)},{_f(y - d)}L{_f(x + d)},{_f(y)}L{_f(x)},{_f(y + d)}L{_f(x - d)},{_f(y)}Z"
    if base == "triangle-up":
        t = r * 2 / math.sqrt(3)
        return f"M{_f(x - t)},{_f(y + r / 2 + 1)}H{_f(x + t)}L{_f(x)},{_f(y - r - 1)}Z"
    if base == "circle":
        return (f"M{_f(x - r)},{_f(y)}A{_f(r)},{_f(r)} 0 1,1 {_f(x + r)},{_f(y)}"
                f"A{_f(r)},{_f(r)} 0 1,1 {_f(x - r)},{_f(y)}Z")
    raise Unsupported(f"marker symbol {symbol!r}")


def marker_item(symbol: str, x: float, y: float, size: float, colour: str, line: dict) -> dict:
    open_ = symbol.endswith("-open")
    stroke = line.get("color") or colour
    width = line.get("width", 2 if open_ else 0)
    if isinstance(stroke, list) or isinstance(width, list):
        raise Unsupported("per-point marker lines")
    return {"kind": "path", "d": marker_path(symbol, x, y, size), "fill": "#ffffff" if open_ else colour,
            "stroke": stroke if width else "none", "width": width}


# ------------------------------------------------------------------ the chart
class Chart:
    def __init__(self, fig: dict, width: int):
        self.layout = merge(BASE_LAYOUT, fig.get("layout") or {})
        self.traces = fig.get("data") or []
        for t in self.traces:
            if t.get("type") not in ("scatter", "bar"):
                raise Unsupported(f"trace type {t.get('type')!r}")
            if t.get("type") == "bar" and self.layout.get("barmode") not in (None, "overlay", "group") \
                    and len(self.traces) > 1:
                raise Unsupported("stacked bars")
        self.w = width
        self.h = float(self.layout.get("height") or 450)
        font = self.layout.get("font") or {}
        self.size = float(font.get("size") or 12)
        self.colour = font.get("color") or TEXT
        self.items: list[dict] = []
        shapes = self.layout.get("shapes") or []
        bar_value = {("x" if t.get("orientation") == "h" else "y") for t in self.traces if t.get("type") == "bar"}
        self.x = Axis(self.layout.get("xaxis") or {}, "x", self.traces, shapes, "x" in bar_value)
        self.y = Axis(self.layout.get("yaxis") or {}, "y", self.traces, shapes, "y" in bar_value)

    # -- text
    def text(self, x: float, y: float, text, anchor: str = "start", size: float | None = None,
             valign: str = "middle", rotate: float | None = None, bg: bool = False, border: str | None = None):
        lines = _lines(text)
        s = size or self.size
        lh = s * LINE_H
        block = lh * len(lines)
        top = {"middle": y - block / 2, "bottom": y - block, "top": y}[valign]
        if bg or border:
            tw = text_width(text, s)
            left = {"start": x, "middle": x - tw / 2, "end": x - tw}[anchor]
            self.items.append({"kind": "rect", "x": _f(left - 3), "y": _f(top - 1), "w": _f(tw + 6), "h": _f(block + 2),
                               "fill": "#ffffff", "stroke": border, "width": 1})
        self.items.append({"kind": "text", "x": _f(x), "y": _f(top + lh / 2 + 0.35 * s), "anchor": anchor,
                           "size": _f(size) if size else None, "lines": lines, "lh": _f(lh), "rotate": rotate})

    def _legend_rows(self, shown: list[dict], width: float) -> list[list[dict]]:
        rows, cur, used = [], [], 0.0
        for t in shown:
            need = 44 + text_width(t.get("name") or "", self.size) + 16
            if cur and used + need > width:
                rows.append(cur)
                cur, used = [], 0.0
            cur.append(t)
            used += need
        if cur:
            rows.append(cur)
        return rows

    # -- layout
    def draw(self) -> dict:
        m = dict(self.layout.get("margin") or {})
        ml, mr, mt, mb = (float(m.get(k, d)) for k, d in (("l", 80), ("r", 80), ("t", 100), ("b", 80)))
        lh = self.size * LINE_H
        xa, ya = self.layout.get("xaxis") or {}, self.layout.get("yaxis") or {}
        xtitle, ytitle = (xa.get("title") or {}).get("text"), (ya.get("title") or {}).get("text")
        # the y axis's labels and title set the left margin (plotly's automargin does the same); the page is
        # wider than a phone, so category labels (wrapped for narrow screens) are re-wrapped to the room a print
        # chart has: the same words and numbers on fewer lines
        ylab = 0.0
        if self.y.category:
            room = max(20, int(0.36 * self.w / (self.size * CHAR_W)))
            self.y.labels = {c: rewrap(c, room) for c in self.y.cats}
            ylab = max((text_width(c, self.size) for c in self.y.labels.values()), default=0)
        ml = max(ml, ylab + 10 + (lh + 4 if ytitle else 0))
        # numeric y labels: measured once the range is known; leave room for e.g. "1,250"
        if not self.y.category and ya.get("showticklabels", True):
            ml = max(ml, 6 * self.size * CHAR_W + 10 + (lh + 4 if ytitle else 0))
        legend = [t for t in self.traces if self.layout.get("showlegend") and t.get("name")]
        legend_rows = self._legend_rows(legend, self.w - ml - mr) if legend else []
        x_lines = max((len(_lines(c)) for c in self.x.cats), default=1) if self.x.category else 1
        x_labels = 0 if xa.get("showticklabels") is False else x_lines * lh + 6
        need_b = x_labels + (lh + 4 if xtitle else 0) + len(legend_rows) * (lh + 6) + (8 if legend_rows else 4)
        mb = max(mb, need_b)
        plot_min = 60.0
        self.y_tick_size = self.size
        if self.y.category:
            # each category's band holds its label's lines: in a smaller font down to 11 px, else the chart grows
            lines = max((len(_lines(c)) for c in self.y.labels.values()), default=1)
            band = (self.h - mt - mb) / max(len(self.y.cats), 1)
            self.y_tick_size = max(11.0, min(self.size, (band - 2) / (lines * LINE_H)))
            plot_min = max(plot_min, len(self.y.cats) * (lines * self.y_tick_size * LINE_H + 2))
        if self.h - mt - mb < plot_min:  # never squeeze the plot: the page has room, the chart grows
            self.h = mt + mb + plot_min
        self.x.place(ml, self.w - mr)
        self.y.place(self.h - mb, mt)
        self.plot = (ml, mt, self.w - mr, self.h - mb)
        self._grid_and_ticks(xtitle, ytitle, x_labels, ml)
        for t in self.traces:
            if t["type"] == "bar":
                self._bars(t)
        for s in self.layout.get("shapes") or []:
            self._shape(s)
        for t in self.traces:
            if t["type"] == "scatter":
                self._scatter(t)
        for a in self.layout.get("annotations") or []:
            self._annotation(a)
        if legend_rows:
            self._legend(legend_rows, self.h - mb + x_labels + (lh + 4 if xtitle else 0) + 6)
        return {"w": _f(self.w), "h": _f(self.h), "items": self.items, "font": FONT, "size": _f(self.size),
                "colour": self.colour}

    def _grid_and_ticks(self, xtitle, ytitle, x_labels, ml) -> None:
        x0, y0, x1, y1 = self.plot
        xa, ya = self.layout.get("xaxis") or {}, self.layout.get("yaxis") or {}
        grid = "#e5e6e7"
        for axis, spec in ((self.x, xa), (self.y, ya)):
            ticks = axis.ticks()
            tick_size = self.size
            if axis.category and axis.letter == "x" and ticks:
                # category labels under a crowded axis: a smaller font rather than overlapping labels
                widest = max(text_width(c, 1) for _, c in ticks)
                tick_size = max(8.0, min(self.size, 0.95 * axis.band() / max(widest, 1e-9)))
            for v, label in ticks:
                p = axis.px(v)
                if spec.get("showgrid", True) and not axis.category:
                    if axis.letter == "x":
                        self.items.append({"kind": "line", "x1": _f(p), "y1": _f(y0), "x2": _f(p), "y2": _f(y1),
                                           "stroke": spec.get("gridcolor", grid), "width": 1})
                    else:
                        self.items.append({"kind": "line", "x1": _f(x0), "y1": _f(p), "x2": _f(x1), "y2": _f(p),
                                           "stroke": spec.get("gridcolor", grid), "width": 1})
                if spec.get("showticklabels") is False:
                    continue
                if axis.letter == "x":
                    self.text(p, y1 + 4, label, "middle", size=tick_size if tick_size != self.size else None,
                              valign="top")
                else:
                    self.text(x0 - 6, p, label, "end",
                              size=self.y_tick_size if self.y_tick_size != self.size else None)
        if xtitle:
            self.text((x0 + x1) / 2, y1 + x_labels + 2, xtitle, "middle", valign="top")
        if ytitle:
            cx = 4 + self.size * LINE_H / 2
            self.text(cx, (y0 + y1) / 2, ytitle, "middle", rotate=-90)

    # -- traces
    def _bars(self, t: dict) -> None:
        horiz = t.get("orientation") == "h"
        pos_axis, val_axis = (self.y, self.x) if horiz else (self.x, self.y)
        pos_letter = "y" if horiz else "x"
        positions = _values(t, pos_letter)
        vals = t.get("x" if horiz else "y") or []
        marker = t.get("marker") or {}
        line = marker.get("line") or {}
        gap = float(self.layout.get("bargap", 0.2))
        thick = pos_axis.band() * (1 - gap)
        zero = val_axis.px(0.0) if not val_axis.category else None
        zero = min(max(zero, min(val_axis.p0, val_axis.p1)), max(val_axis.p0, val_axis.p1))
        # one path per fill and edge: a distribution's 150 bars are one PDF object, not 150
        groups: dict[tuple, list[str]] = {}
        for i, (p, v) in enumerate(zip(positions, vals)):
            if v is None or p is None:
                continue
            c, e = pos_axis.px(p), val_axis.px(v)
            stroke = _per_point(line.get("color"), i)
            width = _per_point(line.get("width"), i, 0) if stroke else 0
            key = (_per_point(marker.get("color"), i, "#1f77b4"), stroke if width else "none", width)
            lo, hi = sorted((zero, e))
            if horiz:
                d = f"M{_f(lo)},{_f(c - thick / 2)}h{_f(max(hi - lo, 0.5))}v{_f(thick)}h{_f(-max(hi - lo, 0.5))}Z"
            else:
                d = f"M{_f(c - thick / 2)},{_f(lo)}h{_f(thick)}v{_f(max(hi - lo, 0.5))}h{_f(-thick)}Z"
            groups.setdefault(key, []).append(d)
        for (fill, stroke, width), ds in groups.items():
            self.items.append({"kind": "path", "d": "".join(ds), "fill": fill, "stroke": stroke, "width": width})

    def _scatter(self, t: dict) -> None:
        mode = t.get("mode") or "lines+markers"
        xs, ys = t.get("x") or [], t.get("y") or []
        pts = [(self.x.px(a), self.y.px(b)) for a, b in zip(xs, ys)]
        line = t.get("line") or {}
        if "lines" in mode:
            seg: list[tuple[float, float]] = []
            for p in pts + [(None, None)]:     # a gap (None) breaks the line, as plotly's connectgaps=False
                if p[0] is None or p[1] is None:
                    if len(seg) > 1:
                        w = float(line.get("width", 2))
                        self.items.append({"kind": "polyline", "points": " ".join(f"{_f(a)},{_f(b)}" for a, b in seg),
                                           "stroke": line.get("color") or TEXT, "width": _f(w),
                                           "dash": _dash(line.get("dash"), w)})
                    seg = []
                else:
                    seg.append(p)
        marker = t.get("marker") or {}
        if "markers" in mode:
            for i, (a, b) in enumerate(pts):
                if a is None or b is None:
                    continue
                self.items.append(marker_item(_per_point(marker.get("symbol"), i, "circle"), a, b,
                                              float(_per_point(marker.get("size"), i, 6)),
                                              _per_point(marker.get("color"), i, TEXT), marker.get("line") or {}))
        if "text" in mode:
            tf = t.get("textfont") or {}
            size = tf.get("size")
            for i, (a, b) in enumerate(pts):
                label = _per_point(t.get("text"), i)
                if a is None or b is None or label in (None, ""):
                    continue
                where = _per_point(t.get("textposition"), i, "middle center")
                gap = float(_per_point(marker.get("size"), i, 6)) / 2 + 3
                if where.startswith("top"):
                    self.text(a, b - gap, label, "middle", size=size, valign="bottom")
                elif where.endswith("right"):
                    self.text(a + gap, b, label, "start", size=size)
                elif where.endswith("left"):
                    self.text(a - gap, b, label, "end", size=size)
                else:
                    self.text(a, b, label, "middle", size=size)

    def _shape(self, s: dict) -> None:
        if s.get("type") != "line":
            raise Unsupported(f"shape {s.get('type')!r}")
        x0, y0, x1, y1 = self.plot

        def at(axis: Axis, ref: str, v, lo: float, hi: float) -> float:
            return lo + float(v) * (hi - lo) if ref == "paper" else axis.px(v)
        ln = s.get("line") or {}
        w = float(ln.get("width", 2))
        self.items.append({"kind": "line", "x1": _f(at(self.x, s.get("xref", "x"), s["x0"], x0, x1)),
                           "x2": _f(at(self.x, s.get("xref", "x"), s["x1"], x0, x1)),
                           "y1": _f(at(self.y, s.get("yref", "y"), s["y0"], y1, y0)),
                           "y2": _f(at(self.y, s.get("yref", "y"), s["y1"], y1, y0)),
                           "stroke": ln.get("color") or TEXT, "width": _f(w), "dash": _dash(ln.get("dash"), w)})

    def _annotation(self, a: dict) -> None:
        x0, y0, x1, y1 = self.plot
        ax = x0 + float(a["x"]) * (x1 - x0) if a.get("xref") == "paper" else self.x.px(a["x"])
        ay = y1 + float(a["y"]) * (y0 - y1) if a.get("yref") == "paper" else self.y.px(a["y"])
        size = (a.get("font") or {}).get("size")
        border = a.get("bordercolor") if a.get("borderwidth") else None
        bg = bool(a.get("bgcolor"))
        if a.get("showarrow", True):
            # the label sits ax, ay px from the point, an arrow from it to the point (plotly's default ay=-30)
            tx, ty = ax + float(a.get("ax", -10)), ay + float(a.get("ay", -30))
            ty = max(ty, (size or self.size) * LINE_H + 2)   # inside the chart
            self.items.append({"kind": "line", "x1": _f(tx), "y1": _f(ty), "x2": _f(ax), "y2": _f(ay - 4),
                               "stroke": a.get("arrowcolor") or self.colour, "width": 1.5})
            self.items.append({"kind": "path", "d": f"M{_f(ax - 4)},{_f(ay - 9)}L{_f(ax)},{_f(ay - 2)}"
                               f"L{_f(ax + 4)},{_f(ay - 9)}Z", "fill": a.get("arrowcolor") or self.colour,
                               "stroke": "none", "width": 0})
            self.text(tx, ty, a.get("text"), "middle", size=size, valign="bottom", bg=bg, border=border)
            return
        ay -= float(a.get("yshift", 0))
        anchor = {"left": "start", "right": "end", "center": "middle"}.get(a.get("xanchor", "center"), "middle")
        valign = {"bottom": "bottom", "top": "top"}.get(a.get("yanchor", "middle"), "middle")
        self.text(ax, ay, a.get("text"), anchor, size=size, valign=valign, bg=bg, border=border)

    def _legend(self, rows: list[list[dict]], top: float) -> None:
        x0 = self.plot[0]
        lh = self.size * LINE_H
        for r, row in enumerate(rows):
            y = top + r * (lh + 6) + lh / 2
            x = x0
            for t in row:
                line, marker = t.get("line") or {}, t.get("marker") or {}
                mode = t.get("mode") or "lines+markers"
                if "lines" in mode:
                    w = float(line.get("width", 2))
                    self.items.append({"kind": "line", "x1": _f(x), "y1": _f(y), "x2": _f(x + 36), "y2": _f(y),
                                       "stroke": line.get("color") or TEXT, "width": _f(w),
                                       "dash": _dash(line.get("dash"), w)})
                if "markers" in mode:
                    self.items.append(marker_item(_per_point(marker.get("symbol"), 0, "circle"), x + 18, y,
                                                  min(float(_per_point(marker.get("size"), 0, 6)), 12),
                                                  _per_point(marker.get("color"), 0, TEXT), marker.get("line") or {}))
                self.text(x + 44, y, t.get("name"), "start")
                x += 44 + text_width(t.get("name") or "", self.size) + 16


_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})


def escape(v) -> str:
    """Text or an attribute value for SVG markup (the escapes markupsafe uses)."""
    return str(v).translate(_ESCAPES)


def _attrs(**kw) -> str:
    return "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in kw.items() if v)


def _item(it: dict) -> str:
    """One drawn item as SVG markup, every value escaped (an LA's name can be in a label)."""
    kind = it["kind"]
    if kind == "line":
        return (f'<line{_attrs(x1=it["x1"], y1=it["y1"], x2=it["x2"], y2=it["y2"], stroke=it["stroke"])}'
                f' stroke-width="{escape(it["width"])}"{_attrs(stroke_dasharray=it.get("dash"))}/>')
    if kind == "polyline":
        return (f'<polyline points="{escape(it["points"])}" fill="none" stroke="{escape(it["stroke"])}" '
                f'stroke-width="{escape(it["width"])}" stroke-linejoin="round"'
                f'{_attrs(stroke_dasharray=it.get("dash"))}/>')
    if kind == "rect":
        edge = f' stroke="{escape(it["stroke"])}" stroke-width="{escape(it["width"])}"' if it.get("stroke") else ""
        return (f'<rect x="{escape(it["x"])}" y="{escape(it["y"])}" width="{escape(it["w"])}" '
                f'height="{escape(it["h"])}" fill="{escape(it["fill"])}"{edge}/>')
    if kind == "path":
        return (f'<path d="{escape(it["d"])}" fill="{escape(it["fill"])}" stroke="{escape(it["stroke"])}" '
                f'stroke-width="{escape(it["width"])}"/>')
    if kind == "text":
        x = escape(it["x"])
        head = f'<text x="{x}" y="{escape(it["y"])}"'
        if it["anchor"] != "start":
            head += f' text-anchor="{escape(it["anchor"])}"'
        if it.get("size"):
            head += f' font-size="{escape(it["size"])}"'
        if it.get("rotate"):
            head += f' transform="rotate({escape(it["rotate"])} {x} {escape(it["y"])})"'
        dy = f' dy="{escape(it["lh"])}"'
        spans = "".join(f'<tspan x="{x}"{dy if i else ""}>{escape(line)}</tspan>' for i, line in enumerate(it["lines"]))
        return f"{head}>{spans}</text>"
    return ""


def svg(fig: dict, width: int = PRINT_WIDTH) -> str:
    """The figure as an inline SVG element.  Built as strings, not through a template: ~70 charts a pack, and a
    template's per-item overhead was half the cost of drawing them (profiled)."""
    d = Chart(fig, width).draw()
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="print-chart" viewBox="0 0 {escape(d["w"])} '
            f'{escape(d["h"])}" width="{escape(d["w"])}" height="{escape(d["h"])}" font-family="{escape(d["font"])}" '
            f'font-size="{escape(d["size"])}" fill="{escape(d["colour"])}">\n')
    return head + "".join(f"{_item(it)}\n" for it in d["items"]) + "</svg>"


def width_for(chart_id: str) -> int:
    return next((w for prefix, w in NARROW.items() if chart_id.startswith(prefix)), PRINT_WIDTH)


# ------------------------------------------------------------------ the print HTML
# The shapes below are common.chart_block's and common.page's, the one place packs' chart markup comes from.
_FIGURE_JSON = re.compile(r'<script type="application/json" data-chart="([^"]+)">(.*?)</script>', re.S)
_SCRIPTS = re.compile(r'<script src="[^"]*plotly[^"]*"[^>]*></script>'
                      r'|<script type="application/json" id="chart-base">.*?</script>'
                      r"|<script>.*?</script>", re.S)
_CONTAINER = re.compile(r'<div class="chart" id="([^"]+)"[^>]*?aria-label="([^"]*)"[^>]*></div>')


def print_html(html: str) -> str:
    """The pack's HTML for printing: every chart as an SVG image with the chart's text alternative as its alt,
    no script at all, the table alternatives open.
    Written beside the pack, so its relative links and in-page links stay as they were.
    Raises Unsupported when a chart cannot be drawn here."""
    figures = {cid: json.loads(body) for cid, body in _FIGURE_JSON.findall(html)}
    out = _FIGURE_JSON.sub("", html)
    out = _SCRIPTS.sub("", out)

    def chart(m: re.Match) -> str:
        cid = m.group(1)
        if cid not in figures:
            return m.group(0)
        drawn = svg(figures.pop(cid), width_for(cid))
        return _template("print_chart.html.j2").render(
            id=cid, alt=unescape(m.group(2)), svg_b64=base64.b64encode(drawn.encode("utf-8")).decode("ascii"))
    out = _CONTAINER.sub(chart, out)
    if figures:
        raise Unsupported(f"no container for chart(s) {sorted(figures)}")
    out = out.replace("<details>", "<details open>")
    return out
