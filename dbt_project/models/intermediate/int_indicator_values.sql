-- Indicators from data items: numerator = sum of the numerator items, denominator = sum of the
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
