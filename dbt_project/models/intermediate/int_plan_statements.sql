-- Every baseline and target as each LA's returns stated them: one row per LA, reporting period and
-- statement, from the newest accepted return for that period (a resubmission within a period wins).
-- The one place the "which accepted return" join is made for baselines and targets: int_plan_baselines
-- and int_plan_targets pick the standing value from here, and plan_changes chains the periods.
-- is_initial: from the initial return (period YYYY-YY-Q0, config/collection_calendar.yaml kind: initial),
-- whose values are locked once it is accepted.
-- A view, not a table like the other intermediate models: every return restates every target, so with
-- years of history this is over a million rows, and writing them cost more than its few readers (which
-- each keep a small part: the standing values, the chains that vary) and tests spend reading the view.
{{ config(materialized='view') }}
with per_period as (
    select la_code, year, period, submission_id, received_at
    from {{ ref('int_accepted_submissions') }}
    qualify row_number() over (
        partition by la_code, period order by received_at desc, submission_id desc
    ) = 1
),

stated as (
    select
        s.la_code, s.year, s.period, s.submission_id, s.received_at,
        'baseline' as kind, b.indicator_id, cast(null as varchar) as target_period,
        b.baseline_value as value, b.baseline_period
    from {{ ref('stg_return_baselines') }} as b
    join per_period as s using (submission_id)
    where b.baseline_value is not null
    union all
    select
        s.la_code, s.year, s.period, s.submission_id, s.received_at,
        'target' as kind, t.indicator_id, t.target_period,
        t.target_value as value, cast(null as varchar) as baseline_period
    from {{ ref('stg_return_targets') }} as t
    join per_period as s using (submission_id)
    where t.target_value is not null
)

select
    *,
    right(period, 3) = '-Q0' as is_initial
from stated
