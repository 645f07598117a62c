-- Every change to a baseline, target, milestone date or projected spend after the initial return:
-- one row each time a reporting period's accepted return states a different value from the one the
-- LA's previous return stated (periods in order; the initial return, YYYY-YY-Q0, comes first).
-- Baselines and targets are keyed across years (they belong to the plan); milestone dates and
-- projected spend within the plan year they belong to.  is_locked: the LA's initial return is accepted,
-- so a changed baseline or target is not used (the marts keep the locked value) and was queried (Q11).
with locked_las as (
    select distinct la_code from {{ ref('int_plan_statements') }} where is_initial
),

-- Baseline and target chains whose values are not all the same: only they can hold a change (a
-- chain of equal values yields no row below), so only their statements are chained.  With years of
-- history nearly every chain is constant, and putting all of them in period order (over a million
-- statements with 10 years) was most of this model's cost; this is one hash aggregate.  The columns
-- are the chain key's parts, none NULL but target_period (a baseline's), which groups as the key does.
varying_statements as (
    select la_code, kind, indicator_id, target_period
    from {{ ref('int_plan_statements') }}
    group by all
    having min(value) <> max(value)
),

statements as (
    select
        la_code, year, period, submission_id, received_at, kind as item_type,
        indicator_id || coalesce(' ' || target_period, '') as item,
        indicator_id, target_period,
        cast(null as varchar) as workstream, cast(null as varchar) as milestone_quarter,
        cast(null as varchar) as category, cast(null as varchar) as funding_source,
        cast(null as varchar) as spend_quarter,
        value, cast(null as date) as date_value,
        la_code || '|' || kind || '|' || indicator_id || '|' || coalesce(target_period, '') as chain_key
    from {{ ref('int_plan_statements') }} as st
    semi join varying_statements as v
        on v.la_code = st.la_code and v.kind = st.kind and v.indicator_id = st.indicator_id
       and v.target_period is not distinct from st.target_period
),

milestones as (
    select
        p.la_code, p.year, p.period, p.submission_id, p.received_at, 'milestone_date' as item_type,
        m.workstream || ' ' || m.milestone_quarter as item,
        null, null,
        m.workstream, m.milestone_quarter, null, null, null,
        cast(null as double), m.due_date,
        p.la_code || '|m|' || p.year || '|' || m.workstream_key || '|' || m.milestone_quarter
    from {{ ref('int_plan_submissions') }} as p
    join {{ ref('stg_plan_milestones') }} as m using (submission_id)
    where m.due_date is not null
),

spend as (
    select
        p.la_code, p.year, p.period, p.submission_id, p.received_at, 'projected_spend' as item_type,
        s.category || ' (' || s.funding_source || ') ' || s.spend_quarter as item,
        null, null, null, null,
        s.category, s.funding_source, s.spend_quarter,
        sum(s.projected), cast(null as date),
        p.la_code || '|s|' || p.year || '|' || s.category || '|' || s.funding_source || '|' || s.spend_quarter
    from {{ ref('int_plan_submissions') }} as p
    join {{ ref('stg_plan_spend') }} as s using (submission_id)
    where s.projected is not null and s.category is not null and s.funding_source is not null
    group by all
),

stated as (
    select * from statements
    union all select * from milestones
    union all select * from spend
),

chained as (
    select
        *,
        lag(period) over w as previous_period,
        lag(submission_id) over w as previous_submission_id,
        lag(value) over w as previous_value,
        lag(date_value) over w as previous_date
    from stated
    window w as (partition by chain_key order by period, received_at)
)

select
    c.la_code,
    l.la_name,
    l.region_name,
    c.year,
    c.period as change_period,
    c.item_type,
    c.item,
    c.indicator_id,
    c.target_period,
    c.workstream,
    c.milestone_quarter,
    c.category,
    c.funding_source,
    c.spend_quarter,
    c.previous_value as old_value,
    c.value as new_value,
    c.previous_date as old_date,
    c.date_value as new_date,
    coalesce(c.value - c.previous_value, cast(c.date_value - c.previous_date as double)) as change,
    c.previous_period,
    c.previous_submission_id,
    c.submission_id,
    c.received_at,
    c.item_type in ('baseline', 'target') and ll.la_code is not null as is_locked
from chained as c
left join locked_las as ll using (la_code)
left join {{ ref('stg_las') }} as l using (la_code)
where c.previous_period is not null
  and (abs(c.value - c.previous_value) > 1e-9 or c.date_value <> c.previous_date)
