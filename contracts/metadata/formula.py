"""The catalogue formula, defined once and rendered twice: in Python for query Q02 (a return's own
indicator values) and in SQL for the warehouse (``int_indicator_values.sql``, written by
``contracts.generate``).  Both read the same parsed formula, the catalogue's terms:

    value = sum(numerator items) / sum(denominator items) * multiplier
    level (no denominator): sum(numerator items) * multiplier

A sum with any item missing is missing (a partial sum would understate the rate), and a zero
denominator gives no value.  The SQL takes the terms from ``raw.catalogue_indicator_terms``, which
the warehouse loads from the same catalogue, so a new indicator needs no SQL.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contracts.catalogue import Indicator


@dataclass(frozen=True)
class Formula:
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    multiplier: float

    @classmethod
    def of(cls, ind: Indicator) -> "Formula":
        return cls(tuple(ind.numerator), tuple(ind.denominator), float(ind.multiplier))

    @property
    def is_rate(self) -> bool:
        return bool(self.denominator)

    def terms(self) -> list[tuple[str, str, int]]:
        """(role, item_id, position) rows, as raw.catalogue_indicator_terms holds them."""
        return ([("numerator", r, i) for i, r in enumerate(self.numerator)]
                + [("denominator", r, i) for i, r in enumerate(self.denominator)])

    def evaluate(self, values: Mapping[str, float]) -> float | None:
        """The value from data item values (None if a term is missing or the denominator is 0)."""
        try:
            num = sum(values[i] for i in self.numerator)
            if not self.is_rate:
                return num * self.multiplier
            den = sum(values[i] for i in self.denominator)
        except KeyError:
            return None
        return None if den == 0 else num / den * self.multiplier


def evaluate(ind: Indicator, vals: Mapping[tuple[str, str], float], quarter: str) -> float | None:
    """An indicator's value in a quarter from {(item_id, quarter): value}."""
    f = Formula.of(ind)
    items = {i: vals[(i, quarter)] for i in f.numerator + f.denominator if (i, quarter) in vals}
    return f.evaluate(items)


INDICATOR_VALUES_SQL = """-- Indicators from data items by the catalogue formula (contracts/metadata/formula.py, which Q02
-- evaluates in Python): numerator = sum of the numerator items, denominator = sum of the
-- denominator items; a sum is NULL if any of its items is missing (a partial sum would
-- understate the rate).  Level indicators (no denominator) get denominator 1, so the pooled
-- England/region figure sum(num) / sum(den) * multiplier is the mean of LA values.
with terms as (
    select indicator_id, role, item_id from {{ ref('stg_catalogue_indicator_terms') }}
),

n_terms as (
    select indicator_id, role, count(*) as n_terms from terms group by all
),

sums as (
    select
        v.la_code,
        v.quarter_period,
        t.indicator_id,
        t.role,
        sum(v.value order by v.item_id) as total,
        count(v.value) as n_present
    from terms as t
    join {{ ref('int_item_values') }} as v on v.item_id = t.item_id
    group by all
),

pivoted as (
    select
        s.la_code,
        s.quarter_period,
        s.indicator_id,
        max(s.total) filter (where s.role = 'numerator' and s.n_present = n.n_terms) as numerator,
        max(s.total) filter (where s.role = 'denominator' and s.n_present = n.n_terms) as denominator
    from sums as s
    join n_terms as n using (indicator_id, role)
    group by all
)

select
    p.la_code,
    p.indicator_id,
    p.quarter_period as period,
    {{ quarter_index('p.quarter_period') }} as period_index,
    p.numerator,
    case when i.is_rate then p.denominator else 1.0 end as denominator,
    case
        when not i.is_rate then p.numerator * i.multiplier
        when p.denominator > 0 then p.numerator / p.denominator * i.multiplier
    end as value
from pivoted as p
join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
"""
