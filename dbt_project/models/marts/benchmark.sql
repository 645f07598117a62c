-- Every LA against England, its region and its statistical neighbours, per indicator and quarter.
-- All 153 LAs are listed for each indicator and period that has any data (la_value NULL when
-- the LA has none), so a pack can say "no data" rather than drop the row.
-- England/region: pooled sum(numerator) / sum(denominator) * multiplier over LAs with a value
-- (for a level indicator denominator = 1, so this is the mean of LA values), with the count.
-- Neighbours: mean of the neighbours' LA values, missing left out (LAIT), with the count.
-- Rank 1 = best by polarity among LAs with a value; ties share the lowest rank.
-- Quartile band from the rank: A if (rank - 1) / n_ranked < 0.25, B < 0.5, C < 0.75, else D,
-- so tied LAs always share a band (ntile would split them).  Neutral: no rank, no band.
-- Sums and means are ordered so a rebuild from the same data gives bit-identical figures
-- (packs are re-issued only when their figures' hash changes).
with ind as (
    select indicator_id, polarity, multiplier from {{ ref('stg_catalogue_indicators') }}
),

iv as (select * from {{ ref('int_indicator_values') }}),

combos as (select distinct indicator_id, period from iv),

base as (
    select
        l.la_code,
        l.la_name,
        l.region_name,
        c.indicator_id,
        c.period,
        i.polarity,
        i.multiplier,
        iv.numerator,
        iv.denominator,
        iv.value as la_value
    from {{ ref('stg_las') }} as l
    cross join combos as c
    join ind as i using (indicator_id)
    left join iv
        on iv.la_code = l.la_code and iv.indicator_id = c.indicator_id and iv.period = c.period
),

valid as (select * from base where la_value is not null),

england as (
    select indicator_id, period,
           sum(numerator order by la_code) / sum(denominator order by la_code) * any_value(multiplier) as england_value,
           count(*) as england_n_las
    from valid
    group by all
),

region as (
    select indicator_id, period, region_name,
           sum(numerator order by la_code) / sum(denominator order by la_code) * any_value(multiplier) as region_value,
           count(*) as region_n_las
    from valid
    group by all
),

neighbours as (
    select b.la_code, b.indicator_id, b.period,
           avg(nb.la_value order by sn.sn_rank) as sn_mean,
           count(nb.la_value) as sn_n
    from base as b
    join {{ ref('int_statistical_neighbours') }} as sn on sn.la_code = b.la_code
    left join valid as nb
        on nb.la_code = sn.sn_la_code and nb.indicator_id = b.indicator_id and nb.period = b.period
    group by all
),

ranked as (
    select
        la_code, indicator_id, period,
        rank() over w as rank,
        count(*) over (partition by indicator_id, period) as n_ranked
    from valid
    where polarity in ('high', 'low')
    window w as (
        partition by indicator_id, period
        order by case when polarity = 'high' then -la_value else la_value end
    )
)

select
    cast(b.la_code as varchar) as la_code,
    cast(b.la_name as varchar) as la_name,
    cast(b.region_name as varchar) as region_name,
    cast(b.indicator_id as varchar) as indicator_id,
    cast(b.period as varchar) as period,
    cast(b.numerator as double) as numerator,
    cast(b.denominator as double) as denominator,
    cast(b.la_value as double) as la_value,
    cast(e.england_value as double) as england_value,
    cast(coalesce(e.england_n_las, 0) as integer) as england_n_las,
    cast(r.region_value as double) as region_value,
    cast(coalesce(r.region_n_las, 0) as integer) as region_n_las,
    cast(n.sn_mean as double) as sn_mean,
    cast(coalesce(n.sn_n, 0) as integer) as sn_n,
    cast(k.rank as integer) as rank,
    cast(k.n_ranked as integer) as n_ranked,
    cast(case
        when k.rank is null then null
        else chr(65 + cast(floor(4.0 * (k.rank - 1) / k.n_ranked) as integer))
    end as varchar) as quartile_band,
    cast(b.polarity as varchar) as polarity
from base as b
left join england as e using (indicator_id, period)
left join region as r using (indicator_id, period, region_name)
left join neighbours as n using (la_code, indicator_id, period)
left join ranked as k using (la_code, indicator_id, period)
