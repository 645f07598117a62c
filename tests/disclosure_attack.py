"""The recovery attack: try to work suppressed values back out of every published file of a publication.

Threat model.  Each LA's pack (HTML, CSV, XLSX) goes to that LA.  It may show the LA its own values, but a
value of another LA that is suppressed (c) must not be recoverable from anything the pack publishes.  The
attacker reads every file of one pack and knows every value the pack shows; to be generous to the
attacker it also knows every LA's denominator (pupil and population counts are published elsewhere).

Attacks, per pack (LA X), indicator and quarter, for each published aggregate read from the files:
- neighbours' average: where exactly one of X's neighbours with a value is suppressed, a published
  number that is the average over all of them (and not merely the average of the shown ones) gives
  it back as average x count - sum of the shown values;
- region / England: where exactly one LA in the region (in England) other than X is suppressed, a
  published pooled figure gives its numerator back as figure x sum of denominators - the other
  numerators; England minus the region does the same for a single suppressed LA outside the region.
A value "comes back" when the recovered figure is within one step of the indicator's last displayed
digit (0.1 at one decimal place), or when it is shown outright in a row about that LA.

Aggregates are read where a reader would find them: table cells labelled by their column header or row
label (neighbours' average / mean, England, the region), sentences such as "neighbours' average 6.0",
chart traces, shapes and annotations named so, and CSV/XLSX rows or columns labelled so.
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from contracts import catalogue

NUM = r"[-−]?£?[-−]?\d[\d,]*(?:\.\d+)?"
PURE = re.compile(rf"^\s*\(?({NUM})\s*(?:%|m|pp|percentage points|per [\d,]+(?: pupils)?)?\)?\s*$", re.I)
COUNT_WORDS = re.compile(r"^\s*(?:of|las?\b|authorities|neighbours|local)", re.I)
SKIP_HEADERS = re.compile(r"code|time|period|year|rank|n_|count|number of|decimals|version|band", re.I)


def _num(s: str) -> tuple[float, int] | None:
    """A number as displayed and its decimal places."""
    s = s.replace("−", "-").replace("£", "").replace(",", "")
    s = s.replace("--", "-")
    try:
        v = float(s)
    except ValueError:
        return None
    dec = len(s.split(".")[1]) if "." in s else 0
    return v, dec


def _pure(cell) -> tuple[float, int] | None:
    if isinstance(cell, bool) or cell is None:
        return None
    if isinstance(cell, (int, float)):
        return float(cell), 15   # a numeric cell carries full precision
    if not cell or not any(ch.isdigit() for ch in cell[:12]):
        return None
    try:                          # the common case: a plain number
        v = float(cell)
        return v, (len(cell.split(".")[1]) if "." in cell else 0)
    except ValueError:
        pass
    m = PURE.match(str(cell))
    return _num(m.group(1)) if m else None


@dataclass
class Found:
    """Labelled numbers per indicator: kind ('sn' | 'region' | 'england') -> [(value, decimals, where)]."""
    by_ind: dict[str, dict[str, list[tuple[float, int, str]]]] = field(default_factory=dict)
    # numbers shown in a row about one LA: indicator -> [(la_code, value, decimals, where)]
    la_cells: dict[str, list[tuple[str, float, int, str]]] = field(default_factory=dict)

    def add_la(self, ind_ids, la: str, value: tuple[float, int] | None, where: str) -> None:
        if value is None:
            return
        for i in ind_ids:
            self.la_cells.setdefault(i, []).append((la, value[0], value[1], where))

    def add(self, ind_ids, kind: str, value: tuple[float, int] | None, where: str) -> None:
        if value is None:
            return
        for i in ind_ids:
            self.by_ind.setdefault(i, {}).setdefault(kind, []).append((value[0], value[1], where))


def _kinds(label: str, region: str) -> list[str]:
    label = label.lower()
    out = []
    if "neighbour" in label and ("average" in label or "mean" in label):
        out.append("sn")
    if "england" in label or "national" in label:
        out.append("england")
    if region.lower() in label or "region" in label:
        out.append("region")
    return out


class _Indicators:
    """Which indicators a piece of text or an attribute names (cached: the same labels recur in every pack)."""

    def __init__(self):
        self.cat = catalogue.load()
        self.names = {i.id: {i.id.lower(), i.name.lower(), i.short.lower()} for i in self.cat.indicators}
        self.id_re = re.compile(r"(?<![a-z_])(" + "|".join(sorted(map(re.escape, self.names), key=len, reverse=True))
                                + r")(?![a-z_])")
        self.exact = {n: i for i, ns in self.names.items() for n in ns}
        self._text: dict[str, frozenset] = {}

    def in_text(self, text: str) -> frozenset:
        got = self._text.get(text)
        if got is None:
            t = text.lower()
            got = frozenset(i for i, ns in self.names.items() if any(n in t for n in ns))
            if len(self._text) < 200_000:
                self._text[text] = got
        return got

    def in_attrs(self, values) -> set[str]:
        return {m for v in values if v for m in self.id_re.findall(v)}


IND = None


def _ind() -> _Indicators:
    global IND
    if IND is None:
        IND = _Indicators()
    return IND


def _sentences(text: str, region: str, inds: set[str], found: Found, where: str) -> None:
    """'neighbours' average 6.0', 'England 5.1%', 'London (pooled) 4.0' in running text."""
    if not inds:
        return
    pats = {
        "sn": rf"neighbours?[’']?s?[’']?\s*(?:average|mean)[^0-9£−.(-]{{0,40}}?({NUM})(?!\s*(?:of|LAs?|authorities|neighbours))",
        "england": rf"(?:england|national)[^0-9£−.(-]{{0,30}}?({NUM})(?!\s*(?:of|LAs?|authorities|neighbours))",
        "region": rf"{re.escape(region)}[^0-9£−.(-]{{0,30}}?({NUM})(?!\s*(?:of|LAs?|authorities|neighbours))",
    }
    for kind, pat in pats.items():
        for m in re.finditer(pat, text, re.I):
            found.add(inds, kind, _num(m.group(1)), where)


class _PackHTML(HTMLParser):
    def __init__(self, region: str, found: Found, where: str, las: dict[str, str]):
        super().__init__(convert_charrefs=True)
        self.region, self.found, self.where, self.las = region, found, where, las
        self.ind = _ind()
        self.stack: list[tuple[str, dict]] = []
        self.table_stack: list[dict] = []
        self.cell: list[str] | None = None
        self.row: list[str] | None = None
        self.script_chart: str | None = None
        self.script_buf: list[str] = []
        self.text_buf: list[str] = []

    # ---- context
    def _ctx(self) -> set[str]:
        return self.stack[-1][2] if self.stack else set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag not in ("br", "img", "meta", "link", "input", "hr"):
            own = [a.get(k) for k in ("id", "aria-labelledby", "data-chart", "data-indicator")]
            own = self.ind.in_attrs([v.lower() for v in own if v])
            self.stack.append((tag, a, (self._ctx() | own) if own else self._ctx()))
        for k in ("aria-label", "alt", "title"):
            if a.get(k):
                _sentences(a[k], self.region, self._ctx() | self.ind.in_text(a[k]), self.found, self.where)
        if tag == "table":
            self.table_stack.append({"headers": [], "caption": "", "in_head": False})
        elif tag == "thead" and self.table_stack:
            self.table_stack[-1]["in_head"] = True
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th") and self.row is not None:
            self.cell = []
        elif tag == "caption":
            self.cell = []
        elif tag == "script" and a.get("type") == "application/json":
            self.script_chart = a.get("data-chart") or a.get("id") or ""
            self.script_buf = []

    def handle_endtag(self, tag):
        if tag == "script" and self.script_chart is not None:
            self._chart("".join(self.script_buf), self.script_chart)
            self.script_chart = None
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "caption" and self.cell is not None and self.table_stack:
            self.table_stack[-1]["caption"] = " ".join("".join(self.cell).split())
            self.cell = None
        elif tag == "tr" and self.row is not None and self.table_stack:
            t = self.table_stack[-1]
            if t["in_head"]:
                t["headers"] = self.row
            else:
                self._table_row(t, self.row)
            self.row = None
        elif tag == "thead" and self.table_stack:
            self.table_stack[-1]["in_head"] = False
        elif tag == "table" and self.table_stack:
            self.table_stack.pop()
        # close up to the matching tag (tolerate unclosed p/li)
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                if tag in ("p", "li", "figcaption", "section", "div", "span", "td", "th", "dd", "dt"):
                    self._flush_text()
                del self.stack[i:]
                break

    def handle_data(self, data):
        if self.script_chart is not None:
            self.script_buf.append(data)
            return
        if self.cell is not None:
            self.cell.append(data)
        self.text_buf.append(data)

    def _flush_text(self):
        text = " ".join("".join(self.text_buf).split())
        self.text_buf = []
        if text:
            _sentences(text, self.region, self._ctx() | self.ind.in_text(text), self.found, self.where)

    def _table_row(self, t: dict, row: list[str]) -> None:
        if not row:
            return
        inds = self._ctx() | self.ind.in_text(row[0]) | self.ind.in_text(t["caption"])
        headers = t["headers"]
        la = _la_of(row[0], self.las)
        if la is not None:       # a row about one LA: its numbers are that LA's values, never aggregates
            for j, cell in enumerate(row[1:], start=1):
                if not SKIP_HEADERS.search(headers[j] if j < len(headers) else ""):
                    self.found.add_la(inds, la, _pure(cell), f"{self.where} table")
            return
        for j, cell in enumerate(row):
            head = headers[j] if j < len(headers) else ""
            if SKIP_HEADERS.search(head):
                continue
            for kind in _kinds(f"{head} {row[0]}", self.region):
                self.found.add(inds, kind, _pure(cell), f"{self.where} table")

    def _chart(self, text: str, chart_id: str) -> None:
        try:
            fig = json.loads(text)
        except ValueError:
            return
        inds = self.ind.in_attrs([chart_id.lower()]) | self._ctx()
        title = json.dumps(fig.get("layout", {}).get("title", "")) if isinstance(fig, dict) else ""
        inds |= self.ind.in_text(title)

        def walk(node, label=""):
            if isinstance(node, dict):
                own = " ".join(str(node.get(k, "")) for k in ("name", "text", "hovertext", "legendgroup",
                                                              "hovertemplate") if isinstance(node.get(k), str))
                lab = f"{label} {own}"
                kinds = _kinds(own, self.region) if own.strip() else []
                for k, v in node.items():
                    if k in ("x", "y", "x0", "x1", "y0", "y1", "base") and kinds:
                        vals = v if isinstance(v, list) else [v]
                        for x in vals:
                            if isinstance(x, (int, float)) and not isinstance(x, bool):
                                for kind in kinds:
                                    self.found.add(inds, kind, (float(x), 15), f"{self.where} chart {chart_id}")
                    elif isinstance(v, (dict, list)):
                        walk(v, lab)
                if isinstance(node.get("text"), str) and kinds:
                    _sentences(node["text"], self.region, inds, self.found, f"{self.where} chart {chart_id}")
            elif isinstance(node, list):
                for x in node:
                    walk(x, label)

        walk(fig)


def _la_of(label, las: dict[str, str]) -> str | None:
    """The LA a row label or cell names ('Enfield', 'Enfield (c: suppressed)', '308'), if any."""
    if label is None or isinstance(label, bool):
        return None
    if isinstance(label, (int, float)):
        label = str(int(label)) if float(label).is_integer() else str(label)
    t = str(label).strip().lower()
    if t in las:
        return las[t]
    if "(" not in t:
        return None
    return las.get(re.sub(r"\s*\((?:this la|c[:\s].*|x[:\s].*)\)\s*$", "", t))


def _rows_found(rows: list[list], region: str, found: Found, where: str, las: dict[str, str]) -> None:
    """CSV / XLSX: a row about an indicator (a cell is its id, name or short name, or '[id]'); numbers
    labelled by the row's words (e.g. 'Statistical neighbours', 'mean') or by their column header.
    A row naming an LA (its code or name) holds that LA's values, never an aggregate."""
    if not rows:
        return
    ind = _ind()
    header = [str(h or "") for h in rows[0]]
    cols = []
    for h in header:
        hl = h.lower()
        cols.append((bool(SKIP_HEADERS.search(h)), ind.in_attrs([hl]) | ({ind.exact[hl]} if hl in ind.exact else set()),
                     _kinds(h, region)))
    for r in rows[1:]:
        cells = ["" if c is None else c for c in r]
        strs = [c.lower() for c in cells if isinstance(c, str) and c]
        row_inds = {ind.exact[c] for c in strs if c in ind.exact}
        la = next((x for x in (_la_of(c, las) for c in cells[:6] if c != "") if x), None)
        text = None
        for j, c in enumerate(cells):
            skip, col_inds, head_kinds = cols[j] if j < len(cols) else (False, set(), [])
            if skip:
                continue
            v = _pure(c)
            if v is None:
                continue
            inds = row_inds | col_inds
            if not inds:
                if text is None:
                    text = " ".join(strs)
                    if "[" in text:
                        row_inds |= ind.in_attrs([text])
                inds = row_inds
            if la is not None:   # a row about one LA: its values, never an aggregate
                found.add_la(inds, la, v, where)
                continue
            if text is None:
                text = " ".join(strs)
            for kind in set(_kinds(text, region)) | set(head_kinds):
                found.add(inds, kind, v, where)


def read_pack(files: list[Path], region: str, las: dict[str, str]) -> Found:
    """Every labelled number in one pack's files.  ``las``: lower-case LA name or code -> code."""
    found = Found()
    for f in files:
        if f.suffix == ".html":
            p = _PackHTML(region, found, f.name, las)
            p.feed(f.read_text(encoding="utf-8"))
            p.close()
        elif f.suffix == ".csv":
            with open(f, newline="", encoding="utf-8-sig") as fh:
                _rows_found(list(csv.reader(fh)), region, found, f.name, las)
        elif f.suffix == ".xlsx":
            from python_calamine import CalamineWorkbook
            wb = CalamineWorkbook.from_path(str(f))
            for name in wb.sheet_names:
                _rows_found(wb.get_sheet_by_name(name).to_python(), region, found, f"{f.name}:{name}", las)
    return found


# ------------------------------------------------------------------ the attack
@dataclass
class Truth:
    """Every LA's true figures for the period (from the warehouse), and what is suppressed."""
    rows: dict[tuple[str, str], dict]          # (la, indicator) -> benchmark row
    neighbours: dict[str, list[str]]
    region_of: dict[str, str]
    las: dict[str, str] = field(default_factory=dict)   # lower-case name or code -> code
    by_ind: dict[str, dict[str, dict]] = field(default_factory=dict)

    def __post_init__(self):
        for (la, i), r in self.rows.items():
            self.by_ind.setdefault(i, {})[la] = r


def truth_from_warehouse(con, period: str, neighbours: dict[str, list[str]]) -> Truth:
    cur = con.execute("select * from marts.benchmark where period = ? and la_value is not null", [period])
    cols = [d[0] for d in cur.description]
    rows = {}
    for r in cur.fetchall():
        d = dict(zip(cols, r))
        if "suppressed" not in d:   # marts from before secondary suppression: the old primary rule
            ind = catalogue.load().indicator(d["indicator_id"])
            d["suppressed"] = ind.is_rate and any(x is not None and 0 < x < 5 for x in (d["numerator"], d["denominator"]))
        rows[(d["la_code"], d["indicator_id"])] = d
    region_of = {la: r["region_name"] for (la, _), r in rows.items()}
    las = {}
    for la, name in con.execute("select distinct la_code, la_name from marts.benchmark").fetchall():
        las[la.lower()] = la
        las[name.lower()] = la
    return Truth(rows=rows, neighbours=neighbours, region_of=region_of, las=las)


def _close(d: float, dec: int, target: float) -> bool:
    return abs(d - target) <= 0.5 * 10 ** -min(dec, 12) + 1e-9 * max(1.0, abs(target))


def attack_pack(viewer: str, found: Found, truth: Truth) -> list[str]:
    cat = catalogue.load()
    leaks = []
    for ind in cat.indicators:
        got = found.by_ind.get(ind.id, {})
        rows = truth.by_ind.get(ind.id, {})
        hidden = {la for la, r in rows.items() if r["suppressed"] and la != viewer}
        if not hidden:
            continue
        tol = 10 ** -ind.decimals          # one step of the last displayed digit
        value = lambda la: rows[la]["la_value"]  # noqa: E731
        # shown outright: a number in a row about a suppressed LA that is its value
        for la, v, dec, where in found.la_cells.get(ind.id, []):
            if la in hidden and _close(v, dec, value(la)):
                leaks.append(f"{viewer} {ind.id}: {la} = {value(la):.3f} shown as {v} ({where})")

        def pooled_parts(las):
            if ind.is_rate:
                return sum(rows[la]["numerator"] for la in las), sum(rows[la]["denominator"] for la in las)
            return sum(value(la) for la in las), float(len(las))

        def recover(d, las, h):
            """The hidden LA h's value from a published pooled figure d over ``las`` (others known)."""
            known_num, _ = pooled_parts([la for la in las if la != h])
            _, den = pooled_parts(las)
            if ind.is_rate:
                h_num = d / ind.multiplier * den - known_num
                return h_num / rows[h]["denominator"] * ind.multiplier
            return d * den - known_num

        # neighbours' average
        nbs = [la for la in truth.neighbours.get(viewer, []) if la in rows]
        nb_hidden = [la for la in nbs if la in hidden]
        if len(nb_hidden) == 1:
            h = nb_hidden[0]
            shown = [value(la) for la in nbs if la != h]
            leaky = (sum(shown) + value(h)) / len(nbs)
            safe = sum(shown) / len(shown) if shown else None
            for d, dec, where in got.get("sn", []):
                if _close(d, dec, leaky) and not (safe is not None and _close(d, dec, safe)):
                    rec = d * len(nbs) - sum(shown)
                    if abs(rec - value(h)) <= tol:
                        leaks.append(f"{viewer} {ind.id}: neighbour {h} = {value(h):.3f} recovered as {rec:.3f} "
                                     f"from the neighbours' average {d} ({where})")
        # region and England pooled figures
        region = truth.region_of.get(viewer)
        in_region = [la for la in rows if truth.region_of.get(la) == region]
        everyone = list(rows)
        for kind, las in (("region", in_region), ("england", everyone)):
            unknown = [la for la in las if la in hidden]
            if len(unknown) != 1:
                continue
            h = unknown[0]
            num, den = pooled_parts(las)
            true_fig = num / den * (ind.multiplier if ind.is_rate else 1.0)
            for d, dec, where in got.get(kind, []):
                if _close(d, dec, true_fig):
                    rec = recover(d, las, h)
                    if abs(rec - value(h)) <= tol:
                        leaks.append(f"{viewer} {ind.id}: {h} = {value(h):.3f} recovered as {rec:.3f} from the "
                                     f"{kind} figure {d} ({where})")
        # England minus the region: a single unknown outside the region
        outside = [la for la in everyone if truth.region_of.get(la) != region]
        unknown_out = [la for la in outside if la in hidden]
        if len(unknown_out) == 1 and got.get("england") and got.get("region"):
            h = unknown_out[0]
            e_num, e_den = pooled_parts(everyone)
            r_num, r_den = pooled_parts(in_region)
            mult = ind.multiplier if ind.is_rate else 1.0
            for de, dece, we in got["england"]:
                if not _close(de, dece, e_num / e_den * mult):
                    continue
                for dr, decr, wr in got["region"]:
                    if not _close(dr, decr, r_num / r_den * mult):
                        continue
                    rest_num = de / mult * e_den - dr / mult * r_den
                    known = pooled_parts([la for la in outside if la != h])[0]
                    h_num = rest_num - known
                    rec = h_num / rows[h]["denominator"] * ind.multiplier if ind.is_rate else h_num
                    if abs(rec - value(h)) <= tol:
                        leaks.append(f"{viewer} {ind.id}: {h} = {value(h):.3f} recovered as {rec:.3f} from England "
                                     f"{de} minus the region {dr} ({we}; {wr})")
    return leaks


def pack_files(period_dir: Path) -> dict[str, list[Path]]:
    """Each LA's published files (HTML, CSV, XLSX), by the LA code their names start with, and the
    period's all-las.xlsx that every pack links (read as part of every LA's publication)."""
    out: dict[str, list[Path]] = {}
    for f in sorted((period_dir / "la").iterdir()):
        m = re.match(r"^(\d{3})-", f.name)
        if m and f.suffix in (".html", ".csv", ".xlsx"):
            out.setdefault(m.group(1), []).append(f)
    shared = period_dir / "all-las.xlsx"      # every LA's values, one file linked from every pack
    for files in out.values():
        files.extend([shared] if shared.exists() else [])
    return out


_TRUTH: Truth | None = None


def _init(truth: Truth) -> None:
    global _TRUTH
    _TRUTH = truth


def _attack_one(item: tuple[str, list[Path]]) -> tuple[list[str], dict]:
    la, files = item
    truth = _TRUTH
    found = read_pack(files, truth.region_of.get(la, "\0"), truth.las)
    stats = {"packs": 1, "files": len(files),
             "aggregates_read": sum(len(v) for k in found.by_ind.values() for v in k.values()),
             "la_values_read": sum(len(v) for v in found.la_cells.values()),
             "hidden_cases": sum(1 for (x, _), r in truth.rows.items() if r["suppressed"] and x != la)}
    return attack_pack(la, found, truth), stats


def attack_publication(period_dir: Path, truth: Truth, workers: int = 2) -> tuple[list[str], dict]:
    """Run the attack over every pack of a published period; returns (leaks, counts for the report)."""
    from concurrent.futures import ProcessPoolExecutor

    leaks: list[str] = []
    stats: dict[str, int] = {}
    items = list(pack_files(period_dir).items())
    if workers > 1 and len(items) > 4:
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(truth,)) as ex:
            results = list(ex.map(_attack_one, items, chunksize=8))
    else:
        _init(truth)
        results = [_attack_one(i) for i in items]
    for found_leaks, st in results:
        leaks += found_leaks
        for k, v in st.items():
            stats[k] = stats.get(k, 0) + v
    return leaks, stats
