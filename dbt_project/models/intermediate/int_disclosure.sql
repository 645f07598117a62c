-- Disclosure control per LA, indicator and quarter: which values other LAs' packs must show as c.
-- primary: a count of 1-4 in a count-based rate (int_indicator_verdicts.suppressed).
-- secondary (complementary cells, GSS practice): an England or regional figure pooled over a set
-- with exactly one withheld value gives that value away (given the others' counts), so a second
-- value is withheld rather than the aggregate: the non-suppressed LA with the smallest denominator,
-- first nationally (in the same region where it can be), then in each region left with exactly one.
-- A pack's own LA always sees its own value; benchmark.sql withholds an aggregate in the few
-- packs where the viewer's own knowledge still leaves a single unknown.
with v as (
    select v.la_code, v.indicator_id, v.period, v.denominator, v.suppressed, l.region_name
    from {{ ref('int_indicator_verdicts') }} as v
    join {{ ref('stg_las') }} as l using (la_code)
    where v.value is not null
),

national_one as (   -- indicator-periods with exactly one primary-suppressed LA, and its region
    select indicator_id, period, any_value(region_name) as region_name
    from v where suppressed
    group by all
    having count(*) = 1
),

national_pick as (
    select v.la_code, v.indicator_id, v.period
    from v
    join national_one as n using (indicator_id, period)
    where not v.suppressed
    qualify row_number() over (
        partition by v.indicator_id, v.period
        order by (v.region_name = n.region_name) desc, v.denominator, v.la_code
    ) = 1
),

step1 as (
    select v.*, v.suppressed or p.la_code is not null as withheld, p.la_code is not null as secondary
    from v
    left join national_pick as p using (la_code, indicator_id, period)
),

region_one as (
    select indicator_id, period, region_name
    from step1 where withheld
    group by all
    having count(*) = 1
),

region_pick as (
    select s.la_code, s.indicator_id, s.period
    from step1 as s
    join region_one using (indicator_id, period, region_name)
    where not s.withheld
    qualify row_number() over (partition by s.indicator_id, s.period, s.region_name order by s.denominator, s.la_code) = 1
)

select
    s.la_code,
    s.indicator_id,
    s.period,
    case
        when s.suppressed then 'primary'
        when s.secondary or r.la_code is not null then 'secondary'
    end as suppression
from step1 as s
left join region_pick as r using (la_code, indicator_id, period)
