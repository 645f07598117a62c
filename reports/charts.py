"""Plotly figure dicts (validated against plotly's schema in the tests; drawn by Plotly.newPlot).

Plain dicts rather than graph_objects keep 153 packs x 63 charts fast.  Every chart is readable
without colour: line dash and marker shape distinguish series, the focus LA is named and
labelled, reference lines carry text labels.
"""
from __future__ import annotations

from contracts.catalogue import Indicator

from .common import FOCUS, GREY, GREY_EDGE, PALETTE, TEXT, base_layout, period_label, r, shown


def _hover(ind: Indicator) -> str:
    if ind.unit == "%":
        return "%{y:." + str(ind.decimals) + "f}%"
    return "%{y:." + str(ind.decimals) + "f} " + ind.unit


def _target(row: dict):
    """A quarter's target on the value's basis (year to date, say) where the marts give it."""
    t = row.get("comparable_target")
    return row.get("target_value") if t is None else t


def trajectory_fig(ind: Indicator, rows: list[dict], period: str, baseline: dict | None = None) -> dict:
    """Baseline, quarterly target trajectory, actuals to date and 3-year targets."""
    d = ind.decimals
    baseline = baseline or {}
    quarters = [x for x in rows if x["period_type"] == "quarter"]
    years = [x for x in rows if x["period_type"] != "quarter"]
    base_label = f"Baseline<br>{baseline['period']}" if baseline.get("period") else "Baseline"
    qx = [period_label(x["period"]).replace(" ", "<br>") for x in quarters]
    yx = [f"Year end<br>{x['period']}" for x in years]
    cats = [base_label] + qx + yx
    hov = _hover(ind) + "<extra>%{fullData.name}</extra>"
    data = []
    if baseline.get("value") is not None:
        data.append({"type": "scatter", "mode": "markers", "name": "Baseline", "x": [base_label],
                     "y": [r(baseline["value"], d)], "hovertemplate": hov,
                     "marker": {"symbol": "diamond", "size": 13, "color": PALETTE[1], "line": {"color": TEXT, "width": 1}}})
    data.append({"type": "scatter", "mode": "lines+markers", "name": "Quarterly target", "x": qx,
                 "y": [r(_target(x), d) for x in quarters], "hovertemplate": hov,
                 "line": {"color": PALETTE[2], "dash": "dash", "width": 2},
                 "marker": {"symbol": "circle-open", "size": 9, "color": PALETTE[2], "line": {"width": 2}}})
    if years:
        data.append({"type": "scatter", "mode": "lines+markers", "name": "Year-end target", "x": yx,
                     "y": [r(x["target_value"], d) for x in years], "hovertemplate": hov,
                     "line": {"color": PALETTE[2], "dash": "dot", "width": 2},
                     "marker": {"symbol": "triangle-up-open", "size": 10, "color": PALETTE[2], "line": {"width": 2}}})
    act = [x for x in quarters if x["period"] <= period and x.get("actual_value") is not None]
    data.append({"type": "scatter", "mode": "lines+markers+text", "name": "Actual",
                 "x": [period_label(x["period"]).replace(" ", "<br>") for x in act],
                 "y": [r(x["actual_value"], d) for x in act], "hovertemplate": hov,
                 "text": [f"{shown(x['actual_value'], d):,.{d}f}" for x in act], "textposition": "top center",
                 "textfont": {"color": TEXT}, "cliponaxis": False,
                 "line": {"color": FOCUS, "width": 3}, "marker": {"symbol": "square", "size": 10, "color": FOCUS}})
    return {"data": data, "layout": base_layout(
        360, showlegend=True, legend={"orientation": "h", "y": -0.25, "x": 0, "yanchor": "top"},
        margin={"b": 90, "t": 40, "r": 30}, xaxis={"type": "category", "categoryorder": "array", "categoryarray": cats, "tickangle": 0},
        yaxis={"title": {"text": ind.unit}, "rangemode": "tozero" if ind.unit != "GBP m" else "normal"})}


def wrap(label: str, width: int = 18) -> str:
    """Break a long category label into lines (plotly honours <br>) so a narrow screen keeps its plot area."""
    lines, cur = [], ""
    for w in label.split():
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    lines.append(cur)
    return "<br>".join(lines)


def benchmark_fig(ind: Indicator, bars: list[tuple[str, float | None, bool]], refs: list[tuple[str, float | None, str]]) -> dict:
    """Horizontal bars: (label, value or None, is_focus); refs: (label, value, dash) vertical reference lines.
    Each bar's value is part of its axis label, not printed beside the bar, so no reference line can cross it;
    the reference lines' labels sit above the plot, one line each."""
    d = ind.decimals
    labels = [wrap(b[0] if b[1] is None else f"{b[0]}: {shown(b[1], d):,.{d}f}") for b in bars]
    vals = [r(b[1], d) for b in bars]
    colours = [FOCUS if b[2] else GREY for b in bars]
    edges = [FOCUS if b[2] else GREY_EDGE for b in bars]
    shapes, notes = [], []
    for lab, v, dash in refs:
        if v is None:
            continue
        shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": r(v, d), "x1": r(v, d), "y0": 0, "y1": 1,
                       "line": {"color": TEXT, "width": 2, "dash": dash}})
        notes.append({"xref": "paper", "yref": "paper", "x": 0, "y": 1, "yanchor": "bottom", "xanchor": "left",
                      "yshift": 4 + 20 * len(notes), "text": f"{_dash_word(dash)} {lab}: {shown(v, d):,.{d}f}",
                      "showarrow": False, "font": {"color": TEXT, "size": 12}, "bgcolor": "#ffffff"})
    n_lines = sum(lab.count("<br>") + 1 for lab in labels)
    height = 70 + 16 * n_lines + 12 * len(bars) + 20 * len(notes)
    return {"data": [{"type": "bar", "orientation": "h", "y": labels, "x": vals,
                      "marker": {"color": colours, "line": {"color": edges, "width": 1}},
                      "hovertemplate": "%{y}<extra></extra>"}],
            "layout": base_layout(height, margin={"l": 10, "t": 14 + 20 * len(notes), "r": 20},
                                  yaxis={"autorange": "reversed", "type": "category", "automargin": True},
                                  xaxis={"title": {"text": ind.unit}, "rangemode": "tozero", "automargin": True},
                                  shapes=shapes, annotations=notes, bargap=0.25)}


def _dash_word(dash: str) -> str:
    """Name the line style in its label, so the lines are told apart without colour."""
    return {"dash": "- - -", "dot": "· · ·", "dashdot": "-·-·"}.get(dash, "—")


def distribution_fig(ind: Indicator, values: list[float], focus_index: int | None, focus_label: str,
                     england: float | None, axis_title: str) -> dict:
    """Sorted bars for every LA with a (non-suppressed) value, the pack's LA highlighted and labelled."""
    d = ind.decimals
    ys = [r(v, d) for v in values]
    if focus_index is not None:
        ys[focus_index] = None
    # two traces (others grey, this LA in focus colour) on one x axis: no per-bar colour array
    data = [{"type": "bar", "x0": 1, "dx": 1, "y": ys, "name": "Other authorities",
             "marker": {"color": GREY, "line": {"width": 0}}, "hovertemplate": _hover(ind) + "<extra></extra>"}]
    if focus_index is not None:
        data.append({"type": "bar", "x": [focus_index + 1], "y": [r(values[focus_index], d)], "name": focus_label,
                     "marker": {"color": FOCUS}, "hovertemplate": _hover(ind) + "<extra></extra>"})
    ann, shapes = [], []
    if focus_index is not None:
        ann.append({"x": focus_index + 1, "y": r(values[focus_index], d), "text": focus_label, "showarrow": True,
                    "arrowhead": 2, "arrowcolor": TEXT, "ax": 0, "ay": -40, "font": {"color": TEXT, "size": 12},
                    "bgcolor": "#ffffff", "bordercolor": TEXT, "borderwidth": 1})
    if england is not None:
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": r(england, d), "y1": r(england, d),
                       "line": {"color": TEXT, "dash": "dash", "width": 2}})
        ann.append({"xref": "paper", "x": 1, "y": r(england, d), "yanchor": "bottom", "xanchor": "right",
                    "text": f"England: {shown(england, d):,.{d}f}", "showarrow": False,
                    "font": {"color": TEXT, "size": 12}, "bgcolor": "#ffffff"})
    return {"data": data, "layout": base_layout(
        300, bargap=0.1, barmode="overlay", annotations=ann, shapes=shapes, margin={"t": 50},
        xaxis={"showticklabels": False, "title": {"text": axis_title}, "showgrid": False},
        yaxis={"title": {"text": ind.unit}})}


# ------------------------------------------------------------------ overview charts
def trend_fig(ind: Indicator, periods: list[str], values: list[float | None], labels: list[str] | None = None) -> dict:
    d = ind.decimals
    return {"data": [{"type": "scatter", "mode": "lines+markers+text",
                      "x": labels or [period_label(p) for p in periods],
                      "y": [r(v, d) for v in values], "name": "England",
                      "text": ["" if v is None else f"{shown(v, d):,.{d}f}" for v in values],
                      "textposition": "top center", "textfont": {"color": TEXT},
                      "line": {"color": FOCUS, "width": 3}, "marker": {"symbol": "square", "size": 9, "color": FOCUS},
                      "hovertemplate": _hover(ind) + "<extra>England</extra>"}],
            "layout": base_layout(260, xaxis={"type": "category"}, yaxis={"title": {"text": ind.unit}},
                                  margin={"t": 30})}


def spread_fig(ind: Indicator, values: list[float], names: list[str]) -> dict:
    d = ind.decimals
    return {"data": [{"type": "box", "x": [r(v, d) for v in values], "text": names, "name": "LAs",
                      "boxpoints": "all", "jitter": 0.5, "pointpos": 0, "orientation": "h",
                      "marker": {"color": FOCUS, "size": 5, "opacity": 0.7}, "line": {"color": TEXT},
                      "fillcolor": "rgba(191,191,191,0.35)",
                      "hovertemplate": "%{text}: %{x}<extra></extra>"}],
            "layout": base_layout(200, xaxis={"title": {"text": ind.unit}}, yaxis={"showticklabels": False},
                                  margin={"l": 20, "t": 10})}


def regional_fig(ind: Indicator, regions: list[str], values: list[float | None], england: float | None) -> dict:
    fig = benchmark_fig(ind, [(reg, v, False) for reg, v in zip(regions, values)],
                        [("England", england, "dash")])
    return fig


def status_counts_fig(labels: list[str], met: list[int], within: list[int], missed: list[int]) -> dict:
    """Stacked horizontal bars of trajectory status by indicator; patterns as well as colours."""
    def tr(name, vals, colour, shape):
        return {"type": "bar", "orientation": "h", "name": name, "y": labels, "x": vals, "text": vals,
                "textposition": "inside", "insidetextanchor": "middle", "textangle": 0,
                "textfont": {"color": "#ffffff" if colour != "#F46A25" else TEXT},
                "marker": {"color": colour, "line": {"color": TEXT, "width": 1},
                           "pattern": {"shape": shape, "fgcolor": "#ffffff", "bgcolor": colour, "fillmode": "replace",
                                       "size": 8, "solidity": 0.15}},
                "hovertemplate": "%{y}: %{x} LAs<extra>" + name + "</extra>"}
    return {"data": [tr("Met", met, "#12436D", ""), tr("Within tolerance", within, "#F46A25", "/"),
                     tr("Missed", missed, "#801650", "x")],
            "layout": base_layout(60 + 26 * len(labels), barmode="stack", showlegend=True,
                                  legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0,
                                          "traceorder": "normal"},
                                  margin={"l": 230, "t": 40},
                                  yaxis={"autorange": "reversed", "type": "category", "automargin": True},
                                  xaxis={"title": {"text": "Number of local authorities"}})}


def area_fig(rows: list[tuple[str, float | None, str, bool]]) -> dict:
    """Page two's compact chart for one area: each indicator's position among authorities on one 0-100
    scale (units differ within an area, positions do not).  rows: (label, position, value text, ranked);
    a neutral indicator (ranked False) is placed by how many authorities are lower, with an open marker."""
    shown = [x for x in rows if x[1] is not None]
    labels = [wrap(x[0], 20) for x in shown]
    pos = [round(x[1], 1) for x in shown]
    text = [x[2] for x in shown]
    data = [{"type": "scatter", "mode": "markers+text", "y": labels, "x": pos, "text": text,
             "textposition": ["middle right" if p < 45 else "middle left" for p in pos],
             "textfont": {"color": TEXT, "size": 12}, "cliponaxis": False,
             "marker": {"size": 13, "color": [FOCUS if x[3] else "#ffffff" for x in shown],
                        "symbol": ["circle" if x[3] else "diamond" for x in shown],
                        "line": {"color": FOCUS, "width": 2}},
             "hovertemplate": "%{y}: %{text}<extra></extra>"}]
    return {"data": data, "layout": base_layout(
        48 + 30 * max(len(shown), 1),
        margin={"l": 10, "r": 15, "t": 6, "b": 40},
        xaxis={"range": [-4, 104], "tickvals": [0, 25, 50, 75, 100], "automargin": True,
               "title": {"text": "Better than % of LAs", "standoff": 2}},
        yaxis={"autorange": "reversed", "type": "category", "automargin": True, "showgrid": False})}
