"""Load the indicator catalogue (``catalogue.yaml``): the one place every indicator is defined.

Everything downstream asks this module: the template writer for rows, the validator for rules,
the warehouse loader for the reference tables dbt derives indicators from, and the packs for
section order.  ``load()`` checks the file's internal consistency so a typo fails loudly here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from contracts.yaml_file import read_yaml

CATALOGUE_PATH = Path(__file__).with_name("catalogue.yaml")
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
PERIOD_BASES = ("year_to_date", "annualised", "term", "point_in_time")
TARGET_COMPARISONS = ("as_is", "pro_rata")
MONEY_UNITS = ("GBP",)  # a data item whose unit starts with one of these is money, never a count


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
    # how synthetic/sample.py invents values for it (catalogue.yaml header); never read by the product
    sample: dict | None = field(default=None, compare=False, hash=False, repr=False)


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
    # like for like and meaningful change (catalogue.yaml header says what each means)
    period_basis: str = "point_in_time"  # year_to_date | annualised | term | point_in_time
    compare_targets: str = "as_is"       # as_is | pro_rata (full-year target x n/4 at Qn)
    seasonal: bool = False               # change against the same period a year earlier
    no_change_band: float = 0.0          # |change| <= band is "no meaningful change"
    min_denominator: float | None = None  # below it: small numbers (no rank, band or status)
    # derived in load() from the data items, never declared
    small_count_suppression: bool = False  # a rate of counts: others' 1-4 counts are suppressed
    is_proportion: bool = False            # a count-based %: Wilson interval
    # how synthetic/sample.py invents baselines and targets (catalogue.yaml header); never read by the product
    sample: dict | None = field(default=None, compare=False, hash=False, repr=False)

    def __post_init__(self) -> None:
        if self.range is not None:
            object.__setattr__(self, "range", tuple(float(x) for x in self.range))

    @property
    def is_rate(self) -> bool:
        return bool(self.denominator)


@dataclass(frozen=True)
class PlanParts:
    """The plan parts of the return (catalogue.yaml ``plan_parts``): milestones, spend, risks, sign-off."""

    required: bool
    initial_quarter: str
    max_workstreams: int
    milestone_quarters: tuple[str, ...]
    statuses: tuple[str, ...]
    not_started: str
    complete: str
    max_spend_lines: int
    spend_unit: str
    spend_categories: tuple[str, ...]
    funding_sources: tuple[str, ...]
    spend_variance_margin_pct: float
    max_risks: int
    risk_rows_in_template: int
    impacts: tuple[str, ...]
    likelihoods: tuple[str, ...]
    rags: tuple[str, ...]
    risk_matrix: dict  # impact -> tuple of RAGs, one per likelihood
    statutory_roles: tuple[str, ...]
    max_signatories: int
    text_limits: dict
    multiline_text: tuple[str, ...] = ()  # text_limits keys whose cells may hold tabs and line breaks

    def matrix_rag(self, impact: str, likelihood: str) -> str | None:
        """Annex C's RAG for an impact and likelihood; None if either is not on the matrix."""
        if impact not in self.risk_matrix or likelihood not in self.likelihoods:
            return None
        return self.risk_matrix[impact][self.likelihoods.index(likelihood)]

    def limit(self, field_name: str) -> int:
        return int(self.text_limits[field_name])


def _plan_parts(raw: dict) -> PlanParts:
    tuples = ("milestone_quarters", "statuses", "spend_categories", "funding_sources", "impacts",
              "likelihoods", "rags", "statutory_roles", "multiline_text")
    d = {k: (tuple(v) if k in tuples else v) for k, v in raw.items()}
    d["risk_matrix"] = {k: tuple(v) for k, v in raw["risk_matrix"].items()}
    d["spend_variance_margin_pct"] = float(raw["spend_variance_margin_pct"])
    plan = PlanParts(**d)
    assert set(plan.risk_matrix) == set(plan.impacts), "plan_parts: the risk matrix needs one row per impact"
    for impact, row in plan.risk_matrix.items():
        assert len(row) == len(plan.likelihoods), f"plan_parts: matrix row {impact} needs one RAG per likelihood"
        assert set(row) <= set(plan.rags), f"plan_parts: matrix row {impact} has a RAG not in rags"
    assert plan.not_started in plan.statuses and plan.complete in plan.statuses, "plan_parts: bad statuses"
    assert set(plan.milestone_quarters) <= set(QUARTERS) and plan.initial_quarter in (INITIAL, *QUARTERS)
    assert plan.risk_rows_in_template <= plan.max_risks
    return plan


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
    plan: PlanParts | None = None
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
        assert ind.period_basis in PERIOD_BASES, f"{ind.id}: period_basis must be one of {PERIOD_BASES}"
        assert ind.compare_targets in TARGET_COMPARISONS, f"{ind.id}: compare_targets must be one of {TARGET_COMPARISONS}"
        assert ind.compare_targets == "as_is" or ind.period_basis == "year_to_date", \
            f"{ind.id}: only a year-to-date value accumulates, so only it can pro-rate targets"
        assert ind.no_change_band >= 0, f"{ind.id}: no_change_band must be >= 0"
        assert ind.min_denominator is None or ind.is_rate, f"{ind.id}: a level has no denominator to be small"
        assert (ind.period_basis == "term") == (ind.source == "dfe_held"), \
            f"{ind.id}: DfE-held figures are termly, and only they are"
        for ref in ind.numerator + ind.denominator:
            assert ref in seen, f"{ind.id}: unknown data item {ref}"
            assert cat.item(ref).source == ind.source, f"{ind.id}: mixes sources"
    assert len({i.id for i in cat.indicators}) == len(cat.indicators), "duplicate indicator id"


def _derived(d: dict, items: dict[str, DataItem]) -> dict:
    """Disclosure and interval properties follow from the data items, so they cannot disagree with them:
    a rate of counts (not money) is suppressed for small counts; a count-based % also gets a Wilson
    interval.  Levels (no denominator) and money are never treated as counts."""
    refs = list(d["numerator"]) + list(d["denominator"])
    money = any(items[r].unit.startswith(MONEY_UNITS) for r in refs if r in items)
    counts = bool(d["denominator"]) and not money
    return {"small_count_suppression": counts, "is_proportion": counts and d.get("unit") == "%"}


@lru_cache(maxsize=1)
def load(path: Path = CATALOGUE_PATH) -> Catalogue:
    """The catalogue of the base collection year (``collection_year`` in the YAML)."""
    return _build(_read(str(path)))


@lru_cache(maxsize=4)
def _read(path: str) -> dict:
    return read_yaml(path)


# --------------------------------------------------------------------------------------------
# Collection years: catalogue.yaml's ``years`` overlays (see the YAML's comment there)
# --------------------------------------------------------------------------------------------
INITIAL = "Q0"  # the initial return (due with the plan) as a quarter key: 2026-27-Q0 sorts before Q1
INITIAL_LABEL = "Initial"  # what the cover says for it
MERGED_KEYS = ("query_thresholds", "plan_parts", "dfe_held_terms")  # overlays merge these one level down
BY_ID_KEYS = ("data_items", "indicators")  # overlays change these per id (a mapping), or replace them (a list)


def years(path: Path = CATALOGUE_PATH) -> tuple[str, ...]:
    """Every collection year the catalogue defines, oldest first."""
    raw = _read(str(path))
    return tuple(sorted({str(raw["collection_year"]), *map(str, raw.get("years") or {})}))


@lru_cache(maxsize=8)
def for_year(year: str, path: Path = CATALOGUE_PATH) -> Catalogue:
    """The catalogue as it stands for one collection year: the base definition with every overlay
    from the base year up to ``year`` applied in order, so a year inherits what it does not change."""
    raw = _read(str(path))
    base = str(raw["collection_year"])
    if year == base:  # the very same object as load(): Catalogue hashes by identity
        return load() if Path(path) == CATALOGUE_PATH else load(path)
    if year not in years(path):
        raise KeyError(f"catalogue.yaml defines no collection year {year!r} (it has {', '.join(years(path))})")
    merged = {k: v for k, v in raw.items() if k != "years"}
    for y in years(path):
        if base < y <= year:
            merged = _overlay(merged, (raw.get("years") or {}).get(y) or {})
    merged["collection_year"] = year
    return _build(merged)


def year_of_version(template_version: str, path: Path = CATALOGUE_PATH) -> str | None:
    """The collection year whose template carries this version (None if no year does)."""
    return next((y for y in years(path) if for_year(y, path).template_version == template_version), None)


def _overlay(base: dict, change: dict) -> dict:
    out = dict(base)
    for key, value in change.items():
        if key in MERGED_KEYS and isinstance(value, dict):
            out[key] = {**(base.get(key) or {}), **value}
        elif key in BY_ID_KEYS and isinstance(value, dict):
            unknown = set(value) - {d["id"] for d in base[key]}
            assert not unknown, f"catalogue years: {key} overlay names unknown ids {sorted(unknown)}"
            out[key] = [{**d, **(value.get(d["id"]) or {})} for d in base[key]]
        else:
            out[key] = value
    return out


def _build(raw: dict) -> Catalogue:
    items = tuple(DataItem(**d) for d in raw["data_items"])
    by_id = {i.id: i for i in items}
    indicators = tuple(
        Indicator(**{**d, "numerator": tuple(d["numerator"]), "denominator": tuple(d["denominator"]),
                     **_derived(d, by_id)})
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
        plan=_plan_parts(raw["plan_parts"]) if "plan_parts" in raw else None,
        _items_by_id={i.id: i for i in items},
    )
    _check(cat)
    return cat
