"""Load the indicator catalogue (``catalogue.yaml``): the one place every indicator is defined.

Everything downstream asks this module: the template writer for rows, the validator for rules,
the warehouse loader for the reference tables dbt derives indicators from, and the packs for
section order.  ``load()`` checks the file's internal consistency so a typo fails loudly here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


@dataclass(frozen=True)
class DataItem:
    id: str
    label: str
    area: str
    source: str  # "la_return" | "dfe_held"
    unit: str
    measure: str  # "flow" (year to date) | "stock" (end of quarter) | "term" (DfE-held, termly)
    published: str | None = None
    within: str | None = None  # the item this one is a subset of (numerator <= denominator rule)
    allow_negative: bool = False
    dataset: str | None = None  # DfE-held only: EES dataset, column and breakdown
    column: str | None = None
    breakdown: str | None = None


@dataclass(frozen=True)
class Indicator:
    id: str
    name: str
    short: str
    area: str
    building_block: str
    source: str
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    multiplier: float
    unit: str
    polarity: str  # "high" | "low" | "neutral"
    decimals: int
    tolerance: float
    published: str | None = None
    range: tuple[float, float] | None = None  # plausible LA values (query Q02 outside it)

    def __post_init__(self) -> None:
        if self.range is not None:
            object.__setattr__(self, "range", tuple(float(x) for x in self.range))

    @property
    def is_rate(self) -> bool:
        return bool(self.denominator)


@dataclass(frozen=True, eq=False)  # hashed by identity: load() returns one shared instance
class Catalogue:
    template_version: str
    collection_year: str
    target_periods: tuple[str, ...]
    query_thresholds: dict
    areas: tuple[dict, ...]
    building_blocks: tuple[dict, ...]
    dfe_held_terms: dict
    data_items: tuple[DataItem, ...]
    indicators: tuple[Indicator, ...]
    _items_by_id: dict = field(default_factory=dict, repr=False, compare=False)

    def item(self, item_id: str) -> DataItem:
        return self._items_by_id[item_id]

    def indicator(self, indicator_id: str) -> Indicator:
        return next(i for i in self.indicators if i.id == indicator_id)

    @property
    def return_items(self) -> tuple[DataItem, ...]:
        """Data items the LA reports in its workbook, in template order."""
        return tuple(i for i in self.data_items if i.source == "la_return")

    @property
    def dfe_held_items(self) -> tuple[DataItem, ...]:
        return tuple(i for i in self.data_items if i.source == "dfe_held")

    def area_title(self, area_id: str) -> str:
        return next(a["title"] for a in self.areas if a["id"] == area_id)

    def indicators_in(self, area_id: str) -> tuple[Indicator, ...]:
        return tuple(i for i in self.indicators if i.area == area_id)

    def items_in(self, area_id: str, source: str = "la_return") -> tuple[DataItem, ...]:
        return tuple(i for i in self.data_items if i.area == area_id and i.source == source)


def _check(cat: Catalogue) -> None:
    area_ids = {a["id"] for a in cat.areas}
    block_ids = {b["id"] for b in cat.building_blocks}
    seen: set[str] = set()
    for it in cat.data_items:
        assert it.id not in seen, f"duplicate data item {it.id}"
        seen.add(it.id)
        assert it.area in area_ids, f"{it.id}: unknown area {it.area}"
        assert it.source in ("la_return", "dfe_held"), f"{it.id}: bad source"
        assert it.within is None or it.within in seen, f"{it.id}: 'within' must name an earlier item"
        if it.source == "dfe_held":
            assert it.dataset and it.column and it.breakdown, f"{it.id}: DfE-held item needs dataset/column/breakdown"
    for ind in cat.indicators:
        assert ind.area in area_ids and ind.building_block in block_ids, f"{ind.id}: unknown area/block"
        assert ind.polarity in ("high", "low", "neutral"), f"{ind.id}: bad polarity"
        for ref in ind.numerator + ind.denominator:
            assert ref in seen, f"{ind.id}: unknown data item {ref}"
            assert cat.item(ref).source == ind.source, f"{ind.id}: mixes sources"
    assert len({i.id for i in cat.indicators}) == len(cat.indicators), "duplicate indicator id"


@lru_cache(maxsize=1)
def load(path: Path = CATALOGUE_PATH) -> Catalogue:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = tuple(DataItem(**d) for d in raw["data_items"])
    indicators = tuple(
        Indicator(**{**d, "numerator": tuple(d["numerator"]), "denominator": tuple(d["denominator"])})
        for d in raw["indicators"]
    )
    cat = Catalogue(
        template_version=str(raw["template_version"]),
        collection_year=str(raw["collection_year"]),
        target_periods=tuple(raw["target_periods"]),
        query_thresholds=raw["query_thresholds"],
        areas=tuple(raw["areas"]),
        building_blocks=tuple(raw["building_blocks"]),
        dfe_held_terms=raw["dfe_held_terms"],
        data_items=items,
        indicators=indicators,
        _items_by_id={i.id: i for i in items},
    )
    _check(cat)
    return cat
