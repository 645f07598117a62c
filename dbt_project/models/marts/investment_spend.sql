-- Projected against actual investment spend (GBP thousands) by category, funding source and spend
-- quarter, for each LA and reporting period, with region and England totals over the LAs that
-- reported.  over_margin: actual above projected by more than the catalogue's margin.
with settings as (
    select value as margin_pct from {{ ref('stg_catalogue_plan_settings') }}
    where name = 'spend_variance_margin_pct'
),

la as (
    select
        'la' as level,
        p.la_code as area_code,
        l.la_name as area_name,
        p.la_code,
        l.region_name,
        p.period,
        s.category,
        s.funding_source,
        s.spend_quarter,
        s.spend_period,
        sum(s.projected) as projected,
        sum(s.actual) as actual,
        1 as n_las
    from {{ ref('int_plan_submissions') }} as p
    join {{ ref('stg_plan_spend') }} as s using (submission_id)
    left join {{ ref('stg_las') }} as l on l.la_code = p.la_code
    group by all
),

region as (
    select 'region' as level, region_name as area_code, region_name as area_name, null as la_code,
           region_name, period, category, funding_source, spend_quarter, spend_period,
           sum(projected) as projected, sum(actual) as actual, count(distinct la_code) as n_las
    from la
    group by all
),

england as (
    select 'england' as level, 'E92000001' as area_code, 'England' as area_name, null as la_code,
           null as region_name, period, category, funding_source, spend_quarter, spend_period,
           sum(projected) as projected, sum(actual) as actual, count(distinct la_code) as n_las
    from la
    group by all
),

combined as (
    select * from la
    union all by name select * from region
    union all by name select * from england
)

select
    c.*,
    c.actual - c.projected as variance,
    case when c.projected > 0 and c.actual is not null
         then round(100 * (c.actual - c.projected) / c.projected, 1) end as variance_pct,
    coalesce(c.actual > c.projected * (1 + s.margin_pct / 100) and c.actual > c.projected, false) as over_margin
from combined as c
cross join settings as s
