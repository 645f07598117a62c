{{ config(meta={'dagster': {'ref': {'name': 'benchmark'}}}) }}
-- The pooled England rate must be the sum of LA numerators over the sum of LA denominators
-- (LAs with a value), never a mean of rates; a level's mean.  Returns the indicator-periods that disagree.
with pooled as (
    select
        b.indicator_id,
        b.period,
        sum(b.numerator) filter (where b.la_value is not null) as sum_num,
        sum(case when i.is_rate then b.denominator else 1 end) filter (where b.la_value is not null) as sum_den,
        count(*) filter (where b.la_value is not null) as n_las,
        max(b.england_value) as england_value,  -- NULL in rows where it is withheld,
        any_value(b.england_n_las) as england_n_las,
        any_value(i.multiplier) as multiplier
    from {{ ref('benchmark') }} as b
    join {{ ref('stg_catalogue_indicators') }} as i using (indicator_id)
    group by all
)
select *
from pooled
where england_n_las <> n_las
   or abs(england_value - sum_num / sum_den * multiplier) > 1e-9 * greatest(1, abs(england_value))
