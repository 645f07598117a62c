"""Who to learn from (issue 21): marts.effective_practice in the DfE overview and in each LA's pack.

The mart decides who beat their statistical neighbours by more than noise (its SQL states the rule);
this module only picks and words: the overview lists each indicator's entries, a pack names for each
target it missed up to three authorities among its neighbours or region that improved most on it.
"""
from __future__ import annotations

from contracts import catalogue

from .common import change_unit, esc, judge_change, num, period_label, shown, table, with_unit

MAX_PEERS = 3


def _words(ind, change, basis: str) -> str:
    r = shown(change, ind.decimals)
    return f"{'up' if r > 0 else 'down'} {abs(r):,.{ind.decimals}f} {change_unit(ind)} on the {basis}"


def missed_targets(data, code: str) -> set[str]:
    """Indicators whose target ``code`` missed this quarter (marts.verdicts, the one status every view shows)."""
    return {ind.id for ind in catalogue.load().indicators if data.verdict(code, ind.id).get("status") == "missed"}


def learn_from(data, code: str, indicator_ids: set[str], n: int = MAX_PEERS) -> dict[str, list[dict]]:
    """For each indicator in ``indicator_ids`` (e.g. the targets the LA missed; later also those it is
    forecast to miss): up to ``n`` authorities from marts.effective_practice among ``code``'s statistical
    neighbours or in its region whose own change was a meaningful improvement, most improved first."""
    la = data.las.get(code) or {}
    neighbours = set(data.neighbours.get(code, []))
    out: dict[str, list[dict]] = {}
    for ind in catalogue.load().indicators:
        if ind.id not in indicator_ids:
            continue
        sign = 1 if ind.polarity == "high" else -1
        rows = [r for r in data.effective.get(ind.id, [])
                if r["la_code"] != code and (r["la_code"] in neighbours or r["region_name"] == la.get("region_name"))
                and judge_change(ind, r["change_value"]) == "improved"]
        rows.sort(key=lambda r: (-sign * r["change_value"], r["la_code"]))
        out[ind.id] = [{"code": r["la_code"], "name": r["la_name"],
                        "relation": "statistical neighbour" if r["la_code"] in neighbours else f"{r['region_name']} region",
                        "change_value": r["change_value"], "value_now": r["value_now"], "value_then": r["value_then"],
                        "then_period": r["then_period"], "change_basis": r["change_basis"],
                        "sn_change_value": r["sn_change_value"]} for r in rows[:n]]
    return out


def pack_html(learn: dict[str, list[dict]], why: dict[str, str] | None = None) -> str:
    """The pack's short section: for each target missed or forecast to be missed (``why``), the authorities to
    ask how (empty when there is none)."""
    if not learn:
        return ""
    cat = catalogue.load()
    items = []
    for ind_id, peers in learn.items():
        ind = cat.indicator(ind_id)
        if peers:
            who = "; ".join(f"{p['name']} ({p['relation']}): {_words(ind, p['change_value'], p['change_basis'])}, "
                            f"to {with_unit(p['value_now'], ind)}" for p in peers)
        else:
            who = "no statistical neighbour or authority in the region improved on it by more than its neighbours did"
        because = f" ({(why or {}).get(ind_id)})" if (why or {}).get(ind_id) else ""
        items.append(f"<li><strong>{esc(ind.short)}</strong>{esc(because)}: {esc(who)}</li>")
    return ('<div class="box learn-from"><h3 id="learn-from">Who to learn from on the targets missed or forecast '
            "to be missed</h3><p>Authorities among your statistical neighbours or in your region that improved most on the measure "
            "over the last four quarters, by more than their own neighbours did (like for like, beyond the "
            "no-change band): the review meeting can ask them how.</p>"
            f'<ul class="plain">{"".join(items)}</ul></div>')


def overview_html(data) -> str:
    """The DfE overview's list per indicator (DfE-internal: values unsuppressed, as the rest of the page)."""
    cat = catalogue.load()
    out = ["<p>For each indicator, the LAs whose change over the last four quarters (the same quarter a year "
           "earlier; for a termly measure the same term) beat their statistical neighbours' pooled change by more "
           "than the indicator's no-change band, better by its polarity (neutral indicators have none). Small bases, "
           "suppressed figures and quarters without an accepted return are left out.</p>"]
    listed = 0
    for ind in cat.indicators:
        rows = data.effective.get(ind.id, [])
        if not rows:
            continue
        listed += 1
        r0 = rows[0]
        then = period_label(r0["then_period"])
        body = [[esc(f"{r['la_name']} ({r['la_code']})"), with_unit(r["value_then"], ind), with_unit(r["value_now"], ind),
                 num(r["change_value"], ind.decimals), num(r["sn_change_value"], ind.decimals),
                 num(r["beat_by"], ind.decimals)] for r in rows]
        tbl = table(f"{ind.name}: {len(rows)} LAs beat their neighbours' change (band {r0['no_change_band']:g} "
                    f"{change_unit(ind)}; {r0['change_basis']})",
                    ["LA", f"Then ({then})", f"Now ({period_label(data.period)})", "Change",
                     "Neighbours' change (pooled)", "Better than neighbours by"], body, raw_cols={0},
                    num_cols={1, 2, 3, 4, 5})
        top = ", ".join(r["la_name"] for r in rows[:3])
        out.append(f"<details><summary>{esc(ind.short)}: {len(rows)} LAs, led by {esc(top)}</summary>{tbl}</details>")
    if not listed:
        out.append(f"<p>No LA beat its neighbours by more than noise in {esc(period_label(data.period))}: "
                   "a year of quarters is needed first.</p>")
    return "".join(out)
