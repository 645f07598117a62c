"""Issue 20: one verdict, computed once (marts.verdicts), shown alike by every view.

On the committed sample (the session ``sample_warehouse``: 10 LAs, 801, 815 and 942 rejected in Q2, 313 sent
nothing): for every LA and indicator the pack's page one, its figures CSV, the national overview's trajectory
counts and the support view give the status the mart gives -- including the rejected LAs, which have no verdict
this quarter anywhere (never "2 of 7 headline indicators missed" from an older return's targets).  Then the
overview's "what changed" statements, each checked against the period basis, the season and the no-change band
with a hand-made England series (the issue's own numbers).
"""
from __future__ import annotations

import csv
import html
import re
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from contracts import catalogue  # noqa: E402
from reports import publish, support  # noqa: E402
from reports.common import compare_quarters, judge_change, shown  # noqa: E402
from reports.data import PeriodData  # noqa: E402
from reports.downloads import indicator_time_columns  # noqa: E402
from reports.pack import VERDICT_WORDS  # noqa: E402
from sample_warehouse import REJECTED_Q2, SAMPLE_LAS  # noqa: E402

PERIOD = "2026-27-Q2"
NOT_RECEIVED = "313"
LAS = sorted(SAMPLE_LAS + [NOT_RECEIVED])


@pytest.fixture(scope="module")
def site(sample_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("one-verdict") / "out"
    publish(sample_warehouse, out, PERIOD, la_codes=LAS, pdf=False, issued=date(2026, 11, 2))
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    verdicts = {(la, ind): (status, verdict) for la, ind, status, verdict in con.execute(
        "select la_code, indicator_id, status, verdict from marts.verdicts where period = ?", [PERIOD]).fetchall()}
    accepted = {la for (la,) in con.execute(
        "select la_code from marts.collection_status where period = ? and accepted", [PERIOD]).fetchall()}
    con.close()
    return out, verdicts, accepted


def _pack(out: Path, code: str) -> Path:
    (p,) = (out / PERIOD / "la").glob(f"{code}-*.html")
    return p


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def test_the_mart_has_no_verdict_without_an_accepted_return(site):
    _, verdicts, accepted = site
    inds = catalogue.load().indicators
    for la in LAS:
        for ind in inds:
            status, verdict = verdicts[(la, ind.id)]
            if la not in accepted:
                assert status is None and verdict == "no accepted return", (la, ind.id)
            else:
                assert verdict != "no accepted return"
    assert set(REJECTED_Q2) | {NOT_RECEIVED} == set(LAS) - accepted


def check_one_verdict(out: Path, con, period: str, las: list[str]) -> int:
    """For every LA in ``las`` and every indicator: the pack's page one, its figures CSV, the overview's
    off-trajectory names and the support view's missed headline indicators all say what marts.verdicts says,
    LAs without an accepted return included.  Returns the number of (LA, indicator) pairs checked.  Shared with
    tests/test_full_sample_warehouse.py (all 153 LAs)."""
    verdicts = {(la, ind): (status, verdict) for la, ind, status, verdict in con.execute(
        "select la_code, indicator_id, status, verdict from marts.verdicts where period = ?", [period]).fetchall()}
    accepted = {la for (la,) in con.execute(
        "select la_code from marts.collection_status where period = ? and accepted", [period]).fetchall()}
    cat = catalogue.load()
    names = {i.id: i.name for i in cat.indicators}
    ov = (out / period / "overview.html").read_text(encoding="utf-8")
    traj = ov[ov.index('id="trajectory"'):ov.index('id="plans"')]
    sup_rows = list(csv.DictReader((out / "dfe" / f"support-{period}.csv").open(encoding="utf-8")))
    th = support.load_thresholds()["off_trajectory"]
    headline, min_missed = th["headline_indicators"], th["min_missed"]
    for ind in cat.indicators:
        row = re.search(rf"<th scope=\"row\">{re.escape(html.escape(ind.name))}</th>(.*?)</tr>", traj, re.S)
        assert row, ind.id
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        assert int(cells[2]) == sum(1 for (la, i), v in verdicts.items() if i == ind.id and v[0] == "missed")
        missed_codes = set(re.findall(r"\((\d{3})\)", cells[3]))
        want = {la for la in las if verdicts[(la, ind.id)][0] == "missed"}
        assert want <= missed_codes and not (missed_codes & (set(las) - want)), ind.id
    n = 0
    for la in las:
        pack = _pack(out, la)
        text = pack.read_text(encoding="utf-8")
        assert "ranked None" not in text and "None of None" not in text, la   # a chart without a rank says so
        glance = text[text.index('id="glance"'):text.index('id="attention"')]
        figures = list(csv.DictReader(pack.with_name(pack.stem + "-figures.csv").open(encoding="utf-8")))
        for ind in cat.indicators:
            status, verdict = verdicts[(la, ind.id)]
            row = re.search(rf'href="#ind-{ind.id}">.*?</tr>', glance, re.S).group(0)
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            assert _text(cells[2]) == VERDICT_WORDS[verdict], (la, ind.id, cells[2])
            if status is None:
                assert 'class="tag' not in cells[2]                        # words, never a "z" pill
            assert "z" not in (_text(cells[1]), _text(cells[7])), (la, ind.id)  # target, change: words too
            when = indicator_time_columns(ind, period)
            (current,) = [r for r in figures if r["comparison"] == "This local authority"
                          and r["indicator_id"] == ind.id and (r["time_period"], r["time_identifier"]) == when]
            assert current["status"] == verdict, (la, ind.id, current["status"])
            n += 1
        # the support view: missed headline indicators named in words, exactly the verdicts' misses
        mine = [r for r in sup_rows if r["la_code"] == la]
        off = [r for r in mine if r["reason"] == support.REASONS["off_trajectory"]]
        missed = [names[i] for i in headline if verdicts[(la, i)][0] == "missed"]
        if la in accepted and len(missed) >= min_missed:
            (r,) = off
            assert all(m in r["detail"] for m in missed) and not any(i in r["detail"] for i in headline), r
            assert r["detail"].startswith(f"{len(missed)} of ")
        else:
            assert not off, (la, off)
        if la not in accepted:
            assert any(r["reason"] in (support.REASONS["return_missing_or_rejected"], support.REASONS["return_held"])
                       for r in mine), la
    return n


def check_forecasts(out: Path, con, period: str, las: list[str]) -> int:
    """Issue 21: for every LA in ``las`` and every indicator, the year-end forecast verdict of marts.forecasts is
    what the pack's page one (the verdict and the projection in words), its figures CSV (the value and bounds as
    numbers, the verdict as status), the overview's forecast counts and the support list's "forecast to miss N
    headline targets" say.  Returns the number of (LA, indicator) pairs checked."""
    from reports import forecasts as fc
    from reports.downloads import FORECAST_COMPARISONS

    mart = fc.load(con, period)
    cat = catalogue.load()
    assert {la for la, _ in mart} >= set(las) and len(mart) == len({la for la, _ in mart}) * len(cat.indicators)
    # the overview: per indicator, the LAs on course, at risk, off course and without a verdict (all LAs)
    ov = (out / period / "overview.html").read_text(encoding="utf-8")
    sec = ov[ov.index('id="forecasts"'):]
    for ind in cat.indicators:
        row = re.search(rf"<th scope=\"row\">{re.escape(html.escape(ind.name))}</th>(.*?)</tr>", sec, re.S)
        cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]
        want = [sum(1 for (la, i), r in mart.items() if i == ind.id and r["verdict"] == v)
                for v in ("on course", "at risk", "off course", None)]
        assert [int(c) for c in cells[:4]] == want, (ind.id, cells, want)
    sup_rows = list(csv.DictReader((out / "dfe" / f"support-{period}.csv").open(encoding="utf-8")))
    th = support.load_thresholds()
    headline = th["off_trajectory"]["headline_indicators"]
    n = 0
    for la in las:
        pack = _pack(out, la)
        text = pack.read_text(encoding="utf-8")
        glance = text[text.index('id="glance"'):text.index('id="attention"')]
        figures = list(csv.DictReader(pack.with_name(pack.stem + "-figures.csv").open(encoding="utf-8")))
        for ind in cat.indicators:
            f = mart[(la, ind.id)]
            row = re.search(rf'href="#ind-{ind.id}">.*?</tr>', glance, re.S).group(0)
            cell = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-1]
            assert f'data-verdict="{f["verdict"] or ""}"' in cell, (la, ind.id, cell)
            words = _text(cell)
            assert words.startswith(fc.label(f)), (la, ind.id, words)
            if f["value"] is not None:
                assert f"{shown(f['value'], ind.decimals):,.{ind.decimals}f} by March" in words, (la, ind.id, words)
            else:
                assert f["reason"] in words
            got = {r["comparison"]: r for r in figures if r["indicator_id"] == ind.id
                   and r["comparison"] in FORECAST_COMPARISONS}
            assert set(got) == set(FORECAST_COMPARISONS), (la, ind.id)
            for comp, key in zip(FORECAST_COMPARISONS, ("value", "lower", "upper")):
                r = got[comp]
                assert (r["time_period"], r["time_identifier"]) == ("202627", "Financial year")
                want = "x" if f[key] is None else shown(f[key], ind.decimals)
                assert (r["value"] if want == "x" else float(r["value"])) == want, (la, ind.id, comp, r["value"])
                assert r["status"] == (f["verdict"] or f"no forecast verdict: {f['reason']}")
            n += 1
        off = [i for i in headline if mart[(la, i)]["verdict"] == "off course"]
        mine = [r for r in sup_rows if r["la_code"] == la and r["reason"] == support.REASONS["forecast_off_course"]]
        if len(off) >= th["forecast_off_course"]["min_off_course"]:
            (r,) = mine
            assert r["detail"].startswith(f"forecast to miss {len(off)} headline target"), r
        else:
            assert not mine, (la, mine)
    return n


def test_pack_csv_overview_and_support_list_give_the_mart_forecast(site, sample_warehouse):
    out, _, _ = site
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        assert check_forecasts(out, con, PERIOD, LAS) == len(LAS) * len(catalogue.load().indicators)
    finally:
        con.close()


def test_pack_csv_overview_and_support_view_give_the_same_status(site, sample_warehouse):
    """For every LA and indicator: the pack's page one, its figures CSV, the overview's off-trajectory names and
    the support view's missed headline indicators all say what marts.verdicts says, rejected LAs included."""
    out, _, _ = site
    con = duckdb.connect(str(sample_warehouse), read_only=True)
    try:
        assert check_one_verdict(out, con, PERIOD, LAS) == len(LAS) * len(catalogue.load().indicators)
    finally:
        con.close()


def test_a_rejected_pack_says_why_and_no_data_not_no_change(site):
    out, _, _ = site
    for la in REJECTED_Q2:
        text = _pack(out, la).read_text(encoding="utf-8")
        attention = _text(text[text.index('id="attention"'):text.index('id="areas"')])
        assert re.search(r"Return for Q2 2026-27 rejected: errors \(\d+\): .*E\d\d", attention), attention[:300]
        assert "last accepted return is for Q1 2026-27" in attention
        assert "No indicator improved meaningfully." not in attention      # "no data", never "stable"
        line = _text(re.search(r'class="notice status-line".*?</div>', text, re.S).group(0))
        assert "It was rejected for" in line and "Q1 2026-27" in line
        # the last accepted quarter's own figures and verdicts, labelled with that quarter, in the pack and CSV
        assert "Figures and verdicts from the last accepted return, Q1 2026-27" in text
        p = _pack(out, la)
        rows = [r for r in csv.DictReader(p.with_name(p.stem + "-figures.csv").open(encoding="utf-8"))
                if r["comparison"] == "This local authority" and r["indicator_id"] == "ehcp_20_week"]
        q1 = [r for r in rows if (r["time_period"], r["time_identifier"]) == ("202627", "Financial year Q1")]
        q2 = [r for r in rows if (r["time_period"], r["time_identifier"]) == ("202627", "Financial year Q2")]
        assert len(q1) == 1 and q1[0]["value"] not in ("x", "z") and q1[0]["status"] != "no accepted return"
        assert len(q2) == 1 and q2[0]["status"] == "no accepted return"


def test_support_list_puts_returns_not_accepted_first_and_links_to_packs(site):
    out, _, accepted = site
    page = (out / "dfe" / f"support-{PERIOD}.html").read_text(encoding="utf-8")
    order = re.findall(r'<tr id="la-(\d{3})">', page)
    first_accepted = next((i for i, c in enumerate(order) if c in accepted), len(order))
    assert all(c in accepted for c in order[first_accepted:])             # every return not accepted on top
    assert re.search(r"\d+ of 153 local authorities are listed", page)
    for code in set(order) & set(LAS):                                      # the packs published here
        row = page[page.index(f'<tr id="la-{code}">'):]
        row = row[:row.index("</tr>")]
        href = re.search(r'<a href="([^"#]+)">Pack</a>', row).group(1)
        assert (out / "dfe" / href).resolve() == _pack(out, code).resolve()
        assert f'href="{href}#attention"' in row


# ---- the overview's "what changed" keeps the packs' rules ------------------------------------------------
def _ind(iid: str):
    return next(i for i in catalogue.load().indicators if i.id == iid)


def _data(england: dict) -> PeriodData:
    return PeriodData(period=PERIOD, las={}, status={}, trajectory={}, benchmark={},
                      bench_periods=sorted({p for s in england.values() for p in s}), findings={}, revisions={},
                      england=england)


def test_overview_what_changed_uses_the_packs_basis_season_and_band():
    """The issue's own numbers: requests 18.5 (Q1) to 34.7 (Q2) year to date is a fall once annualised (74.0 to
    69.4); mainstream placements 43.3 to 43.5 is inside the no-change band; a termly measure is never compared
    with the previous term; 153 to 148 LAs contributing is said; the spring term feeding Q4 and the next Q1 is
    one point."""
    from reports import overview

    req, main, absn = _ind("ehcp_requests_rate"), _ind("placement_mainstream"), _ind("att_overall_ehcp")
    data = _data({req.id: {"2026-27-Q1": (18.5, 153), PERIOD: (34.7, 148)},
                  main.id: {"2026-27-Q1": (43.3, 153), PERIOD: (43.5, 148)},
                  absn.id: {"2025-26-Q4": (9.7, 153), "2026-27-Q1": (9.7, 153), PERIOD: (11.2, 153)}})
    r = overview.what_changed(data, req)
    assert r["direction"] == "decreased" and r["basis"] == "previous quarter, annualised"
    assert r["then"] == pytest.approx(74.0) and r["now"] == pytest.approx(69.4)
    assert "fell" in r["words"] and "LAs contributing: 153 then, 148 now" in r["words"] and req.name in r["words"]
    m = overview.what_changed(data, main)
    assert m["direction"] == "no meaningful change" and "rose" not in m["words"] and "no-change band" in m["words"]
    a = overview.what_changed(data, absn)
    assert a["direction"] == "not comparable" and a["basis"] == "same term a year earlier"
    assert "rose" not in a["words"] and "Summer term 2024/25" in a["words"]
    periods, labels, _, _ = overview.england_trend(data, absn)
    assert labels == ["Spring term 2025/26", "Summer term 2025/26"] and len(periods) == 2
    brief = overview.summary(data)
    assert "Improved meaningfully in England (0)" in brief and "Worsened meaningfully in England (0)" in brief


def test_every_overview_statement_on_the_sample_keeps_the_rules(site, sample_warehouse):
    """Each published statement, recomputed here: the comparator period (same term a year earlier for a
    seasonal measure, else the previous quarter), annualised values for a year-to-date count, the band."""
    from reports.data import load_period

    out, _, _ = site
    ov = (out / PERIOD / "overview.html").read_text(encoding="utf-8")
    data = load_period(sample_warehouse, PERIOD, trajectory_las=[])
    found = dict(re.findall(r'<p class="what-changed" data-indicator="([a-z_0-9]+)" data-direction="([a-z ]+)">', ov))
    assert set(found) == {i.id for i in catalogue.load().indicators}
    for ind in catalogue.load().indicators:
        eng = {p: v for p, (v, _) in data.england.get(ind.id, {}).items()}
        y, q = PERIOD[:7], int(PERIOD[-1])
        if ind.seasonal:
            then_p = f"{int(y[:4]) - 1}-{str(int(y[:4]))[2:]}-Q{q}"
            now, then = eng.get(PERIOD), eng.get(then_p)
        else:
            then_p = f"{y}-Q{q - 1}"
            k = (lambda v, n: v * 4 / n) if ind.compare_targets == "pro_rata" else (lambda v, n: v)
            now = None if eng.get(PERIOD) is None else k(eng[PERIOD], q)
            then = None if eng.get(then_p) is None else k(eng[then_p], q - 1)
        if now is None or then is None:
            want = "not comparable"
        elif abs(shown(now - then, ind.decimals)) <= ind.no_change_band + 1e-9:
            want = "no meaningful change"
        elif ind.polarity == "neutral":
            want = "increased" if now > then else "decreased"
        else:
            want = "improved" if (now > then) == (ind.polarity == "high") else "worsened"
        assert found[ind.id] == want, (ind.id, found[ind.id], want)
        assert compare_quarters(ind, eng, PERIOD)["direction"] == judge_change(ind, None if want == "not comparable"
                                                                                else now - then)
