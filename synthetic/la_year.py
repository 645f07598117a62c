"""One LA's figures for one collection year, and the helpers the sample's years share (synthetic.sample
builds 2026-27 from the calibration, synthetic.plan_years each later year from the one before)."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from contracts.catalogue import QUARTERS, Catalogue
from synthetic.calibration import LAProfile

REALISED = (-0.4, 1.6)   # share of the planned improvement an LA delivers, per indicator


def _rng(*parts) -> random.Random:
    return random.Random(":".join(str(p) for p in parts))


def _ln(rng: random.Random, sd: float) -> float:
    return math.exp(rng.gauss(0.0, sd))


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


@dataclass
class LAYear:
    la: dict
    profile: LAProfile
    values: dict[tuple[str, str], float] = field(default_factory=dict)   # (item, quarter) -> value
    baselines: dict[str, tuple[float, str]] = field(default_factory=dict)
    targets: dict[tuple[str, str], float] = field(default_factory=dict)
    target_notes: dict[str, str] = field(default_factory=dict)
    weak_target: str | None = None
    # fixed effects the DfE-held data draws on
    pupils_on_roll: int = 0
    ehcp_pupils: int = 0
    sen_support_pupils: int = 0
    absence: dict[str, tuple[float, float]] = field(default_factory=dict)   # status -> (overall %, unauth %)
    excl_mult: float = 1.0
    ambition: float = 1.0   # how far the LA's targets reach on its planned improvement (later years deliver a share)


def _cum(increments: list[int]) -> list[int]:
    out, s = [], 0
    for x in increments:
        s += x
        out.append(s)
    return out


def _share_hint(item) -> dict:
    """A data item's sample hint: its values are a share of another item's (catalogue `sample:
    {share_of: item, share: [lo, hi]}`); an item `within` another defaults to 30-70% of it."""
    hint = dict(item.sample or {})
    if "share_of" not in hint and item.within:
        hint["share_of"] = item.within
    if "share_of" not in hint:
        raise ValueError(f"data item {item.id}: the sample generator cannot invent its values; give it a "
                         "sample hint in contracts/catalogue.yaml, e.g. sample: {share_of: <item>, share: [0.1, 0.3]}")
    lo, hi = hint.get("share", (0.3, 0.7))
    return {"share_of": hint["share_of"], "share": (float(lo), float(hi))}


def _hinted_items(y: LAYear, seed: int, cat: Catalogue) -> None:
    """LA-return items the calibrated model above does not know: a share of the item the hint names,
    drawn once per LA from its own stream (so the calibrated items' values do not move)."""
    for it in cat.return_items:
        if (it.id, QUARTERS[0]) in y.values:
            continue
        hint = _share_hint(it)
        share = _rng(seed, y.la["old_la_code"], "hint", it.id).uniform(*hint["share"])
        for q in QUARTERS:
            y.values[(it.id, q)] = round(y.values[(hint["share_of"], q)] * share)


def realised(seed: int, code: str, key: str) -> float:
    """The LA's realised share of its planned improvement on one indicator: drawn once per LA and
    indicator, between slipping back and beating the plan, so LAs move apart as real ones do."""
    return _rng(seed, code, "realised", key).uniform(*REALISED)
